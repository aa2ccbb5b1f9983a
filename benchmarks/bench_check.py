"""`w2w check`'s axe runs on slides: one slide state checked with the other slides taken out of the
document (what check_deck does) vs the same axe run scoped to the slide in the whole deck.

Needs a built site (`w2w build-talk`); measures the talk's deck, a few slides, median of 3 each.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from _machine import describe

from w2w.check.browser_check import (
    ALL_SLIDES,
    AXE_RUN,
    AXE_TAGS,
    NO_TRANSITIONS,
    ONLY_SLIDE,
    _wait_ready,
    axe_script,
    page_helpers,
)
from w2w.project import Project
from w2w.publish.browser import OfflinePage, browser

SLIDES = (3, 10, 20, 30)
RUNS = 3


def main() -> dict:
    project = Project.find(Path.cwd())
    deck = project.site_dir / "slides" / "index.html"
    with browser() as chromium:
        view = OfflinePage(chromium)
        page = view.page
        page.goto(deck.resolve().as_uri())
        _wait_ready(page, deck)
        page.add_script_tag(path=str(axe_script(project.root)))
        page.evaluate(NO_TRANSITIONS)
        page_helpers(page)
        alone, scoped = [], []
        for index in SLIDES:
            page.evaluate("(i) => Reveal.slide(i)", index)
            for _ in range(RUNS):
                start = time.perf_counter()
                page.evaluate(ONLY_SLIDE, index)
                page.evaluate(AXE_RUN, [".reveal .slides", AXE_TAGS, True])
                page.evaluate(ALL_SLIDES)
                alone.append(time.perf_counter() - start)
                start = time.perf_counter()
                page.evaluate(AXE_RUN, [".reveal .slides > section.present", AXE_TAGS, True])
                scoped.append(time.perf_counter() - start)
        view.close()
    a, s = statistics.median(alone), statistics.median(scoped)
    print(describe())
    print(
        f"axe on one slide state, other slides taken out vs scoped in the whole deck: "
        f"{a:.2f} s vs {s:.2f} s = {a / s:.2f}x"
    )
    return {"alone_s": a, "scoped_s": s, "ratio": a / s}


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
