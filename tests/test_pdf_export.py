"""`w2w export-pdf`: the built mini deck printed through reveal.js' print layout by Debian's Chromium.

The PDF is checked the way a reader would: one page per slide (and a notes page after each slide
with --notes), every page has something drawn on it, the diagram, the formula and the embedding
plot are really there, and the text (slide titles, speaker notes) can be extracted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.build, pytest.mark.browser]

# The mini deck: title, agenda, then intro (text, diagram), maths (formula, text), words (plot, numbers).
SLIDES = ["title", "agenda", "intro", "diagram", "formula", "handout-only", "plot", "numbers"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "w2w", *args], cwd=cwd, capture_output=True, text=True, timeout=180)


def _pages(pdf: Path, out: Path) -> list[np.ndarray]:
    """The PDF's pages as RGB arrays at 40 dpi (pdftoppm, as a reader's viewer would draw them)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(out / "page")], check=True)
    files = sorted(out.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
    # pdftoppm rounds 960 pt to 534 px: the last column is only partly on the page, drop it.
    return [np.asarray(Image.open(f).convert("RGB")).astype(int)[:, :-1] for f in files]


def _ink(page: np.ndarray, top: float = 0.0, bottom: float = 1.0) -> float:
    """Share of pixels (in a horizontal band) that differ clearly from the page's background."""
    band = page[int(top * page.shape[0]) : int(bottom * page.shape[0])]
    background = np.median(page.reshape(-1, 3), axis=0)
    return float((np.abs(band - background).max(axis=2) > 48).mean())


def _text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


@pytest.fixture(scope="module")
def project(mini_build, tmp_path_factory) -> Path:
    """A copy of the built mini talk (the export writes into its site/)."""
    root, _ = mini_build
    copy = tmp_path_factory.mktemp("pdf") / "talk"
    shutil.copytree(root, copy, symlinks=True)
    return copy


@pytest.fixture(scope="module")
def slides_pdf(project) -> tuple[Path, subprocess.CompletedProcess]:
    proc = _cli("export-pdf", cwd=project)
    return project / "site" / "slides" / "talk.pdf", proc


@pytest.fixture(scope="module")
def notes_pdf(project, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("notes-out") / "with notes.pdf"
    proc = _cli("export-pdf", "--notes", "--output", str(out), "--project", str(project), cwd=project.parent)
    return out, proc


def test_default_export_is_one_landscape_page_per_slide(slides_pdf, project):
    pdf, proc = slides_pdf
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "talk.pdf" in proc.stderr and "8 slides" in proc.stderr
    assert pdf.is_file()
    deck = (project / "site" / "slides" / "index.html").read_text()
    assert _page_count(pdf) == len(re.findall(r"<section\b", deck)) == len(SLIDES)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+960 x 540 pts", info)  # 1280 x 720 px at 96 dpi, landscape
    assert not list(pdf.parent.glob(".*.tmp"))  # written atomically, nothing left behind


def test_every_page_is_drawn_and_diagram_formula_and_plot_are_there(slides_pdf, tmp_path):
    pdf, _ = slides_pdf
    pages = _pages(pdf, tmp_path)
    assert len(pages) == len(SLIDES)
    for name, page in zip(SLIDES, pages, strict=False):
        assert _ink(page) > 0.005, f"page {name!r} is (nearly) blank"
    by_name = dict(zip(SLIDES, pages, strict=False))
    # Below the slide's heading (top fifth) and above its footer: the diagram's boxes, the formula.
    assert _ink(by_name["diagram"], 0.25, 0.9) > 0.005
    assert _ink(by_name["formula"], 0.25, 0.9) > 0.001
    assert _ink(by_name["handout-only"], 0.25, 0.9) < 0.001  # a text-only slide: the bands differ
    # The embedding plot is inline SVG (it follows the theme: w2w/render/inline_svg.py), so the PDF holds it
    # as vectors, sharp at any zoom, and no raster picture at all; its points are in the accent colour.
    page = by_name["plot"]
    band = page[int(0.25 * page.shape[0]) : int(0.9 * page.shape[0])].astype(int)
    purple = (band[..., 0] - band[..., 1] > 60) & (band[..., 2] - band[..., 1] > 100)
    assert purple.sum() >= 15, purple.sum()  # the three points, in #7c3aed
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert listing.splitlines()[2:] == []


def test_pdf_text_has_the_slide_titles(slides_pdf):
    pdf, _ = slides_pdf
    text = _text(pdf)
    assert "Mini talk" in text and "A diagram" in text and "Handout only" in text
    assert "Only the audience sees this." in text and "Only readers see this." not in text
    assert "Say hello" not in text  # no notes without --notes
    assert "A diagram" in _text(pdf, SLIDES.index("diagram") + 1)


def test_notes_add_a_page_after_each_slide_with_notes(notes_pdf, project, tmp_path):
    pdf, proc = notes_pdf
    assert proc.returncode == 0, proc.stderr
    assert "8 slides + 8 notes pages" in proc.stderr
    deck = (project / "site" / "slides" / "index.html").read_text()
    with_notes = deck.count('<aside class="notes">')
    assert _page_count(pdf) == len(SLIDES) + with_notes == 16
    # Slide, then its notes: the intro slide is page 5, its notes page 6.
    intro = 2 * SLIDES.index("intro") + 1
    assert "Intro" in _text(pdf, intro) and "Say hello" not in _text(pdf, intro)
    assert "Say hello and ask who has used an LLM." in _text(pdf, intro + 1)
    pages = _pages(pdf, tmp_path)
    assert all(_ink(page) > 0.001 for page in pages), [round(_ink(p), 4) for p in pages]


def test_deck_in_print_mode_is_ready_only_after_reveal_laid_out_the_pages(mini_build, chromium):
    """The ready signal in ?print-pdf waits for reveal.js' 'pdf-ready' (its 'ready' comes first)."""
    from w2w.publish.browser import OfflinePage
    from w2w.publish.pdf_export import READY, print_url

    root, _ = mini_build
    view = OfflinePage(chromium)
    view.page.goto(print_url(root / "site" / "slides" / "index.html", notes=False))
    view.page.wait_for_selector(READY, state="attached", timeout=30000)
    laid_out = view.page.evaluate("() => document.querySelectorAll('.reveal .slides > .pdf-page').length")
    assert laid_out == len(SLIDES)
    assert view.problems("print") == []
    view.close()


def test_pdf_is_tagged_and_has_an_outline_of_the_slides(slides_pdf):
    pdf, _ = slides_pdf
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes", info, re.M)
    xml = subprocess.run(
        ["pdftohtml", "-xml", "-i", "-stdout", str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    outline = re.findall(r"<item page=\"(\d+)\">([^<]*)</item>", xml)
    titles = [title for _, title in outline]
    for title in ("Mini talk", "Agenda", "Intro", "A diagram", "Handout only"):
        assert title in titles, titles
    assert dict((t, int(p)) for p, t in outline)["A diagram"] == SLIDES.index("diagram") + 1


def test_notes_pages_carry_their_slide_number_and_title_when_they_spill_over(project, tmp_path):
    """Notes longer than a page go on as many pages as they need, each headed with its slide."""
    from w2w.build import build_site
    from w2w.project import Project

    copy = tmp_path / "long"
    shutil.copytree(project, copy, symlinks=True, ignore=shutil.ignore_patterns("site"))
    intro = copy / "talk" / "sections" / "intro.md"
    paragraphs = "\n\n".join(f"Paragraph {i}: " + " ".join(["spoken"] * 60) + "." for i in range(12))
    intro.write_text(intro.read_text().replace("Say hello and ask who has used an LLM.", paragraphs))
    build_site(Project(copy))
    out = tmp_path / "notes.pdf"
    proc = _cli("export-pdf", "--notes", "--output", str(out), cwd=copy)
    assert proc.returncode == 0, proc.stderr
    pages = [_text(out, n) for n in range(1, _page_count(out) + 1)]
    headed = [i for i, text in enumerate(pages) if "slide 3 · Intro" in text]
    assert len(headed) >= 2  # the intro's notes took more than one page, and each page says whose
    assert "(continued)" in pages[headed[1]]
    assert "Paragraph 0:" in pages[headed[0]] and "Paragraph 11:" in pages[headed[-1]]
    for i in headed:
        assert re.search(r"SPEAKER NOTES|Speaker notes", pages[i], re.I)
    assert "Intro" in pages[headed[0] - 1]  # the slide itself comes just before its notes
