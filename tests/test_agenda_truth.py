"""The real talk reordered, with one part dropped and retimed to 45 minutes: what the speaker reads
and the audience sees follows the agenda (minutes, hand-overs, route, timer), and `--strict`
refuses an agenda or a note that disagrees with the slot."""

from __future__ import annotations

import html as htmllib
import itertools
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from cli_in_process import run_cli

from w2w.build import build_site
from w2w.project import Project
from w2w.render.pacing import time_claims
from w2w.talk.value_escaping import as_characters

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.build

# Reordered (vectors before the mechanism), multimodal switched off, every part retimed: 45 min.
AGENDA = [
    ("warm-up", 4),
    ("vectors", 8),
    ("how-they-differ", 8),
    ("internal-mechanism", 14),
    ("future", 7),
    ("conclusion", 4),
]
DROPPED = "multimodal"


def copy_talk(root: Path) -> Path:
    """The repository's talk, templates and handout config; the build cache comes along where there
    is one, so the frozen/cached outputs are reused and no model runs."""
    for name in ("talk", "templates"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    os.symlink(REPO / "node_modules", root / "node_modules")
    cache = REPO / ".w2w" / "cache" / "artifacts"
    if cache.is_dir():
        shutil.copytree(cache, root / ".w2w" / "cache" / "artifacts")
    return root


def retime(root: Path, agenda: list[tuple[str, int]], dropped: str | None, slot: int) -> None:
    path = root / "talk" / "talk.yaml"
    talk = yaml.safe_load(path.read_text())
    titles = {s["id"]: s["title"] for s in talk["agenda"]}
    talk["agenda"] = [{"id": i, "title": titles[i], "minutes": m} for i, m in agenda]
    if dropped:
        talk["agenda"].append({"id": dropped, "title": titles[dropped], "minutes": 15, "enabled": False})
    talk["slot_minutes"] = slot
    path.write_text(yaml.safe_dump(talk, sort_keys=False, allow_unicode=True))


@pytest.fixture(scope="module")
def reshuffled(tmp_path_factory):
    root = copy_talk(tmp_path_factory.mktemp("reshuffled"))
    retime(root, AGENDA, DROPPED, 45)
    result = build_site(Project(root), strict=True)  # strict: a stale claim or slot mismatch fails
    return root, result


def _notes_by_part(prepared) -> dict[str, list[str]]:
    return {
        section.id: [htmllib.unescape(as_characters(s.notes_text)) for s in prepared.render_slides(section, "deck", "")]
        for section in prepared.talk.sections
    }


def test_no_time_claim_disagrees_with_the_retimed_agenda(reshuffled):
    _, result = reshuffled
    assert time_claims(result.prepared) == []
    notes = _notes_by_part(result.prepared)
    # Each part that states its minutes states the new ones.
    for part_id, minutes in AGENDA:
        stated = re.findall(r"(\d+) minutes? (?:for|in total)|has (\d+) minutes?", " ".join(notes[part_id]))
        for a, b in stated:
            assert int(a or b) == minutes, (part_id, stated)
    assert re.search(r"has 14 minutes", " ".join(notes["internal-mechanism"]))


def test_every_part_reference_names_an_enabled_part_by_its_number(reshuffled):
    root, result = reshuffled
    shorts = {item.number: item.short for item in result.prepared.agenda}
    deck = htmllib.unescape((root / "site" / "slides" / "index.html").read_text())
    refs = re.findall(r"[Pp]art (\d+), “([^”]+)”", deck)
    assert len(refs) >= 10
    for number, short in refs:
        assert shorts[int(number)] == short
    dropped_title = "Multimodal LLMs vs diffusion models"
    assert dropped_title not in deck
    for page in (root / "site" / "sections").glob("*.html"):
        assert dropped_title not in htmllib.unescape(page.read_text()), page.name


def test_hand_overs_and_route_follow_the_new_order(reshuffled):
    _, result = reshuffled
    agenda = result.prepared.agenda
    notes = _notes_by_part(result.prepared)
    for item, following in itertools.pairwise(agenda):
        handed = re.findall(r"Hand over to part (\d+), “([^”]+)”", " ".join(notes[item.id]))
        assert handed == [(str(following.number), following.short)], item.id
    assert "Hand over to" not in " ".join(notes[agenda[-1].id])
    route = re.search(r"in one breath: (.*?)\. ", " ".join(notes["warm-up"])).group(1)
    assert re.findall(r"“([^”]+)”", route) == [item.short for item in agenda[1:]]


def test_the_timer_paces_to_the_slot_weighted_by_the_notes(reshuffled):
    root, result = reshuffled
    deck = (root / "site" / "slides" / "index.html").read_text()
    assert '"totalTime": 2700' in deck
    opening = [int(s) for s in re.findall(r'<section class="w2w-(?:title|agenda)" data-timing="(\d+)"', deck)]
    timings: dict[str, list[int]] = {}
    for seconds, part in re.findall(r'data-timing="(\d+)" data-section="([\w-]+)"', deck):
        timings.setdefault(part, []).append(int(seconds))
    assert list(timings) == [part for part, _ in AGENDA]
    timings["warm-up"] += opening  # the title and agenda slides share the first part's time
    for part, minutes in AGENDA:
        assert sum(timings[part]) == minutes * 60, part
    # Weighted by words: within a part, the slide with the longest notes gets the most time.
    from w2w.render.pacing import count_words

    for section in result.prepared.talk.sections:
        words = [count_words(s.notes_text) for s in result.prepared.render_slides(section, "deck", "")]
        seconds = timings[section.id][: len(words)]
        assert seconds.index(max(seconds)) == words.index(max(words)), section.id
    assert "Part 2 · 8 min" in deck  # the kicker of the moved part


def test_no_minutes_are_typed_by_hand_in_the_talk():
    """Time is said through the agenda macros: no number of minutes or seconds in the sources."""
    # Durations a speaker is told ("ten minutes", "about ninety seconds"); measured seconds such as
    # "0.08 seconds" per denoising step are numbers of the demo, not of the talk.
    words = (
        r"(?:a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|forty-five"
        r"|ninety|half a)"
    )
    pattern = re.compile(rf"\b(?:\d+[\s-]+minutes?|{words}[\s-]+(?:minutes?|seconds?))\b", re.I)
    for path in sorted((REPO / "talk" / "sections").glob("*.md")):
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", path.read_text())
        text = re.sub(r"ten to fifteen seconds", "", text)  # the length of a video clip, not of the talk
        for line_no, line in enumerate(text.splitlines(), start=1):
            # A training time ("trained in 44 minutes") is a fact about the demo model, not the talk.
            spoken = " ".join(s for s in re.split(r"(?<=[.!?])\s+", line) if not re.search(r"\btrain", s, re.I))
            assert not pattern.search(spoken), f"{path.name}:{line_no}: {pattern.search(spoken).group(0)}"
        assert not re.search(r"\b(?:next|previous) section\b", text), path.name


def test_strict_refuses_an_agenda_over_the_slot(mini_build, tmp_path):
    root, _ = mini_build
    copy = tmp_path / "talk"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("site"))
    talk = yaml.safe_load((copy / "talk" / "talk.yaml").read_text())
    talk["slot_minutes"] = 5  # the agenda adds up to 6
    (copy / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    lax = run_cli("build-talk", cwd=copy)
    assert lax.returncode == 0 and "agenda adds up to 6 min but slot_minutes is 5" in lax.stdout + lax.stderr
    deck = (copy / "site" / "slides" / "index.html").read_text()
    assert '"totalTime": 300' in deck  # paces to the slot, not to the longer agenda
    strict = run_cli("build-talk", "--strict", cwd=copy)
    assert strict.returncode == 2
    line = next(
        i
        for i, text in enumerate((copy / "talk" / "talk.yaml").read_text().splitlines(), 1)
        if text.startswith("agenda:")
    )
    assert re.search(
        rf"talk\.yaml:{line}: agenda adds up to 6 min but slot_minutes is 5 — ", strict.stderr + strict.stdout
    )
    assert "Traceback" not in strict.stderr


def test_a_typed_minutes_claim_is_flagged_with_its_line(mini_build, tmp_path):
    root, _ = mini_build
    copy = tmp_path / "talk"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("site"))
    intro = copy / "talk" / "sections" / "intro.md"
    intro.write_text(intro.read_text().replace("Say hello", "Ten minutes for this section. Say hello"))
    line = next(i for i, text in enumerate(intro.read_text().splitlines(), 1) if "Ten minutes" in text)
    pacing = run_cli("pacing", cwd=copy)
    assert pacing.returncode == 0
    assert (
        f"warning: talk/sections/intro.md:{line}: the notes of 'intro' say 10 min but the agenda gives it 2 min"
        in pacing.stdout
    )
    strict = run_cli("build-talk", "--strict", cwd=copy)
    assert strict.returncode == 2
    assert f"intro.md:{line}: the notes say 10 min but the agenda gives it 2 min — " in strict.stderr + strict.stdout
    # Said through the macro, the claim follows the agenda and passes.
    intro.write_text(
        intro.read_text().replace("Ten minutes for this section.", "{{ minutes(this_part.minutes) }} for this section.")
    )
    assert run_cli("build-talk", "--strict", cwd=copy).returncode == 0


def test_pacing_flags_notes_over_the_slot(mini_build, tmp_path):
    root, _ = mini_build
    copy = tmp_path / "talk"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("site"))
    intro = copy / "talk" / "sections" / "intro.md"
    words = " ".join(["word"] * 400)  # 400 words: 3.1 min at 130 words/min for a 2-minute part
    intro.write_text(intro.read_text().replace("Say hello", f"{words}. Say hello"))
    out = run_cli("pacing", cwd=copy).stdout
    assert re.search(r"warning: intro: 3\.2 min of notes \(413 words\) for 2 agenda min \(\d+% > 115%\)", out)
    slow = run_cli("pacing", "--wpm", "60", cwd=copy).stdout  # 6.9 min of notes for a 6-minute slot
    assert "warning: the notes take" in slow and "but the slot is 6 min" in slow
