"""Tests of the diffusion demo generator (w2w_generators/diffusion_demo/generator.py).

Two throwaway models keep these fast and offline:
- a TINY RANDOM-WEIGHTS Stable-Diffusion-shaped pipeline (UNet, VAE, CLIP text encoder and a CLIP
  tokenizer with a byte-level vocabulary), built from configs and saved to a temporary directory;
- a RANDOM-WEIGHTS shapes-world UNet with the shipped architecture (shapes_training.build_unet).
Neither draws anything meaningful; they exercise the plumbing. The quality bar (arrangement check)
runs against the shipped weights in w2w_generators/shapes/weights/shapes-diffusion when they exist.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_sd import image_side, make_tiny_sd

from w2w.plugin_api import ModelRef
from w2w_generators.diffusion import capture
from w2w_generators.diffusion_demo import figures
from w2w_generators.diffusion_demo import generator as dd
from w2w_generators.diffusion_demo.generator import DiffusionDemo, DiffusionInputs

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[1]
DATA_KEYS = {
    "model",
    "embedded",
    "prompt",
    "requested_prompt",
    "steps",
    "guidance_scale",
    "seed",
    "scheduler",
    "seconds_per_step",
    "seconds_per_image",
    "frames",
    "forward",
    "image_size",
    "forward_space",
    "live_request",
    "live_recording",  # the live slides' prefill and recording
}


# ---- throwaway models ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_random_sd_dir(tmp_path_factory) -> Path:
    """A tiny RANDOM-WEIGHTS Stable-Diffusion-shaped pipeline, saved like a hub snapshot (tiny_sd.py)."""
    return make_tiny_sd(tmp_path_factory.mktemp("tiny-random-sd"))


@pytest.fixture(scope="session")
def random_shapes_dir(tmp_path_factory) -> Path:
    """The shapes-world architecture with RANDOM weights (untrained), saved like the shipped model."""
    import torch

    from w2w_generators.shapes.training import TrainConfig, build_scheduler, build_unet

    out = tmp_path_factory.mktemp("random-shapes")
    torch.manual_seed(0)
    build_unet(TrainConfig()).save_pretrained(out / "unet", safe_serialization=True)
    build_scheduler(TrainConfig()).save_pretrained(out / "scheduler")
    return out


# One run of the random shapes model, shared by the three tests that read it (and compared with a
# second run for the seed): four runs of their own made this file 155 s instead of 72 s on the
# loaded 2-core machine (62 instead of 38 s of CPU).
SHAPES_RUN = dict(steps=4, strip_frames=3, seed=5)


@pytest.fixture(scope="module")
def shapes_run(random_shapes_dir, tmp_path_factory):
    return _run(random_shapes_dir, tmp_path_factory.mktemp("shapes-run"), embedded=True, **SHAPES_RUN)


def _run(model_dir: Path, out: Path, embedded: bool = False, **settings):
    """Run the generator on `model_dir`: as a local-dir model, or (embedded) as the shapes stand-in for
    the default SD id, the way resolve_model returns the shipped model."""
    generator = DiffusionDemo()
    if embedded:
        inputs = DiffusionInputs(**settings)
        model = dd.with_shapes_encoder(
            ModelRef("w2w/shapes-diffusion", "test", "shipped", str(model_dir), True, inputs.model), {}
        )
    else:
        inputs = DiffusionInputs(model=str(model_dir), **settings)
        model = generator.resolve_model(inputs, {})  # a local directory: resolved by path
    out.mkdir(parents=True, exist_ok=True)
    return generator.run(inputs, model, "cpu", out)


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


# ---- 1. one call, all the pictures (tiny random-weights SD) ----------------------------------------


def test_tiny_random_sd_pipeline_makes_every_file(tiny_random_sd_dir, tmp_path):
    artifact = _run(tiny_random_sd_dir, tmp_path / "a", steps=4, strip_frames=4, guidance_scale=7.5)

    assert artifact.provenance["source"] == "local-dir" and not artifact.data["embedded"]
    n = 4
    assert set(artifact.files) == {"image", "strip", "forward", "grid"} | {f"frame_{k}" for k in range(n)}
    for role in artifact.files:
        assert artifact.path(role).is_file(), role
    assert not any(p.is_dir() for p in tmp_path.joinpath("a").iterdir())

    data = artifact.data
    assert set(data) == DATA_KEYS
    assert data["prompt"] == data["requested_prompt"] == DiffusionInputs().prompt
    assert data["steps"] == 4 and data["scheduler"] == "ddim" and data["forward_space"] == "latent"
    assert data["seconds_per_image"] > 0 and data["seconds_per_step"] == pytest.approx(
        data["seconds_per_image"] / 4, abs=1e-3
    )

    # UNet sample x VAE factor = image_side() px; SD images are saved at native size.
    demo = Image.open(artifact.path("image"))
    assert list(demo.size) == data["image_size"] == [image_side(), image_side()]

    frames = data["frames"]
    assert [f["role"] for f in frames] == [f"frame_{k}" for k in range(n)]
    assert [f["step"] for f in frames] == [1, 2, 3, 4]
    timesteps = [f["timestep"] for f in frames]
    assert timesteps == sorted(timesteps, reverse=True) and len(set(timesteps)) == n

    # x̂0 frames went through the VAE (latents SAMPLE_SIZE, frames image_side()), and at the last DDIM step
    # (set_alpha_to_one) x̂0 is exactly the final latent, so its frame is the final image.
    for f in frames:
        assert Image.open(artifact.path(f["role"])).size == demo.size
    last = _pixels(artifact.path(frames[-1]["role"])).astype(int)
    assert np.abs(last - _pixels(artifact.path("image")).astype(int)).max() <= 1

    # Strip: two rows, one column per captured step.
    strip = Image.open(artifact.path("strip"))
    assert (
        strip.width
        == figures.PAD
        + figures.STRIP_ROW_LABEL
        + figures.PAD
        + n * figures.STRIP_TILE
        + (n - 1) * figures.GAP
        + figures.PAD
    )
    columns = (strip.width - 3 * figures.PAD - figures.STRIP_ROW_LABEL + figures.GAP) / (
        figures.STRIP_TILE + figures.GAP
    )
    assert columns == n
    assert 2 * figures.STRIP_TILE + figures.GAP < strip.height < 3 * figures.STRIP_TILE
    # ...and the pixels agree: along the middle of each row, n picture runs separated by white gaps.
    pixels = _pixels(artifact.path("strip"))
    left = 2 * figures.PAD + figures.STRIP_ROW_LABEL
    for y in (
        strip.height - figures.PAD - figures.STRIP_TILE // 2,
        strip.height - figures.PAD - figures.STRIP_TILE * 3 // 2 - figures.GAP,
    ):
        line = pixels[y, left:]
        white = (line == 255).all(axis=1)
        edges = np.flatnonzero(np.diff(white.astype(int)) == 1) + 1  # where a picture run ends
        assert len(edges) == n and not white[:1].any()

    forward = data["forward"]
    assert [f["timestep"] for f in forward] == [0, 100, 250, 500, 750, 999]
    assert Image.open(artifact.path("forward")).width == figures.labelled_width(len(forward), figures.STRIP_TILE)
    grid = Image.open(artifact.path("grid"))
    assert grid.width == figures.labelled_width(figures.GRID_COLUMNS, image_side()) and grid.height > image_side()

    provenance = artifact.provenance
    assert provenance["steps"] == 4 and provenance["seed"] == 0 and provenance["dtype"] == "float32"
    assert "stand_in_for" not in provenance
    json.loads(artifact.to_json())


@pytest.mark.parametrize("scheduler", ["ddpm", "euler"])
def test_other_schedulers_capture_frames(tiny_random_sd_dir, tmp_path, scheduler):
    artifact = _run(tiny_random_sd_dir, tmp_path, steps=5, strip_frames=3, scheduler=scheduler)
    frames = artifact.data["frames"]
    assert [f["step"] for f in frames] == [1, 3, 5]
    timesteps = [f["timestep"] for f in frames]
    assert timesteps == sorted(timesteps, reverse=True)
    alpha_bars = [f["alpha_bar"] for f in frames]
    assert alpha_bars == sorted(alpha_bars) and all(0 < a < 1 for a in alpha_bars)


def test_capture_steps_are_evenly_spaced_with_first_and_last():
    assert capture.capture_steps(50, 8) == [0, 7, 14, 21, 28, 35, 42, 49]
    assert capture.capture_steps(4, 8) == [0, 1, 2, 3]  # never more frames than steps
    assert capture.capture_steps(2, 2) == [0, 1]
    assert capture.forward_timesteps(1000) == [0, 100, 250, 500, 750, 999]


# ---- 2. same seed, same picture --------------------------------------------------------------------


def test_same_seed_same_image_tiny_random_sd(tiny_random_sd_dir, tmp_path):
    a = _run(tiny_random_sd_dir, tmp_path / "a", steps=3, strip_frames=2, seed=7)
    b = _run(tiny_random_sd_dir, tmp_path / "b", steps=3, strip_frames=2, seed=7)
    c = _run(tiny_random_sd_dir, tmp_path / "c", steps=3, strip_frames=2, seed=8)
    assert a.path("image").read_bytes() == b.path("image").read_bytes()
    assert a.path("strip").read_bytes() == b.path("strip").read_bytes()
    assert not np.array_equal(_pixels(a.path("image")), _pixels(c.path("image")))


def test_same_seed_same_image_shapes(random_shapes_dir, shapes_run, tmp_path):
    a, b = shapes_run, _run(random_shapes_dir, tmp_path / "b", embedded=True, **SHAPES_RUN)
    assert np.array_equal(_pixels(a.path("image")), _pixels(b.path("image")))
    assert a.path("image").read_bytes() == b.path("image").read_bytes()
    assert a.path("forward").read_bytes() == b.path("forward").read_bytes()


# ---- the offline shapes path --------------------------------------------------------------------------


def test_shapes_model_run(shapes_run):
    artifact = shapes_run
    data = artifact.data
    assert set(data) == DATA_KEYS | {"trained_on"}  # the stand-in says on the slide what it learnt from
    assert data["embedded"] and data["prompt"] == DiffusionInputs().embedded_prompt
    assert data["requested_prompt"] == DiffusionInputs().prompt
    assert data["guidance_scale"] == DiffusionInputs().embedded_guidance_scale
    assert data["forward_space"] == "pixel"
    assert data["image_size"] == [256, 256]  # 32x32 upscaled x8
    demo = _pixels(artifact.path("image"))
    assert np.array_equal(demo, np.kron(demo[::8, ::8], np.ones((8, 8, 1), dtype=np.uint8)))  # nearest
    for f in data["frames"]:
        assert Image.open(artifact.path(f["role"])).size == (256, 256)
    assert artifact.provenance["stand_in_for"] == DiffusionInputs().model
    assert artifact.provenance["embedded"] is True


def test_resolve_model_falls_back_to_shipped_shapes_model(random_shapes_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setattr(dd, "SHAPES_WEIGHTS_DIR", random_shapes_dir)
    model = DiffusionDemo().resolve_model(DiffusionInputs(), {})
    assert model.embedded and model.source == "shipped" and model.id == "w2w/shapes-diffusion"
    assert model.full_model_id == DiffusionInputs().model and model.path == str(random_shapes_dir)
    assert model.revision.startswith("sha256:") and "+sha256:" in model.revision  # weights + MiniLM
    assert Path(model.encoder, "model.safetensors").is_file()


def test_missing_model_error_says_how_to_get_one(tmp_path, monkeypatch):
    from w2w.errors import W2WError

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setattr(dd, "SHAPES_WEIGHTS_DIR", tmp_path / "no-weights")
    with pytest.raises(W2WError) as error:
        DiffusionDemo().resolve_model(DiffusionInputs(), {})
    assert "w2w train-shapes" in error.value.fix and "w2w models pull" in error.value.fix


def test_module_and_resolution_import_no_ml_library():
    code = (
        "import sys; from w2w_generators.diffusion_demo.generator import DiffusionDemo, DiffusionInputs\n"
        "try:\n    DiffusionDemo().resolve_model(DiffusionInputs(), {})\nexcept Exception:\n    pass\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_seed_is_bounded_to_what_torch_takes(tiny_random_sd_dir, tmp_path):
    from pydantic import ValidationError

    for bad in (-1, 2**63):
        with pytest.raises(ValidationError, match="seed"):
            DiffusionInputs(seed=bad)
    # The largest seed the inputs accept runs end to end (torch seeds both its global and CPU generators).
    artifact = _run(tiny_random_sd_dir, tmp_path, steps=2, strip_frames=2, seed=2**63 - 1)
    assert artifact.data["seed"] == 2**63 - 1


@pytest.mark.parametrize("layout", ["empty", "broken-shapes"])
def test_unloadable_weights_are_a_user_error(tmp_path, layout):
    """An empty directory (no model_index.json) or a shapes directory whose UNet config is not JSON:
    the user can fix either, so it is a W2WError naming the model and directory, not a traceback."""
    from w2w.errors import W2WError

    weights = tmp_path / "weights"
    weights.mkdir()
    if layout == "broken-shapes":
        (weights / "unet").mkdir()
        (weights / "unet" / "config.json").write_text("{not json")
        (weights / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
        (weights / "scheduler").mkdir()
        (weights / "scheduler" / "scheduler_config.json").write_text("{}")
        assert dd.is_shapes_model(weights)
    model = ModelRef("someone/some-model", "test", "local-dir", str(weights))
    with pytest.raises(W2WError, match="could not load someone/some-model from") as error:
        DiffusionDemo().run(DiffusionInputs(steps=2, strip_frames=2), model, "cpu", tmp_path / "out")
    assert str(weights) in error.value.what and "w2w models pull" in error.value.fix
    assert isinstance(error.value.__cause__, (OSError, ValueError))


# ---- 3. the shipped model draws what it is told -----------------------------------------------------


# ---- 4. the forward process is the textbook formula ------------------------------------------------


def test_forward_process_is_exact(random_shapes_dir, shapes_run):
    import torch
    from diffusers import DDIMScheduler

    artifact = shapes_run
    assert artifact.data["seed"] == SHAPES_RUN["seed"] == 5
    alphas = DDIMScheduler.from_pretrained(random_shapes_dir / "scheduler").alphas_cumprod
    for row in artifact.data["forward"]:
        t = row["timestep"]
        assert row["alpha_bar"] == pytest.approx(float(alphas[t]), rel=1e-5, abs=1e-12)
        assert row["signal"] == pytest.approx(float(alphas[t]) ** 0.5, rel=1e-5, abs=1e-9)
        assert row["noise"] == pytest.approx(float(1 - alphas[t]) ** 0.5, rel=1e-5, abs=1e-9)
    for frame in artifact.data["frames"]:
        assert frame["alpha_bar"] == pytest.approx(float(alphas[frame["timestep"]]), rel=1e-5)

    # Recompute x_t = √ᾱ x0 + √(1−ᾱ) ε from the saved demo image, with the same seeded ε.
    image = Image.open(artifact.path("image")).resize((32, 32), Image.Resampling.NEAREST)
    x0 = capture.image_to_pixels(image)
    decode = lambda x: list(((x / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).round().astype("uint8"))  # noqa: E731
    rows = capture.forward_process(alphas, x0, 5, decode)
    noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(5))
    for row in rows:
        a = float(alphas[row["timestep"]])
        expected = decode(a**0.5 * x0 + (1 - a) ** 0.5 * noise)[0].astype(int)
        assert np.abs(row["image"].astype(int) - expected).max() <= 1
    # t = 0: the forward frame is the image itself, within quantisation.
    assert rows[0]["timestep"] == 0
    assert np.abs(rows[0]["image"].astype(int) - np.asarray(image).astype(int)).max() <= 4
