"""A value on a page reads as written in every Markdown context: text, code, maths, links, raw HTML.

Jinja HTML-escapes every `{{ value }}` before Markdown sees the page (w2w/talk/sandbox.py), so talk.yaml's
and the models' text never becomes markup. Entities read right in Markdown's text and in raw HTML,
but not where Markdown escapes by itself: a value `a < b` inside `code` or a fence showed as
`a &lt; b`, and inside `$…$` latex2mathml drew the entity's letters (and wrote a bare `&` into the
MathML). So Jinja writes a value's entities with VALUE_AMP, a private-use character, for their `&`,
and after parsing, markdown-it's tokens take the value back as characters wherever its renderer
escapes them (text, code, maths, titles, link targets) and as entities wherever it copies text as
written (raw HTML, a Mermaid diagram's source: real quotes there would end a "quoted label" and
let a value add to the diagram). The page's own entities and markup, and what macros return (safe
markup), are never touched: only the value's escaping changes form.
"""

from __future__ import annotations

import re

import mdurl
from jinja2 import pass_eval_context
from markupsafe import Markup, escape

VALUE_AMP = "\ue000"  # private use (Unicode's E000); a value's own E000 is written as an entity too
_CHARS = {"amp": "&", "lt": "<", "gt": ">", "#34": '"', "#39": "'", "#57344": VALUE_AMP}  # markupsafe's, and E000
_NAMES = "|".join(_CHARS)
_ENTITY = re.compile(VALUE_AMP + f"({_NAMES});")
_URL_AMP = mdurl.encode(VALUE_AMP)  # "%EE%80%80": how markdown-it's normalizeLink writes it in a target
_IN_URL = re.compile(re.escape(_URL_AMP) + f"({_NAMES});")
_AS_WRITTEN = ("html_block", "html_inline")  # markdown-it copies their content into the page


@pass_eval_context  # so constants ({{ "<" }}) come here at render time too: Jinja escapes them first at compile time
def escape_value(eval_ctx, value):
    """Jinja's `finalize`: each `{{ value }}` HTML-escaped, its entities marked as the value's.
    Safe markup (what a macro or `|safe` returns) passes unchanged, and so does everything inside
    `{% autoescape false %}`."""
    if not eval_ctx.autoescape:
        return value
    return escape_filter(value)


def escape_filter(value):
    """`|e` and `|escape`: the same escaping as a plain `{{ value }}` (Jinja's own filters write
    plain entities, which Markdown escapes again inside code)."""
    if hasattr(value, "__html__"):
        return escape(value)  # its own markup, as Jinja's filter returns it
    return Markup(str(escape(value)).replace(VALUE_AMP, "&#57344;").replace("&", VALUE_AMP))


def as_characters(text: str) -> str:
    return _ENTITY.sub(lambda m: _CHARS[m[1]], text) if VALUE_AMP in text else text


def as_entities(text: str) -> str:
    return text.replace(VALUE_AMP, "&")


def url_characters(url: str) -> str:
    """A link's or image's target, which markdown-it has percent-encoded (VALUE_AMP too)."""
    return _IN_URL.sub(lambda m: mdurl.encode(_CHARS[m[1]]), url)


def values_as_written(state) -> None:
    """A markdown-it core rule, run after inline parsing and before heading ids are made (so a
    heading's id is made from the value's characters, as it was from decoded entities)."""
    if VALUE_AMP not in state.src:
        return  # no value with a character to escape on this page
    stack = list(state.tokens)
    while stack:
        token = stack.pop()
        stack.extend(token.children or ())
        as_written = token.type in _AS_WRITTEN or (token.type == "fence" and token.info.strip() == "mermaid")
        token.content = as_entities(token.content) if as_written else as_characters(token.content)
        token.info = as_characters(token.info)  # a fence's language
        for name, value in (token.attrs or {}).items():
            if isinstance(value, str) and (VALUE_AMP in value or _URL_AMP in value):
                token.attrs[name] = url_characters(value) if name in ("href", "src") else as_characters(value)
