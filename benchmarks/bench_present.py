"""What running live costs: `w2w present` start -> ready, first-token latency, and live tokens/s and
ms per denoising step against the plain calls, measured in one run.

    python benchmarks/bench_present.py [--tokens 32] [--steps 50] [--repeats 3]

The server runs as `w2w present --no-build` on a small project (tests/talk_factory's talk with a
placeholder deck: the server is measured, not the site) with every live generator, on CPU,
in the server's supervised model process; the plain calls run here, in the benchmark's process.
Live and plain runs alternate and never overlap (one process computes at a time), medians of
`--repeats`. Live times are taken by the client (request sent -> event read), so they include HTTP,
JSON and the event loop; the server's own figures from the `done` event are printed beside them.

Targets (not asserted; a shared machine is noisy): live tokens/s >= 0.9x plain `generate` of the
same tokens; live ms per denoising step <= 1.1x the plain pipeline call; first token <= 0.3 s;
start -> ready <= 15 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _machine import describe  # noqa: E402
from live_server import free_port, iter_events  # noqa: E402
from talk_factory import make_project  # noqa: E402


def start_server(root: Path, port: int, log: Path, *extra: str) -> tuple[subprocess.Popen, str, float, list[str]]:
    """Start `w2w present` (with `extra` arguments); returns (process, token, seconds from start to
    every generator ready, the generators loaded)."""
    started = time.perf_counter()
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "w2w", "present", "--no-build", "--port", str(port), *extra],
            cwd=root,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    token = None
    while token is None:
        found = re.search(r"#w2w-token=([A-Za-z0-9_-]+)", log.read_text())
        token = found and found.group(1)
        if proc.poll() is not None:
            sys.exit(f"w2w present exited:\n{log.read_text()}")
        time.sleep(0.05)
    while True:
        status = get_status(port, token)
        errors = {name: g["error"] for name, g in status["generators"].items() if g["error"]}
        if errors:
            sys.exit(f"a generator failed to load: {errors}")
        if status["ready"]:
            return proc, token, time.perf_counter() - started, sorted(status["generators"])
        time.sleep(0.05)


def get_status(port: int, token: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/api/live/status", headers={"X-W2W-Token": token})
    return json.loads(conn.getresponse().read())


def live_model_bench_args(doc: str) -> argparse.Namespace:
    """The live model benchmarks' options (bench_sound_live, bench_motion_live): --repeats, and
    --threads set as OMP_NUM_THREADS before torch loads (the server's model process inherits it);
    exits with one line when there is no built site to serve."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads of both processes (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if not (REPO / "site" / "slides" / "index.html").is_file():
        sys.exit("no built site: run `w2w build` first")
    return args


def live_run(
    port: int, token: str, generator: str, body: dict, sizes: list[int] | None = None
) -> tuple[float, float, dict, int]:
    """(seconds to the first step event, seconds to the done event, done data, step count); with
    `sizes`, each event's data length as JSON is appended to it (what the stream carried)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    sent = time.perf_counter()
    conn.request(
        "POST",
        f"/api/live/{generator}",
        json.dumps(body).encode(),
        {"X-W2W-Token": token, "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    assert response.status == 200, response.read()
    first, steps = None, 0
    for event in iter_events(response):
        if sizes is not None:
            sizes.append(len(json.dumps(event["data"])))
        if event["event"] == "step":
            steps += 1
            first = first or time.perf_counter() - sent
        elif event["event"] == "done":
            conn.close()
            return first, time.perf_counter() - sent, event["data"], steps
    raise RuntimeError("the stream ended without a done event")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    from w2w.plugins import registry
    from w2w_generators.token_trace.generator import TokenTraceInputs, generate

    print(f"machine: {describe()}, torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory(prefix="w2w-bench-present-") as tmp:
        root = make_project(Path(tmp))
        (root / "site" / "slides").mkdir(parents=True)
        (root / "site" / "slides" / "index.html").write_text("<!doctype html><title>placeholder</title>\n")
        port = free_port()
        proc, token, ready_seconds, loaded = start_server(root, port, Path(tmp) / "server.log")
        try:
            models = f"{len(loaded)} generators' models loaded ({', '.join(loaded)})"
            print(f"w2w present start -> ready ({models} + one warm-up run each): {ready_seconds:.1f} s")
            for line in (Path(tmp) / "server.log").read_text().splitlines():
                if line.startswith("live: "):
                    print(f"  {line}")
            bench_tokens(port, token, args, registry, generate, TokenTraceInputs)
            bench_diffusion(port, token, args, registry, torch)
        finally:
            stop_started = time.perf_counter()
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(120)
            print(f"Ctrl-C -> process exit: {time.perf_counter() - stop_started:.1f} s")


def bench_tokens(port, token, args, registry, generate, TokenTraceInputs) -> None:
    trace = registry.get("token_trace")
    inputs = TokenTraceInputs()
    body = trace.live_request(inputs).model_dump(mode="json")
    body.update(max_new_tokens=args.tokens, **({"stop": "eos"} if "stop" in body else {}))
    loaded = trace.load(trace.resolve_model(inputs, {}), "cpu")
    lm, tokenizer = loaded.lm, loaded.tokenizer
    live_first, live_tps, server_tps, plain_first, plain_tps = [], [], [], [], []
    for _ in range(args.repeats):
        first, total, done, steps = live_run(port, token, "token_trace", body)
        live_first.append(first)
        live_tps.append(steps / total)
        server_tps.append(done["tokens_per_second"])
        same = TokenTraceInputs(prompt=inputs.prompt, max_new_tokens=steps)  # the same tokens, greedy
        plain_first.append(
            timed(
                lambda same=same: generate(
                    lm, tokenizer, same.model_copy(update={"max_new_tokens": 1}), "cpu", trace=False
                )
            )
        )
        plain_tps.append(steps / timed(lambda same=same: generate(lm, tokenizer, same, "cpu", trace=False)))
    m = statistics.median
    print(f"token trace, {steps} tokens of {inputs.prompt!r}, greedy:")
    print(
        f"  first token: live {m(live_first) * 1000:.0f} ms (request -> first event) vs plain generate of 1 token "
        f"{m(plain_first) * 1000:.0f} ms: {m(live_first) / m(plain_first):.2f}x"
    )
    print(
        f"  tokens/s: live {m(live_tps):.1f} (client) / {m(server_tps):.1f} (server's steps loop) vs plain generate "
        f"{m(plain_tps):.1f}: {m(live_tps) / m(plain_tps):.2f}x (client), {m(server_tps) / m(plain_tps):.2f}x (server)"
        "  [target >= 0.9x]"
    )


def bench_diffusion(port, token, args, registry, torch) -> None:
    demo = registry.get("diffusion_demo")
    inputs = demo.Inputs()
    model = demo.resolve_model(inputs, {})
    loaded = demo.load(model, "cpu")
    request = demo.live_request(inputs, model).model_copy(update={"steps": args.steps})
    body = request.model_dump(mode="json")
    guidance = request.guidance_scale or (4.0 if loaded.shapes else 7.5)
    live_ms, server_ms, plain_ms = [], [], []

    from w2w_generators.diffusion.schedulers import scheduler_class

    # The scheduler the live run uses (its request's), not the one saved with the weights.
    loaded.pipe.scheduler = scheduler_class(request.scheduler).from_config(loaded.pipe.scheduler.config)

    def plain() -> None:
        loaded.pipe.set_progress_bar_config(disable=True)
        loaded.pipe(
            request.prompt,
            num_inference_steps=args.steps,
            guidance_scale=guidance,
            generator=torch.Generator("cpu").manual_seed(request.seed),
        )

    for _ in range(args.repeats):
        _, total, done, steps = live_run(port, token, "diffusion_demo", body)
        live_ms.append(total / steps * 1000)
        server_ms.append(done["seconds_per_step"] * 1000)
        plain_ms.append(timed(plain) / args.steps * 1000)
    m = statistics.median
    print(f"diffusion demo, {model.id}, {args.steps} steps of {request.prompt!r}, guidance {guidance}:")
    print(
        f"  ms/step: live {m(live_ms):.1f} (client, with each step's x̂0 PNG) / {m(server_ms):.1f} (server) vs plain "
        f"pipeline call {m(plain_ms):.1f}: {m(live_ms) / m(plain_ms):.2f}x (client), {m(server_ms) / m(plain_ms):.2f}x "
        "(server)  [target <= 1.1x]"
    )


if __name__ == "__main__":
    main()
