"""Training recipe of the shipped shapes-world diffusion model (`w2w train-shapes`).

A DDPM in pixel space (32x32 RGB): a small diffusers UNet2DConditionModel learns to predict the noise
added to shapes-world pictures, cross-attending to all-MiniLM-L6-v2 token states of the caption,
by the recipe every world of the project shares (w2w_generators/diffusion/training.py: the loop,
guidance dropout, EMA); this file gives it the shapes world, the UNet's shape and the schedule.
Everything that decides the weights is in `TrainConfig`; its hash is stored beside the weights, and
the same config on the same software retrains the same weights.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from w2w import plugin_api as host
from w2w_generators.diffusion.training import (
    DenoisingRun,
    DiffusionConfig,
    World,
    conditioned_unet,
    ddpm_scheduler,
    run_steps,
)
from w2w_generators.shapes import world as shapes_world
from w2w_generators.shapes.weights_dir import holds_weights, refuse_to_overwrite
from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS as WEIGHTS_DIR


@dataclass(frozen=True)
class TrainConfig(DiffusionConfig):
    """The shapes model's run: the shared recipe's defaults (4000 steps, EMA 0.999, 2 threads)."""

    def hash(self) -> str:
        """Over the config and the training data it implies (the shapes world's captions and size)."""
        return self.hash_with(
            {"size": shapes_world.SIZE, "captions": [s.caption for s in shapes_world.training_scenes()]}
        )


def build_unet(config: TrainConfig):
    return conditioned_unet(config, shapes_world.SIZE, 3)


def build_scheduler(config: TrainConfig):
    return ddpm_scheduler(config)


def to_tensor(images) -> torch.Tensor:
    """PIL images -> (N, 3, H, W) in [-1, 1]."""
    array = np.stack([np.asarray(im, dtype=np.float32) for im in images]) / 127.5 - 1.0
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def _swap_in(new: Path, out_dir: Path, overwrite: bool) -> None:
    """Put the finished directory `new` at `out_dir` (w2w.plugin_api.swap_in): readers see the old
    complete model or the new complete one, never a half-written one."""
    if holds_weights(out_dir) and not overwrite:  # another run finished there while this one trained
        refuse_to_overwrite(out_dir)
    host.swap_in(new, out_dir)


def train(
    config: TrainConfig,
    encoder_path: str | Path,
    out_dir: Path = WEIGHTS_DIR,
    log: Callable[[str], None] = print,
    overwrite: bool = False,
) -> dict:
    """Train from scratch and write `unet/`, `scheduler/` and `training.json` into out_dir.

    Everything is written into a temporary sibling of out_dir first and renamed into place at the
    end, so a killed or concurrent run never leaves a half-written model behind. An out_dir that
    already holds something is refused before training starts unless `overwrite` is set.
    """
    out_dir = Path(out_dir)
    if holds_weights(out_dir) and not overwrite:
        refuse_to_overwrite(out_dir)
    torch.set_num_threads(config.torch_threads)
    torch.manual_seed(config.seed)
    scenes = shapes_world.training_scenes()

    def sample(index: int, rng: random.Random) -> torch.Tensor:
        return to_tensor([shapes_world.render(scenes[index], rng)])[0]

    world = World([s.caption for s in scenes], sample, lambda: build_unet(config))
    run = DenoisingRun(config, world, build_scheduler(config), encoder_path, random.Random(config.seed))
    seconds = run_steps(run, config.steps, log)
    losses = run.losses
    record = {
        "config": asdict(config),
        "config_hash": config.hash(),
        "final_loss": sum(losses[-100:]) / len(losses[-100:]),
        "train_seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / config.steps, 3),
        "parameters": sum(p.numel() for p in run.ema.parameters()),
        "torch": torch.__version__,
        "training_captions": len(scenes),
        "held_out_captions": list(shapes_world.HELD_OUT),
    }
    _write(out_dir, run.ema, config, record, overwrite)
    return record


def _write(out_dir: Path, ema, config: TrainConfig, record: dict, overwrite: bool) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # mkdir, not mkdtemp: the directory keeps the umask's permissions (mkdtemp's are 0700).
    staging = out_dir.with_name(f".{out_dir.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir()
    try:
        ema.save_pretrained(staging / "unet", safe_serialization=True)
        build_scheduler(config).save_pretrained(staging / "scheduler")
        (staging / "training.json").write_text(json.dumps(record, indent=2) + "\n")
        _swap_in(staging, out_dir, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when the swap succeeded
