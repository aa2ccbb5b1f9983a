"""The `w2w` console script. Ctrl-C at any moment is one line and exit 130, no traceback: during
the imports that come before any command (typer, rich, the engine: about 0.1 s), Python would
print KeyboardInterrupt's traceback from whichever import it hit, so until the CLI is ready a
SIGINT ends the process at once. Nothing has been written by then."""

from __future__ import annotations

import os
import signal


def _interrupted(signum, frame) -> None:
    os.write(2, b"interrupted\n")
    os._exit(130)


def quiet_interrupt() -> None:
    signal.signal(signal.SIGINT, _interrupted)


def main() -> None:
    quiet_interrupt()
    from w2w.cli.main import main as cli_main

    cli_main()
