"""The whole talk, built once from the repository's sources, checked as a viewer would see it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from offline_deck import offline_deck_at

from w2w.check.browser_check import check_deck, check_pages

pytestmark = [pytest.mark.build, pytest.mark.browser, pytest.mark.model]


@pytest.fixture(scope="module")
def full(real_build, chromium):
    root, result = real_build
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
    # the diagrams, inline (the future part's loop diagram became the loop itself: test_loop_explorer.py)
    assert len(set(re.findall(r'<svg id="(w2w-mermaid-[0-9a-f]+)"', html))) == 1
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


def test_no_slide_text_under_16_px_at_1280x720(full, chromium):
    """One walk over every slide at 1280x720, every fragment shown: no text under 16 px; and issue
    25's quiet, filled slides: at most 5 content slides end above 60 % of the slide's height, live
    status words only on slides with a live output, the deck-wide state a dot of at most 16 px with
    no readable text (its words are the speaker view's, whose frames carry `receiver` in the URL)."""
    from w2w.check.browser_check import NO_TRANSITIONS
    from w2w.publish.browser import OfflinePage

    root, *_ = full
    deck = root / "site" / "slides" / "index.html"
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
    root, result, *_ = full
    pdf = tmp_path / "talk.pdf"
    # `w2w export-pdf` in a process of its own: beside the session's `chromium` (conftest.py),
    # Playwright's sync API cannot start w2w's own browser in this one.
    export = [sys.executable, "-m", "w2w", "export-pdf", "--output", str(pdf)]
    proc = subprocess.run(export, cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    trace = result.prepared.produced.artifacts["token_trace"].data
    last = trace["steps"][-1]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")  # pdftotext ends each page with a form feed
    page = next(p for p in pages if "Watch an LLM write" in p)
    assert f"Step {len(trace['steps'])} of {len(trace['steps'])}" in page
    for candidate in last["top"]:
        assert f"{100 * candidate['prob']:.1f}%" in page
    assert "Step 1 of" not in page  # the earlier steps stay hidden on paper too


# --- the explorables: precomputed results behind controls, from file:// (issue 24) --------------

TOKENS_SHOWN = (
    "() => document.querySelector('{scope} .w2w-explore-tokens').dataset.w2wExploreTokens.split(',').map(Number)"
)


def _choose(page, scope: str, step: int, rank: int) -> list[int]:
    """Click the token of `step` (1-based), then its candidate of `rank` (1-based): the ids shown."""
    page.click(f"{scope} .w2w-explore-token >> nth={step - 1}")
    page.click(f"{scope} .w2w-explore-candidate >> nth={rank - 1}")
    return page.evaluate(TOKENS_SHOWN.format(scope=scope))


@pytest.mark.usefixtures("require_smollm2")
def test_token_tree_from_a_file_with_the_network_blocked(full, smollm2, chromium):
    """'Choose the next token' in the deck and the handout, opened from file:// with every other
    request aborted: the second candidate at step 2 shows another continuation, token for token what
    a direct greedy `generate` from that prefix writes; reset restores the recorded text. The open
    explorer passes axe and the 16 px rule, and the PDF (test above) keeps the recorded trace.
    The same pages (one browser, to keep the suite's time) also look words up in the embedding plot's
    vocabulary, on its slide and its handout page."""
    from test_token_trace import greedy_generate

    from w2w.check.browser_check import axe_problems, axe_script, small_text_problems

    root, result, *_ = full
    trace = result.prepared.produced.artifacts["token_trace"].data
    recorded = [s["token_id"] for s in trace["steps"]]
    lm, tokenizer = smollm2
    axe = axe_script(root)
    shown = {}
    view, page, _ = offline_deck_at(chromium, root, ".w2w-explore-tokens")
    page.click(".present .w2w-explore-toggle")
    assert page.evaluate(TOKENS_SHOWN.format(scope=".present")) == recorded
    shown["deck"] = _choose(page, ".present", 2, 2)
    problems = axe_problems(page, "deck", ".reveal .slides > section.present", axe, own_selectors=True)
    problems += small_text_problems(page, "deck", ".reveal .slides > section.present")
    page.click(".present .w2w-explore-reset")
    assert page.evaluate(TOKENS_SHOWN.format(scope=".present")) == recorded
    assert page.inner_text(".present .w2w-explore-status") == "The greedy path: the recorded trace."
    problems += view.problems("deck")
    index = page.evaluate("() => Reveal.getSlides().findIndex((s) => s.querySelector('.w2w-explore-words'))")
    page.evaluate("(i) => Reveal.slide(i)", index)
    words = {"deck": _look_up(page, ".present", "house", "river")}
    problems += axe_problems(page, "deck", ".reveal .slides > section.present", axe, own_selectors=True)
    problems += small_text_problems(page, "deck", ".reveal .slides > section.present")
    missing = _look_up(page, ".present", "zyxwvut", "dog")
    problems += view.problems("deck")
    page.goto((root / "site" / "sections" / "internal-mechanism.html").as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate(TOKENS_SHOWN.format(scope="")) == recorded
    shown["handout"] = _choose(page, "", 2, 2)
    page.goto((root / "site" / "sections" / "vectors.html").as_uri())
    page.wait_for_load_state("load")
    words["handout"] = _look_up(page, "", "house", "river")
    problems += view.problems("handout")  # (axe saw the handout's explorers in `full`, as the page opens)
    view.close()
    assert [str(p) for p in problems] == []
    # The vocabulary (issue 24, 3): a word is placed with its neighbours; its similarity to another word is
    # the model's cosine within 0.01; a word outside the vocabulary says so and places nothing.
    assert words["deck"] == words["handout"]
    similarity, line, typed, near = words["deck"]
    assert typed == "house" and len(near) == 5 and "house" not in near
    assert f"with “river”: {similarity:.2f}" in line and "1 = same direction" in line
    assert similarity == pytest.approx(_model_cosine("house", "river"), abs=0.01)
    assert missing[0] is None and missing[2] is None
    assert "“zyxwvut” is not among the 2,015 words precomputed" in missing[1]
    assert shown["deck"] == shown["handout"] != recorded
    second = trace["steps"][1]["top"][1]["token_id"]
    assert shown["deck"][:2] == [recorded[0], second]
    prompt = tokenizer(trace["prompt"])["input_ids"]
    assert shown["deck"][2:] == greedy_generate(lm, prompt + shown["deck"][:2], len(shown["deck"]) - 2)


def _look_up(page, scope: str, word: str, other: str):
    """Type `word` and `other` into the vocabulary explorer and submit with Enter: (the similarity shown,
    the status line, the word drawn as typed on the plot, the nearest words listed)."""
    form = f"{scope} .w2w-explore-words form"
    page.fill(f"{form} input[name=word]", word)
    page.fill(f"{form} input[name=other]", other)
    page.press(f"{form} input[name=word]", "Enter")
    similarity = page.get_attribute(f"{scope} .w2w-explore-words", "data-w2w-similarity")
    line = page.inner_text(f"{scope} .w2w-explore-words-line")
    panel = page.locator(f"{scope} .w2w-explore-words-panel")
    if not panel.is_visible():
        return None, line, None, []
    typed = panel.locator(".w2w-words-typed text").text_content()
    near = panel.locator(".w2w-explore-words-near .w2w-words-name").all_inner_texts()
    return float(similarity), line, typed, near


def _model_cosine(a: str, b: str) -> float:
    from w2w_generators.shared.minilm import MiniLM, packaged_minilm

    vectors = MiniLM(packaged_minilm().path).sentence_embeddings([a, b]).float().numpy()
    return float(vectors[0] @ vectors[1])


def _pixels(data_url: str):
    import base64
    import io

    import numpy as np
    from PIL import Image

    assert data_url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB"))


# No two boxes of the demo's text column and the footer overlap (issue 25: "Step 43 of 50" once
# overprinted the footer): the column's visible children against the slide's footer.
_OVERLAPS = """() => {
  const s = document.querySelector('.reveal .slides section.present');
  const foot = s.querySelector('.w2w-footer').getBoundingClientRect();
  return Array.from(s.querySelectorAll('.w2w-demo-text > *, .w2w-strip-caption, .w2w-explore-grid, .w2w-live-meta'))
    .filter((e) => e.getClientRects().length && e.textContent.trim())
    .filter((e) => { const r = e.getBoundingClientRect(); return r.bottom > foot.top + 1 && r.top < foot.bottom; })
    .map((e) => e.className || e.tagName);
}"""


@pytest.mark.usefixtures("require_shapes")
def test_diffusion_sweep_from_a_file_with_the_network_blocked(full, tmp_path, chromium):
    """Seed, guidance and steps on the demo and strip slides and the handout, from file:// with the
    network blocked: another seed shows another image, pixel for pixel what a direct pipeline call
    with that seed, guidance and step count draws; its words follow it; no state overlaps the footer."""
    import numpy as np
    import torch

    from w2w_generators.diffusion_demo.generator import DiffusionDemo

    root, result, *_ = full
    demo = result.prepared.produced.artifacts["diffusion_demo"].data
    assert demo["embedded"] and len(demo["grid"]["cells"]) >= 4 * 4 * 3 and 0 in demo["grid"]["guidance"]
    shots = {}
    view, page, _ = offline_deck_at(chromium, root, ".w2w-demo .w2w-explore-grid")
    recorded = page.get_attribute(".present .w2w-live-image", "src")
    assert page.evaluate(_OVERLAPS) == []
    page.select_option(".present .w2w-explore-grid select[name=seed]", "1")
    page.select_option(".present .w2w-explore-grid select[name=steps]", "10")
    # The arrow keys on a focused select choose an option; reveal.js does not turn the slide.
    slide = page.evaluate("() => Reveal.getIndices().h")
    page.focus(".present .w2w-explore-grid select[name=steps]")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => Reveal.getIndices().h") == slide
    page.select_option(".present .w2w-explore-grid select[name=steps]", "10")
    shots["deck"] = page.get_attribute(".present .w2w-live-image", "src")
    settings = page.inner_text(".present .w2w-demo-settings")
    assert page.evaluate(_OVERLAPS) == []
    page.screenshot(path=str(tmp_path / "demo-cell.png"))
    page.click(".present .w2w-live-replay")  # the recording, replayed: its words come back
    page.wait_for_selector(
        ".present[data-w2w-live-state='recorded-done'], .present [data-w2w-live-state='recorded-done']"
    )
    assert page.evaluate(_OVERLAPS) == []
    assert page.inner_text(".present .w2w-demo-settings").startswith(f"{demo['steps']} DDIM steps")
    strip = page.evaluate(
        "() => Reveal.getSlides().findIndex((s) => s.querySelector('[data-w2w-live=diffusion_strip] form'))"
    )
    page.evaluate("(i) => Reveal.slide(i)", strip)
    page.select_option(".present .w2w-explore-grid select[name=guidance]", "0")
    frames = page.eval_on_selector_all(".present .w2w-strip figure img", "(imgs) => imgs.map((i) => i.src)")
    assert page.evaluate(_OVERLAPS) == []
    evaluation = page.evaluate("() => Reveal.getSlides().findIndex((s) => s.querySelector('.w2w-eval form'))")
    page.evaluate("(i) => Reveal.slide(i)", evaluation)
    eval_shown = {"deck": _eval_cell(page, ".present .w2w-eval")}
    assert page.evaluate(_OVERLAPS) == []
    problems = view.problems("deck")
    page.goto((root / "site" / "sections" / "internal-mechanism.html").as_uri())
    page.wait_for_load_state("load")
    handout = page.locator(".w2w-demo .w2w-explore-grid")
    handout.locator("select[name=seed]").select_option("1")
    handout.locator("select[name=steps]").select_option("10")
    shots["handout"] = page.get_attribute(".w2w-demo .w2w-live-image", "src")
    eval_shown["handout"] = _eval_cell(page, ".w2w-eval")
    problems += view.problems("handout")
    view.close()
    assert [str(p) for p in problems] == []
    assert shots["deck"] != recorded and settings == "10 DDIM steps · guidance 4 · seed 1"
    assert shots["handout"] == shots["deck"]
    assert len(set(frames)) == 1 and frames[0].startswith("data:image/png")  # crops of the cell's strip
    generator = DiffusionDemo()
    inputs = result.prepared.talk.generators.diffusion_demo
    loaded = generator.load(generator.resolve_model(inputs, {}), "cpu")
    direct = loaded.pipe(
        demo["prompt"], num_inference_steps=10, guidance_scale=4.0, generator=torch.Generator("cpu").manual_seed(1)
    ).images[0]
    # The same cell, up to the last bit of a float: the build may have run on another thread count
    # than this test (xdist gives each worker one), and a sum taken in another order rounds apart
    # (measured: at most 1 level of 255 here). Another seed's picture differs by far more.
    shown = _pixels(shots["deck"]).astype(int)
    assert np.abs(shown - np.asarray(direct.convert("RGB"), dtype=int)).max() <= 2
    # The evaluation's sweep: guidance 0 at 5 steps shows that cell's pictures, marks and count.
    cell = result.prepared.produced.artifacts["shapes_eval"].data["grid"]["cells"]["2|0|5"]
    expected = (f"{sum(cell['correct'])} of 16", cell["tiles"], ["✓" if ok else "✗" for ok in cell["correct"]])
    assert eval_shown["deck"] == eval_shown["handout"] == expected


def _eval_cell(page, box: str):
    """Seed 2, guidance 0, 5 steps on the evaluation's controls: (the count, the tiles, the marks)."""
    form = page.locator(box + " form")
    for name, value in (("seed", "2"), ("guidance", "0"), ("steps", "5")):
        form.locator(f"select[name={name}]").select_option(value)
    count = page.inner_text(box + " .w2w-eval-count")
    tiles = page.evaluate("(sel) => document.querySelector(sel).style.getPropertyValue('--w2w-eval-tiles')", box)
    marks = page.eval_on_selector_all(
        box + " .w2w-eval-tile",
        "(ts) => ts.sort((a, b) => a.dataset.w2wCase - b.dataset.w2wCase)"
        ".map((t) => t.querySelector('.w2w-eval-mark').textContent)",
    )
    return count, tiles.removeprefix('url("').removesuffix('")'), marks


def test_explorables_fit_the_size_budget_and_load_nothing(full):
    """Issue 24's budget: what the explorables add to the site (the data the pages inline, their
    scripts and styles, the vocabulary files, the tree inside the trace files) is at most 4 MB; the
    whole `w2w check` walk (`full`) saw no request leave file://, with the controls on their slides and pages."""
    import json

    root, _, deck_problems, _, page_problems = full
    site = root / "site"
    inline = sum(
        len(m.group(1).encode())
        for page in site.rglob("*.html")
        for m in re.finditer(
            r'<script type="application/json" class="w2w-(?:explore|grid|eval|loop)-data"[^>]*>(.*?)</script>',
            page.read_text(encoding="utf-8"),
            re.S,
        )
    )
    files = sum(
        p.stat().st_size
        for p in [*site.rglob("w2w-explore*"), *site.rglob("w2w-live-diffusion.js"), *site.rglob("vocab.js")]
    )
    tree = sum(
        len(json.dumps(json.loads(p.read_text())["tree"], ensure_ascii=False, separators=(",", ":")).encode())
        for p in site.rglob("artifacts/token_trace/trace.json")
    )
    assert inline > 0 and files > 0 and tree > 0
    assert inline + files + tree <= 4_000_000
    assert not [p for p in deck_problems + page_problems if "network-request" in p]
