"""The describer's held-out scores, and what each figure means.

- `renders`: held-out renders of the world (data.held_out_renders: the 8 held-out captions x 32
  renders, fixed seed). exact = the describer's caption equals the caption rendered, word for word.
- `diffusion_<setting>`: the diffusion model's pictures of the 8 held-out captions x 8 seeds
  (data.HELD_OUT_SEEDS), at shapes_eval's setting (DDIM 20 steps, guidance 4) and at the live
  demo's (DDIM 50, guidance 7.5). Neither model saw these captions in training. Three figures:
  * exact: caption == the caption the diffusion model was asked to draw. Where the diffusion model
    drew something else this counts against the describer, so it measures both models together.
  * exact_where_checker_passed: the same, over only the pictures whose two colour masses sit as
    asked (world.arrangement_holds, shapes_eval's checker): nearer the describer's own accuracy.
  * agrees_with_checker: the describer's caption puts the requested two colours in the requested
    relation exactly when the checker says the picture does (the checker reads colours and
    positions, not shapes, so shapes are left out of this comparison).
"""

from __future__ import annotations

import numpy as np
import torch

from w2w_generators.describer import data
from w2w_generators.describer.model import Describer, caption_of, greedy, to_input
from w2w_generators.shapes import world


def describe_all(model: Describer, images: np.ndarray, batch: int = 256) -> list[str]:
    captions = []
    for k in range(0, len(images), batch):
        captions += [caption_of(s) for s in greedy(model, to_input(images[k : k + batch]))]
    return captions


def _same_arrangement(said: str, asked: str) -> bool:
    try:
        s = world.parse_caption(said)
    except ValueError:
        return False
    a = world.parse_caption(asked)
    return (s.colour_a, s.relation, s.colour_b) == (a.colour_a, a.relation, a.colour_b)


def score_renders(model: Describer) -> dict:
    images, captions = data.held_out_renders()
    said = describe_all(model, images)
    right = sum(s == c for s, c in zip(said, captions, strict=True))
    wrong = [{"asked": c, "said": s} for s, c in zip(said, captions, strict=True) if s != c]
    return {"exact": right / len(captions), "right": right, "total": len(captions), "wrong": wrong}


def score_diffusion(model: Describer, setting: data.Setting, seeds=data.HELD_OUT_SEEDS) -> dict:
    held = data.load_split()["held_out"]
    images, asked, holds = [], [], []
    for seed in seeds:
        got = data.diffusion_pictures(None, held, seed, setting)
        images.append(got["images"])
        asked += got["captions"]
        holds += got["holds"]
    said = describe_all(model, np.concatenate(images))
    exact = [s == a for s, a in zip(said, asked, strict=True)]
    passed = [e for e, h in zip(exact, holds, strict=True) if h]
    agree = [_same_arrangement(s, a) == h for s, a, h in zip(said, asked, holds, strict=True)]
    return {
        "setting": setting.key,
        "seeds": list(seeds),
        "total": len(asked),
        "exact": sum(exact) / len(asked),
        "checker_passed": sum(holds),
        "exact_where_checker_passed": sum(passed) / max(1, len(passed)),
        "agrees_with_checker": sum(agree) / len(asked),
        "wrong": [
            {"asked": a, "said": s, "checker": h} for s, a, h, e in zip(said, asked, holds, exact, strict=True) if not e
        ],
    }


@torch.no_grad()
def held_out_scores(model: Describer) -> dict:
    return {
        "renders": score_renders(model),
        **{f"diffusion_{s.key}": score_diffusion(model, s) for s in (data.EVAL_SETTING, data.DEMO_SETTING)},
    }
