"""The describer's data: the split (in the repo), renders of the world, and the diffusion model's
own pictures of its captions (sampled once, cached under the w2w cache, never in git).

The split is the shapes world's: the 8 HELD_OUT captions were never seen by the diffusion model, and
the describer never sees them either (neither rendered nor drawn). `split.json` beside this file
records it with the seeds of the held-out renders, and a test checks it against the world.
Held-out renders use their own seed stream (`HELD_OUT_RENDER_SEED`), so the pictures are the same
on every machine.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from w2w_generators.shapes import world
from w2w_generators.shared.model_resolution import w2w_home

log = logging.getLogger("w2w.describer.data")

SPLIT_FILE = Path(__file__).with_name("split.json")
HELD_OUT_RENDER_SEED = 10_000
HELD_OUT_RENDERS_PER_CAPTION = 32


@dataclass(frozen=True)
class Setting:
    """How the diffusion model samples: DDIM steps and guidance (shapes_eval's is 20 at 4.0; the
    live demo's 50 at 7.5)."""

    steps: int
    guidance: float

    @property
    def key(self) -> str:
        return f"ddim{self.steps}-g{self.guidance:g}"


EVAL_SETTING = Setting(20, 4.0)  # shapes_eval's measured setting
DEMO_SETTING = Setting(50, 7.5)  # the talk's diffusion demo (talk.yaml)


def load_split() -> dict:
    return json.loads(SPLIT_FILE.read_text(encoding="utf-8"))


def expected_split() -> dict:
    """The split as the world defines it (split.json must equal this; tests/test_describer.py)."""
    return {
        "held_out": list(world.HELD_OUT),
        "train": [s.caption for s in world.training_scenes()],
        "held_out_render_seed": HELD_OUT_RENDER_SEED,
        "held_out_renders_per_caption": HELD_OUT_RENDERS_PER_CAPTION,
    }


def held_out_renders() -> tuple[np.ndarray, list[str]]:
    """The held-out renders: (N, 32, 32, 3) uint8 and their captions, the same on every machine."""
    split = load_split()
    rng = random.Random(split["held_out_render_seed"])
    images, captions = [], []
    for caption in split["held_out"]:
        scene = world.parse_caption(caption)
        for _ in range(split["held_out_renders_per_caption"]):
            images.append(np.asarray(world.render(scene, rng)))
            captions.append(caption)
    return np.stack(images), captions


def draw(pipe, captions: list[str], seed: int, setting: Setting) -> np.ndarray:
    """One batched call of the diffusion model: (N, 32, 32, 3) uint8 pictures of `captions`."""
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    out = pipe(
        captions,
        num_inference_steps=setting.steps,
        guidance_scale=setting.guidance,
        generator=generator,
        output_type="np",
    ).images
    return (np.asarray(out) * 255).round().astype("uint8")


def cache_dir() -> Path:
    return w2w_home() / "describer" / "diffusion-pictures"


def diffusion_pictures(pipe, captions: list[str], seed: int, setting: Setting, chunk: int = 32) -> dict:
    """The diffusion model's pictures of `captions` at `seed`, sampled in batches of `chunk` (batch k
    seeded with seed * 1000 + k) and cached one .npz per batch, so a killed run resumes. Returns
    {"images": (N,32,32,3) uint8, "captions": [...], "holds": [arrangement_holds per picture]}."""
    pipe = pipe or _LazyPipe()
    folder = cache_dir() / setting.key / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    images, holds = [], []
    for k in range(0, len(captions), chunk):
        batch = captions[k : k + chunk]
        path = folder / f"{k // chunk:03d}-{len(batch)}.npz"
        if path.is_file() and list(np.load(path)["captions"]) == batch:
            pictures = np.load(path)["images"]
        else:
            started = time.perf_counter()
            pictures = draw(pipe, batch, seed * 1000 + k // chunk, setting)
            np.savez_compressed(path.with_suffix(".tmp.npz"), images=pictures, captions=np.array(batch))
            path.with_suffix(".tmp.npz").replace(path)
            log.info("%s seed %d: %d pictures in %.1f s", setting.key, seed, len(batch), time.perf_counter() - started)
        images.append(pictures)
        holds += [
            bool(world.arrangement_holds(p, world.parse_caption(c))) for p, c in zip(pictures, batch, strict=True)
        ]
    return {"images": np.concatenate(images), "captions": list(captions), "holds": holds}


class _LazyPipe:
    """Loads the diffusion model on the first picture not in the cache (seconds of loading saved
    when everything is cached)."""

    pipe = None

    def __call__(self, *args, **kwargs):
        self.pipe = self.pipe or load_pipe()
        return self.pipe(*args, **kwargs)


def load_pipe():
    """The shipped shapes diffusion model, on the CPU."""
    from w2w_generators.shapes.pipeline import ShapesDiffusionPipeline
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
    from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS

    encoder = resolve_minilm(MINILM_ID, {}, purpose="the shapes model's captions")
    return ShapesDiffusionPipeline.from_dirs(SHAPES_WEIGHTS, encoder.path)


TRAIN_SEEDS = (0,)  # x 352 training captions at EVAL_SETTING: 352 pictures
HELD_OUT_SEEDS = tuple(range(8))  # x 8 held-out captions, at both settings


def shares_noise_with_held_out(train_seed: int, index: int, chunk: int = 32) -> bool:
    """Does the training picture `index` of `train_seed` start from the same noise as a held-out
    picture? Batch k of seed s is seeded s * 1000 + k, so the first 8 pictures of training seed 0's
    first batch share their noise (and DDIM's path is deterministic) with held-out seed 0's 8
    pictures: training leaves them out, so no held-out picture has a twin drawn from its noise."""
    generator_seed = train_seed * 1000 + index // chunk
    held_out = {s * 1000 for s in HELD_OUT_SEEDS}  # the 8 held-out captions are one batch per seed
    return generator_seed in held_out and index % chunk < len(world.HELD_OUT)


def sample_all(pipe=None) -> None:
    """Fill the cache: the training captions' pictures and the held-out captions' pictures."""
    pipe = pipe or _LazyPipe()  # loaded only if something is missing from the cache
    split = load_split()
    for seed in HELD_OUT_SEEDS:
        for setting in (EVAL_SETTING, DEMO_SETTING):
            diffusion_pictures(pipe, split["held_out"], seed, setting)
    for seed in TRAIN_SEEDS:
        diffusion_pictures(pipe, split["train"], seed, EVAL_SETTING)
