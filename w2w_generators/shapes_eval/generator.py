"""How often the shipped shapes model draws what a caption it never trained on says, measured.

The stand-in for Stable Diffusion is a 2M-parameter text-to-image model trained on 352 captions of
the shapes world. This generator runs it on the 8 captions held out of training and on 8 rewordings
of them ("sitting on top of", "to the left of"...) that appear nowhere in the world's grammar, and
checks each picture the way the tests do (`shapes_world.arrangement_holds`: do the two colour
masses sit as the caption says?). The slide then shows "k of n" as a live number.

All 16 pictures are one batch of one pipeline call, at fewer sampler steps than the demo (DDIM,
default 20; the demo uses 50), in one batch: batched, a picture-step costs about a seventh of
what it costs one prompt at a time (measured on the 2-core CPU: 0.25 vs 1.7 CPU-seconds under load).

With `grid_seeds` it also sweeps seed x guidance x steps around that setting, for the slide's
controls (issue 24): the same 16 captions at each, one call each, judged the same way. On the
idle 2-core machine a call of 20 steps took 4.5 s at guidance 4 or 8 and 2.1 s at 0 or 1 (one half
of the guidance batch, shapes/pipeline.py); batching 64 pictures instead of 16 was slower per
picture (12.7 s against 4 x 2.3 s at 10 steps), so the cells stay one call each.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from w2w.plugin_api import Artifact, Generator, ModelRef, RunContext, Stopwatch, W2WError
from w2w_generators.diffusion.sweep import SweepSettings, cell_key, webp_url
from w2w_generators.shapes.world import HELD_OUT, arrangement_holds, parse_caption
from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS, content_hash

# Each held-out caption said another way. The model reads prompts through MiniLM, so a rewording
# that keeps the meaning should keep the picture; the scene to check is the held-out caption's.
PARAPHRASED: tuple[tuple[str, str], ...] = (
    ("a red circle sitting on top of a blue square", "a red circle above a blue square"),
    ("a yellow triangle placed over a green circle", "a yellow triangle above a green circle"),
    ("there is a blue square above a yellow circle", "a blue square above a yellow circle"),
    ("a purple circle higher up than a red triangle", "a purple circle above a red triangle"),
    ("a green square to the left of a purple triangle", "a green square left of a purple triangle"),
    ("a yellow circle on the left of a blue triangle", "a yellow circle left of a blue triangle"),
    ("a red square, and to its right a green triangle", "a red square left of a green triangle"),
    ("a blue circle to the left of a purple square", "a blue circle left of a purple square"),
)


class ShapesEvalInputs(SweepSettings):
    """The measured setting, and a sweep around it for the slide's controls (SweepSettings): at each
    seed x guidance x step count the same 16 captions in one call, checked the same way."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    steps: Annotated[int, Field(ge=4, le=200)] = 20
    guidance_scale: Annotated[float, Field(ge=0, le=20)] = 4.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    grid_steps: Annotated[list[Annotated[int, Field(ge=2, le=200)]], Field(min_length=1, max_length=6)] = [5, 10, 20]


def cases() -> list[dict]:
    """The captions the model is asked to draw, with the scene each picture must show."""
    held = [{"kind": "held-out", "prompt": c, "scene": c} for c in HELD_OUT]
    reworded = [{"kind": "paraphrased", "prompt": p, "scene": s} for p, s in PARAPHRASED]
    return held + reworded


def draw(pipe, steps: int, guidance: float, seed: int):
    """Every case's picture, uint8 HxWx3, from one pipeline call (the batch is what makes it cheap)."""
    import numpy as np
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    images = pipe(
        [c["prompt"] for c in cases()],
        num_inference_steps=steps,
        guidance_scale=guidance,
        generator=generator,
        output_type="np",
    ).images
    return [(np.asarray(image) * 255).round().astype("uint8") for image in images]


def judged(pictures) -> list[dict]:
    """Each case with whether its picture shows the caption's arrangement."""
    return [
        {**case, "correct": bool(arrangement_holds(pixels, parse_caption(case["scene"])))}
        for case, pixels in zip(cases(), pictures, strict=True)
    ]


# The 16 pictures of a cell side by side, as lossy WebP at this quality: measured on the talk's 48
# cells, 244 KiB a page, against 424 KiB as 16-colour PNG-8 and 1.9 MiB as lossless PNG (the
# pictures of few steps or no guidance are noise, which does not compress); the two pages that
# show them (deck, handout) would otherwise take the explorables past issue 24's 4 MB. Looked at
# side by side at 4x, the shapes and their colours are the same; a picture is judged on its exact
# pixels before it is encoded.
TILE_QUALITY = 80


