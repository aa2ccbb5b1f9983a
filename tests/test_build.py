"""Whole builds of a small real talk: deck and handout agree, the agenda drives both, caching works;
and the builds other files' subjects need (compiled templates, local images, a new generator),
kept here so that those files stay quick."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from talk_factory import copy_built, make_project

from w2w.build import build_site
from w2w.project import Project

pytestmark = [pytest.mark.build, pytest.mark.model]


def _deck(root):
    return (root / "site" / "slides" / "index.html").read_text()


def _sections(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


def test_deck_has_title_agenda_slides_and_notes(mini_build):
    root, result = mini_build
    html = _deck(root)
    assert 'class="w2w-title"' in html and "<h1>Mini talk</h1>" in html
    agenda = html.split('class="w2w-agenda"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r"<td>([A-Z][a-z]+)</td>", agenda) == ["Intro", "Maths", "Words", "Total"]
    assert _sections(html) == ["intro", "intro-2", "maths", "maths-2", "words", "words-2"]
    assert html.count('<aside class="notes">') == 2 + 6  # title, agenda and every content slide
    assert "Say hello and ask who has used an LLM." in html
    assert (root / "site" / "slides" / "reveal" / "reveal.js").is_file()
    assert (root / "site" / "slides" / "reveal" / "plugin" / "notes.js").is_file()


def test_handout_shows_notes_as_prose_and_the_same_diagram_as_the_deck(mini_build):
    root, _ = mini_build
    page = (root / "site" / "sections" / "intro.html").read_text()
    assert 'class="w2w-notes"' in page and "Say hello and ask who has used an LLM." in page
    assert '<aside class="notes">' not in page
    svg = re.search(r"<svg id=\"w2w-mermaid-.*?</svg>", page, re.S).group(0)
    assert svg in _deck(root)  # byte-identical SVG in both outputs


def test_math_and_target_switch_in_both_outputs(mini_build):
    root, _ = mini_build
    deck, page = _deck(root), (root / "site" / "sections" / "maths.html").read_text()
    assert "<math" in deck and "<math" in page and "$$" not in deck + page
    assert "Only the audience sees this." in deck and "Only readers see this." not in deck
    assert "Only readers see this." in page and "Only the audience sees this." not in page


def test_live_numbers_and_provenance_reach_both_outputs(mini_build):
    root, result = mini_build
    similarity = result.prepared.produced.artifacts["embedding_plot"].data["similarity"]
    expected = f"dog–puppy {similarity['dog']['puppy']:.2f} vs dog–banana {similarity['dog']['banana']:.2f}"
    assert expected in _deck(root)
    page = (root / "site" / "sections" / "words.html").read_text()
    assert expected in page and "sentence-transformers/all-MiniLM-L6-v2" in page
    assert (root / "site" / "artifacts" / "embedding_plot" / "plot.png").is_file()
    assert (root / "site" / "slides" / "artifacts" / "embedding_plot" / "plot.png").is_file()
    worksheet = (root / "site" / "worksheet.html").read_text()
    assert "−ln 0.3 = 1.204" in worksheet


def test_customised_agenda_drives_deck_handout_and_pacing(mini_build, tmp_path):
    root = make_project(  # the mini talk rewritten over a built copy: its plot comes from the cache
        copy_built(mini_build[0], tmp_path / "talk"),
        agenda=[
            {"id": "words", "title": "Words first", "minutes": 7},
            {"id": "maths", "title": "Maths", "minutes": 3, "enabled": False},
            {"id": "intro", "title": "Intro last", "minutes": 4},
        ],
    )
    result = build_site(Project(root))
    html = _deck(root)
    assert _sections(html) == ["words", "words-2", "intro", "intro-2"]
    agenda = html.split('class="w2w-agenda"', 1)[1].split("</section>", 1)[0]
    assert agenda.index("Words first") < agenda.index("Intro last") and "Maths" not in agenda
    assert '"totalTime": 660' in html  # 7 + 4 minutes
    timings = {k: int(v) for k, v in re.findall(r'<section id="([^"]+)"[^>]*data-timing="(\d+)"', html)}
    opening = [int(v) for v in re.findall(r'<section class="w2w-(?:title|agenda)"[^>]*data-timing="(\d+)"', html)]
    # Each part's slides (weighted by their notes) add up to its minutes; the first part also pays
    # for the title and agenda slides.
    assert timings["words"] + timings["words-2"] + sum(opening) == 7 * 60
    assert timings["intro"] + timings["intro-2"] == 4 * 60
    nav = (root / "site" / "index.html").read_text()
    assert nav.index("1. Words first") < nav.index("2. Intro last")
    assert not (root / "site" / "sections" / "maths.html").exists()
    assert result.prepared.warnings == []


def test_second_build_runs_no_generator_and_loads_no_model(tmp_path):
    root = make_project(tmp_path)
    first = build_site(Project(root))
    assert first.prepared.produced.ran == ["embedding_plot"]
    code = (
        "import sys, w2w.build as b, w2w.project as p; r = b.build_site(p.Project(sys.argv[1]));"
        "print(r.prepared.produced.ran, 'transformers' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] False False"  # cache hit: not even torch was imported


def test_changing_a_generator_input_reruns_it(mini_build, tmp_path):
    root = copy_built(mini_build[0], tmp_path / "talk")  # built, its plot in the cache
    assert build_site(Project(root)).prepared.produced.ran == []
    talk = yaml.safe_load((root / "talk" / "talk.yaml").read_text())
    talk["generators"]["embedding_plot"]["words"] = ["dog", "puppy", "banana", "car"]
    (root / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    again = build_site(Project(root))
    assert again.prepared.produced.ran == ["embedding_plot"]
    assert again.prepared.produced.artifacts["embedding_plot"].data["words"][-1] == "car"


def test_a_user_error_exits_2_with_one_line_and_keeps_the_previous_site(mini_build, tmp_path):
    root = copy_built(mini_build[0], tmp_path / "talk")
    build_site(Project(root))  # warm: the previous site, built here
    before = (root / "site" / "index.html").read_text()
    section = root / "talk" / "sections" / "maths.md"
    section.write_text(section.read_text().replace("# Maths", "# Maths {{ nope }}"))
    proc = subprocess.run([sys.executable, "-m", "w2w", "build-talk"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [text for text in proc.stderr.splitlines() if text.strip()]
    assert len(lines) == 1 and "talk/sections/maths.md:1: undefined name in template" in lines[0] and " — " in lines[0]
    assert (root / "site" / "index.html").read_text() == before


def test_a_sections_own_image_is_copied_into_deck_and_handout(tmp_path):
    from PIL import Image

    sections = {"pics": "# Pictures\n\n![A red dot](../images/dot.png)\n\nNote:\nPoint at the dot.\n"}
    root = make_project(tmp_path, sections=sections)
    (root / "talk" / "images").mkdir()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(root / "talk" / "images" / "dot.png")
    build_site(Project(root))
    deck = _deck(root)
    assert 'src="media/talk/images/dot.png"' in deck
    assert (root / "site" / "slides" / "media" / "talk" / "images" / "dot.png").is_file()
    page = (root / "site" / "sections" / "pics.html").read_text()
    assert 'src="../media/talk/images/dot.png"' in page
    assert (root / "site" / "media" / "talk" / "images" / "dot.png").is_file()


def test_plain_mkdocs_build_makes_the_same_handout_and_deck_through_the_plugin(mini_build, tmp_path):
    """The standalone path (`mkdocs build`, what `w2w serve` runs): the plugin prepares the talk
    itself and writes the deck too; with the same cache it gives the pages `w2w build-talk` gave."""
    import shutil

    root, _ = mini_build
    copy = tmp_path / "talk"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("site"))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q"], cwd=copy, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for page in ("index.html", "sections/words.html", "slides/index.html"):
        assert (copy / "site" / page).is_file(), page
    assert _sections(_deck(copy)) == _sections(_deck(root))
    words = (copy / "site" / "sections" / "words.html").read_text()
    assert words.count("w2w-notes") == (root / "site" / "sections" / "words.html").read_text().count("w2w-notes") > 0
    assert "Dog and puppy are close" in words  # the notes, rendered with the cached artifact


def _site_files(root) -> dict[str, bytes]:
    site = root / "site"
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def test_a_warm_build_gives_the_same_site_as_one_without_stored_templates(mini_build, tmp_path):
    """Compiled templates (w2w/talk/compiled_templates.py, test_compiled_templates.py) change no byte
    of the site. On a copy of the built mini talk, so no generator runs: with a talk of its own to
    build first (MiniLM included) it took 21.6 s on the loaded 2-core machine, on the copy 2.4 s."""
    import shutil

    from w2w.talk import compiled_templates

    root = tmp_path / "talk"
    shutil.copytree(mini_build[0], root, symlinks=True)
    project = Project(root)
    kinds = sorted(p.name.split("-jinja")[0] for p in (project.cache_dir / "jinja").iterdir())
    assert kinds == ["css-sandbox", "deck", f"mkdocs{__import__('mkdocs').__version__}-theme", "talk-sandbox"]
    warm = build_site(project)
    assert compiled_templates._unwritten == []
    warm_site = _site_files(root)

    shutil.rmtree(project.cache_dir / "jinja")
    build_site(project)
    assert _site_files(root) == warm_site
    assert warm.prepared.produced.ran == []


def test_local_images_in_every_form_point_at_their_copies_in_both_outputs(tmp_path):
    """Markdown with a title, raw HTML with double, single and no quotes: each is checked and each
    is served from the site's media/ copy (rewriting text with patterns once missed all but two)."""
    from PIL import Image

    section = (
        "# Pictures\n\n"
        '![a square](../images/sq.png "A title")\n\n'
        '<img src="../images/sq.png" alt="double">\n\n'
        "<p><img src='../images/sq.png' alt='single'> and <img alt=bare src=../images/sq.png></p>\n"
    )
    root = make_project(tmp_path, sections={"pictures": section})
    (root / "talk" / "images").mkdir()
    Image.new("RGB", (4, 4), "purple").save(root / "talk" / "images" / "sq.png")
    build_site(Project(root))
    for page, prefix in [("slides/index.html", ""), ("sections/pictures.html", "../")]:
        html = (root / "site" / page).read_text()
        assert "images/sq.png" not in html.replace("media/talk/images/sq.png", "")  # no original path left
        assert html.count(f'src="{prefix}media/talk/images/sq.png"') == 4, page
    assert (root / "site" / "media" / "talk" / "images" / "sq.png").is_file()


