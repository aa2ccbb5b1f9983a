"""The built deck's slides as the room needs them: reveal.js indices, title, handout page, and the
live generator a slide runs (if any). Read once from site/slides/index.html when the server starts."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

# What the audience may suggest on a live slide, by the slide's generator; `limit` is the deck's
# own input maxlength for it (templates/live.j2), so a suggestion always fits the slide's input.
SUGGEST = {
    "token_trace": ("prompt", 400),
    "diffusion_demo": ("caption", 200),
    "diffusion_strip": ("caption", 200),
    "embedding_plot": ("words", 130),
}


@dataclass
class Slide:
    h: int
    v: int
    id: str = ""
    title: str = ""
    section: str = ""
    live: str = ""  # the slide's data-w2w-live kind ("diffusion_demo", ...), "" when none
    generator: str = ""  # the generator it runs

    @property
    def key(self) -> str:
        return f"{self.h}.{self.v}"

    def public(self) -> dict:
        kind = SUGGEST.get(self.live)
        return {
            "key": self.key,
            "h": self.h,
            "v": self.v,
            "title": self.title,
            "handout": f"/sections/{self.section}.html" if self.section else "/",
            "anchor": self.id,
            "suggest": kind[0] if kind else None,
            "limit": kind[1] if kind else 0,
        }


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.slides: list[Slide] = []
        self.depth = 0  # <section> nesting inside .slides
        self.in_slides = False
        self.h = -1
        self.v = 0
        self.title_tag: str | None = None
        self.current: Slide | None = None
        self.in_data_script = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "div" and "slides" in (a.get("class") or "").split():
            self.in_slides = True
        if not self.in_slides:
            return
        if tag == "section":
            self.depth += 1
            if self.depth == 1:
                self.h, self.v = self.h + 1, 0
            else:
                self.v = self._vertical()
            self.current = Slide(self.h, self.v, a.get("id") or "", section=a.get("data-section") or "")
            self.slides.append(self.current)
        elif self.current is not None:
            if tag in ("h1", "h2") and not self.current.title:
                self.title_tag = tag
            live = a.get("data-w2w-live")
            if live and not self.current.live:
                self.current.live = live
                self.current.generator = "diffusion_demo" if live == "diffusion_strip" else live

    def _vertical(self) -> int:
        # A nested section: the outer one becomes a stack; drop it if it has no content of its own.
        prev = self.slides[-1] if self.slides else None
        if prev is not None and prev.h == self.h and self.depth == 2 and not prev.title and prev.v == 0:
            if len([s for s in self.slides if s.h == self.h]) == 1:
                self.slides.pop()
                return 0
        return 1 + max((s.v for s in self.slides if s.h == self.h), default=-1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.in_slides:
            self.depth -= 1
        elif tag == self.title_tag:
            self.title_tag = None

    def handle_data(self, data: str) -> None:
        if self.title_tag and self.current is not None:
            self.current.title = " ".join((self.current.title + data).split())


def read_slides(deck: Path) -> dict[str, Slide]:
    parser = _Parser()
    parser.feed(deck.read_text(encoding="utf-8"))
    return {slide.key: slide for slide in parser.slides}
