"""The shapes-world training recipe (w2w_generators/shapes/training.py) and its data (shapes/world.py).

Training runs for real, with a tiny config (3 steps, a narrow UNet) on the real all-MiniLM-L6-v2
encoder: same config, same software, same weights, bit for bit.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from requires import import_or_require, require

from w2w_generators.diffusion_demo.generator import SHAPES_WEIGHTS_DIR
from w2w_generators.shapes import world as shapes_world
from w2w_generators.shapes.world import HELD_OUT, Scene, all_scenes, arrangement_holds, parse_caption, render

# 32 channels per block: divisible by norm_num_groups (16) and by attention_head_dim (8).
TINY = dict(steps=3, batch_size=4, block_out_channels=(32, 32, 32))


@pytest.fixture(scope="module")
def training():
    """The training module with torch's thread count restored afterwards (train() sets it)."""
    torch = import_or_require("torch", "run make install")
    from w2w_generators.shapes import training as shapes_training

    threads = torch.get_num_threads()
    yield shapes_training
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def encoder_path() -> str:
    from w2w.errors import W2WError
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    try:
        return resolve_minilm(MINILM_ID, {}).path
    except W2WError as error:
        require(False, f"all-MiniLM-L6-v2 is not on this machine: {error.what}", error.fix)


def _tensors(weights: Path) -> dict:
    from safetensors.torch import load_file

    files = sorted(weights.rglob("*.safetensors"))
    assert files, f"no safetensors under {weights}"
    return {f"{f.relative_to(weights)}:{name}": t for f in files for name, t in load_file(f).items()}


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# ---- the recipe ----------------------------------------------------------------------------------


def test_retraining_reproduces_the_weights(training, encoder_path, tmp_path):
    import torch

    config = replace(training.TrainConfig(), **TINY)
    logs: list[str] = []
    stale = tmp_path / "b"
    stale.mkdir()
    (stale / "stale.txt").write_text("from an older run")
    first = training.train(config, encoder_path, tmp_path / "a", logs.append)
    second = training.train(config, encoder_path, stale, logs.append, overwrite=True)

    a, b = _tensors(tmp_path / "a"), _tensors(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) > 10
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        assert a[key].numpy().tobytes() == b[key].numpy().tobytes(), key  # bitwise, NaNs included
    assert first["final_loss"] == second["final_loss"]
    for name in ("a", "b"):
        record = json.loads((tmp_path / name / "training.json").read_text())
        assert record["config_hash"] == config.hash()
        assert record["config"]["steps"] == 3 and record["training_captions"] == len(shapes_world.training_scenes())
        assert (tmp_path / name / "scheduler" / "scheduler_config.json").is_file()
    assert any("step 3/3" in line for line in logs)
    # overwrite=True swapped the whole directory: the old content is gone, no staging dir is left.
    assert not (stale / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]

    # The comparison can fail: training moved the weights away from the seeded initialisation.
    torch.manual_seed(config.seed)
    initial = training.build_unet(config).state_dict()
    moved = [key for key in a if not torch.equal(a[key], initial[key.split(":", 1)[1]])]
    assert len(moved) > len(a) // 2


def test_existing_weights_are_not_overwritten_without_asking(training, tmp_path):
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


def test_empty_out_dir_is_not_refused(training, tmp_path):
    """Only a directory that holds something is protected: an empty one gets past the guard."""
    out = tmp_path / "weights"
    out.mkdir()
    assert not training.holds_weights(out) and not training.holds_weights(tmp_path / "missing")
    (out / "x").write_text("")
    assert training.holds_weights(out)


def test_weights_dir_is_the_one_the_demo_reads(training):
    assert training.WEIGHTS_DIR is SHAPES_WEIGHTS_DIR


def test_shipped_weights_come_from_the_committed_recipe(training):
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
