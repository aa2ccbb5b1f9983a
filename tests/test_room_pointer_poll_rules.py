"""The pointer's and the poll's rules (w2w/present/room/pointer.py, poll.py) on a Room of their own,
its channels' queues read as the phones' and the speaker's streams would read them: the pointer
rate-bounded per sender (the latest dot wins, no ink lost), its marks belonging to their slide, a
poll's counts on no phone before the reveal, one counted vote per device and per phone of an
address, and the closed polls' record. The real server and browsers: test_room_pointer_poll.py."""

from __future__ import annotations

import asyncio
import functools
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError

from w2w.present.broadcast import Channel
from w2w.present.room.deck_slides import Slide
from w2w.present.room.pointer import HOLD_S, MOVES_PER_S, PHONE_MOVES_PER_S, Move, Pointer
from w2w.present.room.poll import PollOrder, Polls, save_record
from w2w.present.room.state import Refusal, Room

pytestmark = pytest.mark.quick


def on_a_thread(test):
    """The test on a thread of its own, with no event loop running there (tests/own_loop.py's
    reason: on an xdist worker where a browser test ran, Playwright's sync API keeps a loop running
    on the main thread, and the room would schedule its sends on that loop)."""

    @functools.wraps(test)
    def apart(*args, **kwargs):
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(test, *args, **kwargs).result()

    return apart


def make_room() -> tuple[Room, asyncio.Queue, asyncio.Queue]:
    room = Room({"0.0": Slide(0, 0), "1.0": Slide(1, 0)}, Channel("audience", 10, 5), Channel("presenter", 2))
    return room, room.phones.subscribe(b"", "10.0.0.1"), room.presenters.subscribe(b"", "127.0.0.1")


def events(queue: asyncio.Queue) -> list[tuple[str, object]]:
    """Every event waiting on a stream's queue, decoded as a phone decodes it."""
    out = []
    while not queue.empty():
        raw = queue.get_nowait()
        if raw:
            kind, data = raw.decode().split("\r\n")[:2]
            out.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


@on_a_thread
def test_pointer_moves_are_gathered_per_sender_the_latest_dot_wins():
    """To the deck at most MOVES_PER_S events a second per sender, to the phones PHONE_MOVES_PER_S:
    a burst is one event at once, then one with the latest dot when the sender's interval is over."""
    assert MOVES_PER_S == 30 and PHONE_MOVES_PER_S == 10

    async def scenario():
        room, phone, speaker = make_room()
        pointer = Pointer(room)
        for i in range(100):  # a burst in one tick of the loop: far past MOVES_PER_S
            pointer.move("presenter", Move(dot=(i / 100, 0.5)))
        first = events(phone)
        pointer.move("remote", Move(dot=(0.9, 0.9)))  # another sender is bounded on its own
        assert [e[1]["dot"] for e in events(phone)] == [[0.9, 0.9]]
        await asyncio.sleep(1.5 / PHONE_MOVES_PER_S)
        return first, events(phone), events(speaker), pointer

    first, later, speaker, pointer = asyncio.run(scenario())
    assert first == [("pointer", {"s": "0.0", "dot": [0.0, 0.5]})]  # the first at once
    assert later == [("pointer", {"s": "0.0", "dot": [0.99, 0.5]})]  # then one: the latest
    assert [e[1]["dot"] for e in speaker] == [[0.0, 0.5], [0.9, 0.9], [0.99, 0.5]]  # the deck sees the same
    assert pointer.published == 3


@on_a_thread
def test_ink_is_appended_never_dropped_and_bounded():
    async def scenario():
        room, phone, _ = make_room()
        pointer = Pointer(room)
        for i in range(10):
            pointer.move("presenter", Move(stroke=7, points=[(i / 10, 0.25), (i / 10, 0.5)]))
        first = events(phone)  # the phone reads what came at once
        await asyncio.sleep(1.5 / PHONE_MOVES_PER_S)
        return first + events(phone), pointer

    sent, pointer = asyncio.run(scenario())
    points = [p for _, e in sent for p in e["ink"]["7"]]
    assert points == [[i / 10, y] for i in range(10) for y in (0.25, 0.5)]  # all 20, in order, in 2 events
    assert len(sent) == 2 and pointer.state()["ink"]["7"] == points
    with pytest.raises(Refusal, match="at most 1000 points"):
        for _ in range(20):
            pointer.move("presenter", Move(stroke=8, points=[(0.1, 0.1)] * 64))
    for bad in ({"dot": [1.5, 0]}, {"dot": [float("nan"), 0]}, {"stroke": 1}, {"points": [[0, 0]]}, {"x": 1}):
        with pytest.raises(ValidationError):
            Move.model_validate(bad)


