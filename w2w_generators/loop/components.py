"""The loop's three models, each behind one small call, so that the pipeline only composes them.

The planner and the describer are other generators' models: the loop gets them by registry name
through the plug-in API (`plugin_api.generator`) and talks to them through their own functions
(`load`, `plan`/`next_plan`, `describe_pixels`), never by importing their folders (the architecture
rule: a generator folder imports only itself, the plug-in API and the shared folders). The renderer
is the shapes diffusion model, which lives in the shared folders (shapes/render.py), used directly,
with every step's x̂0 captured for the strip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from w2w.plugin_api import ModelRef, generator


@dataclass
class Timed:
    """A stage's result and its cost: wall seconds and this thread's CPU seconds (on a shared CPU
    the wall time is whatever the other work leaves; the CPU time is this stage's own)."""

    value: Any
    seconds: float
    cpu_seconds: float


def timed(call, *args, **kwargs) -> Timed:
    wall, cpu = time.perf_counter(), time.thread_time()
    value = call(*args, **kwargs)
    return Timed(value, time.perf_counter() - wall, time.thread_time() - cpu)


class PlannerPart:
    """SmolLM2 + the planner's adapter, held to the grammar: request -> plan record (its tokens with
    probabilities, the plan, whether it is a guess), and the next-best plan for a refinement."""

    def __init__(self, loaded: Any, owner: Any):
        self.loaded, self.owner = loaded, owner

    @classmethod
    def load(cls, device: str = "cpu", local_dirs: dict | None = None) -> PlannerPart:
        owner = generator("planner")
        model: ModelRef = owner.resolve_model(owner.Inputs(), local_dirs or {})
        return cls(owner.load(model, device), owner)

    def refusal(self, request: str) -> tuple[str, str] | None:
        return self.owner.generate_check(request)

    def plan(self, request: str) -> dict:
        return self.owner.plan(self.loaded, request)

    def next_plan(self, request: str, first: dict, avoid: set[str]) -> dict | None:
        return self.owner.next_plan(self.loaded, request, first, avoid)

    @property
    def model_id(self) -> str:
        return self.loaded.model_id


class DescriberPart:
    """The project's small vision-language model: a 32 px picture -> its caption, token by token."""

    def __init__(self, loaded: Any, owner: Any):
        self.loaded, self.owner = loaded, owner

    @classmethod
    def load(cls, local_dirs: dict | None = None) -> DescriberPart:
        owner = generator("describer")
        model = owner.resolve_model(owner.Inputs(), local_dirs or {})
        return cls(owner.load(model, "cpu"), owner)

    def __call__(self, pixels) -> list[dict]:
        """[{"token", "p", "top"}...] ending with "<eos>"."""
        return self.owner.describe_pixels(self.loaded, pixels)

    @property
    def model_id(self) -> str:
        return self.loaded.model_id
