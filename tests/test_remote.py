"""`w2w present --remote --rehearse` (issue 34): the speaker's phone paired with the one-time code
from the terminal, driving the deck, starting its live demo, revoked from the speaker view; the
remote token's scope; the rehearsal file at the end, read by `w2w pacing --rehearsal`.

One real server on a copy of the built mini talk (its live slide: the embedding plot, MiniLM only)
with both LAN roles open on 127.0.0.2, a loopback address that stands in for the venue's network:
`--audience --remote --rehearse --only embedding_plot`. One browser with the laptop's deck, its
speaker view, and the speaker's phone; an audience phone's token proves the refusals over HTTP.
The code's expiry is test_remote_pairing.py's (a clock moved two minutes).
"""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from cli_in_process import run_cli
from live_server import (
    AUDIENCE_LAN,
    LiveServer,
    assert_no_traceback,
    first_event,
    log_match,
    request_from,
    start,
)

from w2w.present.remote.scope import REMOTE_ROUTES

pytestmark = [pytest.mark.build, pytest.mark.server, pytest.mark.browser]

LAN = AUDIENCE_LAN
WRONG_SOURCE = "127.0.0.9"  # the guessing phone's own address
# The microphone, in the test's browser: a 440 Hz tone from Web Audio, as a real MediaStream that
# the real MediaRecorder records (headless Chromium has no microphone to grant).
TONE_AS_MICROPHONE = """
if (navigator.mediaDevices) {
  navigator.mediaDevices.getUserMedia = () => {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const out = audio.createMediaStreamDestination();
    tone.connect(out);
    tone.start();
    return audio.resume().then(() => out.stream);
  };
}
"""
LAPTOP_ROUTES = [  # what the remote token must never reach, whatever the door
    ("GET", "/api/live/status"),
    ("POST", "/api/live/embedding_plot"),
    ("GET", "/room/api/presenter"),
    ("GET", "/room/api/door"),
    ("POST", "/room/api/slide"),
    ("POST", "/room/api/moderate"),
    ("POST", "/remote/api/state"),
    ("GET", "/remote/api/deck"),
    ("GET", "/remote/api/pairing"),
    ("POST", "/remote/api/pairing"),
    ("POST", "/remote/api/revoke"),
]


@pytest.fixture(scope="module")
def server(mini_build, tmp_path_factory, require_present):
    root = tmp_path_factory.mktemp("remote") / "talk"
    shutil.copytree(mini_build[0], root, symlinks=True)  # the rehearsal is written under the project
    live = start(
        root,
        root.parent / "server.log",
        *("--audience", "--remote", "--rehearse", "--host", LAN, "--only", "embedding_plot"),
    )
    live.root = root
    live.code = log_match(live, r"remote: on the phone open http://127\.0\.0\.2:\d+/remote/ and type (\d{6})")[1]
    live.audience_token = log_match(live, r"audience: http://\S+/room/#a=([A-Za-z0-9_-]+)")[1]
    yield live
    live.stop()


def post(server: LiveServer, path: str, payload, token: str | None = None, source="127.0.0.1", to=LAN):
    headers = {"Content-Type": "application/json", **({"X-W2W-Token": token} if token else {})}
    return request_from(source, server.port, "POST", path, json.dumps(payload).encode(), headers, to=to)


def one_line(reply, status: int) -> str:
    assert reply.status == status, (reply.status, reply.body)
    message = reply.json()["message"]
    assert message and "\n" not in message
    return message


def test_wrong_codes_are_refused_then_rate_limited(server):
    wrong = f"{(int(server.code) + 1) % 10**6:06d}"
    for _ in range(5):
        guess = post(server, "/remote/api/pair", {"code": wrong}, source=WRONG_SOURCE)
        assert "wrong pairing code" in one_line(guess, 403)
    limited = post(server, "/remote/api/pair", {"code": server.code}, source=WRONG_SOURCE)
    assert "wait a minute" in one_line(limited, 429) and 0 < int(limited.headers["retry-after"]) <= 60
    for bad in ({"code": "12345"}, {"code": "abcdef"}, {"code": server.code, "more": 1}, {}):
        one_line(post(server, "/remote/api/pair", bad, source="127.0.0.10"), 400)
    # The phone's page holds no token and no code; the projected deck as served is the built one
    # with the remote's and the room's scripts, and nothing else.
    for path in ("/remote/", "/remote/remote.js", "/remote/deck.js", "/remote/speaker.js"):
        reply = request_from("127.0.0.1", server.port, "GET", path, to=LAN)
        assert reply.status == 200, path
        assert server.token.encode() not in reply.body and server.code.encode() not in reply.body, path
    served = server.request("GET", "/slides/index.html").body
    built = (server.root / "site" / "slides" / "index.html").read_bytes()
    scripts = b'<script src="/remote/deck.js"></script>\n<script src="/room/door.js"></script>\n'
    assert served == built.replace(b"</body>", scripts + b"</body>") and b"remote" not in built
    # The deck's stream of commands carries no code either (the projected deck must not hold it).
    assert first_event(server, "/remote/api/deck", server.token) == {"event": "ready", "data": {}}
    assert_no_traceback(server)


