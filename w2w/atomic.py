"""Every write that must never be seen half-done goes through here: files and whole directories.

The rule, for each: write aside in the same directory (a hidden name that carries the writer's
pid), flush it to disk, then rename it into place, and flush the directory so the rename itself
survives a power cut. A reader sees the old complete thing or the new complete one, never a part.
A writer killed mid-way leaves only its hidden scratch name, which `remove_dead_scratch` clears on
a later run once that pid is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def scratch_name(target: Path, tag: str = "tmp") -> Path:
    """A hidden name beside `target` that says which process writes it."""
    return target.with_name(f".{target.name}.pid{os.getpid()}.{tag}")


def write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def write_text(path: Path, text: str, durable: bool = True) -> None:
    write_bytes(path, text.encode("utf-8"), durable)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported here (some filesystems): the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(directory: Path) -> None:
    """Flush every file of a finished scratch directory before it is renamed into place."""
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(directory)


@contextlib.contextmanager
def new_directory(target: Path, durable: bool = True) -> Iterator[Path]:
    """Yields an empty scratch directory beside `target`; when the block ends without an exception
    the finished directory replaces `target` (swap_in). On an exception it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.pid{os.getpid()}.", dir=target.parent))
    try:
        yield scratch
        if durable:
            fsync_tree(scratch)
        swap_in(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def swap_in(new: Path, current: Path) -> None:
    """Make the directory `new` the one at `current`: one atomic exchange where Linux allows it
    (renameat2), else two renames; the old content is removed afterwards."""
    if current.exists() and exchange(new, current):
        _remove(new)  # `new` now holds the old content
    else:
        old = scratch_name(current, "old")
        if current.exists():
            os.replace(current, old)
        os.replace(new, current)
        _remove(old)
    fsync_dir(current.parent)


def exchange(a: Path, b: Path) -> bool:
    """renameat2(RENAME_EXCHANGE): swap two paths atomically. False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


_PID = re.compile(r"\.pid(\d+)[.-]")


def writer_is_dead(path: Path) -> bool:
    """True for a scratch path whose writing process no longer exists (or that names none)."""
    match = _PID.search(path.name)
    if not match:
        return True
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_dead_scratch(directory: Path) -> list[Path]:
    """Remove the hidden scratch files and directories that dead writers left in `directory`."""
    removed = []
    if not directory.is_dir():
        return removed
    for path in directory.glob(".*.pid*"):
        if writer_is_dead(path):
            _remove(path)
            removed.append(path)
    return removed
