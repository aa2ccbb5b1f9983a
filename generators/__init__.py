"""Live-output generators, looked up by name. Importing this package imports no ML library."""

from __future__ import annotations

import importlib

from w2w.errors import W2WError

from .base import Artifact, Generator, ModelRef

# name -> "module:Class"; modules are imported only when their generator is needed.
REGISTRY: dict[str, str] = {
    "embedding_plot": "generators.embedding_plot:EmbeddingPlot",
    "token_trace": "generators.token_trace:TokenTrace",
    "diffusion_demo": "generators.diffusion_demo:DiffusionDemo",
}


def get(name: str) -> Generator:
    if name not in REGISTRY:
        raise W2WError(f"unknown generator {name!r}", f"use one of: {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)()


__all__ = ["Artifact", "Generator", "ModelRef", "REGISTRY", "get"]
