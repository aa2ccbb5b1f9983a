"""The loop (plan -> render -> describe -> compare -> refine) with SCRIPTED stand-in components:
a planner that returns fixed plans, a renderer that draws a flat picture from its settings and a
describer that reads a scripted answer. They test the pipeline's own logic: each refinement changes
what it claims and only that, every round is kept, refusals are one reason. The real models are in
test_loop_models.py; `w2w generate loop`'s bad input is here (refused before any model loads)."""

from __future__ import annotations

import pytest
from cli_in_process import run_cli

from w2w_generators.loop.pipeline import REFINEMENTS, LoopConfig, LoopPipeline, Refused

pytestmark = pytest.mark.quick

PLANS = ["a red circle above a blue square", "a red circle above a blue circle", "a red square above a blue square"]


class ScriptedPlanner:
    """Plans PLANS[0]; next_plan gives the next of PLANS not yet tried. Refuses an empty request."""

    def refusal(self, request):
        return ("the request is empty", "describe two things") if not request.strip() else None

    def _record(self, plan, changed=None):
        steps = [
            {"token": " " + w, "prob": 0.9, "forced": False, "allowed": [{"token": " " + w, "prob": 0.9}]}
            for w in plan.split()
        ]
        return {"plan": plan, "guess": False, "steps": steps, **({"changed": changed} if changed else {})}

    def plan(self, request):
        return self._record(PLANS[0])

    def next_plan(self, request, first, avoid):
        for plan in PLANS:
            if plan not in avoid:
                return self._record(plan, {"choice": 4, "from": " square", "to": " circle", "prob": 0.1})
        return None


class ScriptedRenderer:
    def __init__(self):
        self.calls = []

    def __call__(self, caption, seed, guidance, steps):
        import numpy as np

        self.calls.append((caption, seed, guidance, steps))
        image = np.full((32, 32, 3), (seed * 40 + int(guidance) * 3) % 256, np.uint8)
        return {"image": image, "strip": [image] * steps, "caption": caption}


class ScriptedDescriber:
    """Says the caption it is told to for the n-th picture, else a wrong one."""

    def __init__(self, renderer, agree_on_call: int | None):
        self.renderer, self.agree_on_call, self.calls = renderer, agree_on_call, 0

    def __call__(self, pixels):
        self.calls += 1
        caption = (
            self.renderer.calls[-1][0]
            if self.calls == self.agree_on_call
            else "a green triangle left of a green triangle"
        )
        return [{"token": w, "p": 0.8, "top": []} for w in caption.split()] + [{"token": "<eos>", "p": 0.9, "top": []}]


def _loop(agree_on_call, **config):
    renderer = ScriptedRenderer()
    return LoopPipeline(
        ScriptedPlanner(), renderer, ScriptedDescriber(renderer, agree_on_call), LoopConfig(**config)
    ), renderer


def test_each_refinement_changes_what_it_claims_and_only_that():
    loop, renderer = _loop(agree_on_call=None, rounds=4)
    record = loop("a red ball over the sea")
    rounds = record["rounds"]
    assert [r["round"] for r in rounds] == [1, 2, 3, 4] and record["rounds_used"] == 4 and not record["agreed"]
    keys = ("plan", "seed", "guidance", "steps")
    for before, after, kind in zip(rounds[:-1], rounds[1:], REFINEMENTS, strict=True):
        changed = [k for k in keys if before[k] != after[k]]
        assert changed == [kind], (kind, changed)
        assert before["next"] == {"kind": kind, "from": before[kind], "to": after[kind]}
    assert rounds[1]["seed"] == rounds[0]["seed"] + 1
    assert rounds[2]["guidance"] == 8.0 > rounds[1]["guidance"]
    assert rounds[3]["plan"] not in {r["plan"] for r in rounds[:3]} and rounds[3]["plan_changed"]
    # what each round recorded, and that the renderer really got each round's settings
    assert renderer.calls == [(r["plan"], r["seed"], r["guidance"], r["steps"]) for r in rounds]
    for r in rounds:
        assert r["plan_tokens"] and r["description_tokens"][-1]["token"] == "<eos>"
        assert len(r["strip"]) == r["steps"] == 20 and r["image"].shape == (32, 32, 3)
        assert r["agree"] is False and r["verdict"] and set(r["seconds"]) == {"plan", "render", "describe"}
    assert [r["planned"] for r in rounds] == [True, False, False, True]  # planned in rounds 1 and 4


