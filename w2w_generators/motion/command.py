"""`w2w train-motion`: the motion model's own command (a `w2w.commands` entry point). It imports
nothing heavy, so `w2w --help` stays light: torch arrives with the recipe, when the command runs."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger("w2w.train-motion")


def train_motion(
    steps: int = typer.Option(5000, help="Training steps (the shipped weights used the default)."),
    out: Path = typer.Option(None, help="Output directory (default: the shipped weights' directory)."),
    overwrite: bool = typer.Option(False, help="Replace weights already in the output directory."),
    seeds: int = typer.Option(8, help="Seeds per held-out caption for the record's scores."),
) -> None:
    """Retrain the motion-world text-to-video model from its recipe (w2w_generators/motion/training.py).

    A killed run resumes from its last checkpoint (every 250 steps, under W2W_HOME). At the end the
    tracker scores the model's clips of the held-out captions and a sample of the training ones
    (training.json)."""
    from w2w.plugin_api import W2WError
    from w2w_generators.shapes.weights_dir import holds_weights, refuse_to_overwrite
    from w2w_generators.shared.model_resolution import MOTION_WEIGHTS

    target = out or MOTION_WEIGHTS
    if holds_weights(target) and not overwrite:  # before torch, before a word about training
        refuse_to_overwrite(target)
    if steps < 1 or seeds < 1:
        raise W2WError(f"--steps {steps} --seeds {seeds}: both must be 1 or more", "pass e.g. --steps 5000 --seeds 8")
    from dataclasses import replace

    from w2w_generators.motion.evaluation import evaluator
    from w2w_generators.motion.training import TrainConfig, checkpoint_path, train  # torch: seconds of imports
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    config = replace(TrainConfig(), steps=steps)
    encoder = resolve_minilm(MINILM_ID, {})
    log.info("training the motion model, config hash %s", config.hash())
    record = train(
        config,
        encoder.path,
        target,
        log=log.info,
        overwrite=overwrite,
        checkpoint=checkpoint_path(config),
        evaluate=evaluator(encoder.path, range(seeds)),
    )
    held = record["scores"]["held_out"]
    log.info(
        "done: loss %.4f, %.0f s; held-out %d of %d clips move as captioned",
        record["final_loss"],
        record["train_seconds"],
        held["right"],
        held["clips"],
    )
