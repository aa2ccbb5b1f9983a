"""Jinja2 over the talk's Markdown: StrictUndefined, the macros of templates/macros.j2 and
templates/layouts.j2, and errors that point at the line of the section file that caused them.

Trust: a section is data with expressions, not a program. It renders in Jinja's sandbox (no Python
internals: `cycler.__init__.__globals__` is refused), every `{{ value }}` is HTML-escaped
(talk.yaml's and the models' text can never become markup; the macros' output is marked safe), and
`{% include %}`/`{% import %}` read only files whose real path, symlinks resolved, is inside the
project. The author's own Markdown and HTML, written in the page, stay as written.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

import generators

from . import inline_svg
from .compiled_templates import CompiledTemplates, from_source
from .errors import W2WError
from .markdown_render import check_local_images
from .project import inside_project, read_source
from .value_escaping import escape_filter, escape_value


@dataclass(frozen=True)
class Reference:
    """A page's use of an artifact: `artifacts.x` (macro None) or a macro call, with the call's
    constant arguments (None for an argument that is an expression)."""

    name: str
    line: int
    macro: str | None = None
    args: tuple = ()


@dataclass(frozen=True)
class ArtifactView:
    """What a template sees of an artifact: data, provenance and page-relative file URLs."""

    name: str
    data: dict
    provenance: dict
    files: dict
    root: str  # relative path from the page to the site's directory holding artifacts/
    directory: Path | None = None  # where the files are now, for inlining one
    scope: str = "page"  # the part being rendered: inlined ids stay unique in the one-page deck
    _uses: itertools.count = field(default_factory=lambda: itertools.count(1), compare=False, repr=False)

    def url(self, role: str) -> str:
        return f"{self.root}artifacts/{self.name}/{self._file(role)}"

    def svg(self, role: str, label: str) -> Markup:
        """The artifact's SVG file as inline markup (w2w/inline_svg.py), so it follows the theme."""
        name = self._file(role)
        if not name.endswith(".svg") or self.directory is None:
            svgs = sorted(r for r, f in self.files.items() if f.endswith(".svg"))
            raise W2WError(
                f"artifact {self.name!r}'s file {role!r} is not an SVG", f"use one of: {', '.join(svgs) or '(none)'}"
            )
        prefix = f"w2w-{self.name}-{self.scope}-{next(self._uses)}"
        return Markup(inline_svg.inline((self.directory / name).read_text(encoding="utf-8"), label, prefix))

    def _file(self, role: str) -> str:
        if role not in self.files:
            raise W2WError(
                f"artifact {self.name!r} has no file {role!r}",
                f"use one of: {', '.join(sorted(self.files))}",
            )
        return self.files[role]


class Artifacts:
    """`artifacts.<name>` in templates; an unknown name is a user error, not a Jinja undefined."""

    def __init__(self, views: dict[str, ArtifactView]):
        self._views = views

    def __getattr__(self, name: str) -> ArtifactView:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> ArtifactView:
        if name not in self._views:
            raise W2WError(
                f"unknown generator or figure name {name!r}",
                f"use one of: {', '.join(sorted(self._views)) or '(no generators in this build)'}",
            )
        return self._views[name]


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
    env.filters.update(e=escape_filter, escape=escape_filter)  # as {{ value }} escapes: value_escaping.py
    env.filters.update(generators.template_filters())  # e.g. `visible`: a token's whitespace, shown
    env.w2w_project_root = Path(project_root)  # for checks of paths a page refers to
    return env


def artifact_references(env: jinja2.Environment, source: str, path: Path) -> list[Reference]:
    """Every use of an artifact on a page (`artifacts.x`, `artifacts["x"]`, macro calls), in order.
    Which macros name an artifact comes from the generators (`macros`, `implied_macros`)."""
    named, implied = generators.macro_owners()
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


def render_markdown(
    env: jinja2.Environment, path: Path, context: dict[str, Any], media: set[Path] | None = None
) -> str:
    """Render one Jinja-Markdown file with the macros loaded for this context. The page's own image
    files are checked, added to `media` (to be copied into the site) and pointed at their copies."""
    source = read_source(path)
    try:
        template = from_source(env, source, path)
    except jinja2.TemplateSyntaxError as exc:
        raise W2WError(
            f"template syntax error: {exc.message}", "fix the {{ }} / {% %} tags", path, exc.lineno
        ) from None
    # The output macros (macros.j2) and the slide layouts (layouts.j2), each module's public names.
    callables = {}
    for module_file in ("macros.j2", "layouts.j2"):
        module = load_template(env, module_file).make_module(context)
        callables.update({n: getattr(module, n) for n in dir(module) if not n.startswith("_")})
    try:
        text = template.render({**context, **callables})
    except jinja2.UndefinedError as exc:
        raise W2WError(
            f"undefined name in template: {exc.message}",
            "check the spelling; names available: talk, agenda, artifacts, target, "
            "and the macros in templates/macros.j2 and templates/layouts.j2",
            path,
            _template_line(exc),
        ) from None
    except W2WError as exc:
        raise exc.located(path, _template_line(exc)) from None
    except SecurityError as exc:
        raise W2WError(
            f"not allowed in a section: {exc}",
            "sections render in a sandbox: use talk, agenda, artifacts and the macros (no names starting with _)",
            path,
            _template_line(exc),
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise _include_error(exc.name, path, _template_line(exc)) from None
    except jinja2.TemplateError as exc:
        raise W2WError(f"template error: {exc}", "fix the template expression", path, _template_line(exc)) from None
    except Exception as exc:  # an expression failed: 1/0, ln(0), a macro called with wrong arguments
        raise W2WError(
            f"template expression failed: {type(exc).__name__}: {exc}",
            "fix the expression on this line",
            path,
            _template_line(exc),
        ) from None
    root = getattr(env, "w2w_project_root", None)
    if root is not None:
        images = check_local_images(text, path, root, source)  # the renderer points them at media/
        if images and media is not None:
            media.update(resolved for _, resolved in images)
    return text


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


def stylesheet(project, name: str, theme, code_scope: str) -> str:
    """A CSS template of the project's templates/ rendered with the talk's theme, after Pygments'
    rules for code under `code_scope` (so the template's own rules can override them)."""
    from pygments.formatters import HtmlFormatter

    env = TalkSandbox(
        loader=ProjectLoader(project.root, [project.templates_dir]),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=CompiledTemplates(project.cache_dir, "css-sandbox"),
    )
    code = HtmlFormatter(style="friendly").get_style_defs(code_scope)
    return code + "\n" + load_template(env, name).render(theme=theme)


def _include_error(name: str, path: Path, line: int | None) -> W2WError:
    """`{% include %}` / `{% import %}` of a file that is not there, or not inside the project."""
    parts = str(name).replace("\\", "/").split("/")
    if ".." in parts:
        return W2WError(
            f"include path outside the project: {name!r}",
            "include only files inside the project; paths are relative to the project root or templates/",
            path,
            line,
        )
    return W2WError(
        f"included file not found: {name!r}",
        "check the path; it is relative to the project root or templates/",
        path,
        line,
    )


def _template_line(exc: BaseException) -> int | None:
    """The page's line for an error raised while rendering `template` (not the macro's line:
    a bad argument is the caller's mistake)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        # Jinja rewrites tracebacks so that template frames carry the template's own line.
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
