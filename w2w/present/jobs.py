"""One model job at a time and a short bounded queue, in front of the model process.

A live request is admitted (or refused with 429) before its stream starts, waits for the slot in
arrival order, then its generator's `steps(...)` runs in the model process (supervisor.py) while
the event loop keeps answering other requests. A client that goes away stops the generator after
the step in progress, and the slot passes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import aclosing

import anyio

from w2w.present import messages as msg
from w2w.present.supervisor import ModelProcess

log = logging.getLogger("w2w.present")

WAITING_MAX = 2  # requests that may wait behind the running one; more are answered 429


class Busy(Exception):
    """Raised by `Jobs.admit` when the queue is full; its text is the 429 message."""


class Ticket:
    """One admitted request: holds its place in the queue until released (release is idempotent).
    `kept`: its run outlives its stream (the model process has yet to stop it); the stream's end
    does not release it, the run's wind-down does."""

    def __init__(self, jobs: Jobs) -> None:
        self._jobs, self._released = jobs, False
        self.kept = False

    def release(self) -> None:
        if not self._released and not self.kept:
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
        self.winding: set[asyncio.Task] = set()  # runs whose streams ended before the model process stopped them

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


async def stream(
    jobs: Jobs,
    process: ModelProcess,
    ticket: Ticket,
    name: str,
    body: dict,
    request_id: str,
    shutdown: anyio.Event,
    patience: float | None = None,
):
    """The SSE events of one live run: waits for the slot, then one event per step the model
    process sends. The slot is held until the child has really ended the run: after a client
    leaves, at most one more step (bounded by the step deadline, past which the child is replaced).
    `patience` (the deck's live.timeout_s): the longest the stream stays silent, waiting for the
    slot or for a step; then it ends with an error event that says why, before the deck gives up."""

    def sse(kind: str, data: dict) -> dict:
        payload = {**data, "request_id": request_id}
        return {"event": kind, "id": request_id, "data": json.dumps(payload, ensure_ascii=False, default=str)}

    try:
        try:
            await asyncio.wait_for(jobs.slot.acquire(), patience)
        except TimeoutError:
            jobs.refused += 1
            yield sse("error", {"message": f"{name} waited {patience:g} s for the runs before it (live.timeout_s)"})
            return
        try:
            why = process.can_run(name)  # it waited for the slot: the process may have gone meanwhile
            if why:
                jobs.refused += 1
                yield sse("error", {"message": f"{name} cannot run now: {why}"})
                return
            jobs.running, jobs.started = name, jobs.started + 1
            run = process.start_run(name, body)
            # aclosing: when the client leaves, the relay's own `finally` (which may keep the slot for
            # the wind-down) runs before this one's, not whenever the relay is collected.
            async with aclosing(_relayed(jobs, process, run, ticket, name, sse, shutdown, patience)) as events:
                async for event in events:
                    yield event
        finally:
            if not ticket.kept:
                jobs.slot.release()
    finally:
        ticket.release()


async def _relayed(jobs: Jobs, process: ModelProcess, run, ticket: Ticket, name: str, sse, shutdown, patience):
    """The run's messages as SSE events; on leaving, the run is either finished or wound down."""

    async def end_on_shutdown() -> None:  # Ctrl-C: the stream ends with its error event
        await shutdown.wait()
        run.end("the live server is stopping")

    watcher = asyncio.create_task(end_on_shutdown())
    try:
        async for message in run.events(patience):
            if isinstance(message, msg.Error):
                yield sse("error", {"message": f"{name} failed: {message.message}"})
            elif isinstance(message.event, dict):
                yield sse(str(message.event.get("type", "step")), message.event)
    finally:
        watcher.cancel()
        if run.finished:
            _finished(jobs, process, run)
        else:
            # The client left, or the run's deadline passed: the stream ends now, and the slot and
            # the ticket stay taken until the model process has stopped the run (at most one more
            # step, bounded by the step deadline).
            ticket.kept = True
            task = asyncio.create_task(_wind_down(jobs, process, run, ticket))
            jobs.winding.add(task)
            task.add_done_callback(jobs.winding.discard)


def _finished(jobs: Jobs, process: ModelProcess, run) -> None:
    process.forget(run)
    jobs.running, jobs.finished = None, jobs.finished + 1
    jobs.stopped += run.stopped


async def _wind_down(jobs: Jobs, process: ModelProcess, run, ticket: Ticket) -> None:
    try:
        await run.stop()
    finally:
        _finished(jobs, process, run)
        jobs.slot.release()
        ticket.kept = False
        ticket.release()
