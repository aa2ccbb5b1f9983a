"""A loop's run as files and JSON: each round's picture and its x̂0 strip as small PNGs, the rest as data.

The pictures are the model's own 32 px, written exactly (about 0.3-1 kB each); the page scales
them up with `image-rendering: pixelated`. A round's strip is one sprite, every step's x̂0 side by
side (20 steps: 640x32 px), which the explorer shows a frame at a time as a crop of it: one file
per round instead of twenty. The strip is for looking at, so it is stored with a 64-colour palette:
the early steps' x̂0 is mostly noise, which PNG cannot compress (21 strips of the talk's requests:
722 kB as RGB, 207 kB with 64 colours, 162 kB with 32, where the noise began to band). The
picture the describer read is the exact one, and the explorer shows it at the last step.
"""

from __future__ import annotations

import io
from pathlib import Path


def png_bytes(pixels) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def sprite(frames, colours: int = 64) -> bytes:
    import numpy as np
    from PIL import Image

    strip = Image.fromarray(np.concatenate(list(frames), axis=1))
    buffer = io.BytesIO()
    strip.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_round(round_: dict, out_dir: Path, stem: str) -> dict:
    """Write the round's picture (`stem`.png) and strip (`stem`-strip.png); return the round as
    JSON-ready data, the arrays replaced by the file names."""
    picture, strip = f"{stem}.png", f"{stem}-strip.png"
    (out_dir / picture).write_bytes(png_bytes(round_["image"]))
    (out_dir / strip).write_bytes(sprite(round_["strip"]))
    data = {k: v for k, v in round_.items() if k not in ("image", "strip")}
    return {**data, "picture": picture, "strip": strip, "frames": len(round_["strip"])}


def without_arrays(record: dict) -> dict:
    """A loop record with its pictures left out (the --json line, the agreement record)."""
    rounds = [{k: v for k, v in r.items() if k not in ("image", "strip")} for r in record["rounds"]]
    return {**record, "rounds": rounds}
