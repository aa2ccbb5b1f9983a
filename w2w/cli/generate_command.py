"""`w2w generate NAME INPUT…`: run one generator outside the talk, from the terminal.

Generic over generators: it knows one only through the protocol's `w2w generate` hook
(`generate_input`, `generate_writes`, `generate_check`, `generate_load`, `generate`;
docs/generators.md). Every input is checked before the model loads, so bad input is one line and
exit 2 with nothing written; the model loads once for all the inputs."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import typer

from w2w.cli import output as cli_output
from w2w.errors import W2WError

log = logging.getLogger("w2w.generate")


def _offered() -> dict[str, str]:
    """name -> what its inputs are, for the generators that `w2w generate` can run. A plug-in that
    does not import is left out with a warning: it must not stop the others from running."""
    from w2w.plugins import registry

    found = {}
    for name in registry.REGISTRY:
        try:
            kind = registry.get(name).generate_input
        except (ImportError, TypeError, RuntimeError) as error:
            log.warning("generator %s cannot be loaded (%s); w2w generate leaves it out", name, error)
            continue
        if kind is not None:
            found[name] = kind
    return found


def _out_path(out: Path | None, name: str, value: str, index: int, count: int, suffix: str, seed: int) -> Path:
    """Where input `index` of `count` writes: `out` for one input, `out`'s stem + "-N" for several;
    by default a name made of the generator, the input's first words and the seed. A generator that
    writes a directory's worth of files per input ("directory") writes them all into `out`, or none."""
    if suffix == "directory":
        return out
    if out is not None:
        return out if count == 1 else out.with_name(f"{out.stem}-{index + 1}{out.suffix or suffix}")
    slug = "-".join(re.findall(r"[a-z0-9]+", Path(value).stem.lower())[:8]) or "input"
    return Path(f"{name}-{slug}-seed{seed}{suffix}")


def _check(generator, name: str, kind: str, values: list[str], out: Path | None) -> None:
    if not values:
        raise W2WError(f"no {kind} given to {name}", f"w2w generate {name} 'YOUR {kind.upper()}' …")
    if out is not None and generator.generate_writes is None:
        raise W2WError(f"{name} writes no file, so -o has nothing to name", "leave out -o (add --json for records)")
    if out is not None and generator.generate_writes == "directory" and out.exists() and not out.is_dir():
        raise W2WError(f"-o {out} is a file: {name} writes its pictures into a directory", "name a directory")
    writes = generator.generate_writes
    if out is not None and writes and writes.startswith(".") and out.suffix:
        suffixes = (writes, *generator.generate_also_writes)
        if out.suffix.lower() not in suffixes:
            named = " or ".join(s[1:].upper() for s in suffixes)
            raise W2WError(f"-o {out}: {name} writes {named}", f"name the file …{' or …'.join(suffixes)}")
    if out is not None and not out.parent.is_dir():
        raise W2WError(f"-o {out}: the directory {out.parent} does not exist", "create it, or name a file in one")
    for value in values:
        if kind == "image" and not Path(value).is_file():
            raise W2WError(f"{value}: no such image file", f"give the path of a PNG or JPEG file to {name}")
        refused = generator.generate_check(value)
        if refused:
            shown = value if len(value) <= 40 else value[:37] + "…"
            raise W2WError(f"{name} refuses {shown!r}: {refused[0]}", refused[1])


def generate(
    name: str = typer.Argument(None, help="The generator (see --list)."),
    inputs: list[str] = typer.Argument(None, help="Texts (or image paths, for a generator that reads images)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (recorded; a greedy generator ignores it)."),
    out: Path = typer.Option(None, "-o", "--out", help="Output file (several inputs: numbered -1, -2, …)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON record per input instead of a line."),
    list_them: bool = typer.Option(False, "--list", help="List the generators it can run and what they read."),
    device: str = typer.Option("cpu", help="cpu, cuda or mps (falls back to the CPU)."),
) -> None:
    """Run one text-conditioned generator from the terminal: the image model (a PNG), the planner,
    the describer (given image paths); several inputs run with the model loaded once."""
    offered = _offered()
    if list_them:
        for known, kind in offered.items():
            typer.echo(f"{known}\treads {kind}")
        return
    if not name or name not in offered:
        listed = ", ".join(offered) or "none installed"
        what = "no generator named" if not name else f"{name!r} cannot run from `w2w generate`"
        raise W2WError(what, f"name one of: {listed} (w2w generate --list)")
    from w2w.plugins import registry

    generator = registry.get(name)
    values = list(inputs or [])
    _check(generator, name, offered[name], values, out)
    model = generator.resolve_model(generator.Inputs(), {})
    with cli_output.progress(f"loading {name}…"):
        loaded = generator.generate_load(model, device)
    for index, value in enumerate(values):
        suffix = generator.generate_writes
        path = _out_path(out, name, value, index, len(values), suffix, seed) if suffix else None
        if path is not None and suffix == "directory":
            path.mkdir(exist_ok=True)
        with cli_output.progress(f"{name}: {index + 1}/{len(values)}…"):
            record = generator.generate(loaded, value, seed, path)
        summary = record.pop("summary", None)
        if as_json:
            typer.echo(json.dumps({"generator": name, "input": value, **record}, ensure_ascii=False))
        else:
            typer.echo(summary or json.dumps(record, ensure_ascii=False))
