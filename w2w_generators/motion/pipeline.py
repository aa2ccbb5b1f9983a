"""The motion-world model as a diffusers pipeline: caption -> 8 frames of 32×32.

The same call surface as the shapes and sound pipelines (prompt, num_inference_steps,
guidance_scale, generator) with a DDIM sampler; the sample is a clip, 3 × 8 × 32 × 32 in [-1, 1],
denoised as one tensor (the denoiser's temporal attention sees all eight frames at every step).
`denoising` yields every step's x̂0 (the scheduler's prediction of the clean clip), from which the
generator makes the denoising strip you can play.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline

from w2w_generators.diffusion.sampling import guidance_states, guided_steps
from w2w_generators.motion.denoiser import VideoDenoiser
from w2w_generators.motion.world import FRAMES
from w2w_generators.shared.minilm import MiniLM

# The talk's sampler settings; the record's scores (training.json) are measured at these.
DEFAULT_STEPS = 20
DEFAULT_GUIDANCE = 3.0


def to_frames(clip: torch.Tensor) -> np.ndarray:
    """(3, F, H, W) in [-1, 1] -> (F, H, W, 3) uint8: the world's own layout, which the checker reads."""
    pixels = ((clip.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(1, 2, 3, 0).cpu().numpy()


@dataclass
class MotionOutput:
    clips: list[np.ndarray]  # one (F, 32, 32, 3) uint8 array per prompt
    x0_steps: list[list[np.ndarray]] = field(default_factory=list)  # per step, per prompt: the predicted clean clip
    xt_steps: list[list[np.ndarray]] = field(default_factory=list)  # per step, per prompt: the sample after the step


class MotionDiffusionPipeline(DiffusionPipeline):
    def __init__(self, unet: VideoDenoiser, scheduler, encoder: MiniLM):
        super().__init__()
        self.register_modules(scheduler=scheduler)
        self.unet = unet  # not registered: diffusers' loader knows no VideoDenoiser
        self.encoder = encoder  # not a diffusers module: kept out of save/load on purpose

    @classmethod
    def from_dirs(cls, weights_dir: str | Path, encoder_path: str | Path, device: str = "cpu"):
        weights_dir = Path(weights_dir)
        unet = VideoDenoiser.from_pretrained(weights_dir / "unet").to(device)
        scheduler = DDIMScheduler.from_pretrained(weights_dir / "scheduler")
        return cls(unet, scheduler, MiniLM(encoder_path, device=device))

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
        generator: torch.Generator | None = None,
        keep_steps: bool = False,
    ) -> MotionOutput:
        # 1.-3. Encode, start from seeded noise, denoise (in `denoising`), keeping x̂0 when asked.
        x0_steps, xt_steps, latents = [], [], None
        for state in self.denoising(prompt, num_inference_steps, guidance_scale, generator):
            latents = state["latents"]
            if keep_steps:
                x0_steps.append([to_frames(c) for c in state["x0"]])
                xt_steps.append([to_frames(c) for c in latents])
        # 4. The final sample as frames.
        return MotionOutput([to_frames(c) for c in latents], x0_steps, xt_steps)

    @torch.no_grad()
    def denoising(
        self,
        prompt: str | list[str],
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
        generator: torch.Generator | None = None,
    ) -> Iterator[dict]:
        """The sampling loop as a generator: after each step, {i, t, latents, x0}."""
        # 1. Encode the prompt and the empty prompt (classifier-free guidance).
        embeds, mask, n = guidance_states(self.encoder, prompt)

        # 2. Start from seeded noise (drawn on the CPU, so a seed means the same clip everywhere).
        device = next(self.unet.parameters()).device
        latents = torch.randn((n, 3, FRAMES, 32, 32), generator=generator)
        latents = latents.to(device) * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(num_inference_steps, device=device)

        # 3. Denoise: the loop the sound model runs too (diffusion/sampling.py).
        yield from guided_steps(self.unet, self.scheduler, latents, embeds, guidance_scale, mask)
