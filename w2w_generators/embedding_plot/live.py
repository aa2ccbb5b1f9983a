"""Typed words placed on the embedding plot: the same encoder, the build's PCA axes, cosine similarities.

`placed_words` is the one implementation: the build runs it on the talk's own words
(`generators.embedding_plot.live_words`) and records the events; `w2w present` runs it on what the
audience types. The plotted words are embedded in their own batch, exactly as the build embeds
them (batch padding changes the last digits of a vector), so the PCA basis is the build's, bit for
bit; the artifact also stores that basis (`data.pca`) so a reader can project words without us.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import TextInput

_WORD = re.compile(r"[^\W_](?:[^\W_]|[ '\-])*")  # letters, digits, space, - and ', from a letter or digit


MAX_WORDS = 3  # typed words placed at once
MAX_WORD = 40  # characters of one word


def check_word(word: str) -> str:
    word = word.strip()
    if not 1 <= len(word) <= MAX_WORD:
        raise ValueError(f"each word must be 1 to {MAX_WORD} characters")
    if not _WORD.fullmatch(word):
        raise ValueError("use letters, digits, spaces, - and ' only")
    return word


class EmbeddingLiveRequest(BaseModel):
    """What a slide may ask of the embedding plot (contract: docs/live-protocol.md); every field bounded.

    `plotted` are the build's words (the slide sends back what it was built with): they fix the axes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    # Typed as one text, "dog, cat, bird": three words of at most MAX_WORD characters, their commas
    # and a few spaces.
    text_input: ClassVar[TextInput] = TextInput("words", separator=",", max_chars=MAX_WORDS * MAX_WORD + 10)
    words: Annotated[list[str], Field(min_length=1, max_length=MAX_WORDS)]
    plotted: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(min_length=3, max_length=60)]

    @field_validator("words")
    @classmethod
    def _words(cls, words: list[str]) -> list[str]:
        return [check_word(word) for word in words]


def pca_basis(vectors):
    """(mean, axes (2, d), explained ratios) of rows: the first two principal components, each
    axis's sign fixed so that the point farthest along it is positive (reruns draw the same picture)."""
    import numpy as np

    mean = vectors.mean(axis=0)
    centred = vectors - mean
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    axes = components[:2]
    points = centred @ axes.T
    signs = np.sign(points[np.abs(points).argmax(axis=0), [0, 1]])
    return mean, axes * signs[:, None], variance[:2] / variance.sum()


def project(vectors, mean, axes):
    return (vectors - mean) @ axes.T


def placed_words(encoder, request: EmbeddingLiveRequest) -> Iterator[dict]:
    """One {"type": "step"} per word (its point on the build's axes, cosines to every plotted word,
    the three nearest), then {"type": "done"}."""
    import numpy as np

    started = time.perf_counter()
    plotted = list(request.plotted)
    base = encoder.sentence_embeddings(plotted).float().cpu().numpy().astype(np.float64)
    mean, axes, _ = pca_basis(base)
    for word in request.words:
        vector = encoder.sentence_embeddings([word]).float().cpu().numpy().astype(np.float64)[0]
        cosines = base @ vector  # unit vectors: the dot product is the cosine similarity
        order = np.argsort(-cosines, kind="stable")
        yield {
            "type": "step",
            "word": word,
            "point": [round(float(x), 4) for x in project(vector, mean, axes)],
            "similarity": {w: round(float(c), 4) for w, c in zip(plotted, cosines, strict=False)},
            "nearest": [[plotted[i], round(float(cosines[i]), 4)] for i in order[:3]],
        }
    yield {"type": "done", "words": list(request.words), "seconds": round(time.perf_counter() - started, 4)}
