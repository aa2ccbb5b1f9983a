"""Hostile input and a hostile machine, one test per class, on the real CLI: the build cannot be
turned against the machine (no file outside the project published, no Python run from a section,
no YAML that costs minutes), never ends in a traceback, and leaves nothing damaged or behind.

Reuses test_bad_input's built mini talk; the one generator run here (MiniLM, ~20 s on 2 cores) is
shared by the damaged-cache, failed-build and reproducibility tests.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_in_process import run_cli
from test_bad_input import _edit, _line_of, _snapshot, assert_user_error, base, project  # noqa: F401

from w2w.artifacts.cache import read_checked

pytestmark = [pytest.mark.build, pytest.mark.model]

W2W = [sys.executable, "-m", "w2w"]


def _one_line_error(proc: subprocess.CompletedProcess, progress: bool = False) -> str:
    """Exit 2, one line `error: ... — fix`, no traceback; returns the line. With `progress`, the
    build's progress lines (a generator ran) may come before it."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if progress:
        lines = [line for line in lines if not line.startswith(("  ", "Loading"))]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and " — " in lines[0], lines[0]
    return lines[0]


# --- 1. nothing outside the project is read: symlinks are resolved first ---------------------------


@pytest.mark.parametrize("kind", ["include", "page", "image", "deck-shell"])
def test_a_symlink_out_of_the_project_is_refused(project, kind):
    rel = "talk/sections/maths.md"
    if kind == "include":
        os.symlink("/etc/passwd", project / "talk" / "sections" / "passwd.md")
        _edit(project, rel, "Target switch.\n", 'Target switch.\n\n{% include "talk/sections/passwd.md" %}\n')
        where, what = (
            (rel, _line_of(project, rel, "{% include")),
            "included file outside the project: 'talk/sections/passwd.md'",
        )
    elif kind == "page":
        (project / rel).unlink()
        os.symlink("/etc/passwd", project / rel)
        where, what = (rel, 1), "this file is outside the project (a symlink to /etc/passwd)"
    elif kind == "deck-shell":
        (project / "templates" / "deck.html.j2").unlink()
        os.symlink("/etc/passwd", project / "templates" / "deck.html.j2")
        where, what = ("templates/deck.html.j2", 1), "this template is outside the project (a symlink to /etc/passwd)"
    else:
        os.symlink("/etc/hostname", project / "talk" / "host.png")
        _edit(project, rel, "Target switch.\n", "Target switch.\n\n![host](../host.png)\n")
        where, what = (rel, _line_of(project, rel, "host.png")), "figure path outside the project: '../host.png'"
    assert_user_error(project, *where, what)
    published = b"".join(p.read_bytes() for p in (project / "site").rglob("*") if p.is_file())
    assert b"root:x:0:0" not in published


# --- 2. talk.yaml's text is data wherever it lands --------------------------------------------------


def test_talk_values_written_in_a_section_are_escaped_in_deck_handout_and_search(project):
    talk = project / "talk" / "talk.yaml"
    talk.write_text(talk.read_text().replace("title: Mini talk", "title: <script>alert(1)</script>"))
    _edit(
        project,
        "talk/sections/maths.md",
        "Target switch.\n",
        "Target switch.\n\nTitle: {{ talk.title }} by <b>me</b>.\n",
    )
    proc = run_cli("build-talk", cwd=project)
    assert proc.returncode == 0, proc.stderr
    site = project / "site"
    for page in (
        site / "slides" / "index.html",
        site / "sections" / "maths.html",
        site / "search" / "search_index.json",
    ):
        text = page.read_text()
        assert "<script>alert(1)" not in text, page
    assert "Title: &lt;script&gt;alert(1)&lt;/script&gt; by <b>me</b>." in (site / "slides" / "index.html").read_text()
    assert (
        "Title: &lt;script&gt;alert(1)&lt;/script&gt; by <b>me</b>." in (site / "sections" / "maths.html").read_text()
    )


