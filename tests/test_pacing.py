"""Pacing: words of the speaker notes at a speaking rate vs the agenda's minutes, and the deck's
own pacing timer (reveal.js data-timing) adding up to the agenda."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from cli_in_process import run_cli

from w2w.render.pacing import SectionPace, count_words, section_paces, warnings

pytestmark = pytest.mark.build


def test_word_count_of_plain_notes():
    assert count_words("Say hello and ask who has used an LLM.") == 9
    assert count_words("Walk through the diagram.") == 4
    assert count_words("") == 0


def test_word_count_ignores_markup_link_targets_and_code():
    notes = textwrap.dedent(
        """\
        **Don't** rush: the *text-to-image* demo runs [live](https://example.com/a/b-c.html)
        at 0.80 similarity, on <span class="x">1,000</span> steps.

        ```python
        print("code is shown, not read aloud")
        ```

        - One
        - `two`
        """
    )
    # Don't, rush, the, text-to-image, demo, runs, live, at, 0.80, similarity, on, 1,000, steps, One, two
    assert count_words(notes) == 15


@pytest.mark.parametrize(
    "minutes, words, verdict",
    [
        (2, 130, "ok"),  # 1 min of notes for 2 min: 50%, on the threshold
        (2, 129, "short"),  # just under 50%
        (2, 299, "ok"),  # 2.3 min: 115%, on the threshold
        (2, 300, "long"),  # just over 115%
        (0, 0, "ok"),
        (0, 5, "long"),  # notes for a section that has no time
    ],
)
def test_thresholds(minutes, words, verdict):
    pace = SectionPace("s", "S", minutes, 1, words, 130)
    assert pace.verdict(0.5, 1.15) == verdict
    assert len(warnings([pace])) == (verdict != "ok")


def test_warning_lines_name_section_numbers_and_thresholds():
    short, long_ = SectionPace("intro", "Intro", 10, 3, 260, 130), SectionPace("demo", "Demo", 1, 2, 520, 130)
    lines = warnings([short, long_])
    assert lines[0].startswith("warning: intro: 2.0 min of notes (260 words) for 10 agenda min (20% < 50%) — ")
    assert lines[1].startswith("warning: demo: 4.0 min of notes (520 words) for 1 agenda min (400% > 115%) — ")


def test_paces_of_the_mini_talk_come_from_its_rendered_notes(mini_build):
    _, result = mini_build
    paces = section_paces(result.prepared, wpm=130)
    assert [(p.id, p.slides, p.minutes) for p in paces] == [("intro", 2, 2), ("maths", 2, 2), ("words", 2, 2)]
    # intro: "Say hello and ask who has used an LLM." + "Walk through the diagram."
    # words: "Dog and puppy are close: 0.80." (a live number, rendered) + "Computed at build time."
    assert [p.words for p in paces] == [9 + 4, 3 + 2, 6 + 4]
    assert all(p.verdict() == "short" for p in paces)
    assert section_paces(result.prepared, wpm=4)[0].verdict() == "long"  # 13 words: 3.25 min for 2


def test_pacing_command_prints_a_table_with_every_section(mini_build):
    root, _ = mini_build
    proc = run_cli("pacing", cwd=root)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "130 words/min" in out and "< 50%" in out and "> 115%" in out  # rate and thresholds stated
    for section, words in (("intro", 13), ("maths", 5), ("words", 10)):
        row = next(line for line in out.splitlines() if re.match(rf"^│\s*\d+\s*│\s*{section}\s*│", line))
        assert re.search(rf"\b{words}\b", row) and "short" in row
    assert len([line for line in out.splitlines() if line.startswith("warning: ")]) == 3
    # At 10 words per minute intro's 13 words take 65% of its 2 minutes: no warning for it.
    slow = run_cli("pacing", "--wpm", "10", cwd=root)
    assert slow.returncode == 0 and "10 words/min" in slow.stdout
    assert "warning: intro" not in slow.stdout and "warning: maths" in slow.stdout


@pytest.fixture(scope="module")
def retimed(mini_build, tmp_path_factory) -> Path:
    """The mini talk with minutes that do not divide evenly over a section's slides."""
    from w2w.build import build_site
    from w2w.project import Project

    root, _ = mini_build
    copy = tmp_path_factory.mktemp("pacing") / "talk"
    shutil.copytree(root, copy, symlinks=True)
    slides = "\n---\n".join(f"## Point {i}\n\nText {i}.\n\nNote:\nSay point {i}." for i in range(7))
    (copy / "talk" / "sections" / "seven.md").write_text(slides)
    talk = yaml.safe_load((copy / "talk" / "talk.yaml").read_text())
    talk["agenda"] = [
        {"id": "intro", "title": "Intro", "minutes": 3},
        {"id": "seven", "title": "Seven", "minutes": 1},
        {"id": "words", "title": "Words", "minutes": 5},
    ]
    talk["slot_minutes"] = 9
    (copy / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    build_site(Project(copy))
    return copy


def test_deck_timings_add_up_to_the_agenda_per_section_weighted_by_notes(retimed):
    html = (retimed / "site" / "slides" / "index.html").read_text()
    assert '"totalTime": 540' in html  # 9 agenda minutes
    timings: dict[str, list[int]] = {}
    for seconds, section_id in re.findall(r'<section [^>]*data-timing="(\d+)" data-section="([\w-]+)"', html):
        timings.setdefault(section_id, []).append(int(seconds))
    assert {k: len(v) for k, v in timings.items()} == {"intro": 2, "seven": 7, "words": 2}
    opening = re.findall(r'<section class="w2w-(?:title|agenda)" data-timing="(\d+)"', html)
    assert len(opening) == 2
    timings["intro"] += [int(s) for s in opening]  # title and agenda time comes out of the first part
    for section_id, minutes in (("intro", 3), ("seven", 1), ("words", 5)):
        spent = timings[section_id]
        assert sum(spent) == minutes * 60, (section_id, spent)  # whole seconds, adding up exactly
    # Seven slides with notes of the same length share 60 s evenly (largest remainders: 9 or 8 s).
    assert sorted(timings["seven"]) == [8, 8, 8, 9, 9, 9, 9]


def test_a_slide_with_longer_notes_gets_more_time(mini_build, tmp_path):
    from w2w.build import build_site
    from w2w.project import Project

    root, _ = mini_build
    copy = tmp_path / "talk"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("site"))
    intro = copy / "talk" / "sections" / "intro.md"
    long_notes = " ".join(["word"] * 156)  # 156 words vs the diagram slide's 30-word floor
    intro.write_text(intro.read_text().replace("Say hello and ask who has used an LLM.", long_notes))
    build_site(Project(copy))
    html = (copy / "site" / "slides" / "index.html").read_text()
    intro_timings = [int(s) for s in re.findall(r'data-timing="(\d+)" data-section="intro"', html)]
    opening = [int(s) for s in re.findall(r'<section class="w2w-(?:title|agenda)" data-timing="(\d+)"', html)]
    assert sum(intro_timings) + sum(opening) == 120
    # Weights: title and agenda notes (30-word floor each or their words), 156, 30.
    assert intro_timings[0] > 4 * intro_timings[1]
