"""The built deck's slides as the room needs them: reveal.js indices, title, handout page, and the
live generator a slide runs (if any, from its form's `data-w2w-generator`), with the request its
form sends (the talk's own, from the slide's `<script class="w2w-live-data">`). Read once from
site/slides/index.html when the server starts. What the room may suggest on a live slide is that
generator's text input (its LiveRequest's `TextInput`, w2w/plugins/protocol.py), handed in by the
server: the same field and limit as the deck's own form and the server's check of a run; and a
suggestion is checked by that LiveRequest, in the slide's own request, before it is kept."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pydantic import BaseModel

from w2w.plugins.protocol import TextInput, text_input


@dataclass
class Slide:
    h: int
    v: int
    id: str = ""
    title: str = ""
    section: str = ""
    live: str = ""  # the slide's data-w2w-live view ("diffusion_strip", ...), "" when none
    generator: str = ""  # the generator its live form runs
    request: dict | None = None  # the request its form sends, less the typed text (the deck's payload)
    text_input: TextInput | None = None  # what the room may suggest here (None: nothing)
    live_request: type[BaseModel] | None = None  # its generator's LiveRequest, while that runs live

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
        self.data = ""

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
            if tag == "script" and "w2w-live-data" in (a.get("class") or "").split():
                self.in_data_script, self.data = True, ""

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
        elif tag == "script" and self.in_data_script:
            self.in_data_script = False
            try:
                request = json.loads(self.data).get("request")
            except (ValueError, AttributeError):
                request = None
            if self.current is not None and self.current.request is None and isinstance(request, dict):
                self.current.request = request

    def handle_data(self, data: str) -> None:
        if self.in_data_script:
            self.data += data
        elif self.title_tag and self.current is not None:
            self.current.title = " ".join((self.current.title + data).split())


def read_slides(deck: Path, requests: dict[str, type[BaseModel]] | None = None) -> dict[str, Slide]:
    """The deck's slides; `requests` (generator -> its LiveRequest, for the generators live now)
    says what the room may suggest on each live slide, and checks it."""
    parser = _Parser()
    parser.feed(deck.read_text(encoding="utf-8"))
    for slide in parser.slides:
        model = (requests or {}).get(slide.generator)
        slide.text_input = text_input(model) if model is not None else None
        slide.live_request = model if slide.text_input is not None else None
    return {slide.key: slide for slide in parser.slides}