@on_a_thread
def test_phones_behind_get_the_latest_position_when_they_catch_up():
    """While the phones' queues still hold events (the server's core is short), the phones' lane
    holds its moves, the latest winning, and sends when they have been written; HOLD_S at most."""

    async def scenario():
        room, phone, _ = make_room()
        pointer = Pointer(room)
        for x in (0.1, 0.2, 0.3):  # the first goes at once; the phone does not read it yet
            pointer.move("presenter", Move(dot=(x, x)))
        await asyncio.sleep(1.5 / PHONE_MOVES_PER_S)
        held = [e[1]["dot"] for e in events(phone)]  # the phone reads now
        await asyncio.sleep(1 / PHONE_MOVES_PER_S)
        caught_up = [e[1]["dot"] for e in events(phone)]
        pointer.move("presenter", Move(dot=(0.4, 0.4)))  # sent in its slot; now nobody reads
        await asyncio.sleep(1.5 / PHONE_MOVES_PER_S)
        pointer.move("presenter", Move(dot=(0.5, 0.5)))
        await asyncio.sleep(1.5 / PHONE_MOVES_PER_S)
        unread = phone.qsize()
        await asyncio.sleep(HOLD_S)
        return held, caught_up, unread, [e[1]["dot"] for e in events(phone)]

    held, caught_up, unread, capped = asyncio.run(scenario())
    assert held == [[0.1, 0.1]] and caught_up == [[0.3, 0.3]]
    assert unread == 1 and capped == [[0.4, 0.4], [0.5, 0.5]]  # 0.5 held while 0.4 was unread, then sent


@on_a_thread
def test_marks_belong_to_their_slide():
    room, phone, _ = make_room()
    pointer = Pointer(room)
    pointer.move("presenter", Move(dot=(0.5, 0.5), stroke=1, points=[(0.1, 0.1)]))
    assert pointer.state() == {"s": "0.0", "dot": [0.5, 0.5], "ink": {"1": [[0.1, 0.1]]}}
    room.move(1, 0, -1)
    assert pointer.state() == {"s": "1.0", "dot": None, "ink": {}}  # a phone joining now sees none
    room.move(0, 0, -1)
    assert pointer.state()["ink"] == {}  # back again: still gone (cleared on the change)
    pointer.move("presenter", Move(clear=True))
    assert ("pointer", {"s": "0.0", "clear": True}) in events(phone)


@on_a_thread
def test_moves_gathered_before_a_slide_change_are_not_sent_after_it():
    async def scenario():
        room, phone, _ = make_room()
        pointer = Pointer(room)
        pointer.move("presenter", Move(dot=(0.1, 0.1)))
        pointer.move("presenter", Move(dot=(0.2, 0.2)))  # gathered, waiting for its slot
        room.move(1, 0, -1)
        await asyncio.sleep(1.5 / PHONE_MOVES_PER_S)
        return events(phone)

    assert [(k, d.get("dot", d.get("key"))) for k, d in asyncio.run(scenario())] == [
        ("pointer", [0.1, 0.1]),
        ("slide", "1.0"),
    ]


@on_a_thread
def test_a_poll_hides_its_counts_until_revealed_and_counts_one_vote_per_device():
    room, phone, speaker = make_room()
    polls = Polls(room)
    room.phone_views.append(polls.phone_state)
    poll = polls.open("For your next project: LLM, diffusion, or both?", ["LLM", "diffusion", "both"])
    assert polls.vote("a" * 16, "10.0.0.1", poll.id, 1) is True
    assert polls.vote("a" * 16, "10.0.0.1", poll.id, 2) is False  # the same device again: not counted
    with pytest.raises(Refusal, match="one per phone following") as refused:  # a made-up id, same address
        polls.vote("b" * 16, "10.0.0.1", poll.id, 2)
    assert refused.value.status == 429
    room.phones.subscribe(b"", "10.0.0.1")  # a second phone following from that address: it may vote
    assert polls.vote("b" * 16, "10.0.0.1", poll.id, 2) is True
    before = events(phone)
    assert before and all("counts" not in json.dumps(data) for _, data in before)
    assert "counts" not in json.dumps(room.phone_state())
    assert [d for k, d in events(speaker) if k == "pollcounts"][-1]["counts"] == [0, 1, 1]
    polls.order(PollOrder(action="reveal", id=poll.id))
    assert events(phone)[-1] == ("poll", {**poll.public(), "counts": [0, 1, 1], "state": "revealed"})
    polls.order(PollOrder(action="close", id=poll.id))
    with pytest.raises(Refusal, match="closed"):
        polls.vote("c" * 16, "10.0.0.2", poll.id, 0)
    assert room.closed_polls()[0]["counts"] == [0, 1, 1] and room.closed_polls()[0]["votes"] == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["only"], "2 to 4"),
        (["a", "b", "c", "d", "e"], "2 to 4"),
        (["Yes", "yes"], "the same"),
        (["<img>", "b"], "markup"),
    ],
)
@on_a_thread
def test_bad_polls_are_one_line(options, message):
    room, _, _ = make_room()
    with pytest.raises(Refusal, match=message):
        Polls(room).open("Which?", options)


