"""The room under a crowd (issue 31): the stage keeps a budget of its own, and one phone is one
phone. The session's real server (`mini_server`: `w2w present --audience --host 127.0.0.2`), its
door on 127.0.0.2; each phone is a client bound to a loopback source address of its own
(127.x.y.1, tests/phones.py), as distinct phones on the venue's network would be. The presenter
is the laptop: 127.0.0.1 to 127.0.0.1.

The limits are the documented ones (docs/audience.md, "The rules the server keeps"), written here,
not read from the code under test. Nothing here is timed: a test waits on what the server says
(its status counts, an event, an answer), each wait bounded for a failing server only.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from live_server import AUDIENCE_LAN, Reply, assert_no_traceback, log_mark
from phones import Stream, fetch, head, phone_address, read_reply

pytestmark = [pytest.mark.build, pytest.mark.server]

LAN = AUDIENCE_LAN
DOOR_REQUESTS, ADDRESS_REQUESTS = 64, 8  # the door's requests in flight, and one address's share
STREAMS_PER_ADDRESS = 250  # a quarter of the 1000 phone streams
BOUND_S = 120  # bounds a wait for a failing server, not a timing
PAGE = ["/room/", "/room/room.css", "/slides/w2w-dom.js", "/room/room-stream.js", "/room/audience.js"]
DECK = ["/slides/index.html", "/slides/reveal/reveal.css", "/slides/reveal/reveal.js"]  # the phone's frame


@pytest.fixture(scope="module")
def room(mini_server):
    return mini_server


@pytest.fixture
def quiet(room):
    """The test's server output holds no traceback: every refusal above was an answer."""
    mark = log_mark(room)
    yield
    assert_no_traceback(room, mark)


def run(scenario) -> None:
    """The scenario on an event loop of its own thread: Playwright's sync API (the shared Chromium of
    the server files) may hold a running loop on the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario).result()


def one_line(reply: Reply, status: int) -> str:
    assert reply.status == status, (reply.status, reply.body[:300])
    assert reply.headers["content-type"].startswith("application/json")
    message = json.loads(reply.body)["message"]
    assert message and "\n" not in message
    return message


async def presenter(room, path: str) -> Reply:
    return await fetch("127.0.0.1", "127.0.0.1", room.port, "GET", path, room.auth())


async def requests_now(room) -> dict:
    reply = await presenter(room, "/api/live/status")
    assert reply.status == 200, reply
    return json.loads(reply.body)["requests"]


async def until(room, wanted, what: str) -> dict:
    """The status's request counts once `wanted(counts)` holds (bounded)."""
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        counts = await requests_now(room)
        if wanted(counts):
            return counts
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {what}: {counts}")


async def the_stage_answers(room) -> list[int]:
    """The presenter's status and the deck's files, as the deck and the speaker view load them."""
    return [(await presenter(room, path)).status for path in ("/api/live/status", *DECK)]


def test_held_open_uploads_never_starve_the_stage(room, quiet):
    """64 uploads from ten addresses with the audience token, each body sent in part and held, fill
    the door's 64 places; six phones loading the page wait their turn, and a seventh after them;
    the presenter's status and the deck's files answer 200 all along; each upload ends with the
    server's 408 when its body does not come, and then every waiting phone is served, not refused.
    (Waiting GETs, not more held uploads: an upload let in after the first 64 would hold its place
    for another 10 s, doubling the test's time to show the same door.)"""

    async def scenario():
        before = await requests_now(room)
        uploads = []
        for i in range(DOOR_REQUESTS):
            source = f"127.0.3.{1 + i % 10}"
            reader, writer = await asyncio.open_connection(LAN, room.port, local_addr=(source, 0))
            headers = {"X-W2W-Token": room.audience_token, "Content-Type": "application/json"}
            writer.write(head("POST", "/room/api/suggest", f"{LAN}:{room.port}", headers, 200) + b'{"device": "')
            uploads.append((reader, writer))
        full = await until(room, lambda c: c["door"] == DOOR_REQUESTS, "a full door")
        assert full["stage"] == 1  # this status request alone: the door's requests are not the stage's
        phones = [
            asyncio.create_task(fetch(f"127.0.3.{51 + i}", LAN, room.port, "GET", "/room/room.css")) for i in range(6)
        ]
        await until(room, lambda c: c["door"] == DOOR_REQUESTS and c["waiting"] == 6, "six phones in line")
        assert await the_stage_answers(room) == [200] * 4
        late = asyncio.create_task(fetch("127.0.3.50", LAN, room.port, "GET", "/room/room.css"))
        await until(room, lambda c: c["waiting"] == 7, "the late phone in line")
        for _ in range(5):
            assert await the_stage_answers(room) == [200] * 4
        ended = [await read_reply(reader) for reader, _ in uploads]
        for _, writer in uploads:
            writer.close()
        for reply in ended:
            assert "10 s" in one_line(reply, 408)
        assert [(await phone).status for phone in phones] == [200] * 6  # in their turn, not refused
        assert (await late).status == 200
        after = await until(room, lambda c: c["door"] == 0 and c["waiting"] == 0, "an empty door")
        assert after["refused"] == before["refused"]

    run(scenario())


