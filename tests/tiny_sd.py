"""A tiny Stable Diffusion pipeline with RANDOM weights, for testing the diffusion demo's Stable
Diffusion code path on a CPU without SD 1.5: the same diffusers classes (UNet2DConditionModel with
cross-attention, AutoencoderKL, CLIPTextModel + CLIPTokenizer, DDIMScheduler), a few thousand
parameters, saved with `save_pretrained` to a directory that `StableDiffusionPipeline.from_pretrained`
loads as it would load SD 1.5. Its pictures are noise: it tests plumbing, never quality.

Nothing is downloaded: the tokenizer's vocab.json and merges.txt are written here (CLIP's byte-level
alphabet and no merges, so every word is spelled out in characters). Building and saving it takes
a fraction of a second once torch and diffusers are imported.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_SD_ID = "test/tiny-random-stable-diffusion"  # named as what it is: random weights
SAMPLE_SIZE = 16  # latent side; the VAE's two blocks upsample x2, so pictures are 32x32
VAE_SCALE = 2


def image_side() -> int:
    return SAMPLE_SIZE * VAE_SCALE


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP's byte -> printable character table (byte-level BPE's alphabet)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes), strict=True))


def write_tokenizer_files(directory: Path) -> Path:
    """vocab.json (the two special tokens, then every byte alone and word-final) and an empty
    merges.txt: a complete CLIP BPE vocabulary of 514 tokens."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    alphabet = list(_bytes_to_unicode().values())
    for char in alphabet:
        vocab[char + "</w>"] = len(vocab)
    for char in alphabet:
        vocab[char] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    return directory


def make_tiny_sd(directory: Path, seed: int = 0) -> Path:
    """Build the random-weight pipeline and save it under `directory` (returned)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=SAMPLE_SIZE,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=SAMPLE_SIZE * VAE_SCALE,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=514,
            hidden_size=16,
            intermediate_size=32,
            projection_dim=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    tokenizer = CLIPTokenizer.from_pretrained(
        write_tokenizer_files(directory / "tokenizer-source"), model_max_length=77, local_files_only=True
    )
    scheduler = DDIMScheduler(  # SD 1.5's schedule, but set_alpha_to_one (below)
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=True,  # at the last DDIM step x̂0 is the final latent (test_diffusion_demo)
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    out = directory / "pipeline"
    pipe.save_pretrained(out)
    return out
