"""Content-addressed artifact store: one directory per (generator, key), written atomically.

The key hashes everything that decides a generator's output (see `key_fields`): code version,
inputs, model id and revision, library versions and device class. Same key, same artifact, so a
warm build loads JSON and files and no model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from generators.base import Artifact

from . import atomic

ARTIFACT_JSON = "artifact.json"
KEY_JSON = "key.json"


def cache_key(fields: dict) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


class ArtifactCache:
    def __init__(self, root: Path):
        self.root = root

    def directory(self, name: str, key: str) -> Path:
        return self.root / name / key

    def load(self, name: str, key: str) -> Artifact | None:
        return load_artifact(self.directory(name, key))

    def store(self, name: str, key: str, fields: dict, produce: Callable[[Path], Artifact]) -> Artifact:
        """Run `produce` in a scratch directory, then move the finished result into place."""
        final = self.directory(name, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix(key), dir=final.parent))
        try:
            artifact = produce(scratch)
            write_artifact(artifact, fields, scratch)
            if final.exists() and load_artifact(final) is not None:
                shutil.rmtree(scratch)  # another process finished first: same key, same content
            else:
                if final.exists():  # unreadable (files deleted by hand, an older format): replace it
                    broken = final.with_name(scratch_prefix(key) + "broken")
                    os.replace(final, broken)
                    shutil.rmtree(broken, ignore_errors=True)
                os.replace(scratch, final)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return load_artifact(final)


def scratch_prefix(key: str) -> str:
    """Scratch directories are hidden and carry the writer's pid, so a later build can tell a
    killed writer's leftovers from a live writer's work."""
    return f".{key}.pid{os.getpid()}."


leftover_is_dead = atomic.writer_is_dead  # a killed writer's scratch directory


def write_artifact(artifact: Artifact, fields: dict, directory: Path) -> None:
    (directory / KEY_JSON).write_text(json.dumps(fields, indent=2, sort_keys=True, default=str) + "\n")
    # artifact.json last: its presence marks a complete directory.
    atomic.write_text(directory / ARTIFACT_JSON, artifact.to_json())


def load_artifact(directory: Path) -> Artifact | None:
    try:
        artifact = Artifact.from_json((directory / ARTIFACT_JSON).read_text(), directory)
    except (OSError, ValueError, TypeError):
        return None
    if not all((directory / f).is_file() for f in artifact.files.values()):
        return None
    return artifact

