"""The shapes world with no model: its data (w2w_generators/shapes/world.py), what shapes_eval asks
and how it counts, and what the training recipe (shapes/training.py) refuses before it trains.
Training itself and the shipped model's pictures are test_shapes_training.py's and
test_shapes_eval.py's (a model)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from requires import require

from w2w_generators.diffusion_demo.generator import SHAPES_WEIGHTS_DIR
from w2w_generators.shapes import training
from w2w_generators.shapes import world as shapes_world
from w2w_generators.shapes.world import HELD_OUT, Scene, all_scenes, arrangement_holds, parse_caption, render
from w2w_generators.shapes_eval.generator import PARAPHRASED, cases, summary

pytestmark = pytest.mark.quick
TINY = dict(steps=3, batch_size=4, block_out_channels=(32, 32, 32))


# ---- the data ------------------------------------------------------------------------------------


def test_every_training_caption_parses_back_to_its_scene():
    scenes = shapes_world.training_scenes()
    assert (
        len(scenes) == len(all_scenes()) - len(HELD_OUT) == 352
    )  # 15 shapes x 12 of another colour x 2 relations, less the 8 held out
    assert len({s.caption for s in scenes}) == len(scenes)
    for scene in scenes:
        assert parse_caption(scene.caption) == scene
        assert scene.colour_a != scene.colour_b
    with pytest.raises(ValueError, match="not a shapes-world caption"):
        parse_caption("a red circle beside a blue square")


def test_held_out_captions_are_in_the_world_but_not_in_training():
    training_captions = {s.caption for s in shapes_world.training_scenes()}
    everything = {s.caption for s in all_scenes()}
    for caption in HELD_OUT:
        assert caption not in training_captions
        assert caption in everything and parse_caption(caption).caption == caption


_OPPOSITE = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}


def test_rendered_scenes_show_their_captions():
    rng = random.Random(0)
    sample = rng.sample(all_scenes(), 120)
    for scene in sample:
        for seed in range(3):
            image = np.asarray(render(scene, random.Random(seed)))
            assert image.shape == (shapes_world.SIZE, shapes_world.SIZE, 3)
            assert arrangement_holds(image, scene), scene.caption
            flipped = Scene(scene.colour_a, scene.shape_a, _OPPOSITE[scene.relation], scene.colour_b, scene.shape_b)
            assert not arrangement_holds(image, flipped), scene.caption


# ---- what shapes_eval asks, and how it counts ----------------------------------------------------


def test_cases_are_the_held_out_captions_and_rewordings_the_model_never_trained_on():
    todo = cases()
    assert [c["prompt"] for c in todo if c["kind"] == "held-out"] == list(HELD_OUT)
    trained = {s.caption for s in shapes_world.training_scenes()}
    for case in todo:
        assert case["prompt"] not in trained and case["scene"] in HELD_OUT
    reworded = [c["prompt"] for c in todo if c["kind"] == "paraphrased"]
    assert len(reworded) == len(PARAPHRASED) == 8
    for text in reworded:  # outside the world's grammar: really a rewording, not a training caption
        try:
            parse_caption(text)
        except ValueError:
            continue
        raise AssertionError(f"{text!r} is a plain shapes-world caption")


def test_summary_counts_each_kind():
    results = [{"kind": "held-out", "correct": c} for c in (True, True, False)]
    results += [{"kind": "paraphrased", "correct": c} for c in (True, False)]
    out = summary(results)
    assert (out["correct"], out["total"], out["held_out"], out["paraphrased"]) == (3, 5, [2, 3], [1, 2])


def test_the_check_it_counts_with_tells_a_right_picture_from_a_swapped_one():
    """The judge is the tests' own arrangement check: a drawn scene passes, the swapped one fails."""
    import random

    for case in cases():
        scene = parse_caption(case["scene"])
        picture = np.asarray(render(scene, random.Random(0)))
        assert arrangement_holds(picture, scene)
        swapped = parse_caption(
            f"a {scene.colour_b} {scene.shape_b} {scene.relation} a {scene.colour_a} {scene.shape_a}"
        )
        assert not arrangement_holds(picture, swapped)


# ---- what the recipe refuses before it trains ----------------------------------------------------


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_existing_weights_are_not_overwritten_without_asking(tmp_path):
    from w2w.errors import W2WError

    out = tmp_path / "weights"
    (out / "unet").mkdir(parents=True)
    (out / "unet" / "config.json").write_text('{"kept": true}')
    (out / "training.json").write_text("{}")
    before = _snapshot(out)
    # The encoder path does not exist: had training started, loading it would fail another way.
    with pytest.raises(W2WError, match="already holds trained weights") as error:
        training.train(training.TrainConfig(**TINY), tmp_path / "no-encoder", out, print)
    assert "--overwrite" in error.value.fix and "--out" in error.value.fix
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]


def test_empty_out_dir_is_not_refused(tmp_path):
    """Only a directory that holds something is protected: an empty one gets past the guard."""
    out = tmp_path / "weights"
    out.mkdir()
    assert not training.holds_weights(out) and not training.holds_weights(tmp_path / "missing")
    (out / "x").write_text("")
    assert training.holds_weights(out)


def test_weights_dir_is_the_one_the_demo_reads():
    assert training.WEIGHTS_DIR is SHAPES_WEIGHTS_DIR


def test_shipped_weights_come_from_the_committed_recipe():
    record_path = SHAPES_WEIGHTS_DIR / "training.json"
    require(
        record_path.is_file(),
        f"no shipped shapes weights: {record_path} is missing",
        "restore w2w_generators/shapes/weights/shapes-diffusion from git (it is committed) or run `w2w train-shapes`",
    )
    record = json.loads(record_path.read_text())
    assert record["config_hash"] == training.TrainConfig().hash(), (
        f"the shipped weights were trained with a config other than TrainConfig()'s defaults: {record['config']}"
    )
