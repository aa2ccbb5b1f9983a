"""The model process of `w2w present`: loads the live generators, warms them, and runs their steps.

It is started by the supervisor (supervisor.py) with multiprocessing's spawn context, so it is a
fresh interpreter: torch, transformers and diffusers live here and never in the server. It talks
to the server over one duplex pipe, in the messages of messages.py (Run, Stop and Quit in; Loading,
Loaded, Failed, Ready, then Event, Error and End per run out), each sent as `encode` makes it.

Runs arrive one at a time (the server's job slot). Between two steps the child looks at the pipe,
so a "stop" ends the run after the step in progress; a step that never returns is the
supervisor's to end, by killing this process. A run that arrives meanwhile (the server ended the
one in progress on its side, after this process was stopped and woke again) waits its turn. A
thread of its own sends a Beat every HEARTBEAT_S from the start, through loading and the longest
step, so the server notices within seconds a process that stopped altogether (SIGSTOP, a native
call that holds the GIL, a machine swapping), before any run needs it. Its memory is bounded by RLIMIT_DATA (the private
writable memory that allocations take; file-backed weights are not counted), so a request that
would pass `live.memory_mb` fails alone with an error and the other generators keep their models.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import deque
from typing import Any

from w2w.present import messages as msg

log = logging.getLogger("w2w.present.child")

HEARTBEAT_S = 0.5  # the server calls a process silent for supervisor.SILENT_S (six beats) "not answering"
_sending = threading.Lock()  # the main thread's messages and the heartbeat's share the pipe
_waiting: deque[msg.Run] = deque()  # runs that arrived while another ran
_stopped: set[str] = set()  # waiting runs the server stopped before they began


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGKILL to this process when the server's process ends, however it
    ends (a SIGKILL of the server included), so no model process outlives its server."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _limit_memory(memory_bytes: int) -> None:
    import resource

    if memory_bytes > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _quiet_progress_bars() -> None:
    """No progress bars from the model libraries in the speaker's terminal (the server says what
    loads), and no multiprocessing lock for them: tqdm makes a semaphore for its bars, which a
    killed child cannot give back, and the server's resource tracker then warns of it at exit."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        from tqdm.std import TqdmDefaultWriteLock
    except ImportError:
        return
    TqdmDefaultWriteLock.mp_lock = None  # tqdm keeps its thread lock; create_mp_lock sees it set


def one_line(exc: BaseException) -> str:
    if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc) or "out of memory" in str(exc).lower():
        return "out of memory: the request needs more than live.memory_mb allows (talk.yaml)"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def main(conn: Any, talk_yaml: str, only: list[str] | None, memory_bytes: int, parent_pid: int) -> None:
    """The child's whole life: load, say ready, then serve runs until "quit" or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal: the server ends us
    _die_with_parent()
    if os.getppid() != parent_pid:  # the server died before prctl took effect
        return
    threading.Thread(target=_beat, args=(conn,), name="w2w-heartbeat", daemon=True).start()
    _limit_memory(memory_bytes)
    _quiet_progress_bars()
    logging.basicConfig(level=logging.WARNING, format="w2w model process: %(message)s")
    entries = _load(conn, talk_yaml, only)
    while True:
        if _waiting:
            message = _waiting.popleft()
        else:
            try:
                message = msg.decode(conn.recv())
            except (EOFError, OSError):  # the server is gone
                return
        if isinstance(message, msg.Quit):
            return
        if isinstance(message, msg.Run):
            if message.run_id in _stopped:  # stopped while it waited: it ends without a step
                _stopped.discard(message.run_id)
                send(conn, msg.End(message.run_id, True))
            else:
                _run(conn, entries, message)
        # a Stop for a run that already ended needs nothing


def send(conn, message: msg.Message) -> None:
    data = msg.encode(message)
    with _sending:
        conn.send(data)


def _beat(conn) -> None:
    """On its own thread: a Beat every HEARTBEAT_S until the pipe closes."""
    while True:
        try:
            send(conn, msg.Beat())
        except (OSError, ValueError):  # the pipe is closed: the server is gone, or we are ending
            return
        time.sleep(HEARTBEAT_S)


def _load(conn, talk_yaml: str, only: list[str] | None) -> dict:
    """Each live generator in turn: resolve its model as the build does (talk.yaml's inputs and
    models.local_dirs), load it, run the talk's own request once (the warm-up)."""
    from pathlib import Path

    from w2w.errors import W2WError
    from w2w.present.models import live_generators
    from w2w.talk.config import load_talk

    started = time.perf_counter()
    talk, _ = load_talk(Path(talk_yaml))
    entries = live_generators(talk, only)
    ready = {}
    for name, entry in entries.items():
        try:
            entry.prepare(lambda state, name=name: send(conn, msg.Loading(name, state)))
        except W2WError as exc:
            send(conn, msg.Failed(name, str(exc)))
            continue
        except Exception as exc:  # a model that fails to load must not take the others down
            log.exception("loading %s failed", name)
            send(conn, msg.Failed(name, one_line(exc)))
            continue
        send(conn, msg.Loaded(name, entry.model_id, entry.device_label, round(entry.seconds, 2)))
        ready[name] = entry
    send(conn, msg.Ready(round(time.perf_counter() - started, 2)))
    return ready


def _run(conn, entries: dict, run: msg.Run) -> None:
    run_id, name = run.run_id, run.generator
    entry = entries.get(name)
    stopped = False
    steps = None
    try:
        if entry is None:
            raise RuntimeError(f"{name} is not loaded in the model process")
        request = entry.generator.LiveRequest.model_validate(run.request)
        steps = iter(entry.generator.steps(entry.loaded, request))
        for event in steps:
            send(conn, msg.Event(run_id, event))
            if _stop_asked(conn, run_id):
                stopped = True
                break
    except Exception as exc:
        if not isinstance(exc, MemoryError):
            log.exception("live run of %s failed", name)
        send(conn, msg.Error(run_id, one_line(exc)))
    finally:
        close = getattr(steps, "close", None)
        if close is not None:
            try:
                close()  # a generator's `with torch...` blocks and worker threads end here
            except Exception:
                log.exception("closing the run of %s failed", name)
        send(conn, msg.End(run_id, stopped))


def _stop_asked(conn, run_id: str) -> bool:
    """Between two steps: has the server said Stop (or Quit, or gone away)? A run that arrives
    meanwhile is kept for later, with any Stop for it."""
    stop = False
    while conn.poll():
        try:
            message = msg.decode(conn.recv())
        except (EOFError, OSError):
            raise SystemExit(0) from None
        if isinstance(message, msg.Quit):
            raise SystemExit(0)
        if isinstance(message, msg.Run):
            _waiting.append(message)
        elif isinstance(message, msg.Stop):
            if message.run_id == run_id:
                stop = True
            elif any(waiting.run_id == message.run_id for waiting in _waiting):
                _stopped.add(message.run_id)
    return stop
