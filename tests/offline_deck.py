"""A built deck opened as a viewer opens the file: from file://, every other request blocked
(w2w.publish.browser.OfflinePage), on the first slide that holds a selector."""

from __future__ import annotations

from pathlib import Path


def offline_deck_at(chromium, root: Path, selector: str):
    """(view, page, slide index) of `root`'s built deck at 1280x720, on the first slide holding
    `selector` (asserted to exist)."""
    from w2w.publish.browser import OfflinePage

    view = OfflinePage(chromium, 1280, 720)
    page = view.page
    page.goto((root / "site" / "slides" / "index.html").as_uri())
    page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=60000)
    index = page.evaluate("(sel) => Reveal.getSlides().findIndex((s) => s.querySelector(sel))", selector)
    assert index >= 0, selector
    page.evaluate("(i) => Reveal.slide(i)", index)
    return view, page, index
