"""Reaping a dead model process never blocks the server's event loop (w2w/present/supervisor.py):
the supervisor, on a real asyncio loop in this process, with a child (fake_children.py) that closes
its pipe and then lingers, stopped, until the test kills it. While it lingers the loop keeps
running and its run's stream stays open; once it is killed, its exit is handled with its real exit
status. Before, the loop itself joined the child for up to 1 s (every stream stalled), and a child
still there after that was reported with "no exit status"."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import fake_children
import pytest
from live_server import alive
from own_loop import run_apart

from w2w.present import messages as msg
from w2w.present import supervisor
from w2w.present.supervisor import ModelProcess, Policy

pytestmark = pytest.mark.quick  # a real event loop and fake children: no model, no server

WAIT_S = 120  # bounds for a failing test on the shared 2-core machine, not timings
TICKS = 200


def stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


async def until(predicate, what: str):
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {WAIT_S} s"
        await asyncio.sleep(0.01)


async def reap_a_lingering_child(reaping: threading.Event) -> dict:
    process = ModelProcess(Path("talk.yaml"), ["fake"], None, Policy(), fake_children.closes_its_pipe_and_lingers)
    process.start()
    try:
        await until(lambda: process.ready, "the fake child ready")
        pid = process.pid
        run = process.start_run("fake", {})
        events = run.events()
        first = await anext(events)
        await until(lambda: stopped(pid), "the child stopped after closing its pipe")
        await until(reaping.is_set, "the reader thread reaping the child")
        seen = []
        for _ in range(TICKS):  # the loop runs while the child is being reaped
            await asyncio.sleep(0)
            seen.append((process.state, alive(pid), run.queue.qsize()))
        os.kill(pid, signal.SIGKILL)
        last = await anext(events)
        after = (process.state, process.reason)
        return {"first": first, "seen": seen, "last": last, "after": after, "pid": pid}
    finally:
        await process.stop()


def test_the_loop_runs_while_a_dead_child_is_reaped(monkeypatch):
    monkeypatch.setattr(supervisor, "REAP_GRACE_S", WAIT_S)  # the reader waits for the test's kill
    monkeypatch.setattr(supervisor, "SILENT_S", WAIT_S)  # the fake child sends no heartbeat
    reaping, reap = threading.Event(), supervisor._reap

    def reap_seen(process) -> bool:  # on the reader thread, at the pipe's end
        reaping.set()
        return reap(process)

    monkeypatch.setattr(supervisor, "_reap", reap_seen)
    result = run_apart(reap_a_lingering_child(reaping))
    assert isinstance(result["first"], msg.Event) and result["first"].event == {"type": "step", "index": 0}
    # Every tick ran with the exit still pending: the child alive, its run open, nothing said yet.
    assert result["seen"] == [("ready", True, 0)] * TICKS
    # Then the kill: its exit is handled with the real status, and the run's stream ends with it.
    assert isinstance(result["last"], msg.Error)
    assert result["last"].message == "the model process died (killed by SIGKILL); the model process is being restarted"
    assert result["after"] == ("restarting", "the model process died (killed by SIGKILL)")
    assert not alive(result["pid"])


async def reap_after_the_grace() -> tuple[str, str]:
    process = ModelProcess(Path("talk.yaml"), ["fake"], None, Policy(), fake_children.closes_its_pipe_and_lingers)
    process.start()
    try:
        await until(lambda: process.ready, "the fake child ready")
        pid = process.pid
        run = process.start_run("fake", {})
        events = run.events()
        await anext(events)
        last = await anext(events)  # the child lingers; the supervisor kills it after the grace
        assert not alive(pid)
        return last.message, process.reason
    finally:
        await process.stop()


def test_a_child_that_lingers_past_the_grace_is_killed(monkeypatch):
    monkeypatch.setattr(supervisor, "REAP_GRACE_S", 0.5)
    monkeypatch.setattr(supervisor, "SILENT_S", WAIT_S)  # the fake child sends no heartbeat
    message, reason = run_apart(reap_after_the_grace())
    assert reason == "the model process closed its pipe and was still running 0.5 s later"
    assert message == f"{reason}; the model process is being restarted"