def test_a_burst_of_phones_loading_the_page(room, quiet):
    """120 phones scan the QR code at once: each loads the audience page and the deck in its frame,
    six requests at a time as a browser does, while the presenter's deck polls its status and loads
    its files. Every request of both is answered 200: the door's requests wait their turn."""

    async def phone(i: int) -> list[int]:
        gate = asyncio.Semaphore(6)

        async def get(path: str) -> int:
            async with gate:
                return (await fetch(phone_address(i), LAN, room.port, "GET", path)).status

        return await asyncio.gather(*(get(path) for path in PAGE + DECK))

    async def scenario():
        before = await requests_now(room)
        burst = asyncio.gather(*(phone(i) for i in range(120)))
        stage, most_waiting = [], 0
        while not burst.done():
            stage += await the_stage_answers(room)
            most_waiting = max(most_waiting, (await requests_now(room))["waiting"])
            await asyncio.sleep(0)
        phones = [status for answers in await burst for status in answers]
        assert phones == [200] * 120 * len(PAGE + DECK)
        assert stage and set(stage) == {200}, sorted(set(stage))
        after = await requests_now(room)
        assert after["refused"] == before["refused"]
        print(f"burst: {len(phones)} phone requests, {len(stage)} of the stage's, at most {most_waiting} waiting")

    run(scenario())


