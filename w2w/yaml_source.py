"""YAML that remembers where each value came from, so errors can name a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import W2WError


class YamlSource:
    def __init__(self, path: Path):
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise W2WError(f"{path.name} not found", "run w2w from the project root (where talk/ is)", path, 1)
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