# --- 3. a section cannot run Python ----------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "cycler.__init__.__globals__.os.popen('touch PWNED').read()",
        "talk.__class__.__mro__[1].__subclasses__()",
        "'x' * 10 ** 10",
        "'x'|center(10 ** 9)",
        "'a\\nb'|indent(10 ** 9)",
        "'x y'|wordwrap(10 ** 9)",
        "'%*d'|format(10 ** 9, 1)",
        "'%999999999d'|format(1)",
        "'{:>999999999}'.format('x')",
    ],
    ids=[
        "globals",
        "subclasses",
        "huge-string",
        "center",
        "indent",
        "wordwrap",
        "format-star",
        "format-width",
        "str-format",
    ],
)
def test_a_section_cannot_reach_python_internals(project, expression):
    rel = "talk/sections/maths.md"
    _edit(project, rel, "Target switch.\n", f"Target switch.\n\n{{{{ {expression} }}}}\n")
    assert_user_error(project, rel, _line_of(project, rel, expression), "not allowed in a section")
    assert not (project / "PWNED").exists()


# --- 4 / 6 / 7. pathological or wrong YAML: refused at its line --------------------------------------

LAUGHS = "lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


@pytest.mark.parametrize(
    "old, new, needle, what",
    [
        ("slot_minutes: 6", "slot_minutes: 6\n" + LAUGHS, "l4: &f", "expands to over"),
        ("subtitle: A test", "subtitle: &loop [A test, *loop]", "subtitle: &loop", "recursive alias"),
        ("subtitle: A test", "subtitle: A test\ndate: 2026-02-30", "date: 2026-02-30", "day is out of range"),
        ("subtitle: A test", 'subtitle: "A test', 'subtitle: "A test', "a quote opened on this line"),
        ("- id: words", "- id: " + "w" * 300, "- id: www", "at most 100 characters"),
    ],
    ids=["billion-laughs", "recursive-alias", "no-such-date", "unclosed-quote", "id-too-long"],
)
def test_pathological_or_wrong_yaml_is_refused_at_its_line(project, old, new, needle, what):
    _edit(project, "talk/talk.yaml", old, new)
    assert_user_error(project, "talk/talk.yaml", _line_of(project, "talk/talk.yaml", needle), what)


# --- 6. the environment's faults: one line, exit 2, nothing half-written -----------------------------


def _limit_file_size():  # a full disk, as far as the build can tell: writes past 64 KiB fail (EFBIG)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))


def _busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize(
    "fault",
    [
        "state-dir-is-a-file",
        "home-is-a-file",
        "site-is-a-file",
        "disk-full",
        "cwd-deleted",
        "pdf-to-a-directory",
        "port-in-use",
        "port-out-of-range",
    ],
)
def test_environment_faults_are_one_line_errors(project, fault, tmp_path):
    env, cwd, args, preexec, keep = dict(os.environ), project, ["build-talk"], None, None
    if fault == "state-dir-is-a-file":
        (tmp_path / "state").write_text("not a directory")
        env["W2W_STATE_DIR"] = str(tmp_path / "state")
    elif fault == "home-is-a-file":  # the token trace converts its model into W2W_HOME/models
        (tmp_path / "home").write_text("not a directory")
        env["W2W_HOME"] = str(tmp_path / "home")
        _edit(
            project,
            "talk/sections/maths.md",
            "Target switch.\n",
            'Target switch.\n\n{{ token_trace("token_trace") }}\n',
        )
    elif fault == "site-is-a-file":
        shutil.rmtree(project / "site")
        (project / "site").write_text("not a directory")
    elif fault == "disk-full":
        shutil.rmtree(project / ".w2w" / "cache" / "jinja")  # something to write besides the site
        preexec = _limit_file_size
    elif fault == "cwd-deleted":
        cwd = tmp_path / "gone"
        cwd.mkdir()
        preexec = lambda: (os.chdir(cwd), os.rmdir(cwd))  # noqa: E731
    elif fault == "pdf-to-a-directory":
        args = ["export-pdf", "-o", "site"]
    elif fault == "port-in-use":
        keep = _busy_port()
        args = ["serve", "--address", f"127.0.0.1:{keep.getsockname()[1]}"]
    else:
        args = ["serve", "--address", "127.0.0.1:65536"]
    before = _snapshot(project) if fault != "site-is-a-file" else None
    try:
        proc = subprocess.run(
            W2W + args, cwd=cwd, env=env, preexec_fn=preexec, capture_output=True, text=True, timeout=300
        )
    finally:
        if keep is not None:
            keep.close()
    line = _one_line_error(proc)
    assert {
        "site-is-a-file": "is a file",
        "disk-full": "File too large",
        "cwd-deleted": "no longer exists",
        "pdf-to-a-directory": "is a directory",
        "port-in-use": "already in use",
        "port-out-of-range": "from 1 to 65535",
    }.get(fault, "a file is where a directory must be") in line
    if before is not None:
        assert _snapshot(project) == before  # the previous site and the cache as they were
    assert not [p for p in project.glob(".site-*")]  # no staging directory left beside the site


