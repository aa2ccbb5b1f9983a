"""Rendered sections -> the reveal.js deck in site/slides/ (self-contained: works from file://)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .compiled_templates import CompiledTemplates
from .npm_assets import REVEAL_FILES, reveal_dir
from .pages import AgendaItem, Prepared, RenderedSlide
from .templating import load_template, stylesheet


@dataclass
class DeckSection:
    item: AgendaItem
    slides: list[RenderedSlide]
    seconds_per_slide: int


OPENING_SECONDS = 30  # the title and the agenda slide each; taken from the first section's time


def deck_sections(prepared: Prepared) -> list[DeckSection]:
    sections = []
    seen_ids = {s.id for s in prepared.talk.sections}  # the deck is one page: ids unique across it
    for item, section in zip(prepared.agenda, prepared.talk.sections):
        slides = prepared.render_slides(section, "deck", root="", seen_ids=seen_ids)
        # Pacing: the section's minutes spread over its slides (reveal.js data-timing, seconds), so
        # the timings add up to the agenda, title and agenda slides included.
        budget = section.minutes * 60 - (2 * OPENING_SECONDS if not sections else 0)
        sections.append(DeckSection(item, slides, max(1, round(budget / len(slides)))))
    return sections


def write_deck(prepared: Prepared, out_dir: Path) -> Path:
    """Write index.html, the theme, reveal.js and the artifacts' files into out_dir."""
    project = prepared.project
    reveal = reveal_dir(project.root)
    sections = deck_sections(prepared)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(project.templates_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=CompiledTemplates(project.cache_dir, "deck"),
    )
    total_seconds = prepared.talk.total_minutes * 60
    html = load_template(env, "deck.html.j2").render(
        talk=prepared.talk,
        agenda=prepared.agenda,
        sections=sections,
        total_slides=2 + sum(len(s.slides) for s in sections),
        opening_seconds=OPENING_SECONDS,
        reveal_config=json.dumps(
            {
                "width": 1280,
                "height": 720,
                "margin": 0.04,
                "center": False,
                "hash": True,
                "slideNumber": "c/t",
                "showSlideNumber": "all",
                "transition": "fade",
                "transitionSpeed": "fast",
                "totalTime": total_seconds,
                "pdfSeparateFragments": False,
            }
        ),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "index.html").write_text(html, encoding="utf-8")
    css = stylesheet(project, "deck.css.j2", prepared.talk.theme, ".reveal pre code")
    (out_dir / "w2w-deck.css").write_text(css, encoding="utf-8")
    for live_file, target in (("live.js", "w2w-live.js"), ("live.css", "w2w-live.css")):  # issue 10: live demos
        shutil.copyfile(project.templates_dir / live_file, out_dir / target)
    for rel in REVEAL_FILES:
        target = out_dir / "reveal" / Path(rel).relative_to("dist")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reveal / rel, target)
    copy_artifact_files(prepared, out_dir)
    return out_dir / "index.html"


def copy_artifact_files(prepared: Prepared, site_dir: Path) -> None:
    for name, artifact in prepared.produced.artifacts.items():
        target = site_dir / "artifacts" / name
        target.mkdir(parents=True, exist_ok=True)
        for file in artifact.files.values():
            shutil.copyfile(artifact.directory / file, target / file)
    copy_media(prepared, site_dir)


def copy_media(prepared: Prepared, site_dir: Path) -> None:
    """The pages' own images (rendered pages point at media/<path in the project>)."""
    root = prepared.project.root
    for source in sorted(prepared.media):
        target = site_dir / "media" / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
