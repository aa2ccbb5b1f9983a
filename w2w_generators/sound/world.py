"""The "sound world": captioned one-second clips of one or two notes, synthesised in code.

It is what a small text-to-audio diffusion model can learn on a laptop CPU, as the shapes world is
for pictures: every caption names how many notes sound, whether they are low or high, whether each
one holds, rises or falls, and the instrument's voice, e.g. "two high rising notes on a flute".
A model that draws the right spectrogram must have read every word; `checker.py` hears a clip and
says which caption it matches, so the model's output can be scored without a person listening.

Each clip varies what the caption does not say (the exact pitch within its band, how far a glide
goes, when the notes start and stop, loudness), so the words are the only thing to learn.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000  # Hz: the floor asked for; up to 8 kHz holds every partial that counts here
SECONDS = 1.0
SAMPLES = int(SAMPLE_RATE * SECONDS)

# Pitch bands two octaves apart, so "low" and "high" never meet even at the end of a glide
# (a glide spans at most a fifth, ×1.5): low notes stay within 150-390 Hz, high ones 600-1560 Hz.
PITCH_BANDS: dict[str, tuple[float, float]] = {"low": (170.0, 260.0), "high": (680.0, 1040.0)}
DIRECTIONS = ("steady", "rising", "falling")
COUNTS = ("one", "two")
# Timbres as the amplitudes of the first harmonics (the fundamental first): a flute is nearly pure,
# an organ has even and odd partials, a buzzer the odd ones of a square wave.
TIMBRES: dict[str, tuple[float, ...]] = {
    "flute": (1.0, 0.12, 0.04),
    "organ": (1.0, 0.5, 0.33, 0.25, 0.2),
    "buzzer": (1.0, 0.0, 0.33, 0.0, 0.2, 0.0, 0.14),
}
GLIDE = (1.25, 1.5)  # a rising note ends this many times its starting pitch (a falling one starts there)

# Captions never heard in training: the model's held-out score uses these (one of each count,
# pitch, direction and timbre, so each word appears in the held-out set in some combination).
HELD_OUT: tuple[str, ...] = (
    "one low rising note on a flute",
    "two high falling notes on an organ",
    "one high steady note on a buzzer",
    "two low steady notes on a flute",
    "one low falling note on a buzzer",
    "two high rising notes on a buzzer",
)


@dataclass(frozen=True)
class Sound:
    count: str
    pitch: str
    direction: str
    timbre: str

    @property
    def caption(self) -> str:
        noun = "note" if self.count == "one" else "notes"
        article = "an" if self.timbre[0] in "aeiou" else "a"
        return f"{self.count} {self.pitch} {self.direction} {noun} on {article} {self.timbre}"


_CAPTION = re.compile(
    r"({n}) ({p}) ({d}) notes? on an? ({t})".format(
        n="|".join(COUNTS), p="|".join(PITCH_BANDS), d="|".join(DIRECTIONS), t="|".join(TIMBRES)
    )
)


def parse_caption(caption: str) -> Sound:
    """Inverse of `Sound.caption`; raises ValueError for text outside the sound world."""
    match = _CAPTION.fullmatch(" ".join(caption.lower().split()))
    if not match:
        raise ValueError(
            f"not a sound-world caption: {caption!r}; expected e.g. 'two high rising notes on a flute' "
            f"(counts: {', '.join(COUNTS)}; pitches: {', '.join(PITCH_BANDS)}; "
            f"directions: {', '.join(DIRECTIONS)}; voices: {', '.join(TIMBRES)})"
        )
    return Sound(*match.groups())


def all_sounds() -> list[Sound]:
    return [Sound(*words) for words in itertools.product(COUNTS, PITCH_BANDS, DIRECTIONS, TIMBRES)]


def training_sounds() -> list[Sound]:
    held = set(HELD_OUT)
    return [s for s in all_sounds() if s.caption not in held]


@dataclass(frozen=True)
class Note:
    start_s: float
    end_s: float
    start_hz: float
    end_hz: float


def notes(sound: Sound, rng: random.Random) -> list[Note]:
    """Where each note sits in time and pitch: the clip's ground truth, drawn at random within what
    the caption says. Two notes leave a gap of at least 120 ms between them (the checker's cue)."""
    low, high = PITCH_BANDS[sound.pitch]
    if sound.count == "one":
        spans = [(rng.uniform(0.05, 0.15), rng.uniform(0.8, 0.95))]
    else:
        first_end = rng.uniform(0.38, 0.44)
        spans = [(rng.uniform(0.04, 0.1), first_end), (first_end + rng.uniform(0.12, 0.18), rng.uniform(0.88, 0.96))]
    out = []
    for start, end in spans:
        base = rng.uniform(low, high)
        glide = rng.uniform(*GLIDE)
        hz = {"steady": (base, base), "rising": (base, base * glide), "falling": (base * glide, base)}[sound.direction]
        out.append(Note(start, end, *hz))
    return out


def synthesise(sound: Sound, rng: random.Random) -> np.ndarray:
    """The clip: float32 samples in [-1, 1], SAMPLE_RATE per second, SECONDS long."""
    wave = np.zeros(SAMPLES, np.float64)
    partials = TIMBRES[sound.timbre]
    loudness = rng.uniform(0.5, 0.9)
    for note in notes(sound, rng):
        a, b = int(note.start_s * SAMPLE_RATE), int(note.end_s * SAMPLE_RATE)
        t = np.arange(b - a) / SAMPLE_RATE
        # The pitch glides geometrically (as the ear hears a steady rise); phase is its integral.
        ratio = note.end_hz / note.start_hz
        duration = (b - a) / SAMPLE_RATE
        hz = note.start_hz * ratio ** (t / duration)
        phase = 2 * np.pi * np.cumsum(hz) / SAMPLE_RATE
        tone = sum(amp * np.sin(k * phase) for k, amp in enumerate(partials, start=1) if amp)
        wave[a:b] += tone * _envelope(b - a)
    peak = np.abs(wave).max()
    return (wave / peak * loudness).astype(np.float32) if peak > 0 else wave.astype(np.float32)


def _envelope(n: int) -> np.ndarray:
    """A 10 ms attack and a 30 ms release: no click at either end of a note."""
    attack, release = int(0.01 * SAMPLE_RATE), int(0.03 * SAMPLE_RATE)
    env = np.ones(n)
    env[:attack] = np.linspace(0, 1, attack)
    env[-release:] = np.linspace(1, 0, release)
    return env