def test_one_address_at_its_stream_cap_and_another_connects(room, quiet):
    """One address opens its 250 streams; its next is refused with a 503 in one line; a phone from
    another address still follows; closed, they are counted off the room again."""
    crowded, other = "127.0.6.1", "127.0.6.2"

    def phones_on_moderation_page() -> int:
        from live_server import first_event

        return first_event(room, "/room/api/presenter", room.token)["data"]["phones"]

    async def scenario():
        before = phones_on_moderation_page()
        streams = []
        for _ in range(STREAMS_PER_ADDRESS // 50):
            batch = [Stream(crowded).open(LAN, room.port, room.audience_token) for _i in range(50)]
            streams += await asyncio.gather(*batch)
        assert [s.status for s in streams] == [200] * STREAMS_PER_ADDRESS
        firsts = await asyncio.gather(*(s.next_event() for s in streams))
        assert {kind for kind, _ in firsts} == {"state"}
        refused = await fetch(crowded, LAN, room.port, "GET", "/room/api/stream", {"X-W2W-Token": room.audience_token})
        assert "from one address" in one_line(refused, 503) and refused.headers["retry-after"] == "2"
        another = await Stream(other).open(LAN, room.port, room.audience_token)
        assert another.status == 200 and (await another.next_event())[0] == "state"
        assert phones_on_moderation_page() == before + STREAMS_PER_ADDRESS + 1
        for stream in [*streams, another]:
            stream.close()
        deadline = time.monotonic() + BOUND_S
        while phones_on_moderation_page() != before and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert phones_on_moderation_page() == before

    run(scenario())


def test_made_up_device_ids_do_not_multiply_a_vote(room, quiet):
    """An address counts one vote per phone following from it: thirty made-up device ids from an
    address with no stream open count once; with two streams open, twice. A phone that follows
    gets each change as the one count that changed, never the whole room again."""
    voter, watcher = "127.0.7.1", "127.0.7.2"
    audience = {"X-W2W-Token": room.audience_token, "Content-Type": "application/json"}

    async def post(source: str, path: str, payload: dict, headers: dict) -> Reply:
        return await fetch(source, LAN, room.port, "POST", path, headers, json.dumps(payload).encode())

    async def vote(device: str) -> Reply:
        return await post(voter, "/room/api/vote", {"device": device, "id": question}, audience)

    async def scenario():
        nonlocal question
        asked = await post("127.0.7.3", "/room/api/ask", {"device": "v" * 16, "text": "Which is bigger?"}, audience)
        assert asked.status == 202, asked
        question = json.loads(asked.body)["id"]
        approve = json.dumps({"id": question, "action": "approve"}).encode()
        moderated = await fetch("127.0.0.1", "127.0.0.1", room.port, "POST", "/room/api/moderate",
                                room.auth(**{"Content-Type": "application/json"}), approve)  # fmt: skip
        assert moderated.status == 200, moderated
        follower = await Stream(watcher).open(LAN, room.port, room.audience_token)
        kind, state = await follower.next_event()
        assert kind == "state" and {q["id"]: q["votes"] for q in state["questions"]}[question] == 0

        replies = [await vote(f"made-up-device-{n:03d}") for n in range(30)]
        assert [r.status for r in replies] == [200] + [429] * 29
        assert json.loads(replies[0].body)["votes"] == 1
        assert "one per phone" in one_line(replies[1], 429)
        phones = [await Stream(voter).open(LAN, room.port, room.audience_token) for _ in range(2)]
        assert [p.status for p in phones] == [200, 200]
        more = [await vote(f"made-up-device-{n:03d}") for n in range(30, 33)]
        assert [r.status for r in more] == [200, 429, 429] and json.loads(more[0].body)["votes"] == 2

        seen = []
        while not seen or seen[-1] != ("votes", {question: 2}):
            seen.append(await asyncio.wait_for(follower.next_event(), BOUND_S))
        assert all(kind == "votes" and set(data) == {question} for kind, data in seen), seen
        for stream in (follower, *phones):
            stream.close()

    question = ""
    run(scenario())


def test_a_storm_of_votes_reaches_a_phone_as_one_small_event(require_present):
    """The room on its own: 100 votes in one moment from an address with five phones following
    count five times, and each phone then gets one `votes` event with the one count that changed;
    the speaker's page one moderation state."""
    from w2w.present.broadcast import Channel, encode
    from w2w.present.room.state import Room

    async def scenario():
        room = Room({}, Channel("audience", 20, 10), Channel("presenter", 2))
        phones = [room.phones.subscribe(b"", "10.0.0.9") for _ in range(5)]
        speaker = room.presenters.subscribe(b"", "127.0.0.1")
        question = room.ask("asking-device-0001", "10.0.0.1", "Why?")
        room.moderate(question.id, "approve")
        for phone in phones:  # the approved question itself: one `item` event
            assert phone.get_nowait() == b"" and phone.get_nowait() == encode("item", question.public())
        assert speaker.get_nowait() == b""
        counted = 0
        for n in range(100):
            try:
                room.vote(f"storm-device-{n:04d}", "10.0.0.9", question.id)
                counted += 1
            except Exception as refusal:
                assert getattr(refusal, "status", None) == 429
        assert counted == 5 and phones[0].empty() and speaker.empty()  # nothing sent yet: gathered
        for phone in phones:
            message = await asyncio.wait_for(phone.get(), BOUND_S)
            assert message == encode("votes", {question.id: 5}) and len(message) < 64
        queue = await asyncio.wait_for(speaker.get(), BOUND_S)
        assert json.loads(queue.split(b"data: ")[1])["questions"][0]["votes"] == 5
        assert all(phone.empty() for phone in phones) and speaker.empty()

    run(scenario())


def test_a_run_no_deck_sends_ends_failed_and_a_claimed_one_does_not(require_present):
    """The speaker orders a suggestion's run; the deck that should send it never does (closed, or
    on another slide): after the room's claim wait the item is failed on every phone. A run the deck
    did send stays running until its own end. The wait is set short; the loop's timers fire in
    deadline order, so the later wait below always sees the earlier deadline pass."""
    from pydantic import BaseModel, ConfigDict

    from w2w.plugin_api import TextInput
    from w2w.present.broadcast import Channel
    from w2w.present.room.deck_slides import Slide
    from w2w.present.room.state import Room

    class Words(BaseModel):  # a slide's live request: one free-text field
        model_config = ConfigDict(extra="forbid")
        prompt: str

    slide = Slide(
        3, 0, generator="token_trace", request={}, text_input=TextInput("prompt", max_chars=200), live_request=Words
    )

    async def scenario():
        room = Room({slide.key: slide}, Channel("audience", 20, 10), Channel("presenter", 2))
        room.claim_within_s = 0.05
        lost = room.suggest("device-0001", "10.0.0.1", slide.key, "noise into pictures")
        sent = room.suggest("device-0002", "10.0.0.2", slide.key, "words into worlds")
        room.moderate(lost.id, "run")
        room.moderate(sent.id, "run")
        assert room.claim_run("token_trace", {"prompt": "Words  into worlds"}) is sent  # the deck's request
        await asyncio.sleep(room.claim_within_s * 4)
        assert (lost.state, sent.state) == ("failed", "running")
        room.moderate(lost.id, "run")  # the speaker tries again: it waits afresh
        assert lost.state == "running"

    run(scenario())
