"""The whole talk, built once from the repository's sources, checked as a viewer would see it."""

from __future__ import annotations

import re
import subprocess

import pytest

from w2w.browser import browser
from w2w.browser_check import check_deck, check_pages
from w2w.project import Project

pytestmark = [pytest.mark.build, pytest.mark.browser]


@pytest.fixture(scope="module")
def full(real_build):
    root, result = real_build
    with browser() as chromium:
        # The whole `w2w check` walk, axe-core included: one pass serves every test here.
        deck_problems, slides = check_deck(chromium, root / "site" / "slides" / "index.html")
        page_problems = check_pages(chromium, root / "site")
    return root, result, [str(p) for p in deck_problems], slides, [str(p) for p in page_problems]


def test_real_talk_passes_w2w_check_entirely(full):
    """Everything: axe-core's WCAG rules on every slide state and page, the 16 px rule on the
    slides, no page scrolling sideways on a phone, no network request, no console error."""
    _, _, deck_problems, slides, page_problems = full
    assert deck_problems + page_problems == []
    assert len(slides) >= 25


def test_deck_is_complete(full):
    root, result, problems, slides, _ = full
    assert problems == []
    assert len(slides) >= 25
    assert slides[0]["title"].startswith("From Words to Worlds") and slides[1]["title"] == "Agenda"
    assert all(s["notes"] for s in slides)  # speaker notes on every slide, content slides included
    html = (root / "site" / "slides" / "index.html").read_text()
    assert len(set(re.findall(r'<svg id="(w2w-mermaid-[0-9a-f]+)"', html))) == 2  # both diagrams, inline
    assert html.count("<math") >= 4


def test_live_outputs_are_on_the_slides(full):
    root, result, *_ = full
    html = (root / "site" / "slides" / "index.html").read_text()
    artifacts = result.prepared.produced.artifacts
    similarity = artifacts["embedding_plot"].data["similarity"]
    assert f"{similarity['dog']['puppy']:.2f}" in html and f"{similarity['dog']['banana']:.2f}" in html
    assert similarity["dog"]["puppy"] > similarity["dog"]["banana"]
    trace = artifacts["token_trace"].data
    assert html.count('class="fragment w2w-token"') == len(trace["steps"]) >= 1
    demo = artifacts["diffusion_demo"].data
    assert f"{demo['seconds_per_step']:.3f} s per denoising step" in html
    for name, artifact in artifacts.items():
        for file in artifact.files.values():
            assert (root / "site" / "slides" / "artifacts" / name / file).is_file()
    assert "Live output of" in html


def test_handout_has_every_page(full):
    root, result, _, _, problems = full
    assert problems == []
    site = root / "site"
    for section in result.prepared.talk.sections:
        page = (site / "sections" / f"{section.id}.html").read_text()
        assert 'class="w2w-notes"' in page
    for page in ("deep-dive", "worksheet", "glossary", "references"):
        assert (site / f"{page}.html").is_file()
    worksheet = (site / "worksheet.html").read_text()
    assert "1.204" in worksheet and "4 s" in worksheet and "48 s" in worksheet
    index = (site / "index.html").read_text()
    assert 'href="slides/index.html"' in index


# Rendered size of every visible text on the current slide: computed font size times reveal.js'
# scale (SVG text: times its screen transform), at a 1280x720 viewport.
_SMALL_TEXT = """() => {
  const slides = document.querySelector('.reveal .slides');
  const scale = slides.getBoundingClientRect().width / slides.offsetWidth;
  const current = document.querySelector('.reveal .slides section.present:not(.stack)');
  const small = [];
  const walker = document.createTreeWalker(current, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || el.closest('aside.notes, style, script, title')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    let px = parseFloat(style.fontSize) * scale;
    if (typeof el.getScreenCTM === 'function' && el.getScreenCTM()) {
        const m = el.getScreenCTM(); px = parseFloat(style.fontSize) * Math.hypot(m.a, m.b);
    }
    if (px < 16) small.push(`${px.toFixed(1)} px: ${node.textContent.trim().slice(0, 40)}`);
  }
  return small;
}"""


# Where a slide's content ends: the lowest edge of its visible text (each text node's line boxes)
# and of its images and drawings, as a fraction of the slide's height. Boxes without content
# (a stretched card, a grid cell) do not count, nor the frame (footer, slide number) or the notes;
# the footer's top edge comes back too, which no content may pass.
_CONTENT_END = """() => {
  const slide = document.querySelector('.reveal .slides section.present:not(.stack)');
  const box = slide.getBoundingClientRect();
  const seen = (el) => el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  const frame = (el) => el.closest('aside.notes, .w2w-footer, script, style');
  let bottom = box.top;
  const add = (r) => { if (r.width > 0 && r.height > 0) bottom = Math.max(bottom, r.bottom); };
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || frame(el) || !seen(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) add(r);
  }
  for (const el of slide.querySelectorAll('img, svg, canvas, video')) {
    if (frame(el) || !seen(el) || el.parentElement.closest('svg')) continue;
    add(el.getBoundingClientRect());
  }
  const footer = slide.querySelector('.w2w-footer');
  const foot = footer ? footer.getBoundingClientRect().top : box.bottom;
  return { end: (bottom - box.top) / box.height, footer: (foot - box.top) / box.height };
}"""

