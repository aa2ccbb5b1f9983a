"""The pointer the room sees and the poll (issue 34), on the session's real server (`mini_server`:
`w2w present --audience --host 127.0.0.2` on the live mini talk) with real pages: the speaker's
deck (1280 x 720), the moderation page and a phone (390 x 844) in Chromium, and beside them a
plain phone stream (a socket from 127.0.34.1, tests/phones.py's way) that keeps every byte the
server sends it, so that "hidden until revealed" is checked on the bytes, not on what a page
chooses to show. The rules one by one, without a server: test_room_pointer_poll_rules.py."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from live_server import AUDIENCE_LAN, LiveServer, request_from

pytestmark = [pytest.mark.build, pytest.mark.server, pytest.mark.browser]

RAW_PHONE = "127.0.34.1"
QUESTION = "For your next project: LLM, diffusion, or both?"


@pytest.fixture(scope="module")
def room(mini_server):
    return mini_server


class RawPhone:
    """One audience stream from an address of its own, every byte kept (a thread reads it)."""

    def __init__(self, room: LiveServer) -> None:
        self.sock = socket.create_connection((AUDIENCE_LAN, room.port), timeout=120, source_address=(RAW_PHONE, 0))
        head = f"GET /room/api/stream HTTP/1.1\r\nHost: {AUDIENCE_LAN}:{room.port}\r\n"
        self.sock.sendall(f"{head}X-W2W-Token: {room.audience_token}\r\n\r\n".encode())
        self.data = bytearray()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self._recv():
            with self.lock:
                self.data += chunk

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def bytes(self) -> bytes:
        with self.lock:
            return bytes(self.data)

    def close(self) -> None:
        self.sock.close()


def vote(room: LiveServer, poll_id: str, device: str, source: str, choice: int = 0):
    body = json.dumps({"device": device, "id": poll_id, "choice": choice}).encode()
    headers = {"X-W2W-Token": room.audience_token, "Content-Type": "application/json"}
    return request_from(source, room.port, "POST", "/room/api/poll/vote", body, headers, to=AUDIENCE_LAN)


def test_bad_pointer_and_poll_requests_are_one_line(room):
    """Each refused with a 4xx and one line of JSON in w2w's words; the server keeps serving.
    (The audience token on /room/api/pointer and /room/api/poll: test_audience's 403s.)"""
    presenter = {"X-W2W-Token": room.token, "Content-Type": "application/json"}
    phone = {"X-W2W-Token": room.audience_token, "Content-Type": "application/json"}
    bad = [
        ("/room/api/pointer", presenter, {"dot": [1.5, 0.2]}, 400),  # not a fraction of the slide
        ("/room/api/pointer", presenter, {"dot": ["NaN", 0]}, 400),
        ("/room/api/pointer", presenter, {"stroke": 1, "points": [[0.1, 0.1]] * 65}, 400),  # over 64 a request
        ("/room/api/pointer", presenter, {"points": [[0.1, 0.1]]}, 400),  # points of no stroke
        ("/room/api/pointer", presenter, {"laser": True}, 400),  # an unknown field
        ("/room/api/poll", presenter, {"action": "open", "question": "Which?", "options": ["one"]}, 400),
        ("/room/api/poll", presenter, {"action": "open", "question": "<b>Which?</b>", "options": ["a", "b"]}, 400),
        ("/room/api/poll", presenter, {"action": "publish", "id": "x"}, 400),
        ("/room/api/poll", presenter, {"action": "reveal", "id": "no-such-poll"}, 404),
        ("/room/api/poll/vote", phone, {"device": "v" * 16, "id": "no-such-poll", "choice": 0}, 404),
        ("/room/api/poll/vote", phone, {"device": "v" * 16, "id": "x", "choice": 7}, 400),
        ("/room/api/poll/vote", phone, {"device": "short", "id": "x", "choice": 0}, 400),
    ]
    for path, headers, body, status in bad:
        reply = request_from("127.0.0.1", room.port, "POST", path, json.dumps(body).encode(), headers)
        assert reply.status == status, (path, body, reply.status, reply.body)
        message = reply.json()["message"]
        assert message and "\n" not in message and "Traceback" not in message, message
    assert room.request("GET", "/room/").status == 200  # still serving


def test_the_pointer_and_the_poll_reach_the_deck_and_the_phones(room, chromium):
    def page(url: str, width: int, height: int):
        context = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=width < 500)
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda error: tab.errors.append(str(error)))
        tab.goto(url)
        return tab

    raw = RawPhone(room)
    try:
        deck = page(room.deck_url, 1280, 720)
        deck.wait_for_function("document.documentElement.dataset.w2wReady === 'true' && !!window.w2wPoll")
        deck.wait_for_function("!!document.querySelector('.reveal .slides .w2w-pointer')")
        deck.evaluate("Reveal.slide(2, 0)")
        moderation = page(room.moderate, 1100, 900)
        phone = page(room.audience[1], 390, 844)
        frame = "document.getElementById('deck').contentDocument"
        phone.wait_for_function(f"document.body.dataset.slide === '2.0' && !!{frame}.querySelector('.w2w-pointer')")
        pointer_reaches_both_and_clears(room, deck, phone, frame)
        poll_hidden_until_revealed(room, deck, moderation, phone, raw)
        for tab in (deck, moderation, phone):
            assert tab.errors == [], tab.errors
    finally:
        raw.close()


