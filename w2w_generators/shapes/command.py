"""`w2w train-shapes`: the shapes model's own command. The CLI registers the commands that
the `w2w.commands` entry points list (it names no generator); this module imports nothing heavy, so
`w2w --help` stays light: torch arrives with the recipe, when the command runs."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger("w2w.train-shapes")


def train_shapes(
    steps: int = typer.Option(4000, help="Training steps (the shipped weights used the default)."),
    out: Path = typer.Option(None, help="Output directory (default: the shipped weights' directory)."),
    overwrite: bool = typer.Option(False, help="Replace weights already in the output directory."),
) -> None:
    """Retrain the embedded shapes-world diffusion model from its recipe (w2w_generators/shapes/training.py)."""
    from dataclasses import replace

    from w2w_generators.shapes.weights_dir import holds_weights, refuse_to_overwrite
    from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS

    if holds_weights(out or SHAPES_WEIGHTS) and not overwrite:  # before torch, before a word about training
        refuse_to_overwrite(out or SHAPES_WEIGHTS)
    from w2w_generators.shapes.training import TrainConfig, train  # torch, diffusers: seconds of imports
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    config = replace(TrainConfig(), steps=steps)
    encoder = resolve_minilm(MINILM_ID, {})
    log.info("training the shapes model, config hash %s", config.hash())
    record = train(config, encoder.path, out or SHAPES_WEIGHTS, log=log.info, overwrite=overwrite)
    log.info("done: loss %.4f, %.0f s", record["final_loss"], record["train_seconds"])
