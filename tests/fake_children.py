"""Model processes with no model, for tests of the supervisor under a real event loop: each is a
`child_main` (w2w/present/supervisor.py) that speaks the pipe's messages (w2w/present/messages.py)
and then misbehaves in one known way. Importable by the spawned child: stdlib and messages only."""

from __future__ import annotations

import os
import signal

from w2w.present import messages as msg


def closes_its_pipe_and_lingers(conn, talk_yaml, only, memory_bytes, parent_pid) -> None:
    """Loads "fake", answers the first run with one step, then closes its pipe and stops itself:
    a process on its way out that has not exited, until the test kills it."""
    conn.send(msg.encode(msg.Loaded("fake", "no model", "cpu", 0.0)))
    conn.send(msg.encode(msg.Ready(0.0)))
    run = msg.decode(conn.recv())
    conn.send(msg.encode(msg.Event(run.run_id, {"type": "step", "index": 0})))
    conn.close()
    os.kill(os.getpid(), signal.SIGSTOP)
