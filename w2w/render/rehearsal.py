"""A rehearsal beside the plan: where the time went, section by section, and the minutes it suggests.

`w2w present --rehearse` writes a rehearsal file (JSON, `.w2w/rehearsals/<when>.json`): when each
slide was entered and left, and the time each agenda section was on screen. `w2w pacing
--rehearsal FILE` reads it here and sets it beside the agenda's minutes and the notes' spoken-time
estimate (pacing.py), and proposes new minutes: the slot shared out in proportion to the time each
rehearsed section really took (the speaker's own pace, which a words-per-minute estimate only
guesses), rounded to whole minutes that add up to the slot, at least one each. A section the
rehearsal never reached keeps its minutes. `--apply` writes the proposal into talk.yaml
(talk/yaml_edit.py), never without being asked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from w2w.errors import W2WError
from w2w.render.pacing import SectionPace

FORMAT = 1  # the rehearsal file's format; a newer one is refused by name


class SlideVisit(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str  # reveal.js "h.v"
    section: str = ""
    title: str = ""
    entered_s: float = Field(ge=0)  # seconds since the rehearsal started
    left_s: float = Field(ge=0)


class SectionTime(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    seconds: float = Field(ge=0)


class Rehearsal(BaseModel):
    model_config = ConfigDict(extra="ignore")
    w2w_rehearsal: int
    started: str  # ISO 8601, local time of the machine that presented
    seconds: float = Field(ge=0)
    slot_minutes: int = Field(ge=1)
    sections: list[SectionTime]
    slides: list[SlideVisit] = []


def load_rehearsal(path: Path) -> Rehearsal:
    """The rehearsal file, or one located error."""
    fix = "give a file that `w2w present --rehearse` wrote"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise W2WError(f"cannot read the rehearsal file: {exc.strerror or exc}", fix, path) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise W2WError("the rehearsal file is not valid JSON", fix, path, getattr(exc, "lineno", None)) from None
    version = data.get("w2w_rehearsal") if isinstance(data, dict) else None
    if isinstance(version, int) and version > FORMAT:
        raise W2WError(f"rehearsal format {version} is newer than this w2w reads ({FORMAT})", "update w2w", path, 1)
    try:
        return Rehearsal.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise W2WError(f"not a rehearsal file: {where}: {first['msg']}", fix, path, 1) from None


@dataclass(frozen=True)
class RehearsedSection:
    id: str
    title: str
    planned: int  # agenda minutes
    spoken: float  # the notes' estimate, minutes
    rehearsed: float | None  # minutes on screen in the rehearsal (None: never reached)
    proposed: int

    @property
    def difference(self) -> float | None:
        return None if self.rehearsed is None else self.rehearsed - self.planned


def compare(paces: list[SectionPace], rehearsal: Rehearsal, slot_minutes: int) -> list[RehearsedSection]:
    """Each enabled section: planned, spoken estimate, rehearsed, and the proposed minutes."""
    seen = {s.id: s.seconds / 60 for s in rehearsal.sections}
    rehearsed = {p.id: seen[p.id] for p in paces if seen.get(p.id, 0) > 0}
    proposed = propose({p.id: p.minutes for p in paces}, rehearsed, slot_minutes)
    return [
        RehearsedSection(p.id, p.title, p.minutes, p.spoken_minutes, rehearsed.get(p.id), proposed[p.id]) for p in paces
    ]


def propose(planned: dict[str, int], rehearsed: dict[str, float], slot_minutes: int) -> dict[str, int]:
    """The slot shared out by rehearsed time: sections never reached keep their planned minutes;
    the rest of the slot goes to the reached ones in proportion to their rehearsed minutes, whole
    minutes by the largest remainder, at least 1 each. Sums to the slot whenever it can."""
    kept = {name: minutes for name, minutes in planned.items() if name not in rehearsed}
    budget = max(slot_minutes - sum(kept.values()), len(rehearsed))
    total = sum(rehearsed.values())
    if not rehearsed or total <= 0:
        return dict(planned)
    share = {name: max(1.0, budget * minutes / total) for name, minutes in rehearsed.items()}
    whole = {name: max(1, math.floor(value)) for name, value in share.items()}
    # the largest remainders first; a tie goes to the longer section, then to the earlier one
    rank = {name: i for i, name in enumerate(planned)}
    order = sorted(share, key=lambda name: (-(share[name] - math.floor(share[name])), -share[name], rank[name]))
    for name in order[: max(0, budget - sum(whole.values()))]:
        whole[name] += 1
    return {name: kept.get(name, whole.get(name, 0)) for name in planned}


def table(rows: list[RehearsedSection], rehearsal: Rehearsal, wpm: int):
    """The comparison as a rich Table."""
    from rich.table import Table

    out = Table(
        title=f"Rehearsal of {rehearsal.started}: {rehearsal.seconds / 60:.1f} min in all",
        caption=f"proposed: the slot shared out by rehearsed time (notes estimated at {wpm} words/min)",
    )
    for name, justify in (("section", "left"), ("planned", "right"), ("notes", "right")):
        out.add_column(name, justify=justify, no_wrap=True)
    for name in ("rehearsed", "difference", "proposed"):
        out.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        rehearsed = "not reached" if row.rehearsed is None else f"{row.rehearsed:.1f}"
        difference = "" if row.difference is None else f"{row.difference:+.1f}"
        out.add_row(row.id, str(row.planned), f"{row.spoken:.1f}", rehearsed, difference, str(row.proposed))
    reached = [r.rehearsed for r in rows if r.rehearsed is not None]
    out.add_row(
        "total",
        str(sum(r.planned for r in rows)),
        f"{sum(r.spoken for r in rows):.1f}",
        f"{sum(reached):.1f}",
        "",
        str(sum(r.proposed for r in rows)),
    )
    return out
