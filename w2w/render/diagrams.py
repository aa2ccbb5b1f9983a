"""Mermaid source -> inline SVG at build time (mermaidx runs the real Mermaid, no browser, no CDN)."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path

from w2w.errors import W2WError
from w2w.talk import themes


def mermaid_config(theme) -> dict:
    """Mermaid options for the talk's theme: its colours, and text in DejaVu Sans, the font
    mermaidx measures labels with (so boxes fit their text in the browser), at a size that reads
    from the back of a room.

    The diagram is inline SVG, so it can take the page's CSS variables: `themeCSS` (scoped to the
    diagram by Mermaid) paints nodes, lines, arrowheads and labels with `var(--w2w-…)`, with the
    talk's own colours as the fallbacks, and a diagram follows whichever theme the page shows (the
    deck, the handout, `w2w check`'s other theme) without being drawn again. Mermaid still needs
    real colours in themeVariables: it derives its other colours from them."""
    # The fallbacks (for the SVG without the page's variables) are the talk's overrides on the light
    # palette, not the talk's theme: switching the theme's name then draws no diagram again (its
    # key holds these options; a diagram takes mermaidx 1-2 s).
    palette = themes.resolve("light", theme.model_dump(exclude={"name"}))
    light = themes.resolve("light", {})
    node_fill = _mix(palette.accent, palette.background, 0.12)
    return {
        "theme": "base",
        "config": {
            # The light palette's, whatever the talk's theme: what Mermaid derives from them is then
            # the same in every build, and a page switched to another theme (`w2w check`) paints
            # exactly what a build in that theme paints (tests/test_themes.py compares them).
            "themeVariables": {
                "primaryColor": _mix(light.accent, light.background, 0.12),
                "primaryBorderColor": light.accent,
                "primaryTextColor": light.text,
                "lineColor": light.text,
                "fontFamily": '"DejaVu Sans", sans-serif',
                "fontSize": "20px",
            },
            "themeCSS": _theme_css(palette, node_fill),
            # Labels as SVG <text>, not HTML in <foreignObject> (mermaidx's default): `<p>` inside
            # `<span>` is invalid HTML (vnu), axe cannot judge its contrast, and some PDF viewers
            # drop foreignObject. The root key is Mermaid 11's; the flowchart one its older spelling.
            "htmlLabels": False,
            # Labels are measured without wrapping at 200 px, which gave long ones a box of two lines.
            "flowchart": {"htmlLabels": False, "wrappingWidth": 400, "nodeSpacing": 30, "rankSpacing": 30},
        },
    }


def _theme_css(palette, node_fill: str) -> str:
    fg, bg = f"var(--w2w-fg, {palette.text})", f"var(--w2w-bg, {palette.background})"
    accent = f"var(--w2w-accent, {palette.accent})"
    fill = f"color-mix(in srgb, {accent} 12%, {bg})"
    shapes = ".node rect, .node circle, .node ellipse, .node polygon, .node path"
    return (
        f"text, .label text, span {{ fill: {fg}; color: {fg}; }}"
        f" {shapes} {{ fill: {fill}; stroke: {accent}; }}"
        f" .flowchart-link, .edgePath .path, .relation, line {{ stroke: {fg}; }}"
        f" .marker, marker path, .arrowheadPath {{ fill: {fg}; stroke: {fg}; }}"
        f" .edgeLabel, .edgeLabel rect, .labelBkg {{ background-color: {bg}; fill: {bg}; }}"
        f" .cluster rect {{ fill: var(--w2w-card-bg, {node_fill}); stroke: var(--w2w-border, {palette.text}); }}"
    )


def _mix(colour: str, background: str, amount: float) -> str:
    """`amount` of `colour` over `background` (both #rrggbb)."""
    a, b = (tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in (colour, background))
    return "#" + "".join(f"{round(x * amount + y * (1 - amount)):02x}" for x, y in zip(a, b, strict=False))


class MermaidRenderer:
    """Renders diagrams once per source text and options; results are kept in memory and on disk."""

    def __init__(self, cache_dir: Path | None = None, options: dict | None = None):
        self.cache_dir = cache_dir
        self.options = options or {}
        self._memory: dict[str, str] = {}

    def svg(self, source: str) -> str:
        # A new mermaidx (and the Mermaid inside it) may draw the same source differently.
        key = source.strip() + json.dumps(self.options, sort_keys=True) + f"mermaidx {_mermaidx_version()}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        if digest in self._memory:
            return self._memory[digest]
        # Mermaid replaces a diagram over maxTextSize (default 50,000 characters) by a picture of
        # the words "Maximum text size in diagram exceeded", with no error: refuse it here.
        limit = self.options.get("config", {}).get("maxTextSize", 50_000)
        if len(source.strip()) > limit:
            raise MermaidError(
                f"the diagram is {len(source.strip()):,} characters, over Mermaid's limit of {limit:,}", 1
            )
        from w2w.artifacts.cache import read_checked, write_checked

        cached = self.cache_dir / f"{digest}.svg" if self.cache_dir else None
        data = read_checked(cached) if cached else None  # None also for a truncated or edited entry
        if data is not None:
            svg = data.decode("utf-8")
        else:
            svg = _render(source, digest, self.options)
            if "Maximum text size in diagram exceeded" in svg:
                raise MermaidError(f"the diagram is over Mermaid's text size limit of {limit:,} characters", 1)
            if cached:
                write_checked(cached, svg.encode("utf-8"))
        self._memory[digest] = svg
        return svg


@functools.lru_cache(maxsize=1)
def _mermaidx_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mermaidx")
    except PackageNotFoundError:  # not installed: _render says so when a diagram needs it
        return "none"


class MermaidError(W2WError):
    def __init__(self, message: str, diagram_line: int):
        super().__init__(
            f"invalid Mermaid diagram: {message}",
            "fix the diagram syntax (https://mermaid.js.org/intro/syntax-reference.html)",
        )
        self.diagram_line = diagram_line  # 1-based, within the diagram
        self.source: str | None = None  # the diagram's text, set by the Markdown renderer

    def located(self, file: str | Path, line: int | None = None) -> MermaidError:
        """Pin to the diagram's line in the original file: sections are rendered by Jinja before
        Markdown, so the line estimated from the rendered text can be off (multi-line Jinja output
        above the diagram, blank lines trimmed off a slide). The diagram's own text, found in the
        file, is exact; where it is not there verbatim (it holds Jinja), the estimate stands."""
        if self.file is None:
            start = _find_block(Path(file), self.source, near=self.line) if self.source else None
            if start is not None:
                inside = min(max(1, self.diagram_line), max(1, len(self.source.strip("\n").splitlines())))
                self.line = start + inside - 1
            self.file = file
            self.line = self.line or line
        return self


def _find_block(path: Path, block: str, near: int | None) -> int | None:
    """1-based line where the lines of `block` start in `path` (the match nearest `near`)."""
    wanted = [line.rstrip() for line in block.strip("\n").splitlines()]
    try:
        lines = [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError):
        return None
    if not wanted:
        return None
    starts = [i + 1 for i in range(len(lines) - len(wanted) + 1) if lines[i : i + len(wanted)] == wanted]
    if not starts:
        return None
    return min(starts, key=lambda s: abs(s - (near or s)))


def _render(source: str, digest: str, options: dict) -> str:
    import mermaidx

    try:
        svg = mermaidx.render(source.strip(), **options).svg()
    except (
        Exception
    ) as exc:  # mermaidx raises RuntimeError("Mermaid rendering failed: Error: Parse error on line N: ...")
        text = re.sub(r"^(\w*Error: )+", "", str(exc).replace("Mermaid rendering failed: ", ""))
        match = re.search(r"on line (\d+)", text)
        first = text.splitlines()[0].rstrip(":") if text else "could not be rendered"
        # The diagram's line number goes into file:line; in the message it would read as a file line.
        first = re.sub(r"\s*on line \d+[.:]?\s*", ": ", first).strip().rstrip(":.").strip()
        expecting = re.search(r"Expecting (.*?), got '([^']*)'", text)
        if expecting:
            got = expecting.group(2)  # jison's token names; '1' is the end of the input
            first += (
                ": the diagram ends too early (an unclosed bracket?)"
                if got in ("1", "EOF")
                else f": unexpected {got!r}"
            )
        raise MermaidError(first, int(match.group(1)) if match else 1) from None
    # Every mermaidx SVG has id="my-svg" and styles scoped to it: make ids unique per diagram so
    # two diagrams on one page do not restyle each other.
    return svg.replace("my-svg", f"w2w-mermaid-{digest}")
