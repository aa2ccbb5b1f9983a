"""A `{{ value }}` shows exactly as written in every Markdown context of a page (w2w/talk/value_escaping.py):
Jinja and markdown-it together escape it once, in text, code, fences, maths, links, headings and raw
HTML alike. Before, code showed `a &lt; b` and maths drew the entity's letters."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from w2w.render.diagrams import MermaidRenderer
from w2w.render.markdown import MarkdownRenderer, image_sources
from w2w.render.templating import render_markdown
from w2w.talk.sandbox import make_environment
from w2w.talk.value_escaping import VALUE_AMP

pytestmark = pytest.mark.quick

REPO = Path(__file__).resolve().parents[1]
VALUE = "a < b & \"c\" 'd'"
ONCE = "a &lt; b &amp; &quot;c&quot; 'd'"  # how markdown-it writes text and code: each character once


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A page that writes VALUE everywhere, rendered as the build does: Jinja, then Markdown."""
    source = textwrap.dedent(
        """\
        # Title {{ v }}

        Text {{ v }} and `inline {{ v }}` and [link]({{ url }} "title {{ v }}").

        ```
        fence {{ v }}
        ```

        ```python
        y = {{ v }}
        ```

        <p data-x="{{ v }}">raw {{ v }}</p>

        $x {{ "<" }} y$ and {{ "<b>" }} as text, {{ "<i>x</i>"|safe }} as markup.
        """
    )
    path = tmp_path_factory.mktemp("values") / "page.md"
    path.write_text(source)
    context = {
        "talk": {},
        "agenda": [],
        "target": "deck",
        "root": "",
        "v": VALUE,
        "url": "https://example.com/?a=1&b=<2>",
    }
    text = render_markdown(make_environment(REPO), path, context)
    return text, MarkdownRenderer(MermaidRenderer()).render(text)


def test_a_value_is_escaped_once_in_text_code_and_fences(page):
    _, rendered = page
    html = rendered.html
    assert f"<p>Text {ONCE} and <code>inline {ONCE}</code>" in html
    assert f"<pre><code>fence {ONCE}\n</code></pre>" in html
    assert "&amp;lt;" not in html and "&amp;amp;" not in html and "&amp;#34;" not in html  # nothing twice
    # Highlighted code: Pygments gets the characters and escapes them itself.
    code = re.search(r'<code class="language-python">(.*?)</code>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", code) == f"y = {ONCE}\n".replace("&quot;", '"')
    assert VALUE_AMP not in html


def test_a_value_is_escaped_once_in_raw_html_links_and_headings(page):
    _, rendered = page
    html = rendered.html
    assert '<p data-x="a &lt; b &amp; &#34;c&#34; &#39;d&#39;">raw a &lt; b &amp; &#34;c&#34; &#39;d&#39;</p>' in html
    assert (
        '<a href="https://example.com/?a=1&amp;b=%3C2%3E" title="title a &lt; b &amp; &quot;c&quot; \'d\'">link</a>'
        in html
    )
    assert "<h1 id=\"title-a--b--c-d\">Title a &lt; b &amp; &quot;c&quot; 'd'</h1>" in html
    assert rendered.headings[0].text == "Title " + VALUE  # the handout's table of contents: plain text
    assert "&lt;b&gt; as text, <i>x</i> as markup." in html  # |safe stays markup


def test_a_value_in_maths_is_the_character_not_the_entity(page):
    _, rendered = page
    math = re.search(r"<math[^>]*>(.*?)</math>", rendered.html).group(1)
    assert math == "<mrow><mi>x</mi><mo>&#x0003C;</mo><mi>y</mi></mrow>", math


def test_a_value_in_a_mermaid_label_reads_as_written_and_cannot_end_the_label():
    env = make_environment(REPO)
    text = env.from_string('```mermaid\ngraph LR\nA["{{ v }}"] --> B\n```\n').render(v="x < y & z")
    svg = MarkdownRenderer(MermaidRenderer()).render(text).html
    assert "x &lt; y &amp; z" in re.sub(r"<[^>]+>", "", svg)
    # A quote stays an entity for Mermaid: as a character it would end the quoted label (a build
    # error), and a value could add nodes and links to the diagram.
    value = 'x"]\n  Z["added'
    text = env.from_string('```mermaid\ngraph LR\nA["{{ v }}"] --> B\n```\n').render(v=value)
    svg = MarkdownRenderer(MermaidRenderer()).render(text).html
    assert "flowchart-Z" not in svg and svg.count('class="node default"') == 2


def test_escape_filters_and_a_values_own_marker_character_read_as_written():
    env = make_environment(REPO)
    text = env.from_string("`{{ v|e }}` `{{ v|escape }}` `{{ w }}`\n").render(v="a < b", w="\ue000lt; x")
    html = MarkdownRenderer(MermaidRenderer()).render(text).html
    assert html == "<p><code>a &lt; b</code> <code>a &lt; b</code> <code>\ue000lt; x</code></p>\n"


def test_the_live_badge_is_the_provenance_as_written_in_the_json_and_on_the_slide():
    import json

    from w2w.render.templating import Artifacts, ArtifactView

    data = {"words": ["dog"], "points": [[0, 0]], "live_request": {"words": ["wolf"]}}
    provenance = {"model": "m", "device": "CPU & <GPU>", "recorded_at": "today", "fallback": ""}
    context = {
        "talk": {},
        "agenda": [],
        "target": "deck",
        "root": "",
        "this_part": None,
        "artifacts": Artifacts({"embedding_plot": ArtifactView("embedding_plot", data, provenance, {}, "")}),
    }
    env = make_environment(REPO)
    macros = env.get_template("live.j2").make_module(context)
    html = MarkdownRenderer(MermaidRenderer()).render(str(macros.embedding_plot("embedding_plot"))).html
    payload = json.loads(re.search(r'class="w2w-live-data">(.*?)</script>', html).group(1))
    assert payload["badge"] == "RECORDED · today · CPU & <GPU>"
    assert '<span class="w2w-live-badge" data-state="recorded">RECORDED · today · CPU &amp; &lt;GPU&gt;</span>' in html


def test_an_image_path_from_a_value_is_found_as_written(tmp_path):
    env = make_environment(REPO)
    text = env.from_string('![a]({{ p }})\n\n<img src="{{ p }}" alt="b">\n').render(p="media/a&b.png")
    assert [src for _, src in image_sources(text)] == ["media/a&b.png", "media/a&b.png"]
