"""Edits to talk.yaml that keep the speaker's file as written: only the characters of the values
that change are replaced (found by their position in the parsed document), so comments, order,
quoting and layout stay; the result is parsed again and checked before it is written, atomically.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from w2w.atomic import write_text
from w2w.errors import W2WError
from w2w.project import read_source
from w2w.talk.yaml_source import YamlSource


def _child(node, key: str):
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == key), None)
    return None


def set_agenda_minutes(path: Path, minutes: dict[str, int]) -> list[str]:
    """Write `minutes` (section id -> whole minutes) into the agenda of the talk.yaml at `path`;
    returns the ids whose minutes changed. A section without a `minutes:` key is an error."""
    source = YamlSource(path)
    text = read_source(path)
    agenda = _child(source.root, "agenda")
    if not isinstance(agenda, yaml.SequenceNode):
        raise W2WError("talk.yaml has no agenda list", "add one (docs/reference.md)", path, 1)
    edits: list[tuple[int, int, str]] = []
    changed = []
    for item in agenda.value:
        section = _child(item, "id")
        if section is None or section.value not in minutes:
            continue
        value = _child(item, "minutes")
        if not isinstance(value, yaml.ScalarNode):
            raise W2WError(
                f"section {section.value!r} has no minutes: to change",
                "give it `minutes: N` in the agenda",
                path,
                item.start_mark.line + 1,
            )
        new = str(int(minutes[section.value]))
        if value.value != new:
            edits.append((value.start_mark.index, value.end_mark.index, new))
            changed.append(section.value)
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    written = yaml.safe_load(text)
    got = {entry.get("id"): entry.get("minutes") for entry in written.get("agenda", []) if isinstance(entry, dict)}
    wrong = [name for name, value in minutes.items() if name in got and got[name] != int(value)]
    if wrong:  # a layout this edit does not understand: nothing is written
        raise W2WError(f"could not rewrite the minutes of {', '.join(wrong)} in place", "edit them by hand", path, 1)
    if edits:
        write_text(path, text)
    return changed
