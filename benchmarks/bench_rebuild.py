"""Rebuild costs on a copy of the talk, measured in one run:

1. cold build with an empty cache, no frozen artifacts and a fresh model home (and where it goes);
2. warm rebuild with nothing changed vs a bare `mkdocs build` of the same handout pages, in turns
   (the Jinja-rendered Markdown as plain files, material theme, no w2w plugin), and vs the same
   warm rebuild with no stored compiled templates (every Jinja template compiled again), and a
   bare build given the same kind of compiled-template store (to show what that store is worth);
3. one slide's text edited vs the warm rebuild, in turns (and which generators ran: none expected).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe

REPO = Path(__file__).resolve().parents[1]
RUNS = 3
# The headline pair (warm rebuild vs bare MkDocs, each about half a second) is timed in turns, more
# often: on the shared 2-core machine three runs of one then three of the other put a burst of load
# on one side only (warm/bare read 1.21x, 1.15x and 1.08x in three back-to-back runs, 2026-12-02).
PAIRED_RUNS = 7


def copy_project(target: Path) -> Path:
    for name in ("talk", "templates"):
        shutil.copytree(REPO / name, target / name)
    shutil.copy(REPO / "mkdocs.yml", target / "mkdocs.yml")
    os.symlink(REPO / "node_modules", target / "node_modules")
    shutil.rmtree(target / "talk" / "frozen", ignore_errors=True)  # cold means cold
    return target


def bare_mkdocs_project(prepared, target: Path) -> Path:
    """The same handout pages as plain Markdown for a plain mkdocs-material build."""
    from w2w.render.slides import split_slides
    from w2w.render.templating import render_markdown

    docs = target / "docs"
    (docs / "sections").mkdir(parents=True)
    nav = [{"Home": "index.md"}]
    for section in prepared.talk.sections:
        text = render_markdown(
            prepared.env, prepared.project.section_file(section.id), prepared.context("handout", "../", section.id)
        )
        parts = []
        for slide in split_slides(text):
            parts.append(slide.content)
            if slide.notes:
                parts.append(
                    '!!! note "Speaker notes"\n\n' + "\n".join("    " + note for note in slide.notes.splitlines())
                )
        (docs / "sections" / f"{section.id}.md").write_text("\n\n".join(parts))
        nav.append({section.title: f"sections/{section.id}.md"})
    for page in ["index", *prepared.talk.handout]:
        text = render_markdown(prepared.env, prepared.project.handout_file(page), prepared.context("handout", ""))
        (docs / f"{page}.md").write_text(text)
        if page != "index":
            nav.append({page: f"{page}.md"})
    for name, artifact in prepared.produced.artifacts.items():
        (docs / "artifacts" / name).mkdir(parents=True)
        for file in artifact.files.values():
            shutil.copy(artifact.directory / file, docs / "artifacts" / name / file)
    import yaml

    config = {
        "site_name": prepared.talk.title,
        "use_directory_urls": False,
        "theme": {"name": "material", "font": False},
        "plugins": ["search", "offline"],
        "markdown_extensions": ["tables", "admonition", "def_list", "attr_list"],
        "nav": nav,
    }
    (target / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def bare_with_stored_templates(build, store: Path) -> float:
    """Median time of `build` with MkDocs' theme environment given a Jinja bytecode cache."""
    import jinja2
    from mkdocs.theme import Theme

    store.mkdir()
    plain_get_env = Theme.get_env

    def get_env(theme):
        env = plain_get_env(theme)
        env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(store))
        return env

    Theme.get_env = get_env
    try:
        build()  # fills the store
        return median_seconds(build)
    finally:
        Theme.get_env = plain_get_env


