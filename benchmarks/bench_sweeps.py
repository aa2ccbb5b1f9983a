"""What the explorables' sweeps add to a cold build (issue 24: under 3 minutes on 2 cores).

    python benchmarks/bench_sweeps.py

Two cold builds of copies of the talk in one run (empty cache, no frozen artifacts, the same model
home for both, so neither pays the one-time GGUF conversion twice): one with the sweeps switched off
in talk.yaml (no diffusion grid, no token tree, no vocabulary, no evaluation sweep), then the real
talk.yaml. Prints each generator's seconds in both, the difference and the ratio. A warm-up build
first (sweeps off, thrown away) converts the GGUF and fills the OS's file cache, so the pair compares
only the work the sweeps add. No asserts.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe  # noqa: E402
from bench_rebuild import copy_project  # noqa: E402

# What "sweeps off" means for each generator in talk.yaml.
OFF = {
    "diffusion_demo": {"grid_seeds": []},
    "token_trace": {"tree_depth": 0},
    "embedding_plot": {"vocabulary": 0},
    "shapes_eval": {"grid_seeds": []},
}


def switched_off(project_dir: Path) -> None:
    import yaml

    path = project_dir / "talk" / "talk.yaml"
    talk = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, values in OFF.items():
        talk.setdefault("generators", {}).setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(talk, sort_keys=False), encoding="utf-8")


def cold_build(target: Path, sweeps: bool) -> tuple[float, dict[str, float]]:
    from w2w.build import build_site
    from w2w.project import Project

    copy_project(target)
    if not sweeps:
        switched_off(target)
    start = time.perf_counter()
    result = build_site(Project(target))
    seconds = time.perf_counter() - start
    return seconds, {n: a.provenance["seconds"] for n, a in result.prepared.produced.artifacts.items()}


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="w2w-bench-sweeps-"))
    os.environ["W2W_HOME"] = str(scratch / "home")
    print(describe(), f"| load average {os.getloadavg()[0]:.2f}")
    try:
        cold_build(scratch / "warm-up", sweeps=False)
        off_s, off = cold_build(scratch / "off", sweeps=False)
        on_s, on = cold_build(scratch / "on", sweeps=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'generator':<16}{'sweeps off':>12}{'sweeps on':>12}{'extra':>10}")
    for name in sorted(on):
        print(f"{name:<16}{off.get(name, 0):>11.1f}s{on[name]:>11.1f}s{on[name] - off.get(name, 0):>9.1f}s")
    print(f"{'cold build':<16}{off_s:>11.1f}s{on_s:>11.1f}s{on_s - off_s:>9.1f}s  ({on_s / off_s:.2f}x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
