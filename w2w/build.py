"""`w2w build-talk`: prepare the talk, build handout + deck aside, swap the new site in atomically.

A build holds a lock (a second one waits, then says who holds it). The site is built in a
sibling directory and exchanged with the old one in one rename, so a build killed at any point
leaves the previous site as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from w2w.artifacts.cache import remove_tree
from w2w.atomic import swap_in, writer_is_dead
from w2w.errors import W2WError
from w2w.project import Project
from w2w.publish.deck import write_deck
from w2w.publish.preflight import check_site_needs
from w2w.render.prepare import Prepared, prepare
from w2w.talk.compiled_templates import kept_if_build_succeeds

log = logging.getLogger(__name__)


@dataclass
class BuildResult:
    prepared: Prepared
    site_dir: Path
    seconds: float


@contextlib.contextmanager
def build_lock(project: Project, wait_seconds: float = 600) -> Iterator[None]:
    """One build (or freeze) of a project at a time: filelock's lock on .w2w/build.lock. A second
    build says who holds it and waits. The holder's pid is written beside the lock for that message
    (the lock file itself stays filelock's)."""
    from filelock import FileLock, Timeout

    project.state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(project.state_dir / "build.lock")
    owner = project.state_dir / "build.owner"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = owner.read_text().strip() if owner.is_file() else "unknown process"
        log.info("another build is running (%s); waiting for it", holder)
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout:
            raise W2WError(
                f"another build still holds {lock.lock_file} after {wait_seconds:.0f} s",
                "wait for it to finish, or stop it",
            ) from None
    try:
        owner.write_text(f"pid {os.getpid()}")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def build_site(project: Project, strict: bool = False) -> BuildResult:
    started = time.perf_counter()
    with build_lock(project), kept_if_build_succeeds():
        _remove_leftovers(project)
        site = project.site_dir
        if os.path.lexists(site) and not site.is_dir():
            raise W2WError(
                f"{site} is a file, not the site's directory", "move that file away: the build writes the site there"
            )
        prepared = prepare(project, strict, before_models=lambda: check_site_needs(project))
        for warning in prepared.warnings:
            log.warning(warning)
        _check_time_claims(prepared, strict)
        staging = Path(tempfile.mkdtemp(prefix=f".site-new.pid{os.getpid()}-", dir=site.parent))
        _make_readable(staging)
        try:
            _mkdocs_build(project, prepared, staging)
            write_deck(prepared, staging / "slides")
            swap_in(staging, site)
        except BaseException:
            _remove_or_warn(staging)
            raise
    return BuildResult(prepared, site, time.perf_counter() - started)


def freeze(project: Project, force: bool = False) -> list[str]:
    """Record the current artifacts (made now if needed) as the talk's frozen outputs."""
    from w2w.artifacts.frozen import FrozenStore

    with build_lock(project):
        prepared = prepare(project)
        jobs = {job.name: job for job in prepared.plan.jobs}
        FrozenStore(project.frozen_dir).freeze(
            {
                name: (artifact, jobs[name].fields, jobs[name].requested)
                for name, artifact in prepared.produced.artifacts.items()
            },
            force=force,
        )
    return sorted(prepared.produced.artifacts)


def _check_time_claims(prepared: Prepared, strict: bool) -> None:
    """Notes that state minutes the agenda contradicts: an error with --strict, else warnings."""
    from w2w.render.pacing import check_time_claims, time_claims

    if strict:
        check_time_claims(prepared)
        return
    for claim in time_claims(prepared):
        log.warning(claim.message())


def _make_readable(directory: Path) -> None:
    """mkdtemp makes 0700 directories; the published site gets the usual mode (web servers read it)."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)


def _remove_leftovers(project: Project) -> None:
    """Scratch directories of killed builds and generator runs (their process is gone). One that
    cannot be removed is named in a warning on every build until it is, never left in silence."""
    candidates = list(project.site_dir.parent.glob(".site-*"))
    candidates += list(project.artifacts_dir.glob("*/.*")) if project.artifacts_dir.is_dir() else []
    candidates += list(project.frozen_dir.glob(".*")) if project.frozen_dir.is_dir() else []
    for path in candidates:
        if path.is_dir() and writer_is_dead(path):
            _remove_or_warn(path)


def _remove_or_warn(path: Path) -> None:
    failure = remove_tree(path)
    if failure is not None:
        log.warning(
            "%s: could not remove this leftover of a build (%s) — remove it by hand (rm -rf '%s')",
            path,
            failure.strerror or failure,
            path,
        )


def _mkdocs_build(project: Project, prepared: Prepared, site_dir: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    from w2w.publish import handout_plugin

    # MkDocs' own log lines are collected, not printed: warnings are passed on after a good build;
    # after a failed one the user error alone is reported.
    records: list[logging.LogRecord] = []
    collector = logging.Handler(logging.WARNING)
    collector.emit = records.append
    logger = logging.getLogger("mkdocs")
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers, logger.propagate, logger.level = [collector], False, logging.WARNING
    try:
        config = load_config(str(project.mkdocs_yml), site_dir=str(site_dir))
        plugin = config.plugins.get("w2w")
        if plugin is None:
            raise W2WError(
                "mkdocs.yml does not use the w2w plugin", "list `- w2w` under `plugins:`", project.mkdocs_yml, 1
            )
        plugin.config.prepared = prepared  # the plugin builds the handout from this, not again
        build(config)
    except MkDocsException as exc:
        user_error = handout_plugin.user_error(exc)
        if user_error is not None:
            raise user_error from None
        raise mkdocs_error(exc, records, project.mkdocs_yml) from None
    finally:
        logger.handlers, logger.propagate, logger.level = saved
    for record in records:
        log.warning("mkdocs: %s", record.getMessage())


def mkdocs_error(exc: BaseException, records: list, path: Path) -> W2WError:
    """MkDocs' failure as one line at the right line of mkdocs.yml: its YAML errors carry PyYAML's
    several lines of position; its config errors are logged as "Config value 'theme': ..."."""
    import re

    import yaml

    from w2w.talk.yaml_source import top_level_key_line, yaml_error

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    cause = exc
    while cause is not None and not isinstance(cause, yaml.YAMLError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return yaml_error(cause, path, text)
    errors = [r for r in records if r.levelno >= logging.ERROR] or records
    message = " ".join((errors[0].getMessage() if errors else str(exc)).split())
    match = re.match(r"Config value '([^']+)': (.*)", message)
    if match:
        key, what = match.groups()
        return W2WError(
            f"mkdocs.yml {key}: {what}",
            "fix this setting (see the MkDocs and Material docs)",
            path,
            top_level_key_line(text, key, what),
        )
    return W2WError(f"handout build failed: {message}", "fix the handout configuration", path, 1)
