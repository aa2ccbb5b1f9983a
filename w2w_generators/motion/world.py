"""The "motion world": captioned 8-frame clips of coloured shapes moving across a 32×32 picture.

The shapes world set in motion, for a small text-to-video diffusion model: a caption names one or
two shapes and where each goes, e.g. "a red circle moving right" or "a blue square moving up and a
yellow triangle moving left". Each frame is drawn as the shapes world draws its pictures; between
frames every shape moves the same step, so a model has to keep an object's identity from frame to
frame (what its temporal layers are for) and read the direction from the words.

What the caption does not say varies: where a shape starts, its size, how fast it goes (10 to 16
pixels over the clip), a little drift across its direction. `track` and `motion_holds` judge a
clip from its pixels alone.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from w2w_generators.shapes.world import BACKGROUND, COLOURS, SHAPES, SIZE, SUPERSAMPLE, colour_centroid, draw_shape

FRAMES = 8
DIRECTIONS: dict[str, tuple[int, int]] = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1)}
TRAVEL = (10.0, 16.0)  # pixels from the first frame to the last
MIN_TRAVEL = 6.0  # the checker's: a shape that moved less than this did not go anywhere

# Captions never seen in training (one-object and two-object; every direction appears).
HELD_OUT: tuple[str, ...] = (
    "a red circle moving right",
    "a blue square moving up",
    "a yellow triangle moving left",
    "a green circle moving down",
    "a purple square moving right and a yellow circle moving down",
    "a green triangle moving up and a red square moving left",
)


@dataclass(frozen=True)
class Mover:
    colour: str
    shape: str
    direction: str

    @property
    def phrase(self) -> str:
        return f"a {self.colour} {self.shape} moving {self.direction}"


@dataclass(frozen=True)
class Motion:
    movers: tuple[Mover, ...]  # one or two, of different colours

    @property
    def caption(self) -> str:
        return " and ".join(m.phrase for m in self.movers)


_PHRASE = r"an? ({c}) ({s}) moving ({d})".format(c="|".join(COLOURS), s="|".join(SHAPES), d="|".join(DIRECTIONS))
_CAPTION = re.compile(f"{_PHRASE}(?: and {_PHRASE})?")


def parse_caption(caption: str) -> Motion:
    """Inverse of `Motion.caption`; raises ValueError for text outside the motion world."""
    match = _CAPTION.fullmatch(" ".join(caption.lower().split()))
    if not match or (match.group(4) and match.group(4) == match.group(1)):
        raise ValueError(
            f"not a motion-world caption: {caption!r}; expected e.g. 'a red circle moving right' or two such "
            f"joined by 'and' in different colours (colours: {', '.join(COLOURS)}; shapes: {', '.join(SHAPES)}; "
            f"directions: {', '.join(DIRECTIONS)})"
        )
    words = [w for w in match.groups() if w]
    return Motion(tuple(Mover(*words[i : i + 3]) for i in range(0, len(words), 3)))


def all_motions() -> list[Motion]:
    """Every one-object caption and every two-object one (two colours, either order)."""
    movers = [Mover(c, s, d) for c, s, d in itertools.product(COLOURS, SHAPES, DIRECTIONS)]
    pairs = [(a, b) for a, b in itertools.permutations(movers, 2) if a.colour != b.colour]
    return [Motion((m,)) for m in movers] + [Motion(pair) for pair in pairs]


def training_motions() -> list[Motion]:
    held = set(HELD_OUT)
    return [m for m in all_motions() if m.caption not in held]


def paths(motion: Motion, rng: random.Random) -> list[tuple[np.ndarray, float]]:
    """Per mover: its centre in every frame (FRAMES × 2, x then y) and its radius. Two movers start
    in different halves of the picture, so they do not sit on each other at the start."""
    out = []
    halves = rng.sample([0, 1], 2)
    for k, mover in enumerate(motion.movers):
        r = rng.uniform(3.5, 4.5)
        dx, dy = DIRECTIONS[mover.direction]
        travel = rng.uniform(*TRAVEL)
        drift = rng.uniform(-1.5, 1.5)
        along = np.linspace(-travel / 2, travel / 2, FRAMES)
        margin = r + 1 + travel / 2
        centre = [rng.uniform(margin, SIZE - margin), rng.uniform(margin, SIZE - margin)]
        if len(motion.movers) == 2:  # across the motion, the two start in different halves
            axis = 1 if dx else 0
            lo, hi = (r + 1, SIZE / 2 - 1) if halves[k] == 0 else (SIZE / 2 + 1, SIZE - r - 1)
            centre[axis] = rng.uniform(lo, hi)
        across = np.linspace(-drift / 2, drift / 2, FRAMES)
        xy = np.stack([centre[0] + dx * along + dy * across, centre[1] + dy * along + dx * across], axis=1)
        out.append((xy, r))
    return out


def render(motion: Motion, rng: random.Random) -> np.ndarray:
    """The clip: FRAMES × SIZE × SIZE × 3 uint8."""
    tracks = paths(motion, rng)
    frames = []
    for t in range(FRAMES):
        big = Image.new("RGB", (SIZE * SUPERSAMPLE, SIZE * SUPERSAMPLE), BACKGROUND)
        draw = ImageDraw.Draw(big)
        for mover, (xy, r) in zip(motion.movers, tracks, strict=True):
            draw_shape(draw, mover.shape, float(xy[t, 0]), float(xy[t, 1]), r, COLOURS[mover.colour])
        frames.append(np.asarray(big.resize((SIZE, SIZE), Image.Resampling.LANCZOS)))
    return np.stack(frames)


def track(clip: np.ndarray, colour: str) -> list[tuple[float, float] | None]:
    """The centre of `colour` in each frame (None where it is not seen)."""
    return [colour_centroid(frame, colour) for frame in clip]


def heard_direction(clip: np.ndarray, colour: str) -> str | None:
    """Where the shape of `colour` went: the direction of its travel from the first frame to the
    last where it is seen (in at least 6 of the 8 frames), if it travelled at least MIN_TRAVEL
    pixels, along one axis more than twice as far as across it, and most frame-to-frame steps
    went that way; None otherwise."""
    seen = [(t, c) for t, c in enumerate(track(clip, colour)) if c is not None]
    if len(seen) < FRAMES - 2:
        return None
    points = np.array([c for _, c in seen])
    moved = points[-1] - points[0]
    axis = int(np.argmax(np.abs(moved)))
    if abs(moved[axis]) < MIN_TRAVEL or abs(moved[axis]) < 2 * abs(moved[1 - axis]):
        return None
    sign = int(np.sign(moved[axis]))
    steps = np.diff(points[:, axis])
    if (np.sign(steps) == sign).sum() < 0.6 * len(steps):
        return None
    return next(name for name, d in DIRECTIONS.items() if d[axis] == sign)


def motion_holds(clip: np.ndarray, motion: Motion) -> bool:
    """Does every mover of the caption go where the caption says?"""
    return all(heard_direction(clip, m.colour) == m.direction for m in motion.movers)


def seen_words(clip, caption: str) -> tuple[str, bool]:
    """What the tracker saw each of the caption's shapes do, in words, and whether it all matches."""
    motion = parse_caption(caption)
    said, right = [], True
    for mover in motion.movers:
        went = heard_direction(clip, mover.colour)
        right &= went == mover.direction
        said.append(
            f"the {mover.colour} shape moving {went}" if went else f"the {mover.colour} shape going nowhere clear"
        )
    return " and ".join(said), right
