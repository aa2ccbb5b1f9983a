"""The `w2w` command. Imports stay light here: no torch, no model library at start-up."""

from __future__ import annotations

if __name__ == "__main__":  # `python -m w2w.cli`: Ctrl-C during the imports below is one line too
    from .entry import quiet_interrupt

    quiet_interrupt()

import contextlib
import errno
import functools
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from .errors import W2WError, environment_error

try:  # typer 0.2x carries its own click; its exceptions are what the parser raises
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # a typer that uses the click package
    from click.exceptions import ClickException, NoArgsIsHelpError

app = typer.Typer(
    help="w2w: presentation-as-code for 'From Words to Worlds'. Builds the reveal.js deck and the handout.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich's help renderer costs ~0.3 s of imports per call
)
models_app = typer.Typer(
    help="Model weights: fetch the full models for GPU machines.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(models_app, name="models")
# markup=False: messages carry user and model text ("[dog]", "A[/x/]"), which must print as written.
console = Console(stderr=True, highlight=False, markup=False)


class ConsoleLog(logging.Handler):
    """The engine reports through stdlib logging (logger "w2w.*", as MkDocs does); the CLI shows
    INFO as progress lines (and in the spinner while one runs) and WARNING in yellow."""

    status = None  # rich Status of the command that is running, if any

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            console.print(f"warning: {message}", style="yellow", soft_wrap=True)
            return
        if self.status is not None:
            self.status.update(message)
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


def _project(path: Path | None):
    from .project import Project

    return Project.find(path)


@app.command("build-talk")
@user_errors
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
    from .build import build_site

    proj = _project(project)
    with progress("building the talk…"):
        result = build_site(proj, strict=strict)
    produced = result.prepared.produced
    ran = ", ".join(produced.ran) or "none"
    console.print(
        Text.assemble(
            ("built ", "green"),
            f"{result.site_dir}/index.html and {result.site_dir}/slides/index.html "
            f"in {result.seconds:.1f} s (generators run: {ran}; reused: {len(produced.reused)})",
        ),
        soft_wrap=True,
    )


@app.command()
@user_errors
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
    from .status import explain as explain_status

    rows = explain_status(_project(project))
    explain = explain or check
    width = max((len(r.name) for r in rows), default=0)
    for row in rows:
        state = ("fresh", "green") if row.fresh else ("stale", "yellow")
        console.print(Text.assemble(f"{row.name:<{width}}  ", state, f"  {row.detail}"), soft_wrap=True)
        if explain:
            for difference in row.differences:
                console.print(f"{'':<{width}}    {difference}", soft_wrap=True)
    unpublished = [row.name for row in rows if row.source != "frozen"]
    if check and unpublished:
        console.print(
            f"status: {', '.join(unpublished)} not fresh in talk/frozen/ — a fresh clone would regenerate "
            "it; build, then `w2w freeze` and commit talk/frozen/",
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command()
@user_errors
def freeze(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
    force: bool = typer.Option(False, help="Let an embedded stand-in's output replace a frozen full-model output."),
) -> None:
    """Record the current generator outputs in talk/frozen/ (commit them to publish the talk's artifacts)."""
    from .build import freeze as freeze_outputs

    proj = _project(project)
    with progress("freezing…"):
        names = freeze_outputs(proj, force=force)
    console.print(Text.assemble(("froze ", "green"), f"{', '.join(names)} into {proj.frozen_dir}"), soft_wrap=True)


@app.command()
@user_errors
def serve(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
    address: str = typer.Option("127.0.0.1:8000", help="Where to serve."),
) -> None:
    """Serve the handout and deck with live reload while you edit talk/ and templates/.
    A build error on a save shows in the browser (and here) until the next good save."""
    from mkdocs.commands.serve import serve as mkdocs_serve
    from mkdocs.exceptions import MkDocsException

    from .handout_plugin import user_error

    proj = _project(project)
    _check_address(address)  # before the first build: a busy port is found in a second, not after it
    console.print(f"handout at http://{address}/  deck at http://{address}/slides/index.html", soft_wrap=True)
    interrupted = False

    def on_sigint(signum, frame) -> None:  # MkDocs catches the KeyboardInterrupt and returns normally:
        nonlocal interrupted  # remember it, so that a Ctrl-C is still exit 130, "interrupted"
        interrupted = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        mkdocs_serve(str(proj.mkdocs_yml), dev_addr=address, livereload=True)
    except MkDocsException as exc:  # the first build failed: report the talk's own error
        from .build import mkdocs_error

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


def _generator_commands() -> None:
    """Commands that generators bring (generators.COMMANDS: name -> "module:function"), e.g. the
    shapes model's `train-shapes`; registered like the CLI's own, with the same error handling."""
    import importlib

    import generators

    for name, target in generators.COMMANDS.items():
        module, function = target.split(":")
        app.command(name)(user_errors(getattr(importlib.import_module(module), function)))


_generator_commands()


@models_app.command("pull")
@user_errors
def models_pull(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """Download the talk's full models into the Hugging Face cache (the only command that downloads)."""
    from .config import load_talk
    from .plan import models_to_pull

    proj = _project(project)
    talk, _ = load_talk(proj.talk_yaml)
    ids = models_to_pull(proj, talk)  # the generators the enabled pages use say which models they need
    from huggingface_hub import snapshot_download  # a dependency of transformers

    # Only what from_pretrained reads: the SD repository also holds single-file checkpoints, non-EMA
    # and fp32/fp16 duplicates and the safety checker (about 20 GB that the demo never loads).
    skip = ["*.ckpt", "*.bin", "*.pt", "*.msgpack", "*.onnx", "*non_ema*", "v1-5-*", "safety_checker/*", "*.fp16.*"]
    for model_id in ids:
        console.print(f"pulling {model_id}…", soft_wrap=True)
        try:
            snapshot_download(
                model_id,
                allow_patterns=["*.json", "*.txt", "*.safetensors", "*.model", "*.jinja"],
                ignore_patterns=skip,
            )
        except Exception as exc:  # network and hub errors come in many types
            raise W2WError(f"could not download {model_id}: {exc}", "check the network and the model id") from None


@app.command("export-pdf")
@user_errors
def export_pdf_command(
    notes: bool = typer.Option(False, "--notes", help="Add a page of speaker notes after each slide that has notes."),
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the PDF (default: site/slides/talk.pdf)."),
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """The built deck as a PDF (1280x720 landscape, one page per slide), printed by headless Chromium."""
    from .pdf_export import export_pdf

    proj = _project(project)
    with console.status("printing the deck…"):
        result = export_pdf(proj, output, notes=notes)
    for problem in result.problems:
        console.print(f"warning: {problem}", style="yellow", soft_wrap=True)
    notes_part = f" + {result.notes_pages} notes pages" if notes else ""
    console.print(
        Text.assemble(
            ("wrote ", "green"), f"{result.path} ({result.slides} slides{notes_part}) in {result.seconds:.1f} s"
        ),
        soft_wrap=True,
    )


@app.command("export-html")
@user_errors
def export_html(
    output: Path = typer.Option(
        None, "--output", "-o", help="Where to write the file (default: site/slides/talk.html)."
    ),
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """The built deck as one self-contained HTML file (CSS, JS, images, SVG and the recordings
    inlined) that opens offline from anywhere; a reference that cannot be embedded is an error."""
    from .export_html import BUDGET_BYTES
    from .export_html import export_html as export

    result = export(_project(project), output)
    for link in result.unlinked:
        console.print(f"note: the link to {link} leads out of the deck: kept as text", soft_wrap=True)
    size = f"{result.size / 1e6:.1f} MB"
    if result.over_budget:
        console.print(f"warning: {size} is over the {BUDGET_BYTES / 1e6:.0f} MB budget", style="yellow")
    console.print(
        Text.assemble(("wrote ", "green"), f"{result.path} ({size}, {result.inlined} files inlined)"), soft_wrap=True
    )


@app.command("check")
@user_errors
def check_command(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """Open the built deck and handout offline and report every problem, one line each
    (`where: rule: selector: fix`; exit 1 if any): axe-core's WCAG 2.1 A/AA and best-practice rules
    on every slide (each fragment state) and handout page, and its colour-contrast rule there in
    each built-in theme too; network requests, console errors, undecoded images, overflowing or
    empty slides, slide text under 16 px, pages wider than a phone."""
    from .browser import browser
    from .browser_check import axe_script, check_deck, check_pages, handout_pages
    from .themes import NAMES

    proj = _project(project)
    site = proj.site_dir
    deck = site / "slides" / "index.html"
    if not deck.is_file() or not (site / "index.html").is_file():
        raise W2WError(f"no built site in {site}", "run `w2w build-talk` first")
    axe = axe_script(proj.root)
    pages = handout_pages(site)
    with console.status("checking the deck and the handout…"), browser() as chromium:
        problems, slides = check_deck(chromium, deck, axe=axe, themes=NAMES)
        problems += check_pages(chromium, site, pages, axe=axe, themes=NAMES)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        console.print(
            f"check: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
            f"in {len(slides)} slides and {len(pages)} pages",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    typer.echo(f"check: {len(slides)} slides, {len(pages)} pages, no problems")


@app.command("pacing")
@user_errors
def pacing_command(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
    wpm: int = typer.Option(130, "--wpm", min=1, max=1000, help="Speaking rate in words per minute."),
) -> None:
    """Per section: agenda minutes vs the time its speaker notes take to say, with warnings."""
    from .pacing import section_paces, table, time_claims, warnings
    from .pages import prepare

    proj = _project(project)
    prepared = prepare(proj, site=False)
    paces = section_paces(prepared, wpm)
    out = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 120)
    out.print(table(paces))
    claims = [f"warning: {c.message()} — say it with the minutes() macro" for c in time_claims(prepared)]
    paced = warnings(paces, slot_minutes=prepared.talk.slot_minutes)
    for line in [f"warning: {w}" for w in prepared.warnings] + paced + claims:  # slot vs agenda, pace, claims
        out.print(line, style="yellow", soft_wrap=True)


@app.command()
@user_errors
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
        None, "--host", help="The LAN address for --audience (default: the default route's interface)."
    ),
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """Present: serve the deck and handout with live demos (the models run on this machine), on 127.0.0.1."""
    from .present.server import present as serve_live

    try:
        serve_live(
            _project(project), port, open_browser, build=not no_build, only=only or None, audience=audience, host=host
        )
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, after a clean shutdown
        global _interrupt_said
        console.print("stopped", soft_wrap=True)
        _interrupt_said = True
        raise typer.Exit(130) from None
    console.print("stopped", soft_wrap=True)


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


def main() -> None:
    """The console script. A mistake on the command line (an unknown option, a value out of range)
    is one line, `error: what — how to fix`, exit 2, like every other user error; click would print
    its usage block and a boxed error over four lines."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on, Ctrl-C unwinds
    with engine_log():
        try:
            code = app(standalone_mode=False)
        except KeyboardInterrupt:  # a command's own cleanup (locks, scratch files) has run
            console.print("interrupted", soft_wrap=True)
            sys.exit(130)
        except NoArgsIsHelpError as exc:  # plain `w2w`: the help, as click shows it
            typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            sys.exit(2)
        except ClickException as exc:
            command = (exc.ctx.command_path if getattr(exc, "ctx", None) else "w2w").replace("python -m w2w.cli", "w2w")
            message = " ".join(exc.format_message().split())
            console.print(Text.assemble(("error: ", "bold red"), f"{message} — see `{command} --help`"), soft_wrap=True)
            sys.exit(exc.exit_code)
        except typer.Abort:  # click's form of a Ctrl-C it caught
            console.print("interrupted", soft_wrap=True)
            sys.exit(130)
    code = code if isinstance(code, int) else 0
    if code == 130 and not _interrupt_said:  # typer turns a Ctrl-C into Exit(130), silently
        console.print("interrupted", soft_wrap=True)
    # Done: a Ctrl-C now would land in the interpreter's shutdown, which restores the default
    # handler first (killed by SIGINT, with no word of why). The command has finished; ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


_interrupt_said = False  # `w2w present` says "stopped" for its Ctrl-C


if __name__ == "__main__":
    sys.exit(main())
