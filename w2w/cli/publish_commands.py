"""The commands that take the built site elsewhere or judge it: export-pdf, export-html, check.
One function per command; main.py registers them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from w2w.cli import output as cli_output
from w2w.cli.output import project_at
from w2w.errors import W2WError


def export_pdf_command(
    notes: bool = typer.Option(False, "--notes", help="Add a page of speaker notes after each slide that has notes."),
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the PDF (default: site/slides/talk.pdf)."),
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """The built deck as a PDF (1280x720 landscape, one page per slide), printed by headless Chromium."""
    from w2w.publish.pdf_export import export_pdf

    proj = project_at(project)
    with cli_output.console.status("printing the deck…"):
        result = export_pdf(proj, output, notes=notes)
    for problem in result.problems:
        cli_output.console.print(f"warning: {problem}", style="yellow", soft_wrap=True)
    notes_part = f" + {result.notes_pages} notes pages" if notes else ""
    cli_output.console.print(
        Text.assemble(
            ("wrote ", "green"), f"{result.path} ({result.slides} slides{notes_part}) in {result.seconds:.1f} s"
        ),
        soft_wrap=True,
    )


def export_html(
    output: Path = typer.Option(
        None, "--output", "-o", help="Where to write the file (default: site/slides/talk.html)."
    ),
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """The built deck as one self-contained HTML file (CSS, JS, images, SVG and the recordings
    inlined) that opens offline from anywhere; a reference that cannot be embedded is an error."""
    from w2w.publish.export_html import BUDGET_BYTES
    from w2w.publish.export_html import export_html as export

    result = export(project_at(project), output)
    for link in result.unlinked:
        cli_output.console.print(f"note: the link to {link} leads out of the deck: kept as text", soft_wrap=True)
    size = f"{result.size / 1e6:.1f} MB"
    if result.over_budget:
        cli_output.console.print(f"warning: {size} is over the {BUDGET_BYTES / 1e6:.0f} MB budget", style="yellow")
    cli_output.console.print(
        Text.assemble(("wrote ", "green"), f"{result.path} ({size}, {result.inlined} files inlined)"), soft_wrap=True
    )


def check_command(
    project: Path = typer.Option(None, "--project", "-p", help="Project directory."),
) -> None:
    """Open the built deck and handout offline and report every problem, one line each
    (`where: rule: selector: fix`; exit 1 if any): axe-core's WCAG 2.1 A/AA and best-practice rules
    on every slide (each fragment state) and handout page, and its colour-contrast rule there in
    each built-in theme too; network requests, console errors, undecoded images, overflowing or
    empty slides, slide text under 16 px, pages wider than a phone."""
    from w2w.check.browser_check import axe_script, check_deck, check_pages, handout_pages
    from w2w.publish.browser import browser
    from w2w.talk.themes import NAMES

    proj = project_at(project)
    site = proj.site_dir
    deck = site / "slides" / "index.html"
    if not deck.is_file() or not (site / "index.html").is_file():
        raise W2WError(f"no built site in {site}", "run `w2w build-talk` first")
    axe = axe_script(proj.root)
    pages = handout_pages(site)
    with cli_output.console.status("checking the deck and the handout…"), browser() as chromium:
        problems, slides = check_deck(chromium, deck, axe=axe, themes=NAMES)
        problems += check_pages(chromium, site, pages, axe=axe, themes=NAMES)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        cli_output.console.print(
            f"check: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
            f"in {len(slides)} slides and {len(pages)} pages",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    typer.echo(f"check: {len(slides)} slides, {len(pages)} pages, no problems")
