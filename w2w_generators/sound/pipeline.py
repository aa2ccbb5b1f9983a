"""The sound-world model as a diffusers pipeline: caption -> spectrogram -> waveform.

The same call surface as the shapes model's pipeline (prompt, num_inference_steps, guidance_scale,
generator) with a DDIM sampler; what differs is the last stage: the 1×32×32 sample is a
pitch-spaced spectrogram (spectrogram.py), and Griffin-Lim turns it back into 16 kHz samples.
`denoising` yields every step's x̂0 (the scheduler's prediction of the clean spectrogram), which
the generator turns into the denoising strip that you can also hear.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline, UNet2DConditionModel

from w2w_generators.diffusion.sampling import guidance_states, guided_steps
from w2w_generators.shared.minilm import MiniLM
from w2w_generators.sound.spectrogram import to_clip

# Measured on the shipped weights (training.json's scores): the DDIM steps and guidance the talk uses.
DEFAULT_STEPS = 20
DEFAULT_GUIDANCE = 3.0


@dataclass
class SoundOutput:
    spectrograms: np.ndarray  # (N, 32, 32) in [-1, 1], low frequencies first (row 0)
    audios: list[np.ndarray]  # float32 samples at 16 kHz, one per spectrogram
    x0_steps: list[np.ndarray] = field(default_factory=list)  # per step, (N, 32, 32): the predicted clean spectrogram
    xt_steps: list[np.ndarray] = field(default_factory=list)  # per step, (N, 32, 32): the sample after the step


class SoundDiffusionPipeline(DiffusionPipeline):
    def __init__(self, unet: UNet2DConditionModel, scheduler, encoder: MiniLM):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)
        self.encoder = encoder  # not a diffusers module: kept out of save/load on purpose

    @classmethod
    def from_dirs(cls, weights_dir: str | Path, encoder_path: str | Path, device: str = "cpu"):
        weights_dir = Path(weights_dir)
        unet = UNet2DConditionModel.from_pretrained(weights_dir / "unet").to(device).eval()
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
        griffin_lim_seed: int = 0,
    ) -> SoundOutput:
        # 1.-3. Encode, start from seeded noise, denoise (in `denoising`), keeping x̂0 when asked.
        x0_steps, xt_steps, latents = [], [], None
        for state in self.denoising(prompt, num_inference_steps, guidance_scale, generator):
            latents = state["latents"]
            if keep_steps:
                x0_steps.append(state["x0"][:, 0].float().cpu().numpy())
                xt_steps.append(latents[:, 0].float().cpu().numpy())
        # 4. The final sample as spectrograms, and Griffin-Lim's waveform for each.
        spectrograms = latents[:, 0].float().clamp(-1, 1).cpu().numpy()
        audios = [to_clip(s, seed=griffin_lim_seed) for s in spectrograms]
        return SoundOutput(spectrograms, audios, x0_steps, xt_steps)

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

        # 2. Start from seeded noise (drawn on the CPU, so a seed means the same sound everywhere).
        size, device = self.unet.config.sample_size, self.unet.device
        latents = torch.randn((n, self.unet.config.in_channels, size, size), generator=generator)
        latents = latents.to(device) * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(num_inference_steps, device=device)

        # 3. Denoise: the loop the motion model runs too (diffusion/sampling.py).
        yield from guided_steps(self.unet, self.scheduler, latents, embeds, guidance_scale, mask)
