"""Markdown -> HTML for both outputs: one markdown-it-py configuration, so deck and handout agree.

Mermaid fences become inline SVG and `$...$` / `$$...$$` become MathML, both at build time, so the
viewer loads no diagram or math library. Code is highlighted with Pygments into CSS classes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from w2w.errors import W2WError
from w2w.project import inside_project
from w2w.render.diagrams import MermaidError, MermaidRenderer
from w2w.talk.value_escaping import as_entities, url_characters, values_as_written


@dataclass
class Heading:
    level: int
    id: str
    text: str


@dataclass
class Rendered:
    html: str
    headings: list[Heading] = field(default_factory=list)


# latex2mathml's exceptions carry no message: their names are the reason.
_MATH_REASONS = {
    "NoAvailableTokensError": "the formula ends too early "
    "(an unclosed {, a \\left without \\right, or a command missing its argument)",
    "MissingSuperScriptOrSubscriptError": "a ^ or _ has nothing after it",
    "DoubleSuperscriptsError": "two ^ on one base (use braces: {x^a}^b)",
    "DoubleSubscriptsError": "two _ on one base (use braces: {x_a}_b)",
    "ExtraLeftOrMissingRightError": "a \\left has no matching \\right",
    "MissingEndError": "a \\begin{...} has no \\end{...}",
    "DenominatorNotFoundError": "a fraction has no denominator",
    "NumeratorNotFoundError": "a fraction has no numerator",
    "LimitsMustFollowMathOperatorError": "\\limits must follow an operator such as \\sum",
}


class MathError(W2WError):
    """Bad LaTeX, pinned to the formula's line in the file as written (sections go through Jinja
    before Markdown, so the rendered line can be off; the formula's own text, found in the file,
    is exact)."""

    def __init__(self, latex: str, reason: str, line: int | None):
        super().__init__(f"invalid math {latex!r}: {reason}", "fix the LaTeX between the $ signs")
        self.latex, self.line = latex, line

    def located(self, file, line=None):
        if self.file is None:
            self.file = file
            self.line = _nearest_line(Path(file), self.latex, self.line) or self.line or line
        return self


def _nearest_line(path: Path, text: str, near: int | None) -> int | None:
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    hits = [n for n, line in enumerate(lines, start=1) if first and first in line]
    return min(hits, key=lambda n: abs(n - (near or n))) if hits else None


def _math(latex: str, display: bool, line: int | None = None) -> str:
    import latex2mathml.converter

    try:
        mathml = latex2mathml.converter.convert(latex.strip(), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises several exception types for bad LaTeX
        name = type(exc).__name__
        reason = (
            str(exc).strip()
            or _MATH_REASONS.get(name)
            or re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Error")).lower()
        )
        raise MathError(latex.strip(), " ".join(reason.split()), line) from None
    return mathml


def _math_rule(display: bool):
    """A render rule for one kind of math token that knows the token's line in the page."""

    def render(_renderer, tokens, idx, _options, env):
        token = tokens[idx]
        multi_line = bool(token.map) and token.map[1] - token.map[0] > 1  # `$$` on its own line, then the formula
        line = token.meta.get("w2w_line", token.map[0] + multi_line if token.map else 0)
        return _math(token.content, display, env.get("line_offset", 0) + line + 1)

    return render


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


def _empty_header_cells_as_data(state) -> None:
    """`| | LLMs | Diffusion |`: the blank corner of a comparison table is no header; as an empty
    <th> screen readers announce nothing for it (axe empty-table-header). It becomes a <td>."""
    tokens = state.tokens
    for i, token in enumerate(tokens[:-2]):
        if token.type == "th_open" and tokens[i + 1].type == "inline" and not tokens[i + 1].content.strip():
            token.tag = tokens[i + 2].tag = "td"


class MarkdownRenderer:
    def __init__(self, diagrams: MermaidRenderer):
        self.diagrams = diagrams
        md = MarkdownIt("commonmark", {"html": True, "typographer": True, "highlight": _highlight})
        md.enable(["table", "strikethrough", "replacements", "smartquotes"])
        md.use(
            dollarmath_plugin,
            allow_space=True,
            allow_digits=False,
            double_inline=True,
            renderer=lambda content, opts: _math(content, opts.get("display_mode", False)),
        )
        # The plugin's renderer gets no token: these rules, which know the formula's line, replace it.
        for kind, display in (("math_inline", False), ("math_inline_double", True), ("math_block", True)):
            md.add_render_rule(kind, _math_rule(display))
        md.use(deflist_plugin).use(footnote_plugin).use(attrs_plugin).use(attrs_block_plugin)
        md.use(anchors_plugin, min_level=1, max_level=3, permalink=False)
        md.core.ruler.before(
            "anchor", "w2w_values_as_written", values_as_written
        )  # after smartquotes: data stays as written
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
        image, html_block, html_inline = (md.renderer.rules[r] for r in ("image", "html_block", "html_inline"))

        def render_image(renderer, tokens, idx, options, env):
            place = env.get("images")
            url = place.url(str(tokens[idx].attrs.get("src", ""))) if place else None
            if url is not None:
                tokens[idx].attrs["src"] = url
            return image(tokens, idx, options, env)

        def raw_html(original):
            def render(renderer, tokens, idx, options, env):
                out = original(tokens, idx, options, env)
                place = env.get("images")
                return rewrite_html_images(out, place.url) if place and "<img" in out.lower() else out

            return render

        md.add_render_rule("image", render_image)
        md.add_render_rule("html_block", raw_html(html_block))
        md.add_render_rule("html_inline", raw_html(html_inline))
        md.core.ruler.push("w2w_empty_header_cells", _empty_header_cells_as_data)
        self.md = md

    def render(
        self, text: str, line_offset: int = 0, seen_ids: set[str] | None = None, images: ImagePlace | None = None
    ) -> Rendered:
        """HTML and the headings (for the handout's table of contents). `line_offset` maps errors;
        `seen_ids` keeps heading ids unique across several renders that end up on one page;
        `images`: the page's own images are pointed at their copies in the site."""
        env = {"line_offset": line_offset, "images": images}
        tokens = self.md.parse(text, env)
        headings = []
        for i, token in enumerate(tokens):
            if token.type == "inline" and token.map:
                _mark_inline_lines(token)
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


