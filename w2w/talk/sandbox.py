"""Jinja2 over the talk's Markdown: StrictUndefined, the macros of templates/macros.j2 and
templates/layouts.j2, and errors that point at the line of the section file that caused them.

Trust: a section is data with expressions, not a program. It renders in Jinja's sandbox (no Python
internals: `cycler.__init__.__globals__` is refused), every `{{ value }}` is HTML-escaped
(talk.yaml's and the models' text can never become markup; the macros' output is marked safe), and
`{% include %}`/`{% import %}` read only files whose real path, symlinks resolved, is inside the
project. The author's own Markdown and HTML, written in the page, stay as written.

The plan reads the pages' artifact references through this environment before any model runs;
rendering (w2w/render/templating.py) uses the same environment afterwards.
"""

from __future__ import annotations

import math
import os
import re
import string
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from w2w.errors import W2WError
from w2w.plugins import registry
from w2w.plugins.protocol import text_input
from w2w.project import inside_project
from w2w.talk.compiled_templates import CompiledTemplates
from w2w.talk.poll_spec import poll_check
from w2w.talk.value_escaping import escape_filter, escape_value


@dataclass(frozen=True)
class Reference:
    """A page's use of an artifact: `artifacts.x` (macro None) or a macro call, with the call's
    constant arguments (None for an argument that is an expression)."""

    name: str
    line: int
    macro: str | None = None
    args: tuple = ()


# Bounds on what one expression may build: `"x" * 10**9` or `9**9**9` would hang the build or
# fill memory. 10^6 items / 10^4-digit powers are far beyond any slide.
MAX_REPEAT = 1_000_000
MAX_POWER_DIGITS = 10_000
# Widths that a filter or a format spec pads to: `"x"|center(10**9)` builds a gigabyte; a slide's
# line is under 200 characters.
MAX_WIDTH = 10_000
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")


class TalkSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no attribute starting with `_`, no unsafe callables, no changing
    the talk's or the models' lists and dicts, bounded `range`), plus bounds on `*` and `**`."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(
                        f"the expression would build {len(seq) * times:,} items (at most {MAX_REPEAT:,})"
                    )
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * math.log10(abs(left)) > MAX_POWER_DIGITS:
                raise SecurityError(f"{left} ** {right} is too large (over {MAX_POWER_DIGITS:,} digits)")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value):
        """`"{:>99999999}".format(x)` in a section: every width and precision bounded first."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        for _, _, spec, _ in string.Formatter().parse(str(value.__self__)):
            for number in re.findall(r"\d+", spec or ""):
                _check_width(int(number), "a format width")
        return wrapped


def _check_width(width, what: str) -> None:
    if isinstance(width, int) and width > MAX_WIDTH:
        raise SecurityError(f"{what} of {width:,} is too large (at most {MAX_WIDTH:,})")


def _bounded_filters(filters: dict) -> dict:
    """Jinja's center, indent, wordwrap and format, with their widths bounded (MAX_WIDTH)."""
    center, indent, wordwrap, format_ = filters["center"], filters["indent"], filters["wordwrap"], filters["format"]

    def bounded_center(value, width=80):
        _check_width(width, "center's width")
        return center(value, width)

    def bounded_indent(value, width=4, *args, **kwargs):
        _check_width(width, "indent's width")
        return indent(value, width, *args, **kwargs)

    def bounded_wordwrap(environment, value, width=79, *args, **kwargs):
        _check_width(width, "wordwrap's width")
        return wordwrap(environment, value, width, *args, **kwargs)

    def bounded_format(value, *args, **kwargs):
        stars = iter(a for a in args if isinstance(a, int))
        for width, precision in _PERCENT_SPEC.findall(str(value)):
            for part in (width, precision):
                if part == "*":
                    _check_width(next(stars, 0), "a format width")
                elif part:
                    _check_width(int(part), "a format width")
        return format_(value, *args, **kwargs)

    bounded_wordwrap.jinja_pass_arg = wordwrap.jinja_pass_arg  # it takes the environment first
    return {"center": bounded_center, "indent": bounded_indent, "wordwrap": bounded_wordwrap, "format": bounded_format}


