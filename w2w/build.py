"""`w2w build-talk`: prepare the talk, build handout + deck aside, swap the new site in atomically.

A build holds a lock (a second one waits, then says who holds it). The site is built in a
sibling directory and exchanged with the old one in one rename, so a build killed at any point
leaves the previous site as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .cache import leftover_is_dead
from .compiled_templates import kept_if_build_succeeds
from .deck import write_deck
from .errors import W2WError
from .pages import Prepared, prepare
from .project import Project


@dataclass
class BuildResult:
    prepared: Prepared
    site_dir: Path
    seconds: float


@contextlib.contextmanager
def build_lock(project: Project, wait_seconds: float = 600, say: Callable[[str], None] = lambda _: None) -> Iterator[None]:
    project.state_dir.mkdir(parents=True, exist_ok=True)
    path = project.state_dir / "build.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    handle.seek(0)
                    say(f"another build is running ({handle.read().strip() or 'unknown process'}); waiting for it")
                    told = True
                if time.monotonic() > deadline:
                    raise W2WError(
                        f"another build still holds {path} after {wait_seconds:.0f} s",
                        "wait for it to finish, or stop it",
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_site(project: Project, say: Callable[[str], None] = lambda _: None, strict: bool = False) -> BuildResult:
    started = time.perf_counter()
    with build_lock(project, say=say), kept_if_build_succeeds():
        _remove_leftovers(project)
        prepared = prepare(project, say, strict)
        for warning in prepared.warnings:
            say(f"warning: {warning}")
        site = project.site_dir
        staging = Path(tempfile.mkdtemp(prefix=f".site-new.pid{os.getpid()}-", dir=site.parent))
        _make_readable(staging)
        try:
            _mkdocs_build(project, prepared, staging, say)
            write_deck(prepared, staging / "slides")
            swap_in(staging, site)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return BuildResult(prepared, site, time.perf_counter() - started)


def freeze(project: Project, say: Callable[[str], None] = lambda _: None, force: bool = False) -> list[str]:
    """Record the current artifacts (made now if needed) as the talk's frozen outputs."""
    from .frozen import FrozenStore

    with build_lock(project, say=say):
        prepared = prepare(project, say)
        jobs = {job.name: job for job in prepared.plan.jobs}
        FrozenStore(project.frozen_dir).freeze(
            {
                name: (artifact, jobs[name].fields, jobs[name].requested)
                for name, artifact in prepared.produced.artifacts.items()
            },
            force=force,
        )
    return sorted(prepared.produced.artifacts)


def _make_readable(directory: Path) -> None:
    """mkdtemp makes 0700 directories; the published site gets the usual mode (web servers read it)."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)


def _remove_leftovers(project: Project) -> None:
    """Scratch directories of killed builds and generator runs (their process is gone)."""
    candidates = list(project.site_dir.parent.glob(".site-*"))
    candidates += list(project.artifacts_dir.glob("*/.*")) if project.artifacts_dir.is_dir() else []
    candidates += list(project.frozen_dir.glob(".*")) if project.frozen_dir.is_dir() else []
    for path in candidates:
        if path.is_dir() and leftover_is_dead(path):
            shutil.rmtree(path, ignore_errors=True)


def _mkdocs_build(project: Project, prepared: Prepared, site_dir: Path, say: Callable[[str], None]) -> None:
    import logging

    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    from . import handout_plugin

    # MkDocs' own log lines are collected, not printed: warnings are passed on after a good build;
    # after a failed one the user error alone is reported.
    records: list[logging.LogRecord] = []
    collector = logging.Handler(logging.WARNING)
    collector.emit = records.append
    logger = logging.getLogger("mkdocs")
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers, logger.propagate, logger.level = [collector], False, logging.WARNING
    handout_plugin.hand_over(prepared)
    try:
        config = load_config(str(project.mkdocs_yml), site_dir=str(site_dir))
        build(config)
    except MkDocsException as exc:
        if handout_plugin.last_error is not None:
            raise handout_plugin.last_error from None
        detail = "; ".join(r.getMessage() for r in records) or str(exc)
        raise W2WError(f"handout build failed: {detail}", "fix the handout configuration", project.mkdocs_yml, 1) from None
    finally:
        handout_plugin.hand_over(None)
        logger.handlers, logger.propagate, logger.level = saved
    for record in records:
        say(f"warning: mkdocs: {record.getMessage()}")


def swap_in(new: Path, current: Path) -> None:
    """Make `new` the directory at `current`: one atomic exchange where Linux allows it."""
    if current.exists() and _exchange(new, current):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old site
        return
    old = current.with_name(f".site-old.pid{os.getpid()}-")
    if current.exists():
        os.replace(current, old)
    os.replace(new, current)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """renameat2(RENAME_EXCHANGE): swap two paths atomically. False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    result = renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return result == 0
