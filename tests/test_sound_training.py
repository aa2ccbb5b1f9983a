"""The sound model's recipe (w2w_generators/sound/training.py), run for real on a tiny
random-weight UNet (3 steps, 32 channels a block, 2 clips a caption) and the real all-MiniLM-L6-v2
encoder: it trains, writes weights and training.json, resumes from a checkpoint, and refuses to
overwrite. Training the shipped model stays out of the suite (`w2w train-sound`, ~55 min)."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from requires import import_or_require

from w2w_generators.sound import world as sound_world

pytestmark = pytest.mark.model

# The tiny random-weight UNet: 32 channels a block (divisible by norm_num_groups 16 and attention_head_dim 8).
TINY = dict(steps=3, batch_size=4, block_out_channels=(32, 32, 32), clips_per_caption=2, checkpoint_every=2)


@pytest.fixture(scope="module")
def training():
    torch = import_or_require("torch", "run make install")
    from w2w_generators.sound import training as sound_training

    threads = torch.get_num_threads()
    yield sound_training
    torch.set_num_threads(threads)


def test_tiny_run_writes_weights_and_record(training, encoder_path, tmp_path):
    import torch

    config = replace(training.TrainConfig(), **TINY, torch_threads=torch.get_num_threads())
    logs: list[str] = []
    record = training.train(config, encoder_path, tmp_path / "w", logs.append, evaluate=lambda d: {"held_out": "x"})
    written = json.loads((tmp_path / "w" / "training.json").read_text())
    assert written["config_hash"] == config.hash() == record["config_hash"]
    assert written["config"]["steps"] == 3 and written["training_captions"] == len(sound_world.training_sounds())
    assert written["held_out_captions"] == list(sound_world.HELD_OUT) and written["scores"] == {"held_out": "x"}
    assert len(written["loss_curve"]) == 1 and written["parameters"] > 0 and "torch thread" in written["machine"]
    unet = json.loads((tmp_path / "w" / "unet" / "config.json").read_text())
    assert unet["in_channels"] == unet["out_channels"] == 1 and unet["sample_size"] == 32
    assert any("step 3/3" in line for line in logs)
    with pytest.raises(Exception, match="already holds trained weights"):
        training.train(config, encoder_path, tmp_path / "w", logs.append)


def test_a_killed_run_resumes_from_its_checkpoint(training, encoder_path, tmp_path):
    """Two steps and a checkpoint (as a run killed after step 2 leaves it); train() then starts at step 3."""
    import torch

    from w2w_generators.diffusion.training import DenoisingRun, World, run_steps

    config = replace(training.TrainConfig(), **{**TINY, "steps": 4}, torch_threads=torch.get_num_threads())
    bank = training.clip_bank(config)
    captions = [s.caption for s in sound_world.training_sounds()]
    world = World(captions, lambda i, rng: bank[i][0], lambda: training.build_unet(config))
    torch.manual_seed(config.seed)
    run = DenoisingRun(config, world, training.build_scheduler(config), encoder_path, random.Random(config.seed))
    checkpoint = tmp_path / "run.pt"
    run_steps(run, 3, lambda line: None, checkpoint, checkpoint_every=2, config_hash=config.hash())
    assert checkpoint.is_file()  # saved after step 2, not after the last
    logs: list[str] = []
    training.train(config, encoder_path, tmp_path / "w", logs.append, checkpoint=checkpoint)
    assert any("resuming at step 3/4" in line for line in logs)
    assert not checkpoint.exists()  # a finished run removes its checkpoint
    assert len(json.loads((tmp_path / "w" / "training.json").read_text())["loss_curve"]) == 1
