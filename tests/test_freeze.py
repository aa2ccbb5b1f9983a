"""Frozen artifacts, staleness explained field by field, fallback policy, locks and kill-safety."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cli_in_process import run_cli
from talk_factory import copy_built, make_project

from w2w.artifacts.cache import ArtifactCache
from w2w.artifacts.frozen import FrozenStore
from w2w.artifacts.plan import Job
from w2w.artifacts.produce import decide, produce
from w2w.artifacts.status import explain
from w2w.build import build_site, freeze
from w2w.errors import W2WError
from w2w.plugin_api import ModelRef
from w2w.project import Project

pytestmark = [pytest.mark.build, pytest.mark.model]

FIELDS = {
    "generator": "diffusion_demo",
    "version": "1",
    "inputs": {"prompt": "a robot", "steps": 50},
    "model": {"id": "stable-diffusion-v1-5/stable-diffusion-v1-5", "revision": "abc123"},
    "libraries": {"diffusers": "0.41.0", "torch": "2.13.0"},
    "device": "cuda",
}
SD = FIELDS["model"]["id"]


def _requested(fields: dict) -> dict:
    """What the talk asks of the model it names (as plan.Job.requested)."""
    return {
        "generator": fields["generator"],
        "version": fields["version"],
        "inputs": fields["inputs"],
        "model": {"id": SD},
    }


def _frozen_store(tmp_path, fields=FIELDS, embedded=False) -> FrozenStore:
    (tmp_path / "frozen").mkdir(parents=True)
    lock = {
        "version": 1,
        "artifacts": {
            "diffusion_demo": {
                "fields": fields,
                "requested": _requested(FIELDS),
                "files": [],
                "made_with": {"model": fields["model"]["id"], "device": "CUDA (H100)", "embedded": embedded},
            }
        },
    }
    (tmp_path / "frozen" / "lock.json").write_text(json.dumps(lock))
    return FrozenStore(tmp_path / "frozen")


def _with(path: str, value):
    fields = yaml.safe_load(yaml.safe_dump(FIELDS))
    node = fields
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = value
    return fields


@pytest.mark.parametrize(
    "path, value",
    [
        ("version", "2"),
        ("inputs.prompt", "a painter"),
        ("model.revision", "def456"),
        ("libraries.diffusers", "0.42.0"),
        ("device", "cpu"),
    ],
)
def test_each_key_field_makes_a_frozen_artifact_stale_and_is_named(tmp_path, path, value):
    store = _frozen_store(tmp_path)
    changed = _with(path, value)
    stale = store.stale_fields("diffusion_demo", changed, _requested(changed), embedded=False)
    assert [d.field for d in stale] == [path]
    assert str(stale[0]).startswith(f"{path}: ") and " → " in str(stale[0])
    assert store.stale_fields("diffusion_demo", FIELDS, _requested(FIELDS), embedded=False) == []


def test_a_full_model_output_stays_fresh_where_only_a_stand_in_exists(tmp_path):
    store = _frozen_store(tmp_path)
    here = _with("model.id", "w2w/shapes-diffusion") | {"device": "cpu", "libraries": {"diffusers": "0.42.0"}}
    assert store.stale_fields("diffusion_demo", here, _requested(FIELDS), embedded=True) == []  # no environment
    changed = _requested(FIELDS) | {"inputs": {"prompt": "a painter", "steps": 50}}
    assert [d.field for d in store.stale_fields("diffusion_demo", here, changed, embedded=True)] == ["inputs.prompt"]


def test_a_frozen_stand_in_output_is_stale_where_the_real_model_exists(tmp_path):
    store = _frozen_store(tmp_path, fields=_with("model.id", "w2w/shapes-diffusion"), embedded=True)
    stale = store.stale_fields("diffusion_demo", FIELDS, _requested(FIELDS), embedded=False)
    assert [str(d) for d in stale] == [
        'model.id: "w2w/shapes-diffusion" → "stable-diffusion-v1-5/stable-diffusion-v1-5"'
    ]


def test_a_frozen_stand_in_output_is_judged_by_the_stand_ins_own_key(tmp_path):
    """Where the stand-in runs, its frozen output is stale when what the stand-in draws changes (its
    own prompt, its revision), and not when only the full model's prompt does."""
    drawn = {"embedded_prompt": "a red circle", "steps": 50}
    made = _with("model.id", "w2w/shapes-diffusion") | {"inputs": drawn, "device": "cpu"}
    store = _frozen_store(tmp_path, fields=made, embedded=True)
    here = yaml.safe_load(yaml.safe_dump(made))
    assert store.stale_fields("diffusion_demo", here, _requested(FIELDS), embedded=True) == []
    painter = _requested(_with("inputs.prompt", "a painter"))  # the full model's prompt: not drawn here
    assert store.stale_fields("diffusion_demo", here, painter, embedded=True) == []
    redrawn = here | {"inputs": drawn | {"embedded_prompt": "a blue square"}}
    stale = store.stale_fields("diffusion_demo", redrawn, _requested(FIELDS), embedded=True)
    assert [str(d) for d in stale] == ['inputs.embedded_prompt: "a red circle" → "a blue square"']
    retrained = here | {"model": {"id": "w2w/shapes-diffusion", "revision": "sha256:2"}}
    stale = store.stale_fields("diffusion_demo", retrained, _requested(FIELDS), embedded=True)
    assert [d.field for d in stale] == ["model.revision"]


