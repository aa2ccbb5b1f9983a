"""`w2w status --explain`: what the next build would do with each artifact, and why. Loads no model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from w2w.artifacts.cache import KEY_JSON, ArtifactCache
from w2w.artifacts.frozen import Difference, FrozenStore, differences
from w2w.artifacts.plan import Job, make_plan
from w2w.artifacts.produce import decide
from w2w.project import Project
from w2w.talk.config import load_talk


@dataclass
class ArtifactStatus:
    name: str
    fresh: bool
    source: str  # "frozen", "cache" or "none"
    detail: str
    differences: list[Difference] = field(default_factory=list)


def explain(project: Project) -> list[ArtifactStatus]:
    talk, _ = load_talk(project.talk_yaml)
    plan = make_plan(project, talk)
    cache = ArtifactCache(project.artifacts_dir)
    frozen = FrozenStore(project.frozen_dir)
    rows = []
    for job in plan.jobs:
        decision = decide(job, cache, frozen)
        if decision.state == "frozen":
            rows.append(
                ArtifactStatus(job.name, True, "frozen", f"frozen output in {project.frozen_dir.name}/{job.name}/")
            )
        elif decision.state == "cached":
            detail = "in the build cache"
            if decision.why:
                detail += "; the frozen copy is stale — run `w2w freeze` to publish this one"
            rows.append(ArtifactStatus(job.name, True, "cache", detail, decision.why))
        else:
            why = decision.why or _against_last_cached(job, cache)
            if decision.fallback:
                detail = f"stale: {decision.fallback}; the build will use the stand-in (--strict fails)"
            elif decision.frozen_entry is None and not why:
                detail = "never built: the next build runs it"
            else:
                detail = "stale: the next build runs it"
            rows.append(ArtifactStatus(job.name, False, "none", detail, why))
    return rows


def _against_last_cached(job: Job, cache: ArtifactCache) -> list[Difference]:
    """Without a frozen entry, explain staleness against the newest cached output of this generator."""
    directory = cache.root / job.name
    candidates = (
        sorted(
            (p for p in directory.glob("*/" + KEY_JSON) if not p.parent.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )
        if directory.is_dir()
        else []
    )
    if not candidates:
        return []
    return differences(json.loads(candidates[-1].read_text()), job.fields)
