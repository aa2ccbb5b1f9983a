"""The loop's explorer (templates/explore-loop.js) in the repository's built talk, from file:// with
every other request blocked: the deck's slide and the handout's page, by mouse and by keyboard, each
state what the frozen artifact recorded (the real models' rounds); and the live half's panel
(templates/live-loop.js), which without a server plays the recording."""

from __future__ import annotations

import pytest
from offline_deck import offline_deck_at

pytestmark = [pytest.mark.build, pytest.mark.browser]


def _shown(page, box: str) -> dict:
    return page.evaluate(
        """(box) => { const r = document.querySelector(box);
          const img = r.querySelector('img.w2w-loop-frame');
          return { shown: r.dataset.w2wLoopShown, verdict: r.querySelector('.w2w-loop-verdict').textContent,
                   src: img.getAttribute('src'), alt: img.alt, position: img.style.objectPosition,
                   plan: Array.from(r.querySelectorAll('.w2w-loop-plan .w2w-loop-token')).map((b) => b.textContent),
                   said: Array.from(r.querySelectorAll('.w2w-loop-describe .w2w-loop-token')).map((b) => b.textContent),
                   step: r.querySelector('.w2w-loop-step .num').textContent }; }""",
        box,
    )


def test_the_loop_explorer_from_a_file_with_the_network_blocked(real_build, chromium):

    root, result = real_build
    requests = result.prepared.produced.artifacts["loop"].data["requests"]
    pick = next(i for i, r in enumerate(requests) if len(r["rounds"]) == 4)
    view, page, index = offline_deck_at(chromium, root, ".w2w-loop")
    box = ".present .w2w-loop"
    # by mouse: a request, its last round, a step of the strip
    page.select_option(box + " select", str(pick))
    page.click(box + " .w2w-loop-rounds button:nth-child(4)")
    shown = _shown(page, box)
    last = requests[pick]["rounds"][3]
    assert shown["shown"] == f"{pick}:3"
    assert f"planned “{last['plan']}”, read “{last['description']}”" in shown["verdict"]
    assert shown["src"].endswith("/" + last["picture"]) and shown["step"] == "20/20 (the picture)"
    assert " ".join(shown["plan"]) == last["plan"] and " ".join(shown["said"][:-1]) == last["description"]
    page.fill(box + " .w2w-loop-step input", "5")
    shown = _shown(page, box)
    assert shown["src"].endswith("/" + last["strip"]) and shown["step"] == "5/20"
    assert shown["position"].startswith(f"{100 * 4 / 19:.3f}%") and "after step 5 of 20" in shown["alt"]
    # by keyboard: the first round's button, then the next request from the select
    page.focus(box + " .w2w-loop-rounds button:nth-child(1)")
    page.keyboard.press("Enter")
    assert _shown(page, box)["shown"] == f"{pick}:0"
    page.focus(box + " select")
    page.keyboard.press("ArrowDown")
    other = pick + 1 if pick + 1 < len(requests) else pick
    assert _shown(page, box)["shown"] == f"{other}:0"
    # the live half without a server (file://): Run live plays the recording of the talk's first request
    page.click(".present .w2w-loop-box form button[type=submit]")
    page.wait_for_selector(".present [data-w2w-live-state='recorded-done']", state="attached", timeout=10000)
    first = requests[0]
    lines = page.eval_on_selector_all(".present .w2w-loop-live-round", "(rows) => rows.map((r) => r.textContent)")
    assert len(lines) == len(first["rounds"])
    assert (
        f"planned “{first['rounds'][0]['plan']}”" in lines[0]
        and f"read “{first['rounds'][-1]['description']}”" in lines[-1]
    )
    assert page.is_hidden(".present .w2w-loop") and page.is_visible(".present .w2w-loop-live-picture")
    page.click(".present .w2w-loop-live-back")
    assert page.is_visible(".present .w2w-loop") and page.is_hidden(".present .w2w-loop-live")
    problems = view.problems("deck")
    page.goto((root / "site" / "sections" / "future.html").as_uri())
    page.wait_for_load_state("load")
    page.select_option(".w2w-loop select", str(pick))
    page.click(".w2w-loop .w2w-loop-rounds button:nth-child(2)")
    shown = _shown(page, ".w2w-loop")
    assert shown["shown"] == f"{pick}:1" and requests[pick]["rounds"][1]["description"] in shown["verdict"]
    problems += view.problems("handout")
    view.close()
    assert [str(p) for p in problems] == []
