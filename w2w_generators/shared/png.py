"""Small pictures as PNG bytes, written directly: the live streams' previews (the shapes model's
x̂0, the sound model's spectrograms) and the build's pictures that must read back exactly.

numpy and zlib only: importing this module stays light.
"""

from __future__ import annotations

import struct
import zlib


def upscaled_png(pixels, scale: int) -> bytes:
    """uint8 HxWx3 -> the PNG of it scaled x`scale` by nearest neighbour, written directly.

    The shapes model's stream sends one 128 px preview per step (32 px x4), on the model's own
    thread between two steps. Each output row repeats its source row `scale` times, so those rows
    are written with PNG's "Up" filter (all zeros) and deflated fast: 0.07-0.29 ms a preview against
    0.64-1.20 ms for PIL's resize and PNG encoder (its adaptive filter tries five per row, at zlib
    level 6), same pixels, 0.4-5 kB either way (benchmarks/bench_present.py, BENCHMARKS.md)."""
    import numpy as np

    height, width, _ = pixels.shape
    row = np.repeat(pixels, scale, axis=1).reshape(height, width * scale * 3)
    raw = np.zeros((height, scale, 1 + width * scale * 3), np.uint8)  # a filter byte, then the row
    raw[:, 0, 1:] = row  # the first copy: filter 0 (None), the row as it is
    raw[:, 1:, 0] = 2  # the other copies: filter 2 (Up), the difference to the row above: zeros
    header = struct.pack(">IIBBBBB", width * scale, height * scale, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 1))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
