"""`w2w present --audience`: the room's door (issue 23). The session's real server on the live mini
talk (`mini_server`), its LAN door on 127.0.0.2 (a loopback address that stands in for the
venue's network: the presenter's API answers only on 127.0.0.1). Plain HTTP for the roles, the
bad input and the flood (cheap); one browser with four pages at once for the rest: the speaker's
deck, the moderation page and two phones.

The per-address limit is real here: every browser page connects from the same loopback address,
so the second phone's submission right after the first phone's is refused (429), as on a venue
network two submissions from one address would be.
"""

from __future__ import annotations

import json

import pytest
from live_server import AUDIENCE_LAN, LiveServer, first_event, free_port, request_from

pytestmark = [pytest.mark.build, pytest.mark.server]

LAN = AUDIENCE_LAN
PRESENTER_ROUTES = [
    ("GET", "/room/api/presenter"),
    ("GET", "/room/api/door"),
    ("POST", "/room/api/slide"),
    ("POST", "/room/api/moderate"),
    ("POST", "/room/api/pointer"),
    ("POST", "/room/api/poll"),
    ("GET", "/api/live/status"),
    ("POST", "/api/live/diffusion_demo"),
]
PICTURE = "10.0"  # talk_factory's live section: the diffusion demo's picture slide
CAPTION = "a red circle above a blue square"


@pytest.fixture(scope="module")
def room(mini_server):
    """The session's server (tests/conftest.py): `w2w present --audience --host 127.0.0.2` on the
    live mini talk, its three models loaded."""
    mini_server.root_dir = mini_server.root
    return mini_server


def send(room: LiveServer, path: str, payload, token: str, source: str = "127.0.0.1", to: str | None = None, **extra):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-W2W-Token": token, "Content-Type": "application/json", **extra}
    return request_from(source, room.port, "POST", path, body, headers, to=to)


def one_line(reply, status: int) -> str:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"].startswith("application/json")
    assert not any(h.startswith("access-control-") for h in reply.headers), reply.headers  # no CORS
    message = reply.json()["message"]
    assert message and "\n" not in message
    return message


