"""The loop live (issue 32): `w2w present --audience --only loop` on a copy of the repository's built
talk, with its three real models (SmolLM2 with the planner's adapter, the shapes model, the
describer) loaded in the supervised model process, on the CPU. One browser page is the speaker's
deck on the loop slide. A request typed on the slide goes plan -> render -> describe live and
shows its round; a phone's suggestion for that slide, run by the speaker, goes the same way on
the deck, and the phones see it done. Both requests are ones the loop settles in one round
(BENCHMARKS.md, bench_loop.py), so the test waits on one round each.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from live_server import AUDIENCE_LAN, assert_no_traceback, first_event, log_match, request_from, start

pytestmark = [pytest.mark.build, pytest.mark.browser, pytest.mark.model, pytest.mark.server]

LOOP = "document.querySelector('[data-w2w-live=\"loop\"]')"


@pytest.fixture(scope="module")
def server(real_build, tmp_path_factory):
    root = tmp_path_factory.mktemp("loop-live") / "talk"
    shutil.copytree(real_build[0], root, symlinks=True)
    log = tmp_path_factory.mktemp("present") / "server.log"
    live = start(root, log, "--audience", "--host", AUDIENCE_LAN, "--only", "loop")
    found = log_match(live, rf"audience: http://{re.escape(AUDIENCE_LAN)}:\d+/room/#a=([A-Za-z0-9_-]+)")
    live.audience_token = found[1]
    live.wait_ready()
    yield live
    live.stop()


def post(server, path: str, payload: dict, token: str, source: str):
    headers = {"X-W2W-Token": token, "Content-Type": "application/json"}
    return request_from(source, server.port, "POST", path, json.dumps(payload).encode(), headers)


def test_the_loop_runs_live_on_the_deck_and_from_the_rooms_suggestions(server, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.deck_url)
        page.wait_for_function("document.getElementById('w2w-live-status').dataset.state === 'live'")
        page.evaluate(f"() => {{ const i = Reveal.getIndices({LOOP}.closest('section')); Reveal.slide(i.h, i.v); }}")
        root = page.locator('[data-w2w-live="loop"]')

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
        suggestion = {"device": "l" * 16, "slide": slide, "text": "a rocket above the moon"}
        item = post(server, "/room/api/suggest", suggestion, server.audience_token, "127.0.0.11")
        assert item.status == 202, item.body
        ran = post(server, "/room/api/moderate", {"id": item.json()["id"], "action": "run"}, server.token, "127.0.0.1")
        assert ran.status == 200 and ran.json()["state"] == "running", ran.body
        page.wait_for_function(
            f"{LOOP}.querySelector('.w2w-live-input').value === 'a rocket above the moon'"
            f" && {LOOP}.dataset.w2wLiveState === 'live-done'",
            timeout=120_000,
        )
        assert "a red triangle above a yellow circle" in rounds.first.inner_text()
        phone = first_event(server, "/room/api/stream", server.audience_token, host=AUDIENCE_LAN)["data"]
        states = [(i["text"], i["state"]) for i in phone["suggestions"] if i["id"] == item.json()["id"]]
        assert states == [("a rocket above the moon", "done")]
        assert errors == []
    finally:
        page.close()
    assert_no_traceback(server)
