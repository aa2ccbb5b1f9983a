"""The talk's live-output generators, as plug-ins. Importing this package imports no ML library.

Each generator is one module with one `Generator` subclass (protocol in `base.py`), named here.
The engine (w2w/) knows generators only through this registry and that protocol: config builds
talk.yaml's `generators:` schema from `Inputs`, templating takes filters and macro names from
them, the plan checks the pages' calls with them, `w2w models pull` asks them which models to
fetch. No engine module names a specific generator, and generators do not import each other
(shared pieces: `base`, `model_resolution`, `minilm`, `figures`).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from w2w.host import W2WError

if TYPE_CHECKING:  # for annotations only: importing base at run time would bring pydantic
    from .base import Generator


# name -> "module:Class". A generator's module is imported the first time the engine asks for it;
# the modules import torch only inside `run`, so a plan stays light.
REGISTRY: dict[str, str] = {
    "embedding_plot": "generators.embedding_plot:EmbeddingPlot",
    "token_trace": "generators.token_trace:TokenTrace",
    "diffusion_demo": "generators.diffusion_demo:DiffusionDemo",
    "shapes_eval": "generators.shapes_eval:ShapesEval",
}


def _plugged_in() -> dict[str, str]:
    """Generators that other installed distributions bring, as MkDocs finds plugins: the entry
    points of group `w2w.generators`, name -> "module:Class" (6 ms to scan; a built-in name wins)."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="w2w.generators") if ep.name not in REGISTRY}


REGISTRY.update(_plugged_in())

# CLI commands that generators bring: name -> "module:function" (a typer command function). The
# module is imported when the CLI starts, so it must import nothing heavy.
COMMANDS: dict[str, str] = {
    "train-shapes": "generators.shapes_command:train_shapes",
}


@cache
def get(name: str) -> Generator:
    if name not in REGISTRY:
        raise W2WError(f"unknown generator {name!r}", f"use one of: {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name].split(":")
    from .base import check_protocol

    generator_class = getattr(importlib.import_module(module), cls)
    check_protocol(generator_class)  # a plug-in that misses part of the protocol fails here, by name
    generator = generator_class()
    if generator.name != name:
        raise RuntimeError(f"{REGISTRY[name]} calls itself {generator.name!r}, registered as {name!r}")
    return generator


def all_generators() -> list[Generator]:
    return [get(name) for name in REGISTRY]


def macro_owners() -> tuple[set[str], dict[str, str]]:
    """(macros whose first argument names an artifact, macro -> the generator it always reads).
    `figure`, `plot` and `provenance` belong to the engine's macros.j2 and take any artifact's name."""
    named, implied = {"figure", "plot", "provenance"}, {}
    for generator in all_generators():
        named.update(generator.macros)
        implied.update({macro: generator.name for macro in generator.implied_macros})
    return named, implied


def template_filters() -> dict:
    filters = {}
    for generator in all_generators():
        filters.update(generator.filters)
    return filters


def __getattr__(name: str):
    """The protocol's types, imported on first use: the CLI reads COMMANDS at start-up, and
    `generators.base` brings pydantic (w2w --help: 145 ms with it, 62 ms without)."""
    if name in ("Artifact", "Generator", "ModelRef"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module 'generators' has no attribute {name!r}")


__all__ = [
    "Artifact",
    "COMMANDS",
    "Generator",
    "ModelRef",
    "REGISTRY",
    "all_generators",
    "get",
    "macro_owners",
    "template_filters",
]
