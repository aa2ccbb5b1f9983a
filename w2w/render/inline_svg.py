"""A generator's SVG file as markup inside a page, so that its theme variables reach it.

An SVG behind `<img>` is a separate document: the page's `--w2w-…` variables do not reach it, and the
plots (w2w_generators/shared/figures.py) would keep their fallback colours, the light theme's, on a dark
slide. Inline, they follow the page. What inlining has to undo:
- the prolog, the doctype and the RDF metadata, which are not HTML;
- matplotlib's `<style>` (`*{stroke-linejoin: round}`), which inline would style the whole page;
  the same rule, scoped to the plot, is in the stylesheets (`.w2w-plot *`);
- its ids (`figure_1`, `DejaVuSans-64`, clip paths): the deck is one page holding every slide, and
  the embedding plot is on two of them, so each inlined copy's ids get their own prefix;
- the fixed width and height in points: the slide's CSS sizes it, by its viewBox's aspect ratio;
- its line breaks, since a blank line would end Markdown's HTML block.
"""

from __future__ import annotations

import html
import re

_DROP = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>|<style[^>]*>.*?</style>", re.S)
_ROOT = re.compile(r"<svg\b[^>]*>")
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(xlink:href|href)="#([^"]+)"|url\(#([^)]+)\)')
_VIEWBOX = re.compile(r'viewBox="([^"]+)"')


def inline(svg: str, label: str, prefix: str) -> str:
    """`svg` (a file's text) as an inline `<svg role="img">` named `label`, its ids under `prefix`."""
    body = _DROP.sub("", svg).strip()
    root = _ROOT.search(body)
    viewbox = _VIEWBOX.search(root.group(0)) if root else None
    if root is None or viewbox is None:
        raise ValueError("not an SVG with a viewBox")
    opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="w2w-plot" viewBox="{viewbox.group(1)}" '
        f'role="img" aria-label="{html.escape(label, quote=True)}">'
    )
    # One line: a blank line inside would end Markdown's HTML block half-way through the picture.
    inner = re.sub(r"\s*\n\s*", " ", body[root.end() :])
    inner = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', inner)

    def ref(match: re.Match) -> str:
        if match.group(3) is not None:
            return f"url(#{prefix}-{match.group(3)})"
        return f'href="#{prefix}-{match.group(2)}"'  # SVG 2's href: no xlink namespace in HTML

    return opening + _REF.sub(ref, inner)
