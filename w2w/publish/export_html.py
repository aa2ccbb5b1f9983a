"""The built deck as ONE self-contained HTML file (`w2w export-html`): for organisers who want the
talk as a single attachment that opens offline from anywhere.

Generic, not a list of the deck's files: the page is parsed (the standard library's html.parser)
and every reference it makes is inlined, whatever file it names — `<script src>` becomes the
script's text, `<link rel=stylesheet>` a `<style>` (its own `url()`s and `@import`s inlined
relative to the stylesheet), and every other resource attribute (`src`, `srcset`, `poster`,
`data`, `href` on anything that is not a link, `xlink:href`, `style="…url()…"`) a `data:` URL.
The live slides' recordings sit in `<script type="application/json">` and name their frames as
paths (`artifacts/diffusion_demo/frame_00.png`); a JSON string that is a path to a file is replaced
by a `data:` URL too, so live.js (which plays a recording from `file:`) replays it from the page.

Anything that cannot be embedded (an `http(s):` URL, a file that is missing, a path outside the
site) is an error naming the reference and where it is, never a silent drop: Quarto's
`embed-resources` leaves such references in place and its users find out offline. A link (`<a>`,
`<area>`) is not a resource: one to the deck itself becomes an in-page anchor, one elsewhere (the
title slide's link to the handout, an external page) keeps its text and loses its target, and the
command names each such link.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import mimetypes
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from w2w import atomic
from w2w.errors import W2WError
from w2w.project import Project

log = logging.getLogger(__name__)

# The organisers' budget for the real talk (issue 25); the real talk's file is about 2 MB.
BUDGET_BYTES = 12 * 1024 * 1024

LINK_TAGS = {"a", "area"}
# Attributes that load something, on whichever element carries them (html, svg, mathml).
RESOURCE_ATTRS = {"src", "poster", "data", "background", "href", "xlink:href"}
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)["']?\s*\)?([^;]*);""", re.I)
# A JSON string that names a file: a relative or absolute path with a slash, no spaces, and a known
# file extension (a prompt, a model id such as "w2w/shapes-diffusion", a caption are none of these).
JSON_PATH = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?[^\s]*/[^\s/]+\.[A-Za-z0-9]{2,5}$")
RAW_TEXT = {"script", "style"}


@dataclass
class HtmlExport:
    path: Path
    size: int  # bytes written
    inlined: int  # references replaced by their content
    unlinked: list[str] = field(default_factory=list)  # links to pages outside the deck, kept as text

    @property
    def over_budget(self) -> bool:
        return self.size > BUDGET_BYTES


def export_html(project: Project, output: Path | None = None) -> HtmlExport:
    from w2w.publish.pdf_export import deck_path

    deck = deck_path(project)
    output = Path(output) if output else deck.parent / "talk.html"
    if output.is_dir():
        raise W2WError(f"-o {output} is a directory", f"give a file name, e.g. -o {output / 'talk.html'}")
    inliner = Inliner(deck, site=project.site_dir)
    text = inliner.page()
    data = text.encode("utf-8")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(output, data)  # all or nothing: a failed export leaves no half file
    except OSError as exc:
        raise W2WError(
            f"cannot write {output}: {exc.strerror or exc}", "choose a place you can write to with -o"
        ) from None
    log.debug("export-html: %d references inlined, %d links kept as text", inliner.inlined, len(inliner.unlinked))
    return HtmlExport(output, len(data), inliner.inlined, inliner.unlinked)


@dataclass
class _Tag:
    start: int  # offset of '<' in the source
    end: int  # offset after the start tag's '>'
    tag: str
    attrs: list[tuple[str, str | None]]
    line: int
    close: int | None = None  # for script/style: offset of their end tag's '<'
    close_end: int | None = None


