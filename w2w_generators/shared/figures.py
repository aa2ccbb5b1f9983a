"""Matplotlib for the generators' figures: one backend, one way to save, byte-identical reruns.

Both plots (embedding map, token probabilities) come through here, so neither generator imports the
other and the rules for reproducible files live in one place.

Themes (talk.yaml's `theme:`, w2w/talk/themes.py). The plots draw with the few "inks" below and nothing
else. The PNG keeps them as they are, on white paper: it reads anywhere (a README, a mail). The SVG,
which the deck and the handout inline (w2w/render/inline_svg.py), has no paper and says each ink as the
theme's CSS variable, with the PNG's colour as the fallback: `fill: var(--w2w-fg, #1b1b2f)`. So a
plot follows whichever theme the page shows, as the Mermaid diagrams do (w2w/render/diagrams.py), and the
theme stays out of the generators' inputs: switching talk.yaml to `dark` reruns neither SmolLM2 nor
MiniLM, leaves talk/frozen/ alone, and `w2w check` sees the other theme by setting one attribute.
"""

from __future__ import annotations

import re
from pathlib import Path


def _thinned(share: float) -> tuple[str, str]:
    """The text colour at `share` over the background: as a PNG colour and as a CSS value."""
    text, paper = (0x1B, 0x1B, 0x2F), (0xFC, 0xFC, 0xFF)
    png = "#" + "".join(f"{round(t * share + p * (1 - share)):02x}" for t, p in zip(text, paper, strict=True))
    return png, f"color-mix(in srgb, var(--w2w-fg, #1b1b2f) {round(share * 100)}%, var(--w2w-bg, #fcfcff))"


# ink name -> (the PNG's colour, the SVG's CSS value). The light palette's colours (themes.py), so
# the PNG looks like the light deck. The greys are the text colour thinned into the background: on
# the dark theme they turn into dark greys that the light text still reads on (5.5:1 at 35 %).
INKS = {
    "text": ("#1b1b2f", "var(--w2w-fg, #1b1b2f)"),
    "muted": ("#5f5f6d", "var(--w2w-muted, #5f5f6d)"),
    "accent": ("#7c3aed", "var(--w2w-accent, #7c3aed)"),
    "on_accent": ("#ffffff", "var(--w2w-on-accent, #ffffff)"),
    "rule": ("#dfdfe5", "var(--w2w-border, #dfdfe5)"),
    "paper": ("#fcfcff", "var(--w2w-bg, #fcfcff)"),  # edges that separate two filled shapes
    **{f"grey_{rank}": _thinned(share) for rank, share in enumerate((0.35, 0.27, 0.2, 0.14, 0.09))},
}
INK = {name: png for name, (png, _) in INKS.items()}  # what a generator draws with: INK["text"]
_SVG_VALUE = {png: svg for png, svg in INKS.values()}
_PAINT = re.compile(r"\b(fill|stroke): (#[0-9a-f]{6})\b")


def pyplot():
    """matplotlib.pyplot on the Agg backend, with SVG ids that do not change between runs.

    Without `svg.hashsalt`, matplotlib salts its clip-path ids with a random UUID, so two builds of
    the same inputs wrote different SVG bytes.
    """
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "w2w"
    # matplotlib's own black (spines, ticks, titles) as the text ink, so its SVG follows the theme too.
    for key in ("text.color", "axes.edgecolor", "axes.labelcolor", "xtick.color", "ytick.color"):
        matplotlib.rcParams[key] = INK["text"]
    matplotlib.rcParams["grid.color"] = INK["rule"]
    import matplotlib.pyplot as plt

    return plt


def mathtext_safe(text: str) -> str:
    """Text for a matplotlib label: an unescaped '$' would switch matplotlib into mathtext."""
    return text.replace("$", r"\$")


def save(fig, png: Path | None = None, svg: Path | None = None) -> None:
    """Save without timestamps or tool names: the same inputs give byte-identical files. The SVG
    without paper and with its inks as theme variables (the module says why)."""
    if png is not None:
        fig.savefig(png, metadata={"Software": None})
    if svg is not None:
        import io

        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", transparent=True, metadata={"Date": None, "Creator": None})
        svg.write_text(themed(buffer.getvalue()), encoding="utf-8")


def themed(svg: str) -> str:
    """Every ink of a matplotlib SVG as its theme variable; a colour that is no ink is a bug here."""

    def paint(match: re.Match) -> str:
        prop, colour = match.groups()
        if colour not in _SVG_VALUE:
            raise ValueError(f"the plot draws with {colour}, which is none of figures.INKS")
        return f"{prop}: {_SVG_VALUE[colour]}"

    return _PAINT.sub(paint, svg)
