"""Markdown -> HTML for both outputs: one markdown-it-py configuration, so deck and handout agree.

Mermaid fences become inline SVG and `$...$` / `$$...$$` become MathML, both at build time, so the
viewer loads no diagram or math library. Code is highlighted with Pygments into CSS classes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from .diagrams import MermaidError, MermaidRenderer
from .errors import W2WError


@dataclass
class Heading:
    level: int
    id: str
    text: str


@dataclass
class Rendered:
    html: str
    headings: list[Heading] = field(default_factory=list)


def _math(latex: str, display: bool) -> str:
    import latex2mathml.converter

    try:
        mathml = latex2mathml.converter.convert(latex.strip(), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises several exception types for bad LaTeX
        raise W2WError(f"invalid math {latex.strip()!r}: {exc}", "fix the LaTeX between the $ signs") from None
    return mathml


def _highlight(code: str, lang: str, _attrs) -> str | None:
    if not lang:
        return None
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lang)
    except ClassNotFound:
        return None
    return highlight(code, lexer, HtmlFormatter(nowrap=True))


class MarkdownRenderer:
    def __init__(self, diagrams: MermaidRenderer):
        self.diagrams = diagrams
        md = MarkdownIt("commonmark", {"html": True, "typographer": True, "highlight": _highlight})
        md.enable(["table", "strikethrough", "replacements", "smartquotes"])
        md.use(dollarmath_plugin, allow_space=True, allow_digits=False, double_inline=True,
               renderer=lambda content, opts: _math(content, opts.get("display_mode", False)))
        md.use(deflist_plugin).use(footnote_plugin).use(attrs_plugin).use(attrs_block_plugin)
        md.use(anchors_plugin, min_level=1, max_level=3, permalink=False)
        fence = md.renderer.rules["fence"]

        def render_fence(_renderer, tokens, idx, options, env):
            token = tokens[idx]
            if token.info.strip() == "mermaid":
                try:
                    svg = self.diagrams.svg(token.content)
                except MermaidError as exc:
                    # Mermaid reports unclosed brackets past the last line: clamp into the diagram.
                    inside = min(exc.diagram_line, max(1, token.content.count("\n")))
                    exc.line = env.get("line_offset", 0) + (token.map[0] if token.map else 0) + 1 + inside
                    exc.source = token.content  # lets the error find its exact line in the file
                    raise
                return f'<figure class="w2w-figure w2w-mermaid">{svg}</figure>\n'
            return fence(tokens, idx, options, env)

        md.add_render_rule("fence", render_fence)
        self.md = md

    def render(self, text: str, line_offset: int = 0, seen_ids: set[str] | None = None) -> Rendered:
        """HTML and the headings (for the handout's table of contents). `line_offset` maps errors;
        `seen_ids` keeps heading ids unique across several renders that end up on one page."""
        env = {"line_offset": line_offset}
        tokens = self.md.parse(text, env)
        headings = []
        for i, token in enumerate(tokens):
            if token.type == "heading_open" and seen_ids is not None:
                base = str(token.attrs.get("id", ""))
                unique, n = base, 1
                while unique in seen_ids:
                    n += 1
                    unique = f"{base}-{n}"
                token.attrs["id"] = unique
                seen_ids.add(unique)
            if token.type == "heading_open":
                inline = tokens[i + 1]
                plain = "".join(c.content for c in (inline.children or []) if c.type in ("text", "code_inline"))
                headings.append(Heading(int(token.tag[1]), str(token.attrs.get("id", "")), plain))
        return Rendered(self.md.renderer.render(tokens, self.md.options, env), headings)


# Local images: a page may show files from inside the project only, and only files that exist.
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
# URLs of generated artifacts (`artifacts.x.url(...)`, the figure macros): they live in the site.
_ARTIFACT_URL = re.compile(r"^(\./|\.\./)*artifacts/")
_scanner: MarkdownIt | None = None


def image_sources(text: str) -> list[tuple[int, str]]:
    """(1-based line, src) of every image in Markdown text: `![alt](src)` and raw HTML `<img src>`.
    Code blocks are not looked into."""
    global _scanner
    if _scanner is None:
        _scanner = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    lines = text.splitlines()
    found: list[tuple[int, str]] = []

    def line_of(block_map, src: str) -> int:
        first, last = block_map if block_map else (0, len(lines))
        for number in range(first, min(last, len(lines))):
            if src in lines[number]:
                return number + 1
        return first + 1

    for token in _scanner.parse(text):
        if token.type == "html_block":
            found += [(line_of(token.map, src), src) for src in _html_img_sources(token.content)]
        elif token.type == "inline":
            for child in token.children or []:
                if child.type == "image":
                    src = str(child.attrs.get("src", ""))
                    found.append((line_of(token.map, src), src))
                elif child.type == "html_inline":
                    found += [(line_of(token.map, src), src) for src in _html_img_sources(child.content)]
    return found


def _html_img_sources(fragment: str) -> list[str]:
    return [html.unescape(next(g for g in m.groups() if g is not None)) for m in _IMG_SRC.finditer(fragment)]


def check_local_images(text: str, page: Path, project_root: Path, source: str | None = None) -> list[tuple[str, Path]]:
    """The page's own image files as (src as written, resolved path). Raises W2WError (page:line)
    for an image path outside the project or missing. `text` is the page after Jinja; `source` the
    file as written, where the image's line is looked up."""
    from urllib.parse import unquote

    root = project_root.resolve()
    found = []
    for line, src in image_sources(text):
        target = src.strip()
        if not target or target.startswith(("//", "#")) or (_SCHEME.match(target) and not target.startswith("file:")):
            continue  # a URL (data:, https:, ...): not a file of this project
        path = unquote(re.sub(r"^file://", "", target).split("#", 1)[0].split("?", 1)[0])
        if _ARTIFACT_URL.match(path):
            continue
        resolved = (page.parent / path).resolve()
        where = _line_in_source(source, src, line)
        if not resolved.is_relative_to(root):
            raise W2WError(
                f"figure path outside the project: {src!r}",
                "copy the image into the project (e.g. talk/images/) and use a path relative to this file",
                page,
                where,
            )
        if not resolved.is_file():
            raise W2WError(
                f"image not found: {src!r} (no file {resolved.relative_to(root)})",
                "check the path; it is relative to this file",
                page,
                where,
            )
        found.append((src, resolved))
    return found


def media_url(resolved: Path, project_root: Path, url_root: str) -> str:
    """Where a project image is served in the site: media/<path in the project>."""
    return f"{url_root}media/{resolved.relative_to(project_root.resolve()).as_posix()}"


def point_images_at_media(text: str, images: list[tuple[str, Path]], project_root: Path, url_root: str) -> str:
    for src, resolved in images:
        url = media_url(resolved, project_root, url_root)
        text = text.replace(f"]({src})", f"]({url})").replace(f'src="{src}"', f'src="{url}"')
    return text


def _line_in_source(source: str | None, src: str, rendered_line: int) -> int:
    """The line of `src` in the file as written (nearest the rendered line), else the rendered line."""
    if not source:
        return rendered_line
    hits = [number for number, line in enumerate(source.splitlines(), start=1) if src in line]
    return min(hits, key=lambda n: abs(n - rendered_line)) if hits else rendered_line


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment (for word counts and alt checks)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))
