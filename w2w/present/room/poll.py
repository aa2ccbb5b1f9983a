"""The room's poll (`w2w present --audience`): one question, 2-4 answers, opened by the speaker from
the moderation page or from a slide's `poll()` block (templates/macros.j2).

    POST /room/api/poll         presenter: {action: open, question, options[, slide]}
                                           {action: reveal | close | clear, id}
    POST /room/api/poll/vote    audience:  {device, id, choice}

One poll is current at a time (opening one closes the one before). A phone votes once per device
(a second vote is not counted, and not changed), and an address counts at most as many votes as
it has phones following (the rule of the questions' votes, room/state.py). Its counts stay on the
speaker's side until `reveal`: before it, no event to the phones and no answer to a vote carries a
count or a total; after it, changed counts reach the phones gathered, at most every
VOTES_EVERY_S. `close` freezes it and adds it to the room's record (`Room.closed_polls()`), which
the server also writes to `.w2w/room/polls.json` when it stops; `clear` takes it off the screens.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from w2w.atomic import write_text
from w2w.present.room.state import VOTES_EVERY_S, Refusal, Room, clean
from w2w.talk.poll_spec import OPTION_LIMIT, OPTIONS_MAX, OPTIONS_MIN, QUESTION_LIMIT

Strict = ConfigDict(extra="forbid", frozen=True)


class PollOrder(BaseModel):
    model_config = Strict
    action: Literal["open", "reveal", "close", "clear"]
    id: Annotated[str, Field(max_length=32)] = ""
    question: Annotated[str, Field(max_length=4 * QUESTION_LIMIT)] = ""
    options: Annotated[list[Annotated[str, Field(max_length=4 * OPTION_LIMIT)]], Field(max_length=OPTIONS_MAX)] = []
    slide: Annotated[str, Field(max_length=16)] = ""


class PollVote(BaseModel):
    model_config = Strict
    device: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
    id: Annotated[str, Field(max_length=32)]
    choice: Annotated[int, Field(ge=0, le=3)]


@dataclass
class Poll:
    id: str
    question: str
    options: list[str]
    slide: str = ""
    state: str = "open"  # open, revealed, closed
    counts: list[int] = field(default_factory=list)
    voters: set[str] = field(default_factory=set)
    by_address: Counter[str] = field(default_factory=Counter)
    opened: float = field(default_factory=time.time)
    closed: float | None = None

    def public(self) -> dict:
        """What a phone may see: the counts only once revealed."""
        out = {"id": self.id, "question": self.question, "options": self.options, "state": self.state}
        if self.state != "open":
            out["counts"] = list(self.counts)
        return out

    def speaker(self) -> dict:
        return {**self.public(), "counts": list(self.counts), "slide": self.slide}

    def record(self) -> dict:
        return {**self.speaker(), "votes": sum(self.counts), "opened": self.opened, "closed": self.closed}


class Polls:
    def __init__(self, room: Room) -> None:
        self.room = room
        self.current: Poll | None = None
        self._timer: asyncio.TimerHandle | None = None

    def phone_state(self) -> dict:
        return {"poll": self.current.public() if self.current else None}

    def speaker_state(self) -> dict:
        return {"poll": self.current.speaker() if self.current else None}

    def order(self, order: PollOrder) -> Poll | None:
        if order.action == "open":
            return self.open(order.question, order.options, order.slide)
        poll = self.current
        if poll is None or poll.id != order.id:
            raise Refusal(404, "no such poll now (another may have been opened since)")
        if order.action == "reveal" and poll.state == "open":
            poll.state = "revealed"
        elif order.action in ("close", "clear") and poll.state != "closed":
            self._close(poll)
        if order.action == "clear":
            self.current = None
            self.room.phones.publish("poll", None)
            self.room.presenters.publish("poll", None)
            return poll
        self._changed(poll)
        return poll

    def open(self, question: str, options: list[str], slide: str = "") -> Poll:
        text = clean(question, QUESTION_LIMIT, "question")
        answers = [clean(option, OPTION_LIMIT, f"option {n + 1}") for n, option in enumerate(options)]
        if not OPTIONS_MIN <= len(answers) <= OPTIONS_MAX:
            raise Refusal(400, f"options: a poll has {OPTIONS_MIN} to {OPTIONS_MAX} answers")
        if len(set(map(str.casefold, answers))) != len(answers):
            raise Refusal(400, "options: two answers are the same — make each one different")
        if self.current is not None and self.current.state != "closed":
            self._close(self.current)
        self.current = Poll(secrets.token_hex(8), text, answers, slide, counts=[0] * len(answers))
        self._changed(self.current)
        return self.current

    def vote(self, device: str, address: str, poll_id: str, choice: int) -> bool:
        """True when this vote counted; False when this device had voted already."""
        poll = self.current
        if poll is None or poll.id != poll_id:
            raise Refusal(404, "no such poll now (the speaker may have opened another)")
        if poll.state == "closed":
            raise Refusal(409, "this poll is closed")
        if choice >= len(poll.options):
            raise Refusal(400, f"choice: this poll has {len(poll.options)} answers (0 to {len(poll.options) - 1})")
        if device in poll.voters:
            return False
        phones = max(1, self.room.phones.streams_from(address))
        if poll.by_address[address] >= phones:
            self.room.refused += 1
            counted = f"{phones} vote{'s' * (phones > 1)}"
            raise Refusal(429, f"this address has {counted} in this poll already: one per phone following the talk")
        poll.voters.add(device)
        poll.by_address[address] += 1
        poll.counts[choice] += 1
        self._counts_soon()
        return True

    def _close(self, poll: Poll) -> None:
        poll.state, poll.closed = "closed", time.time()
        self.room.record.append(poll.record())

    def _changed(self, poll: Poll) -> None:
        self.room.phones.publish("poll", poll.public())
        self.room.presenters.publish("poll", poll.speaker())

    def _counts_soon(self) -> None:
        """The counts, gathered: the speaker's pages and (once revealed) the phones get one small
        event per VOTES_EVERY_S however many votes came."""
        if self._timer is not None:
            return
        try:
            self._timer = asyncio.get_running_loop().call_later(VOTES_EVERY_S, self._send_counts)
        except RuntimeError:  # no event loop (a room used on its own): at once
            self._send_counts()

    def _send_counts(self) -> None:
        self._timer = None
        poll = self.current
        if poll is None:
            return
        counts = {"id": poll.id, "counts": list(poll.counts)}
        self.room.presenters.publish("pollcounts", counts)
        if poll.state != "open":
            self.room.phones.publish("pollcounts", counts)


def save_record(room: Room, polls: Polls, path: Path) -> Path | None:
    """When the server stops: the poll still open is closed, and every closed poll of this run is
    added to `path` (.w2w/room/polls.json; the polls of earlier runs kept), written atomically."""
    if polls.current is not None and polls.current.state != "closed":
        polls._close(polls.current)
    if not room.record:
        return None
    try:
        kept = json.loads(path.read_text(encoding="utf-8")).get("polls", [])
    except (OSError, ValueError, AttributeError):
        kept = []
    ids = {poll["id"] for poll in room.record}
    merged = [poll for poll in kept if isinstance(poll, dict) and poll.get("id") not in ids] + room.closed_polls()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps({"polls": merged}, ensure_ascii=False, indent=1) + "\n")
    return path
