"""The motion model judged by the tracker: its clips of each caption, followed frame by frame by
`world.motion_holds`, which sees only the pixels (never the caption's ground truth or the noise).

`scores` samples every caption of a list at several seeds, one batch per seed (the UNet's work is
per clip, and a batch amortises the text encoder and the Python around each step).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import torch

from w2w_generators.motion.pipeline import DEFAULT_GUIDANCE, DEFAULT_STEPS, MotionDiffusionPipeline
from w2w_generators.motion.world import HELD_OUT, motion_holds, parse_caption, training_motions

log = logging.getLogger("w2w.motion.evaluation")
TRAINING_SAMPLE = 24  # training captions scored (a fixed draw): all 2,934 would take an hour


def judged(pipe, captions: list[str], seeds: list[int], steps: int, guidance: float, batch: int = 12) -> dict:
    """{"right": n, "clips": n, "rate": r, "per_caption": {caption: right of len(seeds)}}."""
    per_caption = dict.fromkeys(captions, 0)
    for seed in seeds:
        for start in range(0, len(captions), batch):
            part = captions[start : start + batch]
            out = pipe(part, steps, guidance, torch.Generator().manual_seed(seed))
            for caption, clip in zip(part, out.clips, strict=True):
                per_caption[caption] += motion_holds(clip, parse_caption(caption))
    right, clips = sum(per_caption.values()), len(captions) * len(seeds)
    return {"right": right, "clips": clips, "rate": round(right / clips, 4), "per_caption": per_caption}


def training_sample() -> list[str]:
    """A fixed draw of training captions, half one-object, half two-object."""
    motions = training_motions()
    singles = [m.caption for m in motions if len(m.movers) == 1]
    pairs = [m.caption for m in motions if len(m.movers) == 2]
    rng = random.Random(0)
    return rng.sample(singles, TRAINING_SAMPLE // 2) + rng.sample(pairs, TRAINING_SAMPLE // 2)


def scores(pipe, seeds=range(8), steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE) -> dict:
    """Held-out captions and a sample of the training captions, each at every seed."""
    seeds = list(seeds)
    held = judged(pipe, list(HELD_OUT), seeds, steps, guidance)
    log.info("held-out: %d of %d clips move as captioned", held["right"], held["clips"])
    train = judged(pipe, training_sample(), seeds[:4], steps, guidance)
    log.info("training captions (sample): %d of %d", train["right"], train["clips"])
    return {"steps": steps, "guidance_scale": guidance, "seeds": seeds, "held_out": held, "training_sample": train}


def evaluator(encoder_path: str | Path, seeds=range(8), steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE):
    """For training.train(evaluate=...): scores of the weights written into a staging directory."""

    def evaluate(weights_dir: Path) -> dict:
        return scores(MotionDiffusionPipeline.from_dirs(weights_dir, encoder_path), seeds, steps, guidance)

    return evaluate
