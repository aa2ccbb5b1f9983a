"""Clips as pictures and back: the log-frequency spectrogram a text-to-audio model diffuses, and
its inverse (each band spread back over its FFT bins, then Griffin-Lim finds a phase).

A one-second clip at 16 kHz becomes 32 bands × 32 frames (hop 500 samples, a 2,048-sample
window), scaled to [-1, 1] as the shapes model's pixels are: a 32×32 one-channel picture, so the
shapes model's UNet and its denoising loop serve unchanged. Why this size (measured on the 2-core
machine, one torch thread, load average 6): the shapes UNet (1.97 M parameters) trains at 4.4 s a
batch of 32 at 32×32 and 28.9 s at 64×64 (its attention works on 4× the positions), and denoises
at 123 against 516 ms a step. Why bands spaced by pitch (log frequency, 110 Hz to 4.4 kHz, about
a whole tone each) rather than mel bands: mel bands are nearly linear below 700 Hz, where the low
notes are, and with 32 of them the checker heard 104 of 108 round-tripped clips right (steady low
notes drifting); spaced by pitch, 106; with the 2,048-sample window (7.8 Hz per FFT bin, so the
narrow low bands each cover bins), 107 of 108. The waveform itself would be 16,000 numbers whose
phase the model would have to get right too; the spectrogram drops the phase, and Griffin-Lim's
32 iterations put back one that the ear (and the checker) accepts.

torch is imported inside the functions: importing this module stays light.
"""

from __future__ import annotations

import functools

import numpy as np

from w2w_generators.sound.world import SAMPLE_RATE, SAMPLES

N_FFT = 2048
HOP = 500  # 32 frames a second
N_BANDS = 32
BAND_RANGE_HZ = (110.0, 4400.0)
FRAMES = SAMPLES // HOP  # 32: the last partial frame is dropped
FLOOR_DB = -80.0  # the quietest level kept: [-80, 0] dB maps onto [-1, 1]
GRIFFIN_LIM_ITERATIONS = 32


def _hz_to_pitch(hz):
    return np.log2(np.asarray(hz, np.float64))


def _pitch_to_hz(pitch):
    return 2.0 ** np.asarray(pitch, np.float64)


@functools.cache
def band_filters() -> np.ndarray:
    """(N_BANDS, N_FFT // 2 + 1) triangular filters evenly spaced in pitch over BAND_RANGE_HZ,
    each summing to one so a band's value is the mean power under it."""
    edges = _pitch_to_hz(np.linspace(*_hz_to_pitch(BAND_RANGE_HZ), N_BANDS + 2))
    freqs = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    filters = np.zeros((N_BANDS, len(freqs)))
    for m in range(N_BANDS):
        low, mid, high = edges[m : m + 3]
        rise = (freqs - low) / (mid - low)
        fall = (high - freqs) / (high - mid)
        filters[m] = np.clip(np.minimum(rise, fall), 0.0, None)
    filters /= filters.sum(axis=1, keepdims=True).clip(1e-10)
    return filters.astype(np.float32)


def to_spectrogram(clip: np.ndarray):
    """float32 samples -> (N_BANDS, FRAMES) torch tensor in [-1, 1] (low frequencies first)."""
    import torch

    wave = torch.as_tensor(np.asarray(clip, np.float32))
    window = torch.hann_window(N_FFT)
    power = torch.stft(wave, N_FFT, HOP, window=window, return_complex=True).abs() ** 2
    bands = torch.from_numpy(band_filters()) @ power[:, :FRAMES]
    db = 10 * torch.log10(bands.clamp_min(1e-10))
    db = (db - db.max()).clamp_min(FLOOR_DB)  # loudness is not in the caption: the loudest is 0 dB
    return db / (-FLOOR_DB / 2) + 1


def to_clip(spectrogram, iterations: int = GRIFFIN_LIM_ITERATIONS, seed: int = 0) -> np.ndarray:
    """(N_BANDS, FRAMES) in [-1, 1] -> float32 samples, peak 0.9 (its loudness is not known)."""
    import torch

    magnitude = _magnitude(spectrogram)
    generator = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=generator))
    return _peak(_griffin_lim(magnitude, angles, iterations)[0])


