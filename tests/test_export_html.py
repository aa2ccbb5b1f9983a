"""`w2w export-html`: the whole deck as one file that opens offline from anywhere.

The real talk's file is checked as an organiser would get it: alone in a fresh directory, opened by
Chromium with every request but the file itself (and data:/blob:) blocked. It must show every
slide of the built deck, its formulas (MathML) and diagrams (SVG) drawn, every image decoded, and
the live slides' Replay buttons must play the recordings from inside the file. What cannot be
embedded is an error that names the reference, and nothing is written.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser

import pytest
from cli_in_process import run_cli

from w2w.errors import W2WError
from w2w.publish.export_html import BUDGET_BYTES, Inliner

pytestmark = [pytest.mark.build, pytest.mark.browser]

READY = "html[data-w2w-ready='true']"


class References(HTMLParser):
    """Every attribute that could make the browser load something, and every CSS url() in a
    <style> element or a style attribute: collected apart from the exporter's own code."""

    LOADING = {"src", "href", "srcset", "poster", "data", "background", "xlink:href", "action", "formaction"}

    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.counts: dict[str, int] = {}
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in self.LOADING and value is not None:
                self.refs += [part.strip().split(" ")[0] for part in value.split(",")] if name == "srcset" else [value]
            if name == "style" and value:
                self.refs += _css_urls(value)

    def handle_data(self, data):
        if self._in_style:
            self.refs += _css_urls(data)

    def handle_endtag(self, tag):
        self._in_style = False


def _css_urls(css: str) -> list[str]:
    return [m.strip("'\" ") for m in re.findall(r"url\(([^)]*)\)", css)]


def _parse(text: str) -> References:
    parser = References()
    parser.feed(text)
    return parser