def presenter_get(server: LiveServer, path: str):
    reply = server.request("GET", path, headers=server.auth())
    assert reply.status == 200, reply
    return reply.json()


def scope_holds(server: LiveServer, remote: str) -> None:
    """The remote token opens its table's routes only; the audience token none of them."""
    for method, path in LAPTOP_ROUTES:
        body = b"{}" if method == "POST" else None
        for door in ("127.0.0.1", LAN):
            headers = {"Content-Type": "application/json", "X-W2W-Token": remote}
            refused = request_from("127.0.0.1", server.port, method, path, body, headers, to=door)
            assert "follows and drives the slides only" in one_line(refused, 403), (method, path, door)
    for method, path in REMOTE_ROUTES:
        for token in (server.audience_token, "", server.token):
            headers = {"Content-Type": "application/json", "X-W2W-Token": token}
            body = json.dumps({"action": "next"}).encode() if method == "POST" else None
            refused = request_from("127.0.0.1", server.port, method, path, body, headers, to=LAN)
            # The room's pointer is the room's route: its door answers a known token in the wrong
            # place (the audience's; the presenter's off the laptop) 403, the remote's own 401.
            room_says = 403 if path.startswith("/room/") and token else 401
            one_line(refused, room_says)


def test_the_phone_pairs_drives_the_deck_runs_its_demo_and_is_revoked(server, chromium):
    def page(url: str, width: int, height: int, init: str = ""):
        context = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=width < 500)
        if init:
            context.add_init_script(init)
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda error: tab.errors.append(str(error)))
        tab.goto(url)
        return tab

    deck = page(server.deck_url, 1280, 720, TONE_AS_MICROPHONE)
    deck.wait_for_function("document.documentElement.dataset.w2wReady === 'true'")
    info = presenter_get(server, "/remote/api/pairing")
    if info["code"] is None:  # the terminal's code outlived its two minutes on a loaded machine
        info = server.request("POST", "/remote/api/pairing", headers=server.auth()).json()
    else:
        assert info["code"] == server.code and info["qr"].startswith("data:image/svg+xml")
    phone = page(f"http://{LAN}:{server.port}/remote/", 390, 844)
    phone.fill("#code", info["code"])
    phone.click("#pair button")
    phone.wait_for_function("document.getElementById('title').textContent === 'Mini talk'")
    assert presenter_get(server, "/remote/api/pairing")["devices"] == 1
    # The phone moves the deck; the deck's new slide comes back to the phone, with its notes.
    phone.click("#next-button")
    deck.wait_for_function("Reveal.getIndices().h === 1")
    phone.wait_for_function("document.getElementById('title').textContent === 'Agenda'")
    # Its two previews: the deck's slide now, and the step after it (the speaker view's "upcoming").
    now, upcoming = (f"document.getElementById('{f}').contentWindow.Reveal.getIndices()" for f in ("now", "upcoming"))
    phone.wait_for_function(f"{now}.h === 1 && ({upcoming}.h > 1 || {upcoming}.v > 0 || {upcoming}.f > {now}.f)")
    phone.click("#next-button")
    deck.wait_for_function("Reveal.getIndices().h === 2")
    phone.wait_for_function("document.getElementById('notes').textContent.includes('Say hello')")
    phone.click("#prev")
    deck.wait_for_function("Reveal.getIndices().h === 1")
    assert re.fullmatch(r"\d+:\d\d / \d+:\d\d", phone.inner_text("#timer")), phone.inner_text("#timer")
    remote = phone.evaluate("sessionStorage.getItem('w2w-remote-token')")
    assert remote and remote not in (server.token, server.audience_token)
    scope_holds(server, remote)
    phone_points(deck, phone)

    # The live slide: the phone shows its form and starts the demo on the big screen.
    live = deck.evaluate("Reveal.getSlides().findIndex((s) => s.querySelector('[data-w2w-live]'))")
    server.wait_ready("embedding_plot")
    deck.wait_for_function("window.w2wLive.server.ready === true")
    deck.evaluate(f"Reveal.slide({live})")
    phone.wait_for_selector("#run:not([hidden])")
    phone.fill("#run-text", "kitten")
    phone.click("#run button")
    slide = "Reveal.getCurrentSlide().querySelector('[data-w2w-live]')"
    deck.wait_for_function(f"{slide}.dataset.w2wLiveState === 'live-done'", timeout=120_000)
    assert "kitten" in deck.evaluate(f"{slide}.querySelector('svg.w2w-live-plot').textContent")

    view = speaker_view_pairs_and_revokes(server, deck, phone, remote)
    records_the_microphone(server, view)
    assert deck.errors == [] and phone.errors == []
    assert_no_traceback(server)