# --- 8. silent wrongness: a diagram past Mermaid's limit ---------------------------------------------


def test_a_diagram_over_mermaids_text_limit_is_an_error(project):
    rel = "talk/sections/intro.md"
    long = "".join(f"N{i}[a node with a fairly long label number {i}] --> N{i + 1}\n" for i in range(1200))
    _edit(project, rel, "C --> D[Diffusion Model - Renderer]\n", "C --> D[Diffusion Model - Renderer]\n" + long)
    assert_user_error(project, rel, _line_of(project, rel, "graph LR"), "over Mermaid's limit")


@pytest.mark.skipif(os.path.exists("/dev/nvidia0"), reason="this machine has CUDA")
def test_cuda_asked_for_on_a_machine_without_it_is_said_and_strict_fails(project):
    _edit(project, "talk/talk.yaml", "  device: cpu", "  device: cuda")
    line = _line_of(project, "talk/talk.yaml", "device: cuda")
    strict = _one_line_error(run_cli("build-talk", "--strict", cwd=project))
    assert f"talk/talk.yaml:{line}: models.device is cuda but this machine has no CUDA device" in strict
    proc = run_cli("build-talk", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert f"warning: talk.yaml:{line}: models.device is cuda" in proc.stderr
    assert "generators run: none" in proc.stderr  # the CPU's cached outputs: no rerun under a "cuda" key


# --- 9 / 10 / 12. damaged cache entries, a failed build's entries, two cold builds -------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


BUILD_TIME = "Computed at build time.\n"
BROKEN_DIAGRAM = "\n---\n\n## Broken\n\n```mermaid\ngraph LR\nB --> C]\n```\n"


@pytest.fixture(scope="module")
def regenerated(base, mini_build, tmp_path_factory):
    """A copy of the built mini talk whose every cached output is damaged (the artifact's PNG and
    SVG truncated, the diagram cut short, no compiled templates): so every output is made anew,
    first by a build that fails on the last section (after the diagram and the artifact are made),
    then by a good one."""
    root = tmp_path_factory.mktemp("regenerated") / "talk"
    shutil.copytree(base, root, symlinks=True)
    cache = root / ".w2w" / "cache"
    damaged = sorted(p for p in (cache / "artifacts").rglob("*") if p.suffix in (".png", ".svg")) + sorted(
        (cache / "diagrams").glob("*.svg")
    )
    for path in damaged:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    shutil.rmtree(cache / "jinja")
    # The failure is the last section's diagram: every section's Jinja has run by then (the notes'
    # time claims read it all first) and the first section's diagram has been drawn again.
    _edit(root, "talk/sections/words.md", BUILD_TIME, BUILD_TIME + BROKEN_DIAGRAM)
    failed = run_cli("build-talk", cwd=root)
    entries = {p.relative_to(cache): _digest(p) for p in cache.rglob("*") if p.is_file() and "jinja" not in p.parts}
    broken_line = _line_of(root, "talk/sections/words.md", "B --> C]")
    _edit(root, "talk/sections/words.md", BUILD_TIME + BROKEN_DIAGRAM, BUILD_TIME)
    good = run_cli("build-talk", cwd=root)
    return root, (failed, broken_line), entries, good, [p.relative_to(cache) for p in damaged]


def test_damaged_cache_entries_are_regenerated_not_published(regenerated, mini_build):
    root, (failed, _), _, good, damaged = regenerated
    assert "running embedding_plot" in failed.stderr, failed.stderr
    assert good.returncode == 0, good.stderr
    assert any(str(p).startswith("diagrams") for p in damaged) and any(p.suffix == ".png" for p in damaged)
    cache = root / ".w2w" / "cache"
    for rel in damaged:
        assert (cache / rel).is_file()  # replaced by a complete entry, which verifies
    svg = next((cache / "diagrams").glob("*.svg"))
    assert read_checked(svg) is not None
    original = mini_build[0] / "site" / "artifacts" / "embedding_plot" / "plot.png"
    assert _digest(root / "site" / "artifacts" / "embedding_plot" / "plot.png") == _digest(original)


def test_a_failed_build_keeps_only_complete_valid_entries_and_the_next_build_reuses_them(regenerated):
    root, (failed, broken_line), entries, good, _ = regenerated
    assert f"words.md:{broken_line}: invalid Mermaid diagram" in _one_line_error(failed, progress=True)
    cache = root / ".w2w" / "cache"
    assert any(str(p).startswith("diagrams") for p in entries) and any(str(p).startswith("artifacts") for p in entries)
    assert "generators run: none" in good.stderr, good.stderr  # the failed build's artifact is reused
    after = {p.relative_to(cache): _digest(p) for p in cache.rglob("*") if p.is_file() and "jinja" not in p.parts}
    assert after == entries  # the good build wrote no entry again and changed none


# Timing captions ("22.0 s" in a provenance line) are measurements of the run that made an artifact:
# they are stored with it, so builds from the same cache or frozen/ are identical byte for byte, and
# they are the one thing two builds that ran the generators anew may differ in (README, "Builds").
TIMING = re.compile(rb"(, )\d+\.\d( s)")
# The deck's embedded recordings (live slides) carry the measured speeds as JSON numbers.
TIMING_JSON = re.compile(
    rb'("(?:seconds_per_step|seconds_per_image|tokens_per_second|best_s|median_s|cpu_s_of_best|seconds)": )[0-9.e-]+'
)


def _without_timings(data: bytes) -> bytes:
    return TIMING_JSON.sub(rb"\1T", TIMING.sub(rb"\1T\2", data))


def test_two_cold_builds_are_byte_identical_except_timing_captions(regenerated, mini_build):
    root, *_ = regenerated
    first, second = mini_build[0] / "site", root / "site"
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    differ = []
    for rel in files:
        a, b = (first / rel).read_bytes(), (second / rel).read_bytes()
        if a != b and _without_timings(a) != _without_timings(b):
            differ.append(str(rel))
    assert differ == []


# --- 11. what a dead build left is removed by the next one -------------------------------------------


def test_a_dead_builds_read_only_leftovers_are_removed_by_the_next_build(project):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    staging = project / f".site-new.pid{dead.stdout.strip()}-x1"  # named like a staging dir of a dead pid
    (staging / "slides" / "artifacts").mkdir(parents=True)
    (staging / "slides" / "artifacts" / "plot.png").write_bytes(b"half")
    for directory in (staging / "slides" / "artifacts", staging / "slides", staging):
        directory.chmod(0o555)  # read-only, as a copy of read-only files leaves it
    proc = run_cli("build-talk", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert not staging.exists() and "warning" not in proc.stderr
