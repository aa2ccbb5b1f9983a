"""Talk -> Plan: which generators the enabled pages use, with which inputs, model and cache key.

Building the plan loads no model and imports no ML library: model resolution only looks at
files, and the device class is decided without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import generators
from generators.base import ModelRef, device_class, key_inputs, library_versions
from pydantic import BaseModel

from .cache import cache_key
from .config import Talk
from .errors import W2WError
from .project import Project, read_source
from .templating import artifact_references, make_environment


@dataclass(frozen=True)
class Job:
    name: str
    inputs: BaseModel
    model: ModelRef
    device: str
    fields: dict  # everything the key hashes, kept to explain staleness
    key: str
    used_at: tuple[Path, int]  # first page and line that uses it
    requested: dict  # what the talk asks of the requested model (compared with frozen outputs)


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    pages: tuple[Path, ...]  # every Jinja-Markdown page of this build, in order


def pages_of(project: Project, talk: Talk) -> list[Path]:
    return [project.section_file(s.id) for s in talk.sections] + [
        project.handout_file(p) for p in ["index", *talk.handout]
    ]


def make_plan(project: Project, talk: Talk) -> Plan:
    env = make_environment(project.root)
    pages = pages_of(project, talk)
    used: dict[str, tuple[Path, int]] = {}
    for page in pages:
        if not page.is_file():
            raise W2WError(f"missing page {page.name}", "create it (every handout needs talk/handout/index.md)", page, 1)
        source = read_source(page)
        if not source.strip():
            raise W2WError("the page is empty", "write its content, or disable its section in talk.yaml", page, 1)
        for name, line in artifact_references(env, source, page).items():
            if name not in generators.REGISTRY:
                raise W2WError(
                    f"unknown generator or figure name {name!r}",
                    f"use one of: {', '.join(sorted(generators.REGISTRY))}",
                    page,
                    line,
                )
            used.setdefault(name, (page, line))
    jobs = [_job(name, talk, where) for name, where in used.items()]
    return Plan(tuple(jobs), tuple(pages))


def _job(name: str, talk: Talk, used_at: tuple[Path, int]) -> Job:
    generator = generators.get(name)
    inputs = getattr(talk.generators, name)  # talk.yaml's settings are the generator's declared inputs
    try:
        model = generator.resolve_model(inputs, talk.models.local_dirs)
    except W2WError as exc:
        raise exc.located(*used_at)
    device = device_class(talk.models.device)
    fields = {
        "generator": name,
        "version": generator.version,
        "inputs": key_inputs(generator, inputs, model.embedded),
        "model": {"id": model.id, "revision": model.revision},
        "libraries": library_versions(tuple(generator.libraries)),
        "device": device,
    }
    requested = {
        "generator": name,
        "version": generator.version,
        "inputs": key_inputs(generator, inputs, embedded=False),
        "model": {"id": model.requested_id},
    }
    return Job(name, inputs, model, device, fields, cache_key(fields), used_at, requested)
