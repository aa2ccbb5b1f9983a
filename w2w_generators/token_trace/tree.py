"""The token trace's tree of other choices: what the model writes after any top-k candidate.

At each step of the recorded trace a reader may pick another of the top-k candidates; the deck
and the handout then show the continuation the model writes after that choice, greedily, with the
same stopping rule. Those continuations are computed here, at build time, so that they can be
played with from `file://` (templates/explore.js). Each branch is a `decode_steps` run with its
first token forced, so a branch is, token for token, what greedy decoding from that prefix gives
(tests/test_token_trace.py compares it with `model.generate`).

Size: `tree_width` candidates per step (the chosen one included), `tree_depth` levels of choices,
and a candidate below `tree_min_prob` gets no branch. `most_branches` is the most a tree of those
settings can hold, and the settings are refused above MAX_BRANCHES (at the setting's line in
talk.yaml, before any model loads).

The stored form is compact (the page inlines it): a node is
`{"steps": [[token_id, token, prob, entropy, [[id, token, prob], ...]], ...], "stopped": s,
"branches": {"<step>:<token_id>": node}}`, where a branch's steps begin with the chosen
candidate at that step (its top-k is the step's own) and its own branches key steps counted from
its first step (step 0, the choice itself, has its siblings in the parent).
"""

from __future__ import annotations

import math

from w2w.plugin_api import InputError
from w2w_generators.token_trace.steps import TokenLiveRequest, decode_steps

MAX_BRANCHES = 5000  # most_branches of the real talk's settings: 4,512 (its tree: 105 branches)


def alternatives(width: int, min_prob: float) -> int:
    """The most candidates of one step that can get a branch: `width` less the chosen one, and no
    more than probabilities of at least `min_prob` (4 decimals, rounded half up) can add up to 1."""
    if min_prob <= 0.0001:
        return width - 1
    return max(0, min(width - 1, math.floor(1 / (min_prob - 0.00005)) - 1))


def most_branches(max_new_tokens: int, width: int, depth: int, min_prob: float) -> int:
    """The most branches a tree of these settings can hold: a branch `level` choices deep is a
    choice of `level` of the `max_new_tokens` steps, each deeper one after the last, and of one
    of `alternatives` candidates at each."""
    each = alternatives(width, min_prob)
    return sum(each**level * math.comb(max_new_tokens, level) for level in range(1, depth + 1))


def check_size(max_new_tokens: int, width: int, depth: int, min_prob: float) -> None:
    """Refuse tree settings that can make more than MAX_BRANCHES branches (InputError at tree_depth)."""
    most = most_branches(max_new_tokens, width, depth, min_prob)
    if most > MAX_BRANCHES:
        raise InputError(
            f"the token tree may hold up to {most:,} branches (tree_depth {depth}, tree_width {width}, "
            f"tree_min_prob {min_prob}, over max_new_tokens {max_new_tokens}); the limit is {MAX_BRANCHES:,}",
            "make it smaller: a lower tree_depth, tree_width or max_new_tokens, or a higher tree_min_prob",
            at=("tree_depth",),
        )


def compact(step: dict) -> list:
    """A step event as the tree stores it: [token_id, token, prob, entropy, [[id, token, prob]...]]."""
    top = [[c["token_id"], c["token"], c["prob"]] for c in step["top"]]
    return [step["token_id"], step["token"], step["prob"], step["entropy"], top]


def grow_tree(
    lm,
    tokenizer,
    request: TokenLiveRequest,
    device: str,
    prompt: list[int],
    steps: list[dict],
    width: int,
    depth: int,
    min_prob: float,
) -> tuple[dict, int]:
    """(the tree's root node over the recorded `steps`, how many branches it holds)."""
    counter = [0]
    root = {
        "steps": [compact(s) for s in steps],
        "branches": _branches(
            lm, tokenizer, request, device, prompt, [], "", steps, 0, width, depth, min_prob, counter
        ),
    }
    return root, counter[0]


def _branches(lm, tokenizer, request, device, prompt, path, text, steps, skip, width, depth, min_prob, counter):
    """The branches of one node: for each of its steps (from `skip`), each candidate of rank below
    `width` other than the one taken, with probability at least `min_prob`."""
    if depth < 1:
        return {}
    out: dict[str, dict] = {}
    for j, step in enumerate(steps):
        if j < skip:
            continue
        before = [s["token_id"] for s in steps[:j]]
        written = text + "".join(s["token"] for s in steps[:j])  # an end-of-sequence step is always last
        for candidate in step["top"][:width]:
            if candidate["token_id"] == step["token_id"] or candidate["prob"] < min_prob:
                continue
            outcome: dict = {}
            context = prompt + path + before
            sub = list(
                decode_steps(
                    lm,
                    tokenizer,
                    context,
                    request,
                    device,
                    outcome,
                    completion=written,
                    first_index=len(path) + j,
                    forced=candidate["token_id"],
                )
            )
            counter[0] += 1
            node = {"steps": [compact(s) for s in sub], "stopped": outcome["stopped"]}
            inner = _branches(
                lm,
                tokenizer,
                request,
                device,
                prompt,
                path + before,
                written,
                sub,
                1,
                width,
                depth - 1,
                min_prob,
                counter,
            )
            if inner:
                node["branches"] = inner
            out[f"{j}:{candidate['token_id']}"] = node
    return out