# The deck-wide live state, as the audience sees it: its box and whether any of its text shows.
_DECK_STATUS = """() => {
  const badge = document.getElementById('w2w-live-status');
  const r = badge.getBoundingClientRect(), style = getComputedStyle(badge);
  return { width: r.width, height: r.height, fontSize: parseFloat(style.fontSize), text: badge.textContent };
}"""
_SLIDE_STATUS = """() => Array.from(document.querySelectorAll(
    '.reveal .slides section.present .w2w-live-badge, .reveal .slides section.present .w2w-live-line'))
  .filter((el) => el.checkVisibility()).length"""


def test_no_slide_text_under_16_px_at_1280x720(full):
    """One walk over every slide at 1280x720, every fragment shown: no text under 16 px; and issue
    25's quiet, filled slides: at most 5 content slides end above 60 % of the slide's height, live
    status words only on slides with a live output, the deck-wide state a dot of at most 16 px with
    no readable text (its words are the speaker view's, whose frames carry `receiver` in the URL)."""
    from w2w.browser import OfflinePage
    from w2w.browser_check import NO_TRANSITIONS

    root, *_ = full
    deck = root / "site" / "slides" / "index.html"
    with browser() as chromium:
        view = OfflinePage(chromium, 1280, 720)
        view.page.goto(deck.as_uri())
        view.page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=60000)
        view.page.evaluate(NO_TRANSITIONS)
        total = view.page.evaluate("() => Reveal.getTotalSlides()")
        small, ends, status_on, live_slides = {}, {}, [], 0
        for index in range(total):
            view.page.evaluate("(i) => Reveal.slide(i, 0, 999)", index)  # every fragment shown
            found = view.page.evaluate(_SMALL_TEXT)
            if found:
                small[index + 1] = found
            ends[index + 1] = view.page.evaluate(_CONTENT_END)
            live = view.page.evaluate("() => !!Reveal.getCurrentSlide().querySelector('[data-w2w-live]')")
            live_slides += live
            if not live and view.page.evaluate(_SLIDE_STATUS):
                status_on.append(index + 1)
        dot = view.page.evaluate(_DECK_STATUS)
        view.page.goto(deck.as_uri() + "?receiver")  # as reveal.js' speaker view loads it
        view.page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=60000)
        speaker = view.page.evaluate(_DECK_STATUS)
        view.close()
    assert total >= 25 and small == {}
    high = {n: round(e["end"], 2) for n, e in ends.items() if n > 2 and e["end"] < 0.6}  # after title, agenda
    assert len(high) <= 5, f"content slides ending above 60 % of the height: {high}"
    assert [n for n, e in ends.items() if e["end"] > e["footer"] + 0.002] == []  # nothing runs into the footer
    assert status_on == [] and live_slides >= 4
    assert dot["width"] <= 16 and dot["height"] <= 16 and dot["fontSize"] == 0 and dot["text"].startswith("RECORDED")
    assert speaker["fontSize"] >= 16 and speaker["width"] > 100 and "RECORDED" in speaker["text"]


def test_strip_and_demo_say_what_they_show_once(full):
    root, result, *_ = full
    html = (root / "site" / "slides" / "index.html").read_text()
    strip = html[html.index('<div class="w2w-strip"') :]
    strip = strip[: strip.index("</section>")]
    assert "on the next slide" in strip and "previous slide" not in strip
    assert "prediction of the finished image, x̂₀" in strip
    demo = html[html.index('<div class="w2w-demo"') :]  # (data-w2w-live may follow the class)
    demo = demo[: demo.index("</section>")]
    body = demo[: demo.index('<aside class="notes">')]
    assert body.count(" s per denoising step") == 1 and body.count(" s for the image") == 1
    assert body.count("stand-in for Stable Diffusion") == (
        1 if result.prepared.produced.artifacts["diffusion_demo"].data["embedded"] else 0
    )
    assert "does not have" not in html and "this machine has only" not in html  # no apology
    notes = demo[demo.index('<aside class="notes">') :]
    assert "one denoising step took" in notes and "multiply by the number of steps" in notes  # the timing, told
    assert "from pure noise on the left" not in html and "x̂" in html


def test_pdf_trace_page_shows_the_last_steps_candidates(full, tmp_path):
    from w2w.pdf_export import export_pdf

    root, result, *_ = full
    exported = export_pdf(Project(root), tmp_path / "talk.pdf")
    trace = result.prepared.produced.artifacts["token_trace"].data
    last = trace["steps"][-1]
    pages = []
    for number in range(1, exported.pages + 1):
        args = ["pdftotext", "-layout", "-f", str(number), "-l", str(number), str(exported.path), "-"]
        pages.append(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    page = next(p for p in pages if "Watch an LLM write" in p)
    assert f"Step {len(trace['steps'])} of {len(trace['steps'])}" in page
    for candidate in last["top"]:
        assert f"{100 * candidate['prob']:.1f}%" in page
    assert "Step 1 of" not in page  # the earlier steps stay hidden on paper too
