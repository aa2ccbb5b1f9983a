"""The built deck and handout in headless Chromium (Debian's), from file://, network blocked."""

from __future__ import annotations

import pytest

from w2w.check.browser_check import check_deck, check_pages
from w2w.publish.browser import OfflinePage

pytestmark = [pytest.mark.build, pytest.mark.browser]


def test_deck_loads_offline_with_every_slide_filled_and_fitting(mini_build, chromium):
    root, _ = mini_build
    problems, slides = check_deck(chromium, root / "site" / "slides" / "index.html", accessibility=False)
    assert problems == []
    assert len(slides) == 8  # title, agenda, six content slides
    assert all(s["text"] > 0 for s in slides)
    assert all(s["scrollHeight"] <= s["clientHeight"] for s in slides)
    assert all(s["notes"] for s in slides)


def test_two_handout_pages_load_offline_with_images_decoded(mini_build, chromium):
    root, _ = mini_build
    pages = [root / "site" / "index.html", root / "site" / "sections" / "words.html"]
    assert check_pages(chromium, root / "site", pages, accessibility=False) == []


def test_a_wide_diagram_in_the_handout_scales_to_the_text_column(mini_build, chromium):
    """Material sizes figures to their content; a diagram wider than the column must fill it."""
    root, _ = mini_build
    view = OfflinePage(chromium, 1280, 900)
    view.page.goto((root / "site" / "sections" / "intro.html").as_uri())
    view.page.wait_for_load_state("load")
    natural, drawn, column = view.page.evaluate(
        """() => {
            const svg = document.querySelector('.md-typeset figure.w2w-mermaid svg');
            const column = svg.closest('.md-typeset').getBoundingClientRect().width;
            return [svg.viewBox.baseVal.width, svg.getBoundingClientRect().width, column];
        }"""
    )
    assert natural > column  # the mini talk's diagram is wider than the column...
    assert abs(drawn - column) < 2, (natural, drawn, column)  # ...and is drawn across all of it
    view.close()


def test_handout_search_works_from_file_urls(mini_build, chromium):
    root, _ = mini_build
    view = OfflinePage(chromium, 1280, 900)
    view.page.goto((root / "site" / "index.html").as_uri())
    view.page.wait_for_load_state("load")
    view.page.keyboard.press("/")  # material's search shortcut; typing fires the events it listens to
    view.page.keyboard.type("puppy", delay=50)
    view.page.wait_for_selector(".md-search-result__item", timeout=15000)
    results = view.page.locator(".md-search-result__item").all_inner_texts()
    assert any("Words" in text or "puppy" in text.lower() for text in results)
    assert view.problems("search") == []
    view.close()


def test_speaker_view_opens_from_file_url(mini_build, chromium):
    root, _ = mini_build
    view = OfflinePage(chromium)
    view.page.goto((root / "site" / "slides" / "index.html").as_uri() + "#/2")
    view.page.wait_for_selector("html[data-w2w-ready='true']")
    with view.context.expect_page(timeout=10000) as popup:
        view.page.keyboard.press("s")
    notes = popup.value
    notes.wait_for_load_state()
    notes.wait_for_function("() => document.querySelector('.speaker-controls-notes') !== null", timeout=10000)
    notes.wait_for_function(
        "() => (document.querySelector('.speaker-controls-notes .value') || {}).textContent.includes('Say hello')",
        timeout=10000,
    )
    assert view.problems("speaker view") == []
    view.close()
