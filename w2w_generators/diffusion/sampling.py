"""The guided sampling loop of the project's own sound and motion models: the same loop for a
spectrogram and for a clip, as the talk says ("the same denoising loop makes pictures, sound and
motion"). The shapes pipeline keeps its own copy of it, with a shortcut at guidance 0 and 1 that
these two do not need (shapes/pipeline.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def guidance_states(encoder, prompt: str | list[str]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The text states guided_steps reads: the empty caption's rows, then the caption's (MiniLM's
    token states and their mask), and how many captions."""
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    cond, cond_mask = encoder.token_states(prompts)
    uncond, uncond_mask = encoder.token_states([""] * len(prompts))
    return torch.cat([uncond, cond]), torch.cat([uncond_mask, cond_mask]), len(prompts)


def guided_steps(unet, scheduler, latents, embeds, guidance_scale: float, mask=None) -> Iterator[dict]:
    """Denoise `latents` over `scheduler.timesteps` (set by the caller), with classifier-free
    guidance: `embeds` (and `mask`, when the UNet takes one) hold the empty caption's rows first,
    then the caption's. After each step: {i, t, latents, x0}, x0 the scheduler's prediction of the
    clean sample."""
    extra = {} if mask is None else {"encoder_attention_mask": mask}
    for i, t in enumerate(scheduler.timesteps):
        # Both halves of the guidance batch in one UNet call, then guide, then step.
        model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        out = unet(model_input, t, embeds, **extra).sample
        out_uncond, out_cond = out.chunk(2)
        guided = out_uncond + guidance_scale * (out_cond - out_uncond)
        step = scheduler.step(guided, t, latents)
        latents = step.prev_sample
        yield {"i": i, "t": int(t), "latents": latents, "x0": step.pred_original_sample}
