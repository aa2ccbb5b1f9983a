"""The handout: a MkDocs plugin that turns the talk's section files into mkdocs-material pages.

MkDocs' plugin events are the one seam: `on_config` prepares the talk (or takes what
`w2w build-talk` prepared) and sets the navigation from the agenda; `on_files` adds one page per
enabled section plus the artifacts' files; pages are rendered by w2w's own Markdown pipeline (the
same as the deck's) in `on_page_markdown`/`on_page_content`; `on_post_build` writes the deck to
site/slides/, so `mkdocs serve` rebuilds deck and handout together; `on_post_page` fixes
Material's own invalid markup (theme_markup.py); `on_serve` turns a failed rebuild into an error
page in the browser (live_errors.py). `w2w build-talk` hands its prepared talk over in the plugin's
`prepared` config option; the talk's own error comes back as the cause of MkDocs' exception.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.toc import get_toc

from w2w.errors import W2WError
from w2w.project import Project, inside_project, read_source
from w2w.publish.npm_assets import iframe_worker_shim
from w2w.publish.preflight import check_site_needs
from w2w.publish.serve_error_page import showing_errors
from w2w.publish.theme_markup import fix_theme_markup
from w2w.render.markdown import Heading
from w2w.render.prepare import Prepared, prepare
from w2w.render.templating import stylesheet
from w2w.talk import compiled_templates

log = logging.getLogger("mkdocs.plugins.w2w")

SHIM_URI = "assets/javascripts/iframe-worker-shim.js"
# The explorables' files from templates/, served as assets/w2w-<name> (templates/explore*.js read the
# precomputed results that the pages inline).
# dom.js (the shared DOM helpers) comes first: extra_javascript keeps this order.
HANDOUT_SCRIPTS = (
    "explore.css",
    "dom.js",
    "explore-tokens.js",
    "explore-diffusion.js",
    "explore-words.js",
    "explore-loop.js",
)


class W2WPluginConfig(Config):
    deck = config_options.Type(bool, default=True)
    # Set by `w2w build-talk` on the loaded config (never in mkdocs.yml): the talk it prepared
    # once, with its progress display. Unset under `mkdocs build`/`serve`: the plugin prepares it.
    prepared = config_options.Optional(config_options.Type(Prepared))


def _plugin_error(exc: W2WError):
    """MkDocs stops on a PluginError; raised `from` the talk's own error, which rides along as its
    cause, so `w2w build-talk` and `w2w serve` report `file:line: what — fix`, not MkDocs' text."""
    from mkdocs.exceptions import PluginError

    return PluginError(str(exc))


def user_error(exc: BaseException) -> W2WError | None:
    """The W2WError behind an exception MkDocs raised, if a user error stopped the build."""
    while exc is not None and not isinstance(exc, W2WError):
        exc = exc.__cause__ or exc.__context__  # MkDocs raises Abort while handling the PluginError
    return exc


def _refuse_markdown_extensions(mkdocs_yml: Path) -> None:
    """`markdown_extensions:` configures Python-Markdown, which never sees a page here: w2w renders
    every page's Markdown itself (markdown-it-py, the same renderer as the deck's), so the setting
    would be silently ignored. It is refused at its line instead."""
    import yaml

    from w2w.talk.yaml_source import top_level_key_line

    text = mkdocs_yml.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # MkDocs has already reported it
    keys = [key.value for key, _ in root.value] if isinstance(root, yaml.MappingNode) else []
    if "markdown_extensions" in keys:
        raise W2WError(
            "mkdocs.yml markdown_extensions: w2w renders the handout's Markdown itself (markdown-it-py, as "
            "for the deck), so Python-Markdown extensions would not apply",
            "remove markdown_extensions; tables, footnotes, definition lists, {attrs}, $maths$, Mermaid "
            "fences and heading anchors are built in (docs/reference.md, 'Writing sections')",
            mkdocs_yml,
            top_level_key_line(text, "markdown_extensions"),
        )


