"""Accessibility in `w2w check`: axe-core's verdicts reach the report as `where: rule: selector:
fix`, slides are judged in each fragment state, and w2w's own 16 px rule for slide text.

Small pages pin what axe is asked (WCAG 2.1 A/AA and best practice) and how its findings are
worded; a built deck with a faint fragment, a skipped heading level and small text shows the
states and the rule on real slides.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from w2w.check.browser_check import axe_problems, axe_script, check_deck, check_pages, small_text_problems
from w2w.publish.browser import OfflinePage

pytestmark = [pytest.mark.build, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def audit(chromium):
    """audit(body_html) -> problem texts that axe finds on a page made of `body_html`."""
    view = OfflinePage(chromium, 1280, 900)
    axe = axe_script(REPO)

    def run(body: str) -> list[str]:
        view.page.set_content(
            "<!DOCTYPE html><html lang='en'><head><title>t</title></head>"
            f"<body style='margin:0;background:#fff'><main>{body}</main></body></html>"
        )
        return [p.what for p in axe_problems(view.page, "t", "html", axe)]

    yield run
    assert view.problems("t") == []
    view.close()


def test_a_clean_page_passes(audit):
    assert audit("<h1>Title</h1><p style='color:#767676'>4.54:1, just enough</p>") == []


@pytest.mark.parametrize(
    "body, rule, detail",
    [
        ("<h1>T</h1><p style='color:#777777'>4.48:1</p>", "color-contrast", "#777777"),
        ("<h1>T</h1><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='>", "image-alt", "alt"),
        ("<h1>T</h1><h3>Skipped a level</h3>", "heading-order", "Heading order invalid"),
        (
            "<h1>T</h1><table><tr><th></th><th>A</th></tr><tr><td>x</td><td>1</td></tr></table>",
            "empty-table-header",
            "text",
        ),
    ],
)
def test_axe_violations_are_one_line_with_rule_selector_and_fix(audit, body, rule, detail):
    (problem,) = audit(body)
    name, selector, fix = problem.split(": ", 2)
    assert name == rule and selector and "\n" not in problem
    assert fix.startswith("Fix ") and detail in fix


SLIDE = (
    "<!DOCTYPE html><html lang='en'><head><title>t</title></head>"
    "<body><section id='s' style='width:1280px;height:720px'>{}</section></body></html>"
)


@pytest.mark.parametrize(
    "content, small",
    [
        ("<p style='font-size:16px'>just enough</p>", []),
        ("<p style='font-size:15px'>too small</p>", ["p: text 15.0 px"]),
        (
            "<p style='font-size:32px'>big <span style='font-size:0.4em'>and small</span></p>",
            ["p > span: text 12.8 px"],
        ),
        (
            "<p style='font-size:10px; visibility:hidden'>hidden</p>"
            "<aside class='notes' style='font-size:10px'>notes</aside>",
            [],
        ),
        # an SVG drawn at half its size: its 20 px labels are 10 px on the slide
        (
            "<svg viewBox='0 0 400 100' width='200'><text x='0' y='50' font-size='20'>label</text></svg>",
            ["svg > text: text 10.0 px"],
        ),
        ("<svg viewBox='0 0 400 100' width='400'><text x='0' y='50' font-size='20'>label</text></svg>", []),
    ],
)
def test_slide_text_under_16px_is_reported(chromium, content, small):
    view = OfflinePage(chromium)
    view.page.set_content(SLIDE.format(content))
    found = [p.what for p in small_text_problems(view.page, "s", "#s")]
    assert [f.split(": ", 1)[1].split(" < ")[0] for f in found] == small
    assert all(f.startswith("min-font-size: ") and f.endswith("make it at least 16 px") for f in found)
    view.close()


SECTION = textwrap.dedent(
    """\
    ## Step by step

    First, the visible point.

    <p class="fragment" style="color: #d4d4d4">Revealed later, and too faint.</p>

    <p class="fragment" style="font-size: 12px">Revealed last, and too small.</p>

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
    """The mini talk plus one section: a faint fragment, a small one, a heading that skips a level."""
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


@pytest.fixture(scope="module")
def fragment_deck(fragment_build, chromium):
    problems, slides = check_deck(chromium, fragment_build / "site" / "slides" / "index.html")
    return [str(p) for p in problems], slides


def test_each_fragment_state_is_audited(fragment_deck):
    text, slides = fragment_deck
    assert len(slides) == 10 and slides[8]["fragments"] == [0, 1]
    faint = [t for t in text if t.startswith("slides#/8: color-contrast: ")]
    assert len(faint) == 1 and "#d4d4d4" in faint[0]  # seen in two states, reported once
    small = [t for t in text if t.startswith("slides#/8: min-font-size: p.fragment: ")]
    assert len(small) == 1 and "text 12.0 px" in small[0] and "'Revealed last, and too small.'" in small[0]


def test_heading_order_on_a_slide(fragment_deck):
    text, _ = fragment_deck
    assert any(t.startswith("slides#/9: heading-order: ") for t in text), text


def test_axe_reports_nothing_else_on_the_fragment_deck(fragment_deck):
    text, _ = fragment_deck
    axe = [t.split(": ")[:2] for t in text if ": min-font-size: " not in t]
    assert axe == [["slides#/8", "color-contrast"], ["slides#/9", "heading-order"]], text


def test_handout_page_is_audited_by_axe(fragment_build, chromium):
    site = fragment_build / "site"
    problems = [str(p) for p in check_pages(chromium, site, [site / "sections" / "steps.html"])]
    assert any(p.startswith("sections/steps.html: color-contrast: ") and "#d4d4d4" in p for p in problems), problems
    assert any(p.startswith("sections/steps.html: heading-order: ") for p in problems), problems