def pointer_reaches_both_and_clears(room, deck, phone, frame: str) -> None:
    dot = ".w2w-pointer-dot"
    deck.keyboard.press("q")  # the laser: the mouse over the slide goes to the room
    deck.wait_for_function("document.querySelector('.w2w-pointer-mode').textContent.startsWith('laser')")
    for x in range(500, 700, 20):
        deck.mouse.move(x, 300)
    # The deck draws what the room got, until it is where the mouse stopped (680, 300); the phone
    # then has the same last position (the latest wins), as the same fraction of its slide.
    deck.wait_for_function(
        f"(() => {{ const r = document.querySelector('{dot}').getBoundingClientRect();"
        " return Math.abs(r.left + r.width / 2 - 680) < 3 && Math.abs(r.top + r.height / 2 - 300) < 3; })()"
    )
    deck_at = deck.evaluate(f"[document.querySelector('{dot}').style.left, document.querySelector('{dot}').style.top]")
    phone.wait_for_function(f"{frame}.querySelector('{dot}').style.left === {json.dumps(deck_at[0])}")
    assert phone.evaluate(f"{frame}.querySelector('{dot}').style.top") == deck_at[1]
    # Both show it over the slide at the same place, whatever their size: a fraction of the slide.
    box = (
        "(d) => { const r = d.querySelector('.reveal .slides').getBoundingClientRect();"
        f" const p = d.querySelector('{dot}').getBoundingClientRect();"
        " return [(p.left + p.width / 2 - r.left) / r.width, (p.top + p.height / 2 - r.top) / r.height]; }"
    )
    x, y = deck.evaluate(f"({box})(document)")
    assert 0 < x < 1 and 0 < y < 1, (x, y)
    # (the phone's dot glides to its position in 100 ms: waited for, not slept)
    phone.wait_for_function(f"(([a, b]) => Math.abs(a - {x}) < 0.01 && Math.abs(b - {y}) < 0.01)(({box})({frame}))")
    deck.keyboard.press("q")
    deck.wait_for_function(f"document.querySelector('{dot}').style.display === 'none'")
    phone.wait_for_function(f"{frame}.querySelector('{dot}').style.display === 'none'")

    # Drawing: a drag leaves a stroke on both; a slide change clears it on both.
    deck.keyboard.press("d")
    deck.mouse.move(400, 400)
    deck.mouse.down()
    for x in range(400, 800, 25):
        deck.mouse.move(x, 420)
    deck.mouse.up()
    points = (
        "(d) => { const l = d.querySelector('.w2w-pointer polyline');"
        " return l ? l.getAttribute('points').split(' ').length : 0; }"
    )
    # Every point reaches both: the press and 16 moves, none lost to the gathering (10 a second to phones).
    deck.wait_for_function(f"({points})(document) === 17")
    phone.wait_for_function(f"({points})({frame}) === 17")
    for tab, name in ((deck, "deck"), (phone, "phone")):
        tab.screenshot(path=room.log.parent / f"pointer-ink-{name}.png")
    deck.keyboard.press("d")
    deck.evaluate("Reveal.slide(3, 0)")
    phone.wait_for_function("document.body.dataset.slide === '3.0'")
    phone.wait_for_function(f"({points})({frame}) === 0")
    assert deck.evaluate(f"({points})(document)") == 0


