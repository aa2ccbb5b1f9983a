"""Front-end files that come from npm (package.json + package-lock.json) and are copied into the site."""

from __future__ import annotations

from pathlib import Path

from w2w.errors import W2WError

# What the deck needs from reveal.js, relative to node_modules/reveal.js/.
REVEAL_FILES = ("dist/reset.css", "dist/reveal.css", "dist/reveal.js", "dist/plugin/notes.js")
# mkdocs-material's offline search needs this shim from file://; material would take it from a CDN.
IFRAME_WORKER_SHIM = "iframe-worker/shim/index.js"


def _missing(project_root: Path, what: str) -> W2WError:
    return W2WError(
        f"{what} is not installed (node_modules/ is missing or incomplete)",
        "run `npm ci` in the project root (package-lock.json pins the versions)",
        project_root / "package.json",
        1,
    )


def reveal_dir(project_root: Path) -> Path:
    path = project_root / "node_modules" / "reveal.js"
    if not all((path / f).is_file() for f in REVEAL_FILES):
        raise _missing(project_root, "reveal.js")
    return path


def iframe_worker_shim(project_root: Path) -> Path:
    path = project_root / "node_modules" / IFRAME_WORKER_SHIM
    if not path.is_file():
        raise _missing(project_root, "iframe-worker")
    return path
