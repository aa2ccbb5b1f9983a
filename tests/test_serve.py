"""`w2w serve` for real: a server on 127.0.0.1, a browser on one of its pages, a section broken and
then fixed on disk. The page shows the build error (`file:line: what — fix`) and then the talk
again, both through MkDocs' livereload, with no reload by the test."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.build, pytest.mark.server, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served(mini_build, tmp_path):
    root, _ = mini_build
    copy = tmp_path / "talk"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("site"))
    port = _free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "w2w", "serve", "--address", f"127.0.0.1:{port}"],
        cwd=copy,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield copy, f"http://127.0.0.1:{port}", proc, tmp_path / "serve.log"
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test may have stopped it already
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group, by its pid
        proc.wait(timeout=30)
        log.close()


def test_a_build_error_shows_in_the_browser_and_the_page_recovers(served, chromium):
    copy, url, proc, log = served
    section = copy / "talk" / "sections" / "words.md"
    good = section.read_text()
    page = chromium.new_page()
    # The first build runs before the server answers: retry until it does (no fixed sleep).
    for _ in range(120):
        try:
            page.goto(f"{url}/sections/words.html", timeout=5000)
            break
        except Exception:  # connection refused while the first build runs
            assert proc.poll() is None, log.read_text()
            page.wait_for_timeout(1000)
    page.wait_for_selector("h1#words", timeout=60000)

    broken = good.replace('{{ sim("dog", "puppy") }}', '{{ sim("dog", "puppy") }', 1)
    assert broken != good
    section.write_text(broken)
    error = page.wait_for_selector("#w2w-build-error", timeout=120000).inner_text()
    assert error.startswith("talk/sections/words.md:"), error
    assert " — " in error and "\n" not in error.strip()

    section.write_text(good)
    page.wait_for_selector("h1#words", timeout=120000)
    assert page.locator("#w2w-build-error").count() == 0
    assert proc.poll() is None  # still serving

    # Ctrl-C: MkDocs catches its own KeyboardInterrupt and returns; w2w still says so and exits 130.
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    lines = log.read_text().strip().splitlines()
    assert lines[-1] == "interrupted", lines[-3:]
    assert "Traceback" not in log.read_text()
