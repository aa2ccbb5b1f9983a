"""Where things live in a w2w project (the directory holding talk/talk.yaml)."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from w2w.errors import W2WError


def inside_project(
    path: Path, root: Path | None = None, what: str = "file", where: tuple = (), shown: str = ""
) -> Path:
    """`path` with every symlink resolved, refused unless that real path is inside the project.

    The one check for every file the talk makes w2w read (pages, includes, images, talk.yaml): a
    symlink in talk/ pointing at /etc/passwd would otherwise publish it in the deck, the handout and
    the search index. `root` defaults to the project holding `path`; `where` is (file, line) to
    blame, default the path itself; `shown` the name as the user wrote it. A name the filesystem
    cannot take (a NUL byte, over 255 bytes) is a user error too, not an OSError later on."""
    path = Path(path)
    root = Path(root) if root is not None else project_root_of(path)
    blame = where or (path, 1)
    label = shown or repr(str(path))
    label = label if len(label) <= 80 else label[:60] + "…" + label[-12:]
    try:
        real = path.resolve()
        real_root = root.resolve()
        if any(len(os.fsencode(part)) > 255 for part in real.parts):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
    except (OSError, ValueError) as exc:  # ValueError: embedded NUL byte; OSError: name too long, loop
        raise W2WError(f"{what} {label} cannot be used: {_reason(exc)}", _fix_name(exc), *blame) from None
    if not real.is_relative_to(real_root):
        link = "" if real == Path(os.path.abspath(path)) else f" (a symlink to {real})"
        named = f"this {what} is outside the project" if not where else f"{what} outside the project: {label}"
        raise W2WError(
            f"{named}{link}",
            "keep every file of the talk inside the project (copy it in; a symlink must point inside too)",
            *blame,
        )
    return real


def project_root_of(path: Path) -> Path:
    """The project directory holding `path` (the nearest parent with talk/talk.yaml), not resolved."""
    absolute = Path(os.path.abspath(path))
    for candidate in absolute.parents:
        if os.path.lexists(candidate / "talk" / "talk.yaml"):
            return candidate
    return absolute.parent


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValueError):
        return "it contains a NUL byte"
    return exc.strerror or type(exc).__name__


def _fix_name(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return "shorten the name (a file name holds at most 255 bytes)"
    return "use a plain relative path to a file inside the project"


def read_source(path: Path, where: tuple = ()) -> str:
    """A talk source as text, read from its real path inside the project; bytes that are not UTF-8
    are a user error at their line."""
    data = inside_project(path, what="file", where=where).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise W2WError(
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            "save it as UTF-8 in your editor",
            path,
            line,
        ) from None


@dataclass(frozen=True)
class Project:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        try:
            here = (start or Path.cwd()).resolve()
        except FileNotFoundError:
            raise W2WError(
                "the current directory no longer exists", "cd into the project again (or pass --project)"
            ) from None
        for candidate in (here, *here.parents):
            if (candidate / "talk" / "talk.yaml").is_file():
                return cls(candidate)
        raise W2WError(
            f"no talk/talk.yaml in {here} or its parents",
            "run w2w inside a w2w project (the directory with talk/ and mkdocs.yml)",
        )

    @property
    def talk_yaml(self) -> Path:
        return self.root / "talk" / "talk.yaml"

    @property
    def sections_dir(self) -> Path:
        return self.root / "talk" / "sections"

    @property
    def handout_dir(self) -> Path:
        return self.root / "talk" / "handout"

    @property
    def frozen_dir(self) -> Path:
        return self.root / "talk" / "frozen"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def state_dir(self) -> Path:
        """Build state that is not committed: caches, the build lock. CI caches this directory."""
        return Path(os.environ.get("W2W_STATE_DIR", self.root / ".w2w"))

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @property
    def artifacts_dir(self) -> Path:
        return self.cache_dir / "artifacts"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def mkdocs_yml(self) -> Path:
        return self.root / "mkdocs.yml"

    def section_file(self, section_id: str) -> Path:
        return self.sections_dir / f"{section_id}.md"

    def handout_file(self, page: str) -> Path:
        return self.handout_dir / f"{page}.md"
