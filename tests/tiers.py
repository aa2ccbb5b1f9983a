"""The suite's tiers: each test file says, in a module-level `pytestmark`, either `quick` (no model,
no browser, no full build, no server: `make test-quick`, under a minute on 2 cores) or the marks of
what it needs (`build`, `browser`, `model`, `server`; pyproject.toml describes each). The marks
select: `pytest -m quick`, `-m "not browser"`, `-m "build and not server"`.

Two checks keep the marks true. tests/test_tiers.py reads every test file (plain `ast`, nothing
imported) for its `pytestmark`. conftest.py checks every collected test against the fixtures it
uses (directly or through other fixtures): a test that uses `mini_build` carries `build`, one that
uses `chromium` carries `browser`, and a quick one uses none of them; a test that does not fails
before its fixtures are set up. A need no fixture shows (a test that builds with `build_site`
itself) is the file's author's to mark.
"""

from __future__ import annotations

import ast
from pathlib import Path

QUICK = "quick"
NEEDS = ("build", "browser", "model", "server")

# The session fixtures that bring a need, by name (conftest.py defines them).
FIXTURE_NEEDS = {
    "mini_build": "build",
    "real_build": "build",
    "live_build": "build",
    "mini_server": "server",
    "chromium": "browser",
    "smollm2": "model",
    "tiny_sd_dir": "model",
    "encoder_path": "model",
    "require_smollm2": "model",
    "require_shapes": "model",
}


def file_marks(path: Path) -> list[str] | None:
    """The marks of the file's module-level `pytestmark = pytest.mark.x` (or a list of them); None
    when it has no such line."""
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            return [v.attr if isinstance(v, ast.Attribute) else ast.unparse(v) for v in values]
    return None


def file_problems(marks: list[str] | None) -> list[str]:
    if marks is None:
        return ["no module-level `pytestmark`: mark it quick, or with what it needs (build, browser, model, server)"]
    unknown = [m for m in marks if m not in (QUICK, *NEEDS)]
    if unknown:
        return [f"unknown marks {unknown}: use quick, build, browser, model or server"]
    if not marks:
        return ["an empty `pytestmark`: mark it quick, or with what it needs"]
    if QUICK in marks and len(marks) > 1:
        return [f"quick and {[m for m in marks if m != QUICK]}: a quick file needs none of them"]
    return []


def item_problems(nodeid: str, marks: set[str], fixtures: set[str]) -> list[str]:
    """A collected test against the fixtures it uses: each need a fixture brings is one of its marks."""
    needs = {FIXTURE_NEEDS[f] for f in fixtures if f in FIXTURE_NEEDS}
    if QUICK in marks and needs:
        used = sorted(f for f in fixtures if f in FIXTURE_NEEDS)
        return [f"{nodeid}: marked quick but uses {', '.join(used)} ({', '.join(sorted(needs))})"]
    missing = sorted(needs - marks)
    if missing:
        return [f"{nodeid}: uses fixtures that need {', '.join(missing)}; add them to the file's pytestmark"]
    return []
