"""Which generators exist: the entry points of group `w2w.generators`, as MkDocs finds plugins.

The built-in generators (w2w_generators/, declared in pyproject.toml) are found exactly as a
third-party package's are; a name that two distributions declare goes to w2w's own, else to the
first found, with a warning naming both. The engine knows generators only through this registry
and the protocol (w2w/plugins/protocol.py): config builds talk.yaml's `generators:` schema from
`Inputs`, templating takes filters and macro names from them, the plan checks the pages' calls with
them, `w2w models pull` asks them which models to fetch. Importing this module imports no ML
library and no generator: a generator's module is imported the first time the engine asks for it.
"""

from __future__ import annotations

import importlib
import logging
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from w2w.errors import W2WError

if TYPE_CHECKING:  # for annotations only: importing the protocol at run time would bring pydantic
    from w2w.plugins.protocol import Generator

log = logging.getLogger(__name__)
OWN_DISTRIBUTION = "w2w"


def _discover(group: str) -> dict[str, str]:
    """name -> "module:attribute" of every entry point of `group` (about 6 ms for the environment)."""
    found: dict[str, tuple[str, str]] = {}
    for ep in entry_points(group=group):
        dist = ep.dist.name if ep.dist is not None else "?"
        if ep.name in found and found[ep.name][0] != ep.value:
            kept = found[ep.name]
            if dist == OWN_DISTRIBUTION and kept[1] != OWN_DISTRIBUTION:
                kept = (ep.value, dist)
            log.warning("%s %r is declared by %s and %s; using %s", group, ep.name, kept[1], dist, kept[0])
            found[ep.name] = kept
        else:
            found.setdefault(ep.name, (ep.value, dist))
    return {name: value for name, (value, _) in sorted(found.items())}


# name -> "module:Class" of every generator; `get` imports and checks one when it is first asked for.
REGISTRY: dict[str, str] = _discover("w2w.generators")

# CLI commands that generators bring: name -> "module:function" (a typer command function). The
# module is imported when the CLI starts, so it must import nothing heavy.
COMMANDS: dict[str, str] = _discover("w2w.commands")


@cache
def get(name: str) -> Generator:
    if name not in REGISTRY:
        raise W2WError(f"unknown generator {name!r}", f"use one of: {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name].split(":")
    from w2w.plugins.protocol import check_protocol

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


__all__ = ["COMMANDS", "REGISTRY", "all_generators", "get", "macro_owners", "template_filters"]
