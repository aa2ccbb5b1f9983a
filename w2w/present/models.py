"""The live generators of `w2w present`, as the model process (child.py) loads them.

A generator takes part when it says `live = True` (w2w/plugins/protocol.py, docs/live-protocol.md); the
model it loads is the one the build resolves, with talk.yaml's `models.local_dirs`. The model
process loads them one after the other, each followed by one run of the talk's own request (the
warm-up), before it takes any live run, so a warm-up never competes with a live run for the CPU.
A generator that cannot load (its model is missing, its weights are broken) is reported in
/status with its error; the others go live and its slides play their recordings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from w2w.errors import W2WError
from w2w.plugins.running import device_class

log = logging.getLogger("w2w.present")


@dataclass
class LiveGenerator:
    name: str
    generator: Any
    inputs: BaseModel  # the talk's own inputs: they pick the model and make the warm-up request
    local_dirs: dict[str, str]
    device: str  # cuda, mps or cpu, as the build would choose
    model_id: str = ""
    device_label: str = ""
    loaded: Any = None
    ready: bool = False
    error: str | None = None
    seconds: float = 0.0  # load + warm-up
    state: str = "waiting to load"

    def prepare(self, report: Callable[[str], None] = lambda state: None) -> None:
        """In the model process: resolve and load the weights, then run the talk's own request once.

        The warm-up pays the first-call costs (allocator growth, kernel selection, tokenizer caches)
        before the audience waits for the first token. `report` hears each state as it begins.
        """
        started = time.perf_counter()
        self.state = "loading"
        report(self.state)
        model = self.generator.resolve_model(self.inputs, self.local_dirs)
        self.model_id = model.id
        self.loaded = self.generator.load(model, self.device)
        self.state = "warming up"
        report(self.state)
        done: dict = {}
        for event in self.generator.steps(self.loaded, self.generator.live_request(self.inputs, model)):
            if isinstance(event, dict) and event.get("type") == "done":
                done = event
        self.model_id = str(done.get("model") or model.id)
        self.device_label = str(done.get("device") or self.device)
        self.seconds = time.perf_counter() - started
        self.ready, self.state = True, "ready"

    def status(self) -> dict:
        return {
            "ready": self.ready,
            "model": self.model_id,
            "device": self.device_label or self.device,
            "error": self.error,
            "state": self.state,
        }


def live_generators(talk, only: list[str] | None = None, used: set[str] | None = None) -> dict[str, LiveGenerator]:
    """The generators that follow the live protocol, with the talk's inputs: those in `only`, else
    those of `used` (the generators the talk's pages use; None: every registered one). A generator
    no slide can call is not loaded: with the planner and the describer registered, the mini talk's
    server loaded five models where its deck uses three."""
    from w2w.plugins import registry

    names = list(registry.REGISTRY)
    for name in only or []:
        if name not in names:
            raise W2WError(f"unknown generator {name!r} in --only", f"use one of: {', '.join(names)}")
    entries = {}
    device = device_class(talk.models.device)
    for name in only if only is not None else [n for n in names if used is None or n in used]:
        generator = registry.get(name)
        if not generator.live:  # declared by every generator, checked when it registered
            if only:
                raise W2WError(f"generator {name!r} cannot run live", "drop it from --only")
            continue
        inputs = getattr(talk.generators, name, None) or generator.Inputs()
        entries[name] = LiveGenerator(name, generator, inputs, dict(talk.models.local_dirs), device)
    return entries
