"""A rehearsal beside the plan: `w2w pacing --rehearsal FILE` reads a rehearsal file, proposes new
minutes from where the time went, and `--apply` writes them into talk.yaml keeping its comments."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from cli_in_process import run_cli

from w2w.errors import W2WError
from w2w.render.rehearsal import load_rehearsal, propose
from w2w.talk.yaml_edit import set_agenda_minutes

pytestmark = pytest.mark.build  # the CLI test reads the built mini talk; the rest are quick


def _rehearsal(path: Path, sections: dict[str, float], slot: int = 10) -> Path:
    record = {
        "w2w_rehearsal": 1,
        "started": "2026-12-07T10:00:00",
        "seconds": sum(sections.values()),
        "slot_minutes": slot,
        "sections": [{"id": name, "seconds": seconds} for name, seconds in sections.items()],
        "slides": [],
    }
    path.write_text(json.dumps(record))
    return path


def test_the_slot_is_shared_out_by_rehearsed_time_in_whole_minutes():
    # 6 and 2 rehearsed minutes of a 10-minute slot: 7.5 and 2.5 -> 8 and 2 (largest remainder,
    # the tie going to the longer section), adding up to the slot.
    assert propose({"a": 5, "b": 5}, {"a": 6.0, "b": 2.0}, 10) == {"a": 8, "b": 2}
    # A section the rehearsal never reached keeps its minutes; the others share what is left.
    assert propose({"a": 3, "b": 4, "c": 3}, {"a": 1.0, "b": 1.0}, 10) == {"a": 4, "b": 3, "c": 3}
    # Every rehearsed section keeps at least a minute.
    assert propose({"a": 5, "b": 5}, {"a": 30.0, "b": 0.01}, 10)["b"] >= 1
    assert propose({"a": 5}, {}, 10) == {"a": 5}


def test_apply_rewrites_only_the_minutes_and_keeps_comments(tmp_path):
    talk = tmp_path / "talk.yaml"
    talk.write_text(
        textwrap.dedent(
            """\
            # The talk's settings
            slot_minutes: 10
            agenda:
              - id: intro   # the opening
                title: "Intro"
                minutes: 4    # four, for now
              - {id: vectors, title: "Vectors", minutes: 6}
            """
        )
    )
    assert set_agenda_minutes(talk, {"intro": 3, "vectors": 7}) == ["intro", "vectors"]
    text = talk.read_text()
    assert "minutes: 3    # four, for now" in text and "# The talk's settings" in text
    assert '{id: vectors, title: "Vectors", minutes: 7}' in text
    assert [a["minutes"] for a in yaml.safe_load(text)["agenda"]] == [3, 7]
    assert set_agenda_minutes(talk, {"intro": 3}) == []  # nothing to change: nothing written


def test_a_bad_rehearsal_file_is_one_located_error(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text('{"w2w_rehearsal": 1,\n "started": ')
    with pytest.raises(W2WError) as err:
        load_rehearsal(bad)
    assert str(err.value).startswith(f"{bad}:2: the rehearsal file is not valid JSON")
    bad.write_text(json.dumps({"w2w_rehearsal": 1}))
    with pytest.raises(W2WError, match="not a rehearsal file: started"):
        load_rehearsal(bad)
    bad.write_text(json.dumps({"w2w_rehearsal": 9}))
    with pytest.raises(W2WError, match="rehearsal format 9 is newer"):
        load_rehearsal(bad)


def test_pacing_reads_a_rehearsal_and_applies_only_when_asked(mini_build, tmp_path):
    root = tmp_path / "talk"
    shutil.copytree(mini_build[0], root, symlinks=True)
    talk_yaml = root / "talk" / "talk.yaml"
    talk = yaml.safe_load(talk_yaml.read_text())
    ids = [a["id"] for a in talk["agenda"] if a.get("enabled", True)]
    slot = talk["slot_minutes"]
    # The first section took three times the second's time; the rest were never reached.
    record = _rehearsal(tmp_path / "r.json", {ids[0]: 180.0, ids[1]: 60.0}, slot)
    before = talk_yaml.read_text()
    shown = run_cli("pacing", "--rehearsal", str(record), cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "not reached" in shown.stdout and "nothing written" in shown.stdout
    assert talk_yaml.read_text() == before
    applied = run_cli("pacing", "--rehearsal", str(record), "--apply", cwd=root)
    assert applied.returncode == 0, applied.stderr
    after = {a["id"]: a["minutes"] for a in yaml.safe_load(talk_yaml.read_text())["agenda"]}
    planned = {a["id"]: a["minutes"] for a in talk["agenda"]}
    assert sum(after[i] for i in ids) == slot or sum(planned[i] for i in ids[2:]) >= slot
    assert after[ids[0]] >= 3 * after[ids[1]] - 1  # the rehearsed proportion, to the minute
    assert all(after[i] == planned[i] for i in ids[2:])
    lone = run_cli("pacing", "--apply", cwd=root)
    assert lone.returncode == 2 and "add --rehearsal FILE" in lone.stderr