def test_the_loop_stops_at_the_first_agreement_and_keeps_every_round_before():
    loop, _ = _loop(agree_on_call=2)
    record = loop("a red ball over the sea")
    assert record["rounds_used"] == 2 and record["agreed"] and record["final_plan"] == PLANS[0]
    assert [r["agree"] for r in record["rounds"]] == [False, True] and "next" not in record["rounds"][1]


def test_a_fifth_round_starts_the_ladder_again_and_no_plan_left_stops_the_loop():
    loop, _ = _loop(agree_on_call=None, rounds=6)
    rounds = loop("a red ball over the sea")["rounds"]
    assert [r["next"]["kind"] for r in rounds[:4]] == ["seed", "guidance", "plan", "seed"]
    assert rounds[4]["seed"] == rounds[3]["seed"] + 1
    assert rounds[5]["guidance"] == 9.0  # guidance was 8 already: stronger is 9, still a change
    # the third new plan finds none left (the scripted planner has three): the loop stops there
    loop, _ = _loop(agree_on_call=None, rounds=10)
    rounds = loop("x")["rounds"]
    assert len({r["plan"] for r in rounds}) == 3 and len(rounds) == 9
    assert rounds[-1]["next"] == "no other plan under the grammar: the loop stops"


def test_a_refused_request_is_one_reason():
    loop, renderer = _loop(agree_on_call=1)
    with pytest.raises(Refused) as caught:
        loop("   ")
    assert caught.value.what == "the request is empty" and renderer.calls == []


@pytest.mark.parametrize(
    "text, said",
    [
        ("", "refuses ''"),
        ("a" * 2000, "2,000 characters"),
        ("🌞🌊🌞", "no words"),
        ("   ", "empty"),
    ],
)
def test_generate_loop_refuses_bad_input_in_one_line_before_loading(tmp_path, text, said):
    result = run_cli("generate", "loop", text, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and "Traceback" not in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_generate_loop_refuses_a_file_as_the_output_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    result = run_cli("generate", "loop", "the sun over the sea", "-o", "f", cwd=tmp_path)
    assert result.returncode == 2 and "is a file" in result.stdout + result.stderr


def test_the_agreement_record_is_what_its_rows_say():
    """agreement.json (w2w measure-loop) against its own per-request rows and the chosen requests:
    the slide's figures are counts of the recorded rounds, not numbers typed in."""
    from w2w_generators.loop.agreement import heldout_requests
    from w2w_generators.loop.generator import read_agreement

    record = read_agreement()
    rows, s = record["requests"], record["summary"]
    chosen = heldout_requests()
    assert [r["request"] for r in rows] == [c["request"] for c in chosen][: len(rows)] and s["requests"] == len(rows)
    assert s["agree_round_1"] == sum(r["rounds"][0]["agree"] for r in rows)
    assert s["agree_last_round"] == sum(r["rounds"][-1]["agree"] for r in rows)
    assert s["plan_right_last_round"] == sum(r["rounds"][-1]["plan"] == r["expected"] for r in rows)
    assert sum(int(k) * v for k, v in s["rounds_used"]["histogram"].items()) == sum(len(r["rounds"]) for r in rows)
    for r in rows:  # the loop stops at the first agreement, else runs every round
        assert [x["agree"] for x in r["rounds"]][:-1] == [False] * (len(r["rounds"]) - 1)
        assert r["rounds"][-1]["agree"] or len(r["rounds"]) == record["config"]["rounds"]
    assert record["machine"]["cpu_count"] and record["seconds"] > 0
    assert set(s["stages"]) == {"plan", "render", "describe"}
