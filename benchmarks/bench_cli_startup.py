"""`w2w --help` start-up vs a bare `python -c "import typer"`, and proof that no ML library loads."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _machine import describe

RUNS = 7


def timed(command: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> dict:
    help_s = timed([sys.executable, "-m", "w2w", "--help"])
    typer_s = timed([sys.executable, "-c", "import typer"])
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from w2w.cli.main import app; "
            "heavy = ('torch', 'transformers', 'diffusers', 'matplotlib', 'mkdocs'); "
            "print(sorted(m for m in heavy if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    result = {"w2w_help_s": help_s, "import_typer_s": typer_s, "ratio": help_s / typer_s, "heavy_modules": loaded}
    print(f"machine: {describe()}")
    print(f"w2w --help          {help_s * 1000:7.0f} ms (median of {RUNS})")
    print(f"python -c 'import typer' {typer_s * 1000:7.0f} ms")
    print(f"ratio               {result['ratio']:.2f}x   heavy modules imported by the CLI: {loaded}")
    return result


if __name__ == "__main__":
    main()
