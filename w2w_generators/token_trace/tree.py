"""The token trace's tree of other choices: what the model writes after any top-k candidate.

At each step of the recorded trace a reader may pick another of the top-k candidates; the deck
and the handout then show the continuation the model writes after that choice, greedily, with the
same stopping rule. Those continuations are computed here, at build time, so that they can be
played with from `file://` (templates/explore.js). A branch is its forced first token, then token
for token what greedy decoding from that prefix gives (tests/test_token_trace.py compares every
branch with `model.generate`), its events made by the same `Decoder` as a live run's.

Size: `tree_width` candidates per step (the chosen one included), `tree_depth` levels of choices,
and a candidate below `tree_min_prob` gets no branch. `most_branches` is the most a tree of those
settings can hold, and the settings are refused above MAX_BRANCHES (at the setting's line in
talk.yaml, before any model loads).

How (a prompt edit of the real talk rebuilt in 85 s, 71 s of it a 280-branch tree made one branch
after another, each from its prompt; now 16.8 s, the 281-branch tree 11.6 s; BENCHMARKS.md "A
prompt edit"):
- no branch reads its prefix again: the prompt and the trace go through the model once, and a
  branch starts from the key/value states (KV cache) of the sequence it leaves, cut at its step.
  Its first step is that step (same top-k, same entropy): no forward pass at all;
- the branches of one level are decoded together, up to CHUNK rows per forward pass, each row its
  own sequence, left-padded and masked, at its own positions; a row that stops leaves the batch.
  A forward pass of 64 rows cost 4.7 ms of one core's time a row, against 69 ms for a row alone.

The stored form is compact (the page inlines it): a node is
`{"steps": [[token_id, token, prob, entropy, [[id, token, prob], ...]], ...], "stopped": s,
"branches": {"<step>:<token_id>": node}}`, where a branch's steps begin with the chosen
candidate at that step (its top-k is the step's own) and its own branches key steps counted from
its first step (step 0, the choice itself, has its siblings in the parent).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from w2w.plugin_api import InputError
from w2w_generators.token_trace.steps import Decoder, TokenLiveRequest, cache_arg, eos_ids

# Rows a forward pass. A pass costs about 65 ms of one core plus 4-6 ms a row, so fewer, fuller
# passes win: a 281-branch tree took 14.5 s of one core's time at 64 rows, 12.8 at 128, 11.9 at 256
# and at 1,000 (no limit); 128 keeps the batch's KV near 300 MB at 50 positions (46 KB a position).
CHUNK = 128
MAX_BRANCHES = 5000  # most_branches of the real talk's settings: 4,512 (its tree: 105 branches)


def alternatives(width: int, min_prob: float) -> int:
    """The most candidates of one step that can get a branch: `width` less the chosen one, and no
    more than probabilities of at least `min_prob` can add up to 1 (stored to 4 decimals, so 0.04995
    passes 0.05)."""
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


@dataclass(eq=False)
class _Node:
    """A sequence of the tree: the trace (the root) or a branch."""

    steps: list[dict]  # its step events
    path: list[int]  # the ids written after the prompt before its first step
    text: str  # their text
    skip: int  # its first step that may branch (a branch's step 0 has its siblings in the parent)
    stored: dict  # its compact form in the tree
    parent: _Node | None = None
    start: int = 0  # the position of its first token
    own: Any = None  # KV from `start` on, kept while it may branch: [layers, 2, kv heads, positions, head dim]


@dataclass(eq=False)
class _Row:
    node: _Node  # the branch it writes
    decoder: Decoder
    position: int  # the position of the token it feeds next


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
    report: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[dict, int]:
    """(the tree's root node over the recorded `steps`, how many branches it holds). `report` hears
    (branches done, branches known) as each branch ends."""
    import torch

    root = _Node(steps, [], "", 0, {"steps": [compact(s) for s in steps], "branches": {}})
    if depth < 1:
        return root.stored, 0
    stops, count = eos_ids(lm), {"done": 0, "total": 0}

    def ended() -> None:
        count["done"] += 1
        report(count["done"], count["total"])

    with torch.inference_mode():
        root.own = _prefill(lm, prompt + [s["token_id"] for s in steps[:-1]], device)
        nodes = [root]
        for level in range(1, depth + 1):
            rows = [row for node in nodes for row in _rows(tokenizer, request, stops, prompt, node, width, min_prob)]
            count["total"] += len(rows)
            for first in range(0, len(rows), CHUNK):
                _decode(lm, request, device, rows[first : first + CHUNK], level < depth, ended)
            nodes = [row.node for row in rows]
    return root.stored, count["total"]


def _prefill(lm, ids: list[int], device: str):
    """The KV of `ids`, one forward pass: [layers, 2, kv heads, positions, head dim]."""
    import torch

    out = lm(input_ids=torch.tensor([ids], device=device), use_cache=True, logits_to_keep=1)
    return _kv(getattr(out, cache_arg(lm)), 0, 0)


def _kv(cache, row: int, first: int):
    """Row `row` of a batch's KV cache, from position `first` on (a copy)."""
    import torch

    return torch.stack(
        [torch.stack((layer.keys[row, :, first:], layer.values[row, :, first:])) for layer in cache.layers]
    )


def _rows(tokenizer, request, stops, prompt: list[int], node: _Node, width: int, min_prob: float) -> list[_Row]:
    """The branches of `node`, each with its first step (the forced choice) taken: for each of its
    steps from `skip`, each candidate of rank below `width` other than the one taken, with
    probability at least `min_prob`. Their places in the stored tree are made now, in this order."""
    rows = []
    for j in range(node.skip, len(node.steps)):
        step = node.steps[j]
        before = node.path + [s["token_id"] for s in node.steps[:j]]
        written = node.text + "".join(s["token"] for s in node.steps[:j])  # an end-of-sequence step is always last
        top = [(c["token_id"], c["prob"]) for c in step["top"]]
        for candidate, prob in top[:width]:
            if candidate == step["token_id"] or prob < min_prob:
                continue
            decoder = Decoder(tokenizer, prompt + before, request, stops, written, first_index=len(before))
            # The distribution is the step's own: the KV it was computed from is the branch's too.
            first = decoder.step(candidate, prob, -math.log(prob) if prob > 0 else math.inf, step["entropy"], top)
            stored: dict = {}
            node.stored.setdefault("branches", {})[f"{j}:{candidate}"] = stored
            branch = _Node([first], before, written, 1, stored, parent=node, start=len(prompt) + len(before))
            rows.append(_Row(branch, decoder, branch.start))
    return rows


def _segments(node: _Node, upto: int) -> list[tuple[_Node, int]]:
    """Where the KV of positions [0, upto) of a sequence through `node` is: (node, how many of its
    own positions), from the root."""
    found = []
    while node is not None and upto > 0:
        if upto > node.start:
            found.append((node, upto - node.start))
            upto = node.start
        node = node.parent
    return found[::-1]


def _decode(lm, request: TokenLiveRequest, device: str, rows: list[_Row], keep: bool, ended: Callable) -> None:
    """Write `rows` to their end, greedily, all in one batch; with `keep`, each keeps its own KV.
    `ended()` as each ends."""
    import torch

    active = [row for row in rows if row.decoder.stopped is None]
    for row in rows:
        if row.decoder.stopped is not None:
            _store(row)
            ended()
    if not active:
        return
    cache, mask, positions, width = _batched_cache(lm, active, device)
    name = cache_arg(lm)
    while active:
        tokens = torch.tensor([[row.node.steps[-1]["token_id"]] for row in active], device=device)
        mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
        out = lm(
            input_ids=tokens,
            attention_mask=mask,
            position_ids=positions[:, None],
            **{name: cache},
            use_cache=True,
            logits_to_keep=1,
        )
        cache = getattr(out, name)
        logits = out.logits[:, -1].float().cpu()
        log_probs = torch.log_softmax(logits, dim=-1)  # temperature 1: the model's own distribution
        probs = log_probs.exp()
        entropy = -(probs * log_probs).sum(-1)
        top_p, top_ids = probs.topk(request.top_k, dim=-1)
        chosen = torch.argmax(logits, dim=-1).tolist()
        going = []
        for i, row in enumerate(active):
            token = chosen[i]
            top = list(zip(top_ids[i].tolist(), top_p[i].tolist(), strict=True))
            event = row.decoder.step(token, float(probs[i, token]), -float(log_probs[i, token]), float(entropy[i]), top)
            row.node.steps.append(event)
            if row.decoder.stopped is None:
                going.append(i)
                continue
            if keep:  # the positions it fed: its first token, ..., the one before its last
                row.node.own = _kv(cache, i, width)
            _store(row)
            ended()
        if len(going) < len(active):
            index = torch.tensor(going, dtype=torch.long, device=device)
            cache.batch_select_indices(index)
            mask, positions = mask[index], positions[index]
            active = [active[i] for i in going]
        positions = positions + 1


def _batched_cache(lm, active: list[_Row], device: str):
    """One KV cache for the rows, each left-padded to the longest: (cache, mask, positions, width)."""
    import torch
    from transformers import DynamicCache

    some = active[0].node.parent.own
    layers, _, heads, _, size = some.shape
    width = max(row.position for row in active)
    kv = torch.zeros((layers, 2, len(active), heads, width, size), dtype=some.dtype, device=device)
    for i, row in enumerate(active):
        at = width - row.position  # left padding
        for node, count in _segments(row.node.parent, row.position):
            kv[:, :, i, :, at : at + count] = node.own[:, :, :, :count]
            at += count
    cache = DynamicCache([(kv[layer, 0], kv[layer, 1]) for layer in range(layers)], config=lm.config)
    del kv  # the cache's first concatenation copies it
    padding = [width - row.position for row in active]
    mask = (torch.arange(width, device=device)[None, :] >= torch.tensor(padding, device=device)[:, None]).long()
    positions = torch.tensor([row.position for row in active], device=device)
    return cache, mask, positions, width


def _store(row: _Row) -> None:
    row.node.stored["steps"] = [compact(s) for s in row.node.steps]
    row.node.stored["stopped"] = row.decoder.stopped
