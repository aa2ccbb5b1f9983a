"""One live run as the server sees it: the messages the model process sends for it, and its two
deadlines, both counted from the run's last message (or its start):

- patience (`live.timeout_s`, the deck's): no message for this long and the run's stream ends with
  an error event that says so, before the deck would give up on its own; the model process is
  asked to stop the run after the step in progress;
- the step deadline (`live.step_timeout_s`): no message for this long and the model process is
  killed (supervisor.py starts a new one); the run's stream ends with that reason.

The supervisor (supervisor.py) makes a Run and puts the pipe's messages for it on its queue; it
ends a run itself (`end`) when the model process dies, stops answering, or the server stops.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from w2w.present import messages as msg


@dataclass(frozen=True)
class Died:
    """Not a pipe message: the server ends a run itself (its model process died, was killed or
    stopped answering, or the server is stopping); `reason` is the one line its error event says.
    `final`: the model process will send nothing more for the run (it is dead)."""

    reason: str
    final: bool = True


class Run:
    """One live run in the model process: its events, and the way to stop it after the step in
    progress. `process` is the supervisor's ModelProcess (its `send`, `replace` and `policy`)."""

    def __init__(self, process: Any, name: str) -> None:
        self.process, self.name = process, name
        self.id = uuid.uuid4().hex
        self.queue: asyncio.Queue[msg.Event | msg.Error | msg.End | Died] = asyncio.Queue()
        self.finished = False  # the model process has ended it, or will send nothing more for it
        self.stopped = False  # the child ended it early, on our Stop
        self._last = time.monotonic()  # when the last message for it came (or it was sent)

    def end(self, reason: str, final: bool = True) -> None:
        """End the run from the server's side: its stream gets an error event with `reason`.
        `final=False`: the model process may still end it itself (it stopped answering, and may
        answer again); `stop` then asks it to."""
        self.queue.put_nowait(Died(reason, final))

    async def events(self, patience: float | None = None) -> AsyncIterator[msg.Event | msg.Error]:
        """An Event per step, then at most one Error; ends with the run, or when `patience`
        seconds pass without a message (the deck's `live.timeout_s`)."""
        while not self.finished:
            message = await self._next(patience)
            if message is None:
                yield msg.Error(self.id, f"no step of {self.name} for {patience:g} s (live.timeout_s); it is stopped")
                return
            if isinstance(message, msg.End):
                self.finished, self.stopped = True, message.stopped
                return
            if isinstance(message, Died):
                self.finished = message.final
                yield msg.Error(self.id, message.reason)
                return
            yield message

    async def stop(self) -> None:
        """Ask the child to stop after this step, and wait until it has (or is replaced)."""
        if self.finished:
            return
        self.process.send(msg.Stop(self.id))
        while not self.finished:
            message = await self._next()
            if isinstance(message, msg.End):
                self.finished, self.stopped = True, message.stopped
            elif isinstance(message, Died) and message.final:
                self.finished = True

    async def _next(self, patience: float | None = None) -> msg.Event | msg.Error | msg.End | Died | None:
        """The next message; None when `patience` runs out first; a Died when the step deadline
        does (the model process is then being replaced)."""
        step = self.process.policy.step_timeout_s
        waited = time.monotonic() - self._last
        wait = step - waited if patience is None else min(step, patience) - waited
        try:
            message = await asyncio.wait_for(self.queue.get(), max(wait, 0))
        except TimeoutError:
            if patience is not None and patience < step:
                return None
            why = f"a step of {self.name} ran past live.step_timeout_s ({step:g} s)"
            self.process.replace(why)
            return Died(f"{why}; the model process is being restarted")
        self._last = time.monotonic()
        return message