class ProjectLoader(jinja2.FileSystemLoader):
    """templates/ then the project root, reading only files whose real path is inside the project
    (a symlink in talk/ to /etc/passwd is refused, not published)."""

    def __init__(self, project_root: Path, searchpath: list[Path]):
        super().__init__([str(p) for p in searchpath])
        self.project_root = Path(project_root)

    def get_source(self, environment, template):
        pieces = split_template_path(template)  # refuses "..": TemplateNotFound
        for searchpath in self.searchpath:
            candidate = Path(searchpath, *pieces)
            if os.path.isfile(candidate):
                inside_project(candidate, self.project_root, "included file", (None, None), repr(template))
                break
        return super().get_source(environment, template)


def make_environment(project_root: Path, cache_dir: Path | None = None) -> jinja2.Environment:
    """The talk's Jinja environment; with `cache_dir`, compiled pages and macros are kept there."""
    env = TalkSandbox(
        loader=ProjectLoader(project_root, [Path(project_root) / "templates", Path(project_root)]),
        undefined=jinja2.StrictUndefined,
        # Every {{ value }} is HTML-escaped: talk.yaml's and the models' text is data wherever it lands.
        # Its entities are marked as the value's, so that Markdown shows them right in code and maths
        # too (value_escaping.py). Macros return safe markup.
        autoescape=True,
        finalize=escape_value,
        keep_trailing_newline=True,
        bytecode_cache=CompiledTemplates(cache_dir, "talk-sandbox") if cache_dir is not None else None,
    )
    env.filters.update(_bounded_filters(env.filters))  # widths a section could make huge
    env.globals.update(ln=math.log, log=math.log, sqrt=math.sqrt, exp=math.exp)
    env.globals.pop("lipsum", None)  # lipsum(10**9) would run for hours; no slide needs filler text
    env.globals.update(poll_check=poll_check)  # a slide's poll, checked at its line (talk/poll_spec.py)
    env.globals.update(live_input=live_input)  # the live form's field and maxlength (templates/live.j2)
    env.filters.update(e=escape_filter, escape=escape_filter)  # as {{ value }} escapes: value_escaping.py
    env.filters.update(registry.template_filters())  # e.g. `visible`: a token's whitespace, shown
    env.w2w_project_root = Path(project_root)  # for checks of paths a page refers to
    return env


def live_input(generator: str) -> dict:
    """{"field", "max_chars"} of a live generator's text input, as its LiveRequest states it
    (w2w/plugins/protocol.py TextInput): the deck's form reads the same limit as the server and
    the room. Empty for a generator with no live text input."""
    found = registry.get(generator)
    declared = text_input(found.LiveRequest) if found.live else None
    return {"field": declared.field, "max_chars": declared.max_chars} if declared else {}


def artifact_references(env: jinja2.Environment, source: str, path: Path) -> list[Reference]:
    """Every use of an artifact on a page (`artifacts.x`, `artifacts["x"]`, macro calls), in order.
    Which macros name an artifact comes from the generators (`macros`, `implied_macros`)."""
    named, implied = registry.macro_owners()
    tree = parse(env, source, path)
    found: list[Reference] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "artifacts":
            found.append(Reference(node.attr, node.lineno))
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.node, nodes.Name)
            and node.node.name == "artifacts"
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            found.append(Reference(node.arg.value, node.lineno))
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
            macro = node.node.name
            args = tuple(a.value if isinstance(a, nodes.Const) else None for a in node.args)
            if macro in implied:
                found.append(Reference(implied[macro], node.lineno, macro, args))
            elif macro in named and args and isinstance(args[0], str):
                found.append(Reference(args[0], node.lineno, macro, args[1:]))
    return found


def parse(env: jinja2.Environment, source: str, path: Path) -> nodes.Template:
    try:
        return env.parse(source, filename=str(path))
    except jinja2.TemplateSyntaxError as exc:
        raise W2WError(
            f"template syntax error: {exc.message}", "fix the {{ }} / {% %} tags", path, exc.lineno
        ) from None


def load_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """A template of templates/ (macros, deck shell, CSS); a syntax error there names its line.
    Whatever loader found it, its real path must be inside the project (the deck's shell too)."""
    try:
        template = env.get_template(name)
        if template.filename:
            inside_project(Path(template.filename), getattr(env, "w2w_project_root", None), "template")
        return template
    except jinja2.TemplateSyntaxError as exc:
        raise W2WError(
            f"template syntax error: {exc.message}", "fix the {{ }} / {% %} tags", exc.filename or name, exc.lineno
        ) from None
    except jinja2.TemplateNotFound:
        raise W2WError(f"template {name!r} is missing", "restore it in templates/ (see the repository)") from None
