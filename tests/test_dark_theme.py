"""The dark theme built on the mini talk (building the real talk twice is too slow for the suite),
in Chromium. `w2w check` judges the other built-in theme by setting `data-w2w-theme` on pages
built in one theme; that is only honest if it paints exactly what a build in that theme paints, so
the dark build is compared with the light build switched to dark, colour by colour, element by
element."""

from __future__ import annotations

import shutil

import pytest
from talk_factory import with_theme

from w2w.check.browser_check import NO_TRANSITIONS, SWITCH_THEME, axe_script, theme_problems

pytestmark = [pytest.mark.build, pytest.mark.browser]


# Every element's painted colours, in document order, under `scope`.
COLOURS_JS = """(scope) => Array.from(document.querySelectorAll(scope + ' *')).map((el) => {
    const cs = getComputedStyle(el);
    return [el.tagName, cs.color, cs.backgroundColor, cs.borderTopColor, cs.fill, cs.stroke].join(' ');
})"""


def test_dark_build_paints_what_check_judges_and_check_reports_the_other_theme(mini_build, tmp_path, chromium):
    light_root, _ = mini_build
    dark_root = tmp_path / "dark"
    shutil.copytree(light_root, dark_root, symlinks=True)
    with_theme(dark_root, {"name": "dark"})
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
