"""Mermaid source -> inline SVG at build time (mermaidx runs the real Mermaid, no browser, no CDN)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .errors import W2WError


class MermaidRenderer:
    """Renders diagrams once per source text; results are kept in memory and on disk."""

    def __init__(self, cache_dir: Path | None = None):
        self.cache_dir = cache_dir
        self._memory: dict[str, str] = {}

    def svg(self, source: str) -> str:
        digest = hashlib.sha256(source.strip().encode()).hexdigest()[:12]
        if digest in self._memory:
            return self._memory[digest]
        cached = self.cache_dir / f"{digest}.svg" if self.cache_dir else None
        if cached and cached.is_file():
            svg = cached.read_text(encoding="utf-8")
        else:
            svg = _render(source, digest)
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(svg, encoding="utf-8")
                os.replace(tmp, cached)
        self._memory[digest] = svg
        return svg


class MermaidError(W2WError):
    def __init__(self, message: str, diagram_line: int):
        super().__init__(
            f"invalid Mermaid diagram: {message}",
            "fix the diagram syntax (https://mermaid.js.org/intro/syntax-reference.html)",
        )
        self.diagram_line = diagram_line


def _render(source: str, digest: str) -> str:
    import mermaidx

    try:
        svg = mermaidx.render(source.strip()).svg()
    except Exception as exc:  # mermaidx raises RuntimeError("Mermaid rendering failed: Error: Parse error on line N: ...")
        text = str(exc).replace("Mermaid rendering failed: ", "").replace("Error: ", "")
        match = re.search(r"on line (\d+)", text)
        first = text.splitlines()[0].rstrip(":") if text else "could not be rendered"
        expecting = re.search(r"Expecting (.*?), got '([^']*)'", text)
        if expecting:
            first += f": unexpected {expecting.group(2)!r}"
        raise MermaidError(first, int(match.group(1)) if match else 1) from None
    # Every mermaidx SVG has id="my-svg" and styles scoped to it: make ids unique per diagram so
    # two diagrams on one page do not restyle each other.
    return svg.replace("my-svg", f"w2w-mermaid-{digest}")
