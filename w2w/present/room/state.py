"""The room's state during `w2w present --audience`: the presenter's slide, the audience's
suggestions (a bounded queue per live slide) and questions, votes, and the results of approved
runs. Every change is published on the broadcaster; nothing here does I/O.

What reaches whom (docs/audience.md): a phone sees the current slide, approved suggestions and
their results, and approved questions with their votes. Unapproved items go only to the speaker.
A phone gets the whole room once, when it connects (`state`), then only what changed: the one
item (`item`, `result`, `removed`), and the vote counts that changed, gathered for VOTES_EVERY_S
(`votes`), so a storm of votes costs each phone a few small events a second. The speaker's pages
get the whole moderation state (`queue`), at most once per QUEUE_EVERY_S.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from w2w.present.broadcast import Channel
from w2w.present.http import validation_message
from w2w.present.room.deck_slides import Slide

log = logging.getLogger("w2w.present")

SUBMIT_EVERY_S = 10.0  # one suggestion or question per device, and per address, per 10 s
PENDING_MAX = 20  # unmoderated suggestions kept per slide; the oldest is dropped (and said so)
QUESTIONS_MAX = 200  # questions kept in all; the oldest unapproved one is dropped first
QUESTION_LIMIT = 280  # characters
PHONES_MAX = 1000  # concurrent audience streams (the fan-out benchmark runs 1000 on 2 cores)
PHONES_PER_ADDRESS = 250  # a quarter of those from one address: a venue NAT's phones, and room for the rest
VOTES_EVERY_S = 0.5  # changed vote counts go to the phones at most this often, gathered
QUEUE_EVERY_S = 0.2  # the moderation state goes to the speaker's pages at most this often
PRESENTERS_MAX = 8  # the deck, the moderation page, a spare
# The deck sends an ordered run as soon as it hears the order (it moves to the slide and submits
# the form: well under a second on loopback). With no deck open, or one that cannot, the item would
# say "running on the big screen" on every phone for good; past this it fails, and may run again.
CLAIM_WITHIN_S = 30.0


class Refusal(Exception):
    """A submission refused: `status` and a one-line message (no user text in it)."""

    def __init__(self, status: int, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?]")


def clean(text: object, limit: int, what: str) -> str:
    """Text as the room keeps it: control and format characters (bidi overrides, zero-widths)
    removed, whitespace collapsed, 1..limit characters, and nothing that reads as HTML markup once
    normalised (`<` + a zero-width space + `img` is `<img`, and so is a full-width `＜img`);
    otherwise a Refusal."""
    if not isinstance(text, str):
        raise Refusal(400, f"{what} must be text")
    if len(text) > 4 * limit:
        raise Refusal(400, f"{what} is too long: at most {limit} characters")
    text = _CONTROL.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Co", "Cs", "Cn"))
    text = " ".join(text.split())
    if not text:
        raise Refusal(400, f"{what} is empty")
    if len(text) > limit:
        raise Refusal(400, f"{what} is too long: at most {limit} characters")
    if _MARKUP.search(text) or _MARKUP.search(unicodedata.normalize("NFKC", text)):
        raise Refusal(400, f"{what}: it looks like HTML markup — send plain text")
    return text


@dataclass
class Item:
    """A suggestion (kind "suggestion", for a slide) or a question (kind "question")."""

    id: str
    kind: str
    text: str
    device: str
    slide: str = ""
    state: str = "pending"  # pending, approved, running, done, failed, answered
    voters: set[str] = field(default_factory=set)  # devices whose vote counted
    by_address: Counter[str] = field(default_factory=Counter)  # counted votes, by the voter's address
    at: float = field(default_factory=time.time)
    result: dict | None = None
    value: object = None  # a suggestion: its slide's text input as the slide's request holds it
    claimed: bool = False  # a run ordered: the deck's request for it arrived

    def public(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "text": self.text, "slide": self.slide, "state": self.state}
        if self.kind == "question":
            out["votes"] = len(self.voters)
        if self.result:
            out["result"] = self.result
        return out


class Room:
    def __init__(self, slides: dict[str, Slide], phones: Channel, presenters: Channel, clock=time.monotonic) -> None:
        self.slides, self.phones, self.presenters, self.clock = slides, phones, presenters, clock
        first = next(iter(slides.values()), Slide(0, 0))
        self.slide = {**first.public(), "f": -1}
        self.items: dict[str, Item] = {}
        self.last_submit: dict[str, float] = {}  # "device:<id>" / "address:<ip>" -> time
        self.dropped = 0  # unmoderated suggestions dropped for room in a full queue
        self.refused = 0  # submissions and votes answered 429
        self._votes: set[str] = set()  # questions whose count changed since the phones last heard
        self._timers: dict[str, asyncio.TimerHandle] = {}  # "votes" / "queue": a send to come; "claim:<id>"
        # Why a generator cannot run on the deck now (None: it can); set by the server. A run
        # ordered then fails at once: the deck plays the recording and sends no request.
        self.runnable: Callable[[str], str | None] | None = None
        self.claim_within_s = CLAIM_WITHIN_S
        # More of what each side gets on connecting, from the room's other parts (the pointer,
        # room/pointer.py; the poll, room/poll.py): each a function returning a dict to merge.
        self.phone_views: list[Callable[[], dict]] = []
        self.speaker_views: list[Callable[[], dict]] = []
        self.on_slide: list[Callable[[str], None]] = []  # told each new slide's key (the pointer clears)
        self.record: list[dict] = []  # closed polls, in order (room/poll.py)

    def closed_polls(self) -> list[dict]:
        """The talk's closed polls with their final counts, oldest first (for a rehearsal or talk
        record; the server writes them to .w2w/room/polls.json when it stops)."""
        return [dict(poll) for poll in self.record]

    # --- what each side sees -----------------------------------------------------------------
    def phone_state(self) -> dict:
        state = {"slide": self.slide, "questions": self.public_questions(), "suggestions": self.public_suggestions()}
        for view in self.phone_views:
            state.update(view())
        return state

    def public_questions(self) -> list[dict]:
        shown = [i for i in self.items.values() if i.kind == "question" and i.state != "pending"]
        return [i.public() for i in sorted(shown, key=lambda i: (-len(i.voters), i.at))]

    def public_suggestions(self) -> list[dict]:
        return [i.public() for i in self.items.values() if i.kind == "suggestion" and i.state != "pending"]

    def moderation_state(self) -> dict:
        queues: dict[str, dict] = {}
        for slide in self.slides.values():
            if slide.live:
                queues[slide.key] = {"title": slide.title, "generator": slide.generator, "items": []}
        for item in self.items.values():
            if item.kind == "suggestion" and item.slide in queues:
                queues[item.slide]["items"].append(item.public())
        questions = [i for i in self.items.values() if i.kind == "question"]
        ordered = sorted(questions, key=lambda i: (-len(i.voters), i.at))
        state = {
            "slide": self.slide,
            "queues": queues,
            "questions": [i.public() for i in ordered],
            "dropped": self.dropped,
            "refused": self.refused,
            "phones": len(self.phones.queues),
        }
        for view in self.speaker_views:
            state.update(view())
        return state

    # --- what changed, to whom ----------------------------------------------------------------
    def _changed(self, item: Item | None = None) -> None:
        """`item` changed: the phones get it alone if they may see it; the speaker's pages soon get
        the whole moderation state."""
        if item is not None and item.state != "pending" and item.id in self.items:
            self.phones.publish("item", item.public())
        self._soon("queue")

    def _soon(self, what: str) -> None:
        """Send `what` ("votes" or "queue") once its interval is over, with every change until then."""
        if what in self._timers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a room used on its own): at once
            return self._send(what)
        self._timers[what] = loop.call_later(VOTES_EVERY_S if what == "votes" else QUEUE_EVERY_S, self._send, what)

    def _send(self, what: str) -> None:
        self._timers.pop(what, None)
        if what == "queue":
            self.presenters.publish("queue", self.moderation_state())
            return
        shown = (self.items.get(i) for i in self._votes)
        counts = {item.id: len(item.voters) for item in shown if item is not None and item.state != "pending"}
        self._votes.clear()
        if counts:
            self.phones.publish("votes", counts)

    # --- the presenter -----------------------------------------------------------------------
    def move(self, h: int, v: int, f: int) -> None:
        slide = self.slides.get(f"{h}.{v}")
        if slide is None:
            raise Refusal(400, f"no slide {h}.{v} in the built deck")
        now = {**slide.public(), "f": f}
        if now["key"] != self.slide["key"]:
            for told in self.on_slide:
                told(now["key"])
        if now != self.slide:
            self.slide = now
            self.phones.publish("slide", now)
            self.presenters.publish("slide", now)

    def moderate(self, item_id: str, action: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise Refusal(404, "no such item (it may have been dismissed or dropped)")
        allowed = {"suggestion": ("approve", "dismiss", "run"), "question": ("approve", "dismiss", "answered")}
        if action not in allowed[item.kind]:
            raise Refusal(400, f"a {item.kind} can be: {', '.join(allowed[item.kind])}")
        if action == "dismiss":
            del self.items[item_id]
            self.phones.publish("removed", {"id": item_id})
            self._changed()
            return item
        if action == "approve":
            item.state = "approved" if item.state == "pending" else item.state
        elif action == "answered":
            item.state = "answered"
        elif action == "run":
            slide = self.slides[item.slide]
            item.state, item.claimed = "running", False
            self._expect_claim(item)
            self.presenters.publish(
                "run", {"id": item.id, "h": slide.h, "v": slide.v, "generator": slide.generator, "text": item.text}
            )
            if self.runnable is not None and self.runnable(slide.generator):
                item.state = "failed"
        self._changed(item)
        return item

    def claim_run(self, generator: str, body: dict) -> Item | None:
        """The queued item a live run is for: the deck sends the item's text in its slide's text
        input (`body` as the deck sent it, before any check: a refused run fails its item too)."""
        for item in self.items.values():
            slide = self.slides.get(item.slide)
            if item.state != "running" or not slide or slide.generator != generator or slide.text_input is None:
                continue
            if _same(body.get(slide.text_input.field), item.value):
                item.claimed = True
                return item
        return None

    def _expect_claim(self, item: Item) -> None:
        """Fail a run ordered for `item` that no deck has sent within `claim_within_s`."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a room used on its own): nothing will claim it late
            return

        def unclaimed() -> None:
            self._timers.pop(key, None)
            if item.state == "running" and not item.claimed:
                log.warning("room: no deck ran %s within %g s; it is marked failed", item.id, self.claim_within_s)
                self.failed(item)

        key = f"claim:{item.id}"
        if key in self._timers:  # ordered again: the wait starts over
            self._timers[key].cancel()
        self._timers[key] = loop.call_later(self.claim_within_s, unclaimed)

    def finished(self, item: Item, done: dict) -> None:
        """An approved run's `done`: what every phone gets (text, and a PNG data URL for a picture)."""
        result: dict = {}
        image = done.get("image")
        if isinstance(image, str) and image.startswith("data:image/png;base64,"):
            result["image"] = image
        for key in ("completion", "text"):
            if isinstance(done.get(key), str):
                result["text"] = done[key]
                break
        if isinstance(done.get("words"), list):
            result["text"] = ", ".join(map(str, done["words"]))
        result["model"] = str(done.get("model", ""))
        item.state, item.result = "done", result
        if item.id in self.items:
            self.phones.publish("result", item.public())
            self._changed()

    def failed(self, item: Item) -> None:
        """An approved run that did not finish (refused, failed, given up on by the deck): every
        phone and the moderation page say so, and the speaker may run it again."""
        if item.state == "running":
            item.state = "failed"
            self._changed(item)

    # --- the audience ------------------------------------------------------------------------
    def _rate(self, device: str, address: str) -> None:
        now = self.clock()
        for key in (f"device:{device}", f"address:{address}"):
            last = self.last_submit.get(key)
            if last is not None and now - last < SUBMIT_EVERY_S:
                self.refused += 1
                wait = max(1, round(SUBMIT_EVERY_S - (now - last)))
                raise Refusal(429, f"one suggestion or question every {SUBMIT_EVERY_S:g} s — wait {wait} s", str(wait))
        for key in (f"device:{device}", f"address:{address}"):
            self.last_submit[key] = now
        if len(self.last_submit) > 20000:  # forget old entries so a flood of ids cannot grow it for ever
            cutoff = now - SUBMIT_EVERY_S
            self.last_submit = {k: t for k, t in self.last_submit.items() if t >= cutoff}

    def suggest(self, device: str, address: str, slide_key: object, text: object) -> Item:
        slide = self.slides.get(slide_key) if isinstance(slide_key, str) else None
        if slide is None:
            raise Refusal(400, "slide: no such slide in the built deck")
        kind = slide.text_input
        if kind is None:
            raise Refusal(400, "slide: that slide has no live model to suggest for")
        cleaned = clean(text, kind.max_chars, kind.field)
        value = _runnable(slide, cleaned)
        self._rate(device, address)
        item = Item(secrets.token_hex(8), "suggestion", cleaned, device, slide.key, value=value)
        self.items[item.id] = item
        pending = [i for i in self.items.values() if i.slide == slide.key and i.state == "pending"]
        if len(pending) > PENDING_MAX:
            oldest = pending[0]
            del self.items[oldest.id]
            self.dropped += 1
            self.phones.publish("removed", {"id": oldest.id})
            log.info("room: the queue of slide %s is full: dropped its oldest unmoderated suggestion", slide.key)
        self._changed()
        return item

    def ask(self, device: str, address: str, text: object) -> Item:
        cleaned = clean(text, QUESTION_LIMIT, "question")
        self._rate(device, address)
        questions = [i for i in self.items.values() if i.kind == "question"]
        if len(questions) >= QUESTIONS_MAX:
            drop = next((i for i in questions if i.state == "pending"), questions[0])
            del self.items[drop.id]
            self.dropped += 1
            self.phones.publish("removed", {"id": drop.id})
        item = Item(secrets.token_hex(8), "question", cleaned, device)
        self.items[item.id] = item
        self._changed()
        return item

    def vote(self, device: str, address: str, item_id: object) -> Item:
        """One vote per device (a second is not counted) and, since a device id is free to make up,
        per phone: an address counts at most as many votes on a question as it has phones following
        (streams open, at least one), so a made-up id does not multiply a vote."""
        item = self.items.get(item_id) if isinstance(item_id, str) else None
        if item is None or item.kind != "question" or item.state == "pending":
            raise Refusal(404, "no such question (it may have been dismissed)")
        if device in item.voters:
            return item
        phones = max(1, self.phones.streams_from(address))
        if item.by_address[address] >= phones:
            self.refused += 1
            counted = f"{phones} vote{'s' * (phones > 1)}"
            raise Refusal(429, f"this address has {counted} on this question already: one per phone following the talk")
        item.voters.add(device)
        item.by_address[address] += 1
        self._votes.add(item.id)
        self._soon("votes")
        self._soon("queue")
        return item


def _runnable(slide: Slide, text: str) -> object:
    """The suggestion as the slide's own request would carry it, checked by its generator's
    LiveRequest now, so that every suggestion the speaker may run can run: the deck's request for
    the slide (its form's payload) with `text` in its text input. A Refusal says why not."""
    kind = slide.text_input
    request = {**(slide.request or {}), kind.field: kind.value(text)}
    try:
        checked = slide.live_request.model_validate(request)
    except ValidationError as exc:
        raise Refusal(400, f"this slide's model cannot take it — {validation_message(exc)}") from None
    return checked.model_dump(mode="json").get(kind.field)


def _same(sent: object, kept: object) -> bool:
    """The run's text input is the item's (whitespace and case aside)."""
    if isinstance(sent, str) and isinstance(kept, str):
        return _norm(sent) == _norm(kept)
    if isinstance(sent, list) and isinstance(kept, list):
        return [_norm(str(x)) for x in sent] == [_norm(str(x)) for x in kept]
    return False


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()
