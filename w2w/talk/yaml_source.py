"""YAML that remembers where each value came from, so errors can name a line.

A talk.yaml is small (the real one is ~5 KB, under 400 nodes), so anything far beyond that is
refused before it can cost time: the file's size, and the size of the document once its aliases
are expanded ("billion laughs": ten nested levels of nine aliases are 9^10 nodes from 80 lines).
Expansion sizes are counted with one memo per node, so the count itself is linear in the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from w2w.errors import W2WError
from w2w.project import read_source

MAX_BYTES = 1_000_000  # 200x the real talk.yaml
MAX_NODES = 100_000  # values after alias expansion; 250x the real talk.yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader whose constructor errors (a date that does not exist, 2026-02-30) carry the
    value's position like every other YAML error, instead of escaping as a bare ValueError."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not valid: {exc}", node.start_mark
            ) from None


class YamlSource:
    def __init__(self, path: Path):
        self.path = path
        try:
            text = read_source(path)
        except FileNotFoundError:
            raise W2WError(
                f"{path.name} not found", "run w2w from the project root (where talk/ is)", path, 1
            ) from None
        if len(text) > MAX_BYTES:
            raise W2WError(
                f"{path.name} is {len(text):,} characters (at most {MAX_BYTES:,})",
                "keep the talk's settings in it; long text belongs in the section files",
                path,
                1,
            )
        try:
            loader = _Loader(text)  # the reader checks every character here
            try:
                self.root = loader.get_single_node()
                if self.root is not None:
                    self._check_expansion(self.root)
                    # Before constructing: the constructor flattens merge keys (<<: *base) into the
                    # nodes, and an override of a merged key is not a duplicate.
                    self._refuse_duplicate_keys(self.root)
                self.data = loader.construct_document(self.root) if self.root is not None else None
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            raise yaml_error(exc, path, text) from None
        except yaml.YAMLError as exc:  # e.g. control characters: a ReaderError carries a position
            raise yaml_error(exc, path, text) from None
        except RecursionError:  # PyYAML composes recursively: ~1000 nested levels exhaust the stack
            raise W2WError(
                "values nested about a thousand levels deep",
                "flatten the value: no setting of a talk nests more than a few levels",
                path,
                _deepest_line(text),
            ) from None

    def _check_expansion(self, root) -> None:
        """Refuse recursive aliases and documents that expand beyond MAX_NODES (aliases repeat a
        node: each repetition counts). Iterative, so deep nesting cannot exhaust the stack."""
        size: dict[int, int] = {}
        on_path: set[int] = set()
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if id(node) in size and not done:
                continue
            children = _children(node)
            if done:
                on_path.discard(id(node))
                total = 1 + sum(size[id(c)] for c in children)
                if total > MAX_NODES:
                    raise W2WError(
                        f"this value expands to over {MAX_NODES:,} values (YAML aliases repeated inside each other)",
                        "use fewer nested aliases (*name); write the values out",
                        self.path,
                        node.start_mark.line + 1,
                    )
                size[id(node)] = total
                continue
            on_path.add(id(node))
            stack.append((node, True))
            for child in children:
                if id(child) in on_path:
                    raise W2WError(
                        "a YAML alias refers to the value it is inside (a recursive alias)",
                        "point the alias (*name) at a value defined before it, outside it",
                        self.path,
                        child.start_mark.line + 1,
                    )
                if id(child) not in size:
                    stack.append((child, False))

    def _refuse_duplicate_keys(self, root) -> None:
        """PyYAML keeps the last of two equal keys silently; a speaker means one of them. Each node
        is visited once, however many aliases repeat it."""
        seen_nodes: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen_nodes:
                continue
            seen_nodes.add(id(node))
            if isinstance(node, yaml.MappingNode):
                seen: dict[str, int] = {}
                for key, _value in node.value:
                    line = key.start_mark.line + 1
                    if isinstance(key.value, str) and key.value in seen:
                        raise W2WError(
                            f"duplicate key {key.value!r} (also on line {seen[key.value]})",
                            "keep one of them",
                            self.path,
                            line,
                        )
                    if isinstance(key.value, str):
                        seen[key.value] = line
                stack.extend(value for _, value in reversed(node.value))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(reversed(node.value))

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


def _deepest_line(text: str) -> int:
    """The line where brackets or indentation nest deepest (where a too-deep value is)."""
    best, best_line, depth = -1, 1, 0
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip(" -"))
        opened = line.count("[") + line.count("{")
        if depth + opened + indent > best:  # the line's peak is at most its depth plus what it opens
            best, best_line = depth + opened + indent, number
        depth += opened - line.count("]") - line.count("}")
    return best_line


def top_level_key_line(text: str, key: str, message: str = "") -> int:
    """Line of a top-level key in a YAML text (composed only, so any tags are fine), else 1. With
    `message`, the line inside the key's value that holds a value the message quotes ('nosuch')."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return 1
    if not isinstance(root, yaml.MappingNode):
        return 1
    for k, value in root.value:
        if k.value == key:
            lines = text.splitlines()
            for quoted in re.findall(r"'([^']+)'", message):
                for number in range(k.start_mark.line, min(value.end_mark.line + 1, len(lines))):
                    if quoted != key and quoted in lines[number]:
                        return number + 1
            return k.start_mark.line + 1
    return 1


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def yaml_error(exc: yaml.YAMLError, path: Path, text: str) -> W2WError:
    """A PyYAML error as one located line (PyYAML's own text spans several lines with positions)."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        position = getattr(exc, "position", 0) or 0
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        character = getattr(exc, "character", None)
        what = f"{reason} (character U+{character:04X})" if isinstance(character, int) else reason
        return W2WError(
            f"YAML error: {_one_line(what)}", "remove the offending character", path, text[:position].count("\n") + 1
        )
    # An unclosed bracket or quote is found where the file goes on; point at its opening.
    opening = (exc.context or "").startswith(("while parsing a flow", "while scanning a quoted scalar"))
    mark = (exc.context_mark if opening else None) or exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    problem = exc.problem or exc.context or "invalid YAML"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return W2WError(
            f"YAML value error: {_one_line(problem)}",
            "write a valid value (dates like 2026-12-03; no !!tags)",
            path,
            line,
        )
    if (exc.context or "").startswith("while scanning a quoted scalar"):
        problem = f"{problem}: a quote opened on this line is never closed"
    quote = _unclosed_quote_line(text, exc.problem_mark)
    if quote is not None and not opening:
        line, problem = quote, f"{problem} (a quote opened on this line is closed only on a later line)"
    return W2WError(
        f"YAML syntax error: {_one_line(problem)}",
        "check indentation, colons and quotes on this line (quote text containing ': ' or '#')",
        path,
        line,
    )


def _unclosed_quote_line(text: str, problem) -> int | None:
    """The line of a quoted scalar that runs over several lines and ends right where the error is:
    a forgotten closing quote swallows the next line up to its first quote, and PyYAML then
    complains one line late (`title: "Words` then `speaker: "Me"`)."""
    if problem is None:
        return None
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= problem.index:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                last = token
    except yaml.YAMLError:
        pass
    if last is not None and last.end_mark.line > last.start_mark.line and last.end_mark.line == problem.line:
        return last.start_mark.line + 1
    return None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