def _stand_in_job(tmp_path, prompt: str) -> Job:
    model = ModelRef("w2w/shapes-diffusion", "sha256:1", "shipped", str(tmp_path), embedded=True, full_model_id=SD)
    fields = _with("inputs.prompt", prompt) | {"model": {"id": model.id, "revision": "sha256:1"}, "device": "cpu"}
    requested = _requested(_with("inputs.prompt", prompt))
    return Job(
        "diffusion_demo", None, model, "cpu", fields, "k" + prompt.replace(" ", ""), (tmp_path / "s.md", 7), requested
    )


def test_fallback_to_the_stand_in_is_loud_and_strict_fails(tmp_path):
    store = _frozen_store(tmp_path)
    cache = ArtifactCache(tmp_path / "cache")
    decision = decide(_stand_in_job(tmp_path, "a painter"), cache, store)
    assert decision.state == "run"
    assert "frozen output of stable-diffusion-v1-5/stable-diffusion-v1-5" in decision.fallback
    assert "inputs.prompt changed" in decision.fallback and "embedded w2w/shapes-diffusion" in decision.fallback

    class OnePlan:
        jobs = (_stand_in_job(tmp_path, "a painter"),)

    with pytest.raises(W2WError) as err:
        produce(OnePlan, cache, store, strict=True)
    assert err.value.line == 7 and "stale" in err.value.what
    # Unchanged request: the frozen full-model output is used, no fallback.
    assert decide(_stand_in_job(tmp_path, "a robot"), cache, store).fallback == ""


def test_the_stand_ins_own_inputs_do_not_make_a_full_model_output_stale():
    from w2w_generators.diffusion_demo.generator import DiffusionDemo, DiffusionInputs

    generator, inputs = DiffusionDemo(), DiffusionInputs()
    full, stand_in = generator.key_inputs(inputs, embedded=False), generator.key_inputs(inputs, embedded=True)
    assert "prompt" in full and "embedded_prompt" not in full
    assert "embedded_prompt" in stand_in and "prompt" not in stand_in
    edited = inputs.model_copy(update={"embedded_prompt": "a green square left of a red circle"})
    assert generator.key_inputs(edited, embedded=False) == full
    # Only the stand-in sweeps: its grid is in the stand-in's key and not in Stable Diffusion's.
    swept = inputs.model_copy(update={"grid_seeds": [0, 1]})
    assert generator.key_inputs(swept, embedded=False) == full
    assert generator.key_inputs(swept, embedded=True) == stand_in | {"grid_seeds": [0, 1]}


