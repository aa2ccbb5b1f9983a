"""The sound generator (w2w_generators/sound_demo/generator.py) on a tiny random-weight UNet: its
artifact's WAVs are 16 kHz mono clips of the right length, its pictures are the sizes the slides
draw, each sound has its text (what the checker heard), and `w2w generate sound` writes a WAV.
The clip is noise from random weights; what it sounds like is test_sound_shipped.py's business."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from requires import import_or_require, require

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny random-weight sound UNet and its scheduler, saved as the shipped weights are."""
    import_or_require("diffusers", "run make install")
    from w2w.errors import W2WError
    from w2w.plugin_api import ModelRef
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
    from w2w_generators.sound import training

    try:
        encoder = resolve_minilm(MINILM_ID, {})
    except W2WError as error:
        require(False, f"all-MiniLM-L6-v2 is not on this machine: {error.what}", error.fix)
    config = replace(training.TrainConfig(), block_out_channels=(32, 32, 32))
    weights = tmp_path_factory.mktemp("tiny-sound")
    training.build_unet(config).save_pretrained(weights / "unet")
    training.build_scheduler(config).save_pretrained(weights / "scheduler")
    return ModelRef("w2w/tiny-random-sound", "0", "shipped", str(weights), encoder=encoder.path)


def _wav(path):
    from w2w_generators.sound.media import read_wav

    return read_wav(path.read_bytes())


def test_artifact_files_are_readable(tiny_model, tmp_path):
    from PIL import Image

    from w2w_generators.sound_demo.generator import SoundGenerator, SoundInputs

    generator = SoundGenerator()
    inputs = SoundInputs(steps=3, strip_frames=2)
    artifact = generator.run(inputs, tiny_model, "cpu", tmp_path)
    assert set(artifact.files) == generator.file_roles(inputs)
    clip, rate = _wav(artifact.path("audio"))
    assert rate == 16_000 and len(clip) == 16_000 and 0 < abs(clip).max() <= 1
    for row in ("strip_noisy", "strip_guess"):
        strip, rate = _wav(artifact.path(row))
        assert rate == 16_000 and len(strip) == 2 * 16_000 + 4_000  # two 1 s steps, 0.25 s between
    assert Image.open(artifact.path("spectrogram")).size == (256, 256)
    assert Image.open(artifact.path("frame_0")).size == Image.open(artifact.path("guess_1")).size == (128, 128)
    data = artifact.data
    assert [f["step"] for f in data["frames"]] == [1, 3] and [f["start_s"] for f in data["frames"]] == [0.0, 1.25]
    assert data["heard"] and all(f["noisy_heard"] and f["guess_heard"] for f in data["frames"])
    assert isinstance(data["matches"], bool) and data["seconds_per_step"] > 0
    json.dumps(data)  # the artifact's data is JSON


def test_inputs_refuse_a_caption_outside_the_world():
    from pydantic import ValidationError

    from w2w_generators.sound_demo.generator import SoundGenerator, SoundInputs

    with pytest.raises(ValidationError, match="not a sound-world caption"):
        SoundInputs(prompt="a dog barking")
    assert SoundGenerator().generate_check("a dog barking")[0].startswith("not a sound-world caption")
    assert SoundGenerator().generate_check("two high rising notes on a flute") is None


def test_generate_writes_a_wav(tiny_model, tmp_path):
    from w2w_generators.sound_demo.generator import SoundGenerator

    generator = SoundGenerator()
    loaded = generator.generate_load(tiny_model, "cpu")
    out = tmp_path / "out.wav"
    record = generator.generate(loaded, "two high rising notes on a flute", 0, out)
    clip, rate = _wav(out)
    assert rate == 16_000 and len(clip) == 16_000
    assert record["audio"] == str(out) and "the checker heard" in record["summary"]