def phone_points(deck, phone) -> None:
    """The phone's pointer pad (--audience): a finger at three quarters across and a quarter down
    the pad puts the room's dot there on the projected slide; lifting it hides the dot."""
    pad = phone.locator("#pad")
    pad.wait_for()
    box = pad.bounding_box()
    phone.mouse.move(box["x"] + 0.75 * box["width"], box["y"] + 0.25 * box["height"])
    phone.mouse.down()
    dot = "document.querySelector('.reveal .slides .w2w-pointer-dot')"
    deck.wait_for_function(f"!!{dot} && {dot}.style.display === 'block'")
    at = deck.evaluate(f"[parseFloat({dot}.style.left), parseFloat({dot}.style.top)]")
    assert abs(at[0] - 75) < 1 and abs(at[1] - 25) < 1, at  # percent of the slide; a pixel is 0.3 %
    phone.mouse.up()
    deck.wait_for_function(f"{dot}.style.display === 'none'")
    # Draw: a drag across the pad is one stroke of ink on the slide, every point of it; Clear wipes it.
    phone.click("#pad-draw")
    assert phone.get_attribute("#pad-draw", "aria-pressed") == "true"
    phone.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.5 * box["height"])
    phone.mouse.down()
    for i in range(1, 10):
        phone.mouse.move(box["x"] + (0.2 + 0.05 * i) * box["width"], box["y"] + 0.5 * box["height"])
    phone.mouse.up()
    points = (
        "(() => { const l = document.querySelector('.w2w-pointer polyline');"
        " return l ? l.getAttribute('points').split(' ') : []; })()"
    )
    deck.wait_for_function(f"{points}.length === 10")
    first = [float(v) for v in deck.evaluate(points)[0].split(",")]
    assert abs(first[0] / 1000 - 0.2) < 0.01 and abs(first[1] / 1000 - 0.5) < 0.01, first  # viewBox 1000x1000
    phone.click("#pad-clear")
    deck.wait_for_function(f"{points}.length === 0")
    phone.click("#pad-point")


def speaker_view_pairs_and_revokes(server: LiveServer, deck, phone, remote: str):
    """The speaker view (S): the code and its QR only there; a new code; revoke. Returns the view."""
    with deck.expect_popup() as opened:
        deck.keyboard.press("s")
    view = opened.value
    panel = view.locator("#w2w-remote-panel")
    panel.wait_for()
    view.wait_for_function("document.getElementById('w2w-remote-panel').textContent.includes('1 paired')")
    panel.locator("button", has_text="New code").click()
    view.wait_for_function("/^[0-9]{6}$/.test(document.getElementById('w2w-remote-code').textContent)")
    code = view.inner_text("#w2w-remote-code")
    assert panel.locator("img").get_attribute("src").startswith("data:image/svg+xml")
    # Deck, speaker view and the room's moderation page in one browser, one pool of 6 connections to
    # the server: the deck's report still reaches the phone (the previews hold no stream of their
    # own; they show the deck's status, read from it).
    moderation = deck.context.new_page()
    moderation.goto(f"http://{server.host}/room/moderate.html#w2w-token={server.token}")
    moderation.wait_for_function("document.getElementById('current').textContent.includes('(')")
    phone.click("#next-button")
    phone.wait_for_function("document.getElementById('title').textContent === 'Numbers'")
    badge = "document.querySelector('#current-slide iframe').contentDocument.getElementById('w2w-live-status')"
    view.wait_for_function(f"{badge}.textContent.startsWith('LIVE · ready')")
    # Not on the projected deck, not on the phone: as text, or as the panel.
    for other in (deck, phone):
        assert code not in other.inner_text("body") and other.locator("#w2w-remote-panel").count() == 0
    panel.locator("#w2w-remote-revoke").click()
    phone.wait_for_selector("#pair:not([hidden])")
    one_line(post(server, "/remote/api/command", {"action": "next"}, remote), 401)
    assert presenter_get(server, "/remote/api/pairing")["devices"] == 0
    # Paired again with the new code, as its QR code opens the page: the code in the fragment.
    scanned = phone.context.new_page()
    scanned.goto(f"http://{LAN}:{server.port}/remote/#pair={code}")
    scanned.wait_for_function("document.getElementById('title').textContent === 'Numbers'")
    assert "pair=" not in scanned.url and presenter_get(server, "/remote/api/pairing")["devices"] == 1
    return view


