"""`w2w` run inside the test's own process: the real Typer app, with its argument parsing, its
error handling and its console, but no new interpreter per call. A new one imports w2w, mkdocs and
Material again each time: a warm `build-talk` of the mini talk took 1.0 s of CPU as a process and
0.45 s in one (2-core machine, 2026-12-02). What needs a process of its own (an environment, a
resource limit, a signal) runs `python -m w2w.cli`, and so do the tests of a real process's exit
status and output (test_cli.py, test_build.py)."""

from __future__ import annotations

import contextlib
import subprocess
import traceback
from pathlib import Path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`w2w *args` in `cwd`, answered as a finished process would be: its exit status, stdout and
    stderr. An exception that escapes the command is printed to stderr as a process would print it,
    so a test that rules out a traceback still sees one."""
    from typer.testing import CliRunner

    from w2w import cli

    with contextlib.chdir(cwd), cli.engine_log():
        result = CliRunner().invoke(cli.app, list(args), prog_name="w2w")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["w2w", *args], result.exit_code, result.stdout, stderr)
