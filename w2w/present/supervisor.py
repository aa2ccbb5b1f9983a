"""The server's side of the model process: start it, watch it, replace it.

The models run in a child process (child.py) that the server supervises, as Jupyter's kernel
manager and Gunicorn's arbiter keep their workers: the server process holds no torch state, and
nothing the models do (a step that hangs, a native crash, memory without bound) takes the deck's
server with it. What the supervisor enforces:

- a heartbeat: the child sends a Beat every 0.5 s from a thread of its own (child.py); no sign of
  life for SILENT_S -> the state is "not answering" (/status and the deck's badge say so, a run is
  refused with that reason, a run in progress ends with it at once); the child's next message
  brings the state back (nothing is restarted: a stopped child that is continued, a machine that
  swapped, recovers by itself);
- a step deadline (runs.py): no event for `live.step_timeout_s` while a run waits on one (or while
  the server waits for a run it ended to stop) -> the child is killed, the run ends with a
  one-line error (the slide plays its recording), and a fresh child starts;
- crash recovery: a child that dies (SIGKILL, a segfault, the kernel's out-of-memory killer) is
  restarted after a back-off (0.5, 1, 2, 4, 8 s); while it loads, /status says why the deck plays
  recordings, and the deck goes LIVE again by itself when the child is ready. More than
  `live.restarts` deaths within `live.restart_window_s` and it gives up: recordings to the end,
  said in the terminal and in the speaker view;
- memory: RLIMIT_DATA in the child makes a request that would pass `live.memory_mb` fail alone;
  this watchdog kills a child whose resident memory passes the limit anyway (memory the rlimit
  does not count).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from w2w.present import messages as msg
from w2w.present.runs import Run

log = logging.getLogger("w2w.present")

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
WATCH_EVERY_S = 0.5  # the watchdog's period: memory and heartbeat
SILENT_S = 3.0  # no message from the child this long (six of its beats): "not answering"
FIRST_SIGN_S = 20.0  # a new child's first message may take this long (a fresh interpreter starts)
# A child whose pipe closed has all but exited (the kernel closes its files on the way out); one
# that still runs this long after is killed. The wait is on the pipe's reader thread, never on the
# event loop: there, 1 s of join stalled every open stream and request.
REAP_GRACE_S = 2.0


@dataclass(frozen=True)
class Policy:
    step_timeout_s: float = 30.0
    memory_bytes: int = 6144 * 2**20
    restarts: int = 5
    restart_window_s: float = 300.0


class ModelProcess:
    """The supervised child. All methods run on the server's event loop; one reader thread per
    child turns its pipe messages into calls on the loop."""

    def __init__(
        self, talk_yaml: Path, names: list[str], only: list[str] | None, policy: Policy, child_main=None
    ) -> None:
        """`child_main`: the model process's function (child.main unless a test gives its own)."""
        self.talk_yaml, self.names, self.only, self.policy = talk_yaml, names, only, policy
        self.child_main = child_main
        self.state, self.reason = "starting", ""
        self.generators: dict[str, dict] = {}
        self.deaths: list[float] = []
        self.restarts = 0
        self.ready_seconds: float | None = None
        self._started_at = self._spawn_time = time.perf_counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn = None
        self._incarnation = 0
        self._kill_reason = ""
        self._runs: dict[str, Run] = {}
        self._watchdog: asyncio.Task | None = None
        self._restart_timer: asyncio.TimerHandle | None = None
        self._last_sign = time.monotonic()  # the child's last message (a Beat at least every 0.5 s)
        self._before_silence = ("", "")  # the state and reason that "not answering" stands in for
        self._pipe_closed = False  # the child's pipe is at its end: its exit is on the way
        self.version = 0  # counts the changes of status(), for the deck's /live/watch stream
        self._change = asyncio.Event()
        self._reset_generators("waiting to load")

    # --- what the app reads -----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """The model process is up and has tried every generator, and at least one is live (one that
        failed to load is refused by name, and its slides play their recordings)."""
        entries = self.generators.values()
        tried = all(g["ready"] or g["error"] for g in entries)
        return self.state == "ready" and tried and any(g["ready"] for g in entries)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def status(self) -> dict:
        return {
            "ready": self.ready,
            "state": self.state,
            "reason": self.reason,
            "restarts": self.restarts,
            "pid": self.pid,
            "generators": {name: dict(entry) for name, entry in self.generators.items()},
        }

    def can_run(self, name: str) -> str | None:
        """Why `name` cannot run now (a one-line reason), or None."""
        entry = self.generators[name]
        if self.state == "gave up":
            return f"live demos are off: {self.reason}"
        if self.state == "not answering":
            return self.reason
        if self.state != "ready" and not entry["ready"]:
            why = f" ({self.reason})" if self.reason else ""
            return f"the model process is {self.state}{why}"
        if entry["error"]:
            return f"{name} failed to load: {entry['error']}"
        if not entry["ready"]:
            return f"{name} is {entry['state']}, not ready yet"
        return None

    # --- life cycle ---------------------------------------------------------------------------

    async def changed(self, version: int) -> None:
        """Return once status() has changed since `version` (at once if it has already)."""
        while self.version == version:
            await self._change.wait()

    def _changed(self) -> None:
        self.version += 1
        self._change.set()
        self._change = asyncio.Event()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._spawn()
        self._watchdog = asyncio.create_task(self._watch())

    def _spawn(self) -> None:
        from w2w.present import child

        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no server state in it
        ours, theirs = context.Pipe(duplex=True)
        args = (theirs, str(self.talk_yaml), self.only, self.policy.memory_bytes, os.getpid())
        target = self.child_main or child.main
        process = context.Process(target=target, args=args, name="w2w-models", daemon=True)
        process.start()
        theirs.close()  # our copy: the child's end must close when the child dies (EOF for the reader)
        self._incarnation += 1
        self._process, self._conn, self._kill_reason = process, ours, ""
        self._spawn_time = time.perf_counter()
        self._last_sign = time.monotonic() + FIRST_SIGN_S - SILENT_S
        self._pipe_closed = False
        self.state = "loading"
        self._reset_generators("waiting to load")
        self._changed()
        incarnation = self._incarnation
        reader = threading.Thread(
            target=self._read, args=(ours, process, incarnation), name="w2w-model-pipe", daemon=True
        )
        reader.start()
        log.info("model process %d started", process.pid)

    def send(self, message: msg.Message) -> None:
        try:
            self._conn.send(msg.encode(message))
        except (OSError, ValueError, AttributeError):  # it died a moment ago; its exit is on the way
            pass

    def replace(self, reason: str) -> None:
        """Kill the child now (SIGKILL also ends a stopped one); its exit brings the restart."""
        if self._process is None or not self._process.is_alive():
            return
        self._kill_reason = self._kill_reason or reason
        log.warning("%s: stopping the model process %d", reason, self._process.pid)
        self.state, self.reason = "restarting", reason
        self._process.kill()
        self._changed()

    async def stop(self) -> None:
        """The server is stopping: end the child (politely, then not), leave no process behind."""
        self.state, self.reason = "stopped", "the server is stopping"
        self._changed()
        if self._restart_timer is not None:
            self._restart_timer.cancel()
        if self._watchdog is not None:
            self._watchdog.cancel()
        for run in list(self._runs.values()):  # open streams end now, with their error event
            run.end("the live server is stopping")
        process = self._process
        if process is None:
            return
        self.send(msg.Quit())
        await asyncio.to_thread(process.join, 0.5)
        if process.is_alive():
            process.kill()
            await asyncio.to_thread(process.join, 2)

    # --- runs -----------------------------------------------------------------------------------

    def start_run(self, name: str, body: dict) -> Run:
        run = Run(self, name)
        self._runs[run.id] = run
        self.send(msg.Run(run.id, name, body))
        return run

    def forget(self, run: Run) -> None:
        self._runs.pop(run.id, None)

    # --- the pipe -------------------------------------------------------------------------------

    def _read(self, conn, process, incarnation: int) -> None:
        """On the reader thread: every message to the loop; at EOF (the child is gone, or going)
        the child is reaped here, off the loop, and its exit goes to the loop with its status."""
        while True:
            try:
                message = msg.decode(conn.recv())
            except (EOFError, OSError):
                break
            except Exception:  # an unpicklable message, or no message of ours: the child is broken
                log.exception("unreadable message from the model process")
                break
            self._call(self._on_message, incarnation, message)
        self._call(self._on_pipe_end, incarnation)
        lingered = _reap(process)
        self._call(self._on_exit, incarnation, process.exitcode, lingered)

    def _call(self, fn, *args) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: the server is gone
            pass

    def _on_pipe_end(self, incarnation: int) -> None:
        if incarnation == self._incarnation:
            self._pipe_closed = True  # the reader reaps it now: no heartbeat to wait for

    def _on_message(self, incarnation: int, message: msg.Message) -> None:
        if incarnation != self._incarnation:
            return
        now = time.monotonic()
        silent, self._last_sign = now - self._last_sign, now
        if self.state == "not answering":
            self._answering_again(silent)
        if isinstance(message, msg.Beat):
            return
        if isinstance(message, msg.Event | msg.Error | msg.End):
            run = self._runs.get(message.run_id)
            if run is not None:
                run.queue.put_nowait(message)
        elif isinstance(message, msg.Loading):
            self.generators[message.generator]["state"] = message.state
        elif isinstance(message, msg.Loaded):
            self.generators[message.generator].update(
                ready=True, state="ready", error=None, model=message.model, device=message.device
            )
            log.info(
                "live: %s ready (%s, %s) in %.1f s", message.generator, message.model, message.device, message.seconds
            )
        elif isinstance(message, msg.Failed):
            self.generators[message.generator].update(ready=False, state="failed", error=message.message)
            log.warning("%s cannot run live: %s; its slides play the recording", message.generator, message.message)
        elif isinstance(message, msg.Ready):
            self.state, self.reason = "ready", ""
            if self.ready_seconds is None:
                self.ready_seconds = time.perf_counter() - self._started_at
            live = [name for name, g in self.generators.items() if g["ready"]]
            took = time.perf_counter() - (self._started_at if self.restarts == 0 else self._spawn_time)
            log.info("ready: %s live after %.1f s", ", ".join(live) or "no live generator", took)
        if not isinstance(message, msg.Event | msg.Error | msg.End):
            self._changed()

    def _on_exit(self, incarnation: int, exitcode: int | None, lingered: bool = False) -> None:
        """On the loop, once the reader thread has reaped the child: end its runs, restart it."""
        if incarnation != self._incarnation or self.state == "stopped":
            return
        died = f"the model process died ({_exit_text(exitcode)})"
        if lingered:
            died = f"the model process closed its pipe and was still running {REAP_GRACE_S:g} s later"
        reason = self._kill_reason or died
        for run in list(self._runs.values()):
            run.end(f"{reason}; the model process is being restarted")
        now = time.monotonic()
        self.deaths = [t for t in self.deaths if now - t <= self.policy.restart_window_s] + [now]
        self._reset_generators("waiting for the model process")
        if len(self.deaths) > self.policy.restarts:
            self.state = "gave up"
            self.reason = (
                f"the model process failed {len(self.deaths)} times in {self.policy.restart_window_s:g} s "
                f"(last: {reason}); restart `w2w present` to try again"
            )
            log.warning("giving up on live demos: %s; the slides play their recordings", self.reason)
            self._changed()
            return
        delay = BACKOFF_S[min(len(self.deaths), len(BACKOFF_S)) - 1]
        self.state, self.reason = "restarting", reason
        log.warning("%s; restarting it in %g s (the slides play their recordings meanwhile)", reason, delay)
        self._restart_timer = self._loop.call_later(delay, self._restart)
        self._changed()

    def _restart(self) -> None:
        if self.state in ("stopped", "gave up"):
            return
        self.restarts += 1
        previous = self.reason
        self._spawn()
        self.reason = f"reloading the models after: {previous}"
        self._changed()

    def _reset_generators(self, state: str) -> None:
        self.generators = {
            name: {"ready": False, "model": "", "device": "", "error": None, "state": state} for name in self.names
        }

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            pid = self.pid
            rss = _rss_bytes(pid) if pid else None
            if rss is not None and rss > self.policy.memory_bytes:
                limit = self.policy.memory_bytes >> 20
                self.replace(f"the model process used {rss >> 20} MB, over live.memory_mb ({limit} MB)")
            watched = self.state in ("loading", "ready") and not self._pipe_closed
            if watched and time.monotonic() - self._last_sign > SILENT_S:
                self._not_answering()

    # --- the heartbeat --------------------------------------------------------------------------

    def _not_answering(self) -> None:
        """No message for SILENT_S: say so, refuse runs, end the ones in progress with the reason.
        The child is not killed for it: a run it owes us is (runs.py: Run.stop's step deadline)."""
        self._before_silence = (self.state, self.reason)
        self.state = "not answering"
        self.reason = f"the model process stopped answering (no heartbeat for {SILENT_S:g} s)"
        if self._before_silence[1]:
            self.reason += f"; before that: {self._before_silence[1]}"
        log.warning("%s; the slides play their recordings until it answers", self.reason)
        for run in list(self._runs.values()):
            run.end(self.reason, final=False)  # it may still answer: the stream's stop() asks it to stop
        self._changed()

    def _answering_again(self, silent: float) -> None:
        self.state, self.reason = self._before_silence
        log.info("the model process answers again (after %.1f s)", silent)
        self._changed()


def _reap(process) -> bool:
    """Wait (on the calling thread) for a child whose pipe closed to exit and collect its status;
    kill it if it still runs after REAP_GRACE_S. Returns whether it had to be killed."""
    process.join(REAP_GRACE_S)
    if not process.is_alive():
        return False
    process.kill()
    process.join()
    return True


def _rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _exit_text(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
