"""talk.yaml validation: every mistake names its file and line, and says how to fix it."""

from __future__ import annotations

import pytest
import yaml
from talk_factory import make_project

from w2w.errors import W2WError
from w2w.talk.config import load_talk

pytestmark = pytest.mark.quick


def _talk_yaml(root):
    return root / "talk" / "talk.yaml"


def _edit(root, mutate) -> None:
    data = yaml.safe_load(_talk_yaml(root).read_text())
    mutate(data)
    _talk_yaml(root).write_text(yaml.safe_dump(data, sort_keys=False))


def _line_of(root, needle: str) -> int:
    lines = _talk_yaml(root).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_the_repository_talk_is_valid_and_fills_its_slot():
    from pathlib import Path

    talk, warnings = load_talk(Path(__file__).parents[1] / "talk" / "talk.yaml")
    assert [s.minutes for s in talk.agenda] == [5, 10, 15, 10, 15, 10, 5]
    assert talk.total_minutes == talk.slot_minutes == 70
    assert warnings == []


def test_unknown_key_names_its_line(tmp_path):
    root = make_project(tmp_path)
    _edit(root, lambda d: d["agenda"][1].update(minuts=3))
    with pytest.raises(W2WError) as err:
        load_talk(_talk_yaml(root))
    assert err.value.line == _line_of(root, "minuts:")
    assert "unknown key 'minuts'" in str(err.value) and "agenda[1]" in str(err.value)


def test_wrong_type_names_its_line(tmp_path):
    root = make_project(tmp_path)
    _edit(root, lambda d: d["agenda"][2].update(minutes="ten"))
    with pytest.raises(W2WError) as err:
        load_talk(_talk_yaml(root))
    assert err.value.line == _line_of(root, "minutes: ten")
    assert "agenda[2].minutes" in err.value.what and "whole number" in err.value.fix


def test_yaml_syntax_error_names_its_line(tmp_path):
    root = make_project(tmp_path)
    text = _talk_yaml(root).read_text().replace("title: Mini talk", "title: [Mini talk", 1)
    _talk_yaml(root).write_text(text)
    with pytest.raises(W2WError) as err:
        load_talk(_talk_yaml(root))
    assert "YAML syntax error" in err.value.what
    assert err.value.line == 1  # the line with the unclosed bracket, not where the parser gave up


def test_duplicate_section_ids_are_refused(tmp_path):
    root = make_project(tmp_path)
    _edit(root, lambda d: d["agenda"][2].update(id="intro"))
    with pytest.raises(W2WError) as err:
        load_talk(_talk_yaml(root))
    assert "duplicate section id 'intro'" in err.value.what
    lines = [i for i, text in enumerate(_talk_yaml(root).read_text().splitlines(), 1) if "id: intro" in text]
    assert err.value.line == lines[1]


def test_agenda_naming_a_missing_file(tmp_path):
    root = make_project(tmp_path)
    _edit(root, lambda d: d["agenda"].append({"id": "ghost", "title": "Ghost", "minutes": 1}))
    with pytest.raises(W2WError) as err:
        load_talk(_talk_yaml(root))
    assert "talk/sections/ghost.md" in err.value.what
    assert err.value.line == _line_of(root, "id: ghost")


def test_total_differing_from_slot_is_a_warning_not_an_error(tmp_path):
    root = make_project(tmp_path)
    _edit(root, lambda d: d.update(slot_minutes=45))
    talk, warnings = load_talk(_talk_yaml(root))
    assert talk.total_minutes == 6
    assert len(warnings) == 1 and "adds up to 6 min but slot_minutes is 45" in warnings[0]


def test_a_disabled_section_needs_no_file_and_leaves_the_total(tmp_path):
    root = make_project(tmp_path)
    _edit(root, lambda d: d["agenda"].append({"id": "later", "title": "Later", "minutes": 9, "enabled": False}))
    talk, _ = load_talk(_talk_yaml(root))
    assert [s.id for s in talk.sections] == ["intro", "maths", "words"]
    assert talk.total_minutes == 6
