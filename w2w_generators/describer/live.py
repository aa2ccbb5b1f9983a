"""The describer's live half: what a slide may send, the picture it reads, and `describe`.

`describe(loaded, image)` is the plain function other code calls (the lead's `w2w generate` hook,
the loop render -> describe -> compare): a picture in, the caption's tokens out, each with its
probability and the top alternatives at that step. `stream` is the same as live events.

A request names the picture in one of two ways: `image`, a PNG data URL (what the diffusion demo
streams: 32 px pictures upscaled x4 by nearest neighbour, 128 px, about 1-5 kB), or `caption`
alone, which the world renders at `seed`. Both are bounded: the data URL by its length and the
PNG by its size, read from its header before a pixel is decoded.
"""

from __future__ import annotations

import base64
import binascii
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import TextInput, live_text
from w2w_generators.shapes import world

PNG_PREFIX = "data:image/png;base64,"
MAX_IMAGE_CHARS = 65_536  # a 128 px picture of the world is 1-5 kB as PNG; 512 px of noise ~40 kB
MAX_SIDE = 512
IMAGE_RULE = (
    f"a square PNG picture whose side is 32 px or a multiple of it up to {MAX_SIDE} px (the diffusion "
    f"demo's 128 px frames are), as a data URL ({PNG_PREFIX}...) in a live request"
)


class BadImage(ValueError):
    """The picture cannot be read: one message that says what is wrong and what is accepted."""


def pixels_of(image: Any):
    """A picture as the describer reads it: uint8 (32, 32, 3). Accepts a PNG data URL, PNG bytes, a
    PIL image or a uint8 HxWx3 array; a larger square picture (side a multiple of 32) is averaged
    down, which gives back the exact 32 px picture of a nearest-neighbour upscale."""
    import numpy as np
    from PIL import Image

    if isinstance(image, str):
        if not image.startswith(PNG_PREFIX) or len(image) > MAX_IMAGE_CHARS:
            raise BadImage(
                f"the picture is not a PNG data URL of at most {MAX_IMAGE_CHARS:,} characters; send {IMAGE_RULE}"
            )
        try:
            image = base64.b64decode(image[len(PNG_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadImage(f"the picture's base64 does not decode ({exc}); send {IMAGE_RULE}") from None
    if isinstance(image, bytes):
        try:
            image = Image.open(io.BytesIO(image), formats=["PNG"])
        except OSError:
            raise BadImage(f"the picture is not a PNG; send {IMAGE_RULE}") from None
    if isinstance(image, Image.Image):
        _check_side(image.size)  # from the header, before decoding
        try:
            image = np.asarray(image.convert("RGB"))
        except OSError as exc:
            raise BadImage(f"the PNG is damaged ({exc}); send {IMAGE_RULE}") from None
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise BadImage(
            f"the picture is an array of shape {array.shape} ({array.dtype}); send uint8 HxWx3 or {IMAGE_RULE}"
        )
    _check_side(array.shape[1::-1])
    k = array.shape[0] // world.SIZE
    return array.reshape(world.SIZE, k, world.SIZE, k, 3).mean(axis=(1, 3)).round().astype(np.uint8)


def _check_side(size: tuple[int, int]) -> None:
    w, h = size
    if w != h or w % world.SIZE or not world.SIZE <= w <= MAX_SIDE:
        raise BadImage(f"the picture is {w}x{h} px; send {IMAGE_RULE}")


Caption = live_text(120, "the caption")


class DescriberLiveRequest(BaseModel):
    """What a slide may ask of the describer (docs/live-protocol.md); every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("caption")
    # The caption the picture was drawn for; without `image`, the world renders it at `seed`.
    caption: Caption = world.HELD_OUT[0]
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    image: Annotated[str, Field(max_length=MAX_IMAGE_CHARS)] | None = None

    @field_validator("caption")
    @classmethod
    def _caption(cls, value: str) -> str:
        return world.parse_caption(value).caption  # its ValueError names the world's words

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None:
            pixels_of(value)  # BadImage is a ValueError: pydantic reports its one message
        return value

    def pixels(self):
        if self.image is not None:
            return pixels_of(self.image)
        import numpy as np

        return np.asarray(world.render(world.parse_caption(self.caption), random.Random(self.seed)))


@dataclass
class LoadedDescriber:
    model: Any  # model.Describer, in eval mode
    model_id: str
    device: str


def describe(loaded: LoadedDescriber, image: Any) -> list[dict]:
    """The caption of one picture, token by token: [{"token", "p", "top": [{"token", "p"}...]}...],
    ending with "<eos>" (greedy decoding stops there or at MAX_TOKENS). Raises BadImage."""
    from w2w_generators.describer.model import greedy, to_input

    return greedy(loaded.model, to_input(pixels_of(image)[None]))[0]


def stream(loaded: LoadedDescriber, request: DescriberLiveRequest) -> Iterator[dict]:
    """One step event per token (the first also carries the picture read, 128 px), then done."""
    from w2w_generators.describer.model import caption_of

    pixels = request.pixels()
    tokens = describe(loaded, pixels)
    for i, token in enumerate(tokens):
        event = {"type": "step", "i": i, **token}
        if i == 0:
            event["image"] = png_url(pixels)
        yield event
    said = caption_of(tokens)
    yield {"type": "done", "caption": said, "asked": request.caption, "exact": said == request.caption}


def png_url(pixels, scale: int = 4) -> str:
    """uint8 32x32x3 -> a PNG data URL, upscaled by nearest neighbour (what pixels_of reads back)."""
    from PIL import Image

    big = Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    return PNG_PREFIX + base64.b64encode(buffer.getvalue()).decode("ascii")
