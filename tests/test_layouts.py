"""The slide layouts of templates/layouts.j2, as a viewer sees them: each one renders in the deck
and in the handout, the author's Markdown inside them is Markdown, two columns sit side by side on
the 1280x720 slide (and on its PDF page) and stack in the handout on a 390 px phone."""

from __future__ import annotations

import shutil

import pytest
import yaml

from w2w.build import build_site
from w2w.project import Project
from w2w.publish.browser import OfflinePage

pytestmark = [pytest.mark.build, pytest.mark.browser]

# One slide per layout; the mini talk's embedding plot (already in its cache) is the figure.
LAYOUTS = """\
# Layouts

{% call statement() %}
A short statement in **large type**.
{% endcall %}

{{ divider() }}

Note:
The divider shows this part in the agenda.

---

## Two columns

{% call columns("3:2") %}
- left point one
- left point two
{{ column() }}
![Word embeddings in 2-D]({{ artifacts.embedding_plot.url("plot") }})
{% endcall %}

Note:
Text beside a figure.

---

## Bleed

{% call bleed("The words of the mini talk, placed by meaning") %}
![Word embeddings, full width]({{ artifacts.embedding_plot.url("plot") }})
{% endcall %}

Note:
A figure across the slide.

---

## Big

{{ big(sim("dog", "puppy"), "cosine similarity of dog and puppy") }}

Note:
One number.

---

## Quote and card

{% call quote("A painter") %}
Noise, then a picture.
{% endcall %}

{% call card("Analogy") %}Like fog clearing from a window.{% endcall %}

Note:
A quotation and an analogy.

---

## Compare

{% call compare("LLMs", "Diffusion models") %}
They **write**, token by token.
{{ column() }}
They **paint**, step by step.
{% endcall %}

Note:
Two cards side by side.
"""

CLASSES = ("w2w-statement", "w2w-divider", "w2w-cols", "w2w-bleed", "w2w-big", "w2w-quote", "w2w-card", "w2w-compare")

_BOXES = """(selectors) => Object.fromEntries(selectors.map((s) => [s, Array.from(document.querySelectorAll(s))
  .filter((el) => el.checkVisibility()).map((el) => { const r = el.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height }; })]))"""
_SLIDE = """() => { const s = Reveal.getCurrentSlide(); const r = s.getBoundingClientRect();
  return { top: r.top, bottom: r.bottom, scroll: s.scrollHeight, client: s.clientHeight }; }"""


@pytest.fixture(scope="module")
def layouts_build(mini_build, tmp_path_factory):
    """The built mini talk with a section that uses every layout, rebuilt warm (no generator runs)."""
    root = tmp_path_factory.mktemp("layouts")
    shutil.copytree(mini_build[0], root, symlinks=True, dirs_exist_ok=True)
    (root / "talk" / "sections" / "layouts.md").write_text(LAYOUTS)
    path = root / "talk" / "talk.yaml"
    talk = yaml.safe_load(path.read_text())
    talk["agenda"].append({"id": "layouts", "title": "Layouts: every one", "minutes": 2})
    talk["slot_minutes"] += 2
    path.write_text(yaml.safe_dump(talk, sort_keys=False))
    build_site(Project(root))
    return root


def side_by_side(a: dict, b: dict) -> bool:
    return b["left"] >= a["right"] - 1 and abs(a["top"] - b["top"]) < a["height"] and a["width"] > 0 < b["width"]


def stacked(a: dict, b: dict) -> bool:
    return b["top"] >= a["bottom"] - 1 and abs(a["left"] - b["left"]) < 2


def test_every_layout_renders_in_deck_handout_and_pdf(layouts_build, chromium):
    site = layouts_build / "site"
    deck_html = (site / "slides" / "index.html").read_text()
    page_html = (site / "sections" / "layouts.html").read_text()
    for html in (deck_html, page_html):
        assert all(f'class="w2w-layout {c}' in html or f"w2w-layout {c} " in html for c in CLASSES), html
        assert "<li>left point one</li>" in html and "<strong>paint</strong>" in html  # Markdown inside
        assert "w2w:column" not in html and "{{" not in html
    view = OfflinePage(chromium, 1280, 720)
    page = view.page
    for url in (
        (site / "slides" / "index.html").as_uri(),
        (site / "slides" / "index.html").as_uri() + "?print-pdf",
    ):
        page.goto(url)
        page.wait_for_selector("html[data-w2w-ready='true']", state="attached", timeout=60000)
        if "print-pdf" in url:  # every slide is a page of its own: the columns of its slide
            boxes = page.evaluate(_BOXES, [".w2w-cols > .w2w-col", ".w2w-compare > .w2w-compare-card"])
            assert side_by_side(*boxes[".w2w-cols > .w2w-col"]), boxes
            assert side_by_side(*boxes[".w2w-compare > .w2w-compare-card"]), boxes
            continue
        seen = set()
        first = page.evaluate("() => Reveal.getSlides().findIndex((s) => s.id === 'layouts')")
        for index in range(first, page.evaluate("() => Reveal.getTotalSlides()")):
            page.evaluate("(i) => Reveal.slide(i)", index)
            slide = page.evaluate(_SLIDE)
            assert slide["scroll"] <= slide["client"] + 2, (index, slide)  # nothing overflows
            boxes = page.evaluate(_BOXES, [f".reveal .slides section.present .{c}" for c in CLASSES])
            for selector, found in boxes.items():
                for box in found:  # on the slide, with a size
                    assert box["height"] > 0 and slide["top"] - 1 <= box["top"] <= box["bottom"] <= slide["bottom"] + 1
                    seen.add(selector.rsplit(".", 1)[1])
            columns = page.evaluate(_BOXES, [".reveal .slides section.present .w2w-cols > .w2w-col"])
            if columns[".reveal .slides section.present .w2w-cols > .w2w-col"]:
                left, right = columns[".reveal .slides section.present .w2w-cols > .w2w-col"]
                assert side_by_side(left, right) and 1.3 < left["width"] / right["width"] < 1.7  # "3:2"
        assert seen == set(CLASSES)
    for width, arranged in ((1280, side_by_side), (390, stacked)):
        view.page.set_viewport_size({"width": width, "height": 900})
        page.goto((site / "sections" / "layouts.html").as_uri())
        boxes = page.evaluate(_BOXES, [".md-typeset .w2w-cols > .w2w-col", ".md-typeset .w2w-compare-card"])
        assert arranged(*boxes[".md-typeset .w2w-cols > .w2w-col"]), (width, boxes)
        assert arranged(*boxes[".md-typeset .w2w-compare-card"]), (width, boxes)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # no sideways scroll
        present = page.evaluate(_BOXES, [f".md-typeset .{c}" for c in CLASSES])
        assert all(found and found[0]["height"] > 0 for found in present.values()), present
    view.close()
