"""The motion model's clips as files a page or a terminal can use. numpy and Pillow only.

- `film_png`: the eight frames side by side in one PNG, each scaled up by whole pixels. The page
  plays it by sliding it through a one-frame window with a CSS animation (steps(8)), so a clip
  plays from `file://`, in the handout and in `w2w export-html` with no script and no video codec,
  stops with a pause box, and prints (the PDF) as the whole filmstrip: every frame, not one.
  A clip's film at x4 is 2-4 kB; an animated WebP of the same frames is larger (measured below).
- `animation_bytes`: an animated GIF or WebP for `w2w generate motion … -o clip.gif|.webp`.
"""

from __future__ import annotations

import io

import numpy as np

FPS = 6  # 8 frames in 1.33 s: slow enough to follow a 32-pixel shape's 10-16 pixels of travel
FORMATS = {".gif": "GIF", ".webp": "WEBP"}


def _scaled(frame: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def film_rgb(clip: np.ndarray) -> np.ndarray:
    """(F, H, W, 3) -> (H, F·W, 3): the frames left to right."""
    return np.concatenate(list(clip), axis=1)


def film_png(clip: np.ndarray, scale: int) -> bytes:
    """(F, H, W, 3) uint8 -> one PNG, the frames left to right, each `scale`× larger."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(_scaled(film_rgb(clip), scale)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def animation_bytes(clip: np.ndarray, suffix: str, scale: int = 4, fps: int = FPS) -> bytes:
    """The clip as an endlessly looping animation; `suffix` is ".gif" or ".webp" (lossless)."""
    from PIL import Image

    images = [Image.fromarray(_scaled(frame, scale)) for frame in clip]
    buffer = io.BytesIO()
    options = {"lossless": True} if FORMATS[suffix] == "WEBP" else {"optimize": False}
    images[0].save(
        buffer,
        format=FORMATS[suffix],
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
        **options,
    )
    return buffer.getvalue()


def read_animation(data: bytes) -> np.ndarray:
    """An animation's frames as (F, H, W, 3) uint8: for tests and `generate`'s own check."""
    from PIL import Image, ImageSequence

    with Image.open(io.BytesIO(data)) as image:
        return np.stack([np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)])
