"""The motion generator (w2w_generators/motion_demo/generator.py) on a tiny random-weight video
denoiser: its films are eight frames of the sizes the slides draw, each clip has its text (what the
tracker saw), the LLM's words for the same caption are recorded, and `w2w generate motion` writes
a readable GIF or WebP. The clip is noise from random weights; whether it moves as captioned is
test_motion_shipped.py's business."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from requires import import_or_require, require

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A tiny random-weight motion denoiser (one layer, two heads of 8) and its scheduler, saved as
    the shipped weights are."""
    import_or_require("diffusers", "run make install")
    from w2w_generators.motion import training

    config = replace(training.TrainConfig(), heads=2, head_dim=8, layers=1)
    weights = tmp_path_factory.mktemp("tiny-random-motion")
    training.build_denoiser(config).save_pretrained(weights / "unet", safe_serialization=True)
    training.build_scheduler(config).save_pretrained(weights / "scheduler")
    return weights


@pytest.fixture(scope="module")
def tiny_generator(tiny_weights):
    from w2w.errors import W2WError
    from w2w_generators.motion_demo.generator import MotionGenerator, MotionInputs

    generator = MotionGenerator()
    generator.weights_dir = tiny_weights
    try:
        model = generator.resolve_model(MotionInputs(), {})
    except W2WError as error:
        require(False, f"a model the motion generator needs is not on this machine: {error.what}", error.fix)
    return generator, model


def test_artifact_films_and_words(tiny_generator, tmp_path):
    from PIL import Image

    from w2w_generators.motion_demo.generator import MotionInputs

    generator, model = tiny_generator
    inputs = MotionInputs(steps=3, strip_frames=2, max_new_tokens=8)
    artifact = generator.run(inputs, model, "cpu", tmp_path)
    assert set(artifact.files) == generator.file_roles(inputs)
    assert Image.open(artifact.path("film")).size == (8 * 128, 128)
    assert Image.open(artifact.path("frame_0")).size == Image.open(artifact.path("guess_1")).size == (8 * 64, 64)
    data = artifact.data
    assert [s["step"] for s in data["strip"]] == [1, 3] and all(s["guess_seen"] for s in data["strip"])
    assert data["seen"].startswith("the red shape") and isinstance(data["matches"], bool)
    assert data["words"]["text"] and 0 < data["words"]["tokens"] <= 8 and data["words"]["ended"] in ("eos", "limit")
    assert data["frames"] == 8 and data["seconds_per_step"] > 0
    json.dumps(data)  # the artifact's data is JSON


def test_inputs_refuse_a_caption_outside_the_world():
    from pydantic import ValidationError

    from w2w_generators.motion_demo.generator import MotionGenerator, MotionInputs

    with pytest.raises(ValidationError, match="not a motion-world caption"):
        MotionInputs(prompt="a dog running")
    assert MotionGenerator().generate_check("a cat moving sideways")[0].startswith("not a motion-world caption")
    assert MotionGenerator().generate_check("a blue square moving up") is None


@pytest.fixture(scope="module")
def tiny_loaded(tiny_generator):
    """What `w2w generate motion` loads (the tiny denoiser, MiniLM), loaded once for both formats."""
    generator, model = tiny_generator
    return generator, generator.generate_load(model, "cpu")


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_generate_writes_an_animation(tiny_loaded, tmp_path, suffix):
    from w2w_generators.motion.media import read_animation

    generator, loaded = tiny_loaded
    out = tmp_path / f"clip{suffix}"
    record = generator.generate(loaded, "a blue square moving up", 0, out)
    frames = read_animation(out.read_bytes())
    assert frames.shape == (8, 128, 128, 3)
    assert record["animation"] == str(out) and record["seen"].startswith("the blue shape")


@pytest.mark.parametrize(
    "args, said",
    [
        (["a dog running left"], "not a motion-world caption"),
        (["a red circle moving right", "-o", "clip.mp4"], "motion writes GIF or WEBP"),
        (["a red circle moving right", "-o", "nowhere/clip.gif"], "does not exist"),
    ],
)
def test_generate_motion_refuses_bad_input_in_one_line_before_loading(tmp_path, args, said):
    from cli_in_process import run_cli

    result = run_cli("generate", "motion", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and "Traceback" not in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_caption_reliance_scores_each_word_on_the_same_clips(tiny_weights):
    """The record's measure of what the denoiser reads of its caption (evaluation.caption_reliance),
    on the tiny random-weight model: a loss per noise band for the true caption, the opposite
    direction and another colour, each a finite positive number."""
    from w2w_generators.motion.evaluation import NOISE_BANDS, caption_reliance
    from w2w_generators.motion.pipeline import MotionDiffusionPipeline
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    pipe = MotionDiffusionPipeline.from_dirs(tiny_weights, resolve_minilm(MINILM_ID, {}).path)
    reliance = caption_reliance(pipe, clips=4)
    assert (reliance["clips"], list(reliance["loss"])) == (4, [f"t{low}-{high - 1}" for low, high in NOISE_BANDS])
    for losses in reliance["loss"].values():
        assert set(losses) == {"true", "direction_swapped", "colour_swapped"}
        assert all(0 < v < 10 for v in losses.values())
