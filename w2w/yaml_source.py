"""YAML that remembers where each value came from, so errors can name a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import W2WError
from .project import read_source


class YamlSource:
    def __init__(self, path: Path):
        self.path = path
        try:
            text = read_source(path)
        except FileNotFoundError:
            raise W2WError(f"{path.name} not found", "run w2w from the project root (where talk/ is)", path, 1) from None
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            # An unclosed bracket or quote is found where the file goes on; point at its opening.
            opening = (exc.context or "").startswith(("while parsing a flow", "while scanning a quoted scalar"))
            mark = (exc.context_mark if opening else None) or exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            problem = exc.problem or exc.context or "invalid YAML"
            raise W2WError(
                f"YAML syntax error: {problem}",
                "check indentation, colons and quotes on this line (quote text containing ': ' or '#')",
                path,
                line,
            ) from None
        except yaml.YAMLError as exc:  # e.g. control characters: a ReaderError carries a position
            line = text[: getattr(exc, "position", 0)].count("\n") + 1
            raise W2WError(f"YAML error: {exc}", "remove the offending character", path, line) from None
        self._refuse_duplicate_keys(self.root)

    def _refuse_duplicate_keys(self, node) -> None:
        """PyYAML keeps the last of two equal keys silently; a speaker means one of them."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise W2WError(
                        f"duplicate key {key.value!r} (also on line {seen[key.value]})",
                        "keep one of them",
                        self.path,
                        line,
                    )
                seen[key.value] = line
                self._refuse_duplicate_keys(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._refuse_duplicate_keys(item)

    def line_of(self, loc: tuple[Any, ...]) -> int:
        """Line (1-based) of the value at `loc` (keys and list indices), or of its nearest parent."""
        node, line = self.root, 1
        for part in loc:
            if node is None:
                break
            line = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == part), None)
                key = next((k for k, v in node.value if k.value == part), None)
                if match is None:
                    return line
                line = key.start_mark.line + 1
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line
