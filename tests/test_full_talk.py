"""The whole talk, built once from the repository's sources, checked as a viewer would see it."""

from __future__ import annotations

import re

import pytest

from w2w.browser import browser
from w2w.browser_check import check_deck, check_pages

pytestmark = [pytest.mark.build, pytest.mark.browser]


@pytest.fixture(scope="module")
def full(real_build):
    root, result = real_build
    with browser() as chromium:
        deck_problems, slides = check_deck(chromium, root / "site" / "slides" / "index.html", accessibility=False)
        page_problems = check_pages(chromium, root / "site", accessibility=False)
    return root, result, deck_problems, slides, page_problems


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
    assert f'{demo["seconds_per_step"]:.3f} s per denoising step' in html
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
