"""The shipped sound model (w2w_generators/sound/weights/sound-diffusion/): small enough to ship,
its record complete, and heard right by the checker on the held-out captions at a rate consistent
with the score its training.json records (which `w2w train-sound` measured on 8 seeds a caption)."""

from __future__ import annotations

import json
import math

import pytest
from requires import import_or_require, require

from w2w_generators.shared.model_resolution import SOUND_WEIGHTS

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def record() -> dict:
    require((SOUND_WEIGHTS / "training.json").is_file(), "the sound model is not trained", "run w2w train-sound")
    return json.loads((SOUND_WEIGHTS / "training.json").read_text())


def test_weights_are_small_and_their_record_complete(record):
    size = sum(p.stat().st_size for p in SOUND_WEIGHTS.rglob("*") if p.is_file())
    assert size <= 10_000_000
    for key in ("config", "config_hash", "train_seconds", "loss_curve", "parameters", "machine", "scores"):
        assert record[key], key
    for split in ("held_out", "training"):
        score = record["scores"][split]
        assert score["clips"] == len(score["per_caption"]) * len(record["scores"]["seeds"])
        assert 0 <= score["right"] <= score["clips"]
    assert record["loss_curve"][-1] < record["loss_curve"][0] / 5  # it learned


def test_held_out_captions_are_heard_right_at_the_recorded_rate(record):
    """The 6 held-out captions, twice each, in one batch (one seed; the record's seeds drew them one
    batch per seed): 12 clips. The rate may fall below the record's only by what 12 draws of it
    can: three standard deviations and one clip."""
    torch = import_or_require("torch", "run make install")
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
    from w2w_generators.sound.evaluation import judged
    from w2w_generators.sound.pipeline import SoundDiffusionPipeline
    from w2w_generators.sound.world import HELD_OUT

    scores = record["scores"]
    pipe = SoundDiffusionPipeline.from_dirs(SOUND_WEIGHTS, resolve_minilm(MINILM_ID, {}).path)
    threads = torch.get_num_threads()
    try:
        found = judged(pipe, list(HELD_OUT) * 2, [0], scores["steps"], scores["guidance_scale"])
    finally:
        torch.set_num_threads(threads)
    recorded = scores["held_out"]["right"] / scores["held_out"]["clips"]
    n = found["clips"]
    floor = recorded - 3 * math.sqrt(recorded * (1 - recorded) / n) - 1 / n
    assert found["right"] / n >= floor, (found, recorded)
