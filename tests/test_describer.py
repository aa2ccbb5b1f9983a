"""The describer's split and its input checks, with no model: the held-out captions are the world's
and training never sees them; a picture a slide sends is read exactly or refused with one message.
The model itself (tiny random weights, and the shipped weights): test_describer_model.py."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from w2w_generators.describer import data
from w2w_generators.describer.live import MAX_IMAGE_CHARS, BadImage, DescriberLiveRequest, pixels_of, png_url
from w2w_generators.shapes import world

pytestmark = pytest.mark.quick


def test_the_split_in_the_repo_is_the_worlds_and_training_never_sees_held_out_captions():
    split = data.load_split()
    assert split == data.expected_split()
    assert set(split["held_out"]) == set(world.HELD_OUT) and len(split["held_out"]) == 8
    assert not set(split["held_out"]) & set(split["train"])
    assert len(split["train"]) + 8 == len(world.all_scenes())


def test_held_out_renders_are_the_same_every_time():
    first, captions = data.held_out_renders()
    again, _ = data.held_out_renders()
    assert first.shape == (8 * data.HELD_OUT_RENDERS_PER_CAPTION, 32, 32, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again) and set(captions) == set(world.HELD_OUT)


def _png(image: Image.Image, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_128px_frame_reads_back_as_the_exact_32px_picture():
    """The diffusion demo streams 32 px pictures upscaled x4 (nearest): averaging gives them back."""
    import random

    pixels = np.asarray(world.render(world.parse_caption(world.HELD_OUT[0]), random.Random(1)))
    url = png_url(pixels)
    assert url.startswith("data:image/png;base64,") and len(url) < MAX_IMAGE_CHARS
    assert np.array_equal(pixels_of(url), pixels)
    assert np.array_equal(pixels_of(pixels), pixels) and np.array_equal(pixels_of(Image.fromarray(pixels)), pixels)
    assert DescriberLiveRequest(image=url).pixels().tolist() == pixels.tolist()


@pytest.mark.parametrize(
    ("image", "says"),
    [
        ("data:image/jpeg;base64,AAAA", "is not a PNG data URL"),
        ("data:image/png;base64,not base64!", "base64 does not decode"),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), "is not a PNG"),
        (_png(Image.new("RGB", (48, 32))), "is 48x32 px"),
        (_png(Image.new("RGB", (40, 40))), "is 40x40 px"),
        (_png(Image.new("RGB", (1024, 1024))), "is 1024x1024 px"),
        ("data:image/png;base64," + "A" * MAX_IMAGE_CHARS, "PNG data URL of at most 65,536 characters"),
    ],
)
def test_a_bad_picture_is_refused_with_one_message_that_says_what_is_accepted(image, says):
    with pytest.raises(BadImage, match="square PNG picture whose side is 32 px") as caught:
        pixels_of(image)
    assert says in str(caught.value)
    with pytest.raises(ValidationError) as refused:  # the live request says the same, nothing else
        DescriberLiveRequest(image=image)
    assert says in str(refused.value) or "at most 65536 characters" in str(refused.value)


def test_a_caption_outside_the_world_is_refused_and_a_spaced_one_is_normalised():
    with pytest.raises(ValidationError, match="not a shapes-world caption"):
        DescriberLiveRequest(caption="a dog on a sofa")
    with pytest.raises(ValidationError, match="the caption is empty"):
        DescriberLiveRequest(caption="   ")
    assert DescriberLiveRequest(caption="A red  circle above a blue square").caption == world.HELD_OUT[0]
    with pytest.raises(ValidationError, match="extra"):
        DescriberLiveRequest(caption=world.HELD_OUT[0], steps=3)


def test_no_training_picture_starts_from_the_noise_of_a_held_out_one():
    """Batch k of seed s starts from seed s * 1000 + k: training seed 0's first batch shares its first
    8 noises with held-out seed 0's batch of 8, and those 8 are left out of training."""
    shared = [(s, i) for s in data.TRAIN_SEEDS for i in range(352) if data.shares_noise_with_held_out(s, i)]
    assert shared == [(0, i) for i in range(8)]
    generator_seeds = {s * 1000 + i // 32 for s in data.TRAIN_SEEDS for i in range(352)}
    assert {s * 1000 for s in data.HELD_OUT_SEEDS} & generator_seeds == {0}


def test_train_describer_refuses_to_replace_weights_before_any_work(tmp_path):
    from w2w.plugin_api import W2WError
    from w2w_generators.describer.command import train_describer

    (tmp_path / "describer.safetensors").write_bytes(b"weights")
    with pytest.raises(W2WError, match="already holds trained weights"):
        train_describer(steps=10, out=tmp_path, overwrite=False)
    with pytest.raises(W2WError, match="not a step count"):
        train_describer(steps=0, out=tmp_path / "new", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["describer.safetensors"]  # nothing written
