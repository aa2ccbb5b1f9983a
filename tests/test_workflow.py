"""The GitHub Actions workflow (.github/workflows/talk.yml), checked as written: actionlint and zizmor
find nothing in it, and its structure keeps the promises of issue #21. The workflow runs the tests
(.ci/run), no permission is granted at the top, only the job that pushes may write to the repository,
every action is pinned to a commit, and torch is downloaded once per job, at the lock's version.

actionlint and zizmor come with the test extra (and requirements.lock). Where one is missing the test
is skipped, except under CI=true (the workflow's test job sets it): there a missing checker fails."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

pytestmark = pytest.mark.quick

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOW_DIR / "talk.yml"
ACTIONLINT_CONFIG = ROOT / ".github" / "actionlint.yaml"
WORKFLOW_FILES = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])

SHA_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# A `uses:` line as written: the commit, then the release it is (bumped together).
PINNED_LINE = re.compile(r"uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*\s*$")
WRITE_FOR_PAGES = {"pages", "id-token"}  # what actions/deploy-pages needs
INSTALLS = re.compile(r"(scripts/install\.sh|\.ci/run|\bmake\s+install\b)")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _tool(name: str) -> str:
    """The checker's executable: beside this Python (a venv's bin/, not always on PATH), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{name} is not installed, and under CI the workflow must be checked: it is in requirements.lock")
    pytest.skip(f"{name} is not installed (pip install -r requirements.lock); under CI=true this fails")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT, **kwargs)


def _actionlint(*files: Path) -> subprocess.CompletedProcess:
    cmd = [_tool("actionlint"), "-no-color", "-config-file", str(ACTIONLINT_CONFIG), *map(str, files)]
    return _run(cmd)


def _zizmor(*paths: Path) -> tuple[int, list[dict], str]:
    """zizmor's exit status, its findings (JSON) and stderr. Offline: no audit asks GitHub anything."""
    proc = _run([_tool("zizmor"), "--offline", "--no-progress", "--format", "json", *map(str, paths)])
    return proc.returncode, json.loads(proc.stdout or "[]"), proc.stderr


def _findings(findings: list[dict]) -> str:
    return "\n".join(f"{f.get('ident')}: {f.get('desc')}" for f in findings)


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def jobs(workflow) -> dict[str, dict]:
    return workflow["jobs"]


