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

Module import stays light: torch and diffusers are imported inside `run`.
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from w2w.errors import W2WError

from .base import Artifact, ModelRef, Stopwatch, base_provenance, torch_device
from .embedding_plot import MINILM_ID, resolve_minilm
from .model_resolution import content_hash, loading, resolve

# Where the shipped shapes-world weights live; shapes_training (which imports torch) writes here.
SHAPES_WEIGHTS_DIR = Path(__file__).parent / "weights" / "shapes-diffusion"
SHAPES_MODEL_ID = "w2w/shapes-diffusion"
SHAPES_UPSCALE = 8  # 32x32 -> 256x256, nearest neighbour: crisp pixels on a slide
FORWARD_TIMESTEPS = (0, 100, 250, 500, 750, 999)  # of 1000 training timesteps
STRIP_TILE = 192  # pixels per strip cell
STRIP_ROW_LABEL = 150  # width of the strip's row labels ("x_t", "x̂0")
PAD, GAP = 16, 8  # picture margin, space between tiles
GRID_COLUMNS = 4


class DiffusionInputs(BaseModel):
    """talk.yaml's generators.diffusion_demo. The embedded model only knows its shapes world, so it
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


def is_shapes_model(path: str | Path) -> bool:
    """A shapes-world weights directory (unet/ + scheduler/, no model_index.json), not an SD pipeline."""
    path = Path(path)
    return not (path / "model_index.json").is_file() and shapes_weights_present(path)


def capture_steps(steps: int, frames: int) -> list[int]:
    """0-based indices of `frames` evenly spaced steps out of `steps`, first and last included."""
    frames = max(2, min(frames, steps))
    return sorted({round(i * (steps - 1) / (frames - 1)) for i in range(frames)})


def forward_timesteps(num_train_timesteps: int) -> list[int]:
    return sorted({min(num_train_timesteps - 1, round(t * num_train_timesteps / 1000)) for t in FORWARD_TIMESTEPS})


class DiffusionDemo:
    name: ClassVar[str] = "diffusion_demo"
    version: ClassVar[str] = "1"
    Inputs: ClassVar[type[BaseModel]] = DiffusionInputs
    libraries: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers", "Pillow")

    def key_inputs(self, inputs: DiffusionInputs, embedded: bool) -> dict:
        """Stable Diffusion draws `prompt` with `guidance_scale`; the shapes stand-in draws
        `embedded_prompt` with `embedded_guidance_scale`. The other pair does not change the output."""
        unused = {"prompt", "guidance_scale"} if embedded else {"embedded_prompt", "embedded_guidance_scale"}
        return inputs.model_dump(mode="json", exclude=unused)

    def resolve_model(self, inputs: DiffusionInputs, local_dirs: dict[str, str]) -> ModelRef:
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
            model = with_shapes_encoder(model, local_dirs)
        return model

    def run(self, inputs: DiffusionInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        import torch

        device = torch_device(device)
        shapes = is_shapes_model(model.path)
        with Stopwatch() as total:
            if shapes:
                dtype = torch.float32
                prompt, guidance = inputs.embedded_prompt, inputs.embedded_guidance_scale
            else:
                dtype = torch.float16 if device == "cuda" else torch.float32
                prompt, guidance = inputs.prompt, inputs.guidance_scale
            with loading(model):
                pipe = self._load_shapes(model, device) if shapes else self._load_stable_diffusion(model, device, dtype)
            pipe.scheduler = _scheduler_class(inputs.scheduler).from_config(pipe.scheduler.config)
            pipe.set_progress_bar_config(disable=True)

            torch.manual_seed(inputs.seed)
            generator = torch.Generator("cpu").manual_seed(inputs.seed)
            capture = StripCapture(pipe.scheduler, capture_steps(inputs.steps, inputs.strip_frames))
            with capture, Stopwatch() as call:
                image = pipe(
                    prompt,
                    num_inference_steps=inputs.steps,
                    guidance_scale=guidance,
                    generator=generator,
                    callback_on_step_end=capture.callback,
                    callback_on_step_end_tensor_inputs=["latents"],
                ).images[0]
            decode = _decoder(pipe, shapes)
            frames = capture.decode(decode)
            forward = forward_process(
                pipe.scheduler.alphas_cumprod,
                _image_to_pixels(image) if shapes else capture.final_latents,
                inputs.seed,
                decode,
            )

        files, data = _write_files(out_dir, image, frames, forward, shapes, inputs.steps)
        data = {
            "model": model.id,
            "embedded": model.embedded,
            "prompt": prompt,
            "requested_prompt": inputs.prompt,
            "steps": inputs.steps,
            "guidance_scale": guidance,
            "seed": inputs.seed,
            "scheduler": inputs.scheduler,
            "seconds_per_step": round(call.seconds / inputs.steps, 4),
            "seconds_per_image": round(call.seconds, 3),
            **data,
            "forward_space": "pixel" if shapes else "latent",
        }
        extra: dict[str, Any] = {}
        if model.embedded:
            extra["stand_in_for"] = inputs.model
            extra["note"] = (
                f"{inputs.model} was not found on this machine; the shipped 32x32 shapes-world model "
                f"drew {prompt!r} instead of {inputs.prompt!r}"
            )
        provenance = base_provenance(
            model,
            device,
            total.seconds,
            self.libraries,
            dtype=str(dtype).removeprefix("torch."),
            steps=inputs.steps,
            seed=inputs.seed,
            scheduler=inputs.scheduler,
            guidance_scale=guidance,
            **extra,
        )
        return Artifact(self.name, files, data, provenance, out_dir)

    @staticmethod
    def _load_shapes(model: ModelRef, device: str):
        from .shapes_pipeline import ShapesDiffusionPipeline

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


def _scheduler_class(name: str):
    from diffusers import DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler

    return {"ddim": DDIMScheduler, "ddpm": DDPMScheduler, "euler": EulerDiscreteScheduler}[name]


class StripCapture:
    """Records x_t and x̂0 at chosen steps of one pipeline call.

    While active (`with capture:`), `scheduler.step` is wrapped: the wrapper sees the step's input x_t
    and its output's `pred_original_sample` (x̂0). The pipeline's `callback_on_step_end` (`callback`)
    keeps the pair when the step is one of `steps`. Tensors stay on the device until `decode`.
    """

    def __init__(self, scheduler, steps: list[int]):
        self.scheduler = scheduler
        self.steps = set(steps)
        self.captured: list[dict] = []
        self.final_latents = None
        self._last: dict | None = None

    def __enter__(self) -> StripCapture:
        original = self.scheduler.step

        @functools.wraps(original)  # keeps the signature: pipelines inspect it for `eta` and `generator`
        def step(model_output, timestep, sample, *args, **kwargs):
            return self._step(original, model_output, timestep, sample, *args, **kwargs)

        self.scheduler.step = step  # instance attribute shadows the method for this call only
        return self

    def __exit__(self, *exc) -> None:
        del self.scheduler.step

    def _step(self, original, model_output, timestep, sample, *args, return_dict: bool = True, **kwargs):
        alpha_bar, to_variance_preserving = _noise_level(self.scheduler, timestep)  # before: Euler's index moves
        out = original(model_output, timestep, sample, *args, return_dict=True, **kwargs)
        x_t = sample * to_variance_preserving
        x0 = getattr(out, "pred_original_sample", None)
        if x0 is None:  # a scheduler that does not report x̂0: invert the forward process ourselves
            x0 = _predicted_clean(self.scheduler.config.prediction_type, x_t, model_output, alpha_bar)
        self._last = {"timestep": timestep, "alpha_bar": alpha_bar, "x_t": x_t.detach(), "x0": x0.detach()}
        return out if return_dict else out.to_tuple()

    def callback(self, pipe, i: int, t, kwargs: dict) -> dict:
        if i in self.steps and self._last is not None:
            self.captured.append({"step": i + 1, **self._last})
        self.final_latents = kwargs["latents"].detach()  # after the last step: what the final image decodes from
        return {}

    def decode(self, decode) -> list[dict]:
        """Decode all captured x_t and x̂0 in one batch; returns frames with uint8 HxWx3 images."""
        import torch

        if not self.captured:
            return []
        n = len(self.captured)
        latents = torch.cat([c["x_t"] for c in self.captured] + [c["x0"] for c in self.captured])
        images = decode(latents)
        return [
            {
                "step": c["step"],
                "timestep": int(round(float(c["timestep"]))),
                "alpha_bar": float(c["alpha_bar"]),
                "noisy": images[k],
                "clean": images[n + k],
            }
            for k, c in enumerate(self.captured)
        ]


def _noise_level(scheduler, timestep) -> tuple[float, float]:
    """(ᾱ_t of the current step, factor that brings the scheduler's sample to x_t = √ᾱ x0 + √(1−ᾱ) ε)."""
    import numpy as np

    sigmas, index = getattr(scheduler, "sigmas", None), getattr(scheduler, "step_index", None)
    if sigmas is not None and index is not None:  # sigma-parametrised (Euler): sample = x0 + σ ε
        sigma = float(sigmas[index])
        return 1.0 / (1.0 + sigma**2), 1.0 / math.sqrt(1.0 + sigma**2)
    alphas = scheduler.alphas_cumprod.float().cpu().numpy()
    return float(np.interp(float(timestep), np.arange(len(alphas)), alphas)), 1.0


def _predicted_clean(prediction_type: str, x_t, model_output, alpha_bar: float):
    """x̂0 from the model output, for schedulers without `pred_original_sample`."""
    a, s = math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar)
    if prediction_type == "epsilon":
        return (x_t - s * model_output) / a
    if prediction_type == "v_prediction":
        return a * x_t - s * model_output
    return model_output


