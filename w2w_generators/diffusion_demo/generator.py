"""Text-to-image diffusion, shown while it happens: one pipeline call, several pictures.

With Stable Diffusion (any diffusers `StableDiffusionPipeline` directory or HF-cache id) or, offline,
the shipped 32x32 shapes-world model (`ShapesDiffusionPipeline`, the stand-in when SD is not on the
machine), the generator runs ONE pipeline call and, through `callback_on_step_end` plus a thin
wrapper around `scheduler.step`, records at a few evenly spaced steps the noisy sample x_t and the
scheduler's own prediction of the clean image x̂0 (`pred_original_sample`). After the call the
recorded latents are decoded in one go. From that call come:

- demo.png      the final image (the 32x32 shapes image is upscaled x8, nearest neighbour)
- strip.png     two rows, top x_t, bottom x̂0, one column per captured step, labelled "step k/N · t=…"
- frame_XX.png  each x̂0 frame alone, so slides can step through them with fragments
- grid.png      all x̂0 frames at full resolution, for the handout
- forward.png   the forward process applied to the final image: x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε

The capture lives in `diffusion/capture.py`, the pictures in `diffusion_demo/figures.py`, the live stream
(`steps`, which the run consumes too) in `diffusion_demo/live.py`. Module import stays light: torch and
diffusers are imported inside `run`.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from w2w.plugin_api import Artifact, Generator, ModelRef, RunContext, W2WError, best_of, labelled, torch_device
from w2w_generators.diffusion.capture import StripCapture, capture_steps, decoder, forward_process, image_to_pixels
from w2w_generators.diffusion.sweep import SweepSettings
from w2w_generators.diffusion_demo.figures import write_files
from w2w_generators.diffusion_demo.live import DiffusionLiveRequest, LoadedPipe, denoise
from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS, content_hash, loading, resolve

log = logging.getLogger("w2w.generators.diffusion_demo")

# Where the shipped shapes-world weights live; shapes_training (which imports torch) writes here.
SHAPES_WEIGHTS_DIR = SHAPES_WEIGHTS
SHAPES_MODEL_ID = "w2w/shapes-diffusion"


class DiffusionInputs(SweepSettings):
    """talk.yaml's generators.diffusion_demo: The embedded model only knows its shapes world, so it
    draws `embedded_prompt` with `embedded_guidance_scale` when it stands in for Stable Diffusion."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    prompt: str = "A robot coding on a laptop in space, digital art"
    embedded_prompt: str = "a red circle above a blue square"
    steps: Annotated[int, Field(ge=2, le=200)] = 50
    guidance_scale: Annotated[float, Field(ge=1, le=30)] = 7.5
    embedded_guidance_scale: Annotated[float, Field(ge=1, le=30)] = 4.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0  # torch takes up to 2**64 - 1; int64 stays portable
    scheduler: Literal["ddim", "ddpm", "euler"] = "ddim"
    strip_frames: Annotated[int, Field(ge=2, le=16)] = 8
    # Its grid_* fields (SweepSettings) are the sweep behind the deck's and the handout's controls,
    # shapes stand-in only: each cell's picture and x̂0 strip (w2w_generators/diffusion/sweep.py).


def shapes_weights_present(path: Path = SHAPES_WEIGHTS_DIR) -> bool:
    unet = path / "unet"
    return (
        (unet / "config.json").is_file()
        and any(unet.glob("diffusion_pytorch_model.*"))
        and (path / "scheduler" / "scheduler_config.json").is_file()
    )


def shipped_shapes_model(full_model_id: str) -> ModelRef | None:
    """The shapes-world model shipped with w2w, standing in for `full_model_id`; None if not trained yet."""
    if not shapes_weights_present(SHAPES_WEIGHTS_DIR):
        return None
    return ModelRef(
        id=SHAPES_MODEL_ID,
        revision=content_hash(SHAPES_WEIGHTS_DIR),
        source="shipped",
        path=str(SHAPES_WEIGHTS_DIR),
        embedded=True,
        full_model_id=full_model_id,
    )


def with_shapes_encoder(model: ModelRef, local_dirs: dict[str, str]) -> ModelRef:
    """The shapes model reads prompts through all-MiniLM-L6-v2: resolve it like the embedding plot
    does and make its revision part of the model's, so a different encoder means a different key."""
    from dataclasses import replace

    encoder = resolve_minilm(MINILM_ID, local_dirs)
    return replace(model, encoder=encoder.path, revision=f"{model.revision}+{encoder.revision}")