def poll_hidden_until_revealed(room, deck, moderation, phone, raw: RawPhone) -> None:
    # The speaker opens it from the moderation page.
    moderation.fill("#poll-question", QUESTION)
    for n, answer in enumerate(["LLM", "diffusion", "both"], 1):
        moderation.fill(f"#poll-option-{n}", answer)
    moderation.click("#poll-form button")
    moderation.locator("#poll .w2w-poll-view").wait_for()
    poll_id = moderation.get_attribute("#poll .w2w-poll-view", "data-poll")
    # The phone votes once; a second vote from the same device does not count.
    phone.locator(".w2w-poll-vote", has_text="diffusion").click()
    phone.locator(".w2w-poll-mine").wait_for()
    device = phone.evaluate("localStorage.getItem('w2w-room-device')")
    again = vote(room, poll_id, device, "127.0.0.1", 2)
    assert again.status == 200 and again.json() == {"id": poll_id, "counted": False}
    # A made-up device id does not multiply a phone: its address counts one vote per stream it has.
    first = vote(room, poll_id, "r" * 16, RAW_PHONE, 2)
    assert first.status == 200 and first.json() == {"id": poll_id, "counted": True}
    second = vote(room, poll_id, "s" * 16, RAW_PHONE, 2)
    assert second.status == 429 and "one per phone following" in second.json()["message"]
    # Only the speaker's page counts them, live.
    moderation.wait_for_function(
        "Array.from(document.querySelectorAll('#poll .w2w-poll-count')).map((c) => c.textContent).join('|')"
        " === '0 votes, 0%|1 vote, 50%|1 vote, 50%'"
    )
    deck.locator(".w2w-poll-panel .w2w-poll-view").wait_for()
    assert deck.locator(".w2w-poll-panel .w2w-poll-count").count() == 0  # projected: no counts yet
    assert phone.locator("#poll .w2w-poll-count").count() == 0
    before = raw.bytes()
    assert QUESTION.encode() in before and b"event: poll" in before
    assert b"counts" not in before and b"votes" not in before.split(b"event: poll", 1)[1], before[-600:]

    moderation.click("#poll .w2w-poll-reveal")
    for tab, where in ((phone, "#poll"), (deck, ".w2w-poll-panel")):
        tab.wait_for_function(
            f"Array.from(document.querySelectorAll('{where} .w2w-poll-count')).map((c) => c.textContent).join('|')"
            " === '0 votes, 0%|1 vote, 50%|1 vote, 50%'"
        )
    assert phone.locator("#poll .w2w-poll-bar").count() == 3
    for tab, name in ((deck, "deck"), (moderation, "moderation"), (phone, "phone")):
        tab.screenshot(path=room.log.parent / f"poll-revealed-{name}.png")
    moderation.click("#poll .w2w-poll-close")
    phone.wait_for_function("document.querySelector('#poll .w2w-poll-view').dataset.state === 'closed'")
    late = vote(room, poll_id, "t" * 16, "127.0.34.2")
    assert late.status == 409 and late.json()["message"] == "this poll is closed"
    moderation.click("#poll .w2w-poll-clear")
    phone.wait_for_function("document.getElementById('poll').hidden")
    for tab, name in ((deck, "deck"), (moderation, "moderation"), (phone, "phone")):
        tab.screenshot(path=room.log.parent / f"poll-cleared-{name}.png")
    deck.wait_for_function("document.querySelector('.w2w-poll-panel').style.display === 'none'")


def test_closed_polls_are_kept_when_the_server_stops(tmp_path):
    """A server of its own (a placeholder deck, one small model): a closed poll and one still open
    when Ctrl-C stops it both land in .w2w/room/polls.json with their counts."""
    from live_server import log_match, start
    from talk_factory import make_project

    root = make_project(tmp_path / "talk")
    (root / "site" / "slides").mkdir(parents=True)
    slides = "".join(f"<section><h2>Slide {i}</h2></section>" for i in range(3))
    deck = f"<div class='reveal'><div class='slides'>{slides}</div></div>"
    (root / "site" / "slides" / "index.html").write_text(deck)
    server = start(root, tmp_path / "server.log", "--audience", "--host", AUDIENCE_LAN, "--only", "embedding_plot")
    try:
        server.audience_token = log_match(server, r"#a=([A-Za-z0-9_-]+)")[1]
        opened = []
        for question, answers in (("Which first?", ["LLM", "diffusion"]), ("Which next?", ["one", "two", "both"])):
            order = json.dumps({"action": "open", "question": question, "options": answers}).encode()
            headers = server.auth(**{"Content-Type": "application/json"})
            reply = request_from("127.0.0.1", server.port, "POST", "/room/api/poll", order, headers)
            assert reply.status == 200, reply.body
            opened.append(reply.json()["id"])  # the second closes the first
            assert vote(server, opened[-1], "k" * 16, "127.0.34.5", 1).json()["counted"] is True
    finally:
        assert server.stop() in (0, 130)
    kept = json.loads((root / ".w2w" / "room" / "polls.json").read_text())["polls"]
    assert [(p["id"], p["question"], p["counts"], p["state"]) for p in kept] == [
        (opened[0], "Which first?", [0, 1], "closed"),
        (opened[1], "Which next?", [0, 1, 0], "closed"),
    ]
    assert "polls: 2 closed, their counts kept in" in server.log.read_text()
