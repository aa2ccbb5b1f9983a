"""Pacing: does each section's speaker-notes script fit the minutes the agenda gives it?

The notes are what the speaker says, so their words at a speaking rate (default 130 words per
minute) estimate the section's spoken time. A section is flagged when that estimate is below
`low` (default 50%) or above `high` (default 130%) of its agenda minutes. The deck's own pacing
timer (reveal.js `totalTime` + per-slide `data-timing`, see w2w/deck.py) uses the agenda minutes;
this report tells whether the script agrees with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text

from .pages import Prepared

DEFAULT_WPM = 130
DEFAULT_LOW = 0.5
DEFAULT_HIGH = 1.3

_TAG = re.compile(r"<[^>]+>")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.S | re.M)
# A word: letters or digits, joined by inner apostrophes, hyphens, dots or commas ("don't",
# "text-to-image", "0.80", "1,000" are one word each).
_WORD = re.compile(r"[^\W_]+(?:['’.,\-][^\W_]+)*")


def count_words(notes_markdown: str) -> int:
    """Spoken words in a notes script: Markdown and HTML markup, link targets and code blocks
    (shown, not read aloud) do not count."""
    text = _FENCE.sub(" ", notes_markdown)
    text = _LINK_TARGET.sub("]", _TAG.sub(" ", text))
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class SectionPace:
    id: str
    title: str
    minutes: int  # agenda minutes
    slides: int
    words: int  # words of the speaker notes
    wpm: int

    @property
    def spoken_minutes(self) -> float:
        return self.words / self.wpm

    @property
    def ratio(self) -> float | None:
        """Spoken time / agenda time (None when the agenda gives the section no time)."""
        return self.spoken_minutes / self.minutes if self.minutes else None

    def verdict(self, low: float = DEFAULT_LOW, high: float = DEFAULT_HIGH) -> str:
        if self.ratio is None:
            return "long" if self.words else "ok"
        if self.ratio < low:
            return "short"
        if self.ratio > high:
            return "long"
        return "ok"


def section_paces(prepared: Prepared, wpm: int = DEFAULT_WPM) -> list[SectionPace]:
    """One entry per enabled section, in agenda order, from the notes as the deck renders them."""
    paces = []
    for item, section in zip(prepared.agenda, prepared.talk.sections):
        slides = prepared.render_slides(section, "deck", "")
        words = sum(count_words(slide.notes_text) for slide in slides)
        paces.append(SectionPace(item.id, item.title, item.minutes, len(slides), words, wpm))
    return paces


def warnings(paces: list[SectionPace], low: float = DEFAULT_LOW, high: float = DEFAULT_HIGH) -> list[str]:
    lines = []
    for pace in paces:
        verdict = pace.verdict(low, high)
        if verdict == "ok":
            continue
        spoken = f"{pace.spoken_minutes:.1f} min of notes ({pace.words} words)"
        if pace.ratio is None:
            lines.append(f"warning: {pace.id}: {spoken} but 0 agenda minutes — give it time in talk.yaml")
        elif verdict == "short":
            lines.append(
                f"warning: {pace.id}: {spoken} for {pace.minutes} agenda min ({pace.ratio:.0%} < {low:.0%}) — "
                "write more of what you will say in its notes, or give it fewer minutes"
            )
        else:
            lines.append(
                f"warning: {pace.id}: {spoken} for {pace.minutes} agenda min ({pace.ratio:.0%} > {high:.0%}) — "
                "cut its notes, or give it more minutes"
            )
    return lines


def table(paces: list[SectionPace], low: float = DEFAULT_LOW, high: float = DEFAULT_HIGH):
    """The report as a rich Table."""
    from rich.table import Table

    wpm = paces[0].wpm if paces else DEFAULT_WPM
    out = Table(
        title=f"Pacing: notes spoken at {wpm} words/min vs agenda minutes",
        caption=f"flagged when the notes take < {low:.0%} or > {high:.0%} of the agenda minutes",
    )
    out.add_column("#", justify="right")
    out.add_column("section", no_wrap=True)
    out.add_column("slides", justify="right")
    out.add_column("agenda min", justify="right")
    out.add_column("note words", justify="right")
    out.add_column("spoken min", justify="right")
    out.add_column("ratio", justify="right")
    out.add_column("", no_wrap=True)
    for number, pace in enumerate(paces, start=1):
        verdict = pace.verdict(low, high)
        mark = Text(verdict, style="green" if verdict == "ok" else "yellow")
        out.add_row(
            str(number),
            pace.id,
            str(pace.slides),
            str(pace.minutes),
            str(pace.words),
            f"{pace.spoken_minutes:.1f}",
            "—" if pace.ratio is None else f"{pace.ratio:.0%}",
            mark,
        )
    total_minutes = sum(p.minutes for p in paces)
    total_words = sum(p.words for p in paces)
    out.add_row(
        "", "total", str(sum(p.slides for p in paces)), str(total_minutes), str(total_words),
        f"{total_words / wpm:.1f}", f"{total_words / wpm / total_minutes:.0%}" if total_minutes else "—", "",
        end_section=False,
    )
    return out
