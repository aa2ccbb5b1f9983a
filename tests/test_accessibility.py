"""The accessibility audit of browser_check: alt text, heading order, WCAG AA text contrast.

Small pages with known colours pin the contrast arithmetic (WCAG 2.x relative luminance, 4.5:1 for
normal text, 3:1 for large text: >= 24px, or >= 18.66px bold) and what is skipped (SVG, MathML,
hidden text). A built deck shows that hidden fragments are audited as the audience will see them.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from w2w.browser_check import OfflinePage, accessibility_problems, browser, check_deck, check_pages

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    with browser() as instance:
        yield instance


@pytest.fixture()
def audit(chromium):
    """audit(body_html, page=True) -> problem texts for a page made of `body_html`."""
    view = OfflinePage(chromium, 1280, 900)

    def run(body: str, page: bool = True) -> list[str]:
        view.page.set_content(f"<!DOCTYPE html><html><body style='margin:0;background:#fff'>{body}</body></html>")
        return [p.what for p in accessibility_problems(view.page, "t", "body", "body", not page)]

    yield run
    assert view.problems("t") == []
    view.close()


@pytest.mark.parametrize(
    "style, needed",
    [
        ("color:#777777", "4.5"),  # 4.48:1
        ("color:#949494; font-size:23px", "4.5"),  # 3.03:1, not large
        ("color:#949494; font-size:18px; font-weight:700", "4.5"),  # bold, but under 18.66px
        ("color:#b0b0b0; font-size:32px", "3"),  # 2.15:1 even for large text
        ("color:rgba(0,0,0,0.3)", "4.5"),  # alpha: #b3b3b3 on white
        ("color:color-mix(in srgb, #000 40%, #fff)", "4.5"),  # computed as color(srgb ...): #999999
        ("color:#000; opacity:0.3", "4.5"),  # a faded element fades its text
    ],
)
def test_text_below_aa_is_reported(audit, style, needed):
    problems = audit(f'<p style="{style}">Some text here</p>')
    assert len(problems) == 1 and problems[0].startswith("low contrast ") and f"< {needed}:1 (WCAG AA)" in problems[0]
    assert "'Some text here'" in problems[0]


@pytest.mark.parametrize(
    "style",
    [
        "color:#767676",  # 4.54:1: just passes
        "color:#949494; font-size:24px",  # large text: 3:1 is enough
        "color:#949494; font-size:19px; font-weight:700",  # large bold text
        "color:#000",
    ],
)
def test_text_at_or_above_aa_passes(audit, style):
    assert audit(f'<p style="{style}">Some text here</p>') == []


def test_background_is_found_through_transparent_and_translucent_ancestors(audit):
    light_on_dark = '<div style="background:#111"><div><span style="color:#eeeeee">light on dark</span></div></div>'
    assert audit(light_on_dark) == []
    dark_on_dark = '<div style="background:#111111"><div><p><span style="color:#333333">dark on dark</span></p></div></div>'
    (problem,) = audit(dark_on_dark)
    assert "#333333 on #111111" in problem
    # Half-transparent white over black is mid grey: the #777 text on it is nearly invisible.
    translucent = '<div style="background:#000"><div style="background:rgba(255,255,255,0.5)"><p style="color:#777">grey on grey</p></div></div>'
    (problem,) = audit(translucent)
    assert "#777777 on #808080" in problem


def test_text_in_svg_math_hidden_or_over_images_is_not_audited(audit):
    body = """
        <svg width="200" height="50"><text x="0" y="20" fill="#eeeeee">svg label</text></svg>
        <math><mi style="color:#eeeeee">x</mi></math>
        <p style="display:none; color:#eee">display none</p>
        <p style="visibility:hidden; color:#eee">hidden</p>
        <p style="opacity:0; color:#eee">transparent</p>
        <p hidden style="color:#eee">hidden attribute</p>
        <div style="background-image:linear-gradient(#000,#fff)"><p style="color:#888">over a gradient</p></div>
    """
    assert audit(body) == []


def test_images_need_non_empty_alt_text(audit):
    body = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="a dot"><img src="a.png"><img src="b.png" alt="  ">'
    assert audit(body) == ["image without alt text: a.png", "image without alt text: b.png"]


def test_heading_levels_may_not_be_skipped_going_down(audit):
    assert audit("<h1>A</h1><h2>B</h2><h3>C</h3><h2>D</h2><h3>E</h3><h1>F</h1>") == []
    assert audit("<h1>A</h1><h3>C</h3>") == ["heading level skipped: h3 after h1: 'C' — use h2"]
    assert audit("<h2>B</h2>") == ["heading level skipped: h2 after the start of the page: 'B' — use h1"]
    # A slide may start at any level (a section's later slides start with ##), but not skip after.
    assert audit("<h2>B</h2><h3>C</h3>", page=False) == []
    assert audit("<h2>B</h2><h4>D</h4>", page=False) == ["heading level skipped: h4 after h2: 'D' — use h3"]


SECTION = textwrap.dedent(
    """\
    ## Step by step

    First, the visible point.

    <p class="fragment" style="color: #d4d4d4">Revealed later, and too faint.</p>

    Note:
    The second point appears on a click.

    ---

    # Top level

    ### Skipped a level

    Text.
    """
)


@pytest.fixture(scope="module")
def fragment_build(mini_build, tmp_path_factory) -> Path:
    """The mini talk plus one section: a faint fragment, and a heading that skips a level."""
    from w2w.build import build_site
    from w2w.project import Project

    root, _ = mini_build
    copy = tmp_path_factory.mktemp("a11y") / "talk"
    shutil.copytree(root, copy, symlinks=True)
    (copy / "talk" / "sections" / "steps.md").write_text(SECTION)
    talk = yaml.safe_load((copy / "talk" / "talk.yaml").read_text())
    talk["agenda"].append({"id": "steps", "title": "Steps", "minutes": 2})
    talk["slot_minutes"] += 2
    (copy / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    build_site(Project(copy))
    return copy


def test_fragments_are_audited_as_the_audience_will_see_them(fragment_build, chromium):
    problems, slides = check_deck(chromium, fragment_build / "site" / "slides" / "index.html")
    text = [str(p) for p in problems]
    faint = [t for t in text if "Revealed later, and too faint." in t]
    assert len(faint) == 1 and faint[0].startswith("slides#/8: low contrast ") and "#d4d4d4" in faint[0]
    assert "slides#/9: heading level skipped: h3 after h1: 'Skipped a level' — use h2" in text
    assert len(text) == 2, text  # the mini talk's own slides pass
    assert len(slides) == 10


def test_handout_page_headings_and_contrast(fragment_build, chromium):
    site = fragment_build / "site"
    problems = [str(p) for p in check_pages(chromium, site, [site / "sections" / "steps.html"])]
    assert "sections/steps.html: heading level skipped: h3 after h1: 'Skipped a level' — use h2" in problems
    # A handout page starts at h1; this section's first slide starts with ## (fine on a slide).
    assert "sections/steps.html: heading level skipped: h2 after the start of the page: 'Step by step' — use h1" in problems
    assert any(p.startswith("sections/steps.html: low contrast") and "#d4d4d4 on #ffffff" in p for p in problems)
    assert len(problems) == 3, problems


def test_mini_deck_and_handout_pass_the_audit(mini_build, chromium):
    """The theme's own colours (muted captions, code, the handout's deck link) meet WCAG AA."""
    root, _ = mini_build
    problems, _ = check_deck(chromium, root / "site" / "slides" / "index.html")
    problems += check_pages(chromium, root / "site")
    assert [str(p) for p in problems] == []
