"""One denoising recipe for every world the project's own models learn: pictures, sounds, clips.

A DDPM: a UNet learns to predict what was added to a clean sample at a random noise level (with
v-prediction, the velocity √ᾱ·ε − √(1−ᾱ)·x0), cross-attending to the all-MiniLM-L6-v2 token
states of its caption. Captions are dropped 10 % of the time (replaced by the empty caption), so
that sampling can use classifier-free guidance. An EMA copy of the weights is what ships.

What differs between worlds is only what a `World` gives: its training captions, a clean sample
for a caption (a 3×32×32 picture, a 1×32×32 spectrogram, a 3×8×32×32 clip) and the UNet that fits
that shape. The loop, the noise, the schedule, the guidance dropout and the EMA are these, the
same for all: the talk's "the same denoising loop makes pictures, sound and motion", as code.

A run can stop and go on: with a checkpoint path, the UNet, its EMA, the optimiser, the random
generators and the losses so far are saved every `checkpoint_every` steps, and a run that finds
a checkpoint of the same config resumes from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch


@dataclass(frozen=True)
class DiffusionConfig:
    """What every world's run sets: the schedule, the optimiser and the UNet's size. A world's own
    config (shapes/training.py, sound/training.py) subclasses it with its defaults and adds its own
    fields. `hash` covers the config and the training data it implies (`world`: its captions and
    sample shape), so a record names exactly what made the weights."""

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

    def hash_with(self, world: dict) -> str:
        canonical = json.dumps({"config": asdict(self), "world": world}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def conditioned_unet(config: DiffusionConfig, size: int, channels: int):
    """The recipe's UNet for square samples of `size` with `channels` channels: two cross-attention
    levels reading MiniLM's 384-wide token states, the outer level plain convolution."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=size,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=config.block_out_channels,
        layers_per_block=config.layers_per_block,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=384,
        attention_head_dim=config.attention_head_dim,
        norm_num_groups=config.norm_num_groups,
    )


def ddpm_scheduler(config: DiffusionConfig):
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        prediction_type=config.prediction_type,
        steps_offset=1,
        # Samplers built from this config must not clip x̂0 to [-1, 1]: with v-prediction that
        # clipping wrecked DDIM's samples (measured on the shapes model: 1 of 8 held-out captions
        # right with it, 8 of 8 without). Training never reads it (add_noise and get_velocity ignore it).
        clip_sample=False,
    )


def run_record(config: DiffusionConfig, run: DenoisingRun, seconds: float, captions: int, held_out) -> dict:
    """What every world's training.json says of its run (a world adds its own fields)."""
    losses = run.losses
    return {
        "config": asdict(config),
        "config_hash": config.hash(),
        "final_loss": sum(losses[-100:]) / len(losses[-100:]),
        "train_seconds": round(seconds, 1),  # this call's: a resumed run's earlier part is not counted again
        "parameters": sum(p.numel() for p in run.ema.parameters()),
        "torch": torch.__version__,
        "training_captions": captions,
        "held_out_captions": list(held_out),
    }


@dataclass(frozen=True)
class World:
    """What a world gives the recipe."""

    captions: list[str]  # the training captions
    sample: Callable[[int, random.Random], torch.Tensor]  # caption index -> a clean sample in [-1, 1]
    build_unet: Callable[[], torch.nn.Module]


class DenoisingRun:
    """One training run's state: the captions' encoder states (and the empty caption's, for
    classifier-free guidance's dropout), the UNet, its EMA copy, the scheduler and the optimiser.
    `config` needs: batch_size, learning_rate, warmup_steps, steps, ema_decay, caption_dropout,
    max_tokens, num_train_timesteps, prediction_type."""

    def __init__(self, config, world: World, scheduler, encoder_path: str | Path, rng: random.Random):
        from w2w_generators.shared.minilm import MiniLM

        self.config, self.world, self.rng, self.scheduler = config, world, rng, scheduler
        encoder = MiniLM(encoder_path, max_tokens=config.max_tokens)
        states, masks = encoder.token_states(list(world.captions) + [""])
        self.null_states, self.null_mask = states[-1:], masks[-1:]
        self.states, self.masks = states[:-1], masks[:-1]
        self.unet = world.build_unet().train()
        self.ema = world.build_unet().eval()
        self.ema.load_state_dict(self.unet.state_dict())
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(self.unet.parameters(), lr=config.learning_rate, weight_decay=0.0)
        self.losses: list[float] = []

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then a cosine down to zero at the last step."""
        config = self.config
        if step < config.warmup_steps:
            return config.learning_rate * (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))

    def step(self, step: int) -> float:
        """One optimiser step on a fresh batch of the world's samples; returns the loss."""
        config, rng = self.config, self.rng
        idx = [rng.randrange(len(self.world.captions)) for _ in range(config.batch_size)]
        clean = torch.stack([self.world.sample(i, rng) for i in idx])
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
        self.losses.append(loss.item())
        return self.losses[-1]

    # --- stopping and going on ----------------------------------------------------------------
    def save(self, path: Path, step: int, config_hash: str) -> None:
        state = {
            "step": step,
            "config_hash": config_hash,
            "unet": self.unet.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.getstate(),
            "torch_rng": torch.get_rng_state(),
            "losses": self.losses,
        }
        scratch = path.with_name(path.name + ".tmp")
        torch.save(state, scratch)
        scratch.replace(path)  # a run killed while saving keeps the previous checkpoint

    def resume(self, path: Path, config_hash: str) -> int:
        """The step to start from: the checkpoint's next one when `path` holds a checkpoint of this
        config, else 0 (a checkpoint of another config is left alone and not read)."""
        if not path.is_file():
            return 0
        state = torch.load(path, weights_only=False)
        if state.get("config_hash") != config_hash:
            return 0
        self.unet.load_state_dict(state["unet"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.losses = list(state["losses"])
        return state["step"] + 1


def run_steps(
    run: DenoisingRun,
    steps: int,
    log: Callable[[str], None],
    checkpoint: Path | None = None,
    checkpoint_every: int = 200,
    config_hash: str = "",
) -> float:
    """Train to `steps` (from a checkpoint when there is one); returns the seconds this call trained."""
    start = run.resume(checkpoint, config_hash) if checkpoint else 0
    if start:
        log(f"resuming at step {start + 1}/{steps} from {checkpoint}")
    started = time.perf_counter()
    for step in range(start, steps):
        run.step(step)
        if step % 100 == 0 or step == steps - 1:
            recent = run.losses[-100:]
            per_step = (time.perf_counter() - started) / (step + 1 - start)
            log(f"step {step + 1}/{steps}  loss {sum(recent) / len(recent):.4f}  {per_step:.2f} s/step")
        if checkpoint and (step + 1) % checkpoint_every == 0 and step + 1 < steps:
            run.save(checkpoint, step, config_hash)
    return time.perf_counter() - started
