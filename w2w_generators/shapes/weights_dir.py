"""A trained model's weights directory: whether it already holds a model that training would
replace (checked by `w2w train-shapes` and `w2w train-sound` before they import torch: 15 s of
imports under load, for a refusal), and how a finished run is written into it. Imports no torch:
`write_weights` is handed the model objects."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from w2w import plugin_api as host
from w2w.plugin_api import W2WError


def holds_weights(out_dir: Path) -> bool:
    """Something is there that training would replace: a non-empty directory, or a file."""
    return out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))


def refuse_to_overwrite(out_dir: Path) -> None:
    raise W2WError(
        f"{out_dir} already holds trained weights",
        "pass --overwrite to replace them, or --out DIR to write elsewhere",
    )


def write_weights(out_dir: Path, unet, scheduler, record: dict, overwrite: bool, evaluate=None) -> None:
    """`unet/`, `scheduler/` and `training.json` into a temporary sibling of out_dir, then swapped in
    (plugin_api.swap_in): readers see the old complete model or the new one, never a half-written
    one. `evaluate(staged_dir)`, when given, scores the staged weights into record["scores"] first."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # mkdir, not mkdtemp: the directory keeps the umask's permissions (mkdtemp's are 0700).
    staging = out_dir.with_name(f".{out_dir.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir()
    try:
        unet.save_pretrained(staging / "unet", safe_serialization=True)
        scheduler.save_pretrained(staging / "scheduler")
        if evaluate is not None:
            record["scores"] = evaluate(staging)
        (staging / "training.json").write_text(json.dumps(record, indent=2) + "\n")
        if holds_weights(out_dir) and not overwrite:  # another run finished there while this one trained
            refuse_to_overwrite(out_dir)
        host.swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when the swap succeeded