def test_roles_doors_and_bad_input(room):
    audience, presenter = room.audience_token, room.token
    assert audience != presenter and presenter not in room.audience[1]
    # Two doors: 127.0.0.1 (the laptop) and the LAN address.
    assert room.listening_addresses() == {f"0100007F:{room.port:04X}", f"0200007F:{room.port:04X}"}
    for method, path in PRESENTER_ROUTES:
        body = b"{}" if method == "POST" else None
        headers = {"Content-Type": "application/json"}
        refused = request_from("127.0.0.1", room.port, method, path, body, {**headers, "X-W2W-Token": audience})
        one_line(refused, 403)
        # The presenter's token itself is refused on the LAN door: the models' API is the laptop's.
        lan = request_from("127.0.0.1", room.port, method, path, body, {**headers, "X-W2W-Token": presenter}, to=LAN)
        assert "127.0.0.1" in one_line(lan, 403)
    off_by_one = presenter[:-1] + ("y" if presenter.endswith("x") else "x")  # never the token itself
    for token in ("", "not-a-token", off_by_one):
        one_line(request_from("127.0.0.1", room.port, "GET", "/room/api/stream", headers={"X-W2W-Token": token}), 401)
    # Foreign Host and Origin; the LAN address's own are fine.
    for path in ("/room/", "/room/api/stream", "/slides/index.html"):
        one_line(room.request("GET", path, headers={"Host": f"evil.example:{room.port}"}), 400)
    foreign = send(room, "/room/api/ask", {"device": "f" * 16, "text": "hi"}, audience, Origin="http://evil.example")
    assert "cross-origin" in one_line(foreign, 403)
    # The audience page and its scripts (the DOM helpers are the built deck's) hold no presenter
    # token; no directory is listed.
    for path in ("/room/", "/room/audience.js", "/room/room-stream.js", "/room/room.css", "/slides/w2w-dom.js"):
        reply = request_from("127.0.0.1", room.port, "GET", path, to=LAN)
        assert reply.status == 200 and presenter.encode() not in reply.body, path
    for path in ("/slides/artifacts/", "/room/api/", "/slides/reveal/"):
        reply = room.request("GET", path)
        assert reply.status == 404 and b"Index of" not in reply.body and b"<li>" not in reply.body, path
    # The deck as served carries door.js; the built deck does not (it opens from file://).
    served = room.request("GET", "/slides/index.html").body
    assert served.count(b'<script src="/room/door.js">') == 1
    assert b"door.js" not in (room.root_dir / "site" / "slides" / "index.html").read_bytes()

    # Bad audience input: a 4xx with one line each, and nothing kept.
    device = "b" * 16
    good = {"device": device, "slide": PICTURE, "text": "a blue square"}
    words = words_slide(room)
    said = {  # refused at suggest time, in the words of the check that refused it
        "it looks like HTML markup": {**good, "text": "<\u200bimg src=x onerror=alert(1)>"},  # markup once normalised
        "this slide's model cannot take it": {**good, "slide": words, "text": "🐶, 🐱"},  # no words for the plot
    }
    for why, payload in said.items():
        assert why in one_line(send(room, "/room/api/suggest", payload, audience, source="127.0.0.9"), 400)
    bad = [
        (b"not json", 400),
        (b"[1, 2]", 400),
        ({**good, "text": "x" * 201}, 400),  # over the caption's 200 characters
        ({**good, "text": "\x00\x1b\u202e\u200b\x7f\t"}, 400),  # nothing left once control characters go
        ({**good, "text": '<img src=x onerror="alert(1)">'}, 400),  # markup
        ({**good, "slide": "99.0"}, 400),  # no such slide
        ({**good, "slide": "1.0"}, 400),  # a slide without a live model
        ({**good, "kind": "prompt"}, 400),  # an unknown field
        ({**good, "device": "short"}, 400),
        ({"device": device, "slide": PICTURE}, 400),  # no text
        ({**good, "text": 7}, 400),
        (json.dumps({**good, "text": "x" * 20000}).encode(), 413),
    ]
    for payload, status in bad:
        one_line(send(room, "/room/api/suggest", payload, audience, source="127.0.0.9"), status)
    plain = {"Content-Type": "text/plain"}
    one_line(send(room, "/room/api/suggest", b"{}", audience, source="127.0.0.9", **plain), 415)
    one_line(send(room, "/room/api/vote", {"device": device, "id": "nope"}, audience, source="127.0.0.9"), 404)
    one_line(send(room, "/room/api/moderate", {"id": "x", "action": "publish"}, presenter), 400)  # unknown action
    # Accepted text is kept as text: control and format characters stripped, whitespace collapsed.
    messy = {"device": device, "text": "Is\x07 it \u202eover\t\tfitting?"}
    reply = send(room, "/room/api/ask", messy, audience, "127.0.0.9")
    assert reply.status == 202, reply.body
    state = first_event(room, "/room/api/presenter", presenter)["data"]
    assert [q["text"] for q in state["questions"]] == ["Is it over fitting?"]
    assert state["queues"][PICTURE]["items"] == state["queues"][words]["items"] == []  # none of the bad ones was kept
    # ... and none of it reaches a phone before it is approved.
    assert first_event(room, "/room/api/stream", audience, host=LAN)["data"]["questions"] == []
    assert room.request("GET", "/room/").status == 200  # still serving


def words_slide(room: LiveServer) -> str:
    """The key of the live section's embedding slide (the live talk has two: its own section's first)."""
    queues = first_event(room, "/room/api/presenter", room.token)["data"]["queues"]
    return [key for key, queue in queues.items() if queue["generator"] == "embedding_plot"][-1]


def test_a_suggestion_whose_run_fails_ends_failed_on_every_phone(room):
    audience, presenter = room.audience_token, room.token
    words = words_slide(room)
    item = send(
        room, "/room/api/suggest", {"device": "f" * 16, "slide": words, "text": "otter"}, audience, "127.0.0.11"
    )
    assert item.status == 202, item.body
    ran = send(room, "/room/api/moderate", {"id": item.json()["id"], "action": "run"}, presenter)
    assert ran.status == 200 and ran.json()["state"] == "running"  # the models are ready: the deck runs it
    # The deck's request for it is refused (here: without the slide's plotted words): the item fails.
    refused = room.post("embedding_plot", {"words": ["otter"]})
    assert refused.status == 400
    phone = first_event(room, "/room/api/stream", audience, host=LAN)["data"]
    assert [(i["text"], i["state"]) for i in phone["suggestions"] if i["id"] == item.json()["id"]] == [
        ("otter", "failed")
    ]


def test_bad_audience_options_are_one_line(room):
    from cli_in_process import run_cli

    # Without --audience the server has no room: test_present_supervisor checks it on a plain server.
    for args, said in (
        (["--host", "127.0.0.1"], "--audience"),
        (["--audience", "--host", "192.0.2.1"], "not an address of this machine"),
    ):
        proc = run_cli("present", "--no-build", "--port", str(free_port()), *args, cwd=room.root_dir)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and said in lines[0] and " — " in lines[0], proc.stderr


