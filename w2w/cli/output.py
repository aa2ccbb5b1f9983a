"""What every command shares: the console (stderr, no markup: messages carry user and model text),
the engine's log shown on it, a spinner for long work, and user errors as one line with exit 2."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from w2w.errors import W2WError, environment_error
from w2w.plugins.running import PROGRESS

# markup=False: messages carry user and model text ("[dog]", "A[/x/]"), which must print as written.
console = Console(stderr=True, highlight=False, markup=False)
interrupt_said = False  # `w2w present` says "stopped" for its Ctrl-C; main() then says nothing more


class ConsoleLog(logging.Handler):
    """The engine reports through stdlib logging (logger "w2w.*", as MkDocs does); the CLI shows
    INFO as progress lines (and in the spinner while one runs) and WARNING in yellow. A generator's
    progress ("token_trace: tree 120/280 branches", RunContext.progress) goes only to the spinner
    while one runs: it is out of date the moment the next one comes."""

    status = None  # rich Status of the command that is running, if any

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            console.print(f"warning: {message}", style="yellow", soft_wrap=True)
            return
        if self.status is not None:
            self.status.update(message)
            if getattr(record, PROGRESS, False):
                return
        console.print(f"  {message}", soft_wrap=True)


_console_log = ConsoleLog(logging.INFO)


@contextlib.contextmanager
def progress(message: str):
    """A spinner for a long command; the engine's INFO lines update it."""
    with console.status(message) as status:
        _console_log.status = status
        try:
            yield
        finally:
            _console_log.status = None


def user_errors(command: Callable) -> Callable:
    """A user's mistake prints one line `file:line: what — how to fix` and exits 2, no traceback.
    So does a fault of the user's environment (a full disk, a read-only or missing directory, a
    file where a directory should be): the OS error names the path, and that path is the place."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except W2WError as exc:
            error = exc
        except OSError as exc:
            error = environment_error(exc)
        console.print(Text.assemble(("error: ", "bold red"), str(error)), soft_wrap=True)
        raise typer.Exit(2)

    return wrapper


@contextlib.contextmanager
def engine_log():
    """The engine's log (logger "w2w") on the console while a command runs; the logger as it was after."""
    engine = logging.getLogger("w2w")
    level, propagate = engine.level, engine.propagate
    engine.addHandler(_console_log)
    engine.setLevel(logging.INFO)
    engine.propagate = False
    try:
        yield
    finally:
        engine.removeHandler(_console_log)
        engine.setLevel(level)
        engine.propagate = propagate


def project_at(path: Path | None):
    from w2w.project import Project

    return Project.find(path)
