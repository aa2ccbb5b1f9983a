"""Open the built deck and handout in headless Chromium with the network blocked, and report what a
viewer would trip over: requests that leave the machine, console errors, images that did not
decode, empty slides, slides whose content is taller than the slide, and accessibility problems
(images without alt text, headings that skip a level, text below WCAG AA contrast).

Used by `w2w check` and by the browser tests. Chromium is Debian's (`/usr/bin/chromium`), driven by
Playwright; no browser is downloaded.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

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
            Problem(place_of_url(url) or where, f"request to the network (blocked): {url}") for url in dict.fromkeys(self.blocked)
        ]
        found += [Problem(where, f"console error: {text}") for text in dict.fromkeys(self.errors)]
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


# In-page accessibility audit of one scope (a slide, or a handout page). Contrast follows WCAG 2.x:
# relative luminance of the text colour (with its alpha and the element's opacity) over the
# effective background, found by walking the ancestors and compositing their background colours
# (transparent = look further up; a background image or gradient makes the background unknown, and
# such text is skipped). Text inside <svg>/<math>, speaker notes and hidden elements is skipped.
A11Y_JS = r"""
([scopeSelector, headingScopeSelector, firstHeadingFree]) => {
    const scope = document.querySelector(scopeSelector);
    if (!scope) return {images: [], headings: [], contrast: []};
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    const parsed = new Map();
    const rgba = (css) => {
        if (parsed.has(css)) return parsed.get(css);
        let v = null, m;
        if ((m = css.match(/^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/))) {
            v = [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
        } else if ((m = css.match(/^color\(srgb ([-\d.e]+) ([-\d.e]+) ([-\d.e]+)(?: \/ ([\d.]+))?\)$/))) {
            v = [255 * m[1], 255 * m[2], 255 * m[3], m[4] === undefined ? 1 : +m[4]];
        } else {  // any other colour syntax: let the canvas convert it (8-bit, good enough here)
            ctx.clearRect(0, 0, 1, 1);
            ctx.fillStyle = '#000';
            ctx.fillStyle = css;
            ctx.fillRect(0, 0, 1, 1);
            const d = ctx.getImageData(0, 0, 1, 1).data;
            v = [d[0], d[1], d[2], d[3] / 255];
        }
        v = v.map((x, i) => i < 3 ? Math.min(255, Math.max(0, x)) : Math.min(1, Math.max(0, x)));
        parsed.set(css, v);
        return v;
    };
    const over = (top, below) => [0, 1, 2].map((i) => top[3] * top[i] + (1 - top[3]) * below[i]).concat([1]);
    const luminance = (c) => {
        const [r, g, b] = c.slice(0, 3).map((x) => {
            x /= 255;
            return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const hex = (c) => '#' + c.slice(0, 3).map((x) => Math.round(x).toString(16).padStart(2, '0')).join('');
    const background = (el) => {
        const layers = [];
        for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
            const cs = getComputedStyle(n);
            if (cs.backgroundImage && cs.backgroundImage !== 'none') return null;
            const c = rgba(cs.backgroundColor);
            if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let bg = [255, 255, 255, 1];  // the canvas under everything
        for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
        return bg;
    };
    const opacity = (el) => {
        let o = 1;
        for (let n = el; n && n.nodeType === 1; n = n.parentElement) o *= parseFloat(getComputedStyle(n).opacity);
        return o;
    };
    const skipped = (el) => !!el.closest('svg, math, aside.notes, script, style, noscript, template, [hidden], [aria-hidden="true"]');

    const images = [];
    for (const img of scope.querySelectorAll('img')) {
        if (!(img.getAttribute('alt') || '').trim()) images.push(img.getAttribute('src') || '(no src)');
    }

    const headings = [];
    const headingScope = document.querySelector(headingScopeSelector) || scope;
    let previous = null;
    for (const h of headingScope.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
        if (skipped(h)) continue;
        const level = +h.tagName[1];
        const from = previous === null ? (firstHeadingFree ? level - 1 : 0) : previous;
        if (level > from + 1) {
            headings.push({from: previous, to: level, text: h.textContent.replace(/\s+/g, ' ').trim().slice(0, 60)});
        }
        previous = level;
    }

    const groups = new Map();
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        const el = t.parentElement;
        if (!el || seen.has(el) || !t.textContent.trim()) continue;
        seen.add(el);
        if (skipped(el) || el.getClientRects().length === 0) continue;
        const cs = getComputedStyle(el);
        if (cs.visibility !== 'visible' || cs.display === 'none') continue;
        const rect = el.getBoundingClientRect();
        if (rect.width <= 1 || rect.height <= 1) continue;  // visually hidden (screen-reader text)
        const alpha = opacity(el);
        if (alpha < 0.1) continue;  // invisible, e.g. a fragment not yet shown
        const bg = background(el);
        if (!bg) continue;  // text over an image or gradient: not computable here
        const fgRaw = rgba(cs.color);
        const fg = over([fgRaw[0], fgRaw[1], fgRaw[2], fgRaw[3] * alpha], bg);
        const l1 = luminance(fg), l2 = luminance(bg);
        const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
        const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
        const large = size >= 24 || (size >= 18.66 && bold);
        const needed = large ? 3 : 4.5;
        if (ratio + 1e-6 >= needed) continue;
        const key = hex(fg) + ' on ' + hex(bg) + ' ' + needed;
        const g = groups.get(key) || {ratio: ratio, needed: needed, fg: hex(fg), bg: hex(bg), count: 0,
                                       text: t.textContent.replace(/\s+/g, ' ').trim().slice(0, 50)};
        g.count += 1;
        groups.set(key, g);
    }
    return {images: images, headings: headings, contrast: Array.from(groups.values())};
}
"""


def accessibility_problems(page, where: str, scope: str, heading_scope: str, first_heading_free: bool) -> list[Problem]:
    found = page.evaluate(A11Y_JS, [scope, heading_scope, first_heading_free])
    problems = [Problem(where, f"image without alt text: {src}") for src in found["images"]]
    for h in found["headings"]:
        after = f"h{h['from']}" if h["from"] else "the start of the page"
        problems.append(Problem(where, f"heading level skipped: h{h['to']} after {after}: {h['text']!r} — use h{(h['from'] or 0) + 1}"))
    for c in found["contrast"]:
        places = f" ({c['count']} places)" if c["count"] > 1 else ""
        problems.append(
            Problem(where, f"low contrast {c['ratio']:.2f}:1 < {c['needed']:g}:1 (WCAG AA): {c['fg']} on {c['bg']}, "
                    f"e.g. {c['text']!r}{places}")
        )
    return problems


# While auditing, every fragment is shown (the audience sees them all eventually) and transitions
# are off, so what is measured is the slide as it will look, not a frame of an animation.
SHOW_ALL = """() => {
    const style = document.createElement('style');
    style.id = 'w2w-check-show-all';
    style.textContent = '.reveal .slides section, .reveal .slides section * { transition: none !important; animation: none !important; }'
        + ' .reveal .slides section .fragment { opacity: 1 !important; visibility: inherit !important; }';
    document.head.appendChild(style);
    Reveal.configure({ transition: 'none', backgroundTransition: 'none' });
}"""

SLIDE_OF_URL = """(url) => {
    const slides = Reveal.getSlides();
    for (let i = 0; i < slides.length; i++) {
        for (const el of slides[i].querySelectorAll('[src], [href], [srcset], [poster], [data]')) {
            for (const attr of ['src', 'href', 'poster', 'data']) {
                if (el[attr] && String(el[attr]) === url) return i;
            }
            if ((el.getAttribute('srcset') || '').includes(url)) return i;
        }
        if (slides[i].innerHTML.includes(url)) return i;
    }
    return null;
}"""


def _wait_ready(page, what: Path, timeout_ms: int = 30000) -> None:
    try:
        page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=timeout_ms)
    except Exception:  # Playwright's TimeoutError
        raise W2WError(
            f"{what} did not signal that it is ready within {timeout_ms // 1000} s",
            "rebuild with `w2w build-talk`; if it persists, open the deck in a browser and look at its console",
        ) from None


def check_deck(browser, deck: Path, accessibility: bool = True) -> tuple[list[Problem], list[dict]]:
    """Walk every slide. Returns problems and a per-slide summary (title, heights, notes)."""
    view = OfflinePage(browser)
    page = view.page
    page.goto(deck.resolve().as_uri())
    _wait_ready(page, deck)
    blocked = list(view.blocked)

    def place(url: str) -> str | None:
        index = page.evaluate(SLIDE_OF_URL, _absolute(page, url))
        return None if index is None else f"slides#/{index}"

    problems = view.problems("slides", place)
    for src in view.undecoded_images():
        if not _is_blocked(page, src, blocked):
            problems.append(Problem(place(src) if src else "slides", f"image did not decode: {src}"))
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
    if accessibility:
        page.evaluate(SHOW_ALL)
        for slide in slides:
            page.evaluate("(i) => Reveal.slide(i, 0, 999)", slide["index"])
            scope = ".reveal .slides > section.present"
            problems += accessibility_problems(page, f"slides#/{slide['index']}", scope, scope, True)
    problems += view.problems("slides", place)
    view.close()
    return problems, slides


def _absolute(page, url: str) -> str:
    return page.evaluate("(u) => { try { return new URL(u, document.baseURI).href; } catch (e) { return u; } }", url)


def _is_blocked(page, src: str | None, blocked: list[str]) -> bool:
    return bool(src) and _absolute(page, src) in blocked


def handout_pages(site: Path) -> list[Path]:
    """Every handout page of a built site (not the deck, not 404.html)."""
    return sorted(p for p in site.rglob("*.html") if "slides" not in p.relative_to(site).parts and p.name != "404.html")


def check_pages(browser, site: Path, pages: list[Path] | None = None, accessibility: bool = True) -> list[Problem]:
    """Load handout pages (default: every page except the deck and 404) and report problems."""
    pages = pages or handout_pages(site)
    problems: list[Problem] = []
    view = OfflinePage(browser, 1280, 900)
    for path in pages:
        where = str(path.relative_to(site))
        view.page.goto(path.resolve().as_uri())
        view.page.wait_for_load_state("load")
        for src in view.undecoded_images():
            if not _is_blocked(view.page, src, view.blocked):
                problems.append(Problem(where, f"image did not decode: {src}"))
        if accessibility:
            problems += accessibility_problems(view.page, where, "body", ".md-content", False)
        problems += view.problems(where)
    view.close()
    return problems
