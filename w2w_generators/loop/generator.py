"""The loop as a generator: plan -> render -> describe -> compare -> refine, for the talk's requests.

Build: the loop runs on a few requests (talk.yaml's `generators.loop.requests`), and the artifact
holds every round of each (plan tokens, seed, guidance, the x̂0 strip, the description's tokens,
the verdict, what the next round changed) as JSON and small PNGs, for the slide's offline explorer
(templates/explore-loop.js), beside the measured agreement on held-out requests that
`w2w measure-loop` recorded (agreement.json, committed: 40 s of models that the build does not
redo). `w2w generate loop TEXT…` runs the loop from the terminal (generate hook).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import Artifact, Generator, InputError, ModelRef, RunContext, generator, labelled
from w2w_generators.loop.live import LoopLiveRequest, events
from w2w_generators.loop.pipeline import LoopConfig
from w2w_generators.loop.record import without_arrays, write_round
from w2w_generators.shared.model_resolution import content_hash

log = logging.getLogger("w2w.generators.loop")
AGREEMENT_FILE = Path(__file__).with_name("agreement.json")
MODEL_ID = "w2w/plan-render-describe"  # SmolLM2 + the planner's adapter, the shapes model, the describer

# Chosen from the held-out measurement's requests to show each kind of round (see agreement.json):
# agreed at once, fixed by another seed, by stronger guidance, by a new plan; and one guess.
SHOWCASE = (
    "the sun over the sea",
    "a frog under a tree",
    "a unicorn above a castle",
)


class LoopInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    requests: tuple[str, ...] = Field(SHOWCASE, min_length=1, max_length=8)
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    steps: Annotated[int, Field(ge=4, le=50)] = 20
    guidance: Annotated[float, Field(ge=1, le=12)] = 4.0
    stronger_guidance: Annotated[float, Field(ge=1, le=20)] = 8.0
    rounds: Annotated[int, Field(ge=1, le=6)] = 4

    @field_validator("requests")
    @classmethod
    def _plannable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            refused = generator("planner").generate_check(text)
            if refused:
                raise InputError(f"{refused[0]}: {text[:40]!r}", refused[1])
        return value

    def config(self) -> LoopConfig:
        return LoopConfig(self.steps, self.guidance, self.stronger_guidance, self.rounds, self.seed)


# What the page's explorer reads of a round (templates/explore-loop.js): the rest (timings, the
# config of each request) stays in loop.json, so the data each page inlines stays small (it counts
# toward the explorables' budget, tests/test_full_talk.py).
EXPLORER_KEYS = (
    "round", "plan", "seed", "guidance", "steps", "plan_tokens", "description", "description_tokens",
    "agree", "next", "picture", "strip", "frames",
)  # fmt: skip


def explorer_view(record: dict) -> dict:
    """The rounds with the explorer's keys; a round that did not plan again (another seed, stronger
    guidance) leaves out the plan's tokens, which the explorer takes from the round that planned."""
    rounds = [{k: r[k] for k in EXPLORER_KEYS if k in r} for r in record["rounds"]]
    for view, r in zip(rounds, record["rounds"], strict=True):
        if not r.get("planned", True):
            del view["plan_tokens"]
    return {"request": record["request"], "guess": record["guess"], "rounds": rounds}


def _next_text(next_: dict | str | None) -> str:
    if next_ is None:
        return ""
    if isinstance(next_, str):
        return f"; {next_}"
    return f"; next: {next_['kind']} {next_['from']} -> {next_['to']}"


def read_agreement(path: Path = AGREEMENT_FILE) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_pipeline(config: LoopConfig | None = None, device: str = "cpu", local_dirs: dict | None = None):
    """The three models, loaded once (planner 7 s, renderer 2 s, describer 0.05 s on the 2-core CPU)."""
    from w2w_generators.loop.components import DescriberPart, PlannerPart
    from w2w_generators.loop.pipeline import LoopPipeline
    from w2w_generators.shapes.render import Renderer

    return LoopPipeline(
        PlannerPart.load(device, local_dirs), Renderer.load(local_dirs), DescriberPart.load(local_dirs), config
    )