class _Scanner(HTMLParser):
    """Start tags with their exact source ranges, and where each script/style element ends."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", source)]
        self.tags: list[_Tag] = []
        self.open_raw: _Tag | None = None

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs)

    def _start(self, tag, attrs):
        start = self._offset()
        text = self.get_starttag_text() or ""
        item = _Tag(start, start + len(text), tag, attrs, self.getpos()[0])
        self.tags.append(item)
        if tag in RAW_TEXT and not text.endswith("/>"):
            self.open_raw = item

    def handle_endtag(self, tag):
        if self.open_raw is not None and tag == self.open_raw.tag:
            start = self._offset()
            self.open_raw.close = start
            self.open_raw.close_end = self.source.index(">", start) + 1
            self.open_raw = None


def scan(source: str) -> list[_Tag]:
    scanner = _Scanner(source)
    scanner.feed(source)
    scanner.close()
    return scanner.tags


class Inliner:
    def __init__(self, deck: Path, site: Path):
        self.deck = deck.resolve()
        self.site = site.resolve()
        self.inlined = 0
        self.unlinked: list[str] = []

    # --- the page ---------------------------------------------------------------------------------
    def page(self) -> str:
        source = self.deck.read_text(encoding="utf-8")
        tags = scan(source)
        out, pos = [], 0
        for item in tags:
            if item.start < pos:
                continue  # inside an element already replaced whole (a script's body)
            replacement, upto = self._rewrite(item, source)
            if replacement is None:
                continue
            out += [source[pos : item.start], replacement]
            pos = upto
        out.append(source[pos:])
        result = "".join(out)
        self._verify(result, tags)
        return result

    def _rewrite(self, item: _Tag, source: str) -> tuple[str | None, int]:
        where = (self.deck, item.line)
        attrs = dict(item.attrs)
        if item.tag == "base":
            raise W2WError("the deck has a <base> element", "remove it: the one file resolves nothing", *where)
        if item.tag == "script" and attrs.get("src"):
            body = self._text(attrs["src"], self.deck.parent, where)
            if source[item.end : item.close].strip():
                raise W2WError("a <script src> has a body too", "move the body into a script of its own", *where)
            kept = [(k, v) for k, v in item.attrs if k != "src"]
            return f"{_start_tag('script', kept)}{_script_safe(body)}</script>", item.close_end or item.end
        if _stylesheet(item):
            path = self._local(attrs.get("href") or "", self.deck.parent, where)
            css = self._css(path.read_text(encoding="utf-8"), path.parent, (path, 1))
            media = f' media="{html.escape(attrs["media"])}"' if attrs.get("media") else ""
            self.inlined += 1
            return f"<style{media}>{_style_safe(css)}</style>", item.end
        if item.tag == "style" and item.close is not None:
            css = self._css(source[item.end : item.close], self.deck.parent, where)
            return source[item.start : item.end] + _style_safe(css), item.close
        if item.tag == "script" and item.close is not None and _is_json(attrs.get("type")):
            body = source[item.end : item.close]
            try:
                data = json.loads(body)
            except ValueError:
                return None, 0
            data = self._json(data, where)
            text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")  # JSON's own escape, in strings
            return source[item.start : item.end] + text, item.close
        changed, new_attrs = False, []
        for name, value in item.attrs:
            new = self._attribute(item.tag, name, value, where)
            if new is _DROP:
                changed = True
                continue
            changed |= new != value
            new_attrs.append((name, new))
        if not changed:
            return None, 0
        closing = "/>" if source[item.start : item.end].endswith("/>") else ">"
        return _start_tag(item.tag, new_attrs, closing), item.end

    def _attribute(self, tag: str, name: str, value: str | None, where):
        if value is None:
            return value
        base = self.deck.parent
        if name == "style":
            return self._css(value, base, where)
        if name == "srcset":
            parts = []
            for candidate in value.split(","):
                url, _, size = candidate.strip().partition(" ")
                parts.append(f"{self._data_url(url, base, where)} {size}".strip())
            return ", ".join(parts)
        if name not in RESOURCE_ATTRS:
            return value
        if tag in LINK_TAGS and name in ("href", "xlink:href"):
            return self._link(value)
        return self._data_url(value, base, where)

    def _link(self, value: str):
        """A link's target: kept within the page, or dropped (the text stays) and reported."""
        if value.startswith("#") or value.startswith("data:"):
            return value
        parts = urlsplit(value)
        if not parts.scheme and parts.path and (self.deck.parent / unquote(parts.path)).resolve() == self.deck:
            return "#" + parts.fragment if parts.fragment else "#"
        self.unlinked.append(value)
        return _DROP

    # --- one reference --------------------------------------------------------------------------------
    def _local(self, ref: str, base: Path, where) -> Path:
        """The file a reference names, inside the site; anything else is a located error."""
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or not parts.path:
            raise W2WError(
                f"cannot embed {ref!r}: only the site's own files can go into the one file",
                "ship the file with the talk (under talk/ or as an artifact) and refer to it by a relative path",
                *where,
            )
        path = (base / unquote(parts.path)).resolve()
        if not path.is_relative_to(self.site):
            raise W2WError(f"cannot embed {ref!r}: it is outside the built site", "refer to a file of the site", *where)
        if not path.is_file():
            raise W2WError(f"cannot embed {ref!r}: {path} does not exist", "rebuild with `w2w build-talk`", *where)
        return path

    def _data_url(self, ref: str, base: Path, where) -> str:
        if not ref or ref.startswith(("data:", "#", "about:")):
            return ref
        path = self._local(ref, base, where)
        if path.suffix.lower() in (".html", ".htm"):
            raise W2WError(
                f"cannot embed the page {ref!r} inside the one file", "show its content on a slide instead", *where
            )
        if path.suffix.lower() == ".css":
            text = self._css(path.read_text(encoding="utf-8"), path.parent, (path, 1))
            payload, mime = text.encode("utf-8"), "text/css"
        else:
            payload = path.read_bytes()
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        fragment = urlsplit(ref).fragment
        self.inlined += 1
        return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}" + (f"#{fragment}" if fragment else "")

    def _text(self, ref: str, base: Path, where) -> str:
        path = self._local(ref, base, where)
        self.inlined += 1
        return path.read_text(encoding="utf-8")

    def _css(self, css: str, base: Path, where) -> str:
        """A stylesheet with its @imports inlined in place and every url() a data: URL."""

        def imported(match: re.Match) -> str:
            path = self._local(match.group(1), base, where)
            inner = self._css(path.read_text(encoding="utf-8"), path.parent, (path, 1))
            media = match.group(2).strip()
            return f"@media {media} {{\n{inner}\n}}" if media else inner

        css = CSS_IMPORT.sub(imported, css)

        def url(match: re.Match) -> str:
            ref = next(g for g in match.groups() if g is not None)
            return f'url("{self._data_url(ref, base, where)}")' if ref and not ref.startswith("data:") else match[0]

        return CSS_URL.sub(url, css)

    def _json(self, data, where):
        if isinstance(data, dict):
            return {k: self._json(v, where) for k, v in data.items()}
        if isinstance(data, list):
            return [self._json(v, where) for v in data]
        if isinstance(data, str) and not data.startswith("data:") and JSON_PATH.match(data) and _typed(data):
            return self._data_url(data, self.deck.parent, where)
        return data

    # --- the guarantee ----------------------------------------------------------------------------------
    def _verify(self, result: str, before: list[_Tag]) -> None:
        """The written page refers to nothing but data: URLs and itself, and still has every element
        the deck had, in order (a stylesheet as a <style>): a script whose text ended its element
        early would merge or lose slides, as Quarto's users report of its embedding."""
        after = scan(result)
        names = [
            "style" if t.tag == "link" and "stylesheet" in (dict(t.attrs).get("rel") or "") else t.tag for t in before
        ]
        if [t.tag for t in after] != names:
            raise W2WError(
                "the one file's elements do not match the deck's (an inlined file ended its element early)",
                "report this as a bug in w2w export-html",
                self.deck,
            )
        for item in after:
            for name, value in item.attrs:
                if value and name in RESOURCE_ATTRS | {"srcset"} and not value.startswith(("data:", "#")):
                    raise W2WError(
                        f"the one file still refers to {value!r}", "report this as a bug in w2w export-html", self.deck
                    )


_DROP = object()


def _stylesheet(item: _Tag) -> bool:
    return item.tag == "link" and "stylesheet" in (dict(item.attrs).get("rel") or "").lower().split()


def _typed(name: str) -> bool:
    return mimetypes.guess_type(urlsplit(name).path)[0] is not None


def _is_json(kind: str | None) -> bool:
    return bool(kind) and (kind.lower() == "application/json" or kind.lower().endswith("+json"))


def _start_tag(tag: str, attrs: list[tuple[str, str | None]], closing: str = ">") -> str:
    rendered = "".join(f" {k}" if v is None else f' {k}="{html.escape(v, quote=True)}"' for k, v in attrs)
    return f"<{tag}{rendered}{closing}"


def _script_safe(text: str) -> str:
    """Script text that cannot end its <script> early: `</script` and `<!--` (which with a later
    `<script` keeps the element open past its end tag) as `\\x3C…`, the same characters in a JS
    string, template or comment, the only places a script can hold them (notes.js holds both)."""
    return re.sub(r"<(?=/script|!--)", r"\\x3C", text, flags=re.I)


def _style_safe(text: str) -> str:
    return re.sub(r"<(?=/style)", r"\\3C ", text, flags=re.I)
