"""The shapes-world model as a diffusers pipeline, so one generator drives it and Stable Diffusion alike.

Same call surface as `StableDiffusionPipeline` where the demo needs it: prompt, negative_prompt,
num_inference_steps, guidance_scale, generator, output_type, callback_on_step_end and
callback_on_step_end_tensor_inputs. Differences: pixel space (no VAE, `vae_decode` is the identity
map from [-1, 1] to images) and a MiniLM text encoder instead of CLIP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline, UNet2DConditionModel
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput

from w2w_generators.shared.minilm import MiniLM


class ShapesDiffusionPipeline(DiffusionPipeline):
    _callback_tensor_inputs = ["latents", "prompt_embeds"]

    def __init__(self, unet: UNet2DConditionModel, scheduler, encoder: MiniLM):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)
        self.encoder = encoder  # not a diffusers module: kept out of save/load on purpose

    @classmethod
    def from_dirs(
        cls, weights_dir: str | Path, encoder_path: str | Path, device: str = "cpu"
    ) -> ShapesDiffusionPipeline:
        weights_dir = Path(weights_dir)
        unet = UNet2DConditionModel.from_pretrained(weights_dir / "unet").to(device).eval()
        scheduler = DDIMScheduler.from_pretrained(weights_dir / "scheduler")
        return cls(unet, scheduler, MiniLM(encoder_path, device=device))

    def vae_decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Pixel-space model: the 'latents' are the image. Returns (N, 3, H, W) in [0, 1]."""
        return (latents / 2 + 0.5).clamp(0, 1)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float = 4.0,
        generator: torch.Generator | None = None,
        output_type: str = "pil",
        callback_on_step_end=None,
        callback_on_step_end_tensor_inputs: list[str] = ("latents",),
    ) -> ImagePipelineOutput:
        state: dict = {}
        for state in self.denoising(prompt, negative_prompt, num_inference_steps, guidance_scale, generator):
            if callback_on_step_end is not None:
                kwargs = {k: state[k] for k in callback_on_step_end_tensor_inputs}
                returned = callback_on_step_end(self, state["i"], state["t"], kwargs) or {}
                state["latents"] = returned.get("latents", state["latents"])
        return self.output(state["latents"], output_type)

    @torch.no_grad()
    def denoising(
        self,
        prompt: str | list[str],
        negative_prompt: str | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float = 4.0,
        generator: torch.Generator | None = None,
    ) -> Iterator[dict]:
        """The sampling loop as a generator: after each step it yields the state {i, t, latents,
        prompt_embeds}; a consumer may replace state["latents"] before asking for the next step.
        The live demo streams from it on the caller's own thread (diffusion_live.denoise): a second
        thread doing torch work halves this CPU's speed (see there)."""
        # 1. Encode the prompt and the empty prompt (classifier-free guidance).
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        n = len(prompts)
        device = self.unet.device
        cond, cond_mask = self.encoder.token_states(prompts)
        uncond, uncond_mask = self.encoder.token_states([negative_prompt or ""] * n)
        prompt_embeds = torch.cat([uncond, cond])
        mask = torch.cat([uncond_mask, cond_mask])

        # 2. Start from seeded noise.
        size = self.unet.config.sample_size
        latents = torch.randn((n, self.unet.config.in_channels, size, size), generator=generator, device="cpu")
        latents = latents.to(device) * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        self._num_timesteps = len(self.scheduler.timesteps)

        # 3. Denoise: predict the noise for both halves of the batch, guide, step. Guidance 0 is the
        #    unconditional prediction alone and guidance 1 the conditional one alone, so only that half
        #    runs: half the UNet work for two of the sweeps' four guidance values (diffusers instead
        #    skips the unconditional half for any guidance <= 1, which makes 0 draw the caption).
        halves = 2
        if guidance_scale in (0, 1):
            halves, keep = 1, slice(0, n) if guidance_scale == 0 else slice(n, 2 * n)
            prompt_embeds, mask = prompt_embeds[keep], mask[keep]
        for i, t in enumerate(self.scheduler.timesteps):
            model_input = self.scheduler.scale_model_input(torch.cat([latents] * halves), t)
            noise = self.unet(model_input, t, prompt_embeds, encoder_attention_mask=mask).sample
            if halves == 2:
                noise_uncond, noise_cond = noise.chunk(2)
                noise = noise_uncond + guidance_scale * (noise_cond - noise_uncond)
            latents = self.scheduler.step(noise, t, latents, generator=generator).prev_sample
            state = {"i": i, "t": t, "latents": latents, "prompt_embeds": prompt_embeds}
            yield state
            latents = state["latents"]

    def output(self, latents: torch.Tensor, output_type: str = "pil") -> ImagePipelineOutput:
        """4. The final latents as the requested output: PIL images, a numpy array, or the latents."""
        if output_type == "latent":
            return ImagePipelineOutput(images=latents)
        array = self.vae_decode(latents).permute(0, 2, 3, 1).float().cpu().numpy()
        if output_type == "np":
            return ImagePipelineOutput(images=array)
        return ImagePipelineOutput(images=self.numpy_to_pil(array))

    @staticmethod
    def numpy_to_pil(array: np.ndarray):
        from PIL import Image

        return [Image.fromarray((a * 255).round().astype("uint8")) for a in array]