def paired_medians(first, second, runs: int = PAIRED_RUNS) -> tuple[float, float]:
    """Median times of `first` and `second`, run in turns (first, second, first, ...)."""
    a, b = [], []
    for _ in range(runs):
        for fn, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def median_seconds(fn, runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> dict:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    from w2w.build import build_site
    from w2w.project import Project

    scratch = Path(tempfile.mkdtemp(prefix="w2w-bench-"))
    os.environ["W2W_HOME"] = str(scratch / "home")  # fresh model home: the GGUF is converted again
    project = Project(copy_project(scratch / "talk-copy"))

    start = time.perf_counter()
    cold = build_site(project)
    cold_s = time.perf_counter() - start
    generator_s = {n: a.provenance["seconds"] for n, a in cold.prepared.produced.artifacts.items()}

    bare = bare_mkdocs_project(cold.prepared, scratch / "bare")
    bare_config = lambda: load_config(str(bare / "mkdocs.yml"), site_dir=str(bare / "site"))  # noqa: E731
    mkdocs_build(bare_config())  # its first build pays one-off costs, as the cold build did for w2w
    warm_s, bare_s = paired_medians(lambda: build_site(project), lambda: mkdocs_build(bare_config()))

    def build_without_stored_templates():
        shutil.rmtree(project.cache_dir / "jinja", ignore_errors=True)
        return build_site(project)

    uncompiled_s = median_seconds(build_without_stored_templates)
    build_site(project)  # stored again for the edit runs

    bare_stored_s = bare_with_stored_templates(lambda: mkdocs_build(bare_config()), scratch / "bare-jinja")

    section = project.section_file(cold.prepared.talk.sections[1].id)
    original = section.read_text()
    edits = iter(range(100))

    def edit_and_build():
        section.write_text(original.replace("\n", f"\nEdited {next(edits)}.\n", 1))
        result = build_site(project)
        assert result.prepared.produced.ran == [], result.prepared.produced.ran
        return result

    edit_s, warm_again_s = paired_medians(edit_and_build, lambda: build_site(project))  # in turns too
    shutil.rmtree(scratch, ignore_errors=True)

    result = {
        "cold_s": cold_s,
        "cold_generators_s": generator_s,
        "warm_s": warm_s,
        "bare_mkdocs_s": bare_s,
        "warm_vs_bare": warm_s / bare_s,
        "bare_stored_templates_s": bare_stored_s,
        "recompiling_s": uncompiled_s,
        "recompiling_vs_bare": uncompiled_s / bare_s,
        "edit_s": edit_s,
        "edit_vs_warm": edit_s / warm_again_s,
    }
    print(f"machine: {describe()}")
    print(f"cold build (empty cache, no frozen, fresh model home): {cold_s:6.1f} s")
    for name, seconds in generator_s.items():
        print(f"    {name:<16} {seconds:6.1f} s (generator's own wall time)")
    print(f"    rest (imports, model resolution, rendering, mkdocs, deck): {cold_s - sum(generator_s.values()):6.1f} s")
    print(f"warm rebuild, nothing changed:      {warm_s:6.2f} s (median of {PAIRED_RUNS}, in turns with the next)")
    print(f"bare mkdocs build, same pages:      {bare_s:6.2f} s (median of {PAIRED_RUNS})")
    print(f"  ratio warm / bare:                {result['warm_vs_bare']:6.2f}x")
    print(f"bare mkdocs, stored theme templates:{bare_stored_s:6.2f} s (what the store saves MkDocs alone)")
    print(f"  ratio warm / bare with the store: {warm_s / bare_stored_s:6.2f}x")
    print(f"warm rebuild, templates recompiled: {uncompiled_s:6.2f} s (no stored compiled templates)")
    print(f"  ratio recompiling / bare:         {result['recompiling_vs_bare']:6.2f}x")
    print(f"  ratio warm / recompiling:         {warm_s / uncompiled_s:6.2f}x")
    print(f"one slide's text edited, rebuild:   {edit_s:6.2f} s, generators run: none (median of {PAIRED_RUNS},")
    print(f"  in turns with a warm rebuild:     {warm_again_s:6.2f} s)")
    print(f"  ratio edit / warm:                {result['edit_vs_warm']:6.2f}x")
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
