"""The one exception type for mistakes a user can make, printed as `file:line: what — how to fix`."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class W2WError(Exception):
    def __init__(self, what: str, fix: str, file: str | Path | None = None, line: int | None = None):
        super().__init__(what)
        self.what, self.fix, self.file, self.line = what, fix, file, line

    def located(self, file: str | Path, line: int | None = None) -> W2WError:
        """The same error, pinned to a place (keeps a more precise place it already has)."""
        if self.file is None:
            self.file = file
            self.line = self.line or line
        return self

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{_display(self.file)}:{self.line or 1}: "
        # One line, always: libraries' messages (transformers', PyYAML's) span several.
        return " ".join(f"{where}{self.what} — {self.fix}".split())


def _display(file: str | Path) -> str:
    path = Path(file)
    try:
        here = Path.cwd().resolve()
        for candidate in (Path(os.path.abspath(path)), path.resolve()):  # a symlink by its own name first
            if candidate.is_relative_to(here):
                return str(candidate.relative_to(here))
    except (ValueError, OSError):  # OSError: the working directory was deleted
        pass
    return str(path)


class InputError(ValueError):
    """Raised by a pydantic validator of talk.yaml settings (a generator's Inputs, say) to give the
    user's fix as well as what is wrong; config reports it at the setting's line. A validator of
    the whole model (several settings together) names the setting to point at in `at`, a key path
    below the model ("tree_depth",); pydantic's own place for it is the model's first line."""

    def __init__(self, what: str, fix: str, at: tuple = ()):
        super().__init__(what)
        self.what, self.fix, self.at = what, fix, at


_FILE_IN_THE_WAY = (
    "a file is where a directory must be: move the file away (or point W2W_HOME / W2W_STATE_DIR elsewhere)"
)
# errno -> what to do about it, for faults of the machine rather than of the talk.
_ENVIRONMENT_FIXES = {
    errno.ENOSPC: "free space on that disk (or point W2W_HOME / W2W_STATE_DIR at another one) and run it again",
    errno.EDQUOT: "free space within your quota and run it again",
    errno.EFBIG: "the file size limit was reached (ulimit -f); raise it or free space, then run it again",
    errno.EROFS: "that filesystem is read-only: make it writable, or point W2W_HOME / W2W_STATE_DIR / -o elsewhere",
    errno.EACCES: "you may not write there: fix its permissions, or point W2W_HOME / W2W_STATE_DIR / -o elsewhere",
    errno.EPERM: "you may not write there: fix its permissions, or point W2W_HOME / W2W_STATE_DIR / -o elsewhere",
    errno.ENOTDIR: _FILE_IN_THE_WAY,
    errno.EEXIST: _FILE_IN_THE_WAY,
    errno.EISDIR: "a directory is where a file must be: give a file name (e.g. -o out/talk.pdf)",
    errno.ENOENT: "it does not exist (removed while w2w ran?): recreate it or cd into the project, then run it again",
    errno.ENAMETOOLONG: "shorten the name (a file name holds at most 255 bytes)",
    errno.EADDRINUSE: "another program uses that port: stop it or choose another port",
    errno.EADDRNOTAVAIL: "that address is not on this machine: use 127.0.0.1:PORT",
}


def environment_error(exc: OSError) -> W2WError:
    """An OSError from the user's machine as a W2WError naming the path (one line)."""
    path = exc.filename if exc.filename is not None else None
    reason = exc.strerror or str(exc) or type(exc).__name__
    what = f"{os.fsdecode(path)}: {reason}" if path is not None else f"a file could not be written or read: {reason}"
    if exc.filename2 is not None:
        what += f" (-> {os.fsdecode(exc.filename2)})"
    fix = _ENVIRONMENT_FIXES.get(exc.errno, "check that path and the disk, then run it again")
    for variable in ("W2W_STATE_DIR", "W2W_HOME"):  # the place came from the user's environment
        value = os.environ.get(variable)
        if path is not None and value and os.fsdecode(path).startswith(value):
            what += f" ({variable}={value}: point it at a directory you can write to)"
            break
    return W2WError(" ".join(what.split()), fix)
