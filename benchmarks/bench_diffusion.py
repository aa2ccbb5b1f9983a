"""What does the denoising strip cost? Strip capture vs the same plain pipeline call, on the CPU.

    python benchmarks/bench_diffusion.py [--steps 50] [--frames 8] [--repeats 3]

Times one sampling call of the small shapes model (the offline stand-in) two ways, interleaved:
- plain:  pipe(prompt, ...) with no callback
- strip:  the same call with the generator's StripCapture (scheduler.step wrapper recording x̂0,
          callback_on_step_end keeping x_t/x̂0 at the chosen steps) plus the batch decode afterwards
and prints the medians, their ratio (target <= 1.10x) and seconds per denoising step.
Uses the shipped weights in w2w_generators/shapes/weights/shapes-diffusion when they exist; otherwise the same
architecture with random weights (identical compute per step; the pictures are noise). No asserts.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def machine_info() -> str:
    import diffusers
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.platform()} | {cpu} | {os.cpu_count()} cores, torch threads {torch.get_num_threads()} | "
        f"load avg {load:.2f} | python {platform.python_version()} torch {torch.__version__} "
        f"diffusers {diffusers.__version__}"
    )


def shapes_model_dir(scratch: Path) -> tuple[Path, str]:
    from w2w_generators.diffusion_demo import generator as dd

    if dd.shapes_weights_present(dd.SHAPES_WEIGHTS_DIR):
        return dd.SHAPES_WEIGHTS_DIR, f"shipped shapes model ({dd.SHAPES_WEIGHTS_DIR})"
    import torch

    from w2w_generators.shapes.training import TrainConfig, build_scheduler, build_unet

    torch.manual_seed(0)
    build_unet(TrainConfig()).save_pretrained(scratch / "unet")
    build_scheduler(TrainConfig()).save_pretrained(scratch / "scheduler")
    return scratch, "shapes architecture with RANDOM weights (shipped weights not trained yet; same compute)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompt", default="a red circle above a blue square")
    args = parser.parse_args()

    import torch
    from diffusers import DDIMScheduler

    from w2w_generators.diffusion import capture as dc
    from w2w_generators.shapes.pipeline import ShapesDiffusionPipeline
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    print(machine_info())
    with tempfile.TemporaryDirectory() as scratch:
        model_dir, which = shapes_model_dir(Path(scratch))
        print(f"model: {which}")
        pipe = ShapesDiffusionPipeline.from_dirs(model_dir, resolve_minilm(MINILM_ID, {}).path, "cpu")
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    steps = dc.capture_steps(args.steps, args.frames)

    def plain() -> float:
        generator = torch.Generator("cpu").manual_seed(0)
        start = time.perf_counter()
        pipe(args.prompt, num_inference_steps=args.steps, guidance_scale=4.0, generator=generator)
        return time.perf_counter() - start

    def strip() -> float:
        generator = torch.Generator("cpu").manual_seed(0)
        start = time.perf_counter()
        capture = dc.StripCapture(pipe.scheduler, steps)
        with capture:
            pipe(
                args.prompt,
                num_inference_steps=args.steps,
                guidance_scale=4.0,
                generator=generator,
                callback_on_step_end=capture.callback,
                callback_on_step_end_tensor_inputs=["latents"],
            )
        frames = capture.decode(dc.decoder(pipe, shapes=True))
        assert len(frames) == len(steps)
        return time.perf_counter() - start

    plain(), strip()  # warm-up: first-call allocations, lazy imports
    times: dict[str, list[float]] = {"plain": [], "strip": []}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        times["plain"].append(plain())
        times["strip"].append(strip())

    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"steps {args.steps}, strip frames {len(steps)}, guidance 4.0 (batch 2: cond + uncond), DDIM, CPU float32")
    for name in ("plain", "strip"):
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{name:>5}: median {med[name]:.3f} s  ({runs})  -> {med[name] / args.steps * 1000:.1f} ms/step")
    print(f"strip / plain = {med['strip'] / med['plain']:.3f}x  (target <= 1.10x)")
    print(f"seconds per step (plain, small model, CPU): {med['plain'] / args.steps:.4f}")


if __name__ == "__main__":
    main()
