"""The sound model live (issue 33): a caption through `w2w present`, every step's x̂0 streamed as a
picture and a sound, against the plain pipeline call in this process, in one run.

    python benchmarks/bench_sound_live.py [--repeats 3]   (after a build: it serves the built site)

The server is `w2w present --no-build --only sound` on the repository's talk (its model process
loads the shipped sound model and MiniLM). The plain call is `SoundDiffusionPipeline.__call__`
(prompt -> 20 DDIM steps -> Griffin-Lim's clip) in this process, on the same captions and seed; the
in-process stream is sound_demo/live.py's `events` without the server (what each step adds:
the spectrogram PNG, the warm-started sound, the WAV data URL; at the end the checker). Live,
in-process stream and plain runs alternate and never overlap (one process computes at a time);
medians of `--repeats`. Live times are the client's: request sent -> the first step read, and ->
the `done` event. Both processes use torch's default threads, or `--threads N` (OMP_NUM_THREADS,
set before torch loads here and inherited by the server's model process): on the 2-core machine
with a training job on both cores, two torch threads each ran the model 3-10x slower than one.

Targets (issue 33; not asserted, a shared machine is noisy): a sound live <= 3 s on 2 cores at the
talk's 20 steps; live ms/step <= 1.1x the plain call's.
"""

from __future__ import annotations

import base64
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _machine import describe  # noqa: E402
from bench_present import live_model_bench_args, live_run, start_server  # noqa: E402
from live_server import free_port  # noqa: E402

CAPTIONS = ("two high rising notes on a flute", "one low falling note on a buzzer", "two low steady notes on an organ")
STEPS = 20


def per_step_costs(pipe, repeats: int = 50) -> dict[str, float]:
    """Milliseconds (best of `repeats`) of what a streamed step adds, on one x̂0 of the talk's caption."""
    import torch

    from w2w_generators.sound.spectrogram import StepSounds, to_clip
    from w2w_generators.sound_demo.live import STEP_RATE, STEP_SCALE, png_url, wav_url

    states = list(pipe.denoising(CAPTIONS[0], STEPS, 3.0, torch.Generator().manual_seed(0)))
    x0 = states[STEPS // 2]["x0"][0, 0].clamp(-1, 1).numpy()
    sounds = StepSounds(rate=STEP_RATE)  # what a live step makes
    clip = sounds(x0)

    def best(work) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        return min(times) * 1000

    return {
        "spectrogram PNG": best(lambda: png_url(x0, STEP_SCALE)),
        "sound (1 warm Griffin-Lim iteration)": best(lambda: sounds(x0)),
        "WAV data URL": best(lambda: wav_url(clip, STEP_RATE)),
        "a full inversion (32 iterations), for comparison": best(lambda: to_clip(x0)),
    }


def main() -> None:
    args = live_model_bench_args(__doc__)

    import torch

    from w2w_generators.sound.media import wav_bytes
    from w2w_generators.sound_demo.generator import SoundGenerator, SoundInputs
    from w2w_generators.sound_demo.live import SoundLiveRequest, events

    print(f"machine: {describe()}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    generator = SoundGenerator()
    pipe = generator.load(generator.resolve_model(SoundInputs(), {}), "cpu")
    with tempfile.TemporaryDirectory(prefix="w2w-bench-sound-") as tmp:
        port = free_port()
        proc, token, ready, loaded = start_server(REPO, port, Path(tmp) / "server.log", "--only", "sound")
        try:
            print(f"w2w present --only sound: start -> ready {ready:.1f} s ({', '.join(loaded)})")
            first, live, stream, plain, same, sizes = [], [], [], [], [], []
            pipe(CAPTIONS[0], STEPS, 3.0, torch.Generator().manual_seed(0))  # warm-up, as the model process's
            for _ in range(args.repeats):
                for caption in CAPTIONS:
                    event_sizes: list[int] = []
                    body = {"prompt": caption, "steps": STEPS, "seed": 0}
                    seconds_first, seconds, done, _steps = live_run(port, token, "sound", body, event_sizes)
                    first.append(seconds_first)
                    live.append(seconds)
                    sizes.append(sum(event_sizes))
                    start = time.perf_counter()
                    for _event in events(pipe, SoundLiveRequest(prompt=caption, steps=STEPS)):
                        pass
                    stream.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    out = pipe(caption, STEPS, 3.0, torch.Generator().manual_seed(0))
                    plain.append(time.perf_counter() - start)
                    clip = base64.b64decode(done["audio"].split(",", 1)[1])
                    same.append(clip == wav_bytes(out.audios[0]))
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(120)
    m = statistics.median
    print(f"{len(CAPTIONS)} captions x {args.repeats}, {STEPS} steps")
    print(f"the live clip is the plain call's, byte for byte: {sum(same)} of {len(same)}")
    print(f"streamed per run: {m(sizes) / 1e3:.0f} kB of event data (20 steps of a PNG and a 1 s WAV, then the clip)")
    print("| | median | max | ms/step (median) | target |\n|---|---|---|---|---|")
    print(f"| first step on the page, live | {m(first) * 1000:.0f} ms | {max(first) * 1000:.0f} ms | | |")
    for name, times, target in (
        ("whole sound, live", live, "<= 3 s"),
        ("the stream in this process", stream, ""),
        ("plain pipeline call", plain, ""),
    ):
        print(f"| {name} | {m(times):.2f} s | {max(times):.2f} s | {m(times) / STEPS * 1000:.0f} | {target} |")
    print(f"live / plain: {m(live) / m(plain):.2f}x (target <= 1.1x)")
    print(f"in-process stream / plain: {m(stream) / m(plain):.2f}x")
    print("what a streamed step adds (best of 50, ms):")
    for what, ms in per_step_costs(pipe).items():
        print(f"  {what}: {ms:.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
