"""Training recipe of the shipped shapes-world diffusion model (`w2w train-shapes`).

A DDPM in pixel space (32x32 RGB): a small diffusers UNet2DConditionModel learns to predict the noise
added to shapes-world pictures, cross-attending to all-MiniLM-L6-v2 token states of the caption,
by the recipe every world of the project shares (w2w_generators/diffusion/training.py: the loop,
guidance dropout, EMA); this file gives it the shapes world, the UNet's shape and the schedule.
Everything that decides the weights is in `TrainConfig`; its hash is stored beside the weights, and
the same config on the same software retrains the same weights.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from w2w_generators.diffusion.training import (
    DenoisingRun,
    DiffusionConfig,
    World,
    conditioned_unet,
    ddpm_scheduler,
    run_record,
    run_steps,
)
from w2w_generators.shapes import world as shapes_world
from w2w_generators.shapes.weights_dir import holds_weights, refuse_to_overwrite, write_weights
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
    record = run_record(config, run, seconds, len(scenes), shapes_world.HELD_OUT)
    record["seconds_per_step"] = round(seconds / config.steps, 3)
    write_weights(out_dir, run.ema, build_scheduler(config), record, overwrite)
    return record
