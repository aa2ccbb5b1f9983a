"""The pair's recordings (issue 32, item 4): "One picture, both directions" (the multimodal part)
and "Same prompt, two answers" (the warm-up) on the repository's built talk; their live runs
through a server are tests/test_thesis_live.py's.

- From `file://` with the network blocked, each slide's form plays the build's own run of the live
  code: every x̂0, the describer's tokens and the verdict; SmolLM2's tokens beside the picture.
"""

from __future__ import annotations

import pytest
from offline_deck import offline_deck_at

pytestmark = [pytest.mark.build, pytest.mark.browser]


def _tokens(page, box: str) -> list[str]:
    words = box + " .w2w-pair-live-tokens .w2w-pair-word"
    return page.eval_on_selector_all(words, "(w) => w.map((x) => x.textContent)")


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
