"""The describer's build figure: pictures it never saw the captions of, each with what it wrote.

Top row: one render of each held-out caption; bottom row: the diffusion model's picture of the same
caption (drawn at build time with the seed the talk gives). Under each picture the describer's
caption, green where it is the caption asked for, and the lowest token probability.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from w2w_generators.describer import data
from w2w_generators.describer.live import png_url
from w2w_generators.shapes import world
from w2w_generators.shared.figures import INK, pyplot, save

RIGHT, WRONG = "#15803d", "#b91c1c"


def examples(inputs, encoder_path: str) -> list[dict]:
    """The figure's 16 pictures: 8 held-out renders and the diffusion model's 8 of the same captions.
    The diffusion pictures are those of data.diffusion_pictures at the same seed (seed * 1000)."""
    from w2w_generators.shapes.pipeline import ShapesDiffusionPipeline
    from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS

    held = data.load_split()["held_out"]
    renders, captions = data.held_out_renders()
    step = data.load_split()["held_out_renders_per_caption"]
    pipe = ShapesDiffusionPipeline.from_dirs(SHAPES_WEIGHTS, encoder_path)
    drawn = data.draw(pipe, held, inputs.seed * 1000, data.Setting(inputs.steps, inputs.guidance_scale))
    cases = [
        {"kind": "render", "asked": c, "pixels": p} for c, p in zip(captions[::step], renders[::step], strict=True)
    ]
    cases += [{"kind": "diffusion", "asked": c, "pixels": p} for c, p in zip(held, drawn, strict=True)]
    for case in cases:
        case["image"] = png_url(case["pixels"])
        case["checker"] = bool(world.arrangement_holds(case["pixels"], world.parse_caption(case["asked"])))
    return cases


def published_line(published: dict) -> str:
    """The held-out figures of training.json in one line for the figure's foot."""
    renders = published["renders"]
    parts = [f"held-out renders {renders['right']}/{renders['total']} exact"]
    for name, score in published.items():
        if name.startswith("diffusion_"):
            right = round(score["exact"] * score["total"])
            parts.append(f"diffusion pictures ({score['setting']}) {right}/{score['total']}")
    seeds = len(published.get("diffusion_ddim20-g4", {}).get("seeds", []))
    return "; ".join(parts) + f" ({seeds} seeds; captions neither model trained on)"


def plot(cases: list[dict], published: dict, png: Path) -> None:
    """Two rows of pictures with their captions (a row per kind), the published figures below."""
    import numpy as np

    plt = pyplot()
    columns = len(cases) // 2
    fig, axes = plt.subplots(2, columns, figsize=(1.7 * columns, 5.2), dpi=100)
    for ax, case in zip(axes.flat, cases, strict=True):
        pixels = np.asarray(_pixels(case["image"]))
        ax.imshow(pixels, interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        lowest = min(t["p"] for t in case["tokens"])
        text = "\n".join(textwrap.wrap(case["said"], 18)) + f"\nmin p {lowest:.2f}"
        ax.set_xlabel(text, fontsize=7, color=RIGHT if case["exact"] else WRONG)
    axes[0, 0].set_ylabel("render", color=INK["text"])
    axes[1, 0].set_ylabel("diffusion", color=INK["text"])
    fig.suptitle("The describer reads pictures of captions it never saw", color=INK["text"])
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.text(0.5, 0.015, published_line(published), ha="center", fontsize=8, color=INK["muted"])
    save(fig, png=png)
    plt.close(fig)


def _pixels(url: str):
    from w2w_generators.describer.live import pixels_of

    return pixels_of(url)