class W2WPlugin(BasePlugin[W2WPluginConfig]):
    def on_config(self, config):
        project = Project.find(Path(config.config_file_path).parent)
        # Under `w2w build-talk` the build writes the deck itself (a branch parallel to the handout);
        # under `mkdocs serve`/`build` the plugin does, so the deck reloads with the handout.
        handed_over = self.config.prepared
        self.standalone = handed_over is None
        self.writes_deck = self.config.deck and self.standalone
        if self.standalone:
            compiled_templates.forget_unwritten()
        try:
            self.prepared = (
                handed_over
                if handed_over is not None
                else prepare(project, before_models=lambda: check_site_needs(project))
            )
        except W2WError as exc:
            raise _plugin_error(exc) from exc
        try:
            _refuse_markdown_extensions(project.mkdocs_yml)
        except W2WError as exc:
            raise _plugin_error(exc) from exc
        talk = self.prepared.talk
        self.sections = {f"sections/{s.id}.md": s for s in talk.sections}
        self.pages = {f"{p}.md": project.handout_file(p) for p in ["index", *talk.handout]}
        self._rendered: dict[str, tuple[str, list[Heading]]] = {}
        # The theme prints these without escaping: talk text is text, never markup.
        config.site_name = _text(talk.title)
        config.site_description = _text(talk.subtitle)
        config.nav = [
            {"Home": "index.md"},
            {
                "The talk": [
                    {_text(f"{item.number}. {item.title}"): f"sections/{item.id}.md"} for item in self.prepared.agenda
                ]
            },
            {"Handout": [{_text(_first_heading(self.pages[f"{p}.md"]) or p): f"{p}.md"} for p in talk.handout]},
        ]
        config.extra_css.append("assets/w2w-handout.css")
        # The explorables (templates/explore*): precomputed results behind controls, offline.
        config.extra_css.append("assets/w2w-explore.css")
        config.extra_javascript.extend(f"assets/w2w-{name}" for name in HANDOUT_SCRIPTS if name.endswith(".js"))
        # Material's offline plugin loads this shim from a CDN unless a local copy is listed first.
        config.extra["polyfills"] = [SHIM_URI] + [
            u for u in config.extra.get("polyfills", []) if "iframe-worker" not in u
        ]
        return config

    def on_files(self, files: Files, config) -> Files:
        for file in list(files):
            if file.src_uri.endswith(".md") and file.src_uri not in self.pages:
                files.remove(file)  # a handout page not listed in talk.yaml stays out of the site
            elif file.abs_src_path and Path(file.abs_src_path).is_relative_to(config.docs_dir):
                # MkDocs copies the rest of talk/handout/ into the site: only what is inside the project.
                try:
                    inside_project(Path(file.abs_src_path), self.prepared.project.root)
                except W2WError as exc:
                    raise _plugin_error(exc) from None
        for src_uri, section in self.sections.items():
            source = read_source(self.prepared.project.section_file(section.id))
            files.append(File.generated(config, src_uri, content=source))
        for name, artifact in self.prepared.produced.artifacts.items():
            for file in artifact.files.values():
                files.append(
                    File.generated(config, f"artifacts/{name}/{file}", abs_src_path=str(artifact.directory / file))
                )
        files.append(File.generated(config, "assets/w2w-handout.css", content=self._css()))
        for name in HANDOUT_SCRIPTS:
            source = self.prepared.project.templates_dir / name
            files.append(File.generated(config, f"assets/w2w-{name}", abs_src_path=str(source)))
        shim = iframe_worker_shim(self.prepared.project.root)
        files.append(File.generated(config, SHIM_URI, abs_src_path=str(shim)))
        return files

    def on_env(self, env, config, files):
        # MkDocs makes a fresh theme environment per build; its compiled templates are kept.
        from mkdocs import __version__ as mkdocs_version

        env.bytecode_cache = compiled_templates.CompiledTemplates(
            self.prepared.project.cache_dir, f"mkdocs{mkdocs_version}-theme"
        )
        return env

    def on_page_markdown(self, markdown: str, page, config, files) -> str:
        src = page.file.src_uri
        root = "../" * src.count("/")
        try:
            if src in self.sections:
                self._rendered[src] = self.prepared.render_handout_section(self.sections[src], root)
            elif src in self.pages:
                self._rendered[src] = self.prepared.render_handout_page(self.pages[src], root)
            else:
                return markdown
        except W2WError as exc:
            raise _plugin_error(exc) from exc
        return ""  # w2w renders the page; MkDocs' own Markdown has nothing left to do

    def on_page_content(self, html: str, page, config, files) -> str:
        rendered = self._rendered.get(page.file.src_uri)
        if rendered is None:
            return html
        content, headings = rendered
        page.toc = get_toc(_toc_tokens(headings))
        return content

    def on_post_build(self, config) -> None:
        from w2w.publish.deck import copy_media, write_deck

        copy_media(self.prepared, Path(config.site_dir))  # images the pages refer to, known once rendered
        if self.writes_deck:
            write_deck(self.prepared, Path(config.site_dir) / "slides")
        if self.standalone:
            compiled_templates.store_compiled()

    def on_post_page(self, output: str, page, config) -> str:
        return fix_theme_markup(output)

    def on_post_template(self, output_content: str, template_name: str, config) -> str:
        return fix_theme_markup(output_content)  # 404.html

    def on_serve(self, server, config, builder):
        root = self.prepared.project.root
        for path in (root / "talk", root / "templates"):
            server.watch(str(path))
        server.builder = showing_errors(server.builder, Path(config.site_dir), _describe)
        return server

    def _css(self) -> str:
        return stylesheet(self.prepared.project, "handout.css.j2", self.prepared.talk.theme, ".md-typeset pre code")


def _toc_tokens(headings: list[Heading]) -> list[dict]:
    """Nested TOC tokens (levels 1-3) in MkDocs' format. Material shows the children of a first
    entry that is the h1 (and only those): the page's h1 is the root, its h2s are the children,
    each h2's h3s below it; a later h1 (rare) sits beside the h2s."""
    shown = [h for h in headings if h.level <= 3]
    under_h1 = bool(shown) and shown[0].level == 1
    roots: list[dict] = []
    stack: list[dict] = []
    for number, heading in enumerate(shown):
        level = max(heading.level, 2) if under_h1 and number > 0 else heading.level
        # Material prints TOC titles unescaped; heading text is text (e.g. "the `<think>` token").
        token = {"level": level, "id": heading.id, "name": html.escape(heading.text), "children": []}
        while stack and stack[-1]["level"] >= level:
            stack.pop()
        (stack[-1]["children"] if stack else roots).append(token)
        stack.append(token)
    return roots


def _describe(exc: BaseException) -> str:
    error = user_error(exc)
    return str(error) if error is not None else f"the build failed: {exc}"


def _text(value: str):
    from markupsafe import Markup, escape

    return Markup(escape(value))


def _first_heading(path: Path) -> str:
    for line in read_source(path).splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""
