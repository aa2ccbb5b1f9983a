"""The sound model live (issue 33): `w2w present --audience --only sound` on a copy of the
repository's built talk, the shipped sound model loaded in the supervised model process, on the
CPU. Over the API a run streams every step's x̂0 as a PNG and a 16 kHz WAV, then the clip with what
the checker heard; a caption outside the sound world is one 400 line. On the deck, a caption typed
on "Noise becomes a note" streams its steps into playable buttons and ends in the clip's player
with its words; a phone's suggestion, run by the speaker, goes the same way. One server for the
module; the API's run is 3 steps, the deck's the talk's 20 (about 2 s of model a run).
"""

from __future__ import annotations

import base64
import json
import re
import shutil

import pytest
from live_server import AUDIENCE_LAN, assert_no_traceback, first_event, log_match, read_events, request_from, start

pytestmark = [pytest.mark.build, pytest.mark.browser, pytest.mark.model, pytest.mark.server]

SOUND = "document.querySelector('[data-w2w-live=\"sound\"]')"


@pytest.fixture(scope="module")
def server(real_build, tmp_path_factory):
    root = tmp_path_factory.mktemp("sound-live") / "talk"
    shutil.copytree(real_build[0], root, symlinks=True)
    log = tmp_path_factory.mktemp("present") / "server.log"
    live = start(root, log, "--audience", "--host", AUDIENCE_LAN, "--only", "sound")
    found = log_match(live, rf"audience: http://{re.escape(AUDIENCE_LAN)}:\d+/room/#a=([A-Za-z0-9_-]+)")
    live.audience_token = found[1]
    live.wait_ready()
    yield live
    live.stop()


def wav(url: str):
    from w2w_generators.sound.media import read_wav

    assert url.startswith("data:audio/wav;base64,")
    return read_wav(base64.b64decode(url.split(",", 1)[1]))


def test_a_caption_streams_its_steps_as_pictures_and_sounds_and_a_bad_one_is_refused(server):
    conn = server.connect()
    body = json.dumps({"prompt": "one low falling note on a buzzer", "steps": 3}).encode()
    conn.request("POST", "/api/live/sound", body, server.auth(**{"Content-Type": "application/json"}))
    response = conn.getresponse()
    assert response.status == 200
    events = read_events(response)
    steps, done = [e["data"] for e in events[:-1]], events[-1]["data"]
    assert [e["event"] for e in events] == ["step"] * 3 + ["done"]
    assert [s["step"] for s in steps] == [1, 2, 3] and all(s["steps"] == 3 for s in steps)
    for step in steps:
        assert step["image"].startswith("data:image/png;base64,")
        samples, rate = wav(step["audio"])
        assert rate == 16000 and len(samples) == 16000 and abs(samples).max() > 0.5
    samples, rate = wav(done["audio"])
    assert (rate, len(samples), done["clip_seconds"]) == (16000, 16000, 1.0)
    assert done["prompt"] == "one low falling note on a buzzer" and isinstance(done["matches"], bool)
    assert done["heard"] and done["seconds"] > 0 and done["model"] == "w2w/sound-diffusion"

    refused = server.post("sound", {"prompt": "a dog barking twice"})
    assert refused.status == 400
    message = refused.json()["message"]
    assert message.startswith("prompt: not a sound-world caption") and "\n" not in message
    assert "dog" not in message  # the refusal never echoes the typed text
    assert server.post("sound", {"prompt": "one low falling note on a buzzer", "steps": 51}).status == 400


def post(server, path: str, payload: dict, token: str, source: str):
    headers = {"X-W2W-Token": token, "Content-Type": "application/json"}
    return request_from(source, server.port, "POST", path, json.dumps(payload).encode(), headers)


def test_the_sound_runs_live_on_the_deck_and_from_the_rooms_suggestions(server, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.deck_url)
        page.wait_for_function("document.getElementById('w2w-live-status').dataset.state === 'live'")
        page.evaluate(f"() => {{ const i = Reveal.getIndices({SOUND}.closest('section')); Reveal.slide(i.h, i.v); }}")
        root = page.locator('[data-w2w-live="sound"]')
        index = page.evaluate("() => Reveal.getIndices().h")

        # 1. From the slide's own form: 20 steps, each a button with its picture and sound.
        root.locator(".w2w-live-input").fill("two low steady notes on an organ")
        root.locator("button[type=submit]").click()
        page.wait_for_function(f"{SOUND}.dataset.w2wLiveState === 'live-done'", timeout=120_000)
        assert root.locator(".w2w-sound-live-button").count() == 20
        assert root.locator(".w2w-sound-strip").is_hidden()
        text = root.locator(".w2w-sound-live-text").inner_text()
        assert "Asked: “two low steady notes on an organ”" in text and "The checker heard:" in text
        clip = f"{SOUND}.querySelector('.w2w-sound-live-clip-audio')"
        page.wait_for_function(f"{clip}.readyState >= 1", timeout=10_000)
        assert page.evaluate(f"{clip}.duration") == pytest.approx(1.0, abs=0.01)
        # A step's button plays its sound in the step player, from the keyboard, on the same slide.
        root.locator(".w2w-sound-live-button").nth(4).focus()
        page.keyboard.press("Space")
        step = f"{SOUND}.querySelector('.w2w-sound-live-step-audio')"
        page.wait_for_function(f"!{step}.paused || {step}.ended", timeout=10_000)
        assert "after step 5 of 20" in page.evaluate(f"{step}.getAttribute('aria-label')")
        assert page.evaluate("() => Reveal.getIndices().h") == index

        # 2. A phone suggests a caption for the sound slide; the speaker runs it; the deck runs it.
        queues = first_event(server, "/room/api/presenter", server.token)["data"]["queues"]
        slide = next(key for key, queue in queues.items() if queue["generator"] == "sound")
        suggestion = {"device": "s" * 16, "slide": slide, "text": "two high falling notes on a flute"}
        item = post(server, "/room/api/suggest", suggestion, server.audience_token, "127.0.0.11")
        assert item.status == 202, item.body
        ran = post(server, "/room/api/moderate", {"id": item.json()["id"], "action": "run"}, server.token, "127.0.0.1")
        assert ran.status == 200 and ran.json()["state"] == "running", ran.body
        page.wait_for_function(
            f"{SOUND}.querySelector('.w2w-live-input').value === 'two high falling notes on a flute'"
            f" && {SOUND}.dataset.w2wLiveState === 'live-done'",
            timeout=120_000,
        )
        assert "Asked: “two high falling notes on a flute”" in root.locator(".w2w-sound-live-text").inner_text()
        phone = first_event(server, "/room/api/stream", server.audience_token, host=AUDIENCE_LAN)["data"]
        states = [(i["text"], i["state"]) for i in phone["suggestions"] if i["id"] == item.json()["id"]]
        assert states == [("two high falling notes on a flute", "done")]
        assert errors == []
    finally:
        page.close()
    assert_no_traceback(server)
