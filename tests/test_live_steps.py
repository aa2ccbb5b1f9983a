"""The live protocol's generator side (docs/live-protocol.md) on the real models, CPU, small requests:
`steps` is what the build records, greedy live tokens equal a plain `generate`, typed words land on
the build's PCA axes, and the diffusion stream's frames are the build's frames. That requests are
bounded, with no model: test_live_requests.py.
"""

from __future__ import annotations

import base64
import io
import threading

import numpy as np
import pytest
from PIL import Image

from w2w.plugins import registry
from w2w_generators.diffusion_demo.generator import DiffusionInputs
from w2w_generators.diffusion_demo.live import png_data_url
from w2w_generators.embedding_plot.generator import EmbeddingInputs
from w2w_generators.token_trace.generator import TokenTraceInputs, generate
from w2w_generators.token_trace.steps import sentence_ended

pytestmark = pytest.mark.model

# Without the model these fail under CI=true and skip elsewhere (conftest's require_* fixtures).
needs_smollm2 = pytest.mark.usefixtures("require_smollm2")
needs_shapes = pytest.mark.usefixtures("require_shapes")
PROMPT = "Diffusion models turn random noise into"


def pixels(data_url_or_path) -> np.ndarray:
    if isinstance(data_url_or_path, str):
        assert data_url_or_path.startswith("data:image/png;base64,")
        data = base64.b64decode(data_url_or_path.split(",", 1)[1])
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return np.asarray(Image.open(data_url_or_path).convert("RGB"))


# --- token trace ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_trace(require_smollm2, w2w_home):
    gen = registry.get("token_trace")
    model = gen.resolve_model(TokenTraceInputs(), {})
    return gen, model, gen.load(model, "cpu")


@needs_smollm2
def test_greedy_steps_equal_a_plain_generate_token_for_token(token_trace):
    gen, _, loaded = token_trace
    inputs = TokenTraceInputs(prompt=PROMPT, max_new_tokens=8, stop="eos")
    events = list(gen.steps(loaded, gen.live_request(inputs)))
    _, new_ids, _, _ = generate(loaded.lm, loaded.tokenizer, inputs, "cpu", trace=False)
    assert [e["token_id"] for e in events[:-1]] == new_ids
    done = events[-1]
    assert done["type"] == "done" and done["stopped"] == "length" and done["new_tokens"] == 8
    assert done["completion"] == loaded.tokenizer.decode(new_ids)
    assert done["text"] == PROMPT + done["completion"]
    for step in events[:-1]:
        assert step["type"] == "step" and len(step["top"]) == 5
        assert step["top"][0]["token_id"] == step["token_id"]  # greedy: the chosen one is the most likely
        assert step["prob"] == step["top"][0]["prob"]


@needs_smollm2
def test_the_recorded_trace_is_the_collected_steps_and_stops_at_the_sentence_end(token_trace, tmp_path):
    gen, model, loaded = token_trace
    inputs = TokenTraceInputs(prompt=PROMPT, max_new_tokens=12)
    artifact = gen.run(inputs, model, "cpu", tmp_path)
    live = list(gen.steps(loaded, gen.LiveRequest(**artifact.data["live_request"])))
    assert artifact.data["steps"] == live[:-1]
    assert artifact.data["text"] == live[-1]["text"]
    # SmolLM2 ends its first sentence inside 12 tokens on this prompt; the trace stops there.
    assert artifact.data["stopped"] == "sentence", artifact.data["text"]
    assert sentence_ended(artifact.data["completion"]) and artifact.data["new_tokens"] < 12


@needs_smollm2
def test_a_chat_request_continues_the_chat_template(token_trace):
    gen, _, loaded = token_trace
    request = gen.LiveRequest(prompt="Name one colour.", max_new_tokens=4, chat=True, stop="eos")
    events = list(gen.steps(loaded, request))
    inputs = TokenTraceInputs(prompt="Name one colour.", max_new_tokens=4, chat=True)
    _, new_ids, _, _ = generate(loaded.lm, loaded.tokenizer, inputs, "cpu", trace=False)
    assert [e["token_id"] for e in events[:-1]] == new_ids


@needs_smollm2
def test_a_prefix_id_past_the_vocabulary_is_refused_with_its_fix(token_trace):
    from w2w.plugin_api import InputError

    gen, _, loaded = token_trace
    request = gen.LiveRequest(prompt=PROMPT, prefix_ids=[5, 49152])  # in the request's bounds, past SmolLM2's
    with pytest.raises(InputError, match="past the model's vocabulary of 49152") as error:
        list(gen.steps(loaded, request))
    assert "below 49152" in error.value.fix


# --- embedding plot ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedding(tmp_path_factory):
    gen = registry.get("embedding_plot")
    inputs = EmbeddingInputs(words=["dog", "puppy", "banana", "apple", "car"], live_words=["wolf", "truck"])
    model = gen.resolve_model(inputs, {})
    loaded = gen.load(model, "cpu")
    return gen, inputs, loaded, gen.run(inputs, model, "cpu", tmp_path_factory.mktemp("embedding"))


