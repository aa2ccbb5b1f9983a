"""Hearing a clip: which sound-world caption does it match?

The checker reads the waveform as a listener would, from its spectrum alone (it never sees the
caption's ground truth): frames 64 ms long every 10 ms; a frame sounds when its energy is within
20 dB of the clip's loudest and it is a tone, not a hiss (spectral flatness between 100 Hz and
4 kHz under 0.1: the world's clips measure at most 0.005, and 0.006 after the spectrogram's round
trip; white noise 0.57); runs of sounding frames are the notes (a gap of 50 ms or less is one
note's dip, not a new note); each frame's pitch is the strongest partial between 120 and 1,800 Hz
(every voice in the world has its fundamental strongest), refined between FFT bins; a note rises or
falls when a straight line through its pitch (in semitones) moves more than 1.5 semitones from end
to end (the world's glides move 3.9 to 7 semitones); the clip is low or high by its median pitch
against 450 Hz (the bands meet no closer than 390 and 600 Hz).

`judge(clip, caption)` says whether the clip matches in count, pitch and direction: the caption's
content that a spectrogram must get right. The voice is heard too (`Heard.timbre`, from the second
and third partials' strength against the first) and reported apart: it is the caption's least
audible word once a model's spectrogram has been turned back into sound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from w2w_generators.sound.world import SAMPLE_RATE, TIMBRES, Sound, parse_caption

FRAME = 1024  # 64 ms at 16 kHz: 15.6 Hz per FFT bin, fine enough to place a 170 Hz fundamental
HOP = 160  # 10 ms
SOUNDING_DB = 20.0
MERGE_GAP_S = 0.05
SHORTEST_NOTE_S = 0.08
GLIDE_SEMITONES = 1.5
LOW_HIGH_HZ = 450.0
PITCH_RANGE_HZ = (120.0, 1800.0)
TONAL_FLATNESS = 0.1
FLATNESS_RANGE_HZ = (100.0, 4000.0)


@dataclass(frozen=True)
class Heard:
    """What the checker heard: notes as (start s, end s, start Hz, end Hz) and the words for them."""

    notes: tuple[tuple[float, float, float, float], ...]
    count: str | None  # "one", "two", or None for none or more than two
    pitch: str | None
    directions: tuple[str, ...]
    timbre: str | None

    def matches(self, sound: Sound) -> bool:
        """Count, pitch and every note's direction as the caption says (the voice apart)."""
        return (
            self.count == sound.count
            and self.pitch == sound.pitch
            and bool(self.directions)
            and all(d == sound.direction for d in self.directions)
        )


def heard_words(heard: Heard) -> str:
    """What the checker heard, as a caption would say it (or that it heard no notes)."""
    if not heard.notes:
        return "no note (noise, or silence)"
    if heard.count is None:
        return f"{len(heard.notes)} notes"
    directions = sorted(set(heard.directions))
    noun = "note" if heard.count == "one" else "notes"
    voice = f" like a {heard.timbre}" if heard.timbre else ""
    return f"{heard.count} {heard.pitch} {' and '.join(directions)} {noun}{voice}"


def judge(clip: np.ndarray, caption: str) -> bool:
    return hear(clip).matches(parse_caption(caption))


