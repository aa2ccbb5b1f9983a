"""The motion denoiser's moving coordinates and its velocity slots (w2w_generators/motion/denoiser.py),
on tiny random-weight denoisers (one layer, two heads of 8): the geometry the design rests on, what
the slots may read of a caption, and that the float16 weights load back as they were saved. Whether
the shipped model moves as captioned is test_motion_shipped.py's business."""

from __future__ import annotations

import pytest
from requires import import_or_require

pytestmark = pytest.mark.model

torch = import_or_require("torch", "run make install")
import_or_require("diffusers", "run make install")

from w2w_generators.motion.denoiser import DenoiserConfig, VideoDenoiser, moving_coordinates, sincos  # noqa: E402

TINY = DenoiserConfig(heads=2, head_dim=8, layers=1, refiner_width=8)


def tiny_random_denoiser(seed: int = 0) -> VideoDenoiser:
    torch.manual_seed(seed)
    return VideoDenoiser(TINY).eval()


def test_a_shape_moving_with_the_velocity_stands_still_in_the_moving_coordinates():
    grid, frames = 8, 8
    velocity = torch.tensor([[3.0, -2.0]])  # tokens over the clip: right and up
    coordinates = moving_coordinates(grid, frames, velocity)  # (1, frames, grid², 2)
    time = torch.linspace(-0.5, 0.5, frames)
    middle = torch.tensor([2.0, 5.0])
    for f in range(frames):
        place = middle + velocity[0] * time[f]  # where the moving shape is in frame f (fractional)
        x, y = place
        # bilinear read of the coordinate field at that place: the coordinates are the place less
        # the travel, so every frame reads the shape's middle-of-clip place
        field = coordinates[0, f].reshape(grid, grid, 2)
        x0, y0 = int(x), int(y)
        fx, fy = x - x0, y - y0
        read = (
            field[y0, x0] * (1 - fx) * (1 - fy)
            + field[y0, x0 + 1] * fx * (1 - fy)
            + field[y0 + 1, x0] * (1 - fx) * fy
            + field[y0 + 1, x0 + 1] * fx * fy
        )
        assert torch.allclose(read, middle, atol=1e-5), f
    still = moving_coordinates(grid, frames, torch.zeros(1, 2))
    assert torch.equal(still[0, 0], still[0, -1])  # no velocity: the fixed grid, every frame
    per_token = velocity.reshape(1, 1, 1, 2).expand(1, frames, grid * grid, 2)
    assert torch.equal(moving_coordinates(grid, frames, per_token), coordinates)  # one velocity a patch


def test_the_sincos_embedding_puts_x_then_y_each_as_sines_then_cosines():
    embedded = sincos(torch.tensor([[0.0, 1.5]]), 16)  # quarter = 4 frequencies
    assert embedded.shape == (1, 16)
    assert torch.allclose(embedded[0, :4], torch.zeros(4)) and torch.allclose(embedded[0, 4:8], torch.ones(4))
    assert torch.isclose(embedded[0, 8], torch.sin(torch.tensor(1.5)))  # y at the first frequency


def test_the_slots_read_no_padding_and_start_without_motion():
    model = tiny_random_denoiser()
    states = torch.randn(2, TINY.max_tokens, 384)
    mask = torch.zeros(2, TINY.max_tokens, dtype=torch.long)
    mask[:, :7] = 1  # "[CLS] a red circle moving right [SEP]"
    changed = states.clone()
    changed[:, 7:] = torch.randn(2, TINY.max_tokens - 7, 384)  # different padding states
    pooled, _ = model.slots(states, mask)
    pooled_changed, _ = model.slots(changed, mask)
    assert torch.allclose(pooled, pooled_changed)  # padding is never read
    assert torch.equal(model.velocities(states, mask), torch.zeros(2, 2, 2))  # the head starts at zero


def test_the_slots_start_on_their_own_phrases():
    """Before training, slot one pools the first phrase's tokens and slot two the second's (the
    per-position bias's start), so a two-shape caption's slots begin apart."""
    model = tiny_random_denoiser()
    states = torch.zeros(1, TINY.max_tokens, 384)
    states[0, 1:6, 0] = 1.0  # a marker on the first phrase's tokens
    states[0, 7:12, 1] = 1.0  # and another on the second's
    mask = torch.zeros(1, TINY.max_tokens, dtype=torch.long)
    mask[0, :13] = 1
    pooled, _ = model.slots(states, mask)
    first, second = pooled[0, 0], pooled[0, 1]
    assert first[0] > 0.8 and first[1] < 0.2
    assert second[1] > 0.8 and second[0] < 0.2


def test_each_patch_takes_the_velocity_of_the_phrase_it_matches():
    """The patch-to-phrase match decides a patch's velocity: with the match made to prefer slot
    one for every patch, every patch moves with slot one's velocity."""
    model = tiny_random_denoiser()
    pooled = torch.randn(1, 2, 384)
    velocity = torch.tensor([[[2.0, 0.0], [0.0, -3.0]]])
    tokens = torch.randn(TINY.frames, 64, TINY.width)
    with torch.no_grad():
        model.token_query.weight.zero_()
        model.token_query.bias.fill_(1.0)
        model.slot_key.weight.zero_()
        model.slot_key.bias.zero_()
        model._step = {"slots": (pooled, velocity)}
        even = model.token_velocities(tokens)
        assert torch.allclose(even, velocity.mean(1).expand_as(even))  # no preference: the average
        model.slot_key.bias.copy_(torch.full((32,), 0.0))
        model.slot_key.weight[:, 0] = 0.0
        pooled[0, 0, 0], pooled[0, 1, 0] = 10.0, -10.0  # phrase one's feature 0 high, phrase two's low
        model.slot_key.weight[:, 0] = 1.0
        model._step = {"slots": (pooled, velocity)}
        first = model.token_velocities(tokens)
    assert torch.allclose(first, velocity[0, 0].expand_as(first), atol=1e-3)


def test_a_tiny_random_denoiser_keeps_the_clip_shape_and_its_float16_weights_load_back(tmp_path):
    model = tiny_random_denoiser()
    clip = torch.randn(2, 3, TINY.frames, TINY.size, TINY.size)
    states = torch.randn(2, TINY.max_tokens, 384)
    with torch.no_grad():
        out = model(clip, torch.tensor([10, 900]), states).sample
        assert out.shape == clip.shape
        model.save_pretrained(tmp_path / "unet")
        loaded = VideoDenoiser.from_pretrained(tmp_path / "unet")
        assert loaded.config == TINY
        again = loaded(clip, torch.tensor([10, 900]), states).sample
    stored = (tmp_path / "unet" / "denoiser.safetensors").stat().st_size
    assert stored < 2 * sum(p.numel() for p in model.parameters()) + 100_000  # two bytes a weight
    assert torch.allclose(out, again, atol=5e-2)  # float16 storage, float32 compute
