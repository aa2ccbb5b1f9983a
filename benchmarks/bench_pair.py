"""The pair live (issue 32, item 4): both of its slides through `w2w present`, against the same
streams called in this process, in one run.

    python benchmarks/bench_pair.py [--repeats 2]   (after a build: it serves the built site)

The server is `w2w present --no-build --only pair` on the repository's talk (its model process
loads the shapes model, the describer and SmolLM2 with the planner's adapter). The plain call is
`w2w_generators.pair.live.stream` in this process, on the same requests. Live and plain runs
alternate and never overlap (one process computes at a time); medians of `--repeats`. Live times
are the client's: request sent -> the first event that shows something (an x̂0 or a token; the
mirror's plan event comes first but shows only the words) and -> the `done` event.

The cases: the mirror on the talk's own caption (drawn as it is), the mirror on a request (the
planner plans it first), and the two answers to the warm-up's prompt (SmolLM2's 40 tokens and the
shapes model's 20 steps in turn).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _machine import describe  # noqa: E402
from bench_present import start_server  # noqa: E402
from live_server import free_port, iter_events  # noqa: E402

CASES = {
    "mirror, a caption": {"mode": "mirror", "text": "a red circle above a blue square"},
    "mirror, a request": {"mode": "mirror", "text": "the sun over the sea"},
    "two answers": {"mode": "answers", "text": "A robot coding on a laptop in space"},
}


def live_pair(port: int, token: str, request: dict) -> tuple[float, float, dict]:
    """(seconds to the first event with a picture or a token, seconds to `done`, done's data)."""
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    sent = time.perf_counter()
    conn.request(
        "POST",
        "/api/live/pair",
        json.dumps(request).encode(),
        {"X-W2W-Token": token, "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    assert response.status == 200, response.read()
    first = None
    for event in iter_events(response):
        if event["event"] == "done":
            conn.close()
            return first, time.perf_counter() - sent, event["data"]
        if event["event"] == "error":
            raise RuntimeError(event["data"])
        if event["data"].get("stage") in ("render", "words", "read"):
            first = first or time.perf_counter() - sent
    raise RuntimeError("the stream ended without a done event")


def plain_pair(models, request: dict) -> tuple[float, float, dict]:
    from w2w_generators.pair.live import PairLiveRequest, stream

    started, first = time.perf_counter(), None
    for event in stream(models, PairLiveRequest(**request)):
        if event.get("stage") in ("render", "words", "read"):
            first = first or time.perf_counter() - started
    return first, time.perf_counter() - started, event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not (REPO / "site" / "slides" / "index.html").is_file():
        sys.exit("no built site: run `w2w build-talk` first")

    import torch

    from w2w.plugin_api import generator

    print(f"machine: {describe()}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    pair = generator("pair")
    models = pair.load(pair.resolve_model(pair.Inputs(), {}), "cpu")  # warms every path, as the server does
    times = {name: {"live_first": [], "live_total": [], "plain_first": [], "plain_total": []} for name in CASES}
    with tempfile.TemporaryDirectory(prefix="w2w-bench-pair-") as tmp:
        port = free_port()
        proc, token, ready, loaded = start_server(REPO, port, Path(tmp) / "server.log", "--only", "pair")
        try:
            print(f"w2w present --only pair: start -> ready {ready:.1f} s ({', '.join(loaded)})")
            for _ in range(args.repeats):
                for name, request in CASES.items():
                    first, total, done = live_pair(port, token, request)
                    times[name]["live_first"].append(first)
                    times[name]["live_total"].append(total)
                    first, total, plain = plain_pair(models, request)
                    times[name]["plain_first"].append(first)
                    times[name]["plain_total"].append(total)
                    assert done["read"] == plain["read"] and done.get("text") == plain.get("text"), (done, plain)
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(120)
    m = statistics.median
    print(f"{len(CASES)} cases x {args.repeats}")
    print("| case | first picture or token, live | in this process | all, live | in this process | live / in-process |")
    print("|---|---|---|---|---|---|")
    for name, t in times.items():
        ratio = m(t["live_total"]) / m(t["plain_total"])
        print(
            f"| {name} | {m(t['live_first']):.2f} s | {m(t['plain_first']):.2f} s | {m(t['live_total']):.2f} s"
            f" | {m(t['plain_total']):.2f} s | {ratio:.2f}x |"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