def _mark_inline_lines(inline) -> None:
    """Inline math knows only its paragraph: give each math token its own line (paragraph start
    plus the line breaks before it)."""
    line = inline.map[0]
    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type.startswith("math_"):
            child.meta["w2w_line"] = line


# Local images: a page may show files from inside the project only, and only files that exist.
# They are found as markdown-it tokens (`image`, and `img` start tags of raw HTML read with the
# stdlib HTML parser), checked, and pointed at their copies in the site by the renderer's own rules:
# rewriting the page's text with patterns missed `src='…'`, unquoted and titled images.
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# URLs of generated artifacts (`artifacts.x.url(...)`, the figure macros): they live in the site.
_ARTIFACT_URL = re.compile(r"^(\./|\.\./)*artifacts/")
_scanner: MarkdownIt | None = None
_IMG_TAG = re.compile(r"<img[\s/>]", re.IGNORECASE)


@dataclass(frozen=True)
class ImagePlace:
    """Where a page's own images are resolved from and served at: the page's file, the project
    root, and the page's relative URL to the site root."""

    page: Path
    project_root: Path
    url_root: str

    def url(self, src: str) -> str | None:
        """The site URL of a local image `src`, or None for a URL / an artifact (left as written)."""
        path = local_path(src)
        if path is None:
            return None
        return media_url((self.page.parent / path).resolve(), self.project_root, self.url_root)


def local_path(src: str) -> str | None:
    """The file path an image source names, or None when it is a URL or a generated artifact."""
    from urllib.parse import unquote

    target = src.strip()
    if not target or target.startswith(("//", "#")) or (_SCHEME.match(target) and not target.startswith("file:")):
        return None  # a URL (data:, https:, ...): not a file of this project
    path = unquote(re.sub(r"^file://", "", target).split("#", 1)[0].split("?", 1)[0])
    return None if _ARTIFACT_URL.match(path) else path


class _ImgTags(HTMLParser):
    """The `<img>` start tags of an HTML fragment: (offset, raw tag text, attributes)."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[int, str, list[tuple[str, str | None]]]] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", fragment)]
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            line, column = self.getpos()
            self.tags.append((self._line_starts[line - 1] + column, self.get_starttag_text() or "", attrs))

    handle_startendtag = handle_starttag


def _html_img_sources(fragment: str) -> list[str]:
    return [
        value for _, _, attrs in _ImgTags(fragment).tags for name, value in attrs if name == "src" and value is not None
    ]


def rewrite_html_images(fragment: str, url_of) -> str:
    """`fragment` with each `<img>` whose src `url_of` maps (not None) written anew with that src."""
    out, last = [], 0
    for offset, raw, attrs in _ImgTags(fragment).tags:
        src = next((v for n, v in attrs if n == "src" and v is not None), None)
        url = url_of(src) if src is not None else None
        if url is None or fragment[offset : offset + len(raw)] != raw:
            continue
        parts = [n if v is None else f'{n}="{html.escape(url if n == "src" else v)}"' for n, v in attrs]
        out += [fragment[last:offset], "<img " + " ".join(parts) + (" />" if raw.rstrip().endswith("/>") else ">")]
        last = offset + len(raw)
    return "".join(out) + fragment[last:]


def image_sources(text: str) -> list[tuple[int, str]]:
    """(1-based line, src) of every image in Markdown text: `![alt](src)` and raw HTML `<img src>`.
    Code blocks are not looked into."""
    global _scanner
    if "![" not in text and not _IMG_TAG.search(text):
        return []  # no image can be written without one of these (20 of the talk's 26 pages; 9% of a warm rebuild)
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
            found += [(line_of(token.map, src), src) for src in _html_img_sources(as_entities(token.content))]
        elif token.type == "inline":
            for child in token.children or []:
                if child.type == "image":
                    src = url_characters(str(child.attrs.get("src", "")))
                    found.append((line_of(token.map, src), src))
                elif child.type == "html_inline":
                    found += [(line_of(token.map, src), src) for src in _html_img_sources(as_entities(child.content))]
    return found


def check_local_images(text: str, page: Path, project_root: Path, source: str | None = None) -> list[tuple[str, Path]]:
    """The page's own image files as (src as written, resolved path). Raises W2WError (page:line)
    for an image path outside the project or missing. `text` is the page after Jinja; `source` the
    file as written, where the image's line is looked up."""
    root = project_root.resolve()
    found = []
    for line, src in image_sources(text):
        path = local_path(src)
        if path is None:
            continue
        where = _line_in_source(source, src, line)
        resolved = inside_project(page.parent / path, root, "figure path", (page, where), repr(src))
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


def _line_in_source(source: str | None, src: str, rendered_line: int) -> int:
    """The line of `src` in the file as written (nearest the rendered line), else the rendered line."""
    if not source:
        return rendered_line
    hits = [number for number, line in enumerate(source.splitlines(), start=1) if src in line]
    return min(hits, key=lambda n: abs(n - rendered_line)) if hits else rendered_line


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment (for word counts and alt checks)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))
