"""`w2w train-planner`: the planner's own command (registered as a `w2w.commands` entry point).
It imports nothing heavy: torch arrives with the recipe, when the command runs."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger("w2w.train-planner")


def train_planner(
    steps: int = typer.Option(1000, help="Training steps (the shipped adapter's record names its own)."),
    examples: int = typer.Option(3000, help="Generated request -> plan pairs to train on."),
    out: Path = typer.Option(None, help="Output directory (default: the shipped adapter's directory)."),
    overwrite: bool = typer.Option(False, help="Replace an adapter already in the output directory."),
) -> None:
    """Retrain the planner's LoRA adapter on SmolLM2 (w2w_generators/planner/training.py), then score it
    on the held-out split (planner/heldout.json) and record both in training.json beside it."""
    import json
    from dataclasses import replace

    from w2w.plugin_api import W2WError
    from w2w_generators.planner.live import ADAPTER_FILE, RECORD_FILE, WEIGHTS_DIR

    target = out or WEIGHTS_DIR
    if (target / ADAPTER_FILE).is_file() and not overwrite:
        raise W2WError(
            f"{target / ADAPTER_FILE} already holds a trained adapter",
            "pass --overwrite to replace it, or --out DIR to train into another directory",
        )
    from w2w_generators.planner.training import PlannerConfig, evaluate, train
    from w2w_generators.shared.lm_loading import load_model
    from w2w_generators.shared.smollm2 import SMOLLM2_ID, resolve_smollm2

    config = replace(PlannerConfig(), steps=steps, examples=examples)
    lm, tokenizer, _ = load_model(resolve_smollm2(SMOLLM2_ID, {}, purpose="the planner"), "cpu")
    log.info("training the planner, config hash %s", config.hash())
    record = train(config, lm, tokenizer, target, log=log.info)
    record["held_out"] = evaluate(lm, tokenizer, log=log.info)
    (target / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")
    (target / "checkpoint.pt").unlink(missing_ok=True)
    log.info(
        "done: loss %.4f, %.0f s, held-out %s %%",
        record["final_loss"],
        record["train_seconds"],
        record["held_out"]["percent"],
    )
