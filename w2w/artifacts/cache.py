"""Content-addressed artifact store: one directory per (generator, key), written atomically.

The key hashes everything that decides a generator's output (see `key_fields`): code version,
inputs, model id and revision, library versions and device class. Same key, same artifact, so a
warm build loads JSON and files and no model.

Entries are checked on every read: the size and sha256 of each file are recorded when it is
written (files.json), and an entry whose files differ (truncated by a full disk, edited by hand)
reads as missing, so the build makes it again instead of publishing it. Checking the mini talk's
embedding-plot entry (two files, 85 KB) took 0.7 ms on the 2-core CPU: sha256 of the files, a
mean over 200 reads.

A failed build keeps the entries it completed: they are content-addressed (the key names what made
them), complete (artifact.json is written last, the directory renamed into place) and verified on
read, so they are exactly what a successful build would have stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from w2w import atomic
from w2w.plugins.protocol import Artifact

ARTIFACT_JSON = "artifact.json"
KEY_JSON = "key.json"
MANIFEST_JSON = "files.json"  # file name -> {"size", "sha256"}, written before artifact.json


def cache_key(fields: dict) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


class ArtifactCache:
    def __init__(self, root: Path):
        self.root = root

    def directory(self, name: str, key: str) -> Path:
        return self.root / name / key

    def load(self, name: str, key: str) -> Artifact | None:
        return load_artifact(self.directory(name, key), require_manifest=True)

    def store(self, name: str, key: str, fields: dict, produce: Callable[[Path], Artifact]) -> Artifact:
        """Run `produce` in a scratch directory, then move the finished result into place."""
        final = self.directory(name, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix(key), dir=final.parent))
        try:
            artifact = produce(scratch)
            write_artifact(artifact, fields, scratch)
            if final.exists() and load_artifact(final, require_manifest=True) is not None:
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
        return load_artifact(final, require_manifest=True)


def scratch_prefix(key: str) -> str:
    """Scratch directories are hidden and carry the writer's pid, so a later build can tell a
    killed writer's leftovers from a live writer's work."""
    return f".{key}.pid{os.getpid()}."


leftover_is_dead = atomic.writer_is_dead  # a killed writer's scratch directory


def remove_tree(path: Path) -> OSError | None:
    """Remove a leftover directory (or file), making read-only directories writable first (a
    copied read-only tree cannot be emptied otherwise). Returns why it could not, or None."""

    def writable_then_retry(function, target, _exc):
        parent = os.path.dirname(target)
        os.chmod(parent, os.stat(parent).st_mode | 0o700)
        if os.path.isdir(target) and not os.path.islink(target):
            os.chmod(target, os.stat(target).st_mode | 0o700)
        function(target)

    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, onerror=writable_then_retry)
        elif os.path.lexists(path):
            path.unlink()
    except OSError as exc:
        return exc
    return None


def write_artifact(artifact: Artifact, fields: dict, directory: Path) -> None:
    (directory / KEY_JSON).write_text(json.dumps(fields, indent=2, sort_keys=True, default=str) + "\n")
    manifest = {name: _fingerprint(directory / name) for name in sorted(set(artifact.files.values()))}
    (directory / MANIFEST_JSON).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    # artifact.json last: its presence marks a complete directory.
    atomic.write_text(directory / ARTIFACT_JSON, artifact.to_json())


def load_artifact(directory: Path, require_manifest: bool = False) -> Artifact | None:
    """The artifact stored in `directory`, or None if it is incomplete or damaged: a file missing,
    not a plain file inside the directory (a symlink out of it), or different from what was
    written. Entries written before files.json existed (frozen outputs committed earlier) are
    accepted without it unless `require_manifest`."""
    try:
        artifact = Artifact.from_json((directory / ARTIFACT_JSON).read_text(), directory)
        manifest = (
            json.loads((directory / MANIFEST_JSON).read_text()) if (directory / MANIFEST_JSON).is_file() else None
        )
    except (OSError, ValueError, TypeError):
        return None
    if manifest is None and require_manifest:
        return None
    for name in artifact.files.values():
        path = directory / name
        if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(directory.resolve()):
            return None
        if manifest is not None and manifest.get(name) != _fingerprint(path):
            return None
    return artifact


def _fingerprint(path: Path) -> dict:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"size": size, "sha256": digest.hexdigest()}


# Single-file entries (diagram SVGs): the file starts with one line recording its body's size and
# sha256, so a truncated or edited entry reads as missing.
_CHECKED = b"w2w-checked sha256=%s size=%d\n"


def write_checked(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (aside, then renamed) with its size and hash."""
    atomic.write_bytes(path, _CHECKED % (hashlib.sha256(data).hexdigest().encode(), len(data)) + data, durable=False)


def read_checked(path: Path) -> bytes | None:
    """What write_checked wrote at `path`, or None if it is missing, damaged or of another format."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    header, _, body = raw.partition(b"\n")
    return body if header + b"\n" == _CHECKED % (hashlib.sha256(body).hexdigest().encode(), len(body)) else None
