"""Open the built deck and handout in headless Chromium with the network blocked, and report what a
viewer would trip over: requests that leave the machine, console errors, images that did not
decode, empty slides, and slides whose content is taller than the slide.

Used by `w2w check` and by the browser tests. Chromium is Debian's (`/usr/bin/chromium`), driven by
Playwright; no browser is downloaded.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import W2WError

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class Problem:
    where: str  # page, or deck slide "slides#/7"
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def chromium_path() -> str:
    for candidate in (os.environ.get("W2W_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    raise W2WError("Chromium not found", "install Debian's chromium (apt-get install chromium) or set W2W_CHROMIUM")


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


class OfflinePage:
    """A page that may load only file: and data: URLs; records everything else and console errors."""

    def __init__(self, browser, width: int = 1280, height: int = 720):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def problems(self, where: str) -> list[Problem]:
        found = [Problem(where, f"request to the network: {url}") for url in self.blocked]
        found += [Problem(where, f"console error: {text}") for text in self.errors]
        self.blocked, self.errors = [], []
        return found

    def undecoded_images(self) -> list[str]:
        return self.page.evaluate(
            """async () => {
                const bad = [];
                for (const img of document.images) {
                    try { await img.decode(); } catch (e) {}
                    if (!img.complete || img.naturalWidth === 0) bad.push(img.getAttribute('src'));
                }
                return bad;
            }"""
        )

    def close(self) -> None:
        self.context.close()


def check_deck(browser, deck: Path) -> tuple[list[Problem], list[dict]]:
    """Walk every slide. Returns problems and a per-slide summary (title, heights, notes)."""
    view = OfflinePage(browser)
    page = view.page
    page.goto(deck.resolve().as_uri())
    page.wait_for_selector("html[data-w2w-ready='true']", timeout=30000)
    problems = view.problems("slides")
    for src in view.undecoded_images():
        problems.append(Problem("slides", f"image did not decode: {src}"))
    slides = page.evaluate(
        """() => Reveal.getSlides().map((s, i) => {
            Reveal.slide(i);
            const text = s.innerText.replace(/\\s+/g, ' ').trim();
            const media = s.querySelectorAll('img, svg, math, table, pre').length;
            return {
                index: i,
                id: s.id,
                title: (s.querySelector('h1, h2') || {}).textContent || '',
                scrollHeight: s.scrollHeight,
                clientHeight: s.clientHeight,
                text: text.length,
                media: media,
                notes: !!s.querySelector('aside.notes'),
            };
        })"""
    )
    for slide in slides:
        where = f"slides#/{slide['index']}"
        if slide["text"] == 0 and slide["media"] == 0:
            problems.append(Problem(where, "empty slide"))
        if slide["scrollHeight"] > slide["clientHeight"] + 2:
            problems.append(
                Problem(where, f"content overflows the slide ({slide['scrollHeight']}px > {slide['clientHeight']}px): "
                        f"{slide['title'].strip()!r}")
            )
    problems += view.problems("slides")
    view.close()
    return problems, slides


def check_pages(browser, site: Path, pages: list[Path] | None = None) -> list[Problem]:
    """Load handout pages (default: every page except the deck and 404) and report problems."""
    pages = pages or sorted(p for p in site.rglob("*.html") if "slides" not in p.relative_to(site).parts and p.name != "404.html")
    problems: list[Problem] = []
    view = OfflinePage(browser, 1280, 900)
    for path in pages:
        where = str(path.relative_to(site))
        view.page.goto(path.resolve().as_uri())
        view.page.wait_for_load_state("load")
        for src in view.undecoded_images():
            problems.append(Problem(where, f"image did not decode: {src}"))
        problems += view.problems(where)
    view.close()
    return problems
