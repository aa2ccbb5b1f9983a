"""The planner: SmolLM2, taught on this CPU, turns a free request into the shapes world's language.

"LLMs plan, diffusion models render": "the sun over the sea" -> "a yellow circle above a blue
square", which the shapes model can draw. Prompted few-shot, the shipped SmolLM2-135M-Instruct
planned 0 of 10 simple requests right; with a LoRA adapter on its last 6 layers, trained on
requests generated from a table of everyday objects (objects.py, requests.py, training.py), it
plans the held-out split's requests (new phrasings, new pairings) as weights/training.json says.
Decoding is held to the grammar (plan.py), so every plan parses; a request that names no object
of the table gets the model's best guess, marked as a guess.

The build's artifact is a table of example requests -> plans with the held-out score, and one
request's tokens with their probabilities and the alternatives the grammar allowed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import Artifact, Generator, InputError, ModelRef, RunContext, Stopwatch, labelled, torch_device
from w2w_generators.planner.live import (
    RECORD_FILE,
    WEIGHTS_DIR,
    LoadedPlanner,
    PlannerLiveRequest,
    adapter_path,
    load_planner,
    next_plan,
    plan_events,
    plan_once,
    refusal,
)
from w2w_generators.planner.objects import KINDS, OBJECTS
from w2w_generators.shared.model_resolution import content_hash, loading
from w2w_generators.shared.smollm2 import SMOLLM2_ID, resolve_smollm2

log = logging.getLogger("w2w.generators.planner")

EXAMPLES = (
    "the sun over the sea",
    "a lemon to the right of a plum",
    "a frog under a tree",
    "a rocket above the moon",
    "a ruby beside a sapphire",
    "a fire engine to the left of a taxi",
    "a unicorn above a castle",  # outside the table: a guess, marked as such
)


class PlannerInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = SMOLLM2_ID
    request: str = "the sun over the sea"  # traced token by token, and the live slide's default
    examples: tuple[str, ...] = Field(EXAMPLES, min_length=1, max_length=20)

    @field_validator("request", "examples")
    @classmethod
    def _plannable(cls, value):
        for text in (value,) if isinstance(value, str) else value:
            refused = refusal(text)
            if refused:
                raise InputError(f"{refused[0]}: {text[:40]!r}", refused[1])
        return value


def held_out_score(weights: Path = WEIGHTS_DIR) -> dict:
    """The training record's held-out result (exact plans of the split training never saw)."""
    record = json.loads((weights / RECORD_FILE).read_text())
    return record.get("held_out", {})


class Planner(Generator):
    name: ClassVar[str] = "planner"
    version: ClassVar[str] = "1"
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = PlannerInputs
    LiveRequest: ClassVar[type[BaseModel]] = PlannerLiveRequest
    libraries: ClassVar[tuple[str, ...]] = ("torch", "transformers", "safetensors")
    generate_input: ClassVar[str | None] = "text"
    weights_dir: Path = WEIGHTS_DIR  # the adapter and its training record (a test points it elsewhere)

    def key_inputs(self, inputs: PlannerInputs, embedded: bool) -> dict:
        """The adapter is part of what decides the plans: a retrained one makes the artifact stale."""
        adapter = adapter_path(self.weights_dir)
        adapter = content_hash(adapter) if adapter.is_file() else "missing"
        return {**inputs.model_dump(mode="json"), "adapter": adapter}

    def file_roles(self, inputs: PlannerInputs) -> set[str]:
        return {"plans"}

    def resolve_model(self, inputs: PlannerInputs, local_dirs: dict[str, str]) -> ModelRef:
        return resolve_smollm2(inputs.model, local_dirs, purpose="the planner")

    # --- the live protocol (docs/live-protocol.md) ---------------------------------------------

    def load(self, model: ModelRef, device: str) -> LoadedPlanner:
        with loading(model):
            return load_planner(model, torch_device(device), self.weights_dir)

    def live_request(self, inputs: PlannerInputs, model: ModelRef | None = None) -> PlannerLiveRequest:
        return PlannerLiveRequest(request=inputs.request)

    def steps(self, loaded: LoadedPlanner, request: BaseModel) -> Iterator[dict]:
        return labelled(plan_events(loaded, request.request), loaded.model_id, loaded.device)

    # --- what another generator may ask of the planner (the loop, via plugin_api.generator) ----

    def plan(self, loaded: LoadedPlanner, request: str) -> dict:
        """The greedy plan's record: `done`'s fields and its `steps` (tokens, probabilities)."""
        return plan_once(loaded, request)

    def next_plan(self, loaded: LoadedPlanner, request: str, first: dict, avoid: set[str]) -> dict | None:
        """The next-best plan under the grammar that is not in `avoid` (live.next_plan)."""
        return next_plan(loaded, request, first, avoid)

    # --- `w2w generate planner REQUEST…` -------------------------------------------------------

    def generate_check(self, value: str) -> tuple[str, str] | None:
        return refusal(value)

    def generate(self, loaded: LoadedPlanner, value: str, seed: int, out: Path | None) -> dict:
        """Greedy under the grammar: the seed changes nothing (it is recorded)."""
        result = plan_once(loaded, value)
        result.pop("type")
        steps = result.pop("steps")
        mark = "  (a guess: it names no two things of the planner's table)" if result["guess"] else ""
        return {
            **result,
            "seed": seed,
            "choices": [{"token": s["token"], "prob": s["prob"]} for s in steps if not s["forced"]],
            "summary": f"{value} -> {result['plan']}{mark}",
        }

    def run(self, inputs: PlannerInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        run = RunContext(self, model, device)
        loaded = self.load(model, run.device)
        events = list(self.steps(loaded, self.live_request(inputs)))
        rows = []
        with Stopwatch() as clock:
            for text in run.counted(inputs.examples, "plans", "requests"):
                done = plan_once(loaded, text)
                rows.append({k: done[k] for k in ("request", "plan", "guess", "agrees_with_table")})
        data = {
            "model": model.id,
            "request": inputs.request,
            "plan": events[-1]["plan"],
            "guess": events[-1]["guess"],
            "steps": events[:-1],
            "examples": rows,
            "held_out": held_out_score(self.weights_dir),
            "table": {kind: [[t.name, t.drawn] for t in OBJECTS if t.kind == kind] for kind in KINDS},
            "live_request": self.live_request(inputs).model_dump(mode="json"),
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "plans.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        log.info("planner: %d example plans in %.1f s", len(rows), clock.seconds)
        adapter = content_hash(adapter_path(self.weights_dir))
        provenance = run.provenance(adapter=adapter, loaded_from=loaded.loaded_from)
        return Artifact(self.name, {"plans": "plans.json"}, data, provenance, out_dir)
