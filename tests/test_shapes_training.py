"""The shapes-world training recipe (w2w_generators/shapes/training.py), trained for real with a tiny
config (3 steps, a narrow UNet) on the real all-MiniLM-L6-v2 encoder: same config, same software,
same weights, bit for bit. Its data and what it refuses before it trains: test_shapes_world.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from requires import import_or_require

from w2w_generators.shapes import world as shapes_world

pytestmark = pytest.mark.model

# 32 channels per block: divisible by norm_num_groups (16) and by attention_head_dim (8).
TINY = dict(steps=3, batch_size=4, block_out_channels=(32, 32, 32))


@pytest.fixture(scope="module")
def training():
    """The training module with torch's thread count restored afterwards (train() sets it)."""
    torch = import_or_require("torch", "run make install")
    from w2w_generators.shapes import training as shapes_training

    threads = torch.get_num_threads()
    yield shapes_training
    torch.set_num_threads(threads)


def _tensors(weights: Path) -> dict:
    from safetensors.torch import load_file

    files = sorted(weights.rglob("*.safetensors"))
    assert files, f"no safetensors under {weights}"
    return {f"{f.relative_to(weights)}:{name}": t for f in files for name, t in load_file(f).items()}


def test_retraining_reproduces_the_weights(training, encoder_path, tmp_path):
    import torch

    # On the threads this process has (one under xdist, conftest.py): the recipe's two, beside the
    # other worker on 2 cores, wait at every barrier for a parked peer (4x slower per step, conftest.py).
    config = replace(training.TrainConfig(), **TINY, torch_threads=torch.get_num_threads())
    logs: list[str] = []
    stale = tmp_path / "b"
    stale.mkdir()
    (stale / "stale.txt").write_text("from an older run")
    first = training.train(config, encoder_path, tmp_path / "a", logs.append)
    second = training.train(config, encoder_path, stale, logs.append, overwrite=True)

    a, b = _tensors(tmp_path / "a"), _tensors(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) > 10
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        assert a[key].numpy().tobytes() == b[key].numpy().tobytes(), key  # bitwise, NaNs included
    assert first["final_loss"] == second["final_loss"]
    for name in ("a", "b"):
        record = json.loads((tmp_path / name / "training.json").read_text())
        assert record["config_hash"] == config.hash()
        assert record["config"]["steps"] == 3 and record["training_captions"] == len(shapes_world.training_scenes())
        assert (tmp_path / name / "scheduler" / "scheduler_config.json").is_file()
    assert any("step 3/3" in line for line in logs)
    # overwrite=True swapped the whole directory: the old content is gone, no staging dir is left.
    assert not (stale / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]

    # The comparison can fail: training moved the weights away from the seeded initialisation.
    torch.manual_seed(config.seed)
    initial = training.build_unet(config).state_dict()
    moved = [key for key in a if not torch.equal(a[key], initial[key.split(":", 1)[1]])]
    assert len(moved) > len(a) // 2


def test_a_run_stopped_at_its_checkpoint_goes_on_to_the_same_weights(training, encoder_path, tmp_path):
    """The shared recipe (w2w_generators/diffusion/training.py) on another world's shape: a TINY
    RANDOM 1-channel UNet learning the sound world's spectrograms. Four steps in one go, and two
    steps, a checkpoint, a new run that resumes: the same weights and losses, bit for bit."""
    import random

    import torch
    from diffusers import UNet2DConditionModel

    from w2w_generators.diffusion.training import DenoisingRun, World, run_steps
    from w2w_generators.sound.spectrogram import to_spectrogram
    from w2w_generators.sound.world import synthesise, training_sounds

    sounds = training_sounds()[:6]
    config = replace(training.TrainConfig(), steps=4, batch_size=2, warmup_steps=1)

    def tiny_unet():  # random weights, seeded: the same start for every run
        torch.manual_seed(0)
        return UNet2DConditionModel(
            sample_size=32,
            in_channels=1,
            out_channels=1,
            block_out_channels=(16, 16),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=384,
            attention_head_dim=8,
            norm_num_groups=8,
        )

    world = World(
        [s.caption for s in sounds], lambda i, rng: to_spectrogram(synthesise(sounds[i], rng))[None], tiny_unet
    )

    def fresh_run() -> DenoisingRun:
        torch.manual_seed(config.seed)
        return DenoisingRun(config, world, training.build_scheduler(config), encoder_path, random.Random(0))

    whole = fresh_run()
    run_steps(whole, 4, lambda line: None)
    checkpoint = tmp_path / "run.pt"
    first = fresh_run()
    run_steps(first, 2, lambda line: None)
    first.save(checkpoint, 1, "tiny")
    resumed = fresh_run()
    logs: list[str] = []
    run_steps(resumed, 4, logs.append, checkpoint, config_hash="tiny")
    assert any("resuming at step 3/4" in line for line in logs)
    assert resumed.losses == whole.losses and len(whole.losses) == 4
    for key, value in whole.ema.state_dict().items():
        assert torch.equal(value, resumed.ema.state_dict()[key]), key
    assert fresh_run().resume(checkpoint, "another config") == 0  # another config's checkpoint is not read
