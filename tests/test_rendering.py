"""Markdown and template rendering: slides, notes, Mermaid as SVG, math as MathML, line-precise errors."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from w2w.errors import W2WError
from w2w.render.diagrams import MermaidRenderer
from w2w.render.markdown import MarkdownRenderer
from w2w.render.slides import split_slides
from w2w.render.templating import render_markdown
from w2w.talk.sandbox import artifact_references, make_environment

pytestmark = pytest.mark.quick

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def markdown():
    return MarkdownRenderer(MermaidRenderer())


def test_slides_split_on_rules_and_notes_but_not_inside_code():
    text = textwrap.dedent(
        """\
        # One
        body
        Note:
        first notes
        ---
        ## Two
        ```python
        x = 1
        ---
        Note: not a note
        ```
        Note: second notes
        ---
        ## Three
        """
    )
    slides = split_slides(text)
    assert [s.title for s in slides] == ["One", "Two", "Three"]
    assert slides[0].notes == "first notes"
    assert "---\nNote: not a note" in slides[1].content
    assert slides[1].notes == "second notes"
    assert slides[2].notes == "" and slides[2].line == 14


def test_mermaid_becomes_inline_svg_with_a_unique_id(markdown):
    one = markdown.render("```mermaid\ngraph TD\nA[Text Prompt] --> B[Text Encoder]\n```\n").html
    two = markdown.render("```mermaid\nflowchart LR\nA[Prompt] --> B[LLM]\n```\n").html
    assert "<svg" in one and "Text Encoder" in one and "<pre" not in one
    ids = [html.split('id="', 1)[1].split('"', 1)[0] for html in (one, two)]
    assert ids[0] != ids[1] and all(i.startswith("w2w-mermaid-") for i in ids)
    assert "my-svg" not in one + two


def test_mermaid_takes_the_talks_colours_and_fits_long_labels_on_one_line(tmp_path):
    from w2w.render.diagrams import mermaid_config
    from w2w.talk.config import Theme

    source = "graph TD\nA[Text Prompt] --> B[Diffusion Model - Renderer]"
    red = MermaidRenderer(tmp_path, mermaid_config(Theme(accent="#ff0000"))).svg(source)
    assert "#ff0000" in red and '"DejaVu Sans"' in red  # the font mermaidx measures labels with
    heights = re.findall(r'<rect class="basic label-container"[^>]*height="([\d.]+)"', red)
    assert len(heights) == 2 and heights[0] == heights[1]  # the long label is not wrapped to two lines
    blue = MermaidRenderer(tmp_path, mermaid_config(Theme(accent="#0000ff"))).svg(source)
    assert "#0000ff" in blue and "#ff0000" not in blue  # a theme change is not served from the store
    assert len(list(tmp_path.glob("*.svg"))) == 2


def test_math_becomes_mathml(markdown):
    html = markdown.render("Inline $x_t$ and\n\n$$\n\\mathrm{softmax}(QK^T/\\sqrt{d_k})V\n$$\n").html
    assert html.count("<math") == 2
    assert 'display="block"' in html and "<msqrt>" in html and "$" not in html


def test_tables_definition_lists_and_code(markdown):
    html = markdown.render(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\nToken\n: a unit of text\n\n```python\nimport torch\n```\n"
    ).html
    assert "<table>" in html and "<dl>" in html and "<dt>Token</dt>" in html
    assert 'class="language-python"' in html and "<span" in html  # highlighted by Pygments


def test_invalid_mermaid_names_the_line_of_the_bad_diagram_line(markdown):
    text = "intro\n\n```mermaid\ngraph TD\nA[x --> \n```\n"
    with pytest.raises(W2WError) as err:
        markdown.render(text, line_offset=10)
    assert "invalid Mermaid diagram" in err.value.what
    assert err.value.line == 10 + 3 + 2  # offset + fence opening line + the diagram's line 2


def _page(tmp_path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(text))
    return page


def _context(target="deck"):
    from w2w.render.templating import Artifacts

    return {"talk": {}, "agenda": [], "artifacts": Artifacts({}), "target": target, "root": ""}


def test_target_switch_renders_deck_and_handout_differently(tmp_path):
    env = make_environment(REPO)
    page = _page(tmp_path, '{% if target == "handout" %}reader{% else %}audience{% endif %}\n')
    assert render_markdown(env, page, _context("deck")).strip() == "audience"
    assert render_markdown(env, page, _context("handout")).strip() == "reader"


def test_undefined_name_is_a_user_error_with_its_line(tmp_path):
    env = make_environment(REPO)
    page = _page(tmp_path, "line one\nline two {{ speaker_nmae }}\n")
    with pytest.raises(W2WError) as err:
        render_markdown(env, page, _context())
    assert err.value.file == page and err.value.line == 2
    assert "speaker_nmae" in err.value.what


def test_jinja_syntax_error_has_its_line(tmp_path):
    env = make_environment(REPO)
    page = _page(tmp_path, "ok\n\n{% if target %}\nno endif\n")
    with pytest.raises(W2WError) as err:
        render_markdown(env, page, _context())
    assert "template syntax error" in err.value.what and err.value.line == 3  # the unclosed if


def test_references_name_each_artifact_a_page_uses_with_its_line(tmp_path):
    env = make_environment(REPO)
    source = (
        "a\n{{ figure('embedding_plot', 'plot', 'x') }}\n{{ artifacts.token_trace.data.prompt }}\n{{ sim('a', 'b') }}\n"
    )
    refs = artifact_references(env, source, tmp_path / "p.md")
    assert [(r.name, r.line, r.macro) for r in refs] == [
        ("embedding_plot", 2, "figure"),
        ("token_trace", 3, None),
        ("embedding_plot", 4, "sim"),
    ]
    assert refs[0].args == ("plot", "x") and refs[2].args == ("a", "b")


def test_macros_escape_model_text(tmp_path, markdown):
    from w2w.render.templating import Artifacts, ArtifactView

    env = make_environment(REPO)
    steps = [
        {
            "token": "</script>",
            "token_id": 1,
            "prob": 0.5,
            "entropy": 1.0,
            "top": [{"token": "</script>", "token_id": 1, "prob": 0.5}, {"token": "<&", "token_id": 2, "prob": 0.3}],
        }
    ]
    data = {
        "prompt": "a <b>",
        "completion": "</script>",
        "sampling": "greedy",
        "temperature": None,
        "top_k": 2,
        "tokens_per_second": 10.0,
        "mean_nll": 0.7,
        "steps": steps,
        "new_tokens": 1,
        "text": "a <b></script>",
        "stopped_at_eos": False,
    }
    provenance = {
        "model": "tiny<model>",
        "source": "local",
        "device": "CPU",
        "seconds": 1.0,
        "embedded": False,
        "fallback": "",
    }
    view = ArtifactView("token_trace", data, provenance, {"figure": "f.png"}, "")
    context = {**_context("deck"), "artifacts": Artifacts({"token_trace": view})}
    page = _page(tmp_path, '{{ token_trace("token_trace") }}\n')
    html = markdown.render(render_markdown(env, page, context)).html  # Jinja, then Markdown, as a build does
    # The only </script> closes the deck's own recording block, whose JSON escapes "<" (\u003c).
    assert html.count("</script>") == html.count('<script type="application/json"') == 1
    assert "\\u003c/script\\u003e" in html
    assert "&lt;/script&gt;" in html and "&lt;&amp;" in html
    assert "tiny&lt;model&gt;" in html and "a &lt;b&gt;" in html


def test_heading_ids_stay_unique_across_slides_of_one_page(markdown):
    seen: set[str] = set()
    first = markdown.render("## Example\n", seen_ids=seen)
    second = markdown.render("## Example\n\n### Example\n", seen_ids=seen)
    ids = [h.id for h in first.headings + second.headings]
    assert len(set(ids)) == 3 and ids[:2] == ["example", "example-2"] and 'id="example-2"' in second.html
