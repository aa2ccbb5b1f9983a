"""The loop live (issue 32): plan -> render -> describe through `w2w present`, against the same
loop called in this process, in one run.

    python benchmarks/bench_loop.py [--repeats 3]   (after `make talk`: it serves the built site)

The server is `w2w present --no-build --only loop` on the repository's talk (its model process
loads SmolLM2 with the planner's adapter, the shapes model and the describer). The plain call is
`LoopPipeline.__call__` (w2w_generators/loop/generator.py's `load_pipeline`) in this process, on the
same requests and seed. Live and plain runs alternate and never overlap (one process computes at a
time); medians of `--repeats`. Live times are the client's: request sent -> the first event read
(the plan's first token: what the slide shows first) and -> the `done` event. The requests are ones
the loop settles in one round (plan, one render of 20 DDIM steps, describe), the budget's case.

Targets (issue 32; not asserted, a shared machine is noisy): the whole loop live <= 8 s on 2 cores;
the first visible step <= 0.5 s after the request.
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

REQUESTS = ("the sun over the sea", "a rocket above the moon", "a fire engine to the left of a taxi")  # 1 round each


def live_loop(port: int, token: str, request: str) -> tuple[float, float, dict]:
    """(seconds to the first event, seconds to `done`, the done event's data)."""
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    sent = time.perf_counter()
    body = json.dumps({"request": request, "seed": 0}).encode()
    conn.request("POST", "/api/live/loop", body, {"X-W2W-Token": token, "Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200, response.read()
    first = None
    for event in iter_events(response):
        first = first or time.perf_counter() - sent
        if event["event"] == "done":
            conn.close()
            return first, time.perf_counter() - sent, event["data"]
        if event["event"] == "error":
            raise RuntimeError(event["data"])
    raise RuntimeError("the stream ended without a done event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (REPO / "site" / "slides" / "index.html").is_file():
        sys.exit("no built site: run `make talk` first")

    import torch

    from w2w_generators.loop.generator import load_pipeline

    print(f"machine: {describe()}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    pipeline = load_pipeline()
    with tempfile.TemporaryDirectory(prefix="w2w-bench-loop-") as tmp:
        port = free_port()
        proc, token, ready, loaded = start_server(REPO, port, Path(tmp) / "server.log", "--only", "loop")
        try:
            print(f"w2w present --only loop: start -> ready {ready:.1f} s ({', '.join(loaded)})")
            live_first, live_total, plain_total, rounds = [], [], [], []
            pipeline(REQUESTS[0], seed=0)  # warm-up, as the server's model process warms up on load
            for _ in range(args.repeats):
                for request in REQUESTS:
                    first, total, done = live_loop(port, token, request)
                    live_first.append(first)
                    live_total.append(total)
                    rounds.append(done["rounds_used"])
                    start = time.perf_counter()
                    record = pipeline(request, seed=0)
                    plain_total.append(time.perf_counter() - start)
                    assert record["final_plan"] == done["final_plan"], (record["final_plan"], done["final_plan"])
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(120)
    m = statistics.median
    print(f"{len(REQUESTS)} requests x {args.repeats}, rounds used {sorted(set(rounds))}")
    print("| | median | max | target |\n|---|---|---|---|")
    first = f"{m(live_first) * 1000:.0f} ms | {max(live_first) * 1000:.0f} ms"
    print(f"| first visible event, live | {first} | <= 500 ms |")
    print(f"| whole loop, live | {m(live_total):.2f} s | {max(live_total):.2f} s | <= 8 s |")
    print(f"| whole loop, in this process | {m(plain_total):.2f} s | {max(plain_total):.2f} s | — |")
    print(f"live / in-process: {m(live_total) / m(plain_total):.2f}x; load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
