"""The browser harness: Debian's headless Chromium driven by Playwright, with pages that may load
only local files. `w2w check` (browser_check.py), the PDF export and the browser tests use it; no
browser is ever downloaded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from w2w.errors import W2WError

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
    """One thing a viewer would trip over: `where: rule: selector: fix` when printed."""

    where: str  # a handout page ("sections/intro.html"), or a deck slide ("slides#/7")
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
    """A page that may load only file:, data:, blob: and about: URLs; every other request is blocked
    and recorded, and so are console errors."""

    def __init__(self, browser, width: int = 1280, height: int = 720):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and url in self.blocked:
            return  # the blocked request is reported as such, once
        self.errors.append(message.text)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def problems(self, where: str, place_of_url: Callable[[str], str | None] = lambda _: None) -> list[Problem]:
        """Blocked requests (each at `place_of_url(url)` where it knows one) and console errors, once each."""
        found = [
            Problem(place_of_url(url) or where, f"network-request: {url}: blocked; ship the file with the talk")
            for url in dict.fromkeys(self.blocked)
        ]
        found += [
            Problem(where, f"console-error: {_one_line(text)}: fix the script or the file it names")
            for text in dict.fromkeys(self.errors)
        ]
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

    def absolute(self, url: str) -> str:
        return self.page.evaluate(
            "(u) => { try { return new URL(u, document.baseURI).href; } catch (e) { return u; } }", url
        )

    def is_blocked(self, src: str | None) -> bool:
        return bool(src) and self.absolute(src) in self.blocked

    def close(self) -> None:
        self.context.close()


def _one_line(text: str) -> str:
    return " ".join(text.split())
