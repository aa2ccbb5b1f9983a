"""Frozen artifacts: the published talk's generator outputs, committed under talk/frozen/ with a lock.

Freshness is judged field by field, so `w2w status --explain` can say exactly what changed:
- what the talk and the code ask for (generator, version, the inputs the requested model uses, its
  id) must match;
- what the machine made it with (model revision, library versions, device class) must match too,
  but only where this machine would make it with that same model. A Stable Diffusion image frozen
  on a GPU box stays fresh on a CPU-only CI runner that cannot run Stable Diffusion at all; if the
  talk's prompt changes, it is stale everywhere.
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


def environment_fields(fields: dict) -> dict:
    return {
        "model": {"revision": fields["model"]["revision"]},
        "libraries": fields["libraries"],
        "device": fields["device"],
    }


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

    def stale_fields(self, name: str, fields: dict, requested: dict) -> list[Difference] | None:
        """None if nothing is frozen for `name`; else what makes it stale ([] means fresh).

        `fields` is the key this machine would make the artifact with now; `requested` is what the
        talk asks of the model it names (generator, version, the inputs that model uses, model id).
        """
        entry = self.entry(name)
        if entry is None:
            return None
        frozen = entry["fields"]
        found = differences(entry["requested"], requested)
        made_with, here = frozen["model"]["id"], fields["model"]["id"]
        if made_with == here:
            found += differences(environment_fields(frozen), environment_fields(fields))
        elif here == requested["model"]["id"]:
            # Frozen from a stand-in, and the real model is on this machine: make the real thing.
            found.append(Difference("model.id", made_with, here))
        # else: the frozen output came from a model this machine lacks; its environment can't be
        # compared here, and the talk's request is unchanged, so it stays the published output.
        return found

    def freeze(self, artifacts: dict[str, tuple[Artifact, dict, dict]], force: bool = False) -> None:
        """Record `artifacts` (name -> (artifact, key fields, requested fields)) as the frozen outputs.
        Entries for generators not in `artifacts` (a section switched off) are kept. A stand-in's
        output never silently replaces a full model's: that needs `force`."""
        for name, (artifact, _, _) in artifacts.items():
            made_with = (self.entry(name) or {}).get("made_with", {})
            if artifact.provenance.get("embedded") and made_with.get("embedded") is False and not force:
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
