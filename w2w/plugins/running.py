"""What every generator's run shares: the torch device it really gets, installed library versions,
provenance in one shape, a stopwatch, the live stream's labelled `done` event, bounded live text,
and speeds timed apart from the recorded run (`best_of`). Generators import this through
`w2w.plugin_api`; the engine reads `device_class` and `library_versions` for cache keys.
"""

from __future__ import annotations

import logging
import platform
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

if TYPE_CHECKING:
    from w2w.plugins.protocol import Generator, ModelRef


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    return {name: installed_version(name) for name in names}


@cache  # one process runs one set of installed libraries (`w2w serve` plans every rebuild again)
def installed_version(name: str) -> str:
    """The installed distribution's version, or "not installed". Read from its METADATA's
    `Version:` line: `metadata.version` parses the whole file as e-mail headers, and the plan asks
    for 19 versions (7 libraries) per build, 30 ms of a 0.45-s warm rebuild."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return "not installed"
    match = re.search(r"^Version:[ \t]*(\S+)", dist.read_text("METADATA") or "", re.MULTILINE)
    return match.group(1) if match else dist.version


def device_class(requested: str) -> str:
    """cuda, mps or cpu, decided without importing torch (CLI start-up and cache keys stay fast).

    'auto' means CUDA when an NVIDIA device node exists and torch is not a CPU-only build, then
    Apple's MPS on arm64 macOS, else the CPU. Generators confirm with torch when they run.
    """
    if requested != "auto":
        return requested
    torch_version = installed_version("torch")
    if torch_version == "not installed":
        return "cpu"
    if Path("/dev/nvidia0").exists() and "+cpu" not in torch_version:
        return "cuda"
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "mps"
    return "cpu"


def torch_device(device: str) -> str:
    """The device torch can really use, falling back to the CPU (recorded in provenance)."""
    import torch

    if device == "cuda" and torch.cuda.is_available():
        return "cuda"
    if device == "mps" and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_label(device: str) -> str:
    """Human name for captions: the GPU's name, or the CPU's core count."""
    if device == "cuda":
        import torch

        return f"CUDA ({torch.cuda.get_device_name(0)})"
    if device == "mps":
        return "Apple MPS"
    import os

    return f"CPU ({os.cpu_count()} cores)"


def live_text(max_length: int, what: str) -> Any:
    """The type of a live request's free text: at most `max_length` characters, stripped, and
    "`what` is empty" when nothing is left (the slide shows the message)."""
    from pydantic import AfterValidator, Field

    def stripped(value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(f"{what} is empty")
        return value

    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(stripped)]


def labelled(events: Iterable[dict], model_id: str, device: str, **extra) -> Iterator[dict]:
    """A generator's live stream, its `done` event naming the model and device (the slide's LIVE
    badge prints them) and any `extra` fields."""
    try:
        for event in events:
            if event["type"] == "done":
                event.update(model=model_id, device=device_label(device), **extra)
            yield event
    finally:  # closed early (the client left): close the inner stream now, not when it is collected
        close = getattr(events, "close", None)
        if close is not None:
            close()


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def base_provenance(model: ModelRef, device: str, seconds: float, libraries: tuple[str, ...], **extra) -> dict:
    return {
        "model": model.id,
        "revision": model.revision,
        "source": model.source,
        "embedded": model.embedded,
        "full_model": model.full_model_id or model.id,
        "device": device_label(device),
        "device_class": device,
        "seconds": round(seconds, 3),
        "libraries": library_versions(libraries),
        **extra,
    }


# A progress line's record carries this attribute (true): the CLI puts it in its spinner only.
PROGRESS = "w2w_progress"
# Often enough that a 20-s tree moves visibly, rarely enough that a log without a spinner (`w2w
# serve`) gets a line every 2 s at most.
PROGRESS_EVERY_S = 2.0


class RunContext:
    """The skeleton every run shares: the torch device it really gets, a stopwatch over the whole
    run, provenance in one shape, and progress said on the console.

        run = RunContext(self, model, device)
        ... load, generate, write files ...
        for cell in run.counted(cells, "sweep", "cells"): ...
        provenance = run.provenance(dtype="float32", timing=timing)
    """

    def __init__(self, generator: Generator, model: ModelRef, device: str):
        self.generator, self.model = generator, model
        self.device = torch_device(device)
        self.started = time.perf_counter()
        self.log = logging.getLogger(f"w2w.generators.{generator.name}")
        self._said = self.clock()  # when `progress` last spoke (or the run began)

    clock = staticmethod(time.monotonic)  # progress's clock (a test gives its own)

    def progress(self, what: str, done: int, total: int, unit: str = "") -> None:
        """Say how far a long part of the run has got, e.g. "token_trace: tree 120/280 branches":
        at INFO on the generator's `w2w.generators.<name>` logger, which the CLI shows in its
        spinner (w2w/cli/output.py), and at most once every PROGRESS_EVERY_S seconds, so a loop
        may call it after every item. A part done within PROGRESS_EVERY_S of the last word says
        nothing; the generator's own summary line follows it."""
        now = self.clock()
        if now - self._said < PROGRESS_EVERY_S or done >= total:
            return
        self._said = now
        counted = f"{done}/{total} {unit}".rstrip()
        self.log.info("%s: %s %s", self.generator.name, what, counted, extra={PROGRESS: True})

    def counted(self, items: Sequence, what: str, unit: str = "") -> Iterator:
        """`items`, one after another, saying `progress` as each is done."""
        for done, item in enumerate(items):
            if done:
                self.progress(what, done, len(items), unit)
            yield item

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def provenance(self, **extra) -> dict:
        return base_provenance(self.model, self.device, self.seconds, self.generator.libraries, **extra)


