"""The sound model judged by ear: its clips of each caption, through Griffin-Lim, heard by the
checker (checker.py), which never sees the spectrogram or the caption's ground truth.

`scores` samples every caption of a list at several seeds (one batch per seed: the UNet's work is
the same per clip, and a batch of 30 runs ~8x faster than 30 calls), then judges each waveform:
count, pitch and every note's direction right (`judge`), the voice counted apart.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from w2w_generators.sound import checker
from w2w_generators.sound.pipeline import DEFAULT_GUIDANCE, DEFAULT_STEPS, SoundDiffusionPipeline
from w2w_generators.sound.world import HELD_OUT, parse_caption, training_sounds

log = logging.getLogger("w2w.sound.evaluation")


def judged(pipe: SoundDiffusionPipeline, captions: list[str], seeds: list[int], steps: int, guidance: float) -> dict:
    """{"right": n, "voice": n, "clips": n, "per_caption": {caption: right of len(seeds)}}."""
    per_caption = dict.fromkeys(captions, 0)
    right = voice = 0
    for seed in seeds:
        out = pipe(captions, steps, guidance, torch.Generator().manual_seed(seed))
        for caption, clip in zip(captions, out.audios, strict=True):
            heard = checker.hear(clip)
            sound = parse_caption(caption)
            ok = heard.matches(sound)
            right += ok
            voice += heard.timbre == sound.timbre
            per_caption[caption] += ok
    clips = len(captions) * len(seeds)
    return {"right": right, "voice": voice, "clips": clips, "rate": round(right / clips, 4), "per_caption": per_caption}


def scores(
    pipe: SoundDiffusionPipeline, seeds=range(8), steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE
) -> dict:
    """Held-out and training captions, each at every seed: the record's "scores"."""
    seeds = list(seeds)
    held = judged(pipe, list(HELD_OUT), seeds, steps, guidance)
    log.info("held-out: %d of %d right", held["right"], held["clips"])
    train = judged(pipe, [s.caption for s in training_sounds()], seeds, steps, guidance)
    log.info("training captions: %d of %d right", train["right"], train["clips"])
    return {"steps": steps, "guidance_scale": guidance, "seeds": seeds, "held_out": held, "training": train}


def evaluator(encoder_path: str | Path, seeds=range(8), steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE):
    """For training.train(evaluate=...): scores of the weights written into a staging directory."""

    def evaluate(weights_dir: Path) -> dict:
        return scores(SoundDiffusionPipeline.from_dirs(weights_dir, encoder_path), seeds, steps, guidance)

    return evaluate
