"""Prepared talk -> rendered pages: Jinja (per target) then Markdown, shared by deck and handout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from w2w.artifacts.cache import ArtifactCache
from w2w.artifacts.frozen import FrozenStore
from w2w.artifacts.plan import Plan, make_plan
from w2w.artifacts.produce import Produced, produce
from w2w.errors import W2WError
from w2w.project import Project
from w2w.render.diagrams import MermaidRenderer, mermaid_config
from w2w.render.markdown import Heading, ImagePlace, MarkdownRenderer
from w2w.render.slides import Slide, split_slides
from w2w.render.templating import Artifacts, ArtifactView, render_markdown
from w2w.talk.config import Section, Talk, load_talk
from w2w.talk.sandbox import make_environment


@dataclass(frozen=True)
class AgendaItem:
    id: str
    title: str
    minutes: int
    start: int  # minutes from the start of the talk
    number: int

    @property
    def short(self) -> str:
        """The title before its colon ("Warm-up: from text to..." -> "Warm-up"), for spoken routes."""
        return self.title.split(":", 1)[0].strip()


@dataclass
class RenderedSlide:
    title: str
    html: str
    notes_html: str
    notes_text: str  # Markdown of the notes, for pacing (words spoken)
    notes_line: int = 0  # 1-based line of the notes in the section file (rendering keeps lines)


@dataclass
class Prepared:
    project: Project
    talk: Talk
    warnings: list[str]
    plan: Plan
    produced: Produced
    env: object = field(repr=False)
    markdown: MarkdownRenderer = field(repr=False)
    media: set[Path] = field(default_factory=set)  # the pages' own image files, copied to site/media/
    _slides: dict[tuple[str, str, str], list[Slide]] = field(default_factory=dict, repr=False)

    @property
    def agenda(self) -> list[AgendaItem]:
        items, start = [], 0
        for number, section in enumerate(self.talk.sections, start=1):
            items.append(AgendaItem(section.id, section.title, section.minutes, start, number))
            start += section.minutes
        return items

    def context(self, target: str, root: str, section_id: str | None = None) -> dict:
        """The Jinja context. `section_id`: the agenda part being rendered, so its prose can say
        its own minutes and hand over to the part that really follows (`this_part`, `next_part`,
        `prev_part`: AgendaItems or None; `parts`: enabled parts by id)."""
        notices = self.produced.notices
        views = {
            name: ArtifactView(
                name,
                a.data,
                {**a.provenance, "fallback": notices.get(name, "")},
                a.files,
                root,
                a.directory,
                section_id or "page",
            )
            for name, a in self.produced.artifacts.items()
        }
        agenda = self.agenda
        index = next((i for i, item in enumerate(agenda) if item.id == section_id), None)
        return {
            "talk": self.talk,
            "agenda": agenda,
            "parts": {item.id: item for item in agenda},
            "this_part": agenda[index] if index is not None else None,
            "prev_part": agenda[index - 1] if index else None,
            "next_part": agenda[index + 1] if index is not None and index + 1 < len(agenda) else None,
            "artifacts": Artifacts(views),
            "target": target,
            "root": root,
        }

    def section_slides(self, section: Section, target: str, root: str) -> list[Slide]:
        """The section after Jinja, split into slides, still Markdown: made once per build for each
        (section, target, root) and read by the deck, the handout, the pacing and the time claims.
        Only the pages need the HTML; the time claims once rendered every slide again for the notes."""
        key = (section.id, target, root)
        if key not in self._slides:
            path = self.project.section_file(section.id)
            slides = split_slides(render_markdown(self.env, path, self.context(target, root, section.id), self.media))
            if not slides:
                raise W2WError("the section has no slides", "write at least one slide", path, 1)
            self._slides[key] = slides
        return self._slides[key]

    def render_slides(
        self, section: Section, target: str, root: str, seen_ids: set[str] | None = None
    ) -> list[RenderedSlide]:
        """`seen_ids`: heading ids already on the page (the deck is one page for all sections)."""
        seen_ids = set() if seen_ids is None else seen_ids
        path = self.project.section_file(section.id)
        rendered = []
        for slide in self.section_slides(section, target, root):
            body = self._markdown(slide.content, path, slide.line, root, seen_ids)
            notes = self._markdown(slide.notes, path, slide.notes_line, root, seen_ids) if slide.notes else None
            rendered.append(
                RenderedSlide(slide.title, body.html, notes.html if notes else "", slide.notes, slide.notes_line)
            )
        return rendered

    def render_handout_section(self, section: Section, root: str) -> tuple[str, list[Heading]]:
        """A section as a handout page: each slide's content followed by its notes as prose."""
        parts, headings, seen_ids = [], [], set()
        path = self.project.section_file(section.id)
        for slide in self.section_slides(section, "handout", root):
            body = self._markdown(slide.content, path, slide.line, root, seen_ids)
            parts.append(body.html)
            headings += body.headings
            if slide.notes:
                notes = self._markdown(slide.notes, path, slide.notes_line, root, seen_ids)
                parts.append(f'<div class="w2w-notes"><p class="w2w-notes-label">Speaker notes</p>\n{notes.html}</div>')
        return "\n".join(parts), headings

    def render_handout_page(self, path: Path, root: str) -> tuple[str, list[Heading]]:
        text = render_markdown(self.env, path, self.context("handout", root), self.media)
        rendered = self._markdown(text, path, 1, root)
        return rendered.html, rendered.headings

    def _markdown(self, text: str, path: Path, line: int, root: str, seen_ids: set[str] | None = None):
        images = ImagePlace(path, self.project.root, root)
        try:
            return self.markdown.render(text, line_offset=line - 1, seen_ids=seen_ids, images=images)
        except W2WError as exc:
            raise exc.located(path, line) from None


def prepare(project: Project, strict: bool = False, before_models: Callable[[], None] | None = None) -> Prepared:
    """The talk loaded, its plan made and its artifacts produced. `before_models` runs after the
    plan and before any generator: a caller that publishes passes its preflight there
    (w2w/publish/preflight.py), so a missing reveal.js is found before a minute of models."""
    talk, warnings = load_talk(project.talk_yaml)
    if strict:
        check_slot(project, talk)
    plan = make_plan(project, talk, strict)
    if before_models is not None:
        before_models()
    produced = produce(plan, ArtifactCache(project.artifacts_dir), FrozenStore(project.frozen_dir), strict)
    markdown = MarkdownRenderer(MermaidRenderer(project.cache_dir / "diagrams", mermaid_config(talk.theme)))
    return Prepared(
        project,
        talk,
        warnings + list(plan.warnings),
        plan,
        produced,
        make_environment(project.root, project.cache_dir),
        markdown,
    )


def check_slot(project: Project, talk: Talk) -> None:
    """`--strict`: an agenda that does not add up to the slot is an error, not a warning."""
    if talk.total_minutes == talk.slot_minutes:
        return
    from w2w.talk.yaml_source import YamlSource

    line = YamlSource(project.talk_yaml).line_of(("agenda",))
    raise W2WError(
        f"agenda adds up to {talk.total_minutes} min but slot_minutes is {talk.slot_minutes}",
        "retime the enabled sections or change slot_minutes",
        project.talk_yaml,
        line,
    )
