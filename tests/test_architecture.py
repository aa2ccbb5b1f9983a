"""The house's rules, held by a test rather than by prose (ARCHITECTURE.md states them; this
reads every import of w2w/ and w2w_generators/, function-level and TYPE_CHECKING ones included,
and checks them): no import cycle of any kind; the engine names no generator; generators reach
the engine only through `w2w.plugin_api`; a generator folder imports only itself and the shared
folders; no stage of the engine reaches back up. Each rule is also shown to fail on a planted
violation, in a copy of the tree, so that a rule that can no longer see is noticed."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_rules import LAYERS, generator_folders, imports, modules, violations

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.quick


def test_the_house_holds_every_rule():
    assert violations(REPO) == []


def test_every_engine_module_belongs_to_a_stage_and_every_generator_is_a_folder():
    engine = [name for name in modules(REPO) if name.split(".")[0] == "w2w"]
    assert len(engine) > 40  # the rules read the real tree
    prefixes = [p for layer in LAYERS for p in layer]
    assert all(name == "w2w" or any(name == p or name.startswith(p + ".") for p in prefixes) for name in engine)
    assert {"embedding_plot", "token_trace", "diffusion_demo", "shapes_eval"} <= generator_folders(REPO)
    assert len(imports(REPO)) > 150


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in modules(REPO).values() if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


@pytest.mark.parametrize(
    ("where", "line", "expected"),
    [
        # a cycle made only by a function-level import
        ("w2w/errors.py", "from w2w.project import Project", "import cycle: w2w.errors <-> w2w.project"),
        ("w2w/artifacts/plan.py", "from w2w_generators.shared import minilm", "the engine names a generator"),
        ("w2w_generators/shared/minilm.py", "from w2w.atomic import write_text", "a generator reaches past"),
        (
            "w2w_generators/shapes_eval/generator.py",
            "from w2w_generators.diffusion_demo.generator import DiffusionDemo",
            "generator folder shapes_eval/ imports another generator's",
        ),
        ("w2w_generators/shapes/world.py", "import w2w_generators.token_trace.tree", "shared folder shapes/ imports"),
        ("w2w/talk/config.py", "from w2w.render import slides", "a stage reaches back up: w2w.talk.config"),
    ],
)
def test_a_planted_violation_fails_the_rules(where, line, expected):
    found = violations(REPO, {where: f"\n\ndef _planted():\n    {line}\n"})
    assert any(v.startswith(expected) for v in found), found


def test_a_planted_type_checking_import_counts():
    planted = {"w2w/project.py": "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import w2w.build\n"}
    assert any("a stage reaches back up: w2w.project" in v for v in violations(REPO, planted))


def test_a_folder_that_is_neither_a_generator_nor_shared_fails_the_rules(tmp_path):
    """A new folder must say what it is: a generator (its entry point) or a shared folder (SHARED)."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.entry-points."w2w.generators"]\nmade = "w2w_generators.made.generator:Made"\n'
    )
    for folder in ("made", "shared", "stray"):
        (tmp_path / "w2w_generators" / folder).mkdir(parents=True)
        (tmp_path / "w2w_generators" / folder / "__init__.py").write_text("")
    (tmp_path / "w2w").mkdir()
    found = violations(tmp_path)
    assert found == ["w2w_generators/stray/ is neither a generator (entry point) nor in SHARED"]