def test_one_device_flooding_gets_one_submission_in_ten_seconds(room):
    device = "c" * 16
    replies = [
        send(room, "/room/api/suggest", {"device": device, "slide": PICTURE, "text": f"a green square {i}"},
             room.audience_token, source="127.0.0.3")
        for i in range(50)
    ]  # fmt: skip
    assert [r.status for r in replies].count(202) == 1, [r.status for r in replies]
    for reply in replies[1:]:
        assert "every 10 s" in one_line(reply, 429) and int(reply.headers["retry-after"]) >= 1
    # Per address too: another device id from the same address is refused as well.
    other = {"device": "d" * 16, "slide": PICTURE, "text": "a square"}
    one_line(send(room, "/room/api/suggest", other, room.audience_token, source="127.0.0.3"), 429)


def test_a_full_queue_drops_its_oldest_unmoderated_suggestion(room):
    before = first_event(room, "/room/api/presenter", room.token)["data"]["dropped"]
    for i in range(21):  # PENDING_MAX + 1, each from a phone of its own
        payload = {"device": f"queue-{i:02d}-phone-id", "slide": "9.0", "text": f"caption {i}"}
        assert send(room, "/room/api/suggest", payload, room.audience_token, source=f"127.0.1.{i + 1}").status == 202
    state = first_event(room, "/room/api/presenter", room.token)["data"]
    assert [item["text"] for item in state["queues"]["9.0"]["items"]] == [f"caption {i}" for i in range(1, 21)]
    assert state["dropped"] == before + 1  # said so on the moderation page (and in the terminal)


