"""`w2w present` as a command: its user errors are one line with exit 2, and it knows when the built
site is stale. No model is loaded here."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import yaml
from talk_factory import make_project

from w2w.present.server import site_is_stale
from w2w.project import Project

pytestmark = pytest.mark.build


def present(root, *args):
    return subprocess.run(
        [sys.executable, "-m", "w2w", "present", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(proc) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and " — " in lines[0], lines
    return lines[0]


def test_no_build_without_a_built_deck_says_how_to_build(tmp_path):
    root = make_project(tmp_path)
    assert "w2w build-talk" in one_error_line(present(root, "--no-build"))
    assert not (root / "site").exists()
    assert site_is_stale(Project(root)) == "no built site"


def test_a_port_in_use_is_a_user_error(mini_build):
    root, _ = mini_build
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert "already in use" in one_error_line(present(root, "--no-build", "--port", str(port)))


def test_an_unknown_generator_in_only_is_a_user_error(mini_build):
    root, _ = mini_build
    assert "'nope'" in one_error_line(present(root, "--no-build", "--only", "nope"))


def test_bad_live_settings_in_talk_yaml_point_at_their_line(tmp_path):
    root = make_project(tmp_path)
    talk = root / "talk" / "talk.yaml"
    data = yaml.safe_load(talk.read_text())
    talk.write_text(yaml.safe_dump({**data, "live": {"timeout_s": 0, "port": 8765}}, sort_keys=False))
    line = one_error_line(present(root, "--no-build"))
    assert "talk.yaml:" in line and "timeout_s" in line
    talk.write_text(yaml.safe_dump({**data, "live": {"timeout": 5}}, sort_keys=False))
    assert "unknown key 'timeout'" in one_error_line(present(root, "--no-build"))


def test_the_site_is_stale_when_a_source_is_newer_than_the_deck(mini_build):
    root, _ = mini_build
    project = Project(root)
    assert site_is_stale(project) is None
    section = root / "talk" / "sections" / "intro.md"
    deck = root / "site" / "slides" / "index.html"
    saved = section.stat().st_mtime_ns
    try:
        later = deck.stat().st_mtime_ns + 10**9
        os.utime(section, ns=(later, later))
        assert "talk/sections/intro.md changed" in site_is_stale(project)
    finally:
        os.utime(section, ns=(saved, saved))
    assert site_is_stale(project) is None
