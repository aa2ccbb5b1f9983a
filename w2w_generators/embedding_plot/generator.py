"""Word embeddings from all-MiniLM-L6-v2, projected to 2-D with PCA: the talk's "meaning space"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import Artifact, Generator, InputError, ModelRef, RunContext, labelled, torch_device
from w2w_generators.embedding_plot.live import EmbeddingLiveRequest, check_word, pca_basis, placed_words, project
from w2w_generators.embedding_plot.vocab import build_vocabulary, write_script
from w2w_generators.shared.figures import INK, mathtext_safe, pyplot, save
from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
from w2w_generators.shared.model_resolution import loading

# 21,358 words pass embedding_vocab's filter; 5,000 would be about 5 MB of site, past issue 24's budget.
MAX_VOCABULARY = 5000


class EmbeddingInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = MINILM_ID
    words: Annotated[list[str], Field(min_length=3, max_length=60)] = [
        "dog",
        "puppy",
        "cat",
        "kitten",
        "banana",
        "apple",
        "car",
        "truck",
        "token",
        "pixel",
        "noise",
        "painter",
        "storyteller",
        "image",
        "sentence",
    ]

    @field_validator("words")
    @classmethod
    def _distinct(cls, words: list[str]) -> list[str]:
        seen = set()
        for word in words:
            if word in seen:
                raise InputError(
                    f"the word {word!r} is listed twice", "list each word once: each is one point of the plot"
                )
            seen.add(word)
        return words

    # The live slide's prefill and its recording: 1 to 3 words placed on the plot (docs/live-protocol.md).
    live_words: Annotated[list[str], Field(min_length=1, max_length=3)] = ["wolf", "orange", "bicycle"]

    # The offline explorer's vocabulary (w2w_generators/embedding_plot/vocab.py): how many of the model's own
    # words are precomputed for a reader to look up; 0: none. Each word adds 512 bytes to each of the
    # two copies (deck, handout): 2,000 make about 2.1 MB of issue 24's 4 MB budget.
    vocabulary: int = 0

    @field_validator("vocabulary")
    @classmethod
    def _vocabulary(cls, count: int) -> int:
        if not 0 <= count <= MAX_VOCABULARY:
            raise InputError(
                f"vocabulary {count} is outside 0 to {MAX_VOCABULARY}",
                f"set vocabulary to at most {MAX_VOCABULARY} words (each adds about 1 kB to the site), or 0 for none",
            )
        return count

    @field_validator("live_words")
    @classmethod
    def _live_words(cls, words: list[str]) -> list[str]:
        return [check_word(word) for word in words]


def pca_2d(vectors):
    """Project rows onto their first two principal components; returns (points, explained ratios)."""
    mean, axes, explained = pca_basis(vectors)
    return project(vectors, mean, axes), explained


class EmbeddingPlot(Generator):
    name: ClassVar[str] = "embedding_plot"
    version: ClassVar[str] = (
        # 2: the PCA basis and the live words' recording in the data;
        # 3: labels kept apart (adjustText), theme colours, slide-sized fonts;
        # 4: the SVG's inks as theme variables (figures.INKS)
        "4"
    )
    live: ClassVar[bool] = True  # places typed words on the build's axes
    Inputs: ClassVar[type[BaseModel]] = EmbeddingInputs
    LiveRequest: ClassVar[type[BaseModel]] = EmbeddingLiveRequest
    libraries: ClassVar[tuple[str, ...]] = ("torch", "transformers", "numpy", "matplotlib")
    implied_macros: ClassVar[tuple[str, ...]] = ("sim",)  # sim("dog", "puppy"): cosine similarity

    def resolve_model(self, inputs: EmbeddingInputs, local_dirs: dict[str, str]) -> ModelRef:
        return resolve_minilm(inputs.model, local_dirs)

    def file_roles(self, inputs: EmbeddingInputs) -> set[str]:
        return {"plot", "plot_svg"} | ({"vocab"} if inputs.vocabulary else set())

    def check_call(self, inputs: EmbeddingInputs, macro: str, args: list) -> tuple[str, str] | None:
        if macro != "sim":
            return None
        for word in args[:2]:
            if isinstance(word, str) and word not in inputs.words:
                return (
                    f"sim() asks for {word!r}, which is not one of the embedding plot's words",
                    f"add {word!r} to generators.embedding_plot.words in talk.yaml",
                )
        return None

    # --- the live protocol (docs/live-protocol.md) --------------------------------------------------

    def load(self, model: ModelRef, device: str) -> Any:
        from w2w_generators.shared.minilm import MiniLM

        with loading(model):
            encoder = MiniLM(model.path, device=torch_device(device))
        encoder.model_id = model.id
        return encoder

    def live_request(self, inputs: EmbeddingInputs, model: ModelRef | None = None) -> EmbeddingLiveRequest:
        return EmbeddingLiveRequest(words=list(inputs.live_words), plotted=list(inputs.words))

    def steps(self, loaded: Any, request: BaseModel) -> Iterator[dict]:
        return labelled(placed_words(loaded, request), loaded.model_id, loaded.device)

    def run(self, inputs: EmbeddingInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        import numpy as np

        run = RunContext(self, model, device)
        encoder = self.load(model, run.device)
        vectors = encoder.sentence_embeddings(list(inputs.words)).float().cpu().numpy()
        request = self.live_request(inputs, model)
        events = list(self.steps(encoder, request))  # the live slide's recording
        similarity = vectors @ vectors.T  # unit vectors: dot product is cosine similarity
        mean, axes, explained = pca_basis(vectors.astype(np.float64))
        points = project(vectors.astype(np.float64), mean, axes)
        words = list(inputs.words)
        _plot(words, points, explained, out_dir / "plot.png", out_dir / "plot.svg")
        data = {
            "model": model.id,
            "words": words,
            "points": points.round(4).tolist(),
            "explained_variance": explained.round(4).tolist(),
            "explained_variance_pct": (explained * 100).round(1).tolist(),
            "similarity": {
                a: {b: round(float(similarity[i, j]), 4) for j, b in enumerate(words)} for i, a in enumerate(words)
            },
            "dimensions": int(vectors.shape[1]),
            # The build's axes: point = (vector - mean) @ components.T, for any unit sentence vector.
            "pca": {"mean": mean.round(7).tolist(), "components": axes.round(7).tolist()},
            "live_request": request.model_dump(mode="json"),
            "live_recording": {"steps": events[:-1], "done": events[-1]},
        }
        files = {"plot": "plot.png", "plot_svg": "plot.svg"}
        if inputs.vocabulary:
            page, data["vocabulary"] = build_vocabulary(
                encoder, model.path, inputs.vocabulary, words, vectors, mean, axes
            )
            write_script(page, self.name, out_dir / "vocab.js")
            files["vocab"] = "vocab.js"
        provenance = run.provenance(dtype="float32")
        return Artifact(self.name, files, data, provenance, out_dir)


def _plot(words, points, explained, png: Path, svg: Path) -> None:
    """Scatter of the words with their labels moved apart (adjustText), in the theme's accent and
    text inks (figures.INKS: the inlined SVG follows the page's theme). Sizes are for the slide: the
    1200 px figure shows at about 60 % (470 px high), so 15 pt labels land near 19 px and 13 pt ticks near 16 px."""
    from adjustText import adjust_text

    plt = pyplot()
    accent, text_colour, rule = INK["accent"], INK["text"], INK["rule"]
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=150)
    ax.scatter(points[:, 0], points[:, 1], s=60, color=accent, zorder=3)
    margin = 0.12 * (points.max(axis=0) - points.min(axis=0))
    ax.set_xlim(points[:, 0].min() - margin[0], points[:, 0].max() + margin[0] * 2)
    ax.set_ylim(points[:, 1].min() - margin[1], points[:, 1].max() + margin[1])
    labels = [
        ax.text(x, y, mathtext_safe(word), fontsize=15, color=text_colour, zorder=4)
        for word, (x, y) in zip(words, points, strict=False)
    ]
    ax.set_xlabel(f"PC 1 ({explained[0] * 100:.1f}% of variance)", fontsize=13, color=text_colour)
    ax.set_ylabel(f"PC 2 ({explained[1] * 100:.1f}% of variance)", fontsize=13, color=text_colour)
    ax.tick_params(labelsize=13, colors=text_colour)
    ax.grid(True, color=rule, zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    # Labels pushed off each other and off the points, with a thin leader where one moved far.
    adjust_text(
        labels,
        x=points[:, 0],
        y=points[:, 1],
        ax=ax,
        expand=(1.2, 1.4),
        arrowprops={"arrowstyle": "-", "color": INK["muted"], "lw": 0.8},
    )
    save(fig, png, svg)
    plt.close(fig)
