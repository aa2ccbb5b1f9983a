"""Generators are plug-ins: the engine knows them only through the registry and their protocol.

What the plan decides from the generators' own declarations before any model runs, and what the
registry refuses. A talk built with a generator the engine has never heard of (plugin_generators'
`letter_count`, no model) is test_build.py's (a build).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from plugin_generators import LetterCount, LetterInputs
from pydantic import BaseModel
from talk_factory import make_project

from w2w.artifacts.plan import make_plan, models_to_pull
from w2w.errors import W2WError
from w2w.plugin_api import Generator, ModelRef
from w2w.plugins import registry
from w2w.project import Project
from w2w.talk.config import load_talk

pytestmark = pytest.mark.quick


def _plan(root: Path):
    project = Project(root)
    talk, _ = load_talk(project.talk_yaml)
    return make_plan(project, talk)


def _line(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def test_sim_of_a_word_the_plot_lacks_is_a_located_error_before_any_model_runs(tmp_path):
    root = make_project(tmp_path, sections={"s": "# S\n\nok\n\nking–queen {{ sim('king', 'dog') }}\n"})
    with pytest.raises(W2WError) as err:
        _plan(root)
    assert err.value.line == 5 and Path(err.value.file).name == "s.md"
    assert "add 'king' to generators.embedding_plot.words" in err.value.fix
    assert not (root / ".w2w").exists()  # nothing was cached: no generator ran


def test_a_file_role_the_artifact_will_not_have_is_a_located_error(tmp_path):
    root = make_project(tmp_path, sections={"s": "# S\n\n{{ figure('embedding_plot', 'picture', 'alt') }}\n"})
    with pytest.raises(W2WError) as err:
        _plan(root)
    assert err.value.line == 3 and "has no file 'picture'" in err.value.what and "plot" in err.value.fix


def test_duplicate_embedding_words_are_refused_at_their_line(tmp_path):
    root = make_project(tmp_path, words=["dog", "puppy", "dog"])
    talk_yaml = root / "talk" / "talk.yaml"
    with pytest.raises(W2WError) as err:
        load_talk(talk_yaml)
    assert "'dog' is listed twice" in err.value.what and err.value.line == _line(talk_yaml, "words:")


def test_embedded_prompt_words_the_shapes_model_never_saw_are_a_located_warning(tmp_path):
    section = "# Demo\n\n{{ demo_image('diffusion_demo') }}\n"
    extra = {"generators": {"diffusion_demo": {"embedded_prompt": "a red ball on top of a blue box", "steps": 4}}}
    root = make_project(tmp_path, sections={"demo": section}, extra=extra)
    plan = _plan(root)
    assert [job.model.embedded for job in plan.jobs] == [True]  # no SD here: the shapes stand-in
    (warning,) = plan.warnings
    line = _line(root / "talk" / "talk.yaml", "embedded_prompt:")
    assert warning.startswith(f"talk.yaml:{line}: generators.diffusion_demo.embedded_prompt: ")
    assert "'ball', 'on', 'top', 'box' in training" in warning  # 'of' is known: "left of"


def test_shapes_weights_named_by_path_draw_embedded_prompt_and_key_on_it(tmp_path):
    """`model:` pointing at the shapes weights: the key and the run read the same field, so two
    embedded prompts are two keys (they once shared one and the cache served the old image)."""
    from w2w_generators.diffusion_demo.generator import SHAPES_WEIGHTS_DIR

    section = "# Demo\n\n{{ demo_image('diffusion_demo') }}\n"
    keys = []
    for i, prompt in enumerate(["a red circle above a blue square", "a green square left of a purple triangle"]):
        extra = {"generators": {"diffusion_demo": {"model": str(SHAPES_WEIGHTS_DIR), "embedded_prompt": prompt}}}
        (job,) = _plan(make_project(tmp_path / str(i), sections={"demo": section}, extra=extra)).jobs
        assert job.model.embedded and job.fields["inputs"]["embedded_prompt"] == prompt
        keys.append(job.key)
    assert keys[0] != keys[1]


def test_models_pull_asks_the_generators_the_pages_use(tmp_path):
    from w2w_generators.shared.minilm import MINILM_ID

    only_words = make_project(tmp_path / "a")
    project = Project(only_words)
    assert models_to_pull(project, load_talk(project.talk_yaml)[0]) == [MINILM_ID]
    both = make_project(
        tmp_path / "b", sections={"d": "# D\n\n{{ demo_image('diffusion_demo') }} {{ sim('dog', 'puppy') }}\n"}
    )
    project = Project(both)
    assert models_to_pull(project, load_talk(project.talk_yaml)[0]) == [
        "stable-diffusion-v1-5/stable-diffusion-v1-5",
        MINILM_ID,
    ]


def _registered(monkeypatch, cls) -> None:
    import sys

    monkeypatch.setattr(sys.modules[__name__], cls.__name__, cls, raising=False)
    monkeypatch.setitem(registry.REGISTRY, cls.name, f"test_plugins:{cls.__name__}")
    registry.get.cache_clear()


def test_a_generator_must_say_whether_it_is_live(monkeypatch):
    """No quiet default: a generator that does not state `live` is refused by name when it registers."""

    class Unstated(LetterCount):
        name: ClassVar[str] = "unstated"

    del LetterCount.live  # what a plug-in that never heard of the live half would look like
    try:
        _registered(monkeypatch, Unstated)
        with pytest.raises(TypeError, match=r"test_plugins\..*Unstated does not define live"):
            registry.get("unstated")
    finally:
        LetterCount.live = False
        registry.get.cache_clear()


def test_a_live_generator_without_its_live_half_is_refused_by_name(monkeypatch):
    class HalfLive(LetterCount):
        name: ClassVar[str] = "half_live"
        live: ClassVar[bool] = True

        def load(self, model, device):
            return None

    _registered(monkeypatch, HalfLive)
    with pytest.raises(TypeError, match="says live = True but does not define live_request, steps, LiveRequest"):
        registry.get("half_live")
    registry.get.cache_clear()


def test_a_generator_missing_run_is_refused_by_name(monkeypatch):
    class NoRun(Generator):
        name: ClassVar[str] = "no_run"
        version: ClassVar[str] = "1"
        live: ClassVar[bool] = False
        Inputs: ClassVar[type[BaseModel]] = LetterInputs

        def resolve_model(self, inputs, local_dirs):
            return ModelRef("none/letters", "0", "builtin", "")

    _registered(monkeypatch, NoRun)
    with pytest.raises(TypeError, match="NoRun does not define run"):
        registry.get("no_run")
    registry.get.cache_clear()


def test_every_registered_generator_states_its_live_half():
    """The talk's own generators: the live ones define the whole live half, shapes_eval says it is
    not live, and `w2w present` takes exactly the live ones."""
    from w2w.plugin_api import LIVE_MEMBERS, Generator

    live = {g.name for g in registry.all_generators() if g.live}
    assert live == {
        *("embedding_plot", "token_trace", "diffusion_demo", "describer", "planner"),
        *("loop", "pair", "sound", "motion"),
    }
    for generator in registry.all_generators():
        if generator.live:
            assert all(getattr(type(generator), m) is not getattr(Generator, m, None) for m in LIVE_MEMBERS)


def test_the_hf_cache_is_read_through_huggingface_hub(tmp_path, monkeypatch):
    """A snapshot laid out as huggingface_hub lays it out (refs/main -> snapshots/<commit>) is found
    with its commit; a model with no folder there, or whose main snapshot lacks its config, is not."""
    from w2w_generators.shared.model_resolution import hf_cached_snapshot

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--org--pipe"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    assert hf_cached_snapshot("org/pipe") is None  # no config yet: an interrupted download
    (snapshot / "model_index.json").write_text("{}")
    assert hf_cached_snapshot("org/pipe") == (snapshot, "0123abcd")
    assert hf_cached_snapshot("org/other") is None


def test_a_run_says_its_progress_at_most_every_two_seconds_and_the_cli_shows_it_in_the_spinner(monkeypatch, caplog):
    """RunContext.progress: "<generator>: <what> <done>/<total> <unit>" on the generator's logger,
    no more often than PROGRESS_EVERY_S (a clock the test holds), never for the last item (the
    generator's own summary follows); the CLI puts it in its spinner only, other lines on the console."""
    import logging

    from w2w.cli import output
    from w2w.plugins import running

    now = [0.0]
    monkeypatch.setattr(running.RunContext, "clock", staticmethod(lambda: now[0]))
    run = running.RunContext(LetterCount(), ModelRef("none/letters", "0", "builtin", ""), "cpu")
    with caplog.at_level(logging.INFO, logger="w2w"):
        for done, at in [(1, 0.5), (2, 2.0), (3, 3.5), (4, 4.5), (5, 9.0)]:
            now[0] = at
            run.progress("tree", done, 5, "branches")
        # Each item done when the next is asked for; all at 9.0: the first says it, the second is too soon.
        assert list(run.counted(["a", "b", "c"], "sweep", "cells")) == ["a", "b", "c"]
    said = [(r.name, r.getMessage()) for r in caplog.records]
    assert said == [
        ("w2w.generators.letter_count", "letter_count: tree 2/5 branches"),
        ("w2w.generators.letter_count", "letter_count: tree 4/5 branches"),
        ("w2w.generators.letter_count", "letter_count: sweep 1/3 cells"),
    ]

    class Spinner:
        def __init__(self):
            self.shown = []

        def update(self, message):
            self.shown.append(message)

    progress, summary = caplog.records[0], logging.LogRecord("w2w.x", logging.INFO, "", 0, "tree: 5 in 1 s", (), None)
    handler = output.ConsoleLog()
    with output.console.capture() as printed:
        handler.emit(progress)  # no spinner: a line
    assert printed.get() == "  letter_count: tree 2/5 branches\n"
    handler.status = Spinner()
    with output.console.capture() as printed:
        handler.emit(progress)
        handler.emit(summary)
    assert handler.status.shown == ["letter_count: tree 2/5 branches", "tree: 5 in 1 s"]
    assert printed.get() == "  tree: 5 in 1 s\n"  # the progress only in the spinner
