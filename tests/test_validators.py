"""The built talk against a validator nobody here wrote, the Nu HTML checker (vnu-jar, on Debian's
Java), plus what a reader on a phone or opening 404.html from disk would meet.

The repository's own talk is built once per session (conftest.real_build) and so is the mini
talk (conftest.mini_build). The other validator, axe-core (WCAG 2.1 A/AA + best practice), runs in
`w2w check`'s deck and page walks: the real talk's once, in test_full_talk.py, whose other tests
read the same walk; the mini talk's in test_check.py, where it must find nothing at all, axe's
findings and w2w's own rules alike (a walk here that looked at axe's findings only was the same
20 s again on the loaded 2-core machine).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from w2w.publish.browser import OfflinePage

pytestmark = [pytest.mark.build, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[1]
VNU = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def test_vnu_finds_no_html_errors_in_either_site(real_build, mini_build):
    pages = [str(p) for build in (real_build, mini_build) for p in sorted((build[0] / "site").rglob("*.html"))]
    assert len(pages) > 20
    proc = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", *pages], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr[-4000:]


def test_the_deep_dive_table_of_contents_lists_its_h2s(real_build, chromium):
    root, _ = real_build
    view = OfflinePage(chromium, 1280, 900)
    view.page.goto((root / "site" / "deep-dive.html").as_uri())
    h2s, toc = view.page.evaluate(
        """() => [
            Array.from(document.querySelectorAll('.md-content h2[id]'), (h) => '#' + h.id),
            Array.from(document.querySelectorAll('.md-sidebar--secondary nav.md-nav--secondary > ul > li > a'),
                (a) => a.getAttribute('href')),
        ]"""
    )
    assert len(h2s) >= 8 and toc == h2s
    first = view.page.locator(".md-sidebar--secondary nav.md-nav--secondary > ul > li > a").first
    assert first.is_visible()  # the right-hand column shows it, at a laptop's width
    h3s = view.page.evaluate("() => document.querySelectorAll('.md-content h3[id]').length")
    nested = view.page.evaluate(
        "() => document.querySelectorAll('.md-sidebar--secondary nav.md-nav--secondary > ul > li > nav a').length"
    )
    assert nested == h3s  # each h3 under its h2
    assert view.problems("deep-dive") == []
    view.close()


def test_a_section_page_lists_its_slides_in_the_table_of_contents(mini_build):
    root, _ = mini_build
    page = (root / "site" / "sections" / "intro.html").read_text()
    toc = page[page.index('class="md-nav md-nav--secondary"') :]
    assert 'href="#a-diagram"' in toc[: toc.index("</nav>")]


def test_404_page_works_from_disk_and_links_to_the_deck(real_build, chromium):
    root, _ = real_build
    site = root / "site"
    view = OfflinePage(chromium, 1280, 900)
    view.page.goto((site / "404.html").as_uri())
    view.page.wait_for_load_state("load")
    styled = view.page.evaluate("() => getComputedStyle(document.querySelector('.md-header')).position")
    assert styled == "sticky"  # material's stylesheet loaded from the relative path
    links = view.page.evaluate("() => Array.from(document.querySelectorAll('a[href*=\"slides/\"]'), (a) => a.href)")
    assert links, "no deck link on 404.html"
    for link in links:
        assert Path(url2pathname(urlparse(link).path)).resolve() == (site / "slides" / "index.html").resolve()
    assert view.problems("404.html") == []
    view.close()
