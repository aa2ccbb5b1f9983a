"""The motion model live: a caption in, every denoising step's x̂0 out as a film that plays, then
the finished clip with what the tracker saw.

`w2w present`'s model process loads the pipeline once (`MotionGenerator.load`) and runs `events`
on its main thread, one step at a time (motion/pipeline.py's `denoising`, the loop the plain call
runs). Each step sends the model's guess of the finished clip, x̂0, as one film: its 8 frames of
32×32 side by side, x2 (512×64 px), a PNG written by shared/png.py (a few kB); the page plays it
through the same one-frame window as the build's clips (CSS steps(8)), so a clip plays as it
arrives. `done` carries the finished clip exactly as the plain call makes it (the same noise from
the same seed: the clip `w2w generate motion` writes), as a film x4, what the tracker saw against
what the caption asked (its text alternative), and the seconds. A caption outside the motion world
is refused before anything runs.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import TextInput, live_text
from w2w_generators.motion.world import COLOURS, DIRECTIONS, FRAMES, SHAPES, parse_caption, seen_words

# The longest caption of the world is 66 characters ("a yellow triangle moving right and a purple
# triangle moving right"); 120 leaves room for spaces and capitals, which the grammar ignores. The
# form, the server and the room all read this one limit (the field's max_length, via `text_input`).
Caption = live_text(120, "the caption")
STEP_SCALE = 2  # 8 × 32 px -> 512 × 64 px: the build's strip films
CLIP_SCALE = 4  # -> 1024 × 128 px: the build's film.png
MAX_STEPS = 50  # ~10 s of the model on one thread; the talk's 20 are the budget's case
REFUSAL = (
    "not a motion-world caption: say 'a' colour ({}), a shape ({}) and 'moving' a direction ({}), "
    "one or two such joined by 'and', e.g. 'a red circle moving right'"
).format(", ".join(COLOURS), ", ".join(SHAPES), ", ".join(DIRECTIONS))


class MotionLiveRequest(BaseModel):
    """What a slide may ask of the motion model (docs/live-protocol.md); every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("prompt")  # the slide's caption, the room's suggestions
    prompt: Caption
    steps: Annotated[int, Field(ge=2, le=MAX_STEPS)] = 20
    guidance_scale: Annotated[float, Field(ge=0, le=20)] = 3.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0

    @field_validator("prompt")
    @classmethod
    def _in_the_world(cls, value: str) -> str:
        try:
            parse_caption(value)
        except ValueError:
            raise ValueError(REFUSAL) from None  # one line, without the typed text
        return value


def film_url(clip, scale: int) -> str:
    from w2w_generators.motion.media import film_rgb
    from w2w_generators.shared.png import upscaled_png

    return "data:image/png;base64," + base64.b64encode(upscaled_png(film_rgb(clip), scale)).decode()


def events(pipe, request: MotionLiveRequest) -> Iterator[dict]:
    """One `step` per denoising step (its x̂0 as a film in `image`), then `done`."""
    import torch

    from w2w_generators.motion.pipeline import to_frames

    started = time.perf_counter()
    generator = torch.Generator().manual_seed(request.seed)  # the plain call's noise (generator.py `_noise`)
    latents = None
    for state in pipe.denoising(request.prompt, request.steps, request.guidance_scale, generator):
        latents = state["latents"]
        yield {
            "type": "step",
            "step": state["i"] + 1,
            "steps": request.steps,
            "timestep": state["t"],
            "image": film_url(to_frames(state["x0"][0]), STEP_SCALE),
            "frames": FRAMES,
        }
    clip = to_frames(latents[0])  # as MotionDiffusionPipeline.__call__ makes it
    seconds = time.perf_counter() - started
    seen, matches = seen_words(clip, request.prompt)
    yield {
        "type": "done",
        "prompt": request.prompt,
        "steps": request.steps,
        "seed": request.seed,
        "guidance_scale": request.guidance_scale,
        "image": film_url(clip, CLIP_SCALE),
        "frames": FRAMES,
        "seen": seen,
        "matches": matches,
        "text": f"the tracker saw {seen}",  # what the room's phones show beside the picture
        "seconds": round(seconds, 3),
        "seconds_per_step": round(seconds / request.steps, 4),
    }
