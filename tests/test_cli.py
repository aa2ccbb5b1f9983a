"""The command line: fast to start, no model library at start-up, every command listed."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.quick


def test_help_imports_no_model_library_and_lists_the_commands():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from w2w.cli.main import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(result.output)\n"
        "names = ('torch', 'transformers', 'diffusers', 'matplotlib', 'mkdocs', 'playwright', 'pydantic')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    for command in (
        "build-talk",
        "serve",
        "status",
        "freeze",
        "check",
        "export-pdf",
        "export-html",
        "pacing",
        "present",
        "models",
        "train-shapes",
        "generate",
    ):
        assert command in out


def test_outside_a_project_is_a_user_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "w2w", "build-talk"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no talk/talk.yaml" in proc.stderr and " — " in proc.stderr


@pytest.mark.parametrize("command", ["check", "export-pdf"])
def test_commands_on_the_built_site_say_to_build_first(tmp_path, command):
    from talk_factory import make_project

    root = make_project(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "w2w", command], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "w2w build-talk" in lines[0] and "Traceback" not in proc.stderr
    assert not (root / "site").exists()
