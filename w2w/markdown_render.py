"""Markdown -> HTML for both outputs: one markdown-it-py configuration, so deck and handout agree.

Mermaid fences become inline SVG and `$...$` / `$$...$$` become MathML, both at build time, so the
viewer loads no diagram or math library. Code is highlighted with Pygments into CSS classes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

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
                    raise
                return f'<figure class="w2w-figure w2w-mermaid">{svg}</figure>\n'
            return fence(tokens, idx, options, env)

        md.add_render_rule("fence", render_fence)
        self.md = md

    def render(self, text: str, line_offset: int = 0) -> Rendered:
        """HTML and the headings (for the handout's table of contents). `line_offset` maps errors."""
        env = {"line_offset": line_offset}
        tokens = self.md.parse(text, env)
        headings = []
        for i, token in enumerate(tokens):
            if token.type == "heading_open":
                inline = tokens[i + 1]
                plain = "".join(c.content for c in (inline.children or []) if c.type in ("text", "code_inline"))
                headings.append(Heading(int(token.tag[1]), str(token.attrs.get("id", "")), plain))
        return Rendered(self.md.renderer.render(tokens, self.md.options, env), headings)


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment (for word counts and alt checks)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))
