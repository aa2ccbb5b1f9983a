"""Where things live in a w2w project (the directory holding talk/talk.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import W2WError


def read_source(path: Path) -> str:
    """A talk source as text; bytes that are not UTF-8 are a user error at their line."""
    data = path.read_bytes()
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
        here = (start or Path.cwd()).resolve()
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
