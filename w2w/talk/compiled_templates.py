"""Jinja's compiled templates kept between builds, so a warm rebuild does not recompile them.

Compiling is a large part of a build: MkDocs makes a fresh theme environment on every build and
recompiles material's ~40 templates (≈ 40 % of a bare `mkdocs build` of the handout, BENCHMARKS.md).
Jinja keys a compiled template by its name, file and a checksum of its source, so an edited
template is compiled again. Jinja's key does not cover the environment's own settings, yet they
are compiled in (autoescape, extensions, the environment class): here they are added to the key,
so two differently configured environments can never run each other's code. Each kind of
environment keeps its entries in its own directory, named with the Jinja version.
This is Jinja's own FileSystemBytecodeCache with three changes, each for a reason: new entries are
stored only once the build has succeeded (the bad-input tests require a failed build to leave the
cache byte-for-byte as it was); a damaged entry is compiled again instead of failing the build;
scratch files of killed writers are removed.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket

STALE_SCRATCH_SECONDS = 3600  # a half-written entry's scratch file left by a killed process

_unwritten: list[tuple[CompiledTemplates, Bucket]] = []  # compiled during the build under way


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    def __init__(self, cache_dir: Path, kind: str):
        directory = Path(cache_dir) / "jinja" / f"{kind}-jinja{jinja2.__version__}"
        _remove_stale_scratch(directory)
        super().__init__(str(directory))

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None, source: str) -> Bucket:
        key = self.get_cache_key(name, filename) + "-" + _settings(environment)
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (EOFError, ValueError, pickle.UnpicklingError):
            bucket.reset()  # a damaged entry (disk trouble): compile again

    def dump_bytecode(self, bucket: Bucket) -> None:
        _unwritten.append((self, bucket))


def forget_unwritten() -> None:
    """A build starts: what an earlier, failed one compiled is not stored."""
    _unwritten.clear()


def store_compiled() -> None:
    """The build succeeded: store what it compiled."""
    while _unwritten:
        cache, bucket = _unwritten.pop()
        Path(cache.directory).mkdir(parents=True, exist_ok=True)
        jinja2.FileSystemBytecodeCache.dump_bytecode(cache, bucket)


@contextlib.contextmanager
def kept_if_build_succeeds() -> Iterator[None]:
    """Templates compiled inside the block are stored when it ends without an exception."""
    forget_unwritten()
    yield
    store_compiled()


def from_source(env: jinja2.Environment, source: str, path: Path) -> jinja2.Template:
    """`env.from_string(source)`, reusing the compiled code stored for `path` when the source is
    unchanged. Compiled exactly as from_string does, so errors report the same lines."""
    cache = env.bytecode_cache
    if cache is None:
        return env.from_string(source)
    bucket = cache.get_bucket(env, str(path), str(path), source)
    if bucket.code is None:
        bucket.code = env.compile(source)
        cache.set_bucket(bucket)
    return env.template_class.from_code(env, bucket.code, env.make_globals(None), None)


def _settings(environment: jinja2.Environment) -> str:
    """What of an environment is compiled into a template: its class, autoescape, extensions,
    delimiters, whitespace options and finalize."""
    import hashlib

    parts = [
        type(environment).__qualname__,
        repr(environment.autoescape) if not callable(environment.autoescape) else environment.autoescape.__qualname__,
        sorted(environment.extensions),
        environment.block_start_string,
        environment.variable_start_string,
        environment.comment_start_string,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.keep_trailing_newline,
        environment.optimized,
        type(environment.undefined).__qualname__
        if not isinstance(environment.undefined, type)
        else environment.undefined.__qualname__,
        # finalize: compiled in as a call, with or without a context (jinja_pass_arg), or applied to
        # constants at compile time
        getattr(environment.finalize, "__qualname__", None),
        repr(getattr(environment.finalize, "jinja_pass_arg", None)),
    ]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def _remove_stale_scratch(directory: Path) -> None:
    cutoff = time.time() - STALE_SCRATCH_SECONDS
    for scratch in directory.glob("*.tmp"):
        try:
            if scratch.stat().st_mtime < cutoff:
                scratch.unlink()
        except OSError:
            pass  # another process removed or renamed it
