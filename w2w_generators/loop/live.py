"""The loop's live half: one request through plan -> render -> describe -> refine, streamed.

`w2w present`'s model process loads the three models once (`load`) and runs a request on its own
thread, one event at a time: the plan with its tokens, every denoising step's x̂0 (a 32 px picture
upscaled x4, about 1 kB as PNG), the description with its tokens, the verdict and what the next
round changes; then `done` with the summary. A request is checked as `w2w generate loop` checks it
(the planner's refusal: empty, over 200 characters, no words).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import TextInput, generator, live_text

Request = live_text(200, "the request")
PREVIEW_UPSCALE = 4


class LoopLiveRequest(BaseModel):
    """What a slide may ask of the loop (docs/live-protocol.md); every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("request")
    request: Request
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0

    @field_validator("request")
    @classmethod
    def _plannable(cls, value: str) -> str:
        refused = generator("planner").generate_check(value)
        if refused:
            raise ValueError(refused[0])
        return value


def png_url(pixels, scale: int = PREVIEW_UPSCALE) -> str:
    from PIL import Image

    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def events(pipeline, request: LoopLiveRequest) -> Iterator[dict]:
    """The pipeline's events, made JSON-ready (each x̂0 as a PNG data URL), then `done`."""
    stream = pipeline.stream(request.request, seed=request.seed)
    while True:
        try:
            event = next(stream)
        except StopIteration as finished:
            record = finished.value
            break
        if "frame" in event:
            event = {**{k: v for k, v in event.items() if k != "frame"}, "image": png_url(event.pop("frame"))}
        yield event
    yield {
        "type": "done",
        "request": record["request"],
        "guess": record["guess"],
        "agreed": record["agreed"],
        "rounds_used": record["rounds_used"],
        "final_plan": record["final_plan"],
        "seconds": {
            k: round(sum(r["seconds"][k] for r in record["rounds"]), 3) for k in ("plan", "render", "describe")
        },
    }