def _decoder(pipe, shapes: bool):
    """latents (N, C, h, w) -> list of uint8 HxWx3 arrays, the way the pipeline itself decodes."""
    import torch

    def to_uint8(images):  # (N, 3, H, W) in [0, 1]
        array = images.permute(0, 2, 3, 1).float().nan_to_num(0.5).cpu().numpy()  # fp16 VAE overflow: grey
        return list((array * 255).round().astype("uint8"))

    if shapes:
        return lambda latents: to_uint8(pipe.vae_decode(latents))

    vae = pipe.vae

    @torch.no_grad()
    def decode(latents, chunk: int = 4):  # chunks only bound memory (16 frames x 2 at 512x512)
        latents = latents.to(vae.device, vae.dtype) / vae.config.scaling_factor
        shift = getattr(vae.config, "shift_factor", None)
        if shift:
            latents = latents + shift
        images = []
        for part in latents.split(chunk):
            images += to_uint8((vae.decode(part, return_dict=False)[0] / 2 + 0.5).clamp(0, 1))
        return images

    return decode


def _image_to_pixels(image):
    """PIL image -> (1, 3, H, W) in [-1, 1]: the shapes model's pixel space."""
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


def forward_process(alphas_cumprod, x0, seed: int, decode) -> list[dict]:
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε at FORWARD_TIMESTEPS, one fixed noise sample ε (seeded on the CPU)."""
    import torch

    x0 = x0.float().cpu()
    noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(seed))
    rows, noisy = [], []
    for t in forward_timesteps(len(alphas_cumprod)):
        alpha_bar = float(alphas_cumprod[t])
        signal, noise_level = math.sqrt(alpha_bar), math.sqrt(1.0 - alpha_bar)
        noisy.append(signal * x0 + noise_level * noise)
        rows.append({"timestep": t, "alpha_bar": alpha_bar, "signal": signal, "noise": noise_level})
    for row, image in zip(rows, decode(torch.cat(noisy))):
        row["image"] = image
    return rows


# ---- pictures ---------------------------------------------------------------------------------------


def _font(size: int):
    from PIL import ImageFont

    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(path), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


def _fitting_font(texts: list[str], width: int, size: int):
    """The largest font up to `size` in which every text fits `width` pixels."""
    while size > 8:
        font = _font(size)
        if all(font.getlength(t) <= width for t in texts):
            return font
        size -= 1
    return _font(8)


def _tile(array, size: int):
    """uint8 HxWx3 -> square PIL tile: nearest neighbour when enlarging pixels, Lanczos when shrinking."""
    from PIL import Image

    image = Image.fromarray(array)
    if image.width == size:
        return image
    resample = Image.Resampling.NEAREST if image.width < size else Image.Resampling.LANCZOS
    return image.resize((size, size), resample)


def labelled_width(columns: int, tile: int, row_label: int = 0) -> int:
    """Width of a picture made by `_labelled_rows`: margins, optional row labels, tiles and gaps."""
    return PAD + (row_label + PAD if row_label else 0) + columns * tile + (columns - 1) * GAP + PAD


def _labelled_rows(
    rows: list[tuple[str, list]],
    labels: list[str],
    tile: int,
    row_label: int = 0,
    footers: list[str] | None = None,
):
    """Rows of tiles (each row with a label at its left, `row_label` pixels wide) under one label per
    column, with an optional footer per column."""
    from PIL import Image, ImageDraw

    columns = len(labels)
    pad, gap = PAD, GAP
    label_font = _fitting_font(labels + (footers or []), tile, min(28, max(12, tile // 9)))
    row_font = _fitting_font([r for r, _ in rows], row_label, min(28, max(14, tile // 8))) if row_label else None
    left = pad + (row_label + pad if row_label else 0)
    header = label_font.size + 12
    footer = (label_font.size + 12) if footers else 0
    width = labelled_width(columns, tile, row_label)
    height = pad + header + len(rows) * tile + (len(rows) - 1) * gap + footer + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(labels):
        x = left + c * (tile + gap)
        draw.text((x + tile / 2, pad + header - 6), label, fill="#1f2937", font=label_font, anchor="ms")
        if footers:
            y = pad + header + len(rows) * tile + (len(rows) - 1) * gap + 8
            draw.text((x + tile / 2, y), footers[c], fill="#4b5563", font=label_font, anchor="mt")
    for r, (row_name, images) in enumerate(rows):
        y = pad + header + r * (tile + gap)
        if row_font:
            draw.text((pad, y + tile / 2), row_name, fill="#1f2937", font=row_font, anchor="lm")
        for c, array in enumerate(images):
            canvas.paste(_tile(array, tile), (left + c * (tile + gap), y))
    return canvas


def _step_label(frame: dict, steps: int) -> str:
    return f"step {frame['step']}/{steps} · t={frame['timestep']}"


def _save(image, path: Path) -> None:
    image.save(path, optimize=False)  # no timestamps in PNGs: same inputs, same bytes


def _write_files(out_dir: Path, image, frames: list[dict], forward: list[dict], shapes: bool, steps: int):
    import numpy as np
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    upscale = SHAPES_UPSCALE if shapes else 1
    native = np.asarray(image.convert("RGB"))
    full = native.shape[1] * upscale  # full-resolution side of every saved frame
    files = {"image": "demo.png", "strip": "strip.png", "forward": "forward.png", "grid": "grid.png"}

    demo = _tile(native, full)
    _save(demo, out_dir / files["image"])

    labels = [_step_label(f, steps) for f in frames]
    strip = _labelled_rows(
        [("x_t (noisy)", [f["noisy"] for f in frames]), ("x̂0 (predicted)", [f["clean"] for f in frames])],
        labels,
        STRIP_TILE,
        row_label=STRIP_ROW_LABEL,
    )
    _save(strip, out_dir / files["strip"])

    for k, frame in enumerate(frames):
        files[f"frame_{k}"] = f"frame_{k:02d}.png"
        _save(_tile(frame["clean"], full), out_dir / files[f"frame_{k}"])

    grid_rows = [frames[i : i + GRID_COLUMNS] for i in range(0, len(frames), GRID_COLUMNS)]
    grid_tile = min(full, 512)
    parts = [
        _labelled_rows([("", [f["clean"] for f in row])], [_step_label(f, steps) for f in row], grid_tile)
        for row in grid_rows
    ]
    grid = Image.new("RGB", (max(p.width for p in parts), sum(p.height for p in parts)), "white")
    y = 0
    for part in parts:
        grid.paste(part, (0, y))
        y += part.height
    _save(grid, out_dir / files["grid"])

    forward_image = _labelled_rows(
        [("", [f["image"] for f in forward])],
        [f"t={f['timestep']} · ᾱ={_short(f['alpha_bar'])}" for f in forward],
        STRIP_TILE,
        footers=[f"√ᾱ={f['signal']:.2f}  √(1−ᾱ)={f['noise']:.2f}" for f in forward],
    )
    _save(forward_image, out_dir / files["forward"])

    data = {
        "frames": [
            {"role": f"frame_{k}", "step": f["step"], "timestep": f["timestep"], "alpha_bar": _sig(f["alpha_bar"])}
            for k, f in enumerate(frames)
        ],
        "forward": [
            {k: (_sig(v) if isinstance(v, float) else v) for k, v in f.items() if k != "image"} for f in forward
        ],
        "image_size": [demo.width, demo.height],
    }
    return files, data


def _sig(value: float) -> float:
    """Six significant figures: ᾱ near t=1000 is ~1e-9 and must not round to 0."""
    return float(f"{value:.6g}")


def _short(value: float) -> str:
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"