@on_a_thread
def test_the_record_is_kept_across_runs(tmp_path):
    path = tmp_path / ".w2w" / "room" / "polls.json"
    for run in range(2):
        room, _, _ = make_room()
        polls = Polls(room)
        poll = polls.open(f"Question {run}?", ["yes", "no"])
        polls.vote("d" * 16, "10.0.0.1", poll.id, run)
        assert save_record(room, polls, path) == path  # the open poll is closed on stop, and kept
    kept = json.loads(path.read_text())["polls"]
    assert [(p["question"], p["counts"], p["state"]) for p in kept] == [
        ("Question 0?", [1, 0], "closed"),
        ("Question 1?", [0, 1], "closed"),
    ]


def render(tmp_path, source: str) -> str:
    """A section page rendered as the build renders it: Jinja in the talk's sandbox, then Markdown."""
    from pathlib import Path

    from w2w.render.diagrams import MermaidRenderer
    from w2w.render.markdown import MarkdownRenderer
    from w2w.render.templating import render_markdown
    from w2w.talk.sandbox import make_environment

    path = tmp_path / "poll.md"
    path.write_text(source)
    context = {"talk": {}, "agenda": [], "target": "deck", "root": ""}
    text = render_markdown(make_environment(Path(__file__).resolve().parents[1]), path, context)
    return MarkdownRenderer(MermaidRenderer()).render(text).html


def test_a_slides_poll_block_carries_its_question_as_written(tmp_path):
    html = render(
        tmp_path, '# Vote\n\n{{ poll("LLM </script> or <b>diffusion</b>?", ["LLM", "diffusion & co", "both"]) }}\n'
    )
    data = json.loads(html.split('class="w2w-poll-data">', 1)[1].split("</script>", 1)[0])
    assert data == {"question": "LLM </script> or <b>diffusion</b>?", "options": ["LLM", "diffusion & co", "both"]}
    assert "<li>diffusion &amp; co</li>" in html and "<b>" not in html.replace("\\u003cb\\u003e", "")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('poll("Which?", ["one"])', "poll(): 1 answers — give 2 to 4 answers"),
        ('poll("Which?", ["a", "A "])', "poll(): two answers are the same — make each answer different"),
        ('poll("", ["a", "b"])', "poll(): the question must be text"),
    ],
)
def test_a_bad_poll_on_a_slide_is_one_line_at_its_line(tmp_path, call, message):
    from w2w.errors import W2WError

    with pytest.raises(W2WError) as error:
        render(tmp_path, "# Vote\n\nText.\n\n{{ " + call + " }}\n")
    assert str(error.value).startswith(f"{tmp_path / 'poll.md'}:5: {message}"), str(error.value)


@on_a_thread
def test_a_storm_of_poll_votes_reaches_a_phone_as_one_small_event():
    """100 votes in one moment, after the reveal, from 100 addresses: each phone gets one
    `pollcounts` event of the counts (at most two a second, VOTES_EVERY_S), not one per vote."""
    from w2w.present.room.state import VOTES_EVERY_S

    async def scenario():
        room, phone, speaker = make_room()
        polls = Polls(room)
        poll = polls.open("Which?", ["a", "b", "c"])
        polls.order(PollOrder(action="reveal", id=poll.id))
        drained = events(phone) + events(speaker)  # the open and the reveal
        assert [kind for kind, _ in drained] == ["poll", "poll", "poll", "poll"]
        for n in range(100):
            assert polls.vote(f"storm-device-{n:04d}", f"10.1.{n}.1", poll.id, n % 3) is True
        assert events(phone) == []  # gathered: nothing yet
        await asyncio.sleep(1.5 * VOTES_EVERY_S)
        return events(phone), events(speaker), poll.id

    to_phone, to_speaker, poll_id = asyncio.run(scenario())
    assert to_phone == to_speaker == [("pollcounts", {"id": poll_id, "counts": [34, 33, 33]})]
