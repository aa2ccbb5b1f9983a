"""The sound model's outputs as files a page can use: 16 kHz WAVs and spectrogram pictures.

A WAV is 16-bit mono PCM written with the standard library (`wave`): 32 kB a second at 16 kHz,
which every browser plays from `file://` without a server. A spectrogram picture is the model's own
32×32 sample, high frequencies at the top as a reader expects, each value a colour of one ramp
(quiet is dark, loud is bright), scaled up by whole pixels (the page draws it `pixelated`).
numpy and Pillow only: no torch here.
"""

from __future__ import annotations

import io
import wave

import numpy as np

from w2w_generators.sound.world import SAMPLE_RATE

# Dark ink -> the deck's accent violet -> a warm yellow: the loudest bands read at a glance.
RAMP = np.array([[0x1B, 0x1B, 0x2F], [0x7C, 0x3A, 0xED], [0xF9, 0xA8, 0x25], [0xFE, 0xF3, 0xC7]], np.float64)
# Between two clips of the strip's WAV: long enough that each step is heard as its own sound.
GAP_S = 0.25


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """float samples in [-1, 1] -> a 16-bit mono WAV file's bytes."""
    pcm = (np.clip(np.asarray(samples, np.float64), -1, 1) * 32767).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """A WAV file's bytes -> (float32 samples in [-1, 1], sample rate): for tests and the checker."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError("expected 16-bit mono PCM")
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        return (pcm / 32767).astype(np.float32), wav.getframerate()


def concatenated(clips: list[np.ndarray], gap_s: float = GAP_S) -> tuple[np.ndarray, list[float]]:
    """The clips one after another with silence between: (samples, each clip's start in seconds)."""
    gap = np.zeros(int(gap_s * SAMPLE_RATE), np.float32)
    parts, starts, at = [], [], 0
    for k, clip in enumerate(clips):
        if k:
            parts.append(gap)
            at += len(gap)
        starts.append(round(at / SAMPLE_RATE, 3))
        parts.append(np.asarray(clip, np.float32))
        at += len(clip)
    return np.concatenate(parts), starts


def spectrogram_rgb(spectrogram: np.ndarray) -> np.ndarray:
    """(bands, frames) in [-1, 1], low bands first -> uint8 (bands, frames, 3), high bands on top."""
    level = (np.clip(np.asarray(spectrogram, np.float64), -1, 1) + 1) / 2 * (len(RAMP) - 1)
    low = np.floor(level).clip(0, len(RAMP) - 2).astype(int)
    mix = (level - low)[..., None]
    rgb = RAMP[low] * (1 - mix) + RAMP[low + 1] * mix
    return rgb[::-1].round().astype(np.uint8)


def spectrogram_png(spectrogram: np.ndarray, scale: int) -> bytes:
    """The spectrogram as a PNG, each value a `scale`×`scale` block."""
    from PIL import Image

    rgb = np.repeat(np.repeat(spectrogram_rgb(spectrogram), scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
