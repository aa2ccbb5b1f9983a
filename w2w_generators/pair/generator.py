"""The pair generator: one picture both ways, and one prompt two ways, from the real models.

- mirror (multimodal part): the shapes diffusion model draws `caption` from noise (its sample x_t at
  a few steps, and every step's x̂0 in the recording) and the project's describer reads the picture
  back, word by word with probabilities: noise -> pixels beside pixels -> words, the two directions
  of the part's table on one picture.
- answers (warm-up's "Same prompt, two answers"): SmolLM2-135M-Instruct's greedy answer to
  `prompt`, and the shapes model's picture for the very same words (it knows only coloured shapes,
  so its answer is what such a model makes of a sentence it never saw), which the describer reads.
Both are live (live.py): the build records each with the same events `w2w present` streams. The
describer, the planner and the token trace's decoder come by registry name (plugin_api.generator),
the renderer from the shared folders; no other generator folder is imported (ARCHITECTURE.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import Artifact, Generator, ModelRef, RunContext, generator, labelled, torch_device
from w2w_generators.pair.live import Guidance, NewTokens, PairLiveRequest, Seed, Steps, Text, load_models, stream
from w2w_generators.shapes.world import HELD_OUT, parse_caption
from w2w_generators.shared.smollm2 import SMOLLM2_ID, resolve_smollm2

MODEL_ID = "w2w/draw-read-answer"  # the shapes model, the describer, SmolLM2 (with the planner's adapter)


class PairInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = SMOLLM2_ID
    caption: str = HELD_OUT[0]  # a caption the diffusion model never trained on
    prompt: Text = "A robot coding on a laptop in space"
    seed: Seed = 0
    steps: Steps = 20
    guidance: Guidance = 4.0
    frames: Annotated[int, Field(ge=2, le=10)] = 4  # with the finished picture, five tiles fit the slide
    max_new_tokens: NewTokens = 40  # two sentences: what fits the slide's card

    @field_validator("caption")
    @classmethod
    def _caption(cls, value: str) -> str:
        return parse_caption(value).caption  # its ValueError names the world's words

    def request(self, mode: str) -> PairLiveRequest:
        text = self.caption if mode == "mirror" else self.prompt
        return PairLiveRequest(
            mode=mode, text=text, **self.model_dump(include={"seed", "steps", "guidance", "max_new_tokens"})
        )


class Pair(Generator):
    name: ClassVar[str] = "pair"
    # 2: live (live.py); the recording is the live events (every step's x̂0, each token streamed), and
    # the text answer is the token trace's decoder's (the same greedy tokens as `generate`)
    version: ClassVar[str] = "2"
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = PairInputs
    LiveRequest: ClassVar[type[BaseModel]] = PairLiveRequest
    macros: ClassVar[tuple[str, ...]] = ("pair_mirror", "pair_answers")  # templates/macros.j2
    libraries: ClassVar[tuple[str, ...]] = ("torch", "transformers", "diffusers", "safetensors")

    def file_roles(self, inputs: PairInputs) -> set[str]:
        return {"picture", "answer_picture", "record"} | {f"frame_{i}" for i in range(inputs.frames)}

    def resolve_model(self, inputs: PairInputs, local_dirs: dict[str, str]) -> ModelRef:
        """SmolLM2 for the words; the describer's revision covers the describer and the renderer;
        the planner's adapter plans a live request that is not a caption."""
        lm = resolve_smollm2(inputs.model, local_dirs, purpose="the warm-up's text answer")
        describer, planner = generator("describer"), generator("planner")
        vision = describer.resolve_model(describer.Inputs(), local_dirs)
        adapter = planner.key_inputs(planner.Inputs(), lm.embedded)["adapter"]
        revision = f"{lm.revision}+{vision.revision}+{adapter}"
        return ModelRef(lm.id, revision, lm.source, lm.path, encoder=vision.encoder)

    # --- the live protocol (docs/live-protocol.md): live.py ----------------------------------------

    def load(self, model: ModelRef, device: str):
        """The four models once (renderer 2 s, planner with SmolLM2 7 s, describer 0.05 s on the
        2-core CPU: loop/generator.py's measurement; the token trace shares the planner's SmolLM2)."""
        models = load_models(model.id, torch_device(device))
        # Every path once, so that no room's first request pays for a cold model: measured on the
        # loaded 2-core machine, a first plan took 11.0 s and the next 1.2 s (the server's warm-up
        # runs only the talk's own request, a caption, which needs neither the planner nor SmolLM2).
        for warm in (
            PairLiveRequest(text="the sun over the sea", steps=4),
            PairLiveRequest(mode="answers", text="hi", steps=4, max_new_tokens=8),
        ):
            for _ in stream(models, warm):
                pass
        return models

    def live_request(self, inputs: PairInputs, model: ModelRef | None = None) -> PairLiveRequest:
        return inputs.request("mirror")

    def steps(self, loaded, request: BaseModel):
        return labelled(stream(loaded, request), MODEL_ID, loaded.device)

    def run(self, inputs: PairInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        from w2w_generators.diffusion.capture import capture_steps

        run = RunContext(self, model, device)
        models = self.load(model, run.device)
        # The two recordings, made by the live code; `kept` holds the arrays behind them.
        recordings, kept = {}, {"mirror": {}, "answers": {}}
        for mode in ("mirror", "answers"):
            request = inputs.request(mode)
            events = list(labelled(stream(models, request, kept[mode]), MODEL_ID, models.device))
            recordings[mode] = {"request": request.model_dump(mode="json"), "steps": events[:-1], "done": events[-1]}
        one, two = kept["mirror"], kept["answers"]
        said = recordings["answers"]["done"]
        # Files: 32 px PNGs (the page scales them with image-rendering: pixelated) and the data.
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {"picture": "picture.png", "answer_picture": "answer.png", "record": "pair.json"}
        _png(one["image"], out_dir / "picture.png")
        _png(two["image"], out_dir / "answer.png")
        shown = capture_steps(len(one["noisy"]), inputs.frames)  # the sample x_t at these steps
        for i, index in enumerate(shown):
            files[f"frame_{i}"] = f"frame-{i}.png"
            _png(one["noisy"][index], out_dir / f"frame-{i}.png")
        data: dict[str, Any] = {
            **inputs.model_dump(mode="json"),
            "mirror": {"steps": [i + 1 for i in shown], "tokens": one["tokens"], "said": one["read"]},
            # The slide says the diffusion model's size: counted here, so it follows the weights.
            "renderer_parameters": sum(p.numel() for p in models.renderer.pipe.unet.parameters()),
            "answers": {
                "text": {k: said[k] for k in ("text", "tokens", "ended")},
                "picture_read_as": two["read"],
                "picture_tokens": two["tokens"],
                "in_world": said["in_world"],
            },
        }
        (out_dir / "pair.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        data["live"] = recordings  # the deck's recordings (PNG data URLs): not in the download
        return Artifact(self.name, files, data, run.provenance(loaded_from=models.lm[1].loaded_from), out_dir)


def _png(pixels, path: Path) -> None:
    from PIL import Image

    Image.fromarray(pixels).save(path, format="PNG", optimize=True)
