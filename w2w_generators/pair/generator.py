"""The pair generator: one picture both ways, and one prompt two ways, from the real models.

- mirror (multimodal part): the shapes diffusion model draws `caption` from noise (its x̂0 at a few
  steps) and the project's describer reads the picture back, word by word with probabilities:
  noise -> pixels beside pixels -> words, the two directions of the part's table on one picture.
- answers (warm-up's "Same prompt, two answers"): SmolLM2-135M-Instruct's greedy answer to
  `prompt`, and the shapes model's picture for the very same words (it knows only coloured shapes,
  so its answer is what such a model makes of a sentence it never saw), which the describer reads.
The describer comes by registry name (plugin_api.generator), SmolLM2 and the renderer from the
shared folders; no other generator folder is imported (ARCHITECTURE.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import Artifact, Generator, ModelRef, RunContext, generator
from w2w_generators.shapes.world import HELD_OUT, parse_caption
from w2w_generators.shared.smollm2 import SMOLLM2_ID, resolve_smollm2


class PairInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = SMOLLM2_ID
    caption: str = HELD_OUT[0]  # a caption the diffusion model never trained on
    prompt: Annotated[str, Field(min_length=1, max_length=200)] = "A robot coding on a laptop in space"
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    steps: Annotated[int, Field(ge=4, le=50)] = 20
    guidance: Annotated[float, Field(ge=1, le=12)] = 4.0
    frames: Annotated[int, Field(ge=2, le=10)] = 4  # with the finished picture, five tiles fit the slide
    max_new_tokens: Annotated[int, Field(ge=8, le=120)] = 40  # two sentences: what fits the slide's card

    @field_validator("caption")
    @classmethod
    def _caption(cls, value: str) -> str:
        return parse_caption(value).caption  # its ValueError names the world's words


class Pair(Generator):
    name: ClassVar[str] = "pair"
    version: ClassVar[str] = "1"
    live: ClassVar[bool] = False
    Inputs: ClassVar[type[BaseModel]] = PairInputs
    macros: ClassVar[tuple[str, ...]] = ("pair_mirror", "pair_answers")  # templates/macros.j2
    libraries: ClassVar[tuple[str, ...]] = ("torch", "transformers", "diffusers", "safetensors")

    def file_roles(self, inputs: PairInputs) -> set[str]:
        return {"picture", "answer_picture", "record"} | {f"frame_{i}" for i in range(inputs.frames)}

    def resolve_model(self, inputs: PairInputs, local_dirs: dict[str, str]) -> ModelRef:
        """SmolLM2 for the words; the describer's revision covers the describer and the renderer."""
        lm = resolve_smollm2(inputs.model, local_dirs, purpose="the warm-up's text answer")
        describer = generator("describer")
        vision = describer.resolve_model(describer.Inputs(), local_dirs)
        return ModelRef(lm.id, f"{lm.revision}+{vision.revision}", lm.source, lm.path, encoder=vision.encoder)

    def run(self, inputs: PairInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        from w2w_generators.pair.answers import llm_answer, mirror
        from w2w_generators.shapes.render import Renderer
        from w2w_generators.shared.lm_loading import load_shared

        run = RunContext(self, model, device)
        # 1. The models: the renderer (shapes model + MiniLM), the describer, SmolLM2 (shared copy).
        renderer = Renderer.load({}, run.device)
        owner = generator("describer")
        loaded = owner.load(owner.resolve_model(owner.Inputs(), {}), "cpu")
        describe = lambda pixels: owner.describe_pixels(loaded, pixels)  # noqa: E731
        lm, tokenizer, loaded_from = load_shared(model, run.device)
        # 2. One picture both ways: drawn from noise, read back.
        one = mirror(renderer, describe, inputs.caption, inputs.seed, inputs.guidance, inputs.steps, inputs.frames)
        # 3. One prompt two ways: the language model's words, the diffusion model's picture (read back).
        words = llm_answer(lm, tokenizer, inputs.prompt, inputs.max_new_tokens)
        drawn = mirror(renderer, describe, inputs.prompt, inputs.seed, inputs.guidance, inputs.steps, inputs.frames)
        # 4. Files: 32 px PNGs (the page scales them with image-rendering: pixelated) and the data.
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {"picture": "picture.png", "answer_picture": "answer.png"}
        _png(one["image"], out_dir / "picture.png")
        _png(drawn["image"], out_dir / "answer.png")
        for i, (_, pixels) in enumerate(one["frames"]):
            files[f"frame_{i}"] = f"frame-{i}.png"
            _png(pixels, out_dir / f"frame-{i}.png")
        data = {
            **inputs.model_dump(mode="json"),
            "mirror": {"steps": [s for s, _ in one["frames"]], "tokens": one["tokens"], "said": one["said"]},
            "answers": {"text": words, "picture_read_as": drawn["said"], "picture_tokens": drawn["tokens"]},
        }
        (out_dir / "pair.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        files["record"] = "pair.json"
        return Artifact(self.name, files, data, run.provenance(loaded_from=loaded_from), out_dir)


def _png(pixels, path: Path) -> None:
    from PIL import Image

    Image.fromarray(pixels).save(path, format="PNG", optimize=True)
