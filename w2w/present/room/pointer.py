"""The pointer the room sees (`w2w present --audience`): the speaker's laser dot and ink on the
slide, sent by the laptop's deck (and, once it lands, the paired phone remote), shown on the
deck (over the presenter stream) and on every phone (over the audience stream).

    POST /room/api/pointer      presenter: {dot: [x, y] | null} | {stroke, points} | {clear: true}

Positions are fractions of the slide (0..1 across, 0..1 down), so any screen maps them. A sender
is rate-bounded here, not trusted to throttle itself: its moves are gathered and sent at most
MOVES_PER_S times a second as one `pointer` event; in between the latest dot wins and a stroke's
points are appended (ink is never dropped silently: past its bounds a request is refused). A
slide change clears it everywhere: marks belong to the slide they were made on, a phone that
connects later gets only the current slide's, and the pages clear theirs on a `slide` event that
changes the slide's key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from w2w.present.room.state import Refusal, Room

MOVES_PER_S = 30  # per sender: a mouse reports ~60-125 moves/s; 30 reads as smooth on a projector
POINTS_PER_MOVE = 64  # one request's new points of a stroke
STROKE_POINTS = 1000  # one stroke's points at most
SLIDE_POINTS = 5000  # all the ink on one slide: about 12 KB of JSON for a phone that joins late
STROKES_MAX = 200

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class Move(BaseModel):
    """One request: the dot (null hides it), new points of one stroke, or clear all ink."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dot: tuple[Fraction, Fraction] | None = None
    stroke: Annotated[int, Field(ge=0, le=2**31)] | None = None
    points: Annotated[list[tuple[Fraction, Fraction]], Field(min_length=1, max_length=POINTS_PER_MOVE)] | None = None
    clear: bool = False

    @model_validator(mode="after")
    def _one_thing(self) -> Move:
        if (self.stroke is None) != (self.points is None):
            raise ValueError("a stroke needs both `stroke` (its number) and `points`")
        return self


def _q(point) -> list[float]:
    """3 decimals: 1.3 px of a 1280 px slide, and a third of the bytes of a float's repr."""
    return [round(point[0], 3), round(point[1], 3)]


@dataclass
class _Pending:
    clear: bool = False
    dot: object = ...  # ...: unchanged; None: hidden; [x, y]
    ink: dict[str, list] = field(default_factory=dict)

    def empty(self) -> bool:
        return not self.clear and self.dot is ... and not self.ink


@dataclass
class _Sender:
    last: float = float("-inf")  # when its last event was published (the room's clock)
    pending: _Pending = field(default_factory=_Pending)
    timer: asyncio.TimerHandle | None = None


class Pointer:
    """The marks on the current slide and each sender's gathered moves."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.key = room.slide["key"]  # the slide the marks are on
        self.dot: list | None = None
        self.ink: dict[str, list] = {}  # stroke number (as text: a JSON key) -> its points
        self.senders: dict[str, _Sender] = {}
        self.published = 0  # events sent, for the benchmark and the tests
        room.on_slide.append(self.slide_changed)

    def slide_changed(self, key: str) -> None:
        """A new slide: its marks start empty (the pages clear theirs on the `slide` event)."""
        self.key, self.dot, self.ink = key, None, {}
        for sender in self.senders.values():  # moves gathered on the old slide are not sent on this one
            sender.pending = _Pending()

    def state(self) -> dict:
        """What a page that connects now gets: the current slide's marks only."""
        return {"s": self.key, "dot": self.dot, "ink": self.ink}

    def move(self, sender: str, move: Move) -> None:
        pending = self._sender(sender).pending
        if move.clear:
            self.ink, pending.clear, pending.ink = {}, True, {}
        if move.stroke is not None:
            self._ink(str(move.stroke), [_q(p) for p in move.points], pending)
        if "dot" in move.model_fields_set:
            self.dot = pending.dot = _q(move.dot) if move.dot is not None else None
        self._soon(sender)

    def _ink(self, stroke: str, points: list, pending: _Pending) -> None:
        kept = self.ink.get(stroke)
        if kept is None and len(self.ink) >= STROKES_MAX:
            raise Refusal(409, f"{STROKES_MAX} strokes on this slide already — clear it (X) or change slide")
        if (kept and len(kept) or 0) + len(points) > STROKE_POINTS:
            raise Refusal(409, f"a stroke is at most {STROKE_POINTS} points — start a new one")
        if sum(map(len, self.ink.values())) + len(points) > SLIDE_POINTS:
            raise Refusal(409, f"{SLIDE_POINTS} points of ink on this slide — clear it (X) or change slide")
        self.ink.setdefault(stroke, []).extend(points)
        pending.ink.setdefault(stroke, []).extend(points)

    def _sender(self, sender: str) -> _Sender:
        if sender not in self.senders:
            self.senders[sender] = _Sender()
        return self.senders[sender]

    def _soon(self, sender: str) -> None:
        """Publish now if this sender's last event is 1/MOVES_PER_S old, else once it is."""
        state = self.senders[sender]
        if state.timer is not None:
            return
        wait = state.last + 1 / MOVES_PER_S - self.room.clock()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a room used on its own): at once
            wait = 0
            loop = None
        if wait <= 0 or loop is None:
            self._flush(sender)
        else:
            state.timer = loop.call_later(wait, self._flush, sender)

    def _flush(self, sender: str) -> None:
        state = self.senders[sender]
        state.timer = None
        pending, state.pending = state.pending, _Pending()
        if pending.empty():
            return
        event: dict = {"s": self.key}
        if pending.clear:
            event["clear"] = True
        if pending.ink:
            event["ink"] = pending.ink
        if pending.dot is not ...:
            event["dot"] = pending.dot
        state.last = self.room.clock()
        self.published += 1
        self.room.phones.publish("pointer", event)
        self.room.presenters.publish("pointer", event)
