"""`w2w` run inside the test's own process: the real Typer app, with its argument parsing, its
error handling and its console, but no new interpreter per call. A new one imports w2w, mkdocs and
Material again each time: a warm `build-talk` of the mini talk took 1.0 s of CPU as a process and
0.45 s in one (2-core machine, 2026-12-02). What needs a process of its own (an environment, a
resource limit, a signal) runs `python -m w2w`, and so do the tests of a real process's exit
status and output (test_cli.py, test_build.py)."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

TIMEOUT_S = 300  # a hung command ends the test process with every thread's traceback (faulthandler)

# Categories a new `python -m w2w` does not show (Python's default warning filters).
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


class _LastResort(logging.Handler):
    """What a new process does with other libraries' warnings (no logging set up: Python's
    last-resort handler): their message on stderr, whatever stderr is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(record.getMessage() + "\n")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`w2w *args` in `cwd`, answered as a finished process would be: its exit status, stdout and
    stderr. What a process would write to stderr is there too: an exception that escapes (as a
    traceback), the warnings Python shows by default, other libraries' log warnings. The console
    is made afresh without colour, as a process whose output is captured has it."""
    from rich.console import Console
    from typer.testing import CliRunner

    from w2w.cli import main as cli
    from w2w.cli import output

    root, last_resort, console = logging.getLogger(), _LastResort(logging.WARNING), output.console
    output.console = Console(stderr=True, highlight=False, markup=False, color_system=None)
    root.addHandler(last_resort)
    faulthandler.dump_traceback_later(TIMEOUT_S, exit=True)
    try:
        with contextlib.chdir(cwd), output.engine_log(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            for category in HIDDEN:
                warnings.simplefilter("ignore", category)
            result = CliRunner().invoke(cli.app, list(args), prog_name="w2w")
    finally:
        faulthandler.cancel_dump_traceback_later()
        root.removeHandler(last_resort)
        output.console = console
    stderr = result.stderr + "".join(
        warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["w2w", *args], result.exit_code, result.stdout, stderr)
