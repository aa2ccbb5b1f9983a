"""One model job at a time, a short bounded queue, and the one thread that runs every model call.

A live request is admitted (or refused with 429) before its stream starts, waits for the slot in
arrival order, then its generator's `steps(...)` runs on the model thread while the event loop
keeps answering other requests. A client that goes away stops the generator after the step in
progress, and the slot passes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio

log = logging.getLogger("w2w.present")

WAITING_MAX = 2  # requests that may wait behind the running one; more are answered 429


class Busy(Exception):
    """Raised by `Jobs.admit` when the queue is full; its text is the 429 message."""


class ModelThread:
    """One daemon thread runs every model call: loading, warm-up and each live step.

    Why one thread and not a pool: torch keeps grad mode and inference mode per thread, so a
    generator that enters `torch.inference_mode()` and yields must resume on the thread that
    entered it; a pool hands each `next()` to whichever worker is free. Daemon, so that Ctrl-C in
    the middle of a model load (the first GGUF conversion takes tens of seconds) does not wait for it.
    """

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="w2w-model", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable, *args) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._calls.put((fn, args, future))
        return future

    async def call(self, fn: Callable, *args) -> Any:
        return await asyncio.wrap_future(self.submit(fn, *args))

    def stop(self) -> None:
        self._calls.put(None)

    def _loop(self) -> None:
        while (item := self._calls.get()) is not None:
            fn, args, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the awaiting coroutine, not lost in the thread
                future.set_exception(exc)


class Ticket:
    """One admitted request: holds its place in the queue until released (release is idempotent)."""

    def __init__(self, jobs: Jobs) -> None:
        self._jobs, self._released = jobs, False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._jobs.admitted -= 1


class Jobs:
    """Admission (running + waiting <= 1 + WAITING_MAX), the slot, and counters for /status."""

    def __init__(self, waiting_max: int = WAITING_MAX) -> None:
        self.waiting_max = waiting_max
        self.slot = asyncio.Lock()  # FIFO: waiters get it in arrival order
        self.admitted = 0
        self.started = self.finished = self.refused = 0
        self.stopped = 0  # runs ended early because their client went away
        self.running: str | None = None

    def admit(self) -> Ticket:
        if self.admitted >= 1 + self.waiting_max:
            self.refused += 1
            raise Busy(
                f"busy: one live run at a time and {self.waiting_max} waiting — try again in a few seconds "
                "(the slide plays its recording meanwhile)"
            )
        self.admitted += 1
        return Ticket(self)

    def counts(self) -> dict:
        waiting = self.admitted - (1 if self.running else 0)
        return {
            "started": self.started,
            "finished": self.finished,
            "refused": self.refused,
            "stopped": self.stopped,
            "running": self.running,
            "waiting": max(waiting, 0),
        }


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _drive(make_steps: Callable[[], Iterator[dict]], emit: Callable, stop: threading.Event) -> bool:
    """On the model thread: run the generator, hand each event to the loop, stop when asked.
    Returns True when it was stopped before its last event."""
    steps, stopped = None, False
    try:
        steps = iter(make_steps())
        for event in steps:
            emit(("event", event))
            if stop.is_set():  # the client left: do not compute another step for nobody
                stopped = True
                break
    except Exception as exc:
        log.exception("live run failed")
        emit(("error", one_line(exc)))
    finally:
        close = getattr(steps, "close", None)
        if close is not None:
            close()  # on this thread, where the generator runs (its `with torch...` blocks exit here)
        emit(("end", None))
    return stopped


async def stream(
    jobs: Jobs,
    thread: ModelThread,
    ticket: Ticket,
    name: str,
    make_steps: Callable[[], Iterator[dict]],
    request_id: str,
) -> AsyncIterator[dict]:
    """The SSE events of one live run: waits for the slot, then one event per yielded step."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def emit(item) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # the loop is closed: the server is gone, nobody is listening
            stop.set()

    def sse(kind: str, data: dict) -> dict:
        payload = {**data, "request_id": request_id}
        return {"event": kind, "id": request_id, "data": json.dumps(payload, ensure_ascii=False, default=str)}

    try:
        async with jobs.slot:
            jobs.running, jobs.started = name, jobs.started + 1
            future = thread.submit(_drive, make_steps, emit, stop)
            try:
                while (item := await events.get())[0] != "end":
                    kind, payload = item
                    if kind == "error":
                        yield sse("error", {"message": f"{name} failed: {payload}"})
                    elif isinstance(payload, dict):
                        yield sse(str(payload.get("type", "step")), payload)
            finally:
                stop.set()
                # Hold the slot until the model thread has really stopped: at most one more step.
                with anyio.CancelScope(shield=True):
                    stopped = await asyncio.wrap_future(future)
                jobs.running, jobs.finished = None, jobs.finished + 1
                jobs.stopped += stopped
    finally:
        ticket.release()