def test_typed_words_are_projected_with_the_builds_pca_axes(embedding):
    gen, inputs, loaded, artifact = embedding
    data = artifact.data
    mean, axes = np.array(data["pca"]["mean"]), np.array(data["pca"]["components"])
    plotted = loaded.sentence_embeddings(list(inputs.words)).float().numpy()
    assert np.allclose((plotted - mean) @ axes.T, data["points"], atol=2e-4)  # the stored basis is the plot's
    events = list(gen.steps(loaded, gen.LiveRequest(words=["wolf", "kiwi fruit"], plotted=list(inputs.words))))
    assert [e["type"] for e in events] == ["step", "step", "done"]
    for event in events[:-1]:
        vector = loaded.sentence_embeddings([event["word"]]).float().numpy()[0]
        assert np.allclose((vector - mean) @ axes.T, event["point"], atol=2e-4)
        assert event["similarity"].keys() == set(inputs.words)
        assert np.isclose(event["similarity"]["dog"], float(plotted[0] @ vector), atol=1e-4)
        assert event["nearest"][0][1] == max(event["similarity"].values())
    assert events[0]["nearest"][0][0] == "dog"  # a wolf is nearer a dog than fruit or a car
    assert data["live_recording"]["steps"] == list(gen.steps(loaded, gen.live_request(inputs)))[:-1]


# --- diffusion demo ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def diffusion(require_shapes, tmp_path_factory):
    gen = registry.get("diffusion_demo")
    inputs = DiffusionInputs(steps=4, strip_frames=2)
    model = gen.resolve_model(inputs, {})
    out = tmp_path_factory.mktemp("diffusion")
    return gen, inputs, gen.load(model, "cpu"), gen.run(inputs, model, "cpu", out)


@needs_shapes
def test_the_stream_is_the_recording_frame_for_frame(diffusion):
    gen, inputs, loaded, artifact = diffusion
    events = list(gen.steps(loaded, gen.LiveRequest(**artifact.data["live_request"])))
    steps, done = events[:-1], events[-1]
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    assert [{k: v for k, v in s.items() if k != "image"} for s in steps] == artifact.data["live_recording"]["steps"]
    for frame in artifact.data["frames"]:  # the strip's frames: x̂0 of the same steps, 32x32 each
        streamed = pixels(steps[frame["step"] - 1]["image"])[::4, ::4]
        recorded = pixels(artifact.path(frame["role"]))[::8, ::8]
        assert np.array_equal(streamed, recorded)
    assert np.array_equal(pixels(done["image"]), pixels(artifact.path("image")))
    assert done["seconds_per_step"] > 0 and done["model"] == "w2w/shapes-diffusion"
    assert "captions" in artifact.data["trained_on"]


@needs_shapes
def test_the_shapes_stream_runs_one_step_per_event_on_the_callers_thread_and_a_close_ends_it(diffusion):
    """The shapes pipeline's loop is a generator driven on the reader's own thread (no worker: two
    threads doing torch work halve this CPU's speed, diffusion_live.denoise). So it computes a step
    only when asked for the next event, and closing the stream ends the loop where it stands. (Stable
    Diffusion's worker thread and its early stop: test_sd_live.py.)"""
    gen, _, loaded, _ = diffusion
    calls: list[threading.Thread] = []  # one UNet call per step (both guidance halves in one batch)
    hook = loaded.pipe.unet.register_forward_pre_hook(lambda module, args: calls.append(threading.current_thread()))
    before = set(threading.enumerate())
    try:
        stream = gen.steps(loaded, gen.LiveRequest(prompt="a blue square left of a red circle", steps=20))
        assert next(stream)["step"] == 1
        assert calls == [threading.current_thread()]  # step 1 only, on this thread: nothing runs ahead
        assert set(threading.enumerate()) == before
        stream.close()  # the slide went away
        assert list(stream) == [] and len(calls) == 1
        assert "step" not in vars(loaded.pipe.scheduler)  # the capture's wrap of scheduler.step is undone
    finally:
        hook.remove()


@pytest.mark.parametrize("scale", [1, 4, 8])
def test_a_streamed_picture_has_the_pixels_of_pils_nearest_upscale(scale):
    """The previews' PNG is written directly (shared/png.upscaled_png, 4x faster than PIL's encoder); a
    browser decodes the same pixels PIL's resize would have drawn: a shapes-like picture, noise,
    and the extremes."""
    rng = np.random.default_rng(scale)
    shapes = np.zeros((32, 32, 3), np.uint8)
    shapes[8:20, 8:20], shapes[20:30, 2:12] = (200, 30, 30), (30, 30, 200)
    for picture in (shapes, rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), np.full((5, 7, 3), 255, np.uint8)):
        expected = Image.fromarray(picture).resize((picture.shape[1] * scale, picture.shape[0] * scale), Image.NEAREST)
        assert np.array_equal(pixels(png_data_url(picture, scale)), np.asarray(expected))
