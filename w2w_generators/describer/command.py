"""`w2w train-describer`: the describer's own command (a `w2w.commands` entry point). Imports
nothing heavy, so `w2w --help` stays light: torch arrives with the recipe, when the command runs."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger("w2w.train-describer")


def train_describer(
    steps: int = typer.Option(3000, help="Training steps (the shipped weights used the default)."),
    out: Path = typer.Option(None, help="Output directory (default: the shipped weights' directory)."),
    overwrite: bool = typer.Option(False, help="Replace weights already in the output directory."),
) -> None:
    """Retrain the describer (pixels -> caption) from its recipe (w2w_generators/describer/training.py).

    It first samples the shapes diffusion model's pictures it trains and is scored on (cached under
    the w2w cache, ~15 min on 2 cores), then trains, resuming from its last checkpoint if killed."""
    from w2w.plugin_api import W2WError

    target = out or Path(__file__).with_name("weights")
    if (target / "describer.safetensors").exists() and not overwrite:  # before torch is imported
        raise W2WError(f"{target} already holds trained weights", "pass --overwrite to replace them, or --out DIR")
    if steps < 1:
        raise W2WError(f"--steps {steps} is not a step count", "pass --steps 1 or more")
    from dataclasses import replace

    from w2w_generators.describer import data
    from w2w_generators.describer.evaluation import held_out_scores
    from w2w_generators.describer.training import TrainConfig, train

    data.sample_all()
    config = replace(TrainConfig(), steps=steps)
    log.info("training the describer, config hash %s", config.hash())
    record = train(config, target, log=log.info, overwrite=overwrite, evaluate=held_out_scores)
    log.info(
        "done: loss %.4f, %.0f s; held-out renders %.1f%% exact",
        record["final_loss"],
        record["train_seconds"],
        100 * record["held_out"]["renders"]["exact"],
    )