@pytest.mark.browser
def test_the_room_follows_suggests_votes_and_the_speaker_moderates(room, chromium):
    audience, presenter = room.audience_token, room.token

    def page(url: str, width: int, height: int):
        context = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=width < 500)
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda error: tab.errors.append(str(error)))
        tab.goto(url)
        return tab

    deck = page(room.deck_url, 1280, 720)
    deck.wait_for_function("document.documentElement.dataset.w2wReady === 'true'")
    # The title slide's door: the audience URL (its token only) and its QR code, as SVG.
    door = deck.locator(".present .w2w-audience-door")
    door.locator("img").wait_for()
    assert door.locator("img").get_attribute("src").startswith("data:image/svg+xml")
    assert room.audience[1] in door.inner_text() and presenter not in door.inner_text()
    moderation = page(room.moderate, 1100, 900)
    moderation.wait_for_function("document.getElementById('live').textContent === 'ready'")  # pushed: /api/live/watch
    phones = [page(room.audience[1], 390, 844) for _ in range(2)]
    for phone in phones:
        assert presenter not in phone.content()

    # The speaker moves to the picture slide: both phones show it, its title and its frame.
    deck.evaluate("Reveal.slide(10, 0)")
    for phone in phones:
        phone.wait_for_function("document.getElementById('slide-title').textContent === 'Picture'")
        phone.wait_for_function(
            "document.getElementById('deck').contentWindow.Reveal.getCurrentSlide().querySelector('h2')"
            ".textContent === 'Picture'"
        )
        assert phone.locator("#section").get_attribute("href") == "/sections/live.html"
    # A fragment: the speaker steps through the strip, the phones' frames follow.
    deck.evaluate("Reveal.slide(9, 0, 0)")
    for phone in phones:
        phone.wait_for_function(
            "document.getElementById('deck').contentWindow.Reveal.getIndices().h === 9"
            " && document.getElementById('deck').contentWindow.Reveal.getIndices().f === 0"
        )
    deck.evaluate("Reveal.slide(10, 0)")
    a, b = phones
    a.wait_for_function("document.body.dataset.slide === '10.0'")

    # Phone A suggests a caption: in the speaker's queue, not on phone B.
    a.fill("#suggest-text", CAPTION)
    a.click("#suggest button")
    a.wait_for_function("document.getElementById('suggest-message').dataset.status === '202'")
    queued = moderation.locator(f".w2w-mod-queue[data-slide='{PICTURE}'] li", has_text=CAPTION)
    queued.wait_for()
    # A caption of one 200-character word wraps on the moderation page; nothing overflows sideways.
    long = send(
        room, "/room/api/suggest", {"device": "h" * 16, "slide": PICTURE, "text": "w" * 200}, audience, "127.0.0.12"
    )
    assert long.status == 202, long.body
    moderation.locator(f"li[data-id='{long.json()['id']}']").wait_for()
    assert moderation.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # Phone B, from the same address at once: refused, and the phone says why.
    b.click("#tab-questions")
    b.fill("#ask-text", "Will one family replace the other?")
    b.click("#ask button")
    b.wait_for_function("document.getElementById('ask-message').dataset.status === '429'")
    assert "every 10 s" in b.inner_text("#ask-message")
    assert CAPTION not in b.inner_text("body")

    # The speaker runs it: it runs live on the deck's slide, and its picture reaches both phones.
    # (The shapes model has loaded meanwhile, or does now; the deck polls until it knows.)
    room.wait_ready("diffusion_demo")
    deck.wait_for_function("window.w2wLive.server.ready === true")
    queued.locator(".w2w-mod-run").click()
    live = "Reveal.getCurrentSlide().querySelector('[data-w2w-live]')"
    deck.wait_for_function(f"['live-done', 'recorded-done'].includes({live}.dataset.w2wLiveState)", timeout=120_000)
    assert deck.evaluate(f"{live}.dataset.w2wLiveState") == "live-done", deck.evaluate(f"{live}.textContent")
    shown = deck.evaluate("Reveal.getCurrentSlide().querySelector('[data-w2w-live] img').src")
    assert shown.startswith("data:image/png;base64,")
    b.click("#tab-slide")
    for phone in phones:
        result = phone.locator("#results li", has_text=CAPTION)
        result.locator("img").wait_for(timeout=120_000)
        assert result.locator("img").get_attribute("src") == shown  # the very picture the deck shows

    # Questions: two from other addresses, approved; two devices vote for the second, one twice.
    first = send(room, "/room/api/ask", {"device": "e" * 16, "text": "Can it write text?"}, audience, "127.0.0.4")
    second = send(room, "/room/api/ask", {"device": "g" * 16, "text": "Do they copy?"}, audience, "127.0.0.5")
    for reply in (first, second):
        assert reply.status == 202, reply.body
        approve = {"id": reply.json()["id"], "action": "approve"}
        assert send(room, "/room/api/moderate", approve, presenter).status == 200
    wanted = second.json()["id"]
    for phone in phones:
        phone.click("#tab-questions")
        phone.locator(f"#questions li[data-id='{wanted}'] button").click()
    moderation.wait_for_function(f"document.querySelector('#questions li').dataset.id === '{wanted}'")
    device_a = a.evaluate("localStorage.getItem('w2w-room-device')")
    again = send(room, "/room/api/vote", {"device": device_a, "id": wanted}, audience)
    assert again.status == 200 and again.json()["votes"] == 2  # the same device's second vote: not counted
    for phone in phones:
        button = f"document.querySelector('#questions li[data-id=\"{wanted}\"] button')"
        phone.wait_for_function(f"{button}.textContent === '▲ 2'")
    order = moderation.eval_on_selector_all("#questions li", "items => items.map((li) => li.dataset.id)")
    assert order[0] == wanted and first.json()["id"] in order  # by votes, not by time
    a.screenshot(path=room.log.parent / "phone.png")
    moderation.screenshot(path=room.log.parent / "moderation.png")

    # Dismissed: gone from every phone.
    moderation.locator("#questions li", has_text="Do they copy?").locator(".w2w-mod-dismiss").click()
    for phone in phones:
        phone.wait_for_function(f"!document.querySelector('#questions li[data-id=\"{wanted}\"]')")
    for tab in (deck, moderation, *phones):
        assert tab.errors == [], tab.errors


def test_the_phone_streams_are_capped_with_a_json_503(tmp_path, require_present):
    """The cap itself, on a room with a cap of three, two per address (the real ones are 1000 and
    250: test_audience_crowd opens 251 from one address on the real server)."""
    from w2w.present.broadcast import Channel
    from w2w.present.room.door import Door
    from w2w.present.room.state import Room

    room = Room({}, Channel("audience", 3, 2), Channel("presenter", 1))
    door = Door(room, "p" * 32, "a" * 32, "http://127.0.0.2:1/room/#a=" + "a" * 32, tmp_path, {"127.0.0.1:1"})
    open_streams = [door._sse(room.phones, b"", 0, "10.0.0.1") for _ in range(2)]
    refused = door._sse(room.phones, b"", 0, "10.0.0.1")
    assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
    message = json.loads(refused.body)["message"]
    assert message == "too many audience streams from one address (over 2) — try again later"
    open_streams.append(door._sse(room.phones, b"", 0, "10.0.0.2"))  # another address still gets in
    refused = door._sse(room.phones, b"", 0, "10.0.0.3")
    assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
    assert json.loads(refused.body)["message"] == "too many audience streams (over 3) — try again in a few seconds"
    assert len(open_streams) == len(room.phones.queues) == 3
