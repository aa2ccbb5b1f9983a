"""Talk -> Plan: which generators the enabled pages use, with which inputs, model and cache key.

Building the plan loads no model and imports no ML library: model resolution only looks at
files, and the device class is decided without torch. Everything a page asks of a generator that
can be checked without running it is checked here, with the page's line: unknown artifact names,
unknown file roles, `sim()` words the embedding plot does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from w2w.artifacts.cache import cache_key
from w2w.errors import W2WError
from w2w.plugins import registry
from w2w.plugins.protocol import ModelRef
from w2w.plugins.running import device_class, library_versions
from w2w.project import Project, read_source
from w2w.talk.config import Talk
from w2w.talk.sandbox import Reference, artifact_references, make_environment
from w2w.talk.yaml_source import YamlSource


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
    warnings: tuple[str, ...] = ()


def pages_of(project: Project, talk: Talk) -> list[Path]:
    return [project.section_file(s.id) for s in talk.sections] + [
        project.handout_file(p) for p in ["index", *talk.handout]
    ]


def references(project: Project, talk: Talk) -> dict[str, list[tuple[Path, Reference]]]:
    """generator name -> every (page, reference) to its artifact, in page order. Unknown names are
    located errors."""
    env = make_environment(project.root)
    used: dict[str, list[tuple[Path, Reference]]] = {}
    for page in pages_of(project, talk):
        if not page.is_file():
            raise W2WError(
                f"missing page {page.name}", "create it (every handout needs talk/handout/index.md)", page, 1
            )
        source = read_source(page)
        if not source.strip():
            raise W2WError("the page is empty", "write its content, or disable its section in talk.yaml", page, 1)
        for ref in sorted(artifact_references(env, source, page), key=lambda r: r.line):
            if ref.name not in registry.REGISTRY:
                raise W2WError(
                    f"unknown generator or figure name {ref.name!r}",
                    f"use one of: {', '.join(sorted(registry.REGISTRY))}",
                    page,
                    ref.line,
                )
            used.setdefault(ref.name, []).append((page, ref))
    return used


def make_plan(project: Project, talk: Talk, strict: bool = False) -> Plan:
    jobs, warnings = [], _device_warnings(project, talk, strict)
    for name, uses in references(project, talk).items():
        inputs = getattr(talk.generators, name)  # talk.yaml's settings are the generator's declared inputs
        _check_calls(registry.get(name), inputs, uses)
        job = _job(name, talk, uses[0][0], uses[0][1].line)
        jobs.append(job)
        warnings += _warnings(project, job)
    return Plan(tuple(jobs), tuple(pages_of(project, talk)), tuple(warnings))


def _check_calls(generator, inputs: BaseModel, uses: list[tuple[Path, Reference]]) -> None:
    roles = generator.file_roles(inputs)
    for page, ref in uses:
        if (
            roles is not None
            and ref.macro in ("figure", "plot")
            and ref.args
            and isinstance(ref.args[0], str)
            and ref.args[0] not in roles
        ):
            raise W2WError(
                f"artifact {ref.name!r} has no file {ref.args[0]!r}",
                f"use one of: {', '.join(sorted(roles))}",
                page,
                ref.line,
            )
        problem = generator.check_call(inputs, ref.macro, list(ref.args)) if ref.macro else None
        if problem:
            raise W2WError(*problem, page, ref.line)


def _warnings(project: Project, job: Job) -> list[str]:
    found = registry.get(job.name).plan_warnings(job.inputs, job.model)
    if not found:
        return []
    source = YamlSource(project.talk_yaml)
    return [
        f"{project.talk_yaml.name}:{source.line_of(('generators', job.name, *loc))}: generators.{job.name}."
        f"{'.'.join(map(str, loc))}: {message}"
        for loc, message in found
    ]


def _device(requested: str) -> str:
    """The device class generators will really run on: `cuda` asked for on a machine without CUDA
    runs on the CPU (torch_device falls back), so its outputs are keyed and labelled `cpu`."""
    return "cpu" if requested == "cuda" and device_class("auto") != "cuda" else device_class(requested)


def _device_warnings(project: Project, talk: Talk, strict: bool) -> list[str]:
    if talk.models.device != "cuda" or _device("cuda") == "cuda":
        return []
    where = (project.talk_yaml, YamlSource(project.talk_yaml).line_of(("models", "device")))
    what, fix = (
        "models.device is cuda but this machine has no CUDA device: the generators run on the CPU",
        ("use device: auto (CUDA where there is one), or build on a machine with an NVIDIA GPU"),
    )
    if strict:
        raise W2WError(what, fix, *where)
    return [f"{where[0].name}:{where[1]}: {what} — {fix}"]


def _job(name: str, talk: Talk, page: Path, line: int) -> Job:
    generator = registry.get(name)
    inputs = getattr(talk.generators, name)
    try:
        model = generator.resolve_model(inputs, talk.models.local_dirs)
    except W2WError as exc:
        raise exc.located(page, line) from None
    device = _device(talk.models.device)
    fields = {
        "generator": name,
        "version": generator.version,
        "inputs": generator.key_inputs(inputs, model.embedded),
        "model": {"id": model.id, "revision": model.revision},
        "libraries": library_versions(tuple(generator.libraries)),
        "device": device,
    }
    requested = {
        "generator": name,
        "version": generator.version,
        "inputs": generator.key_inputs(inputs, embedded=False),
        "model": {"id": model.requested_id},
    }
    return Job(name, inputs, model, device, fields, cache_key(fields), (page, line), requested)


def models_to_pull(project: Project, talk: Talk) -> list[str]:
    """The full models of the generators this talk's enabled pages use (`w2w models pull`)."""
    ids: list[str] = []
    for name in references(project, talk):
        ids += [i for i in registry.get(name).model_ids(getattr(talk.generators, name)) if i not in ids]
    return ids