def test_real_talk_as_one_file_opens_offline_with_everything(real_build, tmp_path, chromium):
    root, _ = real_build
    out = tmp_path / "export"
    result = run_cli("export-html", "-o", str(out / "talk.html"), cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr  # the console writes to stderr
    assert re.search(r"talk\.html \(\d+\.\d MB", said), said  # the command says the size
    assert "../index.html" in said  # the handout link, named: it leads out of the one file
    assert [p.name for p in out.iterdir()] == ["talk.html"]  # one file, no scratch left beside it
    size = (out / "talk.html").stat().st_size
    assert size <= BUDGET_BYTES, f"{size / 1e6:.1f} MB"
    refused = run_cli("export-html", "-o", str(out), cwd=root)  # a directory: one line, exit 2
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "is a directory" in refused.stderr and [p.name for p in out.iterdir()] == ["talk.html"]

    text = (out / "talk.html").read_text(encoding="utf-8")
    parsed = _parse(text)
    outside = [r for r in parsed.refs if not r.startswith(("data:", "#"))]
    assert not outside, outside[:5]
    source = _parse((root / "site" / "slides" / "index.html").read_text(encoding="utf-8"))
    for tag in ("section", "math", "svg", "img", "script"):
        assert parsed.counts.get(tag, 0) == source.counts.get(tag, 0), tag  # nothing merged or dropped
    assert parsed.counts["math"] > 0 and parsed.counts["svg"] > 0 and parsed.counts["img"] > 0
    # The recordings' frames are in the file (live.js replays only data:image/png or artifact paths).
    assert "artifacts/" not in text
    assert text.count('"image": "data:image/png;base64,') >= 8

    # Opened from anywhere: a directory of its own, and only the file itself may load.
    anywhere = tmp_path / "elsewhere" / "talk.html"
    anywhere.parent.mkdir()
    shutil.copy(out / "talk.html", anywhere)
    url = anywhere.as_uri()
    blocked, errors = [], []

    def route(request_route):
        requested = request_route.request.url
        if requested.split("#")[0].split("?")[0] == url or requested.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            blocked.append(requested)
            request_route.abort()

    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector(READY, state="attached", timeout=30000)
    seen = page.evaluate(
        """() => {
            const drawn = (els) => Array.from(els).filter((e) => {
                const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length;
            // reveal.js hides slides it is not showing: measure each slide while it is shown.
            const total = Reveal.getTotalSlides();
            let math = 0, shown = 0, diagrams = 0;
            for (let i = 0; i < total; i++) {
                Reveal.slide(i);
                const slide = Reveal.getCurrentSlide();
                const formulas = Array.from(slide.querySelectorAll('math'))
                    .filter((m) => !m.closest('aside.notes'));
                shown += formulas.length;
                math += drawn(formulas);
                diagrams += drawn(slide.querySelectorAll('.w2w-mermaid svg'));
            }
            return {total, math, shown, diagrams,
                    images: Array.from(document.images).map((i) => i.complete && i.naturalWidth > 0)};
        }"""
    )
    assert seen["total"] == source.counts["section"]
    assert seen["math"] == seen["shown"] > 0 and seen["diagrams"] > 0  # every formula on a slide drawn
    assert seen["images"] and all(seen["images"])
    # The live controls replay the recordings from the file: the first frame shows at once.
    replayed = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-w2w-live]')).map((slide) => {
            slide.querySelector('.w2w-live-replay').click();
            const img = slide.querySelector('.w2w-live-image, .w2w-strip img');
            return {kind: slide.dataset.w2wLive, state: slide.dataset.w2wLiveState,
                    image: img ? img.src.slice(0, 22) : null};
        })"""
    )
    assert {r["kind"] for r in replayed} >= {"token_trace", "diffusion_demo", "diffusion_strip", "embedding_plot"}
    assert all(r["state"] == "recorded" for r in replayed), replayed
    assert all(r["image"] in (None, "data:image/png;base64,") for r in replayed), replayed
    assert any(r["image"] for r in replayed)
    assert not blocked and not errors, (blocked, errors)


def test_what_cannot_be_embedded_is_an_error_naming_it(tmp_path):
    """Made-up sites, each with one reference that cannot go into the file; and one with the
    texts that would end an inlined element early (`</script>`, `<!--`, `</style>`)."""
    site = tmp_path / "site"
    (site / "slides").mkdir(parents=True)
    deck = site / "slides" / "index.html"
    cases = {
        '<img src="https://example.org/cat.png">': "'https://example.org/cat.png'",
        '<link rel="stylesheet" href="missing.css">': "'missing.css'",
        '<img src="../../outside.png">': "outside the built site",
        '<script type="application/json">{"image": "artifacts/x/frame_09.png"}</script>': "frame_09.png",
        '<style>body { background: url("http://example.org/bg.gif") }</style>': "http://example.org/bg.gif",
    }
    (tmp_path / "outside.png").write_bytes(b"\x89PNG")
    for markup, named in cases.items():
        deck.write_text(f"<!DOCTYPE html>\n<html><body>\n{markup}\n</body></html>\n")
        with pytest.raises(W2WError) as caught:
            Inliner(deck, site).page()
        assert named in caught.value.what and caught.value.line in (1, 3), (markup, str(caught.value))

    (site / "slides" / "a.js").write_text('const s = "</script><script>alert(1)</script>"; /<!--/.test(s);')
    (site / "slides" / "a.css").write_text('@import "b.css";\np::after { content: "</style>" }')
    (site / "slides" / "b.css").write_text("p { background: url(dot.png) }")
    (site / "slides" / "dot.png").write_bytes(b"\x89PNG\r\n")
    deck.write_text(
        '<html><head><link rel="stylesheet" href="a.css"><script src="a.js"></script></head>'
        '<body><section id="s1"><a href="index.html#/1">back</a></section><section id="s2"></section></body></html>'
    )
    page = Inliner(deck, site).page()
    parsed = _parse(page)
    assert parsed.counts == {"html": 1, "head": 1, "style": 1, "script": 1, "body": 1, "section": 2, "a": 1}
    assert 'href="#/1"' in page and "data:image/png;base64,iVBORw0K" in page and "b.css" not in page