def tiles(pictures) -> str:
    """The pictures side by side as one WebP data URL: the page shows each as a crop of it."""
    import numpy as np

    return webp_url(np.concatenate(pictures, axis=1), TILE_QUALITY)


def sweep(pipe, inputs: ShapesEvalInputs, measured: list, settings) -> dict:
    """Every cell of the sweep (`settings`: inputs.settings(), counted): its pictures (`tiles`) and
    which of them are right. The measured setting's cell is the measured pictures, not drawn twice."""
    cells = {}
    for seed, guidance, steps in settings:
        same = (seed, guidance, steps) == (inputs.seed, inputs.guidance_scale, inputs.steps)
        pictures = measured if same else draw(pipe, steps, guidance, seed)
        cells[cell_key(seed, guidance, steps)] = {
            "tiles": tiles(pictures),
            "correct": [r["correct"] for r in judged(pictures)],
        }
    return cells


def summary(results: list[dict]) -> dict:
    def count(kind: str | None) -> tuple[int, int]:
        chosen = [r for r in results if kind is None or r["kind"] == kind]
        return sum(r["correct"] for r in chosen), len(chosen)

    (k, n), (hk, hn), (pk, pn) = count(None), count("held-out"), count("paraphrased")
    return {"correct": k, "total": n, "held_out": [hk, hn], "paraphrased": [pk, pn], "cases": results}


log = logging.getLogger("w2w.generators.shapes_eval")
SHAPES_WEIGHTS_DIR = SHAPES_WEIGHTS  # the demo's shipped model
SHAPES_MODEL_ID = "w2w/shapes-diffusion"


class ShapesEval(Generator):
    name: ClassVar[str] = "shapes_eval"
    version: ClassVar[str] = "2"  # 2: the pictures (tiles) and the sweep
    # Not live: a grid of fixed evaluation captions, measured at build time; the diffusion demo is
    # the shapes model's live slide.
    live: ClassVar[bool] = False
    macros: ClassVar[tuple[str, ...]] = ("shapes_eval_grid",)
    Inputs: ClassVar[type[BaseModel]] = ShapesEvalInputs
    libraries: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers")

    def model_ids(self, inputs: ShapesEvalInputs) -> list[str]:
        return []  # shipped with w2w: nothing to pull

    def file_roles(self, inputs: ShapesEvalInputs) -> set[str]:
        return {"results"}

    def resolve_model(self, inputs: ShapesEvalInputs, local_dirs: dict[str, str]) -> ModelRef:
        if not (SHAPES_WEIGHTS_DIR / "unet" / "config.json").is_file():
            raise W2WError(
                f"the shapes model is not in {SHAPES_WEIGHTS_DIR}",
                "run `w2w train-shapes`, or remove shapes_eval from the talk's pages",
            )
        # Evaluated as itself, not as a stand-in; its MiniLM text encoder is part of its revision.
        encoder = resolve_minilm(MINILM_ID, local_dirs, purpose="the shapes model's captions")
        revision = f"{content_hash(SHAPES_WEIGHTS_DIR)}+{encoder.revision}"
        return ModelRef(SHAPES_MODEL_ID, revision, "shipped", str(SHAPES_WEIGHTS_DIR), encoder=encoder.path)

    def run(self, inputs: ShapesEvalInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        import json

        from w2w_generators.shapes.pipeline import ShapesDiffusionPipeline

        run = RunContext(self, model, device)
        pipe = ShapesDiffusionPipeline.from_dirs(model.path, model.encoder, run.device)
        measured = draw(pipe, inputs.steps, inputs.guidance_scale, inputs.seed)
        data = summary(judged(measured))
        data.update(steps=inputs.steps, guidance_scale=inputs.guidance_scale, seed=inputs.seed, scheduler="ddim")
        data["tiles"] = tiles(measured)
        if inputs.grid_seeds and inputs.grid_guidance:
            with Stopwatch() as clock:
                cells = sweep(pipe, inputs, measured, run.counted(inputs.settings(), "sweep", "cells"))
            log.info("evaluation sweep: %d cells in %.1f s", len(cells), clock.seconds)
            data["grid"] = inputs.grid(cells)
        out_dir.mkdir(parents=True, exist_ok=True)
        # The file is the measurement; the pictures and the sweep are the pages' (artifact data).
        results = {k: v for k, v in data.items() if k not in ("tiles", "grid")}
        (out_dir / "eval.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        return Artifact(self.name, {"results": "eval.json"}, data, run.provenance(dtype="float32"), out_dir)
