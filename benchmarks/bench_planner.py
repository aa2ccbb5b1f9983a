"""The planner's decoding speed against a plain `generate` of the same model, one run.

    python benchmarks/bench_planner.py [--weights DIR]

For each of a few requests: the planner's constrained decoding (adapter on, the trie's choices,
one forward pass per choice with the forced tokens fed together) against `model.generate` of the
same number of new tokens from the same prompt (adapter off, greedy, no constraint). Both timed by
`best_of` (one warm-up, best of 5, one thread's CPU time: the machine is shared). Prints tokens/s
both ways and the ratio; target: planner >= 0.9x plain.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import describe  # noqa: E402

from w2w.plugin_api import best_of  # noqa: E402
from w2w_generators.planner.generator import Planner, PlannerInputs  # noqa: E402
from w2w_generators.planner.live import WEIGHTS_DIR, load_planner, plan_once  # noqa: E402
from w2w_generators.planner.plan import prompt_ids  # noqa: E402

REQUESTS = ("the sun over the sea", "a lemon to the right of a plum", "a frog under a tree", "a ruby beside a sapphire")


def plain_generate(loaded, request: str, tokens: int):
    import torch

    ids = torch.tensor([prompt_ids(loaded.tokenizer, request)])
    with torch.inference_mode():
        out = loaded.lm.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=tokens,
            min_new_tokens=tokens,  # the same count as the plan, whatever the model would stop at
            do_sample=False,
            pad_token_id=loaded.tokenizer.eos_token_id,
        )
    assert out.shape[1] - ids.shape[1] == tokens


def bench(weights: Path) -> dict:
    generator = Planner()
    model = generator.resolve_model(PlannerInputs(), {})
    loaded = load_planner(model, "cpu", weights)
    print(f"machine: {describe()}")
    planner_s = plain_s = 0.0
    tokens = 0
    for request in REQUESTS:
        count = len(plan_once(loaded, request)["steps"])
        planner = best_of(lambda r=request: plan_once(loaded, r), repeats=5)
        plain = best_of(lambda r=request, n=count: plain_generate(loaded, r, n), repeats=5)
        print(f"{request!r}: {count} tokens, planner {planner['best_s']:.3f} s, plain generate {plain['best_s']:.3f} s")
        planner_s, plain_s, tokens = planner_s + planner["best_s"], plain_s + plain["best_s"], tokens + count
    result = {"planner_tok_s": tokens / planner_s, "plain_tok_s": tokens / plain_s}
    result["ratio"] = result["planner_tok_s"] / result["plain_tok_s"]
    print(
        f"planner {result['planner_tok_s']:.1f} tok/s vs plain generate {result['plain_tok_s']:.1f} tok/s "
        f"= {result['ratio']:.2f}x (target >= 0.9x; {planner['method']})"
    )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    bench(parser.parse_args().weights)
