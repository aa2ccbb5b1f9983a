"""The pointer the room sees (`w2w present --audience`): the speaker's laser dot and ink on the
slide, sent by the laptop's deck (and, once it lands, the paired phone remote), shown on the
deck (over the presenter stream) and on every phone (over the audience stream).

    POST /room/api/pointer      presenter: {dot: [x, y] | null} | {stroke, points} | {clear: true}

Positions are fractions of the slide (0..1 across, 0..1 down), so any screen maps them. A sender
is rate-bounded here, not trusted to throttle itself: its moves are gathered and sent as one
`pointer` event at most MOVES_PER_S times a second to the deck and PHONE_MOVES_PER_S to the
phones; in between the latest dot wins and a stroke's points are appended (ink is never dropped
silently: past its bounds a request is refused). A
slide change clears it everywhere: marks belong to the slide they were made on, a phone that
connects later gets only the current slide's, and the pages clear theirs on a `slide` event that
changes the slide's key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from w2w.present.broadcast import Channel
from w2w.present.room.state import Refusal, Room

MOVES_PER_S = 30  # per sender, to the deck: a mouse reports ~60-125 moves/s; 30 reads as smooth
# Per sender, to the phones: each event is one write to each of up to 1000 streams. At 500 phones a
# slide change's fan-out takes 18.8 ms of the server's core when quiet (BENCHMARKS.md), so 30 a
# second would need over half of it, and under a load average of 9 a 30/s run piled up (p99 1.5 s,
# bench_pointer.py); at 10 a second the phones' dot glides between positions (a 100 ms CSS
# transition), and the one sent is the latest: at most 1/MOVES_PER_S old when it goes.
PHONE_MOVES_PER_S = 10
BEHIND_SHARE = 0.05  # phones whose queue still holds events (a stuck phone or two is not "behind")
HOLD_S = 0.5  # however far behind, the phones get a position at least twice a second
POINTS_PER_MOVE = 64  # one request's new points of a stroke
STROKE_POINTS = 1000  # one stroke's points at most
SLIDE_POINTS = 2000  # all the ink on one slide (half a minute of drawing): 28 KB of JSON for a phone that joins
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
class _Lane:
    """One sender's moves on their way to one channel, sent at most once per `every` seconds."""

    channel: Channel
    every: float
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
        self.lanes: dict[tuple[str, str], _Lane] = {}  # (sender, "deck" | "phones")
        self.published = 0  # events sent, for the benchmark and the tests
        room.on_slide.append(self.slide_changed)

    def slide_changed(self, key: str) -> None:
        """A new slide: its marks start empty (the pages clear theirs on the `slide` event)."""
        self.key, self.dot, self.ink = key, None, {}
        for lane in self.lanes.values():  # moves gathered on the old slide are not sent on this one
            lane.pending = _Pending()

    def state(self) -> dict:
        """What a page that connects now gets: the current slide's marks only."""
        return {"s": self.key, "dot": self.dot, "ink": self.ink}

    def move(self, sender: str, move: Move) -> None:
        lanes = self._lanes(sender)
        if move.clear:
            self.ink = {}
            for lane in lanes:
                lane.pending.clear, lane.pending.ink = True, {}
        if move.stroke is not None:
            self._ink(str(move.stroke), [_q(p) for p in move.points], lanes)
        if "dot" in move.model_fields_set:
            self.dot = _q(move.dot) if move.dot is not None else None
            for lane in lanes:
                lane.pending.dot = self.dot
        for lane in lanes:
            self._soon(lane)

    def _ink(self, stroke: str, points: list, lanes: list[_Lane]) -> None:
        kept = self.ink.get(stroke)
        if kept is None and len(self.ink) >= STROKES_MAX:
            raise Refusal(409, f"{STROKES_MAX} strokes on this slide already — clear it (X) or change slide")
        if (kept and len(kept) or 0) + len(points) > STROKE_POINTS:
            raise Refusal(409, f"a stroke is at most {STROKE_POINTS} points — start a new one")
        if sum(map(len, self.ink.values())) + len(points) > SLIDE_POINTS:
            raise Refusal(409, f"{SLIDE_POINTS} points of ink on this slide — clear it (X) or change slide")
        self.ink.setdefault(stroke, []).extend(points)
        for lane in lanes:
            lane.pending.ink.setdefault(stroke, []).extend(points)

    def _lanes(self, sender: str) -> list[_Lane]:
        if (sender, "deck") not in self.lanes:
            self.lanes[(sender, "deck")] = _Lane(self.room.presenters, 1 / MOVES_PER_S)
            self.lanes[(sender, "phones")] = _Lane(self.room.phones, 1 / PHONE_MOVES_PER_S)
        return [self.lanes[(sender, "deck")], self.lanes[(sender, "phones")]]

    def _behind(self, lane: _Lane) -> bool:
        """The phones have not all been written the last events yet (over BEHIND_SHARE of their
        queues still hold some: the server's core is short), and the lane has waited less than
        HOLD_S: it tries again in half an interval, its moves still gathering, so that the event
        that goes is the latest at a moment the phones can take it, not one more in a backlog."""
        queues = lane.channel.queues
        waiting = sum(1 for queue in queues if not queue.empty())
        if waiting <= BEHIND_SHARE * len(queues) or self.room.clock() - lane.last >= HOLD_S:
            return False
        try:
            lane.timer = asyncio.get_running_loop().call_later(lane.every / 2, self._flush, lane)
        except RuntimeError:  # no event loop (a room used on its own): nothing to wait for
            return False
        return True

    def _soon(self, lane: _Lane) -> None:
        """Publish now if the lane's last event is `every` old, else once it is."""
        if lane.timer is not None:
            return
        wait = lane.last + lane.every - self.room.clock()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a room used on its own): at once
            wait, loop = 0, None
        if wait <= 0 or loop is None:
            self._flush(lane)
        else:
            lane.timer = loop.call_later(wait, self._flush, lane)

    def _flush(self, lane: _Lane) -> None:
        lane.timer = None
        if lane.pending.empty():
            return
        if lane.channel is self.room.phones and self._behind(lane):
            return
        pending, lane.pending = lane.pending, _Pending()
        event: dict = {"s": self.key}
        if pending.clear:
            event["clear"] = True
        if pending.ink:
            event["ink"] = pending.ink
        if pending.dot is not ...:
            event["dot"] = pending.dot
        lane.last = self.room.clock()
        lane.channel.publish("pointer", event)
        if lane.channel is self.room.phones:
            self.published += 1
