"""The built-in themes (light, dark) as CSS custom properties, shared by the deck, the handout, the
live demos and the diagrams.

A theme is only variables: every colour and font in templates/deck.css.j2, handout.css.j2 and
live.css is a `var(--w2w-…)`. The stylesheets set the talk's theme (its palette with talk.yaml's
overrides) on `:root`, and each built-in palette as it comes on `:root[data-w2w-theme="…"]`, so
`w2w check` judges the colour contrast of the other built-in theme by setting one attribute on
the pages it already has open, instead of building the talk a second time (browser_check.py
has the numbers).

Code blocks keep light "paper" in both themes: Pygments' token colours are darkened for a light
background (deck.css.j2). The generators' plots follow the theme: the pages inline their SVG, whose
inks are these variables (w2w_generators/shared/figures.py, w2w/render/inline_svg.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# Variable name -> palette key. The first ten are the names other templates use (with fallbacks).
COLOURS = {
    "--w2w-bg": "background",
    "--w2w-fg": "text",
    "--w2w-muted": "muted",
    "--w2w-accent": "accent",
    "--w2w-accent-2": "accent_2",
    "--w2w-card-bg": "card_bg",
    "--w2w-border": "border",
    "--w2w-on-accent": "on_accent",  # text on an accent-coloured button
    "--w2w-warn": "warn",  # "stand-in" labels
    "--w2w-code-bg": "code_bg",
    "--w2w-code-fg": "code_fg",
    "--w2w-header-bg": "header_bg",  # the handout's top bar
    "--w2w-header-fg": "header_fg",
}
FONTS = {"--w2w-font-body": "font_body", "--w2w-font-heading": "font_heading", "--w2w-font-mono": "font_mono"}

SANS = '"Inter", "Segoe UI", system-ui, -apple-system, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif'
MONO = '"JetBrains Mono", "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace'
DEFAULT_FONTS = {"font_body": SANS, "font_heading": SANS, "font_mono": MONO}

# Contrast on the background (WCAG 2.1, contrast() below): light text 16.5:1, muted 6.1:1, accent
# 5.6:1, text on the accent 5.7:1; dark text 15.8:1, muted 9.3:1, accent 10.1:1, accent_2 11.1:1.
# Light's accent_2 (2.7:1) only draws: gradients, borders, focus rings, never text.
PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "background": "#fcfcff",
        "text": "#1b1b2f",
        "muted": "#5f5f6d",
        "accent": "#7c3aed",
        "accent_2": "#0ea5e9",
        "card_bg": "#f4f4fa",
        "border": "#dfdfe5",
        "on_accent": "#ffffff",
        "warn": "#92400e",
        "code_bg": "#f6f7fb",
        "code_fg": "#1f2330",
        "header_bg": "#7e56c2",  # Material's deep purple, as the handout had it
        "header_fg": "#ffffff",
    },
    "dark": {
        "background": "#11121f",
        "text": "#ececf4",
        "muted": "#b4b6cc",
        "accent": "#c4b5fd",
        "accent_2": "#7dd3fc",
        "card_bg": "#1c1e33",
        "border": "#3a3d5c",
        "on_accent": "#11121f",
        "warn": "#fbbf24",
        "code_bg": "#f6f7fb",
        "code_fg": "#1f2330",
        "header_bg": "#1c1e33",
        "header_fg": "#ececf4",
    },
}
NAMES = tuple(PALETTES)


@dataclass(frozen=True)
class Resolved:
    """A theme as the pages use it: a built-in palette with the talk's overrides."""

    name: str
    colours: dict[str, str]
    fonts: dict[str, str]

    def __getattr__(self, key: str) -> str:  # palette.accent, palette.font_body
        for table in ("colours", "fonts"):
            values = self.__dict__.get(table, {})
            if key in values:
                return values[key]
        raise AttributeError(key)


def resolve(name: str, overrides: dict[str, str | None]) -> Resolved:
    colours = dict(PALETTES[name])
    fonts = dict(DEFAULT_FONTS)
    for key, value in overrides.items():
        if value is None:
            continue
        (fonts if key in fonts else colours)[key] = value
    return Resolved(name, colours, fonts)


def _declarations(colours: dict[str, str], fonts: dict[str, str] | None, scheme: str) -> str:
    lines = [f"color-scheme: {scheme};"] + [f"{var}: {colours[key]};" for var, key in COLOURS.items()]
    if fonts is not None:
        lines += [f"{var}: {fonts[key]};" for var, key in FONTS.items()]
    return "\n  ".join(lines)


# Earlier names of the same variables, still read by rules written before the themes.
ALIASES = """  --w2w-text: var(--w2w-fg);
  --w2w-rule: var(--w2w-border);
  --w2w-font: var(--w2w-font-body);
  --w2w-mono: var(--w2w-font-mono);"""


def css(theme: Resolved) -> str:
    """The `:root` block of the talk's theme, then one block per built-in theme (see the module)."""
    scheme = "dark" if theme.name == "dark" else "light"
    out = [f":root {{\n  {_declarations(theme.colours, theme.fonts, scheme)}\n{ALIASES}\n}}"]
    for name, palette in PALETTES.items():
        out.append(f':root[data-w2w-theme="{name}"] {{\n  {_declarations(palette, None, name)}\n}}')
    return "\n".join(out) + "\n"


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
