"""The diffusion demo as a stream: one event per denoising step with that step's x̂0, then the image.

`denoise` is the one implementation: the build's run consumes it (keeping the raw x_t / x̂0 tensors
of the strip's steps through the capture it passes in) and `w2w present` streams it. A diffusers
pipeline call cannot yield from inside itself, so it runs in a worker thread; its
`callback_on_step_end` turns each step's x̂0 into a small PNG and hands the event over a queue.
When the consumer stops early (the slide went away), the next callback stops the call.

Previews: the shapes model works in pixel space, so x̂0 of every step is its exact 32x32 picture,
upscaled x4 with nearest neighbour (128 px, about 1 kB). Stable Diffusion's x̂0 is a latent: each
preview is a VAE decode, so only every `steps // 10`-th step gets one (10 decodes instead of 50),
sent at a quarter of the resolution.
"""

from __future__ import annotations

import base64
import io
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from w2w.plugin_api import TextInput, live_text
from w2w_generators.shared.png import upscaled_png

PREVIEW_UPSCALE = 4  # shapes model: 32 px -> 128 px per streamed frame
SD_PREVIEWS = 10  # Stable Diffusion: VAE-decoded previews per run


Caption = live_text(200, "the caption")


class DiffusionLiveRequest(BaseModel):
    """What a slide may ask of the diffusion demo (contract: docs/live-protocol.md); every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("prompt")  # the deck's caption, the room's suggestions
    prompt: Caption
    steps: Annotated[int, Field(ge=2, le=100)] = 50
    guidance_scale: Annotated[float, Field(ge=1, le=30)] | None = None  # None: the model's own default
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    scheduler: Literal["ddim", "ddpm", "euler"] = "ddim"


@dataclass
class LoadedPipe:
    pipe: Any
    shapes: bool
    device: str
    model_id: str
    dtype: Any


class _Stopped(Exception):
    """Raised inside the pipeline call when nobody reads the stream any more."""


def png_data_url(pixels, upscale: int = 1) -> str:
    """uint8 HxWx3 -> data:image/png;base64 (nearest-neighbour upscale, or a downscale if < 0)."""
    if upscale < 0:
        from PIL import Image

        image = Image.fromarray(pixels)
        image = image.resize((image.width // -upscale, image.height // -upscale), Image.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
    else:
        data = upscaled_png(pixels, max(upscale, 1))
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def preview_steps(steps: int, shapes: bool) -> set[int]:
    """0-based steps that carry an x̂0 picture: all for the shapes model, ~10 for Stable Diffusion."""
    if shapes:
        return set(range(steps))
    every = max(1, steps // SD_PREVIEWS)
    return set(range(every - 1, steps, every)) | {steps - 1}


def denoise(
    loaded: LoadedPipe, request: DiffusionLiveRequest, guidance: float, capture, decode: Callable
) -> Iterator[dict]:
    """Run one pipeline call; yield {"type": "step"} per step and {"type": "done"} at the end.

    `capture` is a StripCapture over `loaded.pipe.scheduler` (the steps whose tensors the caller
    keeps); it receives the final PIL image and the call's seconds. `decode` turns latents into
    uint8 pictures.
    """
    import numpy as np
    import torch

    from w2w_generators.diffusion.schedulers import scheduler_class

    # 1. A fresh scheduler of the requested kind, watched by the capture.
    pipe = loaded.pipe
    pipe.scheduler = scheduler_class(request.scheduler).from_config(pipe.scheduler.config)
    capture.scheduler = pipe.scheduler
    pipe.set_progress_bar_config(disable=True)
    step_event = _step_events(loaded, request, capture, decode)

    # 2. The call, one event per step.
    torch.manual_seed(request.seed)
    generator = torch.Generator("cpu").manual_seed(request.seed)
    started = time.perf_counter()
    run = _stepwise if hasattr(pipe, "denoising") else _threaded
    image = yield from run(pipe, request, guidance, generator, capture, step_event)
    if image is None:  # the reader stopped early
        return
    if loaded.device == "cuda":
        torch.cuda.synchronize()

    # 3. The outcome: kept by the capture, and the last event.
    capture.image, capture.seconds = image, time.perf_counter() - started
    yield {
        "type": "done",
        "prompt": request.prompt,
        "steps": request.steps,
        "image": png_data_url(np.asarray(image.convert("RGB")), 8 if loaded.shapes else 1),
        "seconds": round(capture.seconds, 3),
        "seconds_per_step": round(capture.seconds / request.steps, 4),
    }


def _step_events(loaded: LoadedPipe, request: DiffusionLiveRequest, capture, decode: Callable) -> Callable:
    """(i, t) -> the step's event, with x̂0's picture on the steps that carry one."""
    with_picture = preview_steps(request.steps, loaded.shapes)
    upscale = PREVIEW_UPSCALE if loaded.shapes else -4

    def step_event(i: int, t) -> dict:
        last = capture.last
        event = {
            "type": "step",
            "step": i + 1,
            "steps": request.steps,
            "timestep": int(round(float(t))),
            "alpha_bar": round(float(last["alpha_bar"]), 6) if last else None,
        }
        if last is not None and i in with_picture:
            event["image"] = png_data_url(decode(last["x0"][:1])[0], upscale)
        return event

    return step_event


def _stepwise(pipe, request, guidance: float, generator, capture, step_event: Callable) -> Iterator[dict]:
    """The shapes pipeline's loop is a generator: it runs here, on the caller's thread, one step per
    event; returns the final image. Not on a thread of its own: torch's CPU thread pool (OpenMP) is
    kept per calling thread, and once a second thread in the process did torch work, both ran at
    about half speed on this 2-core CPU (shapes model, 50 steps: 66-72 vs 37 ms/step; `w2w
    present`'s live runs measured 74-86 vs 37-43 ms/step against the plain call)."""
    with capture:
        for state in pipe.denoising(request.prompt, None, request.steps, guidance, generator):
            capture.callback(pipe, state["i"], state["t"], {"latents": state["latents"]})
            yield step_event(state["i"], state["t"])
        return pipe.output(state["latents"]).images[0]


def _threaded(pipe, request, guidance: float, generator, capture, step_event: Callable) -> Iterator[dict]:
    """A diffusers pipeline (Stable Diffusion) reports steps only through `callback_on_step_end`,
    so the call runs on a worker thread and its events come back through a queue; returns the
    final image (None when the reader stopped early). On a GPU the extra thread costs nothing."""
    events: queue.Queue = queue.Queue()
    stop = threading.Event()

    def on_step(pipe_, i: int, t, kwargs: dict) -> dict:
        returned = capture.callback(pipe_, i, t, kwargs)
        if stop.is_set():
            raise _Stopped
        events.put(step_event(i, t))
        return returned

    def work() -> None:
        try:
            with capture:
                image = pipe(
                    request.prompt,
                    num_inference_steps=request.steps,
                    guidance_scale=guidance,
                    generator=generator,
                    callback_on_step_end=on_step,
                    callback_on_step_end_tensor_inputs=["latents"],
                ).images[0]
            events.put(("image", image))
        except _Stopped:
            events.put(("stopped",))
        except BaseException as exc:  # handed to the reading thread, which raises it there
            events.put(("error", exc))

    worker = threading.Thread(target=work, name="w2w-diffusion", daemon=True)
    worker.start()
    try:
        while True:
            item = events.get()
            if isinstance(item, dict):
                yield item
            elif item[0] == "error":
                raise item[1]
            elif item[0] == "stopped":
                return None
            else:
                return item[1]
    finally:
        stop.set()  # a consumer that stopped reading ends the call at its next step
        worker.join()
