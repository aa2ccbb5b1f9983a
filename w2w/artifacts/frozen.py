"""Frozen artifacts: the published talk's generator outputs, committed under talk/frozen/ with a lock.

Every frozen output is judged by the key of the model that produced it, field by field, so
`w2w status --explain` can say exactly what changed. Which model that was is one recorded fact,
`made_with.embedded` (the producing run's `ModelRef.embedded`: stand-in or full model), and which
model this machine would use is the job's `model.embedded`:
- the same kind of model here (a stand-in's output where the stand-in runs, a full model's where
  that model is found): its whole key must match, the inputs that model draws from, its id and
  revision, the library versions and the device class. A stand-in's output is stale when
  `embedded_prompt` changes, as a full model's is when `prompt` does;
- a full model's output on a machine that has only the stand-in: the part of its key the talk
  decides (generator, version, the inputs that model uses, its id; lock.json's `requested`) must
  match. Its environment cannot be compared on a machine without that model, so a Stable
  Diffusion image frozen on a GPU box stays fresh on a CPU-only runner until its prompt changes;
- a stand-in's output on a machine that has the full model: stale, the real thing is made.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from w2w import atomic
from w2w.artifacts.cache import load_artifact, write_artifact
from w2w.errors import W2WError
from w2w.plugins.protocol import Artifact

LOCK_NAME = "lock.json"


@dataclass(frozen=True)
class Difference:
    field: str  # dotted path, e.g. "inputs.prompt" or "libraries.diffusers"
    frozen: object
    current: object

    def __str__(self) -> str:
        return f"{self.field}: {_show(self.frozen)} → {_show(self.current)}"


def _show(value: object) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "…"
        return f'"{text}"'
    return json.dumps(value, sort_keys=True, default=str)


def differences(old: dict, new: dict, prefix: str = "") -> list[Difference]:
    """Leaf-level differences between two key-field dicts."""
    found = []
    for key in sorted(set(old) | set(new)):
        path = f"{prefix}{key}"
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, path + ".")
        elif a != b:
            found.append(Difference(path, a, b))
    return found


def made_by_stand_in(entry: dict) -> bool:
    """Whether a frozen output was made by an offline stand-in: the producing run's
    `ModelRef.embedded`, which freeze records as `made_with.embedded`."""
    return entry.get("made_with", {}).get("embedded") is True


class FrozenStore:
    def __init__(self, directory: Path):
        self.directory = directory
        self.lock_path = directory / LOCK_NAME
        try:
            text = self.lock_path.read_text()
        except FileNotFoundError:
            self.lock = {}
            return
        try:
            self.lock = json.loads(text)["artifacts"]
        except (ValueError, KeyError, TypeError) as exc:
            line = getattr(exc, "lineno", 1)
            raise W2WError(
                f"the frozen artifacts' lock is not valid: {exc}",
                "resolve the merge conflict (or restore it with git), then rebuild",
                self.lock_path,
                line,
            ) from None

    def entry(self, name: str) -> dict | None:
        return self.lock.get(name)

    def load(self, name: str) -> Artifact | None:
        return load_artifact(self.directory / name) if name in self.lock else None

    def _with_producers_key(self, name: str, artifact: Artifact, fields: dict, requested: dict) -> tuple:
        """(artifact, the key of the model that made it, requested): `fields`, the key this machine
        made it with, unless `artifact` is the output frozen here (what `load` gives), whose
        recorded key is its producer's."""
        if name in self.lock and artifact.directory.resolve() == (self.directory / name).resolve():
            fields = self.lock[name]["fields"]
        return artifact, fields, requested

    def stale_fields(self, name: str, fields: dict, requested: dict, embedded: bool) -> list[Difference] | None:
        """None if nothing is frozen for `name`; else what makes it stale ([] means fresh).

        `fields` is the key this machine would make the artifact with now, with the model whose
        `ModelRef.embedded` is `embedded`; `requested` is what the talk asks of the model it names
        (generator, version, the inputs that model uses, model id).
        """
        entry = self.entry(name)
        if entry is None:
            return None
        frozen, stand_in = entry["fields"], made_by_stand_in(entry)
        if stand_in == embedded:  # made by the kind of model this machine would use: its whole key
            return differences(frozen, fields)
        if embedded:  # a full model's output, and this machine has only the stand-in
            return differences(entry["requested"], requested)
        # A stand-in's output, and the full model is on this machine: make the real thing.
        return [Difference("model.id", frozen["model"]["id"], fields["model"]["id"])]

    def freeze(self, artifacts: dict[str, tuple[Artifact, dict, dict]], force: bool = False) -> None:
        """Record `artifacts` (name -> (artifact, key fields, requested fields)) as the frozen outputs.
        Entries for generators not in `artifacts` (a section switched off) are kept. A stand-in's
        output never silently replaces a full model's: that needs `force`. Each is recorded with the
        key of the model that produced it: an artifact that is this store's own frozen output (fresh,
        so the build used it) keeps its recorded key, which is a full model's where this machine has
        only the stand-in and would key the artifact by the stand-in."""
        artifacts = {name: self._with_producers_key(name, *item) for name, item in artifacts.items()}
        for name, (artifact, _, _) in artifacts.items():
            entry = self.entry(name)
            made_with = (entry or {}).get("made_with", {})
            if entry and artifact.provenance.get("embedded") is True and not made_by_stand_in(entry) and not force:
                raise W2WError(
                    f"freezing would replace the frozen {name} made with {made_with.get('model')} "
                    f"by the output of the embedded stand-in {artifact.provenance.get('model')}",
                    "freeze on a machine that has the full model, or pass --force",
                    self.lock_path,
                    1,
                )
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = dict(self.lock)
        for name, (artifact, fields, requested) in sorted(artifacts.items()):
            with atomic.new_directory(self.directory / name) as staging:
                for file in artifact.files.values():
                    shutil.copyfile(artifact.directory / file, staging / file)
                write_artifact(artifact, fields, staging)
            lock[name] = {
                "fields": fields,
                "requested": requested,
                "files": sorted(artifact.files.values()),
                "made_with": {
                    k: artifact.provenance.get(k) for k in ("model", "source", "device", "embedded", "dtype")
                },
            }
        for stale in self.directory.iterdir():
            if stale.is_dir() and stale.name not in lock and not stale.name.startswith("."):
                shutil.rmtree(stale)
        text = json.dumps({"version": 1, "artifacts": lock}, indent=2, sort_keys=True, default=str) + "\n"
        atomic.write_text(self.lock_path, text)
        self.lock = lock
