"""Training recipe of the describer (`w2w train-describer`), nanoGPT-style: one loop, AdamW, warmup
then cosine decay, a checkpoint every `checkpoint_every` steps so a killed run resumes where it
stopped, and the training record (config, seconds, loss, held-out scores, machine) written beside
the weights.

Each batch is half fresh renders of the world's training captions and half the diffusion model's own
pictures of training captions (data.py's cache), so the describer reads the renderer's style too.
Diffusion pictures whose colours do not sit as their caption says (shapes' checker,
world.arrangement_holds) are left out of training: their caption would teach a wrong answer.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import random
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from w2w import plugin_api as host
from w2w_generators.describer import data
from w2w_generators.describer.model import Describer, DescriberConfig, batch_tokens, loss_on, to_input
from w2w_generators.shapes import world

WEIGHTS_DIR = Path(__file__).with_name("weights")
WEIGHTS_FILE = "describer.safetensors"


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    steps: int = 3000
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    diffusion_fraction: float = 0.5  # share of each batch taken from the diffusion model's pictures
    # The diffusion pictures join at this step: the first steps learn the world from renders while
    # the pictures are still being sampled (a fixed step, so a rerun sees the same batches).
    pool_from_step: int = 400
    checkpoint_every: int = 100
    torch_threads: int = 1  # the machine's other core belongs to the others' work
    model: DescriberConfig = field(default_factory=DescriberConfig)

    def hash(self) -> str:
        canonical = json.dumps({"config": asdict(self), "split": data.load_split()}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def diffusion_pool(config: TrainConfig) -> tuple[np.ndarray, list[str]]:
    """The cached diffusion pictures of training captions whose arrangement holds (sampled first
    where the cache lacks them)."""
    if config.diffusion_fraction == 0:
        return np.zeros((0, world.SIZE, world.SIZE, 3), np.uint8), []
    train = data.load_split()["train"]
    images, captions = [], []
    for seed in data.TRAIN_SEEDS:
        got = data.diffusion_pictures(None, train, seed, data.EVAL_SETTING)
        keep = [i for i, ok in enumerate(got["holds"]) if ok and not data.shares_noise_with_held_out(seed, i)]
        images.append(got["images"][keep])
        captions += [got["captions"][i] for i in keep]
    return np.concatenate(images), captions


class _Run:
    def __init__(self, config: TrainConfig):
        self.config = config
        self.scenes = world.training_scenes()
        self.pool_images, self.pool_captions = np.zeros((0, world.SIZE, world.SIZE, 3), np.uint8), []
        torch.manual_seed(config.seed)
        self.rng = random.Random(config.seed)
        self.model = Describer(config.model)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.step, self.losses, self.seconds = 0, [], 0.0

    def lr_at(self, step: int) -> float:
        c = self.config
        if step < c.warmup_steps:
            return c.learning_rate * (step + 1) / c.warmup_steps
        progress = (step - c.warmup_steps) / max(1, c.steps - c.warmup_steps)
        return c.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        c, rng = self.config, self.rng
        if self.step >= c.pool_from_step and not self.pool_captions:
            self.pool_images, self.pool_captions = diffusion_pool(c)
        n_pool = round(c.batch_size * c.diffusion_fraction) if self.pool_captions else 0
        scenes = [rng.choice(self.scenes) for _ in range(c.batch_size - n_pool)]
        picked = [rng.randrange(len(self.pool_captions)) for _ in range(n_pool)]
        images = [np.asarray(world.render(s, rng)) for s in scenes] + [self.pool_images[i] for i in picked]
        captions = [s.caption for s in scenes] + [self.pool_captions[i] for i in picked]
        return to_input(np.stack(images)), batch_tokens(captions)

    def train_step(self) -> float:
        pixels, tokens = self.batch()
        self.model.train()
        loss = loss_on(self.model, pixels, tokens)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.step += 1
        return loss.item()

    def save(self, path: Path) -> None:
        state = {
            "hash": self.config.hash(),
            "step": self.step,
            "losses": self.losses,
            "seconds": self.seconds,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.getstate(),
            "torch_rng": torch.get_rng_state(),
        }
        torch.save(state, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)

    def resume(self, path: Path) -> bool:
        if not path.is_file():
            return False
        state = torch.load(path, weights_only=False)  # our own checkpoint, written by save()
        if state["hash"] != self.config.hash():
            return False
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.step, self.losses, self.seconds = state["step"], state["losses"], state["seconds"]
        return True


def checkpoint_path(config: TrainConfig) -> Path:
    return data.cache_dir().parent / "checkpoints" / f"{config.hash()}.pt"


def train(
    config: TrainConfig,
    out_dir: Path = WEIGHTS_DIR,
    log: Callable[[str], None] = print,
    overwrite: bool = False,
    evaluate: Callable | None = None,
) -> dict:
    """Train (or resume) and write the weights and training.json into out_dir; `evaluate(model)`
    returns the held-out scores for the record (evaluation.held_out_scores)."""
    out_dir = Path(out_dir)
    if (out_dir / WEIGHTS_FILE).exists() and not overwrite:
        raise host.W2WError(f"{out_dir} already holds trained weights", "pass --overwrite, or --out DIR")
    torch.set_num_threads(config.torch_threads)
    run = _Run(config)
    ckpt = checkpoint_path(config)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    if run.resume(ckpt):
        log(f"resumed from {ckpt} at step {run.step}")
    log(f"config hash {config.hash()}")
    while run.step < config.steps:
        started = time.perf_counter()
        run.losses.append(run.train_step())
        run.seconds += time.perf_counter() - started
        if run.step % 50 == 0 or run.step == config.steps:
            recent = sum(run.losses[-50:]) / len(run.losses[-50:])
            log(f"step {run.step}/{config.steps}  loss {recent:.4f}  {run.seconds / run.step:.2f} s/step")
        if run.step % config.checkpoint_every == 0:
            run.save(ckpt)
    run.save(ckpt)
    record = _record(config, run)
    if evaluate is not None:
        record["held_out"] = evaluate(run.model)
    write(out_dir, run.model, record)
    return record


def _record(config: TrainConfig, run: _Run) -> dict:
    return {
        "config": asdict(config),
        "config_hash": config.hash(),
        "final_loss": sum(run.losses[-100:]) / len(run.losses[-100:]),
        "train_seconds": round(run.seconds, 1),
        "seconds_per_step": round(run.seconds / max(1, run.step), 3),
        "parameters": sum(p.numel() for p in run.model.parameters()),
        "diffusion_pictures_in_training": len(run.pool_captions),
        "loss_every_50": [round(sum(run.losses[i : i + 50]) / 50, 4) for i in range(0, len(run.losses) - 49, 50)],
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": config.torch_threads,
            "load_average_at_end": os.getloadavg(),
            "torch": torch.__version__,
        },
    }


def write(out_dir: Path, model: Describer, record: dict) -> None:
    """Weights (safetensors, float32) and training.json, swapped in whole (w2w.plugin_api.swap_in)."""
    from safetensors.torch import save_file

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir()
    try:
        tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(tensors, staging / WEIGHTS_FILE, metadata={"config": json.dumps(model.config.to_dict())})
        (staging / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        host.swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
