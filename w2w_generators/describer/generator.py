"""The describer as a generator: pixels -> words, the mirror of the shapes diffusion model.

Build: the describer reads the 8 held-out captions' renders and the diffusion model's own pictures
of the same captions (drawn at build time, seed `seed`, shapes_eval's setting), and the artifact
holds each picture with its caption, token by token with probabilities, beside the held-out
accuracy measured on the full held-out sets when the weights were trained (weights/training.json).
Live: `steps` streams the caption's tokens for a picture the slide sends, or for a caption's
render (live.py). `describe(loaded, image)` is the plain function (live.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from w2w.plugin_api import Artifact, Generator, ModelRef, RunContext, W2WError, labelled
from w2w_generators.describer.live import (
    IMAGE_RULE,
    BadImage,
    DescriberLiveRequest,
    LoadedDescriber,
    describe,
    pixels_of,
    png_url,
    stream,
)
from w2w_generators.shapes.world import HELD_OUT
from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS, content_hash, loading

log = logging.getLogger("w2w.generators.describer")
WEIGHTS = Path(__file__).with_name("weights")
MODEL_ID = "w2w/shapes-describer"
MAX_FILE_BYTES = 1 << 20  # `w2w generate`'s picture files: a 512 px PNG of noise is ~0.8 MB


class DescriberInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0  # the diffusion pictures' seed
    steps: Annotated[int, Field(ge=4, le=100)] = 20  # shapes_eval's setting
    guidance_scale: Annotated[float, Field(ge=0, le=20)] = 4.0


def published_scores() -> dict:
    """The held-out figures recorded when the shipped weights were trained (training.json)."""
    record = json.loads((WEIGHTS / "training.json").read_text(encoding="utf-8"))
    held = record["held_out"]
    return {name: {k: v for k, v in score.items() if k != "wrong"} for name, score in held.items()}


def load_describer(path: str | Path):
    """The Describer of a weights directory, its config read from the safetensors metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from w2w_generators.describer.model import Describer, DescriberConfig

    file = Path(path) / "describer.safetensors"
    with safe_open(file, "pt") as f:
        config = DescriberConfig(**json.loads(f.metadata()["config"]))
    model = Describer(config)
    model.load_state_dict(load_file(file))
    return model.eval()


class DescriberGenerator(Generator):
    name: ClassVar[str] = "describer"
    version: ClassVar[str] = "1"
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = DescriberInputs
    LiveRequest: ClassVar[type[BaseModel]] = DescriberLiveRequest
    libraries: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers", "safetensors")

    def model_ids(self, inputs: DescriberInputs) -> list[str]:
        return []  # shipped with w2w: nothing to pull

    def file_roles(self, inputs: DescriberInputs) -> set[str]:
        return {"figure", "results"}

    def resolve_model(self, inputs: DescriberInputs, local_dirs: dict[str, str]) -> ModelRef:
        for needed, fix in (
            (WEIGHTS / "describer.safetensors", "run `w2w train-describer`"),
            (SHAPES_WEIGHTS / "unet" / "config.json", "run `w2w train-shapes`"),
        ):
            if not needed.is_file():
                raise W2WError(f"{needed} is missing", f"{fix}, or remove describer from the talk's pages")
        encoder = resolve_minilm(MINILM_ID, local_dirs, purpose="the shapes model's captions")
        revision = f"{content_hash(WEIGHTS)}+{content_hash(SHAPES_WEIGHTS)}+{encoder.revision}"
        return ModelRef(MODEL_ID, revision, "shipped", str(WEIGHTS), encoder=encoder.path)

    def load(self, model: ModelRef, device: str) -> LoadedDescriber:
        with loading(model):
            return LoadedDescriber(load_describer(model.path), model.id, "cpu")  # 0.65M parameters: CPU

    def live_request(self, inputs: DescriberInputs, model: ModelRef) -> DescriberLiveRequest:
        return DescriberLiveRequest(caption=HELD_OUT[0], seed=inputs.seed)

    def steps(self, loaded: LoadedDescriber, request: BaseModel):
        return labelled(stream(loaded, request), loaded.model_id, loaded.device)

    def describe_pixels(self, loaded: LoadedDescriber, pixels) -> list[dict]:
        """What another generator may ask (the loop, via plugin_api.generator): live.describe."""
        return describe(loaded, pixels)

    # --- `w2w generate describer PICTURE.png…`: the protocol's generate hook (the planner branch's
    # w2w/plugins/protocol.py; docs/generators.md). Harmless attributes where that hook is absent.
    generate_input: ClassVar[str | None] = "image"
    generate_writes: ClassVar[str | None] = None

    def generate_check(self, value: str) -> tuple[str, str] | None:
        """Refuse a file that is not a picture the describer reads, before the model loads."""
        path = Path(value)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                return f"{value} is over {MAX_FILE_BYTES >> 10} KiB", f"give {IMAGE_RULE}"
            pixels_of(path.read_bytes())
        except OSError as exc:
            return f"{value} cannot be read ({exc.strerror})", f"give the path of {IMAGE_RULE}"
        except BadImage as exc:
            return str(exc).split("; send ")[0], f"give {IMAGE_RULE}"
        return None

    def generate(self, loaded: LoadedDescriber, value: str, seed: int, out: Path | None) -> dict:
        """One picture file -> its caption, each token with its probability (greedy: `seed` unused)."""
        tokens = describe(loaded, Path(value).read_bytes())
        caption = " ".join(t["token"] for t in tokens if t["token"] != "<eos>")
        lowest = min(t["p"] for t in tokens)
        return {"input": value, "caption": caption, "tokens": tokens, "summary": f"{caption}  (lowest p {lowest:.2f})"}

    def run(self, inputs: DescriberInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        from w2w_generators.describer.figure import examples, plot, published_line

        run = RunContext(self, model, device)
        loaded = self.load(model, "cpu")
        cases = examples(inputs, model.encoder)
        for case in cases:
            case["tokens"] = describe(loaded, case.pop("pixels"))
            case["said"] = " ".join(t["token"] for t in case["tokens"][:-1])
            case["exact"] = case["said"] == case["asked"]
        request = self.live_request(inputs, model)
        events = list(self.steps(loaded, request))
        out_dir.mkdir(parents=True, exist_ok=True)
        published = published_scores()
        plot(cases, published, out_dir / "describer.png")
        data = {
            "model": model.id,
            "published": published,
            "published_line": published_line(published),
            "cases": cases,
            "live_request": request.model_dump(mode="json"),
            "live_recording": {"steps": events[:-1], "done": events[-1]},
            **inputs.model_dump(),
        }
        results = {**data, "cases": [{k: v for k, v in c.items() if k != "image"} for c in cases]}
        (out_dir / "describer.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        files = {"figure": "describer.png", "results": "describer.json"}
        return Artifact(self.name, files, data, run.provenance(dtype="float32"), out_dir)


__all__ = ["DescriberGenerator", "describe", "png_url"]
