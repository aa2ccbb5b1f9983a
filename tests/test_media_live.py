"""The sound and motion models live (issue 33): `w2w present --audience --only sound --only motion`
on a copy of the repository's built talk, the shipped models loaded in the supervised model
process, on the CPU. One server for the module (a start loads the models once: ~10 s of the suite).

Sound: over the API a run streams every step's x̂0 as a PNG and an 8 kHz WAV preview, then the
16 kHz clip with what the checker heard; a caption outside the sound world is one 400 line. On the deck, a caption
typed on "Noise becomes a note" streams its steps into playable buttons and ends in the clip's
player with its words; a phone's suggestion, run by the speaker, goes the same way.

Motion: over the API a run streams every step's x̂0 as a film (8 frames side by side), then the
clip with what the tracker saw; a caption outside the motion world is one 400 line. On the deck,
a caption typed on "A blur becomes motion" streams its steps into step buttons and ends in the
clip, playing, with its words. The API's runs are 3 steps, the deck's the talk's 20.
"""

from __future__ import annotations

import base64
import json

import pytest
from live_server import (
    AUDIENCE_LAN,
    assert_no_traceback,
    first_event,
    live_deck_at,
    read_events,
    start_on_a_copy,
    suggest_and_run,
)

pytestmark = [pytest.mark.build, pytest.mark.browser, pytest.mark.model, pytest.mark.server]

SOUND = "document.querySelector('[data-w2w-live=\"sound\"]')"


@pytest.fixture(scope="module")
def server(real_build, tmp_path_factory):
    live = start_on_a_copy(real_build[0], tmp_path_factory, "sound", "motion")
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
        assert rate == 8000 and len(samples) == 8000 and abs(samples).max() > 0.5  # previews: half the rate
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


def test_the_sound_runs_live_on_the_deck_and_from_the_rooms_suggestions(server, chromium):
    with live_deck_at(chromium, server, "sound") as (page, root):
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
        item_id = suggest_and_run(server, slide, "two high falling notes on a flute", "s")
        page.wait_for_function(
            f"{SOUND}.querySelector('.w2w-live-input').value === 'two high falling notes on a flute'"
            f" && {SOUND}.dataset.w2wLiveState === 'live-done'",
            timeout=120_000,
        )
        assert "Asked: “two high falling notes on a flute”" in root.locator(".w2w-sound-live-text").inner_text()
        phone = first_event(server, "/room/api/stream", server.audience_token, host=AUDIENCE_LAN)["data"]
        states = [(i["text"], i["state"]) for i in phone["suggestions"] if i["id"] == item_id]
        assert states == [("two high falling notes on a flute", "done")]
    assert_no_traceback(server)


MOTION = "document.querySelector('[data-w2w-live=\"motion\"]')"


def film(url: str):
    import io

    import numpy as np
    from PIL import Image

    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


def test_a_motion_caption_streams_its_steps_as_films_and_a_bad_one_is_refused(server):
    conn = server.connect()
    body = json.dumps({"prompt": "a blue square moving up", "steps": 3}).encode()
    conn.request("POST", "/api/live/motion", body, server.auth(**{"Content-Type": "application/json"}))
    response = conn.getresponse()
    assert response.status == 200
    events = read_events(response)
    steps, done = [e["data"] for e in events[:-1]], events[-1]["data"]
    assert [e["event"] for e in events] == ["step"] * 3 + ["done"]
    assert [s["step"] for s in steps] == [1, 2, 3] and all(s["frames"] == 8 for s in steps)
    assert all(film(s["image"]).shape == (64, 8 * 64, 3) for s in steps)
    assert film(done["image"]).shape == (128, 8 * 128, 3)
    assert done["prompt"] == "a blue square moving up" and isinstance(done["matches"], bool)
    assert done["seen"].startswith("the blue shape") and done["model"] == "w2w/motion-diffusion"

    refused = server.post("motion", {"prompt": "a dog running left"})
    assert refused.status == 400
    message = refused.json()["message"]
    assert message.startswith("prompt: not a motion-world caption") and "\n" not in message and "dog" not in message
    assert server.post("motion", {"prompt": "a blue square moving up", "steps": 51}).status == 400


def test_the_motion_runs_live_on_the_deck(server, chromium):
    with live_deck_at(chromium, server, "motion") as (page, root):
        root.locator(".w2w-live-input").fill("a green triangle moving down")
        root.locator("button[type=submit]").click()
        page.wait_for_function(f"{MOTION}.dataset.w2wLiveState === 'live-done'", timeout=120_000)
        assert root.locator(".w2w-clip-live-button").count() == 20 and root.locator(".w2w-clip-strip").is_hidden()
        text = root.locator(".w2w-clip-live-text").inner_text()
        assert "Asked: “a green triangle moving down”" in text and "The tracker saw: the green shape" in text
        clip = root.locator(".w2w-clip-live-clip img.w2w-clip-film")
        assert clip.get_attribute("src").startswith("data:image/png;base64,")
        style = f"getComputedStyle({MOTION}.querySelector('.w2w-clip-live-clip img'))"
        assert page.evaluate(f"{style}.animationName") == "w2w-clip"
        assert page.evaluate(f"{style}.animationPlayState") == "running"
        root.locator(".w2w-clip-live .w2w-clip-pause input").check()
        assert page.evaluate(f"{style}.animationPlayState") == "paused"
    assert_no_traceback(server)