@pytest.fixture(scope="module")
def lock_torch() -> str:
    """The torch version requirements.lock pins (`torch==X`)."""
    match = re.search(r"^torch==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert match, "requirements.lock pins no torch"
    return match.group(1)


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _shell_lines(job: dict) -> list[str]:
    """Every shell command line of the job's run steps, continuation lines joined, comments dropped."""
    lines = []
    for step in _steps(job):
        for line in step.get("run", "").replace("\\\n", " ").splitlines():
            if line.strip() and not line.strip().startswith("#"):
                lines.append(line.strip())
    return lines


def _pushes(job: dict) -> bool:
    return any(re.match(r"git\b.*\spush(\s|$)", line) for line in _shell_lines(job))


def _uses(job: dict) -> list[str]:
    return [step["uses"] for step in _steps(job) if "uses" in step] + ([job["uses"]] if "uses" in job else [])


def _torch_installs(job: dict) -> list[list[str]]:
    """The job's `pip install` command lines that name torch, as argument lists."""
    found = []
    for line in _shell_lines(job):
        if not re.search(r"\bpip\b.*\binstall\b", line):
            continue
        args = shlex.split(line)
        if any(re.fullmatch(r"torch([=<>!~].*)?", arg) for arg in args):
            found.append(args)
    return found


def _install_sh_torch() -> str:
    """The torch version scripts/install.sh installs when torch does not import."""
    match = re.search(r"torch==\$\{W2W_TORCH_VERSION:-([^}]+)\}", (ROOT / "scripts" / "install.sh").read_text())
    assert match, "scripts/install.sh no longer installs torch==${W2W_TORCH_VERSION:-X}"
    return match.group(1)


def _installs_package(job: dict) -> bool:
    return any(INSTALLS.search(line) for line in _shell_lines(job))


def _on_gpu(job: dict) -> bool:
    runs_on = job.get("runs-on")
    labels = runs_on if isinstance(runs_on, list) else [runs_on]
    return "gpu" in labels


# The checkers.


def test_actionlint_finds_nothing():
    assert WORKFLOW_FILES, "no workflow files"
    proc = _actionlint(*WORKFLOW_FILES)
    assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"


def test_zizmor_finds_nothing():
    rc, findings, stderr = _zizmor(WORKFLOW_DIR)
    assert findings == [], f"zizmor:\n{_findings(findings)}"
    assert rc == 0, f"zizmor exited {rc}:\n{stderr}"


def test_the_checkers_catch_an_unpinned_action(tmp_path):
    """The regression issue #21 fixed, put back in a copy: both checkers must object (a checker that
    passes everything would pass the two tests above too)."""
    text = WORKFLOW.read_text()
    broken, n = re.subn(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", text)
    assert n, "the workflow has no pinned actions/checkout to unpin"
    copy = tmp_path / "talk.yml"
    copy.write_text(broken)
    proc = _actionlint(copy)
    assert proc.returncode != 0 and "actions/checkout@v4" in proc.stdout, proc.stdout + proc.stderr
    rc, findings, _ = _zizmor(copy)
    assert rc != 0 and "unpinned-uses" in {f.get("ident") for f in findings}, _findings(findings)


# The structure.


def test_a_job_runs_the_ci_entry_point_on_every_push(workflow, jobs):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers
    runners = [name for name, job in jobs.items() if any(re.search(r"\.ci/run\b", x) for x in _shell_lines(job))]
    assert runners, "no job runs .ci/run"
    for name in runners:
        job = jobs[name]
        assert "if" not in job, f"{name} runs .ci/run only on a condition"
        # .ci/run installs with apt-get: it needs root, which the Debian container gives.
        assert job.get("container"), f"{name} runs .ci/run outside a container (install.sh needs root)"
        assert str(job.get("env", {}).get("CI")).lower() == "true", f"{name}: CI=true makes missing checkers fail"


def test_nothing_is_published_without_the_tests(jobs):
    tests = {name for name, job in jobs.items() if any(".ci/run" in x for x in _shell_lines(job))}

    def needs(name: str) -> set[str]:
        direct = jobs[name].get("needs", [])
        direct = {direct} if isinstance(direct, str) else set(direct)
        return direct.union(*(needs(n) for n in direct))

    publishers = [name for name, job in jobs.items() if any("deploy-pages" in u for u in _uses(job))]
    assert publishers
    for name in publishers:
        assert tests & needs(name), f"{name} publishes without waiting for {sorted(tests)}"


def test_permissions_are_least_privilege(workflow, jobs):
    assert workflow.get("permissions") == {}, "the workflow grants permissions to every job"
    pushers = {name for name, job in jobs.items() if _pushes(job)}
    assert pushers, "no job pushes (the regenerate job commits talk/frozen/)"
    for name, job in jobs.items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{name}: permissions must be listed per job, got {perms!r}"
        assert set(perms.values()) <= {"read", "write", "none"}, f"{name}: {perms}"
        writes = {scope for scope, level in perms.items() if level == "write"}
        if name in pushers:
            assert writes == {"contents"}, f"{name} pushes: contents: write and nothing else, got {perms}"
        elif any("actions/deploy-pages@" in u for u in _uses(job)):
            assert writes == WRITE_FOR_PAGES, f"{name} deploys Pages: pages and id-token write, got {perms}"
        else:
            assert not writes, f"{name} neither pushes nor deploys but may write: {perms}"


def test_every_action_is_pinned_to_a_commit(jobs):
    for name, job in jobs.items():
        for use in _uses(job):
            assert use.startswith("./") or SHA_PINNED.match(use), f"{name}: {use} is not pinned to a commit SHA"
    for number, line in enumerate(WORKFLOW.read_text().splitlines(), 1):
        if re.match(r"\s*(-\s+)?uses:", line) and "./" not in line:
            assert PINNED_LINE.search(line), f"talk.yml:{number}: the pin needs its release as a comment: {line}"


def test_checkout_keeps_no_credentials(jobs):
    """No token is left in .git/config for later steps (or artifacts) to read; the pushing job hands
    the token to git in its push step only."""
    for name, job in jobs.items():
        for step in _steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}: {step}"
    for name, job in jobs.items():
        if _pushes(job):
            step = next(s for s in _steps(job) if re.search(r"\spush(\s|$)", s.get("run", "")))
            assert "${{ github.token }}" in step.get("env", {}).values(), f"{name} pushes without the job token"


def test_no_expression_is_pasted_into_a_script(jobs):
    """${{ }} in `run:` is substituted into the script text (template injection): values go via env."""
    for name, job in jobs.items():
        for step in _steps(job):
            assert "${{" not in step.get("run", ""), f"{name}: {step.get('name')}: pass the value through env:"


def test_torch_is_installed_once_per_job_at_the_locked_version(jobs, lock_torch):
    # install.sh installs torch only when it does not import, at this version; then the lock's
    # torch==X must be satisfied by what is there, or pip downloads torch a second time.
    assert _install_sh_torch() == lock_torch, "scripts/install.sh and requirements.lock pin different torch"
    # The CPU index's build is X+cpu: a local version label, which ==X accepts.
    assert Version(f"{lock_torch}+cpu") in SpecifierSet(f"=={lock_torch}")
    installers = [name for name, job in jobs.items() if _installs_package(job)]
    assert installers
    for name, job in jobs.items():
        explicit = _torch_installs(job)
        assert len(explicit) <= 1, f"{name} pip-installs torch {len(explicit)} times: {explicit}"
        assert "W2W_TORCH_VERSION" not in str(job.get("env", {})), f"{name} overrides install.sh's torch"
        for args in explicit:
            pins = [a for a in args if a.startswith("torch")]
            assert pins == [f"torch=={lock_torch}"], f"{name} installs {pins}, the lock has torch=={lock_torch}"
        if name not in installers:
            continue
        steps = [s.get("run", "") for s in _steps(job)]
        first_install = next(i for i, run in enumerate(steps) if INSTALLS.search(run))
        if _on_gpu(job):
            # The CUDA build: the default index's, at the lock's version (explicit or install.sh's own).
            assert all(CPU_INDEX not in " ".join(a) for a in explicit), f"{name} takes CPU torch on the GPU runner"
        else:
            # A hosted runner: the CPU wheel, put in before the install would fetch PyPI's CUDA build.
            before = [i for i, run in enumerate(steps) if CPU_INDEX in run and re.search(r"\btorch==", run)]
            assert before and before[0] < first_install, f"{name} installs without CPU torch first"
