"""Every command run as a newcomer runs it: a real `w2w` process, no flags beyond the project, in a
copy of the built mini talk. The commands with a browser or a server have their default path
tested where their subject is (test_check, test_pdf_export, test_serve, and `w2w present` starts the
shared server of the server files: conftest `mini_server`); this file holds the rest, and bad option
values, which are one line on every command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.build


def w2w(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "w2w", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
    )


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """Exit 2, no traceback, and one `error:` line, the last (progress lines may come before it)."""
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:] and " — " in errors[0], lines
    return errors[0]


@pytest.fixture(scope="module")
def talk(mini_build, tmp_path_factory):
    root = tmp_path_factory.mktemp("defaults") / "talk"
    shutil.copytree(mini_build[0], root, symlinks=True)
    return root


def test_build_talk_status_freeze_and_pacing(talk):
    built = w2w("build-talk", cwd=talk)
    assert built.returncode == 0, built.stderr
    assert "generators run: none" in built.stderr and (talk / "site" / "slides" / "index.html").is_file()

    status = w2w("status", cwd=talk)
    assert status.returncode == 0, status.stderr
    rows = [line.split() for line in status.stderr.splitlines() if line.strip()]
    assert {row[0] for row in rows} == {"embedding_plot"} and all(row[1] == "fresh" for row in rows)

    frozen = w2w("freeze", cwd=talk)
    assert frozen.returncode == 0, frozen.stderr
    assert "froze embedding_plot into" in frozen.stderr
    assert (talk / "talk" / "frozen" / "lock.json").is_file()
    assert "frozen output" in w2w("status", cwd=talk).stderr  # what freeze wrote is what status now reads

    pacing = w2w("pacing", cwd=talk)
    assert pacing.returncode == 0, pacing.stderr
    assert "Traceback" not in pacing.stderr and "intro" in pacing.stdout


def test_models_pull_offline_is_one_line(talk):
    """The one command that downloads, on a machine that cannot: one line naming the model."""
    line = one_error_line(w2w("models", "pull", cwd=talk, HF_HUB_OFFLINE="1"))
    assert "could not download sentence-transformers/all-MiniLM-L6-v2" in line


def test_train_shapes_keeps_the_shipped_weights(talk):
    """By default it would write where the shipped model lives: it refuses, and says how not to."""
    from w2w_generators.shapes.training import WEIGHTS_DIR

    before = {p: p.stat().st_mtime_ns for p in WEIGHTS_DIR.rglob("*")}
    proc = w2w("train-shapes", cwd=talk)
    line = one_error_line(proc)
    assert "already holds trained weights" in line and "--overwrite" in line
    assert "training" not in proc.stderr.replace("trained", "")  # refused before it began
    assert {p: p.stat().st_mtime_ns for p in WEIGHTS_DIR.rglob("*")} == before


@pytest.mark.parametrize(
    "args, said",
    [
        (["present", "--port", "65536"], "Invalid value for '--port'"),
        (["present", "--port", "0"], "Invalid value for '--port'"),
        (["present", "--port", "eighty"], "Invalid value for '--port'"),
        (["pacing", "--wpm", "0"], "Invalid value for '--wpm'"),
        (["build-talk", "--bogus"], "No such option: --bogus"),
        (["export-pdf", "--output"], "requires an argument"),
        (["nope"], "No such command 'nope'"),
    ],
    ids=["port-too-high", "port-zero", "port-not-a-number", "wpm-zero", "unknown-option", "missing-value", "command"],
)
def test_a_bad_option_value_is_one_line(talk, args, said):
    line = one_error_line(w2w(*args, cwd=talk))
    assert said in line and "--help`" in line
