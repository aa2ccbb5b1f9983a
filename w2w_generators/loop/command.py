"""`w2w measure-loop`: the loop's agreement on held-out requests, recorded for the slide (agreement.py).
Registered as a `w2w.commands` entry point; it imports nothing heavy until it runs."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger("w2w.measure-loop")


def measure_loop(
    count: int = typer.Option(40, min=1, max=40, help="How many of the 40 held-out requests to run."),
    out: Path = typer.Option(None, help="Where to write the record (default: the loop's agreement.json)."),
) -> None:
    """Run plan -> render -> describe -> refine on held-out requests (loop/heldout_requests.json) and
    record agreement before and after refining, rounds used and each stage's time (about 2 minutes)."""
    import json

    import torch

    from w2w_generators.loop.agreement import heldout_requests, measure
    from w2w_generators.loop.generator import AGREEMENT_FILE, load_pipeline

    torch.set_num_threads(1)  # one thread: the stage times are comparable on a shared 2-core CPU
    pipeline = load_pipeline()
    record = measure(pipeline, heldout_requests()[:count], log=log.info)
    target = out or AGREEMENT_FILE
    target.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    s = record["summary"]
    typer.echo(
        f"agreement {s['agree_round_1']}/{s['requests']} after round 1, {s['agree_last_round']}/{s['requests']} "
        f"after the last; {s['rounds_used']['mean']} rounds on average; {record['seconds']} s -> {target}"
    )
