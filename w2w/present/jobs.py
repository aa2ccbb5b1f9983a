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

import anyio

from w2w.present import messages as msg
from w2w.present.supervisor import ModelProcess

log = logging.getLogger("w2w.present")

WAITING_MAX = 2  # requests that may wait behind the running one; more are answered 429


class Busy(Exception):
    """Raised by `Jobs.admit` when the queue is full; its text is the 429 message."""


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


async def stream(
    jobs: Jobs, process: ModelProcess, ticket: Ticket, name: str, body: dict, request_id: str, shutdown: anyio.Event
):
    """The SSE events of one live run: waits for the slot, then one event per step the model
    process sends. The slot is held until the child has really ended the run: after a client
    leaves, at most one more step (bounded by the step deadline, past which the child is replaced)."""

    def sse(kind: str, data: dict) -> dict:
        payload = {**data, "request_id": request_id}
        return {"event": kind, "id": request_id, "data": json.dumps(payload, ensure_ascii=False, default=str)}

    try:
        async with jobs.slot:
            why = process.can_run(name)  # it waited for the slot: the process may have gone meanwhile
            if why:
                jobs.refused += 1
                yield sse("error", {"message": f"{name} cannot run now: {why}"})
                return
            jobs.running, jobs.started = name, jobs.started + 1
            run = process.start_run(name, body)

            async def end_on_shutdown() -> None:  # Ctrl-C: the stream ends with its error event
                await shutdown.wait()
                run.end("the live server is stopping")

            watcher = asyncio.create_task(end_on_shutdown())
            try:
                async for message in run.events():
                    if isinstance(message, msg.Error):
                        yield sse("error", {"message": f"{name} failed: {message.message}"})
                    elif isinstance(message.event, dict):
                        yield sse(str(message.event.get("type", "step")), message.event)
            finally:
                watcher.cancel()
                with anyio.CancelScope(shield=True):  # the client left: stop the child after this step
                    await run.stop()
                process.forget(run)
                jobs.running, jobs.finished = None, jobs.finished + 1
                jobs.stopped += run.stopped
    finally:
        ticket.release()
