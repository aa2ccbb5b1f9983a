"""The shipped motion model (w2w_generators/motion/weights/motion-diffusion/): small enough to ship,
its record complete, and its clips of the held-out captions tracked moving as captioned at a rate
consistent with the score its training.json records (which `w2w train-motion` measured on 8 seeds
a caption)."""

from __future__ import annotations

import json
import math

import pytest
from requires import import_or_require, require

from w2w_generators.shared.model_resolution import MOTION_WEIGHTS

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def record() -> dict:
    require((MOTION_WEIGHTS / "training.json").is_file(), "the motion model is not trained", "run w2w train-motion")
    return json.loads((MOTION_WEIGHTS / "training.json").read_text())


def test_weights_are_small_and_their_record_complete(record):
    size = sum(p.stat().st_size for p in MOTION_WEIGHTS.rglob("*") if p.is_file())
    assert size <= 10_000_000
    for key in ("config", "config_hash", "train_seconds", "loss_curve", "parameters", "machine", "scores"):
        assert record[key], key
    for split in ("held_out", "training_sample"):
        score = record["scores"][split]
        assert 0 <= score["right"] <= score["clips"] and score["clips"] % len(score["per_caption"]) == 0
    held = record["scores"]["held_out"]
    assert held["clips"] == len(held["per_caption"]) * len(record["scores"]["seeds"])
    assert record["loss_curve"][-1] < record["loss_curve"][0] / 5  # it learned


def test_held_out_captions_move_as_captioned_at_the_recorded_rate(record):
    """The 6 held-out captions at one seed, in one batch: 6 clips. The rate may fall below the
    record's only by what 6 draws of it can: three standard deviations and one clip."""
    torch = import_or_require("torch", "run make install")
    from w2w_generators.motion.evaluation import judged
    from w2w_generators.motion.pipeline import MotionDiffusionPipeline
    from w2w_generators.motion.world import HELD_OUT
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    scores = record["scores"]
    pipe = MotionDiffusionPipeline.from_dirs(MOTION_WEIGHTS, resolve_minilm(MINILM_ID, {}).path)
    threads = torch.get_num_threads()
    try:
        found = judged(pipe, list(HELD_OUT), [0], scores["steps"], scores["guidance_scale"])
    finally:
        torch.set_num_threads(threads)
    recorded = scores["held_out"]["right"] / scores["held_out"]["clips"]
    n = found["clips"]
    floor = recorded - 3 * math.sqrt(recorded * (1 - recorded) / n) - 1 / n
    assert found["right"] / n >= floor, (found, recorded)
