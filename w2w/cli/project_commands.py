"""The commands on the talk and its outputs: build-talk, status, freeze, serve, models pull, pacing.
One function per command; main.py registers them. Each imports its engine module when it runs."""

from __future__ import annotations

import errno
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from w2w.cli import output as cli_output
from w2w.cli.output import project_at
from w2w.errors import W2WError


def build_talk(
    project: Path = typer.Option(
        None, "--project", "-p", help="Project directory (default: search upwards from here)."
    ),
    strict: bool = typer.Option(
        False,
        help="Fail instead of warning: a stale frozen full-model output the stand-in would replace, an agenda that "
        "does not add up to the slot, notes whose minutes disagree with the agenda.",
    ),
) -> None:
    """Run the live-output generators and build the deck (site/slides/) and the handout (site/)."""
    from w2w.build import build_site

    proj = project_at(project)
    with cli_output.progress("building the talk…"):
        result = build_site(proj, strict=strict)
    produced = result.prepared.produced
    ran = ", ".join(produced.ran) or "none"
    cli_output.console.print(
        Text.assemble(
            ("built ", "green"),
            f"{result.site_dir}/index.html and {result.site_dir}/slides/index.html "
            f"in {result.seconds:.1f} s (generators run: {ran}; reused: {len(produced.reused)})",
        ),
        soft_wrap=True,
    )


def status(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
    explain: bool = typer.Option(False, "--explain", help="For each stale artifact, list the key fields that differ."),
    check: bool = typer.Option(
        False,
        "--check",
        help="Exit 1 unless every artifact is fresh in talk/frozen/ (for CI: what a fresh clone publishes).",
    ),
) -> None:
    """Which artifacts are fresh (frozen or cached) and which the next build would regenerate."""
    from w2w.artifacts.status import explain as explain_status

    rows = explain_status(project_at(project))
    explain = explain or check
    width = max((len(r.name) for r in rows), default=0)
    for row in rows:
        state = ("fresh", "green") if row.fresh else ("stale", "yellow")
        cli_output.console.print(Text.assemble(f"{row.name:<{width}}  ", state, f"  {row.detail}"), soft_wrap=True)
        if explain:
            for difference in row.differences:
                cli_output.console.print(f"{'':<{width}}    {difference}", soft_wrap=True)
    unpublished = [row.name for row in rows if row.source != "frozen"]
    if check and unpublished:
        cli_output.console.print(
            f"status: {', '.join(unpublished)} not fresh in talk/frozen/ — a fresh clone would regenerate "
            "it; build, then `w2w freeze` and commit talk/frozen/",
            soft_wrap=True,
        )
        raise typer.Exit(1)


def freeze(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
    force: bool = typer.Option(False, help="Let an embedded stand-in's output replace a frozen full-model output."),
) -> None:
    """Record the current generator outputs in talk/frozen/ (commit them to publish the talk's artifacts)."""
    from w2w.build import freeze as freeze_outputs

    proj = project_at(project)
    with cli_output.progress("freezing…"):
        names = freeze_outputs(proj, force=force)
    cli_output.console.print(
        Text.assemble(("froze ", "green"), f"{', '.join(names)} into {proj.frozen_dir}"), soft_wrap=True
    )


def serve(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
    address: str = typer.Option("127.0.0.1:8000", help="Where to serve."),
) -> None:
    """Serve the handout and deck with live reload while you edit talk/ and templates/.
    A build error on a save shows in the browser (and here) until the next good save."""
    from mkdocs.commands.serve import serve as mkdocs_serve
    from mkdocs.exceptions import MkDocsException

    from w2w.publish.handout_plugin import user_error

    proj = project_at(project)
    _check_address(address)  # before the first build: a busy port is found in a second, not after it
    cli_output.console.print(
        f"handout at http://{address}/  deck at http://{address}/slides/index.html", soft_wrap=True
    )
    interrupted = False

    def on_sigint(signum, frame) -> None:  # MkDocs catches the KeyboardInterrupt and returns normally:
        nonlocal interrupted  # remember it, so that a Ctrl-C is still exit 130, "interrupted"
        interrupted = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        mkdocs_serve(str(proj.mkdocs_yml), dev_addr=address, livereload=True)
    except MkDocsException as exc:  # the first build failed: report the talk's own error
        from w2w.build import mkdocs_error

        raise user_error(exc) or mkdocs_error(exc, [], proj.mkdocs_yml) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt  # main() says "interrupted" and exits 130


