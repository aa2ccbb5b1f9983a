"""The one exception type for mistakes a user can make, printed as `file:line: what — how to fix`."""

from __future__ import annotations

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
        return f"{where}{self.what} — {self.fix}"


def _display(file: str | Path) -> str:
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class InputError(ValueError):
    """Raised by a pydantic validator of talk.yaml settings (a generator's Inputs, say) to give the
    user's fix as well as what is wrong; config reports it at the setting's line."""

    def __init__(self, what: str, fix: str):
        super().__init__(what)
        self.what, self.fix = what, fix
