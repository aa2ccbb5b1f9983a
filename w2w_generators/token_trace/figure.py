"""The token trace's figure: one stacked bar per generated token, the chosen token's probability in
the accent colour, the other top-k candidates in greys above it (written inside their segments while
they fit)."""

from __future__ import annotations

from pathlib import Path

from w2w_generators.shared.figures import INK, mathtext_safe, pyplot, save

_WHITESPACE = str.maketrans({" ": "·", "\n": "⏎", "\t": "⇥"})
_GREYS = [f"grey_{rank}" for rank in range(5)]  # figures.INK: the SVG follows the theme


def visible_whitespace(token: str) -> str:
    """Make a token's whitespace visible: space -> '·', newline -> '⏎', tab -> '⇥' (no HTML escaping)."""
    return token.translate(_WHITESPACE)


def plot(data: dict, png: Path, svg: Path) -> None:
    """Stacked bars: the chosen token's probability in colour, the other top-k candidates in grey."""
    from matplotlib.patches import Patch

    plt = pyplot()
    steps = data["steps"]
    n = len(steps)
    fig, ax = plt.subplots(figsize=(max(8.0, min(12.0, 0.4 * n + 3)), 5.2), dpi=150)
    label_room = n <= 24  # write candidate tokens inside their segments only while they fit
    for x, step in enumerate(steps):
        _bar(ax, x, step, label_room)
    _axes(ax, steps, data)
    legend = [
        Patch(color=INK["accent"], label="chosen token"),
        Patch(color=INK[_GREYS[0]], label="other top-k candidates"),
    ]
    ax.legend(handles=legend, loc="upper right", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout()
    save(fig, png, svg)
    plt.close(fig)


def _label(token: str) -> str:
    # An empty piece is a byte held for the next step.
    return mathtext_safe(visible_whitespace(token)) or "…"


def _bar(ax, x: int, step: dict, label_room: bool) -> None:
    """One step's column: the chosen token at the bottom, then the other candidates by rank."""
    ax.bar(x, step["prob"], color=INK["accent"], width=0.72, zorder=3)
    if step["prob"] > 0.06:
        text = f"{step['prob']:.0%}"
        ax.text(x, step["prob"] / 2, text, ha="center", va="center", color=INK["on_accent"], fontsize=8, zorder=4)
    bottom = step["prob"]
    others = [alt for alt in step["top"] if alt["token_id"] != step["token_id"]]
    for rank, alt in enumerate(others):
        grey = INK[_GREYS[min(rank, len(_GREYS) - 1)]]
        ax.bar(x, alt["prob"], bottom=bottom, color=grey, width=0.72, edgecolor=INK["paper"], linewidth=0.6, zorder=3)
        if label_room and alt["prob"] > 0.05:
            y = bottom + alt["prob"] / 2
            ax.text(x, y, _label(alt["token"]), ha="center", va="center", fontsize=7, color=INK["text"], zorder=4)
        bottom += alt["prob"]


def _axes(ax, steps: list[dict], data: dict) -> None:
    """Tick labels (the chosen tokens, tilted when long), the scale, the title."""
    n = len(steps)
    labels = [_label(step["token"]) for step in steps]
    upright = n <= 12 and max(map(len, labels), default=0) <= 9  # else tilt, so long tokens do not collide
    ax.set_xticks(
        range(n),
        labels,
        fontsize=10 if n <= 24 else 8,
        rotation=0 if upright else 45,
        ha="center" if upright else "right",
    )
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, 1.12)  # the band above 1 holds the legend
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_ylabel("probability (raw logits, temperature 1)")
    ax.set_xlabel("chosen token at each step")
    how = "greedy" if data["sampling"] == "greedy" else f"sampled at T={data['temperature']}"
    name = mathtext_safe(data["model"].split("/")[-1])  # a local directory's name may hold a '$'
    ax.set_title(f"Next-token probabilities, {name} ({how}, top {data['top_k']})", fontsize=12)
    ax.grid(True, axis="y", color=INK["rule"], zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