def _check_address(address: str) -> None:
    """HOST:PORT that this machine can listen on now (bad values, a port in use: one line)."""
    import socket

    host, _, port_text = address.rpartition(":")
    fix = "use --address HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8000"
    if not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise W2WError(f"--address {address!r} is not HOST:PORT with a port from 1 to 65535", fix)
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            probe.bind((host.strip("[]"), int(port_text)))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise W2WError(
                f"port {port_text} is already in use on {host}",
                "choose another port, e.g. --address 127.0.0.1:8001, or stop the program using it",
            ) from None
        raise W2WError(
            f"cannot serve on {address}: {exc.strerror or exc}", "use an address of this machine, e.g. 127.0.0.1:8000"
        ) from None


def models_pull(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """Download the talk's full models into the Hugging Face cache (the only command that downloads)."""
    from w2w.artifacts.plan import models_to_pull
    from w2w.talk.config import load_talk

    proj = project_at(project)
    talk, _ = load_talk(proj.talk_yaml)
    ids = models_to_pull(proj, talk)  # the generators the enabled pages use say which models they need
    from huggingface_hub import snapshot_download  # a dependency of transformers

    # Only what from_pretrained reads: the SD repository also holds single-file checkpoints, non-EMA
    # and fp32/fp16 duplicates and the safety checker (about 20 GB that the demo never loads).
    skip = ["*.ckpt", "*.bin", "*.pt", "*.msgpack", "*.onnx", "*non_ema*", "v1-5-*", "safety_checker/*", "*.fp16.*"]
    for model_id in ids:
        cli_output.console.print(f"pulling {model_id}…", soft_wrap=True)
        try:
            snapshot_download(
                model_id,
                allow_patterns=["*.json", "*.txt", "*.safetensors", "*.model", "*.jinja"],
                ignore_patterns=skip,
            )
        except Exception as exc:  # network and hub errors come in many types
            raise W2WError(f"could not download {model_id}: {exc}", "check the network and the model id") from None


def pacing_command(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
    wpm: int = typer.Option(130, "--wpm", min=1, max=1000, help="Speaking rate in words per minute."),
    rehearsal: Path = typer.Option(
        None, "--rehearsal", help="A rehearsal file (`w2w present --rehearse`): planned vs rehearsed, new minutes."
    ),
    apply: bool = typer.Option(False, "--apply", help="With --rehearsal: write the proposed minutes into talk.yaml."),
) -> None:
    """Per section: agenda minutes vs the time its speaker notes take to say, with warnings; with
    --rehearsal, beside the time a rehearsal really took, and the minutes that suggests."""
    from w2w.render.pacing import section_paces, table, time_claims, warnings
    from w2w.render.prepare import prepare

    if apply and rehearsal is None:
        raise W2WError("--apply writes a rehearsal's proposed minutes", "add --rehearsal FILE")
    proj = project_at(project)
    prepared = prepare(proj)
    paces = section_paces(prepared, wpm)
    out = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 120)
    if rehearsal is not None:
        _rehearsed(out, proj, prepared, paces, rehearsal, wpm, apply)
        return
    out.print(table(paces))
    claims = [f"warning: {c.message()} — say it with the minutes() macro" for c in time_claims(prepared)]
    paced = warnings(paces, slot_minutes=prepared.talk.slot_minutes)
    for line in [f"warning: {w}" for w in prepared.warnings] + paced + claims:  # slot vs agenda, pace, claims
        out.print(line, style="yellow", soft_wrap=True)


def _rehearsed(out, proj, prepared, paces, path: Path, wpm: int, apply: bool) -> None:
    from w2w.render import rehearsal as rehearsals
    from w2w.talk.yaml_edit import set_agenda_minutes

    recorded = rehearsals.load_rehearsal(path)
    rows = rehearsals.compare(paces, recorded, prepared.talk.slot_minutes)
    out.print(rehearsals.table(rows, recorded, wpm))
    if not apply:
        out.print("nothing written: add --apply to write the proposed minutes into talk.yaml", soft_wrap=True)
        return
    changed = set_agenda_minutes(proj.talk_yaml, {row.id: row.proposed for row in rows})
    done = (
        f"wrote the minutes of {', '.join(changed)} into {proj.talk_yaml}" if changed else "talk.yaml already has them"
    )
    cli_output.console.print(Text.assemble(("applied: ", "green"), done), soft_wrap=True)
