"""The "shapes world": captioned pictures of two coloured shapes, generated in code.

It is the training data of the small text-conditioned diffusion model that the project ships
(see `shapes/training.py`). Every caption names two shapes and how they sit relative to each other,
e.g. "a red circle above a blue square", so the model must read the words to place the colours.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 32
SUPERSAMPLE = 4  # draw large, then downsample: anti-aliased edges
BACKGROUND = (24, 24, 32)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
    "purple": (170, 60, 220),
}
SHAPES = ("circle", "square", "triangle")
# Two relations, not four: the first-named shape goes up or left. A 2M-parameter model trained for
# an hour on a CPU learns this binding; with "below"/"right of" too it swapped the shapes (measured:
# 1-3 of 8 held-out arrangements right after 4000 steps).
RELATIONS = ("above", "left of")

# Captions never seen in training: the model's arrangement check uses these.
HELD_OUT: tuple[str, ...] = (
    "a red circle above a blue square",
    "a yellow triangle above a green circle",
    "a blue square above a yellow circle",
    "a purple circle above a red triangle",
    "a green square left of a purple triangle",
    "a yellow circle left of a blue triangle",
    "a red square left of a green triangle",
    "a blue circle left of a purple square",
)


@dataclass(frozen=True)
class Scene:
    colour_a: str
    shape_a: str
    relation: str
    colour_b: str
    shape_b: str

    @property
    def caption(self) -> str:
        return f"a {self.colour_a} {self.shape_a} {self.relation} a {self.colour_b} {self.shape_b}"


def parse_caption(caption: str) -> Scene:
    """Inverse of `Scene.caption`; raises ValueError for text outside the shapes world."""
    match = _CAPTION.fullmatch(" ".join(caption.lower().split()))
    if not match:
        raise ValueError(
            f"not a shapes-world caption: {caption!r}; expected e.g. 'a red circle above a blue square' "
            f"(colours: {', '.join(COLOURS)}; shapes: {', '.join(SHAPES)}; relations: {', '.join(RELATIONS)})"
        )
    return Scene(*match.groups())


_CAPTION = re.compile(
    r"an? ({c}) ({s}) ({r}) an? ({c}) ({s})".format(c="|".join(COLOURS), s="|".join(SHAPES), r="|".join(RELATIONS))
)


def all_scenes() -> list[Scene]:
    """Every caption the world can say (two different colours), held-out ones included."""
    objects = list(itertools.product(COLOURS, SHAPES))
    return [
        Scene(ca, sa, rel, cb, sb)
        for (ca, sa), (cb, sb) in itertools.permutations(objects, 2)
        if ca != cb
        for rel in RELATIONS
    ]


def training_scenes() -> list[Scene]:
    held = set(HELD_OUT)
    return [s for s in all_scenes() if s.caption not in held]


def trained_on() -> str:
    """What the shapes model learnt from, in words a slide can show (the live demo accepts any text)."""
    shapes = ", ".join(f"{s}s" for s in SHAPES[:-1]) + f" and {SHAPES[-1]}s"
    return (
        f"{len(training_scenes())} captions such as \u201c{training_scenes()[0].caption}\u201d: "
        f"{shapes} in {len(COLOURS)} colours, one {' or '.join(RELATIONS)} the other"
    )


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, fill) -> None:
    s = SUPERSAMPLE
    cx, cy, r = cx * s, cy * s, r * s
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        h = r * 0.88
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=fill)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r * 0.85), (cx + r, cy + r * 0.85)], fill=fill)


def layout(scene: Scene, rng: random.Random) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Centres of shape A and shape B (pixels) and the shapes' radius, consistent with the relation."""
    r = rng.uniform(4.5, 6.0)
    main = rng.uniform(7.0, 9.5)  # distance of each centre from the middle along the relation's axis
    cross = rng.uniform(-3.5, 3.5)  # shared offset across the axis
    wobble = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5))
    mid = SIZE / 2
    sign = -1 if scene.relation in ("above", "left of") else 1  # A goes up / left
    if scene.relation in ("above", "below"):
        a = (mid + cross + wobble[0], mid + sign * main)
        b = (mid + cross + wobble[1], mid - sign * main)
    else:
        a = (mid + sign * main, mid + cross + wobble[0])
        b = (mid - sign * main, mid + cross + wobble[1])
    return a, b, r


def render(scene: Scene, rng: random.Random) -> Image.Image:
    big = SIZE * SUPERSAMPLE
    image = Image.new("RGB", (big, big), BACKGROUND)
    draw = ImageDraw.Draw(image)
    a, b, r = layout(scene, rng)
    draw_shape(draw, scene.shape_a, *a, r, COLOURS[scene.colour_a])
    draw_shape(draw, scene.shape_b, *b, r, COLOURS[scene.colour_b])
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def colour_centroid(image: np.ndarray, colour: str, tolerance: float = 80.0) -> tuple[float, float] | None:
    """(x, y) centre of the pixels near `colour` in an HxWx3 uint8 image, or None if there are too few."""
    target = np.array(COLOURS[colour], dtype=np.float32)
    distance = np.linalg.norm(image.astype(np.float32) - target, axis=-1)
    ys, xs = np.nonzero(distance < tolerance)
    if len(xs) < max(4, image.shape[0] * image.shape[1] // 200):
        return None
    return float(xs.mean()), float(ys.mean())


def arrangement_holds(image: np.ndarray, scene: Scene) -> bool:
    """Do the two colour masses sit as the caption says? Image coordinates: y grows downwards."""
    a = colour_centroid(image, scene.colour_a)
    b = colour_centroid(image, scene.colour_b)
    if a is None or b is None:
        return False
    dx, dy = a[0] - b[0], a[1] - b[1]
    along, across = {
        "above": (-dy, dx),
        "below": (dy, dx),
        "left of": (-dx, dy),
        "right of": (dx, dy),
    }[scene.relation]
    scale = image.shape[0] / SIZE
    return along > 3.0 * scale and along > abs(across)
