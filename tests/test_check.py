"""`w2w check`: the built deck and handout opened offline; one line per problem, exit 1 if any.

The mini talk passes, the 16 px rule for slide text included. A copy
of it with one section of deliberate mistakes (40 bullets on a slide, an image without alt text,
faint inline text, an image from the network, a box wider than a phone) is built and checked once;
each test then looks for its problem, at its slide, in that one report.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.build, pytest.mark.browser]

# where: rule: selector: fix
PROBLEM_LINE = re.compile(r"^(slides#/\d+|slides|[\w./-]+\.html): [a-z0-9-]+: \S.*: \S.*$")

# Slides 0-7 are the mini talk (title, agenda, 3 sections of 2 slides): "bad" starts at slide 8.
BAD = {
    "bad": textwrap.dedent(
        """\
        # Too much

        {% for i in range(40) %}- bullet line {{ i }}
        {% endfor %}
        Note:
        Far too long for one slide.

        ---

        ## No alt text

        <img src="../artifacts/embedding_plot/plot.png" width="200">

        ---

        ## Faint

        <p style="color: #c8c8c8">Hard to read on a light slide.</p>

        ---

        ## Remote picture

        <img src="https://example.com/x.png" alt="a picture from the network">

        <div style="width: 600px">A box as wide as a tablet.</div>
        """
    )
}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "w2w", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def broken(mini_build, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The mini talk plus the "bad" section, built (artifacts come from the copied cache) and checked."""
    root, _ = mini_build
    copy = tmp_path_factory.mktemp("check") / "talk"
    shutil.copytree(root, copy, symlinks=True)
    (copy / "talk" / "sections" / "bad.md").write_text(BAD["bad"])
    talk = yaml.safe_load((copy / "talk" / "talk.yaml").read_text())
    talk["agenda"].append({"id": "bad", "title": "Bad", "minutes": 2})
    talk["slot_minutes"] += 2
    (copy / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    build = _cli("build-talk", cwd=copy)
    assert build.returncode == 0, build.stderr
    return copy, _cli("check", "--project", str(copy), cwd=copy.parent)


def _lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.strip()]


def _small_text_aside(lines: list[str]) -> list[str]:
    """Until the deck's CSS gives footers and provenance lines 16 px, the mini talk has those."""
    return [line for line in lines if ": min-font-size: " not in line]


def test_the_mini_talk_in_the_same_report_passes(broken):
    """The mini talk's own slides (0-7) and pages are in the report and have no problem: what `w2w
    check` reports is the bad section's, and nothing else. (One check of mini + bad, not a second
    of mini alone: each `w2w check` costs some 10 s of the suite. A whole talk with nothing found is
    the real talk, through the same check_deck and check_pages: tests/test_full_talk.py.)"""
    _, proc = broken
    lines = _lines(proc)
    assert lines
    for line in lines:
        where = line.split(": ", 1)[0]
        assert where == "sections/bad.html" or (where.startswith("slides#/") and int(where[8:]) >= 8), line


def test_problems_are_one_line_each_and_exit_1(broken):
    _, proc = broken
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = _lines(proc)
    assert lines and all(PROBLEM_LINE.match(line) for line in lines), lines
    assert len(lines) == len(set(lines))  # no problem reported twice
    assert "check: " in proc.stderr and "problems in 12 slides and 7 pages" in proc.stderr


def test_overflowing_slide_is_reported_with_its_index(broken):
    _, proc = broken
    overflow = [line for line in _lines(proc) if "slide-overflow" in line]
    assert overflow and overflow[0].startswith("slides#/8: slide-overflow: section: content is ")
    assert "'Too much'" in overflow[0]
    assert not any(
        line.startswith(("slides#/2:", "slides#/6:")) for line in _small_text_aside(_lines(proc))
    )  # good slides pass


def test_image_without_alt_is_reported_in_deck_and_handout(broken):
    _, proc = broken
    lines = _lines(proc)
    assert any(line.startswith("slides#/9: image-alt: ") for line in lines), lines
    assert any(line.startswith("sections/bad.html: image-alt: ") for line in lines), lines
    assert not any("image-alt" in line and "slides#/6" in line for line in lines)  # the figure macro's alt


def test_low_contrast_inline_style_is_reported(broken):
    _, proc = broken
    lines = _lines(proc)
    deck = [line for line in lines if line.startswith("slides#/10: color-contrast: ")]
    assert len(deck) == 1 and "foreground color: #c8c8c8" in deck[0] and "Expected contrast ratio of 3:1" in deck[0]
    page = [line for line in lines if line.startswith("sections/bad.html: color-contrast: ")]
    assert len(page) == 1 and "#c8c8c8" in page[0] and "Expected contrast ratio of 4.5:1" in page[0]


def test_network_request_is_reported_and_blocked(broken):
    _, proc = broken
    lines = _lines(proc)
    assert "slides#/11: network-request: https://example.com/x.png: blocked; ship the file with the talk" in lines
    assert (
        "sections/bad.html: network-request: https://example.com/x.png: blocked; ship the file with the talk" in lines
    )
    # Reported once as a request, not again as a console error or an undecoded image.
    assert sum("example.com" in line for line in lines) == 2


def test_a_page_wider_than_a_phone_is_reported(broken):
    _, proc = broken
    wide = [line for line in _lines(proc) if "page-overflow" in line]
    assert len(wide) == 1 and wide[0].startswith("sections/bad.html: page-overflow: div: the page scrolls sideways by ")
    assert "at 390 px wide" in wide[0]
