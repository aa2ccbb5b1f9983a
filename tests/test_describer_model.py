"""The describer's model: decoding and the live stream on a tiny random-weight model (named so: it
says nothing about accuracy), and the shipped weights' accuracy on a slice of the held-out sets."""

from __future__ import annotations

import pytest
import torch

from w2w.plugin_api import check_protocol
from w2w_generators.describer import data
from w2w_generators.describer.generator import WEIGHTS, DescriberGenerator, load_describer
from w2w_generators.describer.live import DescriberLiveRequest, LoadedDescriber, describe
from w2w_generators.describer.model import (
    MAX_TOKENS,
    VOCAB,
    Describer,
    DescriberConfig,
    batch_tokens,
    caption_of,
    decode_tokens,
    encode_caption,
    greedy,
    loss_on,
    to_input,
)
from w2w_generators.shapes import world

pytestmark = pytest.mark.model


def tiny_random_describer(seed: int = 0) -> Describer:
    """Random weights, a third of the shipped size: for shapes and decoding, never accuracy."""
    torch.manual_seed(seed)
    return Describer(DescriberConfig(dim=32, heads=2, encoder_layers=1, decoder_layers=1)).eval()


def test_every_caption_of_the_world_is_spelt_exactly_and_fits():
    for scene in world.all_scenes():
        ids = encode_caption(scene.caption)
        assert len(ids) <= MAX_TOKENS and decode_tokens(ids) == scene.caption
    assert len(VOCAB) == 3 + 1 + 5 + 3 + 3


def test_a_tiny_random_describer_gives_logits_and_a_loss_of_the_right_shape():
    model = tiny_random_describer()
    images, captions = data.held_out_renders()
    pixels, tokens = to_input(images[:4]), batch_tokens(captions[:4])
    assert model.encode(pixels).shape == (4, 64, 32)
    assert model(pixels, tokens).shape == (4, tokens.shape[1], len(VOCAB))
    loss = loss_on(model.train(), pixels, tokens)
    assert loss.ndim == 0 and 1.0 < loss.item() < 10.0  # near ln(18) = 2.9 for random weights


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_decoding_always_ends_and_its_probabilities_sum_to_at_most_one(seed):
    images, _ = data.held_out_renders()
    for steps in greedy(tiny_random_describer(seed), to_input(images[::32]), top=4):
        assert 1 <= len(steps) <= MAX_TOKENS - 1
        assert all(s["token"] != "<eos>" for s in steps[:-1])
        for s in steps:
            ps = [t["p"] for t in s["top"]]
            assert 0 < s["p"] <= 1 and s["p"] == max(ps) == ps[0] and sum(ps) <= 1 + 1e-6
            assert s["token"] == s["top"][0]["token"] and s["token"] not in ("<pad>", "<bos>")


def test_the_live_stream_sends_the_picture_then_each_token_then_done():
    generator = DescriberGenerator()
    check_protocol(DescriberGenerator)
    loaded = LoadedDescriber(tiny_random_describer(), "tiny-random", "cpu")
    events = list(generator.steps(loaded, DescriberLiveRequest(caption=world.HELD_OUT[1], seed=3)))
    steps, done = events[:-1], events[-1]
    assert [e["type"] for e in steps] == ["step"] * len(steps) and done["type"] == "done"
    assert steps[0]["image"].startswith("data:image/png;base64,")
    assert not any("image" in e for e in steps[1:])
    assert done["asked"] == world.HELD_OUT[1] and done["model"] == "tiny-random"
    assert done["caption"] == caption_of(steps)
    assert done["exact"] == (done["caption"] == world.HELD_OUT[1])
    # describe is the same reading as a plain function, on the same picture
    assert [t["token"] for t in describe(loaded, steps[0]["image"])] == [e["token"] for e in steps]


def test_the_shipped_describer_reads_held_out_renders_it_never_saw():
    """A slice of the held-out renders (every 4th of 256): training.json publishes the full figure."""
    from w2w_generators.describer.evaluation import describe_all

    model = load_describer(WEIGHTS)
    images, captions = data.held_out_renders()
    said = describe_all(model, images[::4])
    right = sum(s == c for s, c in zip(said, captions[::4], strict=True))
    assert right >= 0.95 * len(said), [(s, c) for s, c in zip(said, captions[::4], strict=True) if s != c]
    assert (WEIGHTS / "describer.safetensors").stat().st_size <= 10 * 2**20


def test_the_build_reads_the_diffusion_models_own_pictures_of_held_out_captions(tmp_path):
    """The generator as the build runs it, on the shipped weights of both models: the diffusion
    model draws the 8 held-out captions (seed 0, guidance 4, DDIM 10 steps here: the build's 20
    cost twice the time, and shapes_eval's pictures at 10 were right too) and the describer reads
    them and 8 renders; the figure's foot and the data carry the figures training.json published."""
    import json

    generator = DescriberGenerator()
    inputs = generator.Inputs(steps=10)
    artifact = generator.run(inputs, generator.resolve_model(inputs, {}), "cpu", tmp_path)
    cases = artifact.data["cases"]
    assert [c["kind"] for c in cases] == ["render"] * 8 + ["diffusion"] * 8
    assert all(c["tokens"][-1]["token"] == "<eos>" for c in cases)
    diffusion = [c for c in cases if c["kind"] == "diffusion"]
    assert sum(c["exact"] for c in diffusion) >= 7, [(c["asked"], c["said"]) for c in diffusion]
    assert sum(c["exact"] for c in cases) >= 14
    record = json.loads((WEIGHTS / "training.json").read_text())
    assert artifact.data["published"]["renders"]["right"] == record["held_out"]["renders"]["right"]
    assert artifact.path("figure").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads(artifact.path("results").read_text())
    assert [c["said"] for c in results["cases"]] == [c["said"] for c in cases] and "image" not in results["cases"][0]
    done = artifact.data["live_recording"]["done"]
    assert done["asked"] == world.HELD_OUT[0] and done["exact"] is True


def test_the_generate_hook_reads_a_picture_file_and_refuses_a_bad_one_before_loading(tmp_path):
    """`w2w generate describer PICTURE.png` (the protocol's generate hook), on the tiny random model."""
    import random

    from PIL import Image

    generator = DescriberGenerator()
    pixels = world.render(world.parse_caption(world.HELD_OUT[2]), random.Random(0))
    good, small, text = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    pixels.resize((128, 128), Image.Resampling.NEAREST).save(good)
    pixels.resize((20, 20)).save(small)
    text.write_text("not a picture")
    assert generator.generate_check(str(good)) is None
    assert generator.generate_check(str(small))[0] == "the picture is 20x20 px"
    assert generator.generate_check(str(text))[0] == "the picture is not a PNG"
    assert "cannot be read" in generator.generate_check(str(tmp_path / "missing.png"))[0]
    loaded = LoadedDescriber(tiny_random_describer(), "tiny-random", "cpu")
    record = generator.generate(loaded, str(good), 0, None)
    assert record["tokens"] == describe(loaded, pixels) and record["summary"].startswith(record["caption"])
    assert record["tokens"][-1]["token"] == "<eos>" or len(record["tokens"]) == MAX_TOKENS - 1
