"""The thesis live (issue 32): `w2w present --audience --only loop --only pair` on a copy of the
repository's built talk, the real models (SmolLM2 with the planner's adapter, the shapes model, the
describer) loaded once in the supervised model process, on the CPU, for both generators (one
server for the module: a start loads the models, ~20 s of the suite).

- The loop: a request typed on the slide goes plan -> render -> describe live and shows its round;
  a phone's suggestion for that slide, run by the speaker, goes the same way on the deck, and the
  phones see it done. Both requests are ones the loop settles in one round (BENCHMARKS.md,
  bench_loop.py), so the test waits on one round each.
- The pair: a bad request is one 400 line; a request typed on the mirror slide is planned, drawn
  and read live; a phone's suggestion for the two-answers slide, run by the speaker, streams both
  answers on the deck and reaches the phones.
"""

from __future__ import annotations

import pytest
from live_server import AUDIENCE_LAN, assert_no_traceback, first_event, live_deck_at, start_on_a_copy, suggest_and_run

pytestmark = [pytest.mark.build, pytest.mark.browser, pytest.mark.model, pytest.mark.server]

LOOP = "document.querySelector('[data-w2w-live=\"loop\"]')"
MIRROR = "document.querySelector('[data-w2w-live=\"pair_mirror\"]')"
ANSWERS = "document.querySelector('[data-w2w-live=\"pair_answers\"]')"


@pytest.fixture(scope="module")
def server(real_build, tmp_path_factory):
    live = start_on_a_copy(real_build[0], tmp_path_factory, "loop", "pair")
    yield live
    live.stop()


def test_the_loop_runs_live_on_the_deck_and_from_the_rooms_suggestions(server, chromium):
    with live_deck_at(chromium, server, "loop") as (page, root):
        # 1. From the slide's own form.
        root.locator(".w2w-live-input").fill("the sun over the sea")
        root.locator("button[type=submit]").click()
        page.wait_for_function(f"{LOOP}.dataset.w2wLiveState === 'live-done'", timeout=120_000)
        rounds = root.locator(".w2w-loop-live-round")
        assert rounds.count() == 1
        assert "a yellow circle above a blue square" in rounds.first.inner_text()
        assert root.locator(".w2w-loop-live-frame img").count() == 1  # the last x̂0 shown

        # 2. A phone suggests a request for the loop slide; the speaker runs it; the deck runs it.
        queues = first_event(server, "/room/api/presenter", server.token)["data"]["queues"]
        slide = next(key for key, queue in queues.items() if queue["generator"] == "loop")
        item_id = suggest_and_run(server, slide, "a rocket above the moon", "l")
        page.wait_for_function(
            f"{LOOP}.querySelector('.w2w-live-input').value === 'a rocket above the moon'"
            f" && {LOOP}.dataset.w2wLiveState === 'live-done'",
            timeout=120_000,
        )
        assert "a red triangle above a yellow circle" in rounds.first.inner_text()
        phone = first_event(server, "/room/api/stream", server.audience_token, host=AUDIENCE_LAN)["data"]
        states = [(i["text"], i["state"]) for i in phone["suggestions"] if i["id"] == item_id]
        assert states == [("a rocket above the moon", "done")]
    assert_no_traceback(server)


def _tokens(page, box: str) -> list[str]:
    words = box + " .w2w-pair-live-tokens .w2w-pair-word"
    return page.eval_on_selector_all(words, "(w) => w.map((x) => x.textContent)")


def test_both_pair_slides_run_live_on_the_deck_and_from_the_rooms_suggestions(server, chromium):
    # A bad request: one line, 400, before anything reaches the models.
    for bad in ({"mode": "mirror", "text": "🙂🙂"}, {"mode": "both", "text": "a cat"}, {"text": "x" * 201}):
        refused = server.post("pair", bad)
        assert refused.status == 400 and "\n" not in refused.json()["message"], refused.body
    with live_deck_at(chromium, server, "pair_mirror") as (page, mirror):
        # 1. The mirror from its slide's form: a request, planned, drawn, read back.
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
        item_id = suggest_and_run(server, slide, prompt, "p", source="127.0.0.12")
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
        results = [(i["text"], i["state"]) for i in phone["suggestions"] if i["id"] == item_id]
        assert results == [(prompt, "done")]
    assert_no_traceback(server)
