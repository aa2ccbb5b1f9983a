"""The suite's tiers stay true (tests/tiers.py): every test file carries a module-level `pytestmark`,
quick or the marks of what it needs, each mark registered in pyproject.toml with what it means;
and conftest.py's check, which fails a test whose fixtures need more than its marks say, shown
here on made-up tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from tiers import NEEDS, QUICK, file_marks, file_problems, item_problems

pytestmark = pytest.mark.quick
TESTS = Path(__file__).resolve().parent


def test_every_test_file_says_its_tier():
    files = sorted(TESTS.glob("test_*.py"))
    assert len(files) > 40  # the real suite
    problems = {f.name: p for f in files if (p := file_problems(file_marks(f)))}
    assert problems == {}


def test_each_mark_is_registered_with_what_it_means():
    config = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    registered = dict(line.split(": ", 1) for line in config["markers"])
    assert set(registered) == {QUICK, *NEEDS}
    assert all(len(meaning) > 20 for meaning in registered.values())
    assert "--strict-markers" in config["addopts"]  # a misspelt mark is an error, not a new tier


def test_a_file_without_a_mark_or_with_quick_and_a_need_is_refused(tmp_path):
    path = tmp_path / "test_x.py"
    path.write_text("import pytest\n\n\ndef test_x():\n    pass\n")
    assert file_problems(file_marks(path))[0].startswith("no module-level `pytestmark`")
    path.write_text("import pytest\n\npytestmark = [pytest.mark.quick, pytest.mark.browser]\n")
    assert file_marks(path) == ["quick", "browser"]
    assert file_problems(file_marks(path)) == ["quick and ['browser']: a quick file needs none of them"]
    path.write_text("import pytest\n\npytestmark = pytest.mark.slow\n")
    assert file_problems(file_marks(path))[0].startswith("unknown marks ['slow']")
    path.write_text("import pytest\n\npytestmark = [pytest.mark.build, pytest.mark.model]\n")
    assert file_problems(file_marks(path)) == []


def test_a_test_whose_fixtures_need_more_than_its_marks_is_refused():
    assert item_problems("t.py::a", {"quick"}, {"tmp_path", "mini_build"}) == [
        "t.py::a: marked quick but uses mini_build (build)"
    ]
    assert item_problems("t.py::b", {"build"}, {"mini_server", "live_build", "mini_build"}) == [
        "t.py::b: uses fixtures that need server; add them to the file's pytestmark"
    ]
    assert item_problems("t.py::c", {"build", "browser"}, {"mini_build", "chromium"}) == []
    assert item_problems("t.py::d", {"quick"}, {"tmp_path", "monkeypatch"}) == []
