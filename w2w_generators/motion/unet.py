"""The motion model's denoiser: a diffusers UNet3DConditionModel (spatial convolutions and
attention per frame, with temporal convolutions and temporal attention across the 8 frames beside
them, as video diffusion models have them) run on 2×2 patches of the clip.

Why patches (measured on the 2-core machine, a batch of 8 clips of 8 frames, training step with
AdamW): the UNet3D on the 32×32 frames themselves, block_out_channels (32, 64, 64), took 6.3-8.8 s
a step on one thread and 0.47-0.50 s a denoising step (with guidance's two rows): an hour would
train ~500 steps, and a 20-step clip would take 10 s live (budget 5 s). Folding each 2×2 patch
into channels (3×32×32 -> 12×16×16, `pixel_unshuffle`, lossless and undone exactly on the way
out) and two levels (48, 96), the first without attention: 1.4-1.9 s a training step on two
threads, 0.14-0.19 s a denoising step. The sample is still the 32×32 clip: the patching lives
inside this module, so the scheduler, the recipe and the checker never see it.

Weights are stored in float16 (8 MB for 4.0 M parameters, within the 10 MB budget; float32 would be
16 MB) and computed in float32.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

PATCH = 2


def build_unet3d(block_out_channels=(48, 96), attention_head_dim: int = 8, norm_num_groups: int = 16):
    from diffusers import UNet3DConditionModel

    return UNet3DConditionModel(
        sample_size=32 // PATCH,
        in_channels=3 * PATCH * PATCH,
        out_channels=3 * PATCH * PATCH,
        block_out_channels=tuple(block_out_channels),
        layers_per_block=1,
        down_block_types=("DownBlock3D", "CrossAttnDownBlock3D"),
        up_block_types=("CrossAttnUpBlock3D", "UpBlock3D"),
        cross_attention_dim=384,
        attention_head_dim=attention_head_dim,
        norm_num_groups=norm_num_groups,
    )


def to_patches(clip: torch.Tensor) -> torch.Tensor:
    """(B, 3, F, H, W) -> (B, 12, F, H/2, W/2)."""
    b, c, f, h, w = clip.shape
    frames = clip.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
    folded = F.pixel_unshuffle(frames, PATCH)
    return folded.reshape(b, f, c * PATCH * PATCH, h // PATCH, w // PATCH).permute(0, 2, 1, 3, 4)


def from_patches(folded: torch.Tensor) -> torch.Tensor:
    """The inverse of `to_patches`."""
    b, c, f, h, w = folded.shape
    frames = folded.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
    clip = F.pixel_shuffle(frames, PATCH)
    return clip.reshape(b, f, c // (PATCH * PATCH), h * PATCH, w * PATCH).permute(0, 2, 1, 3, 4)


class PatchedVideoUNet(torch.nn.Module):
    """Called as the recipe calls a UNet: (clip, t, text states, encoder_attention_mask) -> .sample.

    UNet3DConditionModel takes no attention mask over the text: the caption's padding positions
    carry MiniLM's states for [PAD], the same for every caption, and the model learns to read past
    them (the recipe's other worlds mask them)."""

    def __init__(self, unet3d):
        super().__init__()
        self.unet = unet3d

    def forward(self, sample, timestep, encoder_hidden_states, encoder_attention_mask=None):
        out = self.unet(to_patches(sample), timestep, encoder_hidden_states).sample
        return SimpleNamespace(sample=from_patches(out))

    def save_pretrained(self, path: str | Path, **kwargs) -> None:
        copy.deepcopy(self.unet).to(torch.float16).save_pretrained(path, **kwargs)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> PatchedVideoUNet:
        from diffusers import UNet3DConditionModel

        return cls(UNet3DConditionModel.from_pretrained(path, torch_dtype=torch.float32)).eval()
