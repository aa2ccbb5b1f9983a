"""Bad input, answered clearly: each class of mistake, made in a copy of a talk that built fine,
runs the real CLI (in this process: cli_in_process.py) and must give exit 2 and one line
`file:line: what — how to fix` naming the right file and line, with no traceback, and leave the
previous site and the cache exactly as they were.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from cli_in_process import run_cli

pytestmark = pytest.mark.build

# The CLI prefixes the line with "error: " (w2w/cli/main.py, user_errors).
ERROR_LINE = re.compile(r"^(?:error: )?(?P<file>[^\s:]+):(?P<line>\d+): (?P<what>.+?) — (?P<fix>\S.*)$")


@pytest.fixture(scope="module")
def base(mini_build, tmp_path_factory) -> Path:
    """The mini talk, built successfully by the CLI (artifacts from the copied cache)."""
    root, _ = mini_build
    copy = tmp_path_factory.mktemp("bad-input") / "talk"
    shutil.copytree(root, copy, symlinks=True)
    proc = run_cli("build-talk", cwd=copy)
    assert proc.returncode == 0, proc.stderr
    return copy


@pytest.fixture()
def project(base, tmp_path) -> Path:
    copy = tmp_path / "talk"
    shutil.copytree(base, copy, symlinks=True)
    return copy


def _snapshot(root: Path) -> tuple:
    cache = root / ".w2w" / "cache"
    return (
        (root / "site" / "index.html").read_bytes(),
        (root / "site" / "slides" / "index.html").read_bytes(),
        sorted(str(p.relative_to(cache)) for p in cache.rglob("*")),
    )


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert text.count(old) == 1, (rel, old)
    path.write_text(text.replace(old, new))


def _line_of(root: Path, rel: str, needle: str) -> int:
    hits = [n for n, line in enumerate((root / rel).read_text().splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (rel, needle, hits)
    return hits[0]


def assert_user_error(root: Path, rel: str, line: int, what: str) -> re.Match:
    """Run `build-talk` on the broken project and check the answer and that nothing changed."""
    before = _snapshot(root)
    proc = run_cli("build-talk", cwd=root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    match = ERROR_LINE.match(lines[0])
    assert match, lines[0]
    assert (match["file"], int(match["line"])) == (rel, line), lines[0]
    assert what in match["what"], lines[0]
    assert _snapshot(root) == before  # previous site and cache untouched
    return match


def test_yaml_syntax_error(project):
    _edit(project, "talk/talk.yaml", "  title: Maths\n", "  title: Maths: the sequel\n")
    line = _line_of(project, "talk/talk.yaml", "Maths: the sequel")
    match = assert_user_error(project, "talk/talk.yaml", line, "YAML syntax error")
    assert "quote" in match["fix"]


def test_unknown_key_in_talk_yaml(project):
    _edit(project, "talk/talk.yaml", "  title: Words\n", "  title: Words\n  colour: red\n")
    line = _line_of(project, "talk/talk.yaml", "colour: red")
    match = assert_user_error(project, "talk/talk.yaml", line, "unknown key 'colour' in agenda[2]")
    assert "spelling" in match["fix"]


def test_wrong_type_in_talk_yaml(project):
    _edit(project, "talk/talk.yaml", "  title: Maths\n  minutes: 2\n", "  title: Maths\n  minutes: two\n")
    line = _line_of(project, "talk/talk.yaml", "minutes: two")
    match = assert_user_error(project, "talk/talk.yaml", line, "agenda[1].minutes")
    assert "whole number" in match["fix"]


def test_agenda_names_a_missing_section_file(project):
    _edit(project, "talk/talk.yaml", "- id: words\n", "- id: wordz\n")
    line = _line_of(project, "talk/talk.yaml", "id: wordz")
    assert_user_error(project, "talk/talk.yaml", line, "no file talk/sections/wordz.md")


def test_jinja_syntax_error(project):
    _edit(project, "talk/sections/maths.md", "Target switch.", "Target {% if %} switch.")
    line = _line_of(project, "talk/sections/maths.md", "{% if %}")
    assert_user_error(project, "talk/sections/maths.md", line, "template syntax error")


def test_undefined_name(project):
    _edit(project, "talk/sections/words.md", "Computed at build time.", "Computed at {{ build_time }}.")
    line = _line_of(project, "talk/sections/words.md", "build_time")
    assert_user_error(project, "talk/sections/words.md", line, "'build_time' is undefined")


@pytest.mark.parametrize("jinja_above", [False, True], ids=["plain", "multi-line-jinja-above"])
def test_invalid_mermaid(project, jinja_above):
    rel = "talk/sections/intro.md"
    _edit(
        project, rel, "A[Text Prompt] --> B[Text Encoder]\n", "A[Text Prompt] --> B[Text Encoder]\nB --> C]\nC --> D\n"
    )
    if jinja_above:  # 3 lines of source that render as 7: lines after Jinja no longer match the file
        _edit(project, rel, "## A diagram\n", "## A diagram\n{% for i in range(3) %}\nStep {{ i }}.\n{% endfor %}\n")
    line = _line_of(project, rel, "B --> C]")  # the diagram's bad line, in the file as written
    assert_user_error(project, rel, line, "invalid Mermaid diagram")


@pytest.mark.parametrize("usage", ['{{ figure("no_such", "plot", "x") }}', "{{ artifacts.nope.data }}"])
def test_unknown_generator_or_figure_name(project, usage):
    rel = "talk/sections/words.md"
    _edit(project, rel, "## Numbers\n", f"## Numbers\n\n{usage}\n")
    name = "no_such" if "no_such" in usage else "nope"
    match = assert_user_error(project, rel, _line_of(project, rel, usage), f"unknown generator or figure name {name!r}")
    assert "embedding_plot" in match["fix"]


def test_model_that_cannot_be_found(project):
    talk = yaml.safe_load((project / "talk" / "talk.yaml").read_text())
    talk["generators"]["embedding_plot"]["model"] = "org/not-a-model"
    (project / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    # Reported where the talk first uses the generator: the figure on the words section's line 3.
    line = _line_of(project, "talk/sections/words.md", "figure(")
    match = assert_user_error(project, "talk/sections/words.md", line, "model 'org/not-a-model'")
    assert "w2w models pull" in match["fix"] and "local_dirs" in match["fix"]


@pytest.mark.parametrize(
    "added, what",
    [
        ('{% include "../../../etc/passwd" %}', "include path outside the project: '../../../etc/passwd'"),
        ("![x](../../../etc/hostname)", "figure path outside the project: '../../../etc/hostname'"),
    ],
    ids=["include", "markdown-image"],
)
def test_path_outside_the_project(project, added, what):
    rel = "talk/sections/maths.md"
    _edit(project, rel, "Target switch.\n", f"Target switch.\n\n{added}\n")
    assert_user_error(project, rel, _line_of(project, rel, added), what)


def test_missing_local_image(project):
    rel = "talk/sections/maths.md"
    _edit(project, rel, "{% if target", "![A chart](charts/none.png)\n\n{% if target")
    assert_user_error(project, rel, _line_of(project, rel, "charts/none.png"), "image not found: 'charts/none.png'")


def test_empty_section_file(project):
    (project / "talk" / "sections" / "maths.md").write_text("")
    assert_user_error(project, "talk/sections/maths.md", 1, "the page is empty")


def test_duplicate_section_ids(project):
    _edit(project, "talk/talk.yaml", "- id: words\n  title: Words\n", "- id: intro\n  title: Words\n")
    lines = [
        n for n, line in enumerate((project / "talk" / "talk.yaml").read_text().splitlines(), 1) if "id: intro" in line
    ]
    assert_user_error(project, "talk/talk.yaml", lines[1], "duplicate section id 'intro'")  # the second one


# --- Text from the talk must not become HTML -------------------------------------------------------

HOSTILE = {"title": "<script>alert(1)</script>", "part": "<em>Intro</em> & <b>co</b>"}


@pytest.fixture(scope="module")
def hostile(base, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("hostile") / "talk"
    shutil.copytree(base, copy, symlinks=True)
    talk = yaml.safe_load((copy / "talk" / "talk.yaml").read_text())
    talk["title"] = HOSTILE["title"]
    talk["agenda"][0]["title"] = HOSTILE["part"]
    (copy / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    proc = run_cli("build-talk", cwd=copy)
    assert proc.returncode == 0, proc.stderr
    return copy


def test_talk_text_is_escaped_in_the_deck_and_the_handout_pages(hostile):
    deck = (hostile / "site" / "slides" / "index.html").read_text()
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in deck  # the title slide
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in deck
    assert "&lt;em&gt;Intro&lt;/em&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in deck  # agenda, footer
    assert HOSTILE["title"] not in deck and "<em>Intro</em>" not in deck
    # The handout's agenda table (macro agenda_table) on the home page, in the page's content.
    home = (hostile / "site" / "index.html").read_text()
    content = home.split('<article class="md-content__inner', 1)[1].split("</article>", 1)[0]
    assert '<a href="sections/intro.html">&lt;em&gt;Intro&lt;/em&gt; &amp; &lt;b&gt;co&lt;/b&gt;</a>' in content
    assert "<em>Intro</em>" not in content


def test_talk_text_is_escaped_in_the_handout_header_and_navigation(hostile):
    for page in (hostile / "site").rglob("*.html"):
        if "slides" in page.relative_to(hostile / "site").parts:
            continue
        html = page.read_text()
        assert HOSTILE["title"] not in html, page
        assert "<em>Intro</em>" not in html, page


@pytest.mark.parametrize(
    "rel, old, new, line, what",
    [
        ("talk/sections/maths.md", "# Maths", "# Maths {{ 1 / 0 }}", 1, "ZeroDivisionError"),
        ("talk/sections/maths.md", "# Maths", "# Maths \udcff", 1, "not valid UTF-8"),
        ("talk/talk.yaml", "slot_minutes: 6", "slot_minutes: 6\nslot_minutes: 5", 5, "duplicate key 'slot_minutes'"),
        ("talk/sections/maths.md", "# Maths", "# Maths {{ undefined_[dog] }}", 1, "undefined"),
        (
            "talk/talk.yaml",
            "  device: cpu",
            "  device: cpu\n  local_dirs: {org/model: ./nowhere}",
            "local_dirs",
            "does not exist",
        ),
        (
            "talk/talk.yaml",
            "  device: cpu",
            "  device: cpu\n  local_dirs: {org/model: ./talk}",
            "local_dirs",
            "has none of config.json",
        ),
        (
            "talk/talk.yaml",
            "  device: cpu",
            "  device: cpu\n  local_dirs: {org/model: /}",
            "local_dirs",
            "not a model's directory",
        ),
        (
            "talk/talk.yaml",
            "generators:\n",
            "generators:\n  token_trace:\n    prompt: '  '\n",
            "prompt: '  '",
            "the prompt is empty",
        ),
        (
            "talk/talk.yaml",
            "generators:\n",
            "generators:\n  token_trace:\n    max_new_tokens: 40\n    tree_depth: 3\n",
            "tree_depth: 3",
            "the token tree may hold up to 644,960 branches",
        ),
        (
            "talk/sections/maths.md",
            "The forward process.",
            "The forward process,\nas $x^$ says.",
            "$x^$",
            "a ^ or _ has nothing after it",
        ),
        (
            "talk/sections/maths.md",
            "$$\n\n",
            "$$\n\n$$\n\\frac{1}{\n$$\n\n",
            "\\frac{1}{",
            "the formula ends too early",
        ),
        ("mkdocs.yml", "  name: material", "  name: no-such-theme", "name: no-such-theme", "Unrecognised theme name"),
        ("mkdocs.yml", "  palette:", "  palette: [", "palette: [", "YAML syntax error"),
        (
            "mkdocs.yml",
            "plugins:",
            "markdown_extensions:\n  - admonition\nplugins:",
            "markdown_extensions:",
            "w2w renders the handout's Markdown itself",
        ),
    ],
    ids=[
        "expression-fails",
        "not-utf8",
        "duplicate-key",
        "markup-like-text",
        "missing-local-dir",
        "not-a-model-dir",
        "root-as-model-dir",
        "empty-llm-prompt",
        "token-tree-too-big",
        "inline-math",
        "block-math",
        "mkdocs-value",
        "mkdocs-yaml",
        "markdown-extensions",
    ],
)
def test_more_mistakes_are_one_line_errors(project, rel, old, new, line, what):
    path = project / rel
    text = path.read_text().replace(old, new, 1)
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))  # \udcff -> the byte 0xff
    if isinstance(line, str):
        line = _line_of(project, rel, line)
    assert_user_error(project, rel, line, what)
