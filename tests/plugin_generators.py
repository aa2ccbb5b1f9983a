"""Generators with no model, for the tests. Two live ones for the supervisor's tests, plugged in as
a third-party package would plug them in: an entry point of group `w2w.generators` (see `install`).

- `ticker`: one event per `step_s` seconds, `steps` times: a run long enough to stop, kill or
  freeze the model process in the middle of, whose steps are known in advance.
- `memory_hog`: allocates `megabytes` at once: past `live.memory_mb` it must fail alone.

And `letter_count`, not live, which a test registers for itself: a generator the engine has never
heard of, built into a talk (test_build.py) and judged by the registry (test_plugins.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from w2w.plugin_api import Artifact, Generator, ModelRef


class NoInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TickerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    steps: Annotated[int, Field(ge=1, le=10_000)] = 3
    step_s: Annotated[float, Field(ge=0, le=5)] = 0.0


class HogRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    megabytes: Annotated[int, Field(ge=1, le=1 << 20)] = 1


class _NoModel(Generator):
    version: ClassVar[str] = "1"
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = NoInputs

    def resolve_model(self, inputs, local_dirs) -> ModelRef:
        return ModelRef(f"test/{self.name}", "0", "builtin", "")

    def model_ids(self, inputs) -> list[str]:
        return []

    def run(self, inputs, model, device, out_dir: Path) -> Artifact:
        (out_dir / "none.json").write_text(json.dumps({}))
        return Artifact(self.name, {"none": "none.json"}, {}, {"model": model.id}, out_dir)

    def load(self, model, device):
        return None

    def live_request(self, inputs, model=None):
        return self.LiveRequest()


class Ticker(_NoModel):
    name: ClassVar[str] = "ticker"
    LiveRequest: ClassVar[type[BaseModel]] = TickerRequest

    def steps(self, loaded, request):
        for step in range(1, request.steps + 1):
            time.sleep(request.step_s)
            yield {"type": "step", "step": step}
        yield {"type": "done", "steps": request.steps, "model": "test/ticker", "device": "CPU"}


class MemoryHog(_NoModel):
    name: ClassVar[str] = "memory_hog"
    LiveRequest: ClassVar[type[BaseModel]] = HogRequest

    def steps(self, loaded, request):
        block = bytearray(request.megabytes << 20)  # zero-filled: every page is touched
        yield {"type": "done", "bytes": len(block), "model": "test/memory_hog", "device": "CPU"}


class LetterInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str = "diffusion"


class LetterCount(Generator):
    """Counts letters: no model, registered only by the tests that use it."""

    name: ClassVar[str] = "letter_count"
    version: ClassVar[str] = "1"
    live: ClassVar[bool] = False
    Inputs: ClassVar[type[BaseModel]] = LetterInputs
    filters: ClassVar[dict] = {"shout": lambda text: str(text).upper() + "!"}

    def resolve_model(self, inputs, local_dirs):
        return ModelRef("none/letters", "0", "builtin", "")

    def model_ids(self, inputs):
        return []

    def run(self, inputs, model, device, out_dir: Path) -> Artifact:
        (out_dir / "count.json").write_text(json.dumps({"n": len(inputs.text)}))
        return Artifact(
            self.name,
            {"count": "count.json"},
            {"n": len(inputs.text), "text": inputs.text},
            {"model": model.id},
            out_dir,
        )


def serve(mini_build, directory: Path, *args: str, live: dict | None = None, prefix: list[str] | None = None):
    """`w2w present --no-build ARGS` on a copy of the built mini talk in `directory`, with these
    plug-ins installed and talk.yaml's `live:` section set to `live`; ready when it returns."""
    import os
    import shutil

    import yaml
    from live_server import start

    root = directory / "talk"
    shutil.copytree(mini_build[0], root, symlinks=True)
    talk = root / "talk" / "talk.yaml"
    data = yaml.safe_load(talk.read_text())
    data["live"] = live or {}
    talk.write_text(yaml.safe_dump(data, sort_keys=False))
    os.utime(root / "site" / "slides" / "index.html")  # talk.yaml's live: section changes no page
    server = start(root, directory / "server.log", *args, env=install(directory / "plugins"), prefix=prefix)
    server.root = root
    server.wait_ready()
    return server


def install(directory: Path) -> dict[str, str]:
    """A distribution's metadata in `directory` that declares both generators; returns the
    environment a process needs to see it (PYTHONPATH: that directory and tests/)."""
    import os

    info = directory / "w2w_test_plugins-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: w2w-test-plugins\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[w2w.generators]\nticker = plugin_generators:Ticker\nmemory_hog = plugin_generators:MemoryHog\n"
    )
    paths = [str(directory), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
