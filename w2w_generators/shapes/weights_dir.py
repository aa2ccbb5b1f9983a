"""Whether a weights directory already holds a model that training would replace: checked by
`w2w train-shapes` before it imports torch (15 s of imports under load, for a refusal), and again
by the recipe when it swaps its result in."""

from __future__ import annotations

from pathlib import Path

from w2w.plugin_api import W2WError


def holds_weights(out_dir: Path) -> bool:
    """Something is there that training would replace: a non-empty directory, or a file."""
    return out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))


def refuse_to_overwrite(out_dir: Path) -> None:
    raise W2WError(
        f"{out_dir} already holds trained weights",
        "pass --overwrite to replace them, or --out DIR to write elsewhere",
    )