def records_the_microphone(server: LiveServer, view) -> None:
    """The rehearsal's microphone, opt-in from the speaker view: recorded, then stopped."""
    mic = view.locator("#w2w-remote-mic")
    mic.click()
    view.wait_for_function("document.getElementById('w2w-remote-mic').dataset.state === 'recording'")
    recordings = server.root / ".w2w" / "rehearsals"
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size for p in recordings.glob("*-mic.webm")):  # the first chunk, after 2 s
        assert time.monotonic() < deadline, view.inner_text("#w2w-remote-panel")
        time.sleep(0.2)
    mic.click()
    view.wait_for_function("document.getElementById('w2w-remote-mic').dataset.state === 'stopped'")


def test_remote_alone_opens_no_room_and_writes_no_rehearsal(mini_build, tmp_path):
    root = tmp_path / "talk"
    shutil.copytree(mini_build[0], root, symlinks=True)
    alone = start(root, tmp_path / "server.log", "--remote", "--host", LAN, "--only", "embedding_plot")
    try:
        code = log_match(alone, r"and type (\d{6})")[1]
        assert alone.listening_addresses() == {f"0100007F:{alone.port:04X}", f"0200007F:{alone.port:04X}"}
        assert request_from("127.0.0.1", alone.port, "GET", "/room/", to=LAN).status == 404  # no room
        served = alone.request("GET", "/slides/index.html").body
        assert b"/remote/deck.js" in served and b"/room/door.js" not in served
        paired = post(alone, "/remote/api/pair", {"code": code})
        assert paired.status == 200 and paired.json()["token"] != alone.token
    finally:
        assert alone.stop() == 130
    assert "rehearsal" not in alone.log.read_text() and not (root / ".w2w" / "rehearsals").exists()


def test_the_rehearsal_is_written_when_the_server_stops_and_pacing_reads_it(server):
    def poll(order: dict) -> dict:
        headers = server.auth(**{"Content-Type": "application/json"})
        reply = request_from("127.0.0.1", server.port, "POST", "/room/api/poll", json.dumps(order).encode(), headers)
        assert reply.status == 200, reply.body
        return reply.json()

    opened = poll({"action": "open", "question": "LLM or diffusion?", "options": ["LLM", "diffusion"]})
    poll({"action": "close", "id": opened["id"]})  # closed during the rehearsal: in its record
    assert server.stop() == 130
    said = server.log.read_text()
    found = re.search(r"rehearsal: (\S+\.json)", said)
    assert found, said[-3000:]
    path = server.root / ".w2w" / "rehearsals" / found[1].rsplit("/", 1)[1]
    data = json.loads(path.read_text())
    assert data["w2w_rehearsal"] == 1 and data["slot_minutes"] == 6
    keys = [s["key"] for s in data["slides"]]
    assert keys[:4] == ["0.0", "1.0", "2.0", "1.0"]  # as the phone moved the deck
    assert all(s["left_s"] >= s["entered_s"] for s in data["slides"])
    assert {s["id"] for s in data["sections"]} <= {"intro", "maths", "words"}
    polls = [(p["question"], p["counts"], p["state"]) for p in data["polls"]]
    assert polls == [("LLM or diffusion?", [0, 0], "closed")]
    assert "planned" in said and "difference" in said  # the table, printed at the end
    audio = path.parent / data["audio"]["file"]
    assert audio.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # WebM (EBML), as MediaRecorder made it
    assert 0 < data["audio"]["started_s"] < data["seconds"]
    shown = run_cli("pacing", "--rehearsal", str(path), cwd=server.root)
    assert shown.returncode == 0, shown.stderr
    assert "rehearsed" in shown.stdout and "intro" in shown.stdout