class StepSounds:
    """One sound per denoising step, each x̂0 heard as the sampler goes: Griffin-Lim warm-started
    from the phase the previous step's sound ended with, PREVIEW_ITERATIONS iterations a step.

    Consecutive x̂0 differ little, so the phase carries over and the iterations add up along the
    run (20 by the talk's last step). Why not a full inversion a step: 32 iterations cost 30 ms,
    against 45 ms for the step itself (one torch thread, the 2-core machine), where one warm
    iteration costs 1.3 ms (BENCHMARKS.md). What it costs in fidelity, measured with the checker
    against a full 32-iteration inversion of the same x̂0, over the 20 steps of three captions:
    heard alike at 17, 19 and 8 of 20 steps with one warm iteration, 18, 19 and 9 with two, and
    5, 18 and 0 with none (the random phase); the organ's low notes are the hard case for both."""

    def __init__(self, iterations: int = 1, seed: int = 0, rate: int = SAMPLE_RATE):
        self.iterations, self.seed, self.angles = iterations, seed, None
        # At SAMPLE_RATE / 2 the sound is inverted at that rate directly: the FFT bins below its
        # Nyquist (the lower half), a window and hop of half the samples (the same Hz per bin and
        # seconds per frame), so an iteration does half the STFT work and no resampling follows.
        self.fold = {SAMPLE_RATE: 1, SAMPLE_RATE // 2: 2}[rate]

    def __call__(self, spectrogram) -> np.ndarray:
        import torch

        fold = self.fold
        magnitude = _magnitude(spectrogram)[: N_FFT // (2 * fold) + 1]
        if self.angles is None:
            generator = torch.Generator().manual_seed(self.seed)
            self.angles = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=generator))
        wave, self.angles = _griffin_lim(magnitude, self.angles, self.iterations, fold)
        return _peak(wave)


def _magnitude(spectrogram):
    """(N_BANDS, FRAMES) in [-1, 1] -> the STFT magnitude (bins × frames + 1) it stands for."""
    import torch

    db = (torch.as_tensor(spectrogram).float().clamp(-1, 1) - 1) * (-FLOOR_DB / 2)
    bands = 10 ** (db / 10)
    # Each FFT bin's power from the bands it lies under (the filters' transpose, normalised per bin):
    # smooth within a band, which Griffin-Lim turns into a tone at the band's strongest bins.
    filters = torch.from_numpy(band_filters())
    spread = filters.T / filters.T.sum(dim=1, keepdim=True).clamp_min(1e-10)
    magnitude = (spread @ bands).clamp_min(0).sqrt()
    return torch.cat([magnitude, magnitude[:, -1:]], dim=1)  # the frame torch.stft adds at the end


def _griffin_lim(magnitude, angles, iterations: int, fold: int = 1):
    """A phase for `magnitude` (bins × frames) by alternating projections (Griffin & Lim, 1984),
    with the momentum of Perraudin et al. (2013), which converges in fewer iterations, starting
    from `angles`: (the waveform, the phase it ends with). `fold` 2: at half the sample rate."""
    import torch

    n_fft, hop, length = N_FFT // fold, HOP // fold, SAMPLES // fold
    window = torch.hann_window(n_fft)
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        wave = torch.istft(magnitude * angles, n_fft, hop, window=window, length=length)
        rebuilt = torch.stft(wave, n_fft, hop, window=window, return_complex=True)
        accelerated = rebuilt - 0.99 * previous
        previous = rebuilt
        angles = accelerated / accelerated.abs().clamp_min(1e-10)
    return torch.istft(magnitude * angles, n_fft, hop, window=window, length=length).numpy(), angles


def _peak(wave: np.ndarray) -> np.ndarray:
    """Scaled to a peak of 0.9 (float32)."""
    peak = float(np.abs(wave).max())
    return (wave / peak * 0.9).astype(np.float32) if peak > 0 else wave.astype(np.float32)
