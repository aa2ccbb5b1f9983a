"""Text to a clip with the shipped motion-world diffusion model: the talk's "the same denoising
loop makes pictures, sound and motion", watched.

One pipeline call (motion/pipeline.py) denoises the caption's 8 frames of 32×32 together, in
`steps` DDIM steps; the denoiser's attention along time ties each frame to the others. From that call come:

- film.png      the clip's eight frames left to right, x4 (the page plays it: motion/media.py)
- frame_K.png   at `strip_frames` evenly spaced steps, the sample x_t the sampler holds after the
                step (noise at first), as a film x2
- guess_K.png   at the same steps, the model's prediction of the finished clip, x̂0, as a film x2

The tracker (motion/world.py) follows every shape of the caption's colours across the frames from
the pixels alone; what it saw is the slide's text alternative, beside what the caption asked. For
the warm-up, SmolLM2-135M-Instruct answers the same caption in words (greedy, recorded): a model
that writes beside a model that films. Live (live.py): under `w2w present` the strip's slide takes
a caption and streams every step's x̂0 as a film that plays; from `file://` it replays the build's
own run. `w2w generate motion CAPTION -o clip.gif` makes clips from the terminal.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import (
    Artifact,
    Generator,
    InputError,
    ModelRef,
    RunContext,
    W2WError,
    best_of,
    labelled,
    speed_repeats,
    write_bytes,
)
from w2w_generators.diffusion.capture import capture_steps
from w2w_generators.motion.media import FORMATS, FPS, animation_bytes, film_png
from w2w_generators.motion.world import FRAMES, parse_caption, seen_words
from w2w_generators.motion_demo.live import MAX_STEPS, MotionLiveRequest, events
from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
from w2w_generators.shared.model_resolution import MOTION_WEIGHTS, content_hash
from w2w_generators.shared.smollm2 import SMOLLM2_ID, resolve_smollm2

log = logging.getLogger("w2w.generators.motion")
MOTION_MODEL_ID = "w2w/motion-diffusion"
EXAMPLE = "a red circle moving right"


class MotionInputs(BaseModel):
    """talk.yaml's generators.motion: the caption the model films, how it samples, and the LLM
    that answers the same caption in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prompt: str = EXAMPLE
    steps: Annotated[int, Field(ge=2, le=100)] = 20
    guidance_scale: Annotated[float, Field(ge=0, le=20)] = 3.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    strip_frames: Annotated[int, Field(ge=2, le=8)] = 6
    model: str = SMOLLM2_ID  # the LLM of the warm-up's "same caption, in words"
    max_new_tokens: Annotated[int, Field(ge=8, le=120)] = 40

    @field_validator("prompt")
    @classmethod
    def _in_the_world(cls, value: str) -> str:
        try:
            parse_caption(value)
        except ValueError as error:
            raise InputError(str(error), "use the motion world's words, e.g. 'a red circle moving right'") from None
        return value