def hear(clip: np.ndarray) -> Heard:
    power, freqs = _spectrogram(np.asarray(clip, np.float64))
    energy = power.sum(axis=1)
    if energy.max() <= 0:
        return Heard((), None, None, (), None)
    loud = 10 * np.log10(energy / energy.max() + 1e-12) > -SOUNDING_DB
    sounding = loud & (_flatness(power, freqs) < TONAL_FLATNESS)
    band = (freqs >= PITCH_RANGE_HZ[0]) & (freqs <= PITCH_RANGE_HZ[1])
    pitch = np.array([_peak_hz(frame, freqs, band) for frame in power])
    notes = []
    for a, b in _runs(sounding):
        # The line is fitted to the note's middle (a tenth cut at each end, where the window
        # straddles the attack or release) and drawn over the whole note.
        t = np.arange(b - a)
        cut = max(1, (b - a) // 10)
        middle = slice(cut, b - a - cut) if b - a > 2 * cut + 1 else slice(0, b - a)
        semitones = 12 * np.log2(pitch[a:b])
        slope, intercept = np.polyfit(t[middle], semitones[middle], 1) if b - a > 1 else (0.0, semitones[0])
        start_hz, end_hz = 2 ** (intercept / 12), 2 ** ((intercept + slope * (b - a - 1)) / 12)
        notes.append((a * HOP / SAMPLE_RATE, b * HOP / SAMPLE_RATE, float(start_hz), float(end_hz)))
    count = {1: "one", 2: "two"}.get(len(notes))
    voiced = np.concatenate([pitch[a:b] for a, b in _runs(sounding)]) if notes else np.array([])
    level = None if not len(voiced) else ("low" if np.median(voiced) < LOW_HIGH_HZ else "high")
    directions = tuple(_direction(start, end) for _, _, start, end in notes)
    return Heard(tuple(notes), count, level, directions, _timbre(power[sounding], freqs, pitch[sounding]))


def _spectrogram(clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power per (frame, bin) with a Hann window, and each bin's frequency."""
    padded = np.pad(clip, (FRAME // 2, FRAME // 2))
    count = 1 + (len(padded) - FRAME) // HOP
    index = np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]
    frames = padded[index] * np.hanning(FRAME)[None, :]
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2, np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)


def _flatness(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Per frame: the geometric over the arithmetic mean of the power (1 for white noise, near 0 for a tone)."""
    band = power[:, (freqs >= FLATNESS_RANGE_HZ[0]) & (freqs <= FLATNESS_RANGE_HZ[1])] + 1e-20
    return np.exp(np.log(band).mean(axis=1)) / band.mean(axis=1)


def _peak_hz(frame: np.ndarray, freqs: np.ndarray, band: np.ndarray) -> float:
    """The strongest bin in the band, refined by a parabola through it and its neighbours (log power)."""
    k = int(np.flatnonzero(band)[0] + np.argmax(frame[band]))
    left, mid, right = np.log(frame[k - 1 : k + 2] + 1e-20)
    bend = left - 2 * mid + right
    offset = 0.5 * (left - right) / bend if bend < 0 else 0.0
    return float(freqs[k] + offset * (freqs[1] - freqs[0]))


def _runs(sounding: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) frame of each note: sounding runs, short gaps closed, short blips dropped."""
    runs, start = [], None
    for i, on in enumerate(np.append(sounding, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append([start, i])
            start = None
    merged: list[list[int]] = []
    for run in runs:
        if merged and (run[0] - merged[-1][1]) * HOP / SAMPLE_RATE <= MERGE_GAP_S:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [(a, b) for a, b in merged if (b - a) * HOP / SAMPLE_RATE >= SHORTEST_NOTE_S]


def _direction(start_hz: float, end_hz: float) -> str:
    moved = 12 * np.log2(end_hz / start_hz)
    return "rising" if moved > GLIDE_SEMITONES else "falling" if moved < -GLIDE_SEMITONES else "steady"


def _timbre(power: np.ndarray, freqs: np.ndarray, pitch: np.ndarray) -> str | None:
    """The voice whose second and third partials (amplitude against the first) are nearest."""
    if not len(pitch):
        return None
    step = freqs[1] - freqs[0]

    def amplitude(frame, hz):  # the strongest bin within half a semitone of hz
        k = int(round(hz / step))
        width = max(1, int(hz * 0.03 / step))
        return float(np.sqrt(frame[max(0, k - width) : k + width + 1].max())) if k + width < len(frame) else 0.0

    heard = []
    for frame, f0 in zip(power, pitch, strict=True):
        first = amplitude(frame, f0)
        if first > 0:
            heard.append((amplitude(frame, 2 * f0) / first, amplitude(frame, 3 * f0) / first))
    if not heard:
        return None
    h2, h3 = np.median(np.array(heard), axis=0)
    partials = {name: (amps + (0.0, 0.0))[1:3] for name, amps in TIMBRES.items()}
    return min(partials, key=lambda name: (partials[name][0] - h2) ** 2 + (partials[name][1] - h3) ** 2)
