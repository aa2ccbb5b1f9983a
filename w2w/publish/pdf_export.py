"""The built deck as a PDF: reveal.js' own print layout (`?print-pdf`) printed by headless Chromium.

The page is opened with the network blocked (only file: and data: URLs load) and printed once the
deck says it is ready (`html[data-w2w-ready="true"]`, set after reveal.js' `pdf-ready` event and
after every image decoded), not after a "network idle" guess. One PDF page per slide, 1280x720
landscape; with `notes=True` each slide that has speaker notes is followed by a page of its notes,
headed with the slide's number and title (repeated, "continued", on each page notes spill onto).
The PDF is tagged (a structure tree for screen readers) and has an outline: one entry per heading.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from w2w.errors import W2WError
from w2w.project import Project
from w2w.publish.browser import OfflinePage, Problem, browser

PAGE_WIDTH, PAGE_HEIGHT = 1280, 720
READY = "html[data-w2w-ready='true']"

# Runs in the print layout: name each notes page after its slide, and where a slide's notes are
# longer than one page, move the paragraphs that do not fit onto a page of their own with the same
# heading, so no page of notes is anonymous.
# Every slide is on paper, so none is hidden from the accessibility tree: reveal.js marks the slides
# it is not showing `aria-hidden` / `inert`, and Chromium builds the PDF's tags and outline from that
# tree (with them, the outline held only the title slide).
UNHIDE = """() => document.querySelectorAll('.reveal .slides [aria-hidden], .reveal .slides [inert]').forEach((e) => {
  e.removeAttribute('aria-hidden'); e.removeAttribute('inert');
})"""

LABEL_NOTES = """(pageHeight) => {
  const pages = Array.from(document.querySelectorAll('.reveal .slides > .pdf-page'));
  pages.forEach((page, i) => {
    const notes = page.nextElementSibling;
    if (!notes || !notes.classList.contains('speaker-notes-pdf')) return;
    const heading = page.querySelector('h1, h2, h3');
    const title = heading ? heading.textContent.trim() : '';
    let current = notes;
    current.dataset.w2wSlide = String(i + 1);
    current.dataset.w2wTitle = title;
    while (current.scrollHeight > pageHeight && current.children.length > 1) {
      const next = current.cloneNode(false);
      next.dataset.w2wTitle = title + ' (continued)';
      while (current.scrollHeight > pageHeight && current.children.length > 1) {
        next.insertBefore(current.lastElementChild, next.firstChild);
      }
      current.after(next);
      current = next;
    }
  });
}"""


@dataclass
class PdfExport:
    path: Path
    slides: int  # slides in the deck (= slide pages)
    notes_pages: int  # pages of speaker notes (0 without --notes)
    seconds: float
    problems: list[Problem] = field(default_factory=list)  # blocked requests, console errors

    @property
    def pages(self) -> int:
        return self.slides + self.notes_pages


def deck_path(project: Project) -> Path:
    deck = project.site_dir / "slides" / "index.html"
    if not deck.is_file():
        raise W2WError(f"no built deck at {deck}", "run `w2w build-talk` first")
    return deck


def writable_place(output: Path) -> Path:
    """The temp path beside `output`, checked writable now (before Chromium starts): a directory,
    a read-only or impossible place is a one-line error naming it."""
    if output.is_dir():
        raise W2WError(f"-o {output} is a directory", f"give a file name, e.g. -o {output / 'talk.pdf'}")
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch()
    except OSError as exc:
        raise W2WError(
            f"cannot write the PDF to {output}: {exc.strerror or exc}",
            "choose a place you can write to with -o (e.g. -o talk.pdf)",
        ) from None
    return tmp


def print_url(deck: Path, notes: bool) -> str:
    # Query parameters override reveal.js' config: no margin (the page is exactly one slide),
    # and notes on a page of their own after their slide.
    query = "print-pdf&margin=0" + ("&showNotes=separate-page" if notes else "")
    return f"{deck.resolve().as_uri()}?{query}"


def export_pdf(project: Project, output: Path | None = None, notes: bool = False, timeout_s: float = 60) -> PdfExport:
    deck = deck_path(project)
    output = Path(output) if output else deck.parent / "talk.pdf"
    tmp = writable_place(output)
    started = time.perf_counter()
    try:
        with browser() as chromium:
            view = OfflinePage(chromium, PAGE_WIDTH, PAGE_HEIGHT)
            page = view.page
            page.emulate_media(media="print")
            page.goto(print_url(deck, notes))
            try:
                page.wait_for_selector(READY, state="attached", timeout=timeout_s * 1000)
            except Exception:  # Playwright's TimeoutError; the deck never said it was ready
                problems = "; ".join(str(p) for p in view.problems("slides")) or "no console errors"
                raise W2WError(
                    f"the deck did not become ready within {timeout_s:.0f} s ({problems})",
                    "rebuild it with `w2w build-talk`, then run `w2w check` to see what fails",
                ) from None
            page.evaluate(UNHIDE)
            if notes:
                page.evaluate(LABEL_NOTES, PAGE_HEIGHT)
            counts = page.evaluate(
                """() => ({
                    slides: document.querySelectorAll('.reveal .slides .pdf-page').length,
                    notes: document.querySelectorAll(
                        '.reveal .slides > .speaker-notes-pdf[data-layout="separate-page"]').length,
                })"""
            )
            page.pdf(
                path=str(tmp),
                width=f"{PAGE_WIDTH}px",
                height=f"{PAGE_HEIGHT}px",
                print_background=True,
                prefer_css_page_size=True,
                margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
                tagged=True,
                outline=True,
            )
            os.replace(tmp, output)
            problems = view.problems("slides")
            view.close()
    finally:
        tmp.unlink(missing_ok=True)
    return PdfExport(output, counts["slides"], counts["notes"], time.perf_counter() - started, problems)
