"""The pair live (issue 32, item 4): "One picture, both directions" (the multimodal part) and "Same
prompt, two answers" (the warm-up) on a copy of the repository's built talk.

- From `file://` with the network blocked, each slide's form plays the build's own run of the live
  code: every x̂0, the describer's tokens and the verdict; SmolLM2's tokens beside the picture.
- One `w2w present --audience --only pair` serves both slides with the real models (the shapes
  model, the describer, SmolLM2 with the planner's adapter) in the supervised model process, on the
  CPU: a bad request is one 400 line; a request typed on the mirror slide is planned, drawn and
  read live; a phone's suggestion for the two-answers slide, run by the speaker, streams both
  answers on the deck and reaches the phones.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from live_server import AUDIENCE_LAN, assert_no_traceback, first_event, log_match, request_from, start
from offline_deck import offline_deck_at

MIRROR = "document.querySelector('[data-w2w-live=\"pair_mirror\"]')"
ANSWERS = "document.querySelector('[data-w2w-live=\"pair_answers\"]')"


def _tokens(page, box: str) -> list[str]:
    words = box + " .w2w-pair-live-tokens .w2w-pair-word"
    return page.eval_on_selector_all(words, "(w) => w.map((x) => x.textContent)")


@pytest.mark.build
@pytest.mark.browser
def test_the_pair_recordings_play_from_a_file_with_the_network_blocked(real_build, chromium):
    root, result = real_build
    data = result.prepared.produced.artifacts["pair"].data
    view, page, _ = offline_deck_at(chromium, root, "[data-w2w-live='pair_mirror']")
    box = ".present [data-w2w-live='pair_mirror']"
    page.click(box + " form button[type=submit]")
    page.wait_for_selector(box + "[data-w2w-live-state='recorded-done']", state="attached", timeout=15000)
    assert _tokens(page, box) == [t["token"] for t in data["mirror"]["tokens"]]
    verdict = page.text_content(box + " .w2w-pair-live-verdict")
    assert verdict.startswith(f"read: “{data['mirror']['said']}” — the caption drawn ✓")
    assert "First picture after" in verdict and page.is_hidden(box + " .w2w-pair-recorded")
    assert page.get_attribute(box + " .w2w-pair-live-picture", "src").startswith("data:image/png;base64,")
    page.click(box + " .w2w-pair-live-back")
    assert page.is_visible(box + " .w2w-pair-recorded") and page.is_hidden(box + " .w2w-pair-live")
    problems = view.problems("deck")

    index = page.evaluate("() => Reveal.getSlides().findIndex((s) => s.querySelector('[data-w2w-live=pair_answers]'))")
    page.evaluate("(i) => Reveal.slide(i)", index)
    box = ".present [data-w2w-live='pair_answers']"
    page.click(box + " form button[type=submit]")
    page.wait_for_selector(box + "[data-w2w-live-state='recorded-done']", state="attached", timeout=20000)
    said = data["answers"]["text"]
    assert page.text_content(box + " .w2w-pair-answer") == f"“{said['text']}…”"  # cut at the limit
    assert f"cut at {said['tokens']} tokens" in page.text_content(box + " .w2w-pair-answer-how")
    read = page.text_content(".present .w2w-pair-answer-read")
    assert "outside the shapes model's world" in read and f"reads it as “{data['answers']['picture_read_as']}”" in read
    assert page.get_attribute(".present .w2w-pair-answer-picture", "src").startswith("data:image/png;base64,")
    assert problems + view.problems("deck") == []
    view.close()


@pytest.fixture(scope="module")
def server(real_build, tmp_path_factory):
    root = tmp_path_factory.mktemp("pair-live") / "talk"
    shutil.copytree(real_build[0], root, symlinks=True)
    log = tmp_path_factory.mktemp("present") / "server.log"
    live = start(root, log, "--audience", "--host", AUDIENCE_LAN, "--only", "pair")
    found = log_match(live, rf"audience: http://{re.escape(AUDIENCE_LAN)}:\d+/room/#a=([A-Za-z0-9_-]+)")
    live.audience_token = found[1]
    live.wait_ready()
    yield live
    live.stop()


def post(server, path: str, payload: dict, token: str, source: str):
    headers = {"X-W2W-Token": token, "Content-Type": "application/json"}
    return request_from(source, server.port, "POST", path, json.dumps(payload).encode(), headers)


@pytest.mark.build
@pytest.mark.browser
@pytest.mark.model
@pytest.mark.server
def test_both_pair_slides_run_live_on_the_deck_and_from_the_rooms_suggestions(server, chromium):
    # A bad request: one line, 400, before anything reaches the models.
    for bad in ({"mode": "mirror", "text": "🙂🙂"}, {"mode": "both", "text": "a cat"}, {"text": "x" * 201}):
        refused = server.post("pair", bad)
        assert refused.status == 400 and "\n" not in refused.json()["message"], refused.body
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.deck_url)
        page.wait_for_function("document.getElementById('w2w-live-status').dataset.state === 'live'")

        # 1. The mirror from its slide's form: a request, planned, drawn, read back.
        page.evaluate(f"() => {{ const i = Reveal.getIndices({MIRROR}.closest('section')); Reveal.slide(i.h, i.v); }}")
        mirror = page.locator('[data-w2w-live="pair_mirror"]')
        mirror.locator(".w2w-live-input").fill("the sun over the sea")
        mirror.locator("button[type=submit]").click()
        page.wait_for_function(f"{MIRROR}.dataset.w2wLiveState === 'live-done'", timeout=180_000)
        asked = mirror.locator(".w2w-pair-live-asked").inner_text()
        assert asked == "asked: “the sun over the sea” → planned “a yellow circle above a blue square”"
        words = _tokens(page, '[data-w2w-live="pair_mirror"]')
        assert words[-1] == "<eos>" and len(words) >= 5
        verdict = mirror.locator(".w2w-pair-live-verdict").inner_text()
        assert verdict.startswith(f"read: “{' '.join(words[:-1])}” — ") and "First picture after" in verdict
        assert mirror.locator(".w2w-pair-live-frame img").count() == 1

        # 2. A phone suggests a prompt for the two-answers slide; the speaker runs it; the deck runs it.
        queues = first_event(server, "/room/api/presenter", server.token)["data"]["queues"]
        slide = next(k for k, q in queues.items() if q["title"] == "Same prompt, two answers")
        assert queues[slide]["generator"] == "pair"
        prompt = "a green triangle left of a red square"
        suggestion = {"device": "p" * 16, "slide": slide, "text": prompt}
        item = post(server, "/room/api/suggest", suggestion, server.audience_token, "127.0.0.11")
        assert item.status == 202, item.body
        ran = post(server, "/room/api/moderate", {"id": item.json()["id"], "action": "run"}, server.token, "127.0.0.1")
        assert ran.status == 200 and ran.json()["state"] == "running", ran.body
        page.wait_for_function(
            f"{ANSWERS}.querySelector('.w2w-live-input').value === '{prompt}'"
            f" && {ANSWERS}.dataset.w2wLiveState === 'live-done'",
            timeout=180_000,
        )
        answers = page.locator('[data-w2w-live="pair_answers"]')
        assert len(answers.locator(".w2w-pair-answer").inner_text()) > 10
        assert "SmolLM2-135M-Instruct, greedy, " in answers.locator(".w2w-pair-answer-how").inner_text()
        assert page.locator(".present .w2w-pair-prompt").inner_text() == f"Prompt: “{prompt}”"
        assert page.locator(".present .w2w-pair-answer-picture").get_attribute("src").startswith("data:image/png")
        read = page.locator(".present .w2w-pair-answer-read").inner_text()
        assert read.startswith("Our describer reads its picture as")
        phone = first_event(server, "/room/api/stream", server.audience_token, host=AUDIENCE_LAN)["data"]
        results = [(i["text"], i["state"]) for i in phone["suggestions"] if i["id"] == item.json()["id"]]
        assert results == [(prompt, "done")]
        assert errors == []
    finally:
        page.close()
    assert_no_traceback(server)
