"""Are the speeds a build publishes load-proof? The same measurements, idle and beside other work.

    python benchmarks/bench_load_proof.py [--repeats 5] [--rounds 3]

For the token trace (SmolLM2-135M, 16 greedy tokens) and the shapes diffusion model (50 DDIM
steps), each round times the same work three ways:
  single     one wall-clock call on all torch threads (how speeds were first published);
  best-wall  best of N wall-clock repeats on all threads, after a warm-up (the previous method);
  published  w2w.plugin_api.best_of: warm-up, best of N repeats of one thread's CPU time.
first on an idle machine, then while two CPU-bound processes (pure-Python busy loops, one per core
of a 2-core machine) compete. It prints each figure and the ratio idle/loaded per method; the
target for the published method is <= 1.5x. Rounds interleave idle and loaded so a drift in the
machine's state hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe  # noqa: E402

from w2w.plugin_api import best_of  # noqa: E402

BUSY = "while True: pass"


def competitors(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(n)]


def stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        p.kill()
    for p in processes:
        p.wait()


def single(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def token_work():
    import torch
    from transformers import GenerationConfig

    from w2w_generators.shared.lm_loading import load_model
    from w2w_generators.token_trace.generator import TokenTrace, TokenTraceInputs

    inputs = TokenTraceInputs(max_new_tokens=16)
    lm, tokenizer, _ = load_model(TokenTrace().resolve_model(inputs, {}), "cpu")
    encoded = tokenizer(inputs.prompt, return_tensors="pt")
    config = GenerationConfig(eos_token_id=None, pad_token_id=tokenizer.eos_token_id)

    def work():
        with torch.inference_mode():
            lm.generate(**encoded, generation_config=config, max_new_tokens=16, min_new_tokens=16, do_sample=False)

    return work, 16, "tokens/s"


def diffusion_work():
    import torch
    from diffusers import DDIMScheduler

    from w2w_generators.diffusion_demo.generator import SHAPES_WEIGHTS_DIR
    from w2w_generators.shapes.pipeline import ShapesDiffusionPipeline
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    pipe = ShapesDiffusionPipeline.from_dirs(SHAPES_WEIGHTS_DIR, resolve_minilm(MINILM_ID, {}).path, "cpu")
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)

    def work():
        pipe(
            "a red circle above a blue square",
            num_inference_steps=50,
            guidance_scale=4.0,
            generator=torch.Generator("cpu").manual_seed(0),
        )

    return work, 50, "steps/s"


def best_wall(work, repeats: int) -> float:
    work()
    return min(single(work) for _ in range(repeats))


METHODS = ("single", "best-wall", "published")


def measure(work, units: int, repeats: int) -> dict:
    return {
        "single": units / single(work),
        "best-wall": units / best_wall(work, repeats),
        "published": units / best_of(work, repeats=repeats, device="cpu")["best_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5, help="N of best-of-N (the build's default is 5)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--competitors", type=int, default=2)
    parser.add_argument("--only", choices=("token", "diffusion"), help="one of the two measurements")
    args = parser.parse_args()
    print(describe())
    work_items = [
        ("token", "token trace, SmolLM2-135M, 16 tokens", token_work),
        ("diffusion", "shapes diffusion, 50 DDIM steps", diffusion_work),
    ]
    for key, name, make in work_items:
        if args.only and key != args.only:
            continue
        work, units, unit = make()
        work()  # first call: lazy initialisation, not part of either method
        idle, loaded = {m: [] for m in METHODS}, {m: [] for m in METHODS}
        for _ in range(args.rounds):
            for method, value in measure(work, units, args.repeats).items():
                idle[method].append(value)
            busy = competitors(args.competitors)
            try:
                time.sleep(0.5)  # let the scheduler spread the busy loops over the cores
                for method, value in measure(work, units, args.repeats).items():
                    loaded[method].append(value)
            finally:
                stop(busy)
        print(f"\n{name} ({unit}; median of {args.rounds} rounds; {args.competitors} busy processes when loaded)")
        for method in METHODS:
            a, b = statistics.median(idle[method]), statistics.median(loaded[method])
            print(f"  {method:<9} idle {a:7.2f}  loaded {b:7.2f}  idle/loaded {a / b:.2f}x", flush=True)


if __name__ == "__main__":
    main()
