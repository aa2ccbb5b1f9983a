"""Split a rendered section into slides (`---` lines) and each slide into content and notes (`Note:`).

Fenced code is opaque: a `---` or `Note:` inside ``` fences is text, not structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_SEPARATOR = re.compile(r"^---\s*$")
_NOTE = re.compile(r"^Notes?:\s*(.*)$")


@dataclass
class Slide:
    content: str  # Markdown shown on the slide
    notes: str  # Markdown of the speaker notes ("" if none)
    line: int  # 1-based line of the slide's first non-blank line in the rendered section
    notes_line: int = 0  # 1-based line of the notes' first line

    @property
    def title(self) -> str:
        for line in self.content.splitlines():
            match = re.match(r"^#{1,3}\s+(.*)$", line)
            if match:
                return match.group(1).strip()
        return ""


def split_slides(markdown: str) -> list[Slide]:
    slides: list[Slide] = []
    content: list[str] = []
    notes: list[str] | None = None
    fence: str | None = None
    start = 1

    notes_start = 0

    def flush(next_start: int) -> None:
        nonlocal content, notes, start
        text, note_text = "\n".join(content).strip(), "\n".join(notes or []).strip()
        if text or note_text:
            # Content is stripped, so errors count lines from its first non-blank line.
            first = start + next((i for i, line in enumerate(content) if line.strip()), 0)
            note_first = notes_start + next((i for i, line in enumerate(notes or []) if line.strip()), 0)
            slides.append(Slide(text, note_text, first, note_first))
        content, notes, start = [], None, next_start

    for number, line in enumerate(markdown.splitlines(), start=1):
        opener = _FENCE.match(line)
        if fence is None and opener:
            fence = opener.group(1)[0] * len(opener.group(1))
        elif fence is not None and line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
            fence = None
        elif fence is None and _SEPARATOR.match(line):
            flush(number + 1)
            continue
        elif fence is None and notes is None and _NOTE.match(line):
            notes = [_NOTE.match(line).group(1)]
            notes_start = number
            continue
        (content if notes is None else notes).append(line)
    flush(0)
    return slides