@pytest.fixture()
def letter_count(monkeypatch):
    from w2w.plugins import registry

    monkeypatch.setitem(registry.REGISTRY, "letter_count", "plugin_generators:LetterCount")
    registry.get.cache_clear()
    yield
    registry.get.cache_clear()


def test_a_new_generator_plugs_in_without_touching_the_engine(tmp_path, letter_count):
    """A generator the engine has never heard of (plugin_generators.LetterCount, no model), in a talk."""
    from w2w.errors import W2WError
    from w2w.talk.config import load_talk

    section = (
        "# Letters\n\n{{ artifacts.letter_count.data.text|shout }} has {{ artifacts.letter_count.data.n }} letters.\n"
    )
    root = make_project(
        tmp_path, sections={"letters": section}, extra={"generators": {"letter_count": {"text": "denoiser"}}}
    )
    result = build_site(Project(root))
    assert result.prepared.produced.ran == ["letter_count"]  # planned from the page, run, cached
    deck = (root / "site" / "slides" / "index.html").read_text()
    assert "DENOISER! has 8 letters." in deck  # its input from talk.yaml, its filter in the page
    assert (root / "site" / "artifacts" / "letter_count" / "count.json").is_file()
    # talk.yaml's schema is the generator's Inputs: an unknown key is refused at its line.
    talk = yaml.safe_load((root / "talk" / "talk.yaml").read_text())
    talk["generators"]["letter_count"]["colour"] = "red"
    (root / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    with pytest.raises(W2WError, match="unknown key 'colour' in generators.letter_count"):
        load_talk(root / "talk" / "talk.yaml")
