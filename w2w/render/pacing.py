"""Pacing: does each section's speaker-notes script fit the minutes the agenda gives it?

The notes are what the speaker says, so their words at a speaking rate (default 130 words per
minute) estimate the section's spoken time. A section is flagged when that estimate is below
`low` (default 50%) or above `high` (default 115%) of its agenda minutes, and the talk when all
its notes do not fit the slot. The deck's own pacing timer (reveal.js `totalTime` + per-slide
`data-timing`, see w2w/publish/deck.py) paces to the slot; this report tells whether the script agrees.

It also reads what the notes *say* about time: "this part has 10 minutes" must match the agenda
(prose should say it through the `minutes()` macro; a number typed by hand goes stale when the
part is retimed), and no claim may give one slide more than its whole part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text

from w2w.errors import W2WError
from w2w.render.prepare import Prepared

DEFAULT_WPM = 130
DEFAULT_LOW = 0.5
DEFAULT_HIGH = 1.15

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


_NUMBERS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "twenty-five": 25,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "ninety": 90,
}
_NUMBER = r"\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))
_MINUTES = re.compile(rf"\b({_NUMBER})(?:\s+and\s+a\s+half)?[\s-]+minutes?\b", re.I)
# A sentence about the whole part ("this part has 10 minutes", "ten minutes for this section",
# "the whole warm-up is five minutes") or about the whole talk.
_PART_SCOPE = re.compile(r"\b(?:this|the whole|the)\s+(?:section|part|warm-up)\b|\bin total\b", re.I)
_TALK_SCOPE = re.compile(r"\b(?:the|this|whole)\s+(?:talk|session|slot)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Minutes that are a measurement of the demo, not of the talk ("trained in 44 minutes").
_NOT_SPEAKING = re.compile(r"\btrain(?:ed|ing|s)?\b", re.I)


@dataclass(frozen=True)
class TimeClaim:
    """A number of minutes the notes state, where it disagrees with the agenda."""

    path: str
    line: int
    section: str
    said: float
    expected: str  # what the agenda says, in words
    sentence: str

    def message(self) -> str:
        return f"{self.path}:{self.line}: the notes of {self.section!r} say {self.said:g} min but {self.expected}"


def _number(word: str) -> float:
    return float(word) if word[0].isdigit() else float(_NUMBERS[word.lower()])


def time_claims(prepared: Prepared) -> list[TimeClaim]:
    """Minutes claims in the rendered notes that the agenda contradicts."""
    talk = prepared.talk
    found = []
    for item, section in zip(prepared.agenda, talk.sections, strict=False):
        path = prepared.project.section_file(section.id)
        rel = path.relative_to(prepared.project.root) if path.is_relative_to(prepared.project.root) else path
        for slide in prepared.section_slides(section, "deck", ""):
            for offset, line in enumerate(slide.notes.splitlines()):
                for sentence in _SENTENCE.split(line):
                    if _NOT_SPEAKING.search(sentence):
                        continue
                    for match in _MINUTES.finditer(sentence):
                        said = _number(match.group(1)) + (0.5 if "half" in match.group(0).lower() else 0)
                        if _PART_SCOPE.search(sentence):
                            ok, expected = said == item.minutes, f"the agenda gives it {item.minutes} min"
                        elif _TALK_SCOPE.search(sentence):
                            ok = said in (talk.slot_minutes, talk.total_minutes)
                            expected = f"the slot is {talk.slot_minutes} min"
                        else:  # one slide's share: never more than the whole part
                            ok, expected = said <= item.minutes, f"the whole part has {item.minutes} min"
                        if not ok:
                            found.append(
                                TimeClaim(str(rel), slide.notes_line + offset, item.id, said, expected, sentence)
                            )
    return found


def check_time_claims(prepared: Prepared) -> None:
    """`--strict` builds: the first stale claim is an error naming its line."""
    claims = time_claims(prepared)
    if claims:
        first = claims[0]
        more = f" (and {len(claims) - 1} more)" if len(claims) > 1 else ""
        raise W2WError(
            f"the notes say {first.said:g} min but {first.expected}{more}",
            "say it with {{ minutes(this_part.minutes) }}, or drop the number",
            prepared.project.root / first.path,
            first.line,
        )


def section_paces(prepared: Prepared, wpm: int = DEFAULT_WPM) -> list[SectionPace]:
    """One entry per enabled section, in agenda order, from the notes as the deck renders them."""
    paces = []
    for item, section in zip(prepared.agenda, prepared.talk.sections, strict=False):
        slides = prepared.section_slides(section, "deck", "")
        words = sum(count_words(slide.notes) for slide in slides)
        paces.append(SectionPace(item.id, item.title, item.minutes, len(slides), words, wpm))
    return paces


def warnings(
    paces: list[SectionPace], low: float = DEFAULT_LOW, high: float = DEFAULT_HIGH, slot_minutes: int | None = None
) -> list[str]:
    lines = []
    words = sum(p.words for p in paces)
    if slot_minutes and paces and words / paces[0].wpm > slot_minutes:
        lines.append(
            f"warning: the notes take {words / paces[0].wpm:.1f} min ({words} words at {paces[0].wpm} words/min) "
            f"but the slot is {slot_minutes} min — cut notes until the talk fits"
        )
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
        "",
        "total",
        str(sum(p.slides for p in paces)),
        str(total_minutes),
        str(total_words),
        f"{total_words / wpm:.1f}",
        f"{total_words / wpm / total_minutes:.0%}" if total_minutes else "—",
        "",
        end_section=False,
    )
    return out