def shipped_record(weights_dir: Path) -> dict:
    """The weights' training.json (its held-out score is the slide's)."""
    path = weights_dir / "training.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class MotionGenerator(Generator):
    name: ClassVar[str] = "motion"
    version: ClassVar[str] = "1"
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = MotionInputs
    LiveRequest: ClassVar[type[BaseModel]] = MotionLiveRequest
    libraries: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers", "numpy", "Pillow")
    macros: ClassVar[tuple[str, ...]] = ("clip_player", "clip_strip")
    weights_dir: Path = MOTION_WEIGHTS  # the shipped model; a test points an instance at a tiny random one

    def model_ids(self, inputs: MotionInputs) -> list[str]:
        return [MINILM_ID, inputs.model]  # the weights are shipped; the encoder and the LLM are pulled

    def file_roles(self, inputs: MotionInputs) -> set[str]:
        frames = len(capture_steps(inputs.steps, inputs.strip_frames))
        return {"film"} | {f"{role}_{k}" for role in ("frame", "guess") for k in range(frames)}

    def resolve_model(self, inputs: MotionInputs, local_dirs: dict[str, str]) -> ModelRef:
        """The LLM's reference, its revision covering the motion weights and their encoder too (the
        motion weights are the package's own, in `weights_dir`)."""
        if not (self.weights_dir / "unet" / "config.json").is_file():
            raise W2WError(
                f"the motion model is not in {self.weights_dir}", "run `w2w train-motion` (CPU, under an hour)"
            )
        encoder = resolve_minilm(MINILM_ID, local_dirs, purpose="the motion model's captions")
        lm = resolve_smollm2(inputs.model, local_dirs, purpose="the warm-up's words for the clip's caption")
        revision = f"{content_hash(self.weights_dir)}+{encoder.revision}+{lm.revision}"
        return ModelRef(lm.id, revision, lm.source, lm.path, encoder=encoder.path)

    def run(self, inputs: MotionInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        from w2w_generators.shared.chat import chat_answer
        from w2w_generators.shared.lm_loading import load_shared

        run = RunContext(self, model, device)
        pipe = self.load(model, run.device)
        # 1. One call, every step's sample x_t and prediction x̂0 kept for the strip.
        out = pipe(inputs.prompt, inputs.steps, inputs.guidance_scale, self._noise(inputs.seed), keep_steps=True)
        clip = out.clips[0]
        # 2. The speed of one call without the strip, timed apart (best_of: one thread's CPU time).
        timing = best_of(
            lambda: pipe(inputs.prompt, inputs.steps, inputs.guidance_scale, self._noise(inputs.seed)),
            speed_repeats(3),
            device=run.device,
        )
        # 3. The same caption in words: the language model's greedy answer.
        lm, tokenizer, loaded_from = load_shared(model, run.device)
        words = chat_answer(lm, tokenizer, inputs.prompt, inputs.max_new_tokens)
        # 4. The files: the film, and the strip's x_t and x̂0 films; what the tracker saw in each.
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {"film": "film.png"}
        (out_dir / "film.png").write_bytes(film_png(clip, 4))
        strip = []
        for k, i in enumerate(capture_steps(inputs.steps, inputs.strip_frames)):
            for role, steps in (("frame", out.xt_steps), ("guess", out.x0_steps)):
                files[f"{role}_{k}"] = f"{role}_{k}.png"
                (out_dir / f"{role}_{k}.png").write_bytes(film_png(steps[i][0], 2))
            strip.append({"step": i + 1, "guess_seen": seen_words(out.x0_steps[i][0], inputs.prompt)[0]})
        seen, matches = seen_words(clip, inputs.prompt)
        record = shipped_record(self.weights_dir)
        data: dict[str, Any] = {
            "prompt": inputs.prompt,
            "steps": inputs.steps,
            "guidance_scale": inputs.guidance_scale,
            "seed": inputs.seed,
            "scheduler": "ddim",
            "frames": FRAMES,
            "fps": FPS,
            "seconds": round(FRAMES / FPS, 2),
            "seen": seen,
            "matches": matches,
            "strip": strip,
            "seconds_per_step": round(timing["best_s"] / inputs.steps, 4),
            "words": words,
            "scores": record.get("scores", {}),
            "parameters": record.get("parameters"),
            "training_captions": record.get("training_captions"),
            "train_seconds": record.get("train_seconds"),
            "live_request": self.live_request(inputs).model_dump(mode="json"),
        }
        return Artifact(
            self.name, files, data, run.provenance(dtype="float32", timing=timing, loaded_from=loaded_from), out_dir
        )

    @staticmethod
    def _noise(seed: int):
        import torch

        return torch.Generator().manual_seed(seed)

    # --- the live protocol (docs/live-protocol.md): live.py ---------------------------------------

    def load(self, model: ModelRef, device: str) -> Any:
        """The pipeline, loaded once (also what `w2w generate motion` runs with)."""
        from w2w_generators.motion.pipeline import MotionDiffusionPipeline

        return MotionDiffusionPipeline.from_dirs(self.weights_dir, model.encoder, device)

    def live_request(self, inputs: MotionInputs, model: ModelRef | None = None) -> MotionLiveRequest:
        steps = min(inputs.steps, MAX_STEPS)  # the live limit; a build may ask for more
        return MotionLiveRequest(
            prompt=inputs.prompt, steps=steps, guidance_scale=inputs.guidance_scale, seed=inputs.seed
        )

    def steps(self, loaded: Any, request: BaseModel):
        return labelled(events(loaded, request), MOTION_MODEL_ID, str(next(loaded.unet.parameters()).device))

    # --- `w2w generate motion CAPTION…`: one animation per caption (docs/generators.md) ---------

    generate_input: ClassVar[str | None] = "text"
    generate_writes: ClassVar[str | None] = ".gif"
    generate_also_writes: ClassVar[tuple[str, ...]] = (".webp",)  # lossless, by -o's suffix

    def generate_check(self, value: str) -> tuple[str, str] | None:
        try:
            parse_caption(value)
        except ValueError as error:
            return str(error), "give a motion-world caption, e.g. 'a red circle moving right'"
        return None

    def generate(self, loaded: Any, value: str, seed: int, out: Path | None) -> dict:
        """The clip of one caption, written at `out` as an animated GIF (or WebP, by -o's suffix);
        what the tracker saw."""
        suffix = out.suffix.lower() if out.suffix.lower() in FORMATS else ".gif"  # `w2w generate` checked it
        inputs = MotionInputs()
        clip = loaded(value, inputs.steps, inputs.guidance_scale, self._noise(seed)).clips[0]
        write_bytes(out, animation_bytes(clip, suffix))
        seen, matches = seen_words(clip, value)
        return {
            "animation": str(out),
            "model": MOTION_MODEL_ID,
            "steps": inputs.steps,
            "seed": seed,
            "frames": FRAMES,
            "seen": seen,
            "matches": matches,
            "summary": f"{value} -> {out} (the tracker saw {seen}{'' if matches else ': not a match'})",
        }
