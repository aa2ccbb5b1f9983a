"""Training recipe of the shipped motion-world diffusion model (`w2w train-motion`).

A text-to-video DDPM: the motion world's clips (world.py: 8 frames of 32×32, one or two shapes
each moving one way) in [-1, 1], denoised by a video transformer whose coordinates move with the
caption (denoiser.py), cross-attending to the all-MiniLM-L6-v2 token states of the caption, by
the recipe every world of the project shares (w2w_generators/diffusion/training.py: the loop,
v-prediction, guidance dropout, EMA, checkpoints). This file gives it the motion world, the denoiser and the schedule.

The world: 56 one-object captions and 2,878 two-object ones (the held-out captions excepted).
Drawn uniformly, two-object clips would be 98 % of what the model sees, and it would rarely see an
object alone; each one-object caption is therefore listed `single_weight` times, so about half of
every batch is one object (the held-out set is two thirds one-object clips).

Clips are drawn fresh for every batch (a batch of 8 clips renders in ~30 ms, against ~0.5 s for
the step), so no clip is seen twice.

Everything that decides the weights is in `TrainConfig`; its hash is stored beside the weights.
"""

from __future__ import annotations

import logging
import os
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
    ddpm_scheduler,
    run_record,
    run_steps,
)
from w2w_generators.motion import world as motion_world
from w2w_generators.motion.denoiser import DenoiserConfig, VideoDenoiser
from w2w_generators.shapes.weights_dir import holds_weights, refuse_to_overwrite, write_weights
from w2w_generators.shared.model_resolution import MOTION_WEIGHTS as WEIGHTS_DIR
from w2w_generators.shared.model_resolution import w2w_home

log = logging.getLogger("w2w.motion.training")


@dataclass(frozen=True)
class TrainConfig(DiffusionConfig):
    """The motion model's run: batches of 8 clips (64 frames) on two threads (0.5 s a step on the
    quiet machine), a short warm-up, the video transformer's size (denoiser.py). The UNet fields
    of DiffusionConfig (block_out_channels, layers_per_block, attention_head_dim,
    norm_num_groups) are not read by this world."""

    steps: int = 5000
    batch_size: int = 8
    warmup_steps: int = 50
    ema_decay: float = 0.995
    torch_threads: int = 2
    heads: int = 4
    head_dim: int = 32
    layers: int = 4
    patch: int = 4
    single_weight: int = 60
    checkpoint_every: int = 250

    def hash(self) -> str:
        world = {
            "shape": [3, motion_world.FRAMES, 32, 32],
            "captions": [m.caption for m in motion_world.training_motions()],
            "travel": list(motion_world.TRAVEL),
        }
        return self.hash_with(world)


def build_denoiser(config: TrainConfig) -> VideoDenoiser:
    shape = DenoiserConfig(
        frames=motion_world.FRAMES,
        patch=config.patch,
        heads=config.heads,
        head_dim=config.head_dim,
        layers=config.layers,
        max_tokens=config.max_tokens,
    )
    return VideoDenoiser(shape)


def build_scheduler(config: TrainConfig):
    return ddpm_scheduler(config)


def to_tensor(clip: np.ndarray) -> torch.Tensor:
    """FRAMES × 32 × 32 × 3 uint8 -> 3 × FRAMES × 32 × 32 in [-1, 1]."""
    return torch.from_numpy(clip).permute(3, 0, 1, 2).float() / 127.5 - 1.0


def weighted_motions(config: TrainConfig) -> list[motion_world.Motion]:
    motions = motion_world.training_motions()
    singles = [m for m in motions if len(m.movers) == 1]
    return singles * config.single_weight + [m for m in motions if len(m.movers) == 2]


def checkpoint_path(config: TrainConfig) -> Path:
    return w2w_home() / "motion" / "checkpoints" / f"{config.hash()}.pt"


def train(
    config: TrainConfig,
    encoder_path: str | Path,
    out_dir: Path = WEIGHTS_DIR,
    log: Callable[[str], None] = log.info,
    overwrite: bool = False,
    checkpoint: Path | None = None,
    evaluate: Callable | None = None,
) -> dict:
    """Train (resuming from `checkpoint` when it holds this config's run) and write `unet/` (the
    denoiser, in the folder every world's weights use),
    `scheduler/` and `training.json` into out_dir, staged beside it and swapped in at the end."""
    out_dir = Path(out_dir)
    if holds_weights(out_dir) and not overwrite:
        refuse_to_overwrite(out_dir)
    torch.set_num_threads(config.torch_threads)
    torch.manual_seed(config.seed)
    motions = weighted_motions(config)

    def sample(index: int, rng: random.Random) -> torch.Tensor:
        return to_tensor(motion_world.render(motions[index], rng))

    world = World([m.caption for m in motions], sample, lambda: build_denoiser(config))
    run = DenoisingRun(config, world, build_scheduler(config), encoder_path, random.Random(config.seed))
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
    seconds = run_steps(run, config.steps, log, checkpoint, config.checkpoint_every, config.hash())
    losses = run.losses
    record = run_record(config, run, seconds, len(motion_world.training_motions()), motion_world.HELD_OUT)
    record["loss_curve"] = [
        round(sum(losses[i : i + 50]) / len(losses[i : i + 50]), 5) for i in range(0, len(losses), 50)
    ]
    record["machine"] = f"{os.cpu_count()} CPU cores (shared), {config.torch_threads} torch thread(s), no GPU"
    record["weights_dtype"] = "float16"
    write_weights(out_dir, run.ema, build_scheduler(config), record, overwrite, evaluate)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return record
