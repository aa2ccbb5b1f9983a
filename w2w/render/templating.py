"""Rendering a section: what a page sees of the artifacts (`Artifacts`, `ArtifactView`), a
Jinja-Markdown file rendered in the talk's sandbox (w2w/talk/sandbox.py) with errors at the
section's line, and the deck's and handout's stylesheets rendered with the theme.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SecurityError
from markupsafe import Markup

from w2w.errors import W2WError
from w2w.project import read_source
from w2w.render import inline_svg
from w2w.render.markdown import check_local_images
from w2w.talk.compiled_templates import CompiledTemplates, from_source
from w2w.talk.sandbox import ProjectLoader, TalkSandbox, load_template


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
        """The artifact's SVG file as inline markup (w2w/render/inline_svg.py), so it follows the theme."""
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
