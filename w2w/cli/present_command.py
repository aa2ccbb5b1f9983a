"""`w2w present`: the deck and handout served with the live models (w2w/present/server.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from w2w.cli import output as cli_output
from w2w.cli.output import project_at


def present(
    port: int = typer.Option(
        None, "--port", min=1, max=65535, help="Port on 127.0.0.1 (default: live.port in talk.yaml, 8765)."
    ),
    open_browser: bool = typer.Option(False, "--open", help="Open the deck in the default browser."),
    no_build: bool = typer.Option(False, "--no-build", help="Serve site/ as it is, even if stale."),
    only: list[str] = typer.Option(
        None, "--only", help="Run only this generator live (repeatable); the others play recordings."
    ),
    audience: bool = typer.Option(
        False, "--audience", help="Also open a read-only door for the room's phones on the LAN (audience URL + QR)."
    ),
    host: str = typer.Option(
        None, "--host", help="The LAN address for --audience and --remote (default: the default route's interface)."
    ),
    remote: bool = typer.Option(
        False, "--remote", help="Let the speaker's phone drive the talk over the LAN (pairing code + QR here)."
    ),
    rehearse: bool = typer.Option(
        False, "--rehearse", help="Record each slide's and section's time; write .w2w/rehearsals/*.json at the end."
    ),
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """Present: serve the deck and handout with live demos (the models run on this machine), on 127.0.0.1."""
    from w2w.present.server import present as serve_live

    where = project_at(project)
    recorder = None
    if rehearse:
        from w2w.present.remote.rehearse import Recorder

        recorder = Recorder(where.root)
    try:
        serve_live(
            where, port, open_browser, build=not no_build, only=only or None, audience=audience, host=host,
            remote=remote, recorder=recorder,
        )  # fmt: skip
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, after a clean shutdown
        cli_output.console.print("stopped", soft_wrap=True)
        cli_output.interrupt_said = True
        _rehearsal_said(recorder)
        raise typer.Exit(130) from None
    cli_output.console.print("stopped", soft_wrap=True)
    _rehearsal_said(recorder)


def _rehearsal_said(recorder) -> None:
    """The rehearsal's table and file, once the server stopped (present() wrote the file)."""
    if recorder is None or recorder.path is None:
        return
    cli_output.console.print(recorder.table())
    cli_output.console.print(f"rehearsal: {recorder.path} (compare: w2w pacing --rehearsal FILE)", soft_wrap=True)
