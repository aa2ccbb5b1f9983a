"""The rehearsal recorder (`w2w present --rehearse`): when each slide and each section was entered
and left, taken from the deck's own reports (the state it posts on every slide change), written
when the server stops as a rehearsal file that `w2w pacing --rehearsal FILE` reads
(render/rehearsal.py; the format is in docs/reference.md).

The file goes to `.w2w/rehearsals/<started>.json` under the project: `.w2w/` is w2w's own working
directory (ignored by git, never read by the build or by `site_is_stale`), so a rehearsal changes
nothing that a build or the freshness of the site depends on. Times are the server's monotonic
clock, as seconds since the recording started (the first slide the deck reported).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from w2w.atomic import write_text
from w2w.render.rehearsal import FORMAT, Rehearsal

log = logging.getLogger("w2w.present")

REHEARSALS = Path(".w2w") / "rehearsals"
SLIDES_MAX = 5000  # visits kept (a 45-minute talk is about 60 slides; back and forth adds some)
AUDIO_MAX = 256 * 2**20  # the microphone's file: Opus at ~32 kbit/s is ~15 MB an hour


class AudioRefused(Exception):
    """The microphone's recording refused: the status and the one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Visit:
    key: str
    section: str
    title: str
    entered: float
    left: float | None = None


@dataclass
class Recorder:
    """The visits of one rehearsal, in order; `finish` writes them."""

    root: Path  # the project
    slot_minutes: int = 1
    first_section: str = ""  # the title and agenda slides count to the first part (deck.py)
    agenda: list[tuple[str, int]] = field(default_factory=list)  # enabled sections: id, planned minutes
    visits: list[Visit] = field(default_factory=list)
    # The room's closed polls, when the room is open (server.py sets it): kept in the record too
    polls: Callable[[], list[dict]] | None = None
    started: float | None = None
    started_at: datetime | None = None
    path: Path | None = None  # the file written, once finished
    rehearsal: Rehearsal | None = None
    audio: Path | None = None  # the microphone's recording (opt-in, from the speaker view)
    audio_started: float | None = None
    audio_bytes: int = 0

    def configure(self, talk) -> None:
        """The talk's slot and agenda (`w2w present` loads the talk after the CLI made the recorder)."""
        self.slot_minutes = talk.slot_minutes
        self.agenda = [(s.id, s.minutes) for s in talk.sections]
        self.first_section = self.agenda[0][0] if self.agenda else ""

    def visit(self, key: str, section: str, title: str, now: float) -> None:
        """The deck is on slide `key` (h.v) now; a fragment of the same slide is no new visit."""
        if self.started is None:
            self.started, self.started_at = now, datetime.now().astimezone()
        last = self.visits[-1] if self.visits else None
        if last is not None and last.key == key and last.left is None:
            return
        if last is not None and last.left is None:
            last.left = now
        if len(self.visits) < SLIDES_MAX:
            self.visits.append(Visit(key, section or self.first_section, title, now))

    def audio_start(self, now: float) -> Path:
        """A new recording of the microphone (a second start begins a new file)."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.audio = self.root / REHEARSALS / f"{stamp}-mic.webm"
        self.audio.parent.mkdir(parents=True, exist_ok=True)
        self.audio.write_bytes(b"")
        self.audio_started, self.audio_bytes = now, 0
        return self.audio

    def audio_append(self, data: bytes) -> int:
        """The recording's next chunk, appended as the browser's MediaRecorder made it."""
        if self.audio is None:
            raise AudioRefused(409, "no recording started: press the speaker view's microphone button first")
        if self.audio_bytes + len(data) > AUDIO_MAX:
            raise AudioRefused(413, f"the recording is over {AUDIO_MAX // 2**20} MiB: stop it and start another")
        with self.audio.open("ab") as out:
            out.write(data)
        self.audio_bytes += len(data)
        return self.audio_bytes

    def data(self, now: float) -> dict:
        """The rehearsal file's JSON: the format of render/rehearsal.py (docs/reference.md)."""
        start = self.started if self.started is not None else now
        slides, sections = [], {}
        for visit in self.visits:
            left = visit.left if visit.left is not None else now
            slides.append(
                {
                    "key": visit.key,
                    "section": visit.section,
                    "title": visit.title,
                    "entered_s": round(visit.entered - start, 2),
                    "left_s": round(left - start, 2),
                }
            )
            sections[visit.section] = sections.get(visit.section, 0.0) + (left - visit.entered)
        when = self.started_at or datetime.now().astimezone()
        audio = {}
        if self.audio is not None and self.audio_started is not None and self.audio_bytes:
            # the slides' times are seconds since the rehearsal started; the recording's start, too
            audio = {"audio": {"file": self.audio.name, "started_s": round(self.audio_started - start, 2)}}
        return {
            "w2w_rehearsal": FORMAT,
            "started": when.isoformat(timespec="seconds"),
            "seconds": round(now - start, 2),
            "slot_minutes": self.slot_minutes,
            "sections": [{"id": name, "seconds": round(seconds, 2)} for name, seconds in sections.items() if name],
            "slides": slides,
            **audio,
            **({"polls": polls} if self.polls and (polls := self.polls()) else {}),
        }

    def finish(self, now: float | None = None) -> Path | None:
        """Write the rehearsal file (none when the deck never reported a slide); returns its path."""
        if not self.visits:
            log.info("rehearsal: the deck reported no slide, so no rehearsal file was written")
            return None
        data = self.data(time.monotonic() if now is None else now)
        self.rehearsal = Rehearsal.model_validate(data)
        stamp = (self.started_at or datetime.now()).strftime("%Y%m%d-%H%M%S")
        self.path = self.root / REHEARSALS / f"{stamp}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text(self.path, json.dumps(data, indent=1) + "\n")
        return self.path

    def table(self):
        """The rich Table printed when the server stops: section, planned, actual, difference (min)."""
        return planned_table(self.rehearsal, self.agenda) if self.rehearsal else None


def planned_table(rehearsal: Rehearsal, agenda: list[tuple[str, int]]):
    from rich.table import Table

    seen = {s.id: s.seconds / 60 for s in rehearsal.sections}
    out = Table(title=f"Rehearsal: {rehearsal.seconds / 60:.1f} min of a {rehearsal.slot_minutes}-minute slot")
    out.add_column("section", no_wrap=True)
    for name in ("planned", "actual", "difference"):
        out.add_column(name, justify="right", no_wrap=True)
    for name, minutes in agenda:
        actual = seen.get(name)
        shown = "not reached" if actual is None else f"{actual:.1f}"
        out.add_row(name, str(minutes), shown, "" if actual is None else f"{actual - minutes:+.1f}")
    total = sum(seen.values())
    planned = sum(m for _, m in agenda)
    out.add_row("total", str(planned), f"{total:.1f}", f"{total - planned:+.1f}")
    return out
