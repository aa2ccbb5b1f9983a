"""Themes: talk.yaml's `theme:` (a built-in palette, colours and fonts overridable) and how a plot's
SVG takes it. What a dark build paints, and how `w2w check` judges the other theme, is
test_dark_theme.py (a build and a browser)."""

from __future__ import annotations

import pytest
from talk_factory import make_project, with_theme

from w2w.errors import W2WError
from w2w.talk.config import load_talk
from w2w.talk.themes import PALETTES, contrast

pytestmark = pytest.mark.quick


def test_a_plot_svg_inlines_with_theme_inks_and_ids_of_its_own(tmp_path):
    """figures.save writes the SVG's inks as theme variables; each inlined copy has its own ids."""
    import re

    from w2w.render.inline_svg import inline
    from w2w_generators.shared.figures import INK, pyplot, save, themed

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.scatter([0, 1], [1, 0], color=INK["accent"])
    ax.set_title("two points")
    save(fig, svg=tmp_path / "p.svg")
    plt.close(fig)
    text = (tmp_path / "p.svg").read_text()
    assert "fill: var(--w2w-accent, #7c3aed)" in text and "stroke: var(--w2w-fg, #1b1b2f)" in text
    assert not re.search(r"(fill|stroke): #", text)  # every colour an ink, no white paper
    with pytest.raises(ValueError, match="#123456, which is none of figures.INKS"):
        themed('<path style="fill: #123456"/>')

    first, second = inline(text, 'Two "points"', "w2w-a"), inline(text, "Two points", "w2w-b")
    assert first.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="w2w-plot" viewBox=')
    assert 'role="img" aria-label="Two &quot;points&quot;"' in first and "\n" not in first
    assert "<style" not in first and "<metadata" not in first and "xlink" not in first
    ids = re.findall(r'id="([^"]+)"', first) + re.findall(r'id="([^"]+)"', second)
    assert len(ids) == len(set(ids)) > 4 and all(i.startswith(("w2w-a-", "w2w-b-")) for i in ids)
    for target in re.findall(r'href="#([^"]+)"|url\(#([^)]+)\)', first):
        assert "".join(target) in ids  # every reference points at the copy's own ids


def test_theme_settings_resolve_and_mistakes_name_their_line(tmp_path):
    root = make_project(tmp_path / "talk")
    with_theme(root, {"name": "dark", "accent": "#ff00aa", "font_body": '"Source Sans 3", Arial, sans-serif'})
    theme = load_talk(root / "talk" / "talk.yaml")[0].theme
    palette = theme.palette
    assert (palette.accent, palette.background) == ("#ff00aa", PALETTES["dark"]["background"])
    assert palette.font_mono.endswith("monospace")  # what is not overridden comes from the theme
    root_block = theme.css.split("}", 1)[0]
    assert "color-scheme: dark;" in root_block and "--w2w-accent: #ff00aa;" in root_block
    assert '--w2w-font-body: "Source Sans 3", Arial, sans-serif;' in root_block
    assert ':root[data-w2w-theme="light"]' in theme.css and ':root[data-w2w-theme="dark"]' in theme.css

    for value, said in (
        ({"name": "sepia"}, "'light' or 'dark'"),
        ({"accent": "purple"}, "'purple' is not a colour"),
        ({"text": "#12345"}, "is not a colour"),
        ({"font_mono": "x; } body { background: url(http://example.org/)"}, "is not a list of font names"),
    ):
        with_theme(root, value)
        with pytest.raises(W2WError) as caught:
            load_talk(root / "talk" / "talk.yaml")
        lines = (root / "talk" / "talk.yaml").read_text().splitlines()
        key = next(iter(value))
        assert said in caught.value.what and f"theme.{key}" in caught.value.what, str(caught.value)
        assert lines[caught.value.line - 1].strip().startswith(f"{key}:"), str(caught.value)

    # The built-in palettes meet WCAG AA for text: body text, muted text and the accent on the
    # background and on cards, text on accent buttons, code on its paper, the handout's header.
    for name, p in PALETTES.items():
        for fg in ("text", "muted", "accent", "warn"):
            for bg in ("background", "card_bg"):
                assert contrast(p[fg], p[bg]) >= 4.5, (name, fg, bg)
        assert contrast(p["on_accent"], p["accent"]) >= 4.5, name
        assert contrast(p["code_fg"], p["code_bg"]) >= 4.5 and contrast(p["header_fg"], p["header_bg"]) >= 4.5