def test_freeze_then_build_uses_frozen_artifacts_without_loading_a_model(mini_build, tmp_path):
    root = copy_built(mini_build[0], tmp_path / "talk")  # freeze takes the cached artifact
    assert freeze(Project(root)) == ["embedding_plot"]
    lock = (root / "talk" / "frozen" / "lock.json").read_text()
    assert '"embedding_plot"' in lock and '"requested"' in lock
    env = dict(os.environ, W2W_STATE_DIR=str(tmp_path / "fresh-state"))  # an empty build cache
    code = (
        "import sys, w2w.build as b, w2w.project as p; r = b.build_site(p.Project(sys.argv[1]));"
        "print(r.prepared.produced.ran, r.prepared.produced.reused, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(root)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] ['embedding_plot'] False"
    rows = explain(Project(root))
    assert [(r.name, r.fresh, r.source) for r in rows] == [("embedding_plot", True, "frozen")]


def test_status_explains_a_stale_input_and_prose_edits_run_nothing(mini_build, tmp_path):
    root = copy_built(mini_build[0], tmp_path / "talk")
    freeze(Project(root))
    section = root / "talk" / "sections" / "intro.md"
    section.write_text(section.read_text().replace("Welcome", "Hello again"))
    assert build_site(Project(root)).prepared.produced.ran == []  # prose edit: no generator
    talk = yaml.safe_load((root / "talk" / "talk.yaml").read_text())
    talk["generators"]["embedding_plot"]["words"] = ["dog", "puppy", "banana", "cat"]
    (root / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    (row,) = explain(Project(root))
    assert not row.fresh and [d.field for d in row.differences] == ["inputs.words"]
    proc = subprocess.run(
        [sys.executable, "-m", "w2w", "status", "--explain"], cwd=root, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "stale" in proc.stderr
    assert 'inputs.words: ["dog", "puppy", "banana"] → ["dog", "puppy", "banana", "cat"]' in proc.stderr


def _build_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "w2w", "build-talk", "--project", str(root)]


def _stderr_line_containing(proc: subprocess.Popen, text: str, within: float = 120) -> str:
    """The first line of proc's stderr that holds text; fails (not hangs) if none comes within seconds."""
    import selectors

    watch = selectors.DefaultSelector()
    watch.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0 and watch.select(timeout=left):
        line = proc.stderr.readline()
        if not line:
            break  # the process closed stderr (exited) without saying it
        if text in line:
            return line
    pytest.fail(f"the build never said {text!r} (exit code {proc.poll()})")


def test_a_second_build_says_who_holds_the_lock_and_waits_for_it(mini_build, tmp_path):
    # The test holds the lock itself, so there is no race to win: the build must find it taken,
    # name its holder, and still be waiting when asked. (Two builds launched side by side raced:
    # a warm build takes 1.6 s, and on a loaded CI machine the first finished before the second
    # looked, so nobody waited and the test failed.)
    from w2w.build import build_lock

    root = copy_built(mini_build[0], tmp_path / "talk")
    with build_lock(Project(root)):
        build = subprocess.Popen(_build_command(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            said = _stderr_line_containing(build, "another build is running")
            assert f"(pid {os.getpid()})" in said  # the holder, by pid
            assert build.poll() is None  # still waiting: it has not built past the lock
        except BaseException:
            build.kill()
            build.wait()
            raise
    build.communicate(timeout=300)
    assert build.returncode == 0
    assert (root / "site" / "slides" / "index.html").is_file()


def _same_tree(a: Path, b: Path) -> bool:
    comparison = filecmp.dircmp(a, b)
    if comparison.left_only or comparison.right_only or comparison.diff_files or comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, comparison.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in comparison.common_dirs)


def test_killing_builds_at_points_across_the_build_leaves_a_usable_site_and_cache(mini_build, tmp_path):
    root = copy_built(mini_build[0], tmp_path / "talk")
    build_site(Project(root))  # warm: the reference site, built here
    reference = tmp_path / "reference"
    os.replace(root / "site", reference)
    started = time.monotonic()
    assert subprocess.run(_build_command(root), capture_output=True).returncode == 0
    whole = time.monotonic() - started  # one whole warm CLI build, start-up to the site's swap
    assert _same_tree(reference, root / "site")  # builds are reproducible, so identity is testable
    inside = 0
    for fraction in (0.15, 0.3, 0.45, 0.6, 0.75, 0.9):  # kill points spread over the whole build
        proc = subprocess.Popen(_build_command(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(fraction * whole)
        inside += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert (root / "site" / "index.html").is_file() and (root / "site" / "slides" / "index.html").is_file()
        assert _same_tree(reference, root / "site")  # the previous site, whole
    assert build_site(Project(root)).prepared.produced.ran == []  # the cache is intact
    assert _same_tree(reference, root / "site")
    assert not list(root.glob(".site-*"))  # leftovers of killed builds are cleaned up
    assert inside >= 3, f"only {inside} of 6 kills came before the build ended"  # builds do not vary 2x


def test_killing_a_generator_run_leaves_no_partial_artifact(tmp_path):
    root = make_project(tmp_path)
    artifacts = root / ".w2w" / "cache" / "artifacts" / "embedding_plot"
    proc = subprocess.Popen(_build_command(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it while the generator runs: its scratch directory exists from the start of the run
    # until the finished artifact is renamed into place (w2w/artifacts/cache.py), so wait for that, then kill.
    deadline = time.monotonic() + 120
    while not (artifacts.is_dir() and any(d.name.startswith(".") for d in artifacts.iterdir())):
        assert proc.poll() is None, "the build ended before its generator started"
        assert time.monotonic() < deadline, "the generator never started"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [d.name for d in artifacts.iterdir() if not d.name.startswith(".")] == []  # no partial artifact
    assert [d for d in artifacts.iterdir() if d.name.startswith(".")]  # only the dead run's scratch
    result = build_site(Project(root))
    assert result.prepared.produced.artifacts["embedding_plot"].path("plot").is_file()
    assert not [d for d in artifacts.iterdir() if d.name.startswith(".")]


DEMO_SECTION = """\
    # Demo

    {{ demo_image("diffusion_demo") }}

    Note:
    The picture.
    """


def _demo_talk(root: Path, sd_dir: Path | None, **inputs) -> None:
    """The demo's inputs (4 steps, no sweep) and, when `sd_dir`, the tiny random Stable Diffusion as
    the full model through models.local_dirs; without it this machine has only the shapes stand-in."""
    from tiny_sd import TINY_SD_ID

    path = root / "talk" / "talk.yaml"
    talk = yaml.safe_load(path.read_text())
    talk["generators"] = {
        "diffusion_demo": {"model": TINY_SD_ID, "steps": 4, "strip_frames": 2, "grid_seeds": [], **inputs}
    }
    talk["models"] = {"device": "cpu", **({"local_dirs": {TINY_SD_ID: str(sd_dir)}} if sd_dir else {})}
    path.write_text(yaml.safe_dump(talk, sort_keys=False))


def _rows(root: Path) -> list[tuple[str, bool, str, list[str]]]:
    return [(r.name, r.fresh, r.source, [str(d) for d in r.differences]) for r in explain(Project(root))]


@pytest.mark.usefixtures("require_shapes")
def test_each_frozen_output_keeps_the_key_of_the_model_that_made_it(tmp_path, tiny_sd_dir, monkeypatch):
    """A full model's output (the tiny random SD stands for SD 1.5) frozen, then read on a machine
    with only the shapes stand-in: fresh while the talk's request is unchanged, and freezing there
    keeps its own key (re-keyed by the stand-in, it read as stale where the full model is back); the
    stand-in's output replaces it only with --force, and from then on is judged by its own key."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))  # no SD 1.5 from the real cache
    root = make_project(tmp_path / "p", sections={"demo": DEMO_SECTION})
    _demo_talk(root, tiny_sd_dir)
    assert freeze(Project(root)) == ["diffusion_demo"]
    lock = root / "talk" / "frozen" / "lock.json"
    full_entry = json.loads(lock.read_text())["artifacts"]["diffusion_demo"]
    assert full_entry["made_with"]["embedded"] is False and "prompt" in full_entry["fields"]["inputs"]

    _demo_talk(root, None)  # the full model gone: the stand-in would run, the frozen output stays
    assert _rows(root) == [("diffusion_demo", True, "frozen", [])]
    freeze(Project(root))
    assert json.loads(lock.read_text())["artifacts"]["diffusion_demo"] == full_entry
    _demo_talk(root, tiny_sd_dir)  # and back where the full model is: still its own key, fresh
    assert _rows(root) == [("diffusion_demo", True, "frozen", [])]

    _demo_talk(root, None, prompt="a painter")  # the request changed where only the stand-in runs
    ((_, fresh, _, why),) = _rows(root)
    assert not fresh and why == ['inputs.prompt: "A robot coding on a laptop in space, digital art" → "a painter"']
    with pytest.raises(W2WError) as strict:
        build_site(Project(root), strict=True)
    assert "is stale (inputs.prompt changed)" in strict.value.what
    with pytest.raises(W2WError) as refused:
        freeze(Project(root))
    assert "by the output of the embedded stand-in w2w/shapes-diffusion" in refused.value.what
    assert json.loads(lock.read_text())["artifacts"]["diffusion_demo"] == full_entry
    freeze(Project(root), force=True)
    stand_in_entry = json.loads(lock.read_text())["artifacts"]["diffusion_demo"]
    assert stand_in_entry["made_with"]["embedded"] is True and "embedded_prompt" in stand_in_entry["fields"]["inputs"]

    # The stand-in's frozen output, where the stand-in runs: judged by the stand-in's own key.
    assert _rows(root) == [("diffusion_demo", True, "frozen", [])]
    _demo_talk(root, None, prompt="a painter", embedded_prompt="a blue square")
    ((_, fresh, _, why),) = _rows(root)
    assert not fresh and why == ['inputs.embedded_prompt: "a red circle above a blue square" → "a blue square"']
    _demo_talk(root, tiny_sd_dir, prompt="a painter")  # where the full model is: the real thing is made
    ((_, fresh, _, why),) = _rows(root)
    assert not fresh and why == [f'model.id: "w2w/shapes-diffusion" → "{full_entry["fields"]["model"]["id"]}"']


REPO = Path(__file__).resolve().parents[1]
CAPTION = "a red circle above a blue square"  # the repository's embedded_prompt, drawn by its frozen demo
NEW_CAPTION = "a green triangle left of a yellow circle"


SWEEP = "    grid_seeds: [0, 1, 2, 3]\n    grid_guidance: [0, 1, 4, 8]\n    grid_steps: [10, 25, 50]\n"
ONE_CELL = "    grid_seeds: [0]\n    grid_guidance: [4]\n    grid_steps: [50]\n"


def _recaption(root: Path, old: str, new: str, one_cell: bool = False) -> None:
    """The caption from `old` to `new`; with `one_cell`, the demo's sweep too: its one measured cell
    while the caption is new, the talk's own sweep when it is the talk's caption again."""
    path = root / "talk" / "talk.yaml"
    text = path.read_text()
    assert f'embedded_prompt: "{old}"' in text
    text = text.replace(f'embedded_prompt: "{old}"', f'embedded_prompt: "{new}"')
    if one_cell:
        sweeps = (SWEEP, ONE_CELL) if old == CAPTION else (ONE_CELL, SWEEP)
        assert sweeps[0] in text
        text = text.replace(sweeps[0], sweeps[1], 1)  # the demo's block comes first
    path.write_text(text)


def test_the_repositorys_talk_is_judged_by_the_stand_ins_key(tmp_path, monkeypatch):
    """The repository's talk.yaml on a machine without SD 1.5 (an empty Hugging Face cache): every
    frozen output fresh as committed, and the stand-in's caption edited makes its demo stale, named."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    root = tmp_path / "talk"
    for name in ("talk", "templates"):
        shutil.copytree(REPO / name, root / name)
    assert {(r.name, r.fresh, r.source) for r in explain(Project(root))} == {
        (name, True, "frozen")
        for name in ("diffusion_demo", "embedding_plot", "loop", "pair")
        + ("motion", "shapes_eval", "sound", "token_trace")
    }
    _recaption(root, CAPTION, NEW_CAPTION)
    stale = [r for r in explain(Project(root)) if not r.fresh]
    assert [(r.name, [str(d) for d in r.differences]) for r in stale] == [
        ("diffusion_demo", [f'inputs.embedded_prompt: "{CAPTION}" → "{NEW_CAPTION}"'])
    ]


def _w2w(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # In this process (cli_in_process: the real Typer app): a `python -m w2w` per call imported
    # torch, diffusers and transformers again for the build's demo run, and w2w for each status
    # (with the test before it, which has the worker import them: 28.6 s of CPU as processes, 20.5 s
    # in one, the test's own time 17.9 s -> 8.8 s; 2026-12-07). The test's HF_HUB_CACHE (monkeypatch:
    # model_resolution reads it per call) hides SD 1.5, and one torch thread (conftest sets it under
    # xdist; here for a run without it: on a shared 2-core machine two threads wait at every
    # barrier for a descheduled peer).
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run_cli(*args, cwd=cwd)
    finally:
        torch.set_num_threads(threads)


def _status(proc: subprocess.CompletedProcess) -> dict[str, str]:
    return {line.split()[0]: line.split()[1] for line in proc.stderr.splitlines() if line and not line[0].isspace()}


def test_a_new_stand_in_caption_reruns_the_demo_and_reaches_the_deck(real_build, tmp_path, monkeypatch):
    """The default path, as a speaker meets it: the repository's talk, built, on this machine without
    SD 1.5. Unchanged, it is fresh and its build ran nothing; with embedded_prompt edited, `w2w
    status` says stale and why, the build runs the demo alone, the deck shows the new caption and
    picture, and talk/frozen/ stays as committed. The old caption back: fresh from frozen/ again.
    The same edit shrinks the demo's sweep to its one measured cell (the 48 cells took 40 of this
    test's 67 s; the caption is what is under test, and both edits are undone together)."""
    built, result = real_build
    assert result.prepared.produced.ran == []
    root = tmp_path / "talk"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    shutil.copytree(built, root, symlinks=True)
    assert _w2w("status", "--check", cwd=root).returncode == 0

    _recaption(root, CAPTION, NEW_CAPTION, one_cell=True)
    status = _w2w("status", "--explain", cwd=root)
    assert status.returncode == 0 and _status(status)["diffusion_demo"] == "stale", status.stderr
    assert f'inputs.embedded_prompt: "{CAPTION}" → "{NEW_CAPTION}"' in status.stderr
    assert set(_status(status).values()) == {"fresh", "stale"} and list(_status(status).values()).count("stale") == 1
    assert _w2w("status", "--check", cwd=root).returncode == 1

    build = _w2w("build-talk", cwd=root)
    assert build.returncode == 0 and "generators run: diffusion_demo;" in build.stderr, build.stderr
    deck = (root / "site" / "slides" / "index.html").read_text()
    assert f'w2w-demo-prompt-text">{NEW_CAPTION}<' in deck and f'w2w-demo-prompt-text">{CAPTION}<' not in deck
    shown = root / "site" / "slides" / "artifacts" / "diffusion_demo" / "demo.png"
    assert shown.read_bytes() != (REPO / "talk" / "frozen" / "diffusion_demo" / "demo.png").read_bytes()
    assert _same_tree(root / "talk" / "frozen", REPO / "talk" / "frozen")
    assert _status(_w2w("status", cwd=root))["diffusion_demo"] == "fresh"  # now from the cache

    _recaption(root, NEW_CAPTION, CAPTION, one_cell=True)
    assert _w2w("status", "--check", cwd=root).returncode == 0
