"""The diffusion demo's pictures: the final image, the x_t/x̂0 strip, frames, grid, forward strip.

Plain PIL drawing from uint8 arrays; every file is written without timestamps, so the same
generation gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

SHAPES_UPSCALE = 8  # 32x32 -> 256x256, nearest neighbour: crisp pixels on a slide
STRIP_TILE = 192  # pixels per strip cell
STRIP_ROW_LABEL = 150  # width of the strip's row labels ("x_t", "x̂0")
PAD, GAP = 16, 8  # picture margin, space between tiles
GRID_COLUMNS = 4


def _font(size: int):
    from PIL import ImageFont

    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(path), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


def _fitting_font(texts: list[str], width: int, size: int):
    """The largest font up to `size` in which every text fits `width` pixels."""
    while size > 8:
        font = _font(size)
        if all(font.getlength(t) <= width for t in texts):
            return font
        size -= 1
    return _font(8)


def _tile(array, size: int):
    """uint8 HxWx3 -> square PIL tile: nearest neighbour when enlarging pixels, Lanczos when shrinking."""
    from PIL import Image

    image = Image.fromarray(array)
    if image.width == size:
        return image
    resample = Image.Resampling.NEAREST if image.width < size else Image.Resampling.LANCZOS
    return image.resize((size, size), resample)


def labelled_width(columns: int, tile: int, row_label: int = 0) -> int:
    """Width of a picture made by `_labelled_rows`: margins, optional row labels, tiles and gaps."""
    return PAD + (row_label + PAD if row_label else 0) + columns * tile + (columns - 1) * GAP + PAD


def _labelled_rows(
    rows: list[tuple[str, list]],
    labels: list[str],
    tile: int,
    row_label: int = 0,
    footers: list[str] | None = None,
):
    """Rows of tiles (each row with a label at its left, `row_label` pixels wide) under one label per
    column, with an optional footer per column."""
    from PIL import Image, ImageDraw

    columns = len(labels)
    pad, gap = PAD, GAP
    label_font = _fitting_font(labels + (footers or []), tile, min(28, max(12, tile // 9)))
    row_font = _fitting_font([r for r, _ in rows], row_label, min(28, max(14, tile // 8))) if row_label else None
    left = pad + (row_label + pad if row_label else 0)
    header = label_font.size + 12
    footer = (label_font.size + 12) if footers else 0
    width = labelled_width(columns, tile, row_label)
    height = pad + header + len(rows) * tile + (len(rows) - 1) * gap + footer + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(labels):
        x = left + c * (tile + gap)
        draw.text((x + tile / 2, pad + header - 6), label, fill="#1f2937", font=label_font, anchor="ms")
        if footers:
            y = pad + header + len(rows) * tile + (len(rows) - 1) * gap + 8
            draw.text((x + tile / 2, y), footers[c], fill="#4b5563", font=label_font, anchor="mt")
    for r, (row_name, images) in enumerate(rows):
        y = pad + header + r * (tile + gap)
        if row_font:
            draw.text((pad, y + tile / 2), row_name, fill="#1f2937", font=row_font, anchor="lm")
        for c, array in enumerate(images):
            canvas.paste(_tile(array, tile), (left + c * (tile + gap), y))
    return canvas


def _step_label(frame: dict, steps: int) -> str:
    return f"step {frame['step']}/{steps} · t={frame['timestep']}"


def _save(image, path: Path) -> None:
    image.save(path, optimize=False)  # no timestamps in PNGs: same inputs, same bytes


def write_files(out_dir: Path, image, frames: list[dict], forward: list[dict], shapes: bool, steps: int):
    import numpy as np
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    upscale = SHAPES_UPSCALE if shapes else 1
    native = np.asarray(image.convert("RGB"))
    full = native.shape[1] * upscale  # full-resolution side of every saved frame
    files = {"image": "demo.png", "strip": "strip.png", "forward": "forward.png", "grid": "grid.png"}

    demo = _tile(native, full)
    _save(demo, out_dir / files["image"])

    labels = [_step_label(f, steps) for f in frames]
    strip = _labelled_rows(
        [("x_t (noisy)", [f["noisy"] for f in frames]), ("x̂0 (predicted)", [f["clean"] for f in frames])],
        labels,
        STRIP_TILE,
        row_label=STRIP_ROW_LABEL,
    )
    _save(strip, out_dir / files["strip"])

    for k, frame in enumerate(frames):
        files[f"frame_{k}"] = f"frame_{k:02d}.png"
        _save(_tile(frame["clean"], full), out_dir / files[f"frame_{k}"])

    grid_rows = [frames[i : i + GRID_COLUMNS] for i in range(0, len(frames), GRID_COLUMNS)]
    grid_tile = min(full, 512)
    parts = [
        _labelled_rows([("", [f["clean"] for f in row])], [_step_label(f, steps) for f in row], grid_tile)
        for row in grid_rows
    ]
    grid = Image.new("RGB", (max(p.width for p in parts), sum(p.height for p in parts)), "white")
    y = 0
    for part in parts:
        grid.paste(part, (0, y))
        y += part.height
    _save(grid, out_dir / files["grid"])

    forward_image = _labelled_rows(
        [("", [f["image"] for f in forward])],
        [f"t={f['timestep']} · ᾱ={_short(f['alpha_bar'])}" for f in forward],
        STRIP_TILE,
        footers=[f"√ᾱ={f['signal']:.2f}  √(1−ᾱ)={f['noise']:.2f}" for f in forward],
    )
    _save(forward_image, out_dir / files["forward"])

    data = {
        "frames": [
            {"role": f"frame_{k}", "step": f["step"], "timestep": f["timestep"], "alpha_bar": _sig(f["alpha_bar"])}
            for k, f in enumerate(frames)
        ],
        "forward": [
            {k: (_sig(v) if isinstance(v, float) else v) for k, v in f.items() if k != "image"} for f in forward
        ],
        "image_size": [demo.width, demo.height],
    }
    return files, data


def _sig(value: float) -> float:
    """Six significant figures: ᾱ near t=1000 is ~1e-9 and must not round to 0."""
    return float(f"{value:.6g}")


def _short(value: float) -> str:
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"
