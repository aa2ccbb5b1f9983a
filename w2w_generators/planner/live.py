"""The planner's live half: load SmolLM2 once (shared with the token trace) with the adapter, and
stream a plan token by token; also what `w2w generate planner` and the build's table call."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator

from w2w.plugin_api import ModelRef, TextInput, W2WError, live_text
from w2w_generators.planner.objects import named_in

WEIGHTS_DIR = Path(__file__).with_name("weights")
ADAPTER_FILE = "adapter.safetensors"
RECORD_FILE = "training.json"
MAX_REQUEST = 200

Request = live_text(MAX_REQUEST, "the request")
_WORDS = re.compile(r"\w")


def refusal(text: str) -> tuple[str, str] | None:
    """(what is wrong, how to fix) for a request the planner will not plan, else None. Any other
    request gets a plan that parses (constrained decoding); one naming no table object is a guess."""
    if not text.strip():
        return "the request is empty", "describe two things and where they sit, e.g. 'the sun over the sea'"
    if len(text.strip()) > MAX_REQUEST:
        return (
            f"the request is {len(text.strip()):,} characters, over the planner's {MAX_REQUEST}",
            "describe two things and where they sit in one short sentence",
        )
    if not _WORDS.search(text):
        return "the request has no words (only symbols or emoji)", "name two things, e.g. 'a lemon left of a plum'"
    return None


class PlannerLiveRequest(BaseModel):
    """What a slide may ask of the planner (contract: docs/live-protocol.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("request")
    request: Request

    @field_validator("request")
    @classmethod
    def _has_words(cls, value: str) -> str:
        refused = refusal(value)
        if refused:
            raise ValueError(refused[0])
        return value


@dataclass
class LoadedPlanner:
    lm: Any
    tokenizer: Any
    trie: Any
    device: str
    model_id: str
    loaded_from: str


def adapter_path(weights: Path = WEIGHTS_DIR) -> Path:
    return weights / ADAPTER_FILE


def load_planner(model: ModelRef, device: str, weights: Path = WEIGHTS_DIR) -> LoadedPlanner:
    """SmolLM2 from the process's one copy (lm_loading.load_shared), the adapter attached to it."""
    import json

    from safetensors.torch import load_file

    from w2w_generators.planner import lora
    from w2w_generators.planner.plan import build_trie
    from w2w_generators.shared.lm_loading import load_shared

    if not adapter_path(weights).is_file():
        raise W2WError(
            f"the planner's adapter is not in {weights}",
            "restore it from git (it is committed) or run `w2w train-planner`",
        )
    config = json.loads((weights / RECORD_FILE).read_text())["config"]
    lm, tokenizer, loaded_from = load_shared(model, device)
    targets = tuple(config.get("targets", lora.TARGETS))
    wrapped = lora.attach(lm, config["layers"], config["rank"], config["alpha"], targets)
    lora.load_state(wrapped, {k: v.to(device).float() for k, v in load_file(str(adapter_path(weights))).items()})
    return LoadedPlanner(lm, tokenizer, build_trie(tokenizer), device, model.id, loaded_from)


def plan_events(loaded: LoadedPlanner, request: str, choose: dict[int, int] | None = None) -> Iterator[dict]:
    """The plan's tokens as step events, then the `done` event: the plan, and whether it is a guess
    (the request does not name exactly two things of the table) and agrees with the table.
    `choose`: plan.constrained_steps's override of some choices (next_plan)."""
    from w2w_generators.planner.plan import constrained_steps
    from w2w_generators.shapes.world import parse_caption

    started = time.perf_counter()
    text = ""
    count = 0
    for event in constrained_steps(loaded.lm, loaded.tokenizer, loaded.trie, request, loaded.device, choose):
        text += event["token"]
        count += 1
        yield event
    seconds = time.perf_counter() - started
    plan = text.strip()
    scene = parse_caption(plan)  # never fails: the trie holds only captions
    named = named_in(request)
    drawn = sorted(t.drawn for t in named)
    yield {
        "type": "done",
        "request": request,
        "plan": plan,
        "guess": len(named) != 2,
        "named": [{"name": t.name, "drawn": t.drawn} for t in named],
        "agrees_with_table": len(named) == 2
        and drawn == sorted([f"{scene.colour_a} {scene.shape_a}", f"{scene.colour_b} {scene.shape_b}"]),
        "new_tokens": count,
        "seconds": round(seconds, 4),
        "tokens_per_second": round(count / seconds, 2) if seconds > 0 else 0.0,
    }


def plan_once(loaded: LoadedPlanner, request: str, choose: dict[int, int] | None = None) -> dict:
    """The `done` event of one request, with its steps."""
    events = list(plan_events(loaded, request, choose))
    return {**events[-1], "steps": events[:-1]}


def next_plan(loaded: LoadedPlanner, request: str, first: dict, avoid: set[str]) -> dict | None:
    """The planner's next-best plan under the grammar: at one choice of the greedy plan `first`
    (plan_once's record) take the runner-up instead, then decode greedily on. The runner-ups are
    tried most likely first (their probability among the allowed tokens at that choice), and the
    first plan not in `avoid` is returned, with `changed` = (choice, old token, new token); None
    when every single change gives a plan in `avoid`. One decode per try (about 5 forward passes)."""
    choices = [s for s in first["steps"] if not s["forced"]]
    tries = sorted(
        ((alt["prob"], k, alt) for k, step in enumerate(choices) for alt in step["allowed"][1:]),
        key=lambda t: -t[0],
    )
    for _, k, alt in tries:
        result = plan_once(loaded, request, {k: alt["token_id"]})
        if result["plan"] not in avoid:
            result["changed"] = {"choice": k, "from": choices[k]["token"], "to": alt["token"], "prob": alt["prob"]}
            return result
    return None
