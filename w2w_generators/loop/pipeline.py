"""The loop as a pipeline: plan -> render -> describe -> compare -> refine, every round kept.

"LLMs plan, diffusion models render", and a vision-language model checks: the planner (SmolLM2 +
LoRA, held to the grammar) turns a free request into a caption of the shapes world, the shapes
diffusion model draws it, the describer reads the picture back, and the round agrees when the
description is the plan, word for word. When it does not, the next round changes one thing, in
this order (REFINEMENTS): another seed (the same caption, new noise), then stronger guidance (the
same noise, the caption pushed harder), then a new plan (the planner's next-best plan under the
grammar, same seed and guidance). Each round is kept with what it changed.

Components are passed in, as a diffusers pipeline's are (components.py loads the real ones; the
tests pass in tiny or scripted ones): `planner` (plan, next_plan, refusal), `renderer` (caption,
seed, guidance, steps -> image and x̂0 strip) and `describer` (pixels -> tokens).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, replace
from typing import Any

from w2w_generators.loop.components import Timed, timed

log = logging.getLogger("w2w.generators.loop")

REFINEMENTS = ("seed", "guidance", "plan")


class Refused(ValueError):
    """A request the planner will not plan: (what is wrong, how to fix)."""

    def __init__(self, what: str, fix: str):
        super().__init__(f"{what} — {fix}")
        self.what, self.fix = what, fix


@dataclass(frozen=True)
class LoopConfig:
    # The describer's published setting (DDIM 20 steps, guidance 4: 63 of 64 of the diffusion
    # model's held-out pictures described exactly, describer/weights/training.json), so that round 1
    # is a fair first try and there is something left to refine; at DDIM 50 / 7.5 it read 64 of 64.
    steps: int = 20
    guidance: float = 4.0
    stronger_guidance: float = 8.0  # the top of the slides' guidance sweep (0, 1, 4, 8)
    rounds: int = 4  # round 1 + one of each refinement
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Setting:
    """What one round draws: the plan's caption and the sampler's settings."""

    plan: str
    seed: int
    guidance: float
    steps: int


def plan_tokens(plan: dict) -> list[dict]:
    """The planner's tokens, each with its probability among the allowed ones and up to 3 rivals."""
    return [
        {
            "token": s["token"],
            "prob": s["prob"],
            "forced": s["forced"],
            "allowed": [{"token": a["token"], "prob": a["prob"]} for a in s["allowed"][:3]],
        }
        for s in plan["steps"]
    ]


def _rounded(token: dict) -> dict:
    return {"token": token["token"], "p": round(token["p"], 4)}


def _verdict(round_: dict) -> dict:
    return {"type": "step", "stage": "verdict", "round": round_["round"], "agree": round_["agree"],
            "plan": round_["plan"], "description": round_["description"], "next": round_.get("next")}  # fmt: skip


