"""The sound and motion models on the built deck, opened from file:// with every other request
blocked. Sound: the players load their WAVs (the clip 1 s, the strip's rows 7.25 s), a focused
player plays and pauses from the keyboard without turning the slide, and the PDF's stylesheet hides
the players (the spectrograms stay); every sound has its words beside it. Motion: the clip's film
loads and plays (its CSS animation runs), the Pause box holds it, the strip's Replay plays the
build's run, and the PDF shows the whole filmstrip; every clip has its words beside it."""

from __future__ import annotations

import pytest
from offline_deck import offline_deck_at

pytestmark = [pytest.mark.build, pytest.mark.browser]

DURATIONS = """() => Promise.all(Array.from(document.querySelectorAll('section.present audio.w2w-sound-audio'))
  .map((a) => a.readyState >= 1 ? a.duration : new Promise((ok) => {
    a.addEventListener('loadedmetadata', () => ok(a.duration), { once: true });
    a.addEventListener('error', () => ok(-1), { once: true });
    a.load();
  })))"""


def test_the_deck_plays_the_model_sound_offline(real_build, chromium):
    root, result = real_build
    data = result.prepared.produced.artifacts["sound"].data
    view, page, index = offline_deck_at(chromium, root, ".w2w-sound-strip")
    assert [round(d, 2) for d in page.evaluate(DURATIONS)] == [data["strip_seconds"]] * 2
    assert data["prompt"] in page.inner_text("section.present")
    assert page.locator("section.present .w2w-sound-frames img").count() == 2 * len(data["frames"])

    view2, page2, index2 = offline_deck_at(chromium, root, ".w2w-sound")
    assert page2.evaluate(DURATIONS)[0] == pytest.approx(data["seconds"], abs=0.01)
    text = page2.inner_text("section.present .w2w-sound-text")
    assert data["prompt"] in text and data["heard"] in text
    # Tab reaches the player; Space plays it and does not turn the slide; Space again pauses it.
    player = "section.present audio.w2w-sound-audio"
    page2.focus(player)
    page2.keyboard.press("Space")
    page2.wait_for_function(f"() => document.querySelector('{player}').currentTime > 0.05", timeout=10000)
    assert page2.evaluate("() => Reveal.getIndices().h") == index2
    page2.keyboard.press("Space")
    assert page2.evaluate(f"() => document.querySelector('{player}').paused")
    assert page2.evaluate("() => Reveal.getIndices().h") == index2
    # Leaving the slide stops a sound still playing.
    page2.evaluate(f"() => document.querySelector('{player}').play()")
    page2.evaluate("() => Reveal.next()")
    page2.wait_for_function(f"() => document.querySelector('{player}').paused", timeout=5000)
    assert view.problems("deck") == [] and view2.problems("deck") == []


def test_the_pdf_keeps_the_spectrogram_and_drops_the_players(real_build, chromium):
    from w2w.publish.browser import OfflinePage

    root, _ = real_build
    view = OfflinePage(chromium, 1280, 720)
    page = view.page
    page.goto((root / "site" / "slides" / "index.html").as_uri() + "?print-pdf")
    page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=60000)
    shown = page.evaluate(
        """() => Array.from(document.querySelectorAll('.w2w-sound-audio, img[src*="sound/spectrogram"]'))
          .map((e) => [e.tagName, getComputedStyle(e).display !== 'none'])"""
    )
    assert ["IMG", True] in shown and ["AUDIO", False] in shown and ["AUDIO", True] not in shown
    # Paper cannot open the strip's "what the checker heard" (the pictures' alt texts say it).
    assert page.evaluate("() => getComputedStyle(document.querySelector('.w2w-sound-heard')).display") == "none"
    # The motion model's clip prints as its whole filmstrip: every frame, no animation, no Pause box.
    film = page.evaluate(
        """() => {
          const i = document.querySelector('.w2w-clip img.w2w-clip-film'), w = i.closest('.w2w-clip-window');
          const shown = Math.round((w.getBoundingClientRect().width / i.getBoundingClientRect().width) * 100);
          const pause = getComputedStyle(document.querySelector('.w2w-clip-pause')).display;
          return [getComputedStyle(i).animationName, shown, pause];
        }"""
    )
    assert film == ["none", 100, "none"]
    assert view.problems("deck") == []


