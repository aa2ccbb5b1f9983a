"""Rendered sections -> the reveal.js deck in site/slides/ (self-contained: works from file://)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from w2w.project import read_source
from w2w.publish.npm_assets import REVEAL_FILES, reveal_dir
from w2w.render.prepare import AgendaItem, Prepared, RenderedSlide
from w2w.render.slides import split_slides
from w2w.render.templating import stylesheet
from w2w.talk.compiled_templates import CompiledTemplates
from w2w.talk.sandbox import load_template


@dataclass
class DeckSection:
    item: AgendaItem
    slides: list[RenderedSlide]
    timings: list[int]  # reveal.js data-timing of each slide, seconds


@dataclass
class Opening:
    """The title and agenda slides the deck adds before the first part (their notes and timings)."""

    title_notes: str
    agenda_notes: str
    title_seconds: int = 0
    agenda_seconds: int = 0


# A slide without notes still stays up a while: weigh it as if it had this many words (a quarter
# of a minute at 130 words/min).
MIN_WEIGHT_WORDS = 30


def opening(prepared: Prepared) -> Opening:
    talk, agenda = prepared.talk, prepared.agenda
    route = "; ".join(f"{item.title} ({item.minutes} min)" for item in agenda)
    return Opening(
        f"Welcome. {talk.slot_minutes} minutes in {len(agenda)} parts; the handout carries the notes, the deep "
        "dive and a worksheet with worked answers. Press S for the speaker view.",
        f"Walk through the {len(agenda)} parts: {route}.",
    )


def split_seconds(total: int, weights: list[float]) -> list[int]:
    """`total` seconds in proportion to `weights`, as whole seconds that add up to `total` exactly
    (largest remainders get the leftover seconds); every slide gets at least one second."""
    share = sum(weights) or 1
    raw = [total * w / share for w in weights]
    out = [max(1, int(r)) for r in raw]
    leftover = total - sum(out)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)[: max(0, leftover)]:
        out[i] += 1
    return out


def deck_sections(prepared: Prepared, intro: Opening | None = None) -> list[DeckSection]:
    """The parts' slides with their pacing. The timer paces to the slot: each part gets its share of
    the slot (its agenda minutes, scaled when the agenda does not add up to the slot), spread over
    its slides by the words of their notes; the title and agenda slides share the first part's."""
    from w2w.render.pacing import count_words

    talk = prepared.talk
    intro = intro or opening(prepared)
    scale = talk.slot_minutes / talk.total_minutes if talk.total_minutes else 0
    sections = []
    # The deck is one page: ids unique across it. A heading may not take a slide's id either: the
    # second slide of "intro" is `<section id="intro-2">`, and "# Intro" on its first slide took
    # "intro-2" too (vnu: duplicate ID, in the mini talk). Slides are counted in the source.
    seen_ids = {s.id for s in prepared.talk.sections}
    for section in prepared.talk.sections:
        count = len(split_slides(read_source(prepared.project.section_file(section.id))))
        seen_ids |= {f"{section.id}-{n}" for n in range(2, count + 3)}
    for item, section in zip(prepared.agenda, prepared.talk.sections, strict=False):
        slides = prepared.render_slides(section, "deck", root="", seen_ids=seen_ids)
        weights = [max(MIN_WEIGHT_WORDS, count_words(slide.notes_text)) for slide in slides]
        extra = [max(MIN_WEIGHT_WORDS, count_words(n)) for n in (intro.title_notes, intro.agenda_notes)]
        first = not sections
        timings = split_seconds(round(item.minutes * scale * 60), (extra if first else []) + weights)
        if first:
            intro.title_seconds, intro.agenda_seconds = timings[0], timings[1]
            timings = timings[2:]
        sections.append(DeckSection(item, slides, timings))
    return sections


def write_deck(prepared: Prepared, out_dir: Path) -> Path:
    """Write index.html, the theme, reveal.js and the artifacts' files into out_dir."""
    project = prepared.project
    reveal = reveal_dir(project.root)
    intro = opening(prepared)
    sections = deck_sections(prepared, intro)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(project.templates_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=CompiledTemplates(project.cache_dir, "deck"),
    )
    total_seconds = prepared.talk.slot_minutes * 60  # the timer paces to the slot
    views = view_scripts(project.templates_dir)
    html = load_template(env, "deck.html.j2").render(
        view_scripts=[target for _, target in views],
        talk=prepared.talk,
        agenda=prepared.agenda,
        sections=sections,
        total_slides=2 + sum(len(s.slides) for s in sections),
        opening=intro,
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
    # the live demos' and the explorables' scripts and styles (docs/live-protocol.md, docs/generators.md)
    for live_file, target in (*DECK_SCRIPTS, *views):
        shutil.copyfile(project.templates_dir / live_file, out_dir / target)
    for rel in REVEAL_FILES:
        target = out_dir / "reveal" / Path(rel).relative_to("dist")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reveal / rel, target)
    copy_artifact_files(prepared, out_dir)
    return out_dir / "index.html"


# templates/ file -> its name next to the deck's index.html (deck.html.j2 includes each one).
DECK_SCRIPTS = (
    ("dom.js", "w2w-dom.js"),  # the shared DOM helpers, before the scripts that use them
    ("live.js", "w2w-live.js"),
    ("live.css", "w2w-live.css"),
    ("explore.css", "w2w-explore.css"),
    ("explore-tokens.js", "w2w-explore-tokens.js"),
    ("explore-diffusion.js", "w2w-explore-diffusion.js"),
    ("explore-words.js", "w2w-explore-words.js"),
    ("explore-loop.js", "w2w-explore-loop.js"),
    ("sound.js", "w2w-sound.js"),  # the sound model's players: their keys, and a pause on leaving the slide
)


def view_scripts(templates_dir: Path) -> list[tuple[str, str]]:
    """Every live view script of templates/, `live-<view>.js` (e.g. live-diffusion.js), and its name
    beside the deck: a new live generator brings its view by adding one such file, which registers
    `window.w2wLiveViews[<data-w2w-live kind>]` (docs/generators.md); the deck loads each after
    live.js, in name order."""
    return [(path.name, f"w2w-{path.name}") for path in sorted(templates_dir.glob("live-*.js"))]


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
