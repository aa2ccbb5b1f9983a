"""A run's two deadlines (w2w/present/runs.py), on a real event loop with a stand-in for the model
process: patience (the deck's live.timeout_s) ends the stream with its reason and asks the process
to stop the run, without killing it; the step deadline kills it. And a run the server ended while
the process was silent is still stopped by it once it answers. Deadlines of a few hundredths of a
second: what is checked is which one ends the run and what each says, not how long it took."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from own_loop import run_apart

from w2w.present import messages as msg
from w2w.present.runs import Died, Run

pytestmark = pytest.mark.quick


@dataclass
class Policy:
    step_timeout_s: float


@dataclass
class Process:
    """What a Run uses of the supervisor's ModelProcess: its policy, `send` and `replace`."""

    policy: Policy
    sent: list = field(default_factory=list)
    replaced: list = field(default_factory=list)

    def send(self, message) -> None:
        self.sent.append(message)

    def replace(self, reason: str) -> None:
        self.replaced.append(reason)


async def drain(run: Run, patience: float | None) -> list:
    return [message async for message in run.events(patience)]


def test_patience_ends_the_stream_and_asks_the_process_to_stop():
    async def scenario():
        process = Process(Policy(step_timeout_s=60))
        run = Run(process, "ticker")
        run.queue.put_nowait(msg.Event(run.id, {"type": "step"}))
        events = await drain(run, patience=0.05)
        assert not run.finished  # the process still has it
        stopping = asyncio.create_task(run.stop())
        await asyncio.sleep(0)
        run.queue.put_nowait(msg.End(run.id, True))  # it stops after the step in progress
        await stopping
        return process, run, events

    process, run, events = run_apart(scenario())
    assert isinstance(events[0], msg.Event) and isinstance(events[1], msg.Error) and len(events) == 2
    assert events[1].message == "no step of ticker for 0.05 s (live.timeout_s); it is stopped"
    assert process.sent == [msg.Stop(run.id)] and process.replaced == []  # stopped, not killed
    assert run.finished and run.stopped


def test_the_step_deadline_replaces_the_process():
    async def scenario():
        process = Process(Policy(step_timeout_s=0.05))
        run = Run(process, "ticker")
        return process, await drain(run, patience=60)

    process, events = run_apart(scenario())
    assert [e.message for e in events] == [
        "a step of ticker ran past live.step_timeout_s (0.05 s); the model process is being restarted"
    ]
    assert process.replaced == ["a step of ticker ran past live.step_timeout_s (0.05 s)"]


def test_a_run_ended_while_the_process_was_silent_is_stopped_once_it_answers():
    async def scenario():
        process = Process(Policy(step_timeout_s=60))
        run = Run(process, "ticker")
        run.end("the model process stopped answering (no heartbeat for 3 s)", final=False)
        events = await drain(run, patience=60)
        stopping = asyncio.create_task(run.stop())
        await asyncio.sleep(0)
        run.queue.put_nowait(msg.Event(run.id, {"type": "step"}))  # continued: the step it was in
        run.queue.put_nowait(msg.End(run.id, True))
        await stopping
        return process, run, events

    process, run, events = run_apart(scenario())
    assert [e.message for e in events] == ["the model process stopped answering (no heartbeat for 3 s)"]
    assert process.sent == [msg.Stop(run.id)] and run.finished and run.stopped and process.replaced == []


def test_a_dead_process_ends_the_run_for_good():
    async def scenario():
        run = Run(Process(Policy(step_timeout_s=60)), "ticker")
        run.end("the model process died (killed by SIGKILL)")
        events = await drain(run, patience=60)
        await run.stop()  # nothing to wait for: it is gone
        return run, events

    run, events = run_apart(scenario())
    assert run.finished and not run.stopped and isinstance(events[0], msg.Error)
    assert Died("x").final
