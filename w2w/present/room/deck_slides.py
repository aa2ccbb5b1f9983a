"""The built deck's slides as the room needs them: reveal.js indices, title, handout page, and the
live generator a slide runs (if any, from its form's `data-w2w-generator`). Read once from
site/slides/index.html when the server starts. What the room may suggest on a live slide is that
generator's text input (its LiveRequest's `TextInput`, w2w/plugins/protocol.py), handed in by the
server: the same field and limit as the deck's own form and the server's check of a run."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from w2w.plugins.protocol import TextInput


@dataclass
class Slide:
    h: int
    v: int
    id: str = ""
    title: str = ""
    section: str = ""
    live: str = ""  # the slide's data-w2w-live view ("diffusion_strip", ...), "" when none
    generator: str = ""  # the generator its live form runs
    text_input: TextInput | None = None  # what the room may suggest here (None: nothing)

    @property
    def key(self) -> str:
        return f"{self.h}.{self.v}"

    def public(self) -> dict:
        kind = self.text_input
        return {
            "key": self.key,
            "h": self.h,
            "v": self.v,
            "title": self.title,
            "handout": f"/sections/{self.section}.html" if self.section else "/",
            "anchor": self.id,
            "suggest": kind.field if kind else None,
            "limit": kind.max_chars if kind else 0,
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
            generator = a.get("data-w2w-generator") if tag == "form" else None
            if generator and not self.current.generator:
                self.current.generator = generator

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


def read_slides(deck: Path, inputs: dict[str, TextInput] | None = None) -> dict[str, Slide]:
    """The deck's slides; `inputs` (generator -> its text input) says what the room may suggest
    on each live slide: only for a generator that runs live now."""
    parser = _Parser()
    parser.feed(deck.read_text(encoding="utf-8"))
    for slide in parser.slides:
        slide.text_input = (inputs or {}).get(slide.generator)
    return {slide.key: slide for slide in parser.slides}
