"""The diffusion demo's Stable Diffusion path, streamed, on a tiny RANDOM-weight SD pipeline
(tiny_sd.py) loaded through the demo's own resolution (`models.local_dirs`) and loader.

A diffusers pipeline call cannot yield from inside itself, so `diffusion_live.denoise` runs it on
a worker thread and hands each step over from `callback_on_step_end`. Here: one event per step,
pictures only at the steps Stable Diffusion gets previews, the final image at the pipeline's size;
and a stream the reader closes after its first step stops the call at the next step and leaves no
thread behind. (The shapes model's stream starts no thread: test_live_steps.py.)
"""

from __future__ import annotations

import base64
import io
import threading
import types

import numpy as np
import pytest
from PIL import Image
from tiny_sd import TINY_SD_ID, image_side

from w2w.plugins import registry
from w2w_generators.diffusion_demo import live as diffusion_live
from w2w_generators.diffusion_demo.generator import DiffusionInputs

pytestmark = pytest.mark.model

PROMPT = "a red circle above a blue square"
GIVE_UP_S = 120  # bounds a broken stop (the worker would wait for ever), not a timing


def pixels(data_url: str) -> np.ndarray:
    assert data_url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB"))


@pytest.fixture(scope="module")
def sd(tiny_sd_dir):
    """(generator, loaded pipeline). On one torch thread: the tiny model gains nothing from two, and on
    the shared 2-core machine two threads wait at every barrier for a descheduled peer (a 20-step
    stream measured 0.25 s on one thread, 1.3-2.3 s on two next to a busy process)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    gen = registry.get("diffusion_demo")
    model = gen.resolve_model(DiffusionInputs(model=TINY_SD_ID), {TINY_SD_ID: str(tiny_sd_dir)})
    # The Stable Diffusion branch, not the shapes stand-in: a local SD directory, not embedded.
    assert (model.id, model.source, model.embedded) == (TINY_SD_ID, "local-dir", False)
    loaded = gen.load(model, "cpu")
    assert not loaded.shapes and type(loaded.pipe).__name__ == "StableDiffusionPipeline"
    yield gen, loaded
    torch.set_num_threads(threads)


@pytest.fixture()
def unet_calls(sd):
    """The thread of every UNet call (one per denoising step: both guidance halves are one batch)."""
    calls: list[threading.Thread] = []
    handle = sd[1].pipe.unet.register_forward_pre_hook(lambda module, args: calls.append(threading.current_thread()))
    yield calls
    handle.remove()


def test_the_stream_has_one_event_per_step_sd_previews_and_the_final_image(sd, unet_calls):
    gen, loaded = sd
    before = set(threading.enumerate())
    events = list(gen.steps(loaded, gen.LiveRequest(prompt=PROMPT, steps=20)))
    *steps, done = events

    assert [(e["type"], e["step"], e["steps"]) for e in steps] == [("step", k, 20) for k in range(1, 21)]
    timesteps = [e["timestep"] for e in steps]
    assert timesteps == sorted(timesteps, reverse=True) and len(set(timesteps)) == 20
    alpha_bars = [e["alpha_bar"] for e in steps]
    assert all(0 < a < 1 for a in alpha_bars) and alpha_bars == sorted(alpha_bars)  # less noise each step
    # Each SD preview is a VAE decode: every (20 // 10)-th step has one, at a quarter of the size.
    assert [e["step"] for e in steps if "image" in e] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    for event in steps:
        if "image" in event:
            assert pixels(event["image"]).shape == (image_side() // 4, image_side() // 4, 3)
    assert done["type"] == "done" and done["prompt"] == PROMPT and done["steps"] == 20
    assert pixels(done["image"]).shape == (image_side(), image_side(), 3)  # the pipeline's own size, not upscaled
    assert done["model"] == TINY_SD_ID and done["guidance_scale"] == 7.5 and done["seconds_per_step"] > 0

    # The call ran on a worker thread, one UNet call per step, and the thread is gone.
    assert len(unet_calls) == 20 and len(set(unet_calls)) == 1 and unet_calls[0] is not threading.current_thread()
    assert not unet_calls[0].is_alive() and set(threading.enumerate()) == before


def test_a_stream_nobody_reads_stops_its_pipeline_call_and_its_worker_thread(sd, unet_calls, monkeypatch):
    """Closed after its first step, the 100-step call stops at its next step. Deterministic, no race:
    the UNet call of step 2 waits until the stream's stop event is set (the event `denoise` makes,
    recorded through its module's `threading`), so the worker cannot run ahead of the close."""
    gen, loaded = sd
    stops: list[threading.Event] = []
    problems: list[str] = []

    class RecordedEvent(threading.Event):
        def __init__(self) -> None:
            super().__init__()
            stops.append(self)

    spy = types.ModuleType("threading")
    spy.__dict__.update(vars(threading))
    spy.Event = RecordedEvent
    monkeypatch.setattr(diffusion_live, "threading", spy)

    def hold_step_two(module, args) -> None:
        if len(unet_calls) != 2:  # this hook runs after unet_calls' own: the second call is step 2
            return
        if len(stops) != 1:
            problems.append(f"denoise made {len(stops)} threading.Event()s, not one stop event")
        elif not stops[0].wait(GIVE_UP_S):
            problems.append(f"the stream's stop event was not set within {GIVE_UP_S} s of step 2")

    handle = loaded.pipe.unet.register_forward_pre_hook(hold_step_two)
    before = set(threading.enumerate())
    try:
        stream = gen.steps(loaded, gen.LiveRequest(prompt=PROMPT, steps=100))
        first = next(stream)
        assert (first["type"], first["step"], first["steps"]) == ("step", 1, 100)
        workers = set(threading.enumerate()) - before
        assert len(workers) == 1 and unet_calls[0] in workers  # the SD call runs on a thread of its own
        stream.close()  # the slide went away
        assert not problems, problems
        # Step 1, and step 2 that was in progress when the reader left: then the call stopped.
        assert len(unet_calls) <= 2, f"{len(unet_calls)} of 100 steps ran for a stream closed after step 1"
        assert not any(worker.is_alive() for worker in workers), "the worker thread outlived the closed stream"
        assert set(threading.enumerate()) == before
        assert "step" not in vars(loaded.pipe.scheduler)  # the capture's wrap of scheduler.step is undone
    finally:
        handle.remove()
        for stop in stops:  # a broken stop must not leave the worker running into the next test
            stop.set()
        for worker in set(threading.enumerate()) - before:
            worker.join(GIVE_UP_S)
