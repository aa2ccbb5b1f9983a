"""Matplotlib for the generators' figures: one backend, one way to save, byte-identical reruns.

Both plots (embedding map, token probabilities) come through here, so neither generator imports the
other and the rules for reproducible files live in one place.

Themes (talk.yaml's `theme:`, w2w/themes.py): the plots are theme-neutral, drawn on their own white
paper with dark text, so they read the same on a light or a dark slide, and axe cannot judge the
contrast of text inside a picture anyway. Following the theme instead would put its colours into
the generators' inputs and cache keys: switching to the dark theme would then rerun SmolLM2 (the
probability plot is drawn in the same run as the trace) and MiniLM and change talk/frozen/, and
`w2w check` could not look at the other theme without building the talk again. The deck's
diagrams, which are inline SVG, do follow the theme through CSS variables (w2w/diagrams.py).
"""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the Agg backend, with SVG ids that do not change between runs.

    Without `svg.hashsalt`, matplotlib salts its clip-path ids with a random UUID, so two builds of
    the same inputs wrote different SVG bytes.
    """
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "w2w"
    import matplotlib.pyplot as plt

    return plt


def mathtext_safe(text: str) -> str:
    """Text for a matplotlib label: an unescaped '$' would switch matplotlib into mathtext."""
    return text.replace("$", r"\$")


def save(fig, png: Path | None = None, svg: Path | None = None) -> None:
    """Save without timestamps or tool names: the same inputs give byte-identical files."""
    if png is not None:
        fig.savefig(png, metadata={"Software": None})
    if svg is not None:
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
