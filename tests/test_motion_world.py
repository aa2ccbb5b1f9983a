"""The motion world (issue 33's ground truth for clips) and the tracker that scores a text-to-video
model: from the pixels alone it must tell a left move from a right one, up from down, and follow
two shapes at once; a clip played backwards goes the other way, and a still one goes nowhere."""

from __future__ import annotations

import random

import numpy as np
import pytest

from w2w_generators.motion.world import (
    DIRECTIONS,
    FRAMES,
    HELD_OUT,
    Motion,
    Mover,
    all_motions,
    heard_direction,
    motion_holds,
    parse_caption,
    render,
    training_motions,
)
from w2w_generators.shapes.world import SIZE

pytestmark = pytest.mark.quick

OPPOSITE = {"right": "left", "left": "right", "up": "down", "down": "up"}


def test_captions_parse_back_and_the_held_out_ones_are_never_trained_on():
    motions = all_motions()
    assert all(parse_caption(m.caption) == m for m in motions)
    assert set(HELD_OUT) <= {m.caption for m in motions}
    assert not set(HELD_OUT) & {m.caption for m in training_motions()}
    assert {m.movers[0].direction for m in motions} == set(DIRECTIONS)
    for wrong in ("a red circle moving sideways", "a red circle moving up and a red square moving left"):
        with pytest.raises(ValueError, match="not a motion-world caption"):
            parse_caption(wrong)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_tracker_follows_every_direction_one_and_two_shapes(seed):
    rng = random.Random(seed)
    singles = [m for m in all_motions() if len(m.movers) == 1]
    pairs = rng.sample([m for m in all_motions() if len(m.movers) == 2], 60)
    for motion in singles + pairs + [parse_caption(c) for c in HELD_OUT]:
        clip = render(motion, rng)
        assert clip.shape == (FRAMES, SIZE, SIZE, 3) and clip.dtype == np.uint8
        assert motion_holds(clip, motion), motion.caption
        backwards = Motion(tuple(Mover(m.colour, m.shape, OPPOSITE[m.direction]) for m in motion.movers))
        assert motion_holds(clip[::-1], backwards) and not motion_holds(clip[::-1], motion), motion.caption


def test_a_still_clip_and_a_missing_shape_go_nowhere():
    rng = random.Random(3)
    motion = parse_caption("a red circle moving right")
    clip = render(motion, rng)
    still = np.repeat(clip[:1], FRAMES, axis=0)
    assert heard_direction(still, "red") is None and not motion_holds(still, motion)
    assert heard_direction(clip, "blue") is None  # no blue shape in the clip
    shuffled = clip[[0, 5, 2, 7, 1, 4, 3, 6]]  # the same frames out of order: no steady way
    assert heard_direction(shuffled, "red") is None