SPEED_REPEATS = 5  # timed repeats after one warm-up; the published speed is the best of them


def speed_repeats(default: int = SPEED_REPEATS) -> int:
    """N of best-of-N: W2W_SPEED_REPEATS overrides it (the test suite sets 1 to save time; the
    provenance records the N that was used, so a published figure always says how it was taken)."""
    import os

    value = os.environ.get("W2W_SPEED_REPEATS", "")
    return max(1, int(value)) if value.isdigit() else default


def speed_warmup(default: int = 1) -> int:
    """Untimed calls before the repeats: W2W_SPEED_WARMUP overrides it. The test suite sets 0: each
    generator times the call it has just made for its artifact, so its model is warm already, and a
    warm-up there is one more whole model call per generator run (the shapes demo's 50-step call:
    2.3 s of a 23 s `w2w build-talk`, profiled on the shared 2-core machine). The provenance
    records the count, and the slides say "after N warm-up" only when N is not 0."""
    import os

    value = os.environ.get("W2W_SPEED_WARMUP", "")
    return int(value) if value.isdigit() else default


def best_of(
    work: Callable[[], Any],
    repeats: int | None = None,
    warmup: int | None = None,
    device: str = "cpu",
    sync: Callable[[], None] | None = None,
) -> dict:
    """Time `work` apart from the artifact's own run: `warmup` untimed calls, then the best of
    `repeats` timed ones. The best, not the mean: interference only ever adds time.

    On the CPU the repeats run on one torch thread and read that thread's CPU time, because wall
    time on a shared CPU is whatever the other work leaves, and a constant load defeats best-of-N.
    Measured on the 2-core build machine with two busy loops beside it (benchmarks/
    bench_load_proof.py): the shapes model's 50-step call went from 37 to 178 ms/step of wall time
    on 2 threads (4.8x; the threads also spin at each barrier waiting for a descheduled peer),
    but 50.0 -> 47.7 ms/step of one thread's CPU time; SmolLM2's 16 tokens 1.15 -> 1.06 s. So a
    build beside other work publishes the idle machine's one-core figure, and says "one core".
    Elsewhere (CUDA) it is wall time, with `sync` (torch.cuda.synchronize) before each read."""
    repeats = speed_repeats() if repeats is None else min(repeats, speed_repeats(repeats))
    warmup = speed_warmup() if warmup is None else warmup
    one_core = device == "cpu"
    with _one_thread(one_core):
        for _ in range(warmup):
            work()
        times, walls = [], []
        for _ in range(repeats):
            if sync:
                sync()
            start, start_cpu = time.perf_counter(), time.thread_time()
            work()
            if sync:
                sync()
            wall = time.perf_counter() - start
            walls.append(wall)
            times.append(time.thread_time() - start_cpu if one_core else wall)
    best = times.index(min(times))
    return {
        "method": f"best of {repeats} timed repeats after {warmup} warm-up"
        + (", one thread's CPU time (torch.set_num_threads(1))" if one_core else ", wall clock"),
        "clock": "one-thread CPU time" if one_core else "wall clock",
        "warmup": warmup,
        "repeats": repeats,
        "best_s": round(min(times), 4),
        "median_s": round(sorted(times)[len(times) // 2], 4),
        "wall_s_of_best": round(walls[best], 4),  # what the clock on the wall said meanwhile
    }


@contextmanager
def _one_thread(on: bool):
    """torch on one intra-op thread while timing (restored after): its kernels then run in the
    calling thread, so time.thread_time() holds all of the work."""
    if not on:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