class LoopPipeline:
    def __init__(self, planner: Any, renderer: Any, describer: Any, config: LoopConfig | None = None):
        self.planner, self.renderer, self.describer = planner, renderer, describer
        self.config = config or LoopConfig()

    def __call__(self, request: str, seed: int | None = None, rounds: int | None = None) -> dict:
        """The whole loop; the record of every round (stream() without its events)."""
        events = self.stream(request, seed, rounds)
        while True:
            try:
                next(events)
            except StopIteration as finished:
                return finished.value

    def stream(self, request: str, seed: int | None = None, rounds: int | None = None) -> Generator[dict, None, dict]:
        """The loop as events, on the caller's thread (the live half streams them): per round the
        plan (when planned), each denoising step's x̂0 (a uint8 array, `frame`), the description and
        the verdict; returns the record."""
        config = replace(self.config, **{k: v for k, v in (("seed", seed), ("rounds", rounds)) if v is not None})
        # 1. Refuse what the planner will not plan (empty, over 200 characters, no words): one reason.
        refused = self.planner.refusal(request)
        if refused:
            raise Refused(*refused)
        # 2. Plan: the greedy plan under the grammar, with its tokens; a request naming no two things
        #    of the planner's table gets its best guess, marked as such.
        first = timed(self.planner.plan, request)
        plan, plan_seconds = first.value, first
        setting = Setting(plan["plan"], config.seed, config.guidance, config.steps)
        record = {"request": request, "guess": plan["guess"], "config": config.to_dict(), "rounds": []}
        tried = {setting.plan}
        for number in range(1, config.rounds + 1):
            # 3. Render, describe, compare.
            round_ = yield from self._round(number, setting, plan, plan_seconds)
            record["rounds"].append(round_)
            if round_["agree"] or number == config.rounds:
                yield _verdict(round_)
                break
            # 4. Refine: change one thing for the next round (REFINEMENTS, in order).
            change = self._refine(REFINEMENTS[(number - 1) % len(REFINEMENTS)], request, setting, plan, tried)
            if change is None:
                round_["next"] = "no other plan under the grammar: the loop stops"
                yield _verdict(round_)
                break
            setting, plan, plan_seconds, refinement = change
            tried.add(setting.plan)
            round_["next"] = refinement
            yield _verdict(round_)
        last = record["rounds"][-1]
        record.update(agreed=last["agree"], rounds_used=len(record["rounds"]), final_plan=last["plan"])
        return record

    def _round(self, number: int, setting: Setting, plan: dict, plan_time) -> Generator[dict, None, dict]:
        if plan_time is not None:
            yield {"type": "step", "stage": "plan", "round": number, "plan": setting.plan, "guess": plan["guess"],
                   "tokens": plan_tokens(plan), "changed": plan.get("changed")}  # fmt: skip
        drawn = yield from self._render(number, setting)
        said = timed(self.describer, drawn.value["image"])
        tokens = said.value
        description = " ".join(t["token"] for t in tokens if t["token"] != "<eos>")
        agree = description == setting.plan
        log.debug("loop round %d: %r -> %r (%s)", number, setting.plan, description, "agree" if agree else "differ")
        described = [{**_rounded(t), "top": [_rounded(a) for a in t["top"]]} for t in tokens]
        yield {"type": "step", "stage": "describe", "round": number, "description": description, "tokens": described}
        return {
            "round": number,
            **asdict(setting),
            "plan_tokens": plan_tokens(plan),
            "planned": plan_time is not None,  # False: the plan of the round before, not planned again
            "plan_changed": plan.get("changed"),
            "image": drawn.value["image"],
            "strip": drawn.value["strip"],
            "description": description,
            "description_tokens": described,
            "agree": agree,
            "verdict": "the description is the plan" if agree else "the description differs from the plan",
            "seconds": {
                "plan": round(plan_time.seconds, 4) if plan_time else 0.0,
                "render": round(drawn.seconds, 4),
                "describe": round(said.seconds, 4),
            },
            "cpu_seconds": {
                "plan": round(plan_time.cpu_seconds, 4) if plan_time else 0.0,
                "render": round(drawn.cpu_seconds, 4),
                "describe": round(said.cpu_seconds, 4),
            },
        }

    def _render(self, number: int, setting: Setting) -> Generator[dict, None, Timed]:
        """The renderer's picture, timed; a renderer with `stream` (shapes/render.py) gives each
        step's x̂0 on the way, which goes out as an event. The time is the renderer's own: a consumer
        that holds an event (the live stream, sending it) is not counted."""
        args = (setting.plan, setting.seed, setting.guidance, setting.steps)
        stream = getattr(self.renderer, "stream", None)
        if stream is None:
            return timed(self.renderer, *args)
        steps, wall, cpu = stream(*args), 0.0, 0.0
        while True:
            started, started_cpu = time.perf_counter(), time.thread_time()
            try:
                step, frame = next(steps)
            except StopIteration as finished:
                return Timed(
                    finished.value, wall + time.perf_counter() - started, cpu + time.thread_time() - started_cpu
                )
            wall, cpu = wall + time.perf_counter() - started, cpu + time.thread_time() - started_cpu
            yield {
                "type": "step",
                "stage": "render",
                "round": number,
                "step": step,
                "steps": setting.steps,
                "frame": frame,
            }

    def _refine(self, kind: str, request: str, setting: Setting, plan: dict, tried: set[str]):
        """(the next round's setting, its plan record, the planning time or None, what changed)."""
        if kind == "seed":
            new = replace(setting, seed=setting.seed + 1)
            return new, plan, None, {"kind": "seed", "from": setting.seed, "to": new.seed}
        if kind == "guidance":
            stronger = max(self.config.stronger_guidance, setting.guidance + 1.0)
            new = replace(setting, guidance=stronger)
            return new, plan, None, {"kind": "guidance", "from": setting.guidance, "to": new.guidance}
        found = timed(self.planner.next_plan, request, self._first_plan(plan, request), tried)
        if found.value is None:
            return None
        new = replace(setting, plan=found.value["plan"])
        return new, found.value, found, {"kind": "plan", "from": setting.plan, "to": new.plan}

    def _first_plan(self, plan: dict, request: str) -> dict:
        """next_plan deviates from the greedy plan: the record without a `changed` is that one."""
        return plan if not plan.get("changed") else self.planner.plan(request)
