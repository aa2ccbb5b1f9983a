"""Compiled templates kept between builds: reused when the source is unchanged, compiled again when
it changed or the stored entry is damaged, and stored only after a build succeeded. That a warm
build's site is byte-identical to one made with no stored templates is test_build.py's (a build)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from w2w.talk.compiled_templates import CompiledTemplates, from_source, kept_if_build_succeeds

pytestmark = pytest.mark.quick


def _env(cache_dir: Path, kind: str = "talk", **settings) -> jinja2.Environment:
    return jinja2.Environment(bytecode_cache=CompiledTemplates(cache_dir, kind), **settings)


def _refusing_compile(env: jinja2.Environment) -> jinja2.Environment:
    def compile(*args, **kwargs):
        raise AssertionError("compiled although a stored entry matches")

    env.compile = compile
    return env


def _stored(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / "jinja").rglob("*") if p.is_file())


def test_an_unchanged_page_is_not_compiled_again_and_an_edited_one_is(tmp_path):
    page = tmp_path / "page.md"
    with kept_if_build_succeeds():
        assert from_source(_env(tmp_path), "Hello {{ name }}", page).render(name="you") == "Hello you"
    assert len(_stored(tmp_path)) == 1

    again = _refusing_compile(_env(tmp_path))  # a new build: fresh environment, same store
    with kept_if_build_succeeds():
        assert from_source(again, "Hello {{ name }}", page).render(name="again") == "Hello again"

    with kept_if_build_succeeds():
        assert from_source(_env(tmp_path), "Bye {{ name }}", page).render(name="you") == "Bye you"
    assert len(_stored(tmp_path)) == 1  # the edited page replaced its entry
    with kept_if_build_succeeds():
        assert from_source(_refusing_compile(_env(tmp_path)), "Bye {{ name }}", page).render(name="x") == "Bye x"


def test_a_failed_build_stores_nothing(tmp_path):
    with pytest.raises(RuntimeError), kept_if_build_succeeds():
        from_source(_env(tmp_path), "{{ 1 + 1 }}", tmp_path / "page.md").render()
        raise RuntimeError("the build failed after compiling")
    assert not (tmp_path / "jinja").exists()
    with kept_if_build_succeeds():  # and the next, good build does not store the failed one's leftovers
        pass
    assert _stored(tmp_path) == []


def test_a_damaged_entry_is_compiled_again(tmp_path):
    page = tmp_path / "page.md"
    with kept_if_build_succeeds():
        from_source(_env(tmp_path), "{{ 6 * 7 }}", page).render()
    (entry,) = _stored(tmp_path)
    entry.write_bytes(entry.read_bytes()[:20])  # cut inside the stored checksum
    with kept_if_build_succeeds():
        assert from_source(_env(tmp_path), "{{ 6 * 7 }}", page).render() == "42"


def test_environments_with_different_settings_do_not_share_entries(tmp_path):
    """Autoescape is compiled in: with the same store, kind, page and source, an escaping
    environment must not run the code compiled for a non-escaping one (nor the reverse)."""
    page = tmp_path / "page.html"
    with kept_if_build_succeeds():
        assert from_source(_env(tmp_path), "{{ x }}", page).render(x="<b>") == "<b>"
    with kept_if_build_succeeds():
        assert from_source(_env(tmp_path, autoescape=True), "{{ x }}", page).render(x="<b>") == "&lt;b&gt;"
    assert len(_stored(tmp_path)) == 2  # one entry per configuration
    with kept_if_build_succeeds():  # and each is reused by its own kind of environment
        assert from_source(_refusing_compile(_env(tmp_path)), "{{ x }}", page).render(x="<i>") == "<i>"
        escaping = _refusing_compile(_env(tmp_path, autoescape=True))
        assert from_source(escaping, "{{ x }}", page).render(x="<i>") == "&lt;i&gt;"
