"""Measured agreement: how often the describer reads back the plan, before and after refining.

On held-out requests (heldout_requests.json: 40 rows of the planner's held-out split, requests whose
phrasing and object pairs its training never saw), the loop runs to the end and the record keeps,
per request, each round's plan, description and verdict. Agreement is "description == plan",
word for word, after round 1 (before refining) and after the last round (after refining). Because a
new plan can make the two agree by changing the plan, the record also says how often the final plan
is still the request's right plan (the split's answer): agreement alone is not success.
Each stage (plan, render, describe) is timed per call, wall time and this thread's CPU time, on
one torch thread; the medians go into the record with the machine.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from w2w_generators.loop.record import without_arrays
from w2w_generators.shared.records import machine

HELDOUT = Path(__file__).with_name("heldout_requests.json")
STAGES = ("plan", "render", "describe")


def heldout_requests(path: Path = HELDOUT) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["requests"]


def _stage_medians(records: list[dict]) -> dict:
    """Median seconds per call of each stage; planning counts only the rounds that planned."""
    medians = {}
    for stage in STAGES:
        rows = [r for rec in records for r in rec["rounds"] if stage != "plan" or r["planned"]]
        medians[stage] = {
            "calls": len(rows),
            "median_seconds": round(statistics.median(r["seconds"][stage] for r in rows), 4),
            "median_cpu_seconds": round(statistics.median(r["cpu_seconds"][stage] for r in rows), 4),
        }
    return medians


def summarise(records: list[dict], expected: list[str]) -> dict:
    n = len(records)
    used = [r["rounds_used"] for r in records]
    first = [r["rounds"][0] for r in records]
    last = [r["rounds"][-1] for r in records]
    return {
        "requests": n,
        "agree_round_1": sum(r["agree"] for r in first),
        "agree_last_round": sum(r["agree"] for r in last),
        "rounds_used": {
            "mean": round(sum(used) / n, 3),
            "histogram": {str(k): used.count(k) for k in sorted(set(used))},
        },
        "refined_by": {
            kind: sum(1 for rec in records if rec["agreed"] and rec["rounds"][-1]["round"] > 1 and _fixer(rec) == kind)
            for kind in ("seed", "guidance", "plan")
        },
        "plan_right_round_1": sum(r["plan"] == e for r, e in zip(first, expected, strict=True)),
        "plan_right_last_round": sum(r["plan"] == e for r, e in zip(last, expected, strict=True)),
        "agree_and_plan_right_last_round": sum(
            r["agree"] and r["plan"] == e for r, e in zip(last, expected, strict=True)
        ),
        "stages": _stage_medians(records),
    }


def _fixer(record: dict) -> str | None:
    """What the round before the agreeing one changed (the refinement that fixed it)."""
    before = record["rounds"][-2] if len(record["rounds"]) > 1 else None
    return before["next"]["kind"] if before and isinstance(before.get("next"), dict) else None


def measure(pipeline, rows: list[dict], log=print) -> dict:
    """Run the loop on every row; the record (JSON-ready) with the summary, per-request rounds,
    the config, the machine and the wall seconds of the whole run."""
    started = time.perf_counter()
    records = []
    for i, row in enumerate(rows):
        record = without_arrays(pipeline(row["request"]))
        records.append(record)
        log(f"{i + 1}/{len(rows)}: {row['request']!r}: {record['rounds_used']} round(s), agreed {record['agreed']}")
    compact = [
        {
            "request": rec["request"],
            "expected": row["plan"],
            "guess": rec["guess"],
            "rounds": [
                {
                    "plan": r["plan"],
                    "seed": r["seed"],
                    "guidance": r["guidance"],
                    "description": r["description"],
                    "agree": r["agree"],
                    "next": r.get("next"),
                }
                for r in rec["rounds"]
            ],
        }
        for rec, row in zip(records, rows, strict=True)
    ]
    return {
        "what": "description == plan (exact), after round 1 and after the last round, on held-out requests",
        "source": str(HELDOUT.name),
        "summary": summarise(records, [row["plan"] for row in rows]),
        "config": pipeline.config.to_dict(),
        "machine": machine(threads=True),
        "seconds": round(time.perf_counter() - started, 1),
        "requests": compact,
    }
