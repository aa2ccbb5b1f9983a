"""The diffusion demo's sweep: the same caption at several seeds, guidance scales and step counts.

A reader of the deck or the handout, offline, changes the seed, the guidance or the number of
steps and sees the picture that setting makes (templates/explore-diffusion.js). Each cell is one
plain call of the demo's own pipeline loop (`pipe.denoising`, what `pipe(...)` runs) with its own
seeded generator, so a cell is exactly what a direct pipeline call with that seed, guidance and
step count draws (tests/test_diffusion_demo.py compares the pixels). Guidance 0 is the
unconditional half of classifier-free guidance alone: the picture without the text.

Stored compactly for the pages to inline: the shapes model draws 32x32 pixels, so each cell's
final image is a 32x32 RGB PNG data URL (lossless: the very pixels; the browser enlarges it with
`image-rendering: pixelated`, as demo.png is enlarged by nearest neighbour), and its x̂0 frames at
the strip's steps are one PNG-8 strip (32 px high, one 32-px frame per captured step; the slide
shows each frame as a crop of it). Only the shapes stand-in sweeps: Stable Diffusion's 512-px
pictures at 48 cells would not fit the page budget (issue 24: the site grows by at most 4 MB).
"""

from __future__ import annotations

import base64
import io
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from w2w.plugin_api import InputError
from w2w_generators.diffusion.capture import StripCapture, capture_steps, decoder


class SweepSettings(BaseModel):
    """A sweep's settings in talk.yaml, for the demo (here) and the shapes evaluation (shapes_eval/generator.py):
    every seed x guidance x step count. Guidance 0 is the picture without the text. Empty seeds (the
    default: each cell is a pipeline call; the talk's talk.yaml asks for them): no sweep."""

    grid_seeds: Annotated[list[Annotated[int, Field(ge=0, lt=2**63)]], Field(max_length=8)] = []
    grid_guidance: Annotated[list[Annotated[float, Field(ge=0, le=30)]], Field(max_length=8)] = [0.0, 1.0, 4.0, 8.0]
    grid_steps: Annotated[list[Annotated[int, Field(ge=2, le=200)]], Field(min_length=1, max_length=6)] = [10, 25, 50]

    @field_validator("grid_seeds", "grid_guidance", "grid_steps")
    @classmethod
    def _distinct(cls, values: list, info) -> list:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise InputError(
                f"{info.field_name} lists {', '.join(map(str, repeated))} more than once",
                f"list each value once, e.g. {info.field_name}: {sorted(set(values))}",
            )
        return values

    def settings(self):
        """Every (seed, guidance, steps) of the sweep, in the order the cells are made."""
        return [(seed, g, steps) for steps in self.grid_steps for g in self.grid_guidance for seed in self.grid_seeds]

    def grid(self, cells: dict, **extra) -> dict:
        """The sweep as the artifact's data keeps it: the controls' values and the cells."""
        return {
            **extra,
            "seeds": list(self.grid_seeds),
            "guidance": list(self.grid_guidance),
            "steps": list(self.grid_steps),
            "cells": cells,
        }


def png_url(pixels, colors: int = 0) -> str:
    """uint8 HxWx3 -> a PNG data URL at its own size (optimised: the pages inline every cell);
    `colors` > 0 makes it PNG-8 with that many palette colours."""
    from PIL import Image

    image = Image.fromarray(pixels)
    if colors:
        image = image.quantize(colors=colors)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def webp_url(pixels, quality: int) -> str:
    """uint8 HxWx3 -> a lossy WebP data URL at its own size."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="WEBP", quality=quality, method=6)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def cell_key(seed: int, guidance: float, steps: int) -> str:
    """The cell's name in the grid: "seed|guidance|steps", guidance as the page prints it."""
    return f"{seed}|{guidance:g}|{steps}"


# The strip's x̂0 frames side by side, as PNG-8: measured on the real talk's 48 cells, 8 frames each as
# separate RGB PNGs made 1.1 MB of page data; one palette strip per cell is a fraction of that: 327
# KiB a page at 64 colours, 257 KiB at 32 (which made room for the shapes evaluation's sweep).
STRIP_COLORS = 32


def sweep(loaded, prompt: str, scheduler: str, settings, frames: int) -> dict:
    """Every cell of `settings` ((seed, guidance, steps)): {"image": url, "strip": url, "frame_steps": [k]}."""
    import numpy as np
    import torch

    from w2w_generators.diffusion.schedulers import scheduler_class

    pipe = loaded.pipe
    pipe.scheduler = scheduler_class(scheduler).from_config(pipe.scheduler.config)
    decode = decoder(pipe, True)
    cells = {}
    for seed, guidance, steps in settings:
        capture = StripCapture(pipe.scheduler, capture_steps(steps, frames))
        torch.manual_seed(seed)
        generator = torch.Generator("cpu").manual_seed(seed)
        with capture:
            for state in pipe.denoising(prompt, None, steps, guidance, generator):
                capture.callback(pipe, state["i"], state["t"], {"latents": state["latents"]})
        image = pipe.output(state["latents"]).images[0]
        shot = capture.decode(decode)
        cells[cell_key(seed, guidance, steps)] = {
            "image": png_url(np.asarray(image.convert("RGB"))),
            "strip": png_url(np.concatenate([f["clean"] for f in shot], axis=1), STRIP_COLORS),
            "frame_steps": [f["step"] for f in shot],
        }
    return cells
