"""Plan -> Artifacts: use a fresh frozen artifact, else the cache, else run the generator.

The same decision, without running anything, is what `w2w status --explain` reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from w2w.artifacts.cache import ArtifactCache
from w2w.artifacts.frozen import Difference, FrozenStore, made_by_stand_in
from w2w.artifacts.plan import Job, Plan
from w2w.errors import W2WError
from w2w.plugins import registry
from w2w.plugins.protocol import Artifact

log = logging.getLogger(__name__)


@dataclass
class Decision:
    job: Job
    state: str  # "frozen" (fresh frozen output), "cached", or "run"
    why: list[Difference] = field(default_factory=list)  # for "run" after a stale frozen entry
    frozen_entry: dict | None = None
    fallback: str = ""  # set when a stand-in replaces a stale frozen full-model output


@dataclass
class Produced:
    artifacts: dict[str, Artifact]
    ran: list[str] = field(default_factory=list)  # generators that had to run in this build
    reused: list[str] = field(default_factory=list)
    notices: dict[str, str] = field(default_factory=dict)  # name -> caption note (fallbacks)


def decide(job: Job, cache: ArtifactCache, frozen: FrozenStore) -> Decision:
    """What a build does with `job`. The frozen output is judged by the key of the model that made
    it (`FrozenStore.stale_fields`), with `job.model.embedded` saying which model this machine
    would make it with: the same field the job's key and the run read."""
    stale = frozen.stale_fields(job.name, job.fields, job.requested, job.model.embedded)
    entry = frozen.entry(job.name)
    if stale == [] and frozen.load(job.name) is not None:
        return Decision(job, "frozen", frozen_entry=entry)
    state = "cached" if cache.load(job.name, job.key) is not None else "run"
    decision = Decision(job, state, why=stale or [], frozen_entry=entry)
    if stale and job.model.embedded and not made_by_stand_in(entry):
        made_with = entry.get("made_with", {})
        changed = ", ".join(d.field for d in stale)
        decision.fallback = (
            f"the frozen output of {made_with.get('model')} ({made_with.get('device')}) is stale "
            f"({changed} changed) and this machine has only the embedded {job.model.id}"
        )
    return decision


def produce(
    plan: Plan,
    cache: ArtifactCache,
    frozen: FrozenStore,
    strict: bool = False,
) -> Produced:
    result = Produced({})
    for job in plan.jobs:
        decision = decide(job, cache, frozen)
        if decision.state == "frozen":
            result.artifacts[job.name] = frozen.load(job.name)
            result.reused.append(job.name)
            continue
        if decision.fallback:
            if strict:
                raise W2WError(
                    f"{job.name}: {decision.fallback}",
                    "regenerate it on a machine with the full model and run `w2w freeze`, or build without --strict",
                    *job.used_at,
                )
            log.warning("%s: %s; STAND-IN OUTPUT, the slide says so", job.name, decision.fallback)
            result.notices[job.name] = (
                f"replaces a stale frozen output of {decision.frozen_entry['made_with']['model']}"
            )
        elif job.model.embedded:
            log.warning(
                "%s: %s is not on this machine; using the embedded stand-in %s",
                job.name,
                job.model.requested_id,
                job.model.id,
            )
        if decision.state == "cached":
            result.artifacts[job.name] = cache.load(job.name, job.key)
            result.reused.append(job.name)
            continue
        log.info("running %s on %s (%s, %s)", job.name, job.model.id, job.model.source, job.device)
        try:
            result.artifacts[job.name] = cache.store(job.name, job.key, job.fields, lambda out, job=job: _run(job, out))
        except W2WError as exc:  # e.g. weights that cannot be loaded: point at the page that uses them
            raise exc.located(*job.used_at) from None
        result.ran.append(job.name)
    return result


def _run(job: Job, out: Path) -> Artifact:
    return registry.get(job.name).run(job.inputs, job.model, job.device, out)
