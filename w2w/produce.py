"""Plan -> Artifacts: reuse what the cache has, run the generators whose key is new."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import generators
from generators.base import Artifact

from .cache import ArtifactCache
from .plan import Job, Plan


@dataclass
class Produced:
    artifacts: dict[str, Artifact]
    ran: list[str] = field(default_factory=list)  # generators that had to run in this build
    reused: list[str] = field(default_factory=list)


def produce(plan: Plan, cache: ArtifactCache, say: Callable[[str], None] = lambda _: None) -> Produced:
    result = Produced({})
    for job in plan.jobs:
        artifact = cache.load(job.name, job.key)
        if artifact is not None:
            result.reused.append(job.name)
        else:
            say(f"running {job.name} on {job.model.id} ({job.model.source}, {job.device})")
            artifact = cache.store(job.name, job.key, job.fields, lambda out, job=job: _run(job, out))
            result.ran.append(job.name)
        result.artifacts[job.name] = artifact
    return result


def _run(job: Job, out: Path) -> Artifact:
    return generators.get(job.name).run(job.inputs, job.model, job.device, out)
