"""The architecture's rules, read from the code: every import of every module (module-level,
inside functions and under TYPE_CHECKING alike), resolved to the project's modules, and the
contracts of ARCHITECTURE.md checked against that graph. Plain `ast`, no import of the code, so a
module that would fail to import is still judged (import-linter reads the same, but it would be
one more tool to lock for a 100-line check).
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

ENGINE, PLUGINS = "w2w", "w2w_generators"
PLUGIN_API = "w2w.plugin_api"
# The shared folders of w2w_generators/: any generator folder may import them. They hold what more
# than one output uses: model code and the worlds the project's own models learn from (shapes/ for
# pictures, sound/ for sounds, motion/ for clips), the samplers (diffusion/), loading and figures
# (shared/). Every other folder is one generator's (declared by a w2w.generators entry point).
SHARED = ("shared", "shapes", "diffusion", "sound", "motion")
# The engine's stages, lowest first: a module imports only its own layer and the ones below.
LAYERS = (
    ("w2w.errors", "w2w.atomic", "w2w.project"),
    ("w2w.plugins", "w2w.plugin_api"),
    ("w2w.talk",),
    ("w2w.artifacts",),
    ("w2w.render",),
    ("w2w.publish",),
    ("w2w.check",),
    ("w2w.build",),
    ("w2w.present",),
    ("w2w.cli", "w2w.entry", "w2w.__main__"),
)


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (a module of the project)
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def modules(root: Path, packages=(ENGINE, PLUGINS)) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(root: Path, packages=(ENGINE, PLUGINS), planted: dict[str, str] | None = None) -> list[Import]:
    """Every import of a project module by a project module, wherever in the file it stands.
    `planted`: source to add to some files (path relative to root -> lines), as a test plants a
    violation without copying the tree."""
    known = modules(root, packages)
    found = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        text = path.read_text(encoding="utf-8") + (planted or {}).get(str(path.relative_to(root)), "")
        for node in ast.walk(ast.parse(text, str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import module` imports the module; `from module import name`, the module
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for target in targets:
                while target and target not in known:  # `import a.b.c` of a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.append(Import(name, target, node.lineno))
    return found


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def generator_folders(root: Path) -> set[str]:
    """The folders of w2w_generators/ that pyproject.toml registers as generators."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    points = project["project"].get("entry-points", {}).get("w2w.generators", {})
    return {value.split(":")[0].split(".")[1] for value in points.values() if value.startswith(PLUGINS + ".")}


def _layer(module: str) -> int | None:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def violations(root: Path, planted: dict[str, str] | None = None) -> list[str]:
    """Every broken rule, one line each (empty: the house holds)."""
    edges = imports(root, planted=planted)
    found = [f"import cycle: {' <-> '.join(c)}" for c in cycles(edges)]
    folders = generator_folders(root)
    for package in sorted((root / PLUGINS).glob("*/__init__.py")):
        if package.parent.name not in (*folders, *SHARED):
            found.append(f"{PLUGINS}/{package.parent.name}/ is neither a generator (entry point) nor in SHARED")
    for edge in edges:
        source_top, target_top = edge.source.split(".")[0], edge.target.split(".")[0]
        if source_top == ENGINE and target_top == PLUGINS:
            found.append(f"the engine names a generator: {edge}")
        if source_top == PLUGINS and target_top == ENGINE and edge.target != PLUGIN_API:
            found.append(f"a generator reaches past {PLUGIN_API}: {edge}")
        if source_top == PLUGINS == target_top:
            source_folder = edge.source.split(".")[1] if "." in edge.source else ""
            target_folder = edge.target.split(".")[1] if "." in edge.target else ""
            if source_folder in folders and target_folder not in (source_folder, *SHARED):
                found.append(f"generator folder {source_folder}/ imports another generator's: {edge}")
            if source_folder in SHARED and target_folder in folders:
                found.append(f"shared folder {source_folder}/ imports a generator: {edge}")
        if source_top == ENGINE == target_top:
            source_rank, target_rank = _layer(edge.source), _layer(edge.target)
            if source_rank is None or target_rank is None:
                unplaced = edge.source if source_rank is None else edge.target
                found.append(f"{unplaced} belongs to no stage of import_rules.LAYERS: {edge}")
            elif target_rank > source_rank:
                found.append(f"a stage reaches back up: {edge}")
    return found