def shapes_vocabulary() -> set[str]:
    """Every word of the shapes model's training captions."""
    from w2w_generators.shapes.world import training_scenes

    return {word for scene in training_scenes() for word in _words(scene.caption)}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def is_shapes_model(path: str | Path) -> bool:
    """A shapes-world weights directory (unet/ + scheduler/, no model_index.json), not an SD pipeline."""
    path = Path(path)
    return not (path / "model_index.json").is_file() and shapes_weights_present(path)


class DiffusionDemo(Generator):
    name: ClassVar[str] = "diffusion_demo"
    # 2: seconds per step timed apart from the captured call (best of N); 3: the run consumes `steps`
    # (the live stream) and records it in the data; 4: on the CPU the speed is one thread's CPU time;
    # 5: the sweep of seeds, guidance scales and step counts (w2w_generators/diffusion/sweep.py); 6: guidance 0 and 1
    # run one half of the guidance batch (shapes/pipeline.py)
    version: ClassVar[str] = "6"
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = DiffusionInputs
    LiveRequest: ClassVar[type[BaseModel]] = DiffusionLiveRequest
    libraries: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers", "Pillow")
    macros: ClassVar[tuple[str, ...]] = ("demo_image", "denoising_strip", "forward_process")

    def key_inputs(self, inputs: DiffusionInputs, embedded: bool) -> dict:
        """Stable Diffusion draws `prompt` with `guidance_scale`; the shapes stand-in draws
        `embedded_prompt` with `embedded_guidance_scale` and sweeps the grid_* settings
        (w2w_generators/diffusion/sweep.py). The others do not change the output. `embedded` is the
        resolved model's field that `run` reads too: the key and the run cannot disagree about which
        prompt is drawn, and a frozen output is judged by the key of the model that made it
        (w2w/artifacts/frozen.py), so a changed sweep makes a stand-in's output stale, not a full model's."""
        sweep = set(SweepSettings.model_fields)
        unused = {"prompt", "guidance_scale"} if embedded else {"embedded_prompt", "embedded_guidance_scale", *sweep}
        return inputs.model_dump(mode="json", exclude=unused)

    def model_ids(self, inputs: DiffusionInputs) -> list[str]:
        return [inputs.model, MINILM_ID]  # MiniLM: the shapes stand-in's text encoder

    def file_roles(self, inputs: DiffusionInputs) -> set[str]:
        frames = len(capture_steps(inputs.steps, inputs.strip_frames))
        return {"image", "strip", "forward", "grid"} | {f"frame_{k}" for k in range(frames)}

    def plan_warnings(self, inputs: DiffusionInputs, model: ModelRef) -> list[tuple[tuple, str]]:
        if not model.embedded:
            return []
        unseen = [w for w in dict.fromkeys(_words(inputs.embedded_prompt)) if w not in shapes_vocabulary()]
        if not unseen:
            return []
        return [
            (
                ("embedded_prompt",),
                f"the shapes model never saw {', '.join(map(repr, unseen))} in training; it follows many "
                "paraphrases (15 of 18 unseen phrasings measured), but look at the picture — or use its "
                "words: colours red/green/blue/yellow/purple, shapes circle/square/triangle, 'above', 'left of'",
            )
        ]

    def resolve_model(self, inputs: DiffusionInputs, local_dirs: dict[str, str]) -> ModelRef:
        from dataclasses import replace

        try:
            model = resolve(
                inputs.model,
                local_dirs,
                embedded=lambda: shipped_shapes_model(inputs.model),
                purpose="the diffusion demo",
            )
        except W2WError as error:
            raise W2WError(
                error.what + f", and the offline shapes model is not trained yet ({SHAPES_WEIGHTS_DIR} has no weights)",
                error.fix + "; or run `w2w train-shapes` to train the small offline shapes-world model "
                "(CPU, about an hour) that stands in for it",
            ) from None
        if is_shapes_model(model.path):
            # Decided once, here: shapes weights (shipped, or a directory `model:` points at) draw
            # `embedded_prompt`. The key and the run both read `embedded`.
            model = with_shapes_encoder(
                replace(model, embedded=True, full_model_id=model.full_model_id or model.id), local_dirs
            )
        return model

    # --- the live protocol (docs/live-protocol.md): the build's run consumes the same `denoise` -----

    def load(self, model: ModelRef, device: str) -> LoadedPipe:
        import torch

        device = torch_device(device)
        shapes = model.embedded
        dtype = torch.float16 if device == "cuda" and not shapes else torch.float32
        with loading(model):
            pipe = self._load_shapes(model, device) if shapes else self._load_stable_diffusion(model, device, dtype)
        return LoadedPipe(pipe, shapes, device, model.id, dtype)

    def live_request(self, inputs: DiffusionInputs, model: ModelRef) -> DiffusionLiveRequest:
        """The talk's own request: the stand-in draws `embedded_prompt`, Stable Diffusion `prompt`
        (`model.embedded`, the resolved model's one field for that choice)."""
        shapes = model.embedded
        return DiffusionLiveRequest(
            prompt=inputs.embedded_prompt if shapes else inputs.prompt,
            steps=min(inputs.steps, 100),  # the live limit; a build may ask for more (see run)
            guidance_scale=inputs.embedded_guidance_scale if shapes else inputs.guidance_scale,
            seed=inputs.seed,
            scheduler=inputs.scheduler,
        )

    def steps(self, loaded: LoadedPipe, request: BaseModel, capture=None) -> Iterator[dict]:
        """The stream; the build passes its `capture`, which keeps the strip's tensors and the image."""
        guidance = request.guidance_scale or (4.0 if loaded.shapes else 7.5)
        capture = capture or StripCapture(loaded.pipe.scheduler, [])
        events = denoise(loaded, request, guidance, capture, decoder(loaded.pipe, loaded.shapes))
        return labelled(events, loaded.model_id, loaded.device, guidance_scale=guidance)

    # --- `w2w generate diffusion_demo CAPTION…`: one PNG per caption (docs/generators.md) ----------

    generate_input: ClassVar[str | None] = "text"
    generate_writes: ClassVar[str | None] = ".png"

    def generate_check(self, value: str) -> tuple[str, str] | None:
        from pydantic import ValidationError

        try:
            DiffusionLiveRequest(prompt=value)
        except ValidationError as error:
            what = error.errors()[0]["msg"]
            return what, "give a caption of 1 to 200 characters, e.g. 'a red circle above a blue square'"
        return None

    def generate(self, loaded: LoadedPipe, value: str, seed: int, out: Path | None) -> dict:
        """The picture of one caption, written at `out` (the shapes model's 32 px upscaled x8)."""
        import io

        import numpy as np

        from w2w.plugin_api import write_bytes
        from w2w_generators.shared.png import upscaled_png

        request = DiffusionLiveRequest(prompt=value, seed=seed)
        capture = StripCapture(loaded.pipe.scheduler, [])  # keeps the call's picture
        done = list(self.steps(loaded, request, capture))[-1]
        pixels = np.asarray(capture.image.convert("RGB"))
        if loaded.shapes:
            data = upscaled_png(pixels, 8)
        else:
            buffer = io.BytesIO()
            capture.image.save(buffer, format="PNG")
            data = buffer.getvalue()
        write_bytes(out, data)
        return {
            "image": str(out),
            "model": loaded.model_id,
            "steps": request.steps,
            "seed": seed,
            "guidance_scale": done.get("guidance_scale"),
            "seconds": done["seconds"],
            "summary": f"{value} -> {out}",
        }

    def run(self, inputs: DiffusionInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        run = RunContext(self, model, device)
        loaded = self.load(model, run.device)
        shapes, pipe = loaded.shapes, loaded.pipe
        request = self.live_request(inputs, model).model_copy(update={"steps": inputs.steps})

        # 1. The recorded generation is the live stream: one pipeline call (`steps`), x_t and x̂0
        #    kept at a few steps for the strip. The pictures stay out of the recorded events: the
        #    deck replays the frame files.
        capture = StripCapture(pipe.scheduler, capture_steps(inputs.steps, inputs.strip_frames))
        events = [{k: v for k, v in e.items() if k != "image"} for e in self.steps(loaded, request, capture)]
        image = capture.image
        # 2. Decode the captured latents in one batch; the forward process on the final image.
        decode = decoder(pipe, shapes)
        frames = capture.decode(decode)
        forward = forward_process(
            pipe.scheduler.alphas_cumprod,
            image_to_pixels(image) if shapes else capture.final_latents,
            inputs.seed,
            decode,
        )
        # 3. The speed, timed apart from the recorded call.
        timing = _speed(loaded, inputs, request)
        seconds_per_step = timing["best_s"] / timing["steps"]

        files, data = write_files(out_dir, image, frames, forward, shapes, inputs.steps)
        data = {
            "model": model.id,
            "embedded": model.embedded,
            "prompt": request.prompt,
            "requested_prompt": inputs.prompt,
            "steps": inputs.steps,
            "guidance_scale": request.guidance_scale,
            "seed": inputs.seed,
            "scheduler": inputs.scheduler,
            "seconds_per_step": round(seconds_per_step, 4),
            "seconds_per_image": round(seconds_per_step * inputs.steps, 3),
            **data,
            "forward_space": "pixel" if shapes else "latent",
            "live_request": request.model_dump(mode="json"),
            "live_recording": {"steps": events[:-1], "done": events[-1]},
        }
        if shapes:
            from w2w_generators.shapes.world import trained_on

            data["trained_on"] = trained_on()
        if shapes and inputs.grid_seeds and inputs.grid_guidance:
            data["grid"] = self._sweep(loaded, inputs, request.prompt, run)
        return Artifact(self.name, files, data, _provenance(run, loaded, inputs, request, timing), out_dir)

    @staticmethod
    def _sweep(loaded: LoadedPipe, inputs: DiffusionInputs, prompt: str, run: RunContext) -> dict:
        from w2w.plugin_api import Stopwatch
        from w2w_generators.diffusion.sweep import sweep

        settings = run.counted(inputs.settings(), "sweep", "cells")
        with Stopwatch() as clock:
            cells = sweep(loaded, prompt, inputs.scheduler, settings, inputs.strip_frames)
        log.info("diffusion sweep: %d cells in %.1f s", len(cells), clock.seconds)
        return inputs.grid(cells, prompt=prompt, scheduler=inputs.scheduler)

    @staticmethod
    def _load_shapes(model: ModelRef, device: str):
        from w2w_generators.shapes.pipeline import ShapesDiffusionPipeline

        return ShapesDiffusionPipeline.from_dirs(model.path, model.encoder, device)

    @staticmethod
    def _load_stable_diffusion(model: ModelRef, device: str, dtype):
        from diffusers import StableDiffusionPipeline

        with warnings.catch_warnings():  # diffusers >= 0.36 renames torch_dtype to dtype; older ones need it
            warnings.simplefilter("ignore", FutureWarning)
            pipe = StableDiffusionPipeline.from_pretrained(
                model.path, torch_dtype=dtype, safety_checker=None, requires_safety_checker=False, local_files_only=True
            )
        return pipe.to(device)


def _speed(loaded: LoadedPipe, inputs: DiffusionInputs, request) -> dict:
    """The same call without capture, one warm-up, best of 3 (best_of; a 50-step SD call on a GPU
    takes seconds, so 3 rather than 5). On the CPU best_of times one thread, where Stable Diffusion's
    UNet takes seconds per step: there the timed call has 10 steps (the per-step cost does not depend
    on the count). `steps` in the result says how many."""
    import torch

    device = loaded.device
    timed_steps = inputs.steps if loaded.shapes or device != "cpu" else min(inputs.steps, 10)

    def call():
        generator = torch.Generator("cpu").manual_seed(inputs.seed)
        return loaded.pipe(
            request.prompt, num_inference_steps=timed_steps, guidance_scale=request.guidance_scale, generator=generator
        )

    timing = best_of(call, repeats=3, device=device, sync=torch.cuda.synchronize if device == "cuda" else None)
    timing["steps"] = timed_steps
    return timing


def _provenance(run: RunContext, loaded: LoadedPipe, inputs: DiffusionInputs, request, timing: dict) -> dict:
    extra: dict[str, Any] = {}
    if run.model.embedded:
        extra["stand_in_for"] = inputs.model
        extra["note"] = (
            f"{inputs.model} was not found on this machine; the shipped 32x32 shapes-world model "
            f"drew {request.prompt!r} instead of {inputs.prompt!r}"
        )
    return run.provenance(
        dtype=str(loaded.dtype).removeprefix("torch."),
        steps=inputs.steps,
        seed=inputs.seed,
        scheduler=inputs.scheduler,
        guidance_scale=request.guidance_scale,
        timing=timing,
        **extra,
    )
