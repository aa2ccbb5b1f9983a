"""The documents say what the code does: prerequisites, versions, links, commands, references.

Fast (no build, no model): README.md against scripts/install.sh and pyproject.toml, the links of
README.md, ARCHITECTURE.md and docs/*.md, docs/reference.md against `w2w --help` and against
talk.yaml's `live:` settings (w2w.talk.config.Live), and the code's references to the live-protocol
document.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.quick

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
INSTALL = ROOT / "scripts" / "install.sh"
REFERENCE = ROOT / "docs" / "reference.md"
LIVE_PROTOCOL = "docs/live-protocol.md"

# How people write what a Debian package provides, for the packages install.sh installs.
SPOKEN_NAMES = {
    "chromium": ["chrome"],
    "poppler-utils": ["poppler"],
    "nodejs": ["node", "node.js"],
    "default-jre-headless": ["java", "jre"],
    "fonts-dejavu-core": ["dejavu", "fonts"],
    "python3-venv": ["venv"],
}


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def _paragraph(text: str, opening: str) -> str:
    """The README paragraph that starts with `opening` (the test names the paragraphs it reads)."""
    found = [p for p in _paragraphs(text) if p.lstrip().startswith(opening)]
    assert len(found) == 1, f"README.md needs one paragraph starting {opening!r}"
    return found[0]


def install_packages() -> dict[str, str]:
    """Debian package -> the command whose absence makes install.sh install it ('' when none)."""
    packages: dict[str, str] = {}
    for line in INSTALL.read_text().splitlines():
        code = line.split("#", 1)[0]
        for listed in re.findall(r"missing\+=\(([^)]*)\)", code):
            tool = re.search(r"command -v (\S+)", code)
            for package in listed.split():
                packages[package] = tool.group(1) if tool else ""
    return packages


def prerequisites() -> str:
    return _paragraph(README.read_text(), "You need")


def install_paragraph() -> str:
    return _paragraph(README.read_text(), "`scripts/install.sh` installs")


def test_install_sh_is_parsed():
    packages = install_packages()
    assert {"chromium", "poppler-utils", "nodejs", "npm", "default-jre-headless"} <= set(packages)
    assert packages["npm"] == "npm" and packages["chromium"] == "chromium"


def test_readme_names_every_debian_package_install_sh_installs():
    paragraph = install_paragraph()
    missing = [p for p in install_packages() if f"`{p}`" not in paragraph]
    assert not missing, f"README's install paragraph does not name {missing} (scripts/install.sh installs them)"


def test_readme_does_not_ask_for_what_install_sh_installs():
    needed = prerequisites().lower()
    asked = []
    for package, tool in install_packages().items():
        for name in {package, tool, *SPOKEN_NAMES.get(package, [])} - {""}:
            if re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", needed):
                asked.append(f"{name} ({package})")
    assert not asked, f"README lists as a prerequisite what scripts/install.sh installs itself: {asked}"


def _python_version(text: str, pattern: str, where: str) -> str:
    match = re.search(pattern, text)
    assert match, f"no Python version found in {where}"
    return match.group(1)


def test_the_python_version_is_the_same_in_readme_install_sh_and_pyproject():
    with open(ROOT / "pyproject.toml", "rb") as handle:
        requires = tomllib.load(handle)["project"]["requires-python"]
    pyproject = _python_version(requires, r"^>=\s*(3\.\d+)$", "pyproject.toml's requires-python")
    readme = _python_version(prerequisites(), r"Python (?:≥ ?|>= ?)?(3\.\d+)", "README's prerequisites")
    comments = "\n".join(line for line in INSTALL.read_text().splitlines() if line.startswith("#"))
    install = _python_version(comments, r"Python (3\.\d+)\+", "install.sh's comments")
    assert readme == install == pyproject, (readme, install, pyproject)


def test_readme_is_short():
    lines = len(README.read_text().splitlines())
    assert lines <= 100, f"README.md has {lines} lines; keep it for the newcomer, move reference to docs/"


def _documents() -> list[Path]:
    return [README, ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_in_the_repository(document):
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.DOTALL)  # code blocks are not links
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor on the same page
        path = (document.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert not broken, f"{document.name}: links to nothing in the repository: {broken}"


def _help_commands(*args: str) -> list[str]:
    """The commands `w2w [args] --help` lists, from the CLI's own app in this process: a process per
    command (12) made this file 7.0 s instead of 1.2 s on the loaded 2-core machine."""
    from typer.testing import CliRunner

    from w2w.cli.main import app

    result = CliRunner().invoke(app, [*args, "--help"], prog_name="w2w", env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    out = result.output
    listing = out.split("Commands:", 1)[1] if "Commands:" in out else ""
    return [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.strip()]


def _named(pattern: str, text: str, groups: set[str]) -> set[str]:
    """Commands named by `pattern`'s match: `models pull`, but `build-talk` of `build-talk [--strict]`."""
    found = set(re.findall(pattern, text, flags=re.MULTILINE))
    return {name if name.split()[0] in groups else name.split()[0] for name in found}


def test_docs_reference_documents_exactly_the_cli_commands():
    commands = set()
    for command in _help_commands():
        group = _help_commands(command)
        commands |= {f"{command} {sub}" for sub in group} if group else {command}
    groups = {c.split()[0] for c in commands if " " in c}
    text = REFERENCE.read_text()
    name = r"w2w ([a-z][a-z-]*(?: [a-z][a-z-]*)?)"
    rows = _named(rf"^\| `{name}", text, groups)  # the commands table: one row per command
    named = _named(rf"(?:`|^){name}", text, groups)  # anywhere, in inline code or a code block
    assert commands - rows == set(), f"commands without a row in docs/reference.md: {commands - rows}"
    assert named - commands == set(), f"docs/reference.md names commands w2w lacks: {named - commands}"


def test_code_comments_cite_the_live_protocol_at_its_path():
    assert (ROOT / LIVE_PROTOCOL).is_file()
    wrong = []
    for folder in ("w2w", "w2w_generators", "templates"):
        assert (ROOT / folder).is_dir(), folder  # a folder renamed away would pass unread
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix not in {".py", ".js", ".j2", ".css", ".html"}:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for match in re.finditer(r"[\w./-]*live-protocol[\w.]*", line):
                    if match.group(0) != LIVE_PROTOCOL:
                        wrong.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not wrong, f"cite the live protocol as {LIVE_PROTOCOL}: {wrong}"


def test_docs_reference_has_a_row_for_every_live_setting_with_its_default():
    """talk.yaml's `live:` keys are w2w.talk.config.Live's fields: the reference's table has exactly one
    row for each, `| `live.<field>` | `<default>` | … |`, so a new setting cannot go undocumented."""
    from w2w.talk.config import Live

    rows = dict(re.findall(r"^\| `live\.([a-z_]+)` \| `([^`]*)` \|", REFERENCE.read_text(), flags=re.MULTILINE))
    fields = Live.model_fields
    assert set(rows) == set(fields), (
        f"docs/reference.md's talk.yaml table: live settings without a row {sorted(set(fields) - set(rows))}, "
        f"rows for no setting {sorted(set(rows) - set(fields))}"
    )
    wrong = {name: rows[name] for name, field in fields.items() if float(rows[name]) != field.default}
    assert not wrong, f"docs/reference.md gives these live settings defaults the code does not have: {wrong}"