class Loop(Generator):
    name: ClassVar[str] = "loop"
    version: ClassVar[str] = "3"  # 2: the explorer's own compact view of the rounds; 3: live_request
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = LoopInputs
    LiveRequest: ClassVar[type[BaseModel]] = LoopLiveRequest
    macros: ClassVar[tuple[str, ...]] = ("loop_explorer", "loop_agreement")  # templates/macros.j2
    libraries: ClassVar[tuple[str, ...]] = ("torch", "transformers", "diffusers", "safetensors")
    generate_input: ClassVar[str | None] = "text"
    generate_writes: ClassVar[str | None] = "directory"  # -o DIR: each round's PNGs go in it

    def key_inputs(self, inputs: LoopInputs, embedded: bool) -> dict:
        """The three models' weights and the agreement record decide the artifact too."""
        agreement = content_hash(AGREEMENT_FILE) if AGREEMENT_FILE.is_file() else "missing"
        return {**inputs.model_dump(mode="json"), "agreement": agreement}

    def model_ids(self, inputs: LoopInputs) -> list[str]:
        return generator("planner").model_ids(generator("planner").Inputs())

    def file_roles(self, inputs: LoopInputs) -> set[str]:
        return {"record"}

    def resolve_model(self, inputs: LoopInputs, local_dirs: dict[str, str]) -> ModelRef:
        """One ModelRef for the three: the planner's SmolLM2, its revision joined with the others'."""
        planner, describer = generator("planner"), generator("describer")
        lm = planner.resolve_model(planner.Inputs(), local_dirs)
        vision = describer.resolve_model(describer.Inputs(), local_dirs)  # its revision covers the renderer
        adapter = planner.key_inputs(planner.Inputs(), lm.embedded)["adapter"]
        revision = f"{lm.revision}+{adapter}+{vision.revision}"
        return ModelRef(MODEL_ID, revision, lm.source, lm.path, encoder=vision.encoder)

    # --- the live protocol (docs/live-protocol.md): live.py --------------------------------------

    def load(self, model: ModelRef, device: str):
        """The three models, loaded once (also what `w2w generate loop` runs with)."""
        return load_pipeline(device=device)

    def live_request(self, inputs: LoopInputs, model: ModelRef | None = None) -> LoopLiveRequest:
        return LoopLiveRequest(request=inputs.requests[0], seed=inputs.seed)

    def steps(self, loaded, request: BaseModel):
        return labelled(events(loaded, request), MODEL_ID, loaded.planner.loaded.device)

    # --- `w2w generate loop TEXT… [-o DIR]` ------------------------------------------------------

    def generate_check(self, value: str) -> tuple[str, str] | None:
        return generator("planner").generate_check(value)

    def generate(self, loaded, value: str, seed: int, out: Path | None) -> dict:
        """One request through the loop; with -o DIR, each round's picture and strip in DIR."""
        record = loaded(value, seed=seed)
        if out is not None:
            stem = "-".join(re.findall(r"[a-z0-9]+", value.lower())[:6]) or "request"
            record["files"] = [
                str(out / write_round(r, out, f"{stem}-seed{seed}-round{r['round']}")["picture"])
                for r in record["rounds"]
            ]
        lines = [value + ("  (a guess: it names no two things of the planner's table)" if record["guess"] else "")]
        for r in record["rounds"]:
            verdict = "agrees" if r["agree"] else "differs"
            lines.append(f"  round {r['round']} (seed {r['seed']}, guidance {r['guidance']:g}): planned {r['plan']!r}")
            lines.append(f"    read {r['description']!r}: {verdict}{_next_text(r.get('next'))}")
        return {**without_arrays(record), "summary": "\n".join(lines)}

    def run(self, inputs: LoopInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        run = RunContext(self, model, device)
        pipeline = load_pipeline(inputs.config(), run.device)
        out_dir.mkdir(parents=True, exist_ok=True)
        requests = []
        for i, text in enumerate(run.counted(inputs.requests, "loop", "requests")):
            record = pipeline(text)
            rounds = [write_round(r, out_dir, f"loop-{i}-{r['round']}") for r in record["rounds"]]
            requests.append({**record, "rounds": rounds})
        files = {"record": "loop.json"}
        for request in requests:
            for r in request["rounds"]:
                files[r["picture"][:-4].replace("-", "_")] = r["picture"]
                files[r["strip"][:-4].replace("-", "_")] = r["strip"]
        data = {
            "requests": requests,
            "explorer": [explorer_view(r) for r in requests],
            "config": inputs.config().to_dict(),
            "agreement": read_agreement(),
            "live_request": self.live_request(inputs).model_dump(mode="json"),
        }
        kept = {k: v for k, v in data.items() if k != "explorer"}  # the explorer's view is derived: not twice
        record = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))  # a download for readers: compact
        (out_dir / "loop.json").write_text(record + "\n", encoding="utf-8")
        return Artifact(self.name, files, data, run.provenance(), out_dir)