def test_the_live_sound_slide_replays_the_builds_run_from_a_file(real_build, chromium):
    """From file:// the live form's Replay plays the build's own run: the strip's steps (each its
    picture and its second of strip_guess.wav), then the clip with what the checker heard; a step
    button pressed with Space plays its second and leaves the slide where it is."""
    root, result = real_build
    data = result.prepared.produced.artifacts["sound"].data
    view, page, index = offline_deck_at(chromium, root, '[data-w2w-live="sound"]')
    box = page.locator('section.present [data-w2w-live="sound"]')
    box.locator(".w2w-live-replay").click()
    live = "document.querySelector('section.present [data-w2w-live=\"sound\"]')"
    page.wait_for_function(f"() => {live}.dataset.w2wLiveState === 'recorded-done'")
    assert box.locator(".w2w-sound-live-button").count() == len(data["frames"])
    text = box.locator(".w2w-sound-live-text").inner_text()
    assert f"Asked: “{data['prompt']}”" in text and data["heard"] in text
    clip = "document.querySelector('section.present .w2w-sound-live-clip-audio')"
    page.wait_for_function(f"() => {clip}.readyState >= 1", timeout=10000)
    assert page.evaluate(f"() => {clip}.duration") == pytest.approx(data["seconds"], abs=0.01)
    box.locator(".w2w-sound-live-button").nth(2).focus()
    page.keyboard.press("Space")
    step = "document.querySelector('section.present .w2w-sound-live-step-audio')"
    page.wait_for_function(f"() => {step}.currentTime > {data['frames'][2]['start_s']} + 0.05", timeout=10000)
    assert data["frames"][2]["guess_heard"] in box.locator(".w2w-sound-live-step-text").inner_text()
    assert page.evaluate("() => Reveal.getIndices().h") == index
    assert view.problems("deck") == []


PLAYING = """(sel) => Array.from(document.querySelectorAll(sel))
  .map((i) => [i.complete && i.naturalWidth > 0, getComputedStyle(i).animationPlayState])"""


def test_the_deck_plays_the_model_clip_offline_and_pauses_it(real_build, chromium):
    root, result = real_build
    data = result.prepared.produced.artifacts["motion"].data
    view, page, index = offline_deck_at(chromium, root, ".w2w-clip")
    film = "section.present .w2w-clip img.w2w-clip-film"
    assert page.evaluate(PLAYING, film) == [[True, "running"]]
    text = page.inner_text("section.present .w2w-clip-text")
    assert data["prompt"] in text and data["seen"] in text
    # Tab reaches the Pause box; Space ticks it (and does not turn the slide); the film holds.
    page.focus("section.present .w2w-clip-pause input")
    page.keyboard.press("Space")
    assert page.evaluate(PLAYING, film) == [[True, "paused"]]
    assert page.evaluate("() => Reveal.getIndices().h") == index

    view2, page2, _ = offline_deck_at(chromium, root, '[data-w2w-live="motion"]')
    box = page2.locator('section.present [data-w2w-live="motion"]')
    assert all(ok for ok, _ in page2.evaluate(PLAYING, "section.present .w2w-clip-strip img"))
    box.locator(".w2w-live-replay").click()
    live = "document.querySelector('section.present [data-w2w-live=\"motion\"]')"
    page2.wait_for_function(f"() => {live}.dataset.w2wLiveState === 'recorded-done'")
    assert box.locator(".w2w-clip-live-button").count() == len(data["strip"])
    assert f"Asked: “{data['prompt']}”" in box.locator(".w2w-clip-live-text").inner_text()
    assert page2.evaluate(PLAYING, "section.present .w2w-clip-live-clip img") == [[True, "running"]]
    assert view.problems("deck") == [] and view2.problems("deck") == []
