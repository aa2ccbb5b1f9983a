"""Training recipe of the shipped shapes-world diffusion model (`w2w train-shapes`).

A DDPM in pixel space (32x32 RGB): a small diffusers UNet2DConditionModel learns to predict the noise
added to shapes-world pictures, cross-attending to all-MiniLM-L6-v2 token states of the caption.
Captions are dropped 10% of the time (replaced by the empty prompt) so that sampling can use
classifier-free guidance. Everything that decides the weights is in `TrainConfig`; its hash is
stored beside the weights, and the same config on the same software retrains the same weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from w2w import plugin_api as host
from w2w_generators.shapes import world as shapes_world
from w2w_generators.shapes.weights_dir import holds_weights, refuse_to_overwrite
from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS as WEIGHTS_DIR


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    steps: int = 4000
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    ema_decay: float = 0.999
    caption_dropout: float = 0.1
    max_tokens: int = 16
    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    prediction_type: str = "v_prediction"
    block_out_channels: tuple[int, ...] = (32, 64, 64)
    layers_per_block: int = 1
    attention_head_dim: int = 8
    norm_num_groups: int = 16
    torch_threads: int = 2
    extra: dict = field(default_factory=dict)

    def hash(self) -> str:
        """Over the config and the training data it implies (the shapes world's captions and size)."""
        world = {"size": shapes_world.SIZE, "captions": [s.caption for s in shapes_world.training_scenes()]}
        canonical = json.dumps({"config": asdict(self), "world": world}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def build_unet(config: TrainConfig):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=shapes_world.SIZE,
        in_channels=3,
        out_channels=3,
        block_out_channels=config.block_out_channels,
        layers_per_block=config.layers_per_block,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=384,
        attention_head_dim=config.attention_head_dim,
        norm_num_groups=config.norm_num_groups,
    )


def build_scheduler(config: TrainConfig):
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        prediction_type=config.prediction_type,
        steps_offset=1,
        # Samplers built from this config must not clip x̂0 to [-1, 1]: with v-prediction that
        # clipping wrecked DDIM's samples (measured: 1 of 8 held-out captions right with it, 8 of
        # 8 without). Training never reads it (add_noise and get_velocity ignore it).
        clip_sample=False,
    )


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
    run = _Run(config, shapes_world.training_scenes(), encoder_path, random.Random(config.seed))
    started = time.perf_counter()
    losses: list[float] = []
    for step in range(config.steps):
        losses.append(run.step(step))
        if step % 100 == 0 or step == config.steps - 1:
            recent = sum(losses[-100:]) / len(losses[-100:])
            elapsed = time.perf_counter() - started
            log(f"step {step + 1}/{config.steps}  loss {recent:.4f}  {elapsed / (step + 1):.2f} s/step")
    seconds = time.perf_counter() - started
    record = {
        "config": asdict(config),
        "config_hash": config.hash(),
        "final_loss": sum(losses[-100:]) / len(losses[-100:]),
        "train_seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / config.steps, 3),
        "parameters": sum(p.numel() for p in run.ema.parameters()),
        "torch": torch.__version__,
        "training_captions": len(run.scenes),
        "held_out_captions": list(shapes_world.HELD_OUT),
    }
    _write(out_dir, run.ema, config, record, overwrite)
    return record


class _Run:
    """One training run's state: the captions' encoder states (and the empty caption's, for
    classifier-free guidance's dropout), the UNet, its EMA copy, the scheduler and the optimiser."""

    def __init__(self, config: TrainConfig, scenes: list, encoder_path: str | Path, rng: random.Random):
        from w2w_generators.shared.minilm import MiniLM

        self.config, self.scenes, self.rng = config, scenes, rng
        encoder = MiniLM(encoder_path, max_tokens=config.max_tokens)
        states, masks = encoder.token_states([s.caption for s in scenes] + [""])
        self.null_states, self.null_mask = states[-1:], masks[-1:]
        self.states, self.masks = states[:-1], masks[:-1]
        self.unet = build_unet(config).train()
        self.ema = build_unet(config).eval()
        self.ema.load_state_dict(self.unet.state_dict())
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.scheduler = build_scheduler(config)
        self.optimizer = torch.optim.AdamW(self.unet.parameters(), lr=config.learning_rate, weight_decay=0.0)

    def lr_at(self, step: int) -> float:
        config = self.config
        if step < config.warmup_steps:
            return config.learning_rate * (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))

    def step(self, step: int) -> float:
        """One optimiser step on a fresh batch of rendered scenes; returns the loss."""
        config, rng = self.config, self.rng
        idx = [rng.randrange(len(self.scenes)) for _ in range(config.batch_size)]
        clean = to_tensor([shapes_world.render(self.scenes[i], rng) for i in idx])
        cond, mask = self.states[idx].clone(), self.masks[idx].clone()
        drop = torch.rand(config.batch_size) < config.caption_dropout
        cond[drop], mask[drop] = self.null_states, self.null_mask
        noise = torch.randn_like(clean)
        t = torch.randint(0, config.num_train_timesteps, (config.batch_size,))
        noisy = self.scheduler.add_noise(clean, noise, t)
        pred = self.unet(noisy, t, cond, encoder_attention_mask=mask).sample
        # v-prediction: with the cosine schedule, predicting ε makes x̂0 explode at the noisiest
        # steps and DDIM's deterministic path left visible noise (measured); v stays well scaled.
        v = config.prediction_type == "v_prediction"
        target = self.scheduler.get_velocity(clean, noise, t) if v else noise
        loss = torch.nn.functional.mse_loss(pred, target)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.unet.parameters(), 1.0)
        self.optimizer.step()
        with torch.no_grad():
            decay = min(config.ema_decay, (1 + step) / (10 + step))
            for pe, p in zip(self.ema.parameters(), self.unet.parameters(), strict=False):
                pe.lerp_(p, 1 - decay)
        return loss.item()


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
