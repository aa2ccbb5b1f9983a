"""Themes: talk.yaml's `theme:` (a built-in palette, colours and fonts overridable) and how the
pages, the diagrams and `w2w check` use it.

The dark theme is built on the mini talk (building the real talk twice is too slow for the suite).
`w2w check` judges the other built-in theme by setting `data-w2w-theme` on pages built in one
theme; that is only honest if it paints exactly what a build in that theme paints, so the dark
build is compared with the light build switched to dark, colour by colour, element by element.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from talk_factory import make_project

from w2w.check.browser_check import NO_TRANSITIONS, SWITCH_THEME, axe_script, theme_problems
from w2w.errors import W2WError
from w2w.talk.config import load_talk
from w2w.talk.themes import PALETTES, contrast


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


def _with_theme(root, theme) -> None:
    path = root / "talk" / "talk.yaml"
    data = yaml.safe_load(path.read_text())
    data["theme"] = theme
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_theme_settings_resolve_and_mistakes_name_their_line(tmp_path):
    root = make_project(tmp_path / "talk")
    _with_theme(root, {"name": "dark", "accent": "#ff00aa", "font_body": '"Source Sans 3", Arial, sans-serif'})
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
        _with_theme(root, value)
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


# Every element's painted colours, in document order, under `scope`.
COLOURS_JS = """(scope) => Array.from(document.querySelectorAll(scope + ' *')).map((el) => {
    const cs = getComputedStyle(el);
    return [el.tagName, cs.color, cs.backgroundColor, cs.borderTopColor, cs.fill, cs.stroke].join(' ');
})"""


@pytest.mark.browser
def test_dark_build_paints_what_check_judges_and_check_reports_the_other_theme(mini_build, tmp_path, chromium):
    light_root, _ = mini_build
    dark_root = tmp_path / "dark"
    shutil.copytree(light_root, dark_root, symlinks=True)
    _with_theme(dark_root, {"name": "dark"})
    from w2w.build import build_site
    from w2w.project import Project

    build_site(Project(dark_root))
    axe = axe_script(dark_root)
    pages = [("slides/index.html", ".reveal .slides"), ("sections/intro.html", ".md-main")]
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    for path, scope in pages:
        page.goto((dark_root / "site" / path).as_uri())
        page.wait_for_load_state("load")
        built = page.evaluate(COLOURS_JS, scope)
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(17, 18, 31)", (path, background)  # the dark palette's #11121f
        page.goto((light_root / "site" / path).as_uri())
        page.wait_for_load_state("load")
        page.evaluate(SWITCH_THEME, "dark")
        switched = page.evaluate(COLOURS_JS, scope)
        assert len(built) == len(switched) > 20, path
        differ = [(a, b) for a, b in zip(built, switched, strict=True) if a != b]
        assert not differ, (path, differ[:5])
        # The diagram follows the theme: its boxes take the dark palette's colours.
        if scope == ".reveal .slides":
            fill = page.evaluate("() => getComputedStyle(document.querySelector('.w2w-mermaid .node rect')).fill")
            assert fill not in ("rgb(255, 255, 255)", "none") and fill == page.evaluate(
                """() => { const p = document.createElement('p'); document.body.appendChild(p);
                    p.style.color = 'color-mix(in srgb, var(--w2w-accent) 12%, var(--w2w-bg))';
                    const c = getComputedStyle(p).color; p.remove(); return c; }"""
            )
            # So do the plots, inlined: their text, axes and points in the dark palette's ink.
            inks = page.evaluate(
                "() => [...new Set([...document.querySelectorAll('svg.w2w-plot [style]')]"
                ".map((e) => getComputedStyle(e).fill))]"
            )
            assert {"rgb(236, 236, 244)", "rgb(196, 181, 253)"} <= set(inks), inks  # #ececf4, #c4b5fd

    # `w2w check`'s other-theme pass: text that reads on the dark background (5.5:1) but not on
    # the light one (3.3:1) is reported for the light theme only, and the page is left in its own theme.
    page.goto((dark_root / "site" / "slides" / "index.html").as_uri())
    page.wait_for_selector("html[data-w2w-ready='true']", state="attached")
    page.evaluate(NO_TRANSITIONS)  # as `w2w check` does: a slide fading in has no one colour
    page.evaluate(
        """() => { Reveal.slide(2); const p = document.createElement('p');
            p.id = 'probe'; p.textContent = 'Grey on the page';
            p.style.cssText = 'color: #8a8aa0; background: var(--w2w-bg); font-size: 20px';
            Reveal.getCurrentSlide().appendChild(p); }"""
    )
    found = [str(p) for p in theme_problems(page, "slides#/2", ".reveal .slides", axe, ("light", "dark"))]
    assert len(found) == 1 and found[0].startswith("slides#/2 (light theme): color-contrast:"), found
    assert "#probe" in found[0]
    assert page.evaluate("() => document.documentElement.dataset.w2wTheme === undefined")
