"""Constrained decoding: the planner can only write a caption of the shapes world.

Every caption the renderer reads ("a red circle above a blue square": 5 colours x 3 shapes x 2
relations x 5 x 3 = 450) is tokenized once into a token trie. At each step the model's next-token
distribution is cut down to the trie's children and renormalised; the decoding ends at a leaf, so
every plan parses under the grammar by construction, whatever the request says. Tokens with one
child ("a", "of") are forced: the model's choice is in the 5 slots (colour, shape, relation,
colour, shape).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from w2w_generators.shapes.world import COLOURS, RELATIONS, SHAPES

PROMPT = "Request: {request}\nScene:"  # plain text, not the chat template: 8 tokens, trains faster


def prompt_text(request: str) -> str:
    return PROMPT.format(request=" ".join(request.split()))


def all_captions() -> list[str]:
    """Every sentence the grammar accepts (parse_caption), in a fixed order."""
    return [
        f"a {ca} {sa} {rel} a {cb} {sb}"
        for ca, sa, rel, cb, sb in itertools.product(COLOURS, SHAPES, RELATIONS, COLOURS, SHAPES)
    ]


@dataclass
class Node:
    children: dict[int, Node] = field(default_factory=dict)
    caption: str | None = None  # set on a leaf


def build_trie(tokenizer) -> Node:
    """The captions as token paths (each with its leading space, as it follows "Scene:")."""
    root = Node()
    for caption in all_captions():
        node = root
        for token_id in tokenizer(" " + caption, add_special_tokens=False)["input_ids"]:
            node = node.children.setdefault(int(token_id), Node())
        if node.children or node.caption is not None:
            raise ValueError(f"caption {caption!r} is a prefix of another: the trie cannot end it")
        node.caption = caption
    return root


def target_ids(tokenizer, caption: str) -> list[int]:
    return [int(i) for i in tokenizer(" " + caption, add_special_tokens=False)["input_ids"]]


def prompt_ids(tokenizer, request: str) -> list[int]:
    return [int(i) for i in tokenizer(prompt_text(request))["input_ids"]]


def caption_vocabulary(trie: Node) -> list[int]:
    """Every token id a caption can hold, sorted."""
    found, stack = set(), [trie]
    while stack:
        node = stack.pop()
        found.update(node.children)
        stack.extend(node.children.values())
    return sorted(found)


def _forced_run(node: Node) -> tuple[list[int], Node]:
    """The tokens the grammar leaves no choice about from `node` on ("a", "of"), and where they lead."""
    forced = []
    while len(node.children) == 1:
        token_id, node = next(iter(node.children.items()))
        forced.append(token_id)
    return forced, node


def constrained_steps(
    lm, tokenizer, trie: Node, request: str, device: str, choose: dict[int, int] | None = None
) -> Iterator[dict]:
    """One event per plan token: the token, its probability among the allowed tokens (`prob`), the
    model's own probability over the whole vocabulary (`raw_prob`), and the allowed alternatives.
    Forced tokens go into the model together with the token before them: one forward pass per
    choice (5 per plan, plus the prompt) instead of one per token (8 or 9).
    `choose` {choice number (0-4): token id} takes that allowed token at that choice instead of the
    most likely one, and decodes greedily after it: the planner's next-best plans (live.next_plan)."""
    import inspect

    import torch

    from w2w_generators.planner.lora import adapter_on

    name = "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
    feed, node, past, text, index = prompt_ids(tokenizer, request), trie, None, "", 0
    choose, choice = choose or {}, 0
    with adapter_on(lm), torch.inference_mode():
        while node.children:
            forced, node = _forced_run(node)
            ids = torch.tensor([feed + forced], device=device)
            out = lm(input_ids=ids, **{name: past}, use_cache=True, logits_to_keep=len(forced) + 1)
            past = getattr(out, name)
            probs = torch.softmax(out.logits[0].float().cpu(), dim=-1)  # row j: the token after position j
            for j, token_id in enumerate(forced):
                piece = tokenizer.decode([token_id])
                yield _event(index, token_id, piece, 1.0, float(probs[j, token_id]), [(token_id, piece, 1.0)])
                text, index = text + piece, index + 1
            if not node.children:
                break
            allowed = list(node.children)
            among = probs[-1, allowed] / probs[-1, allowed].sum()
            order = sorted(range(len(allowed)), key=lambda i: -float(among[i]))
            picked = allowed.index(choose[choice]) if choose.get(choice) in node.children else order[0]
            token_id = allowed[picked]
            piece = tokenizer.decode([token_id])
            alternatives = [(allowed[i], tokenizer.decode([allowed[i]]), float(among[i])) for i in order]
            yield _event(index, token_id, piece, float(among[picked]), float(probs[-1, token_id]), alternatives)
            text, index, feed, node = text + piece, index + 1, [token_id], node.children[token_id]
            choice += 1
    if node.caption is None or text.strip() != node.caption:
        raise AssertionError(f"the trie ended off a caption: {text!r}")


def _event(
    index: int, token_id: int, piece: str, prob: float, raw: float, allowed: list[tuple[int, str, float]]
) -> dict:
    return {
        "type": "step",
        "index": index,
        "token_id": token_id,
        "token": piece,
        "prob": round(prob, 4),
        "raw_prob": round(raw, 4),
        "forced": len(allowed) == 1,
        "allowed": [{"token": t, "token_id": i, "prob": round(p, 4)} for i, t, p in allowed],
    }


def plan(lm, tokenizer, trie: Node, request: str, device: str = "cpu") -> str:
    steps = list(constrained_steps(lm, tokenizer, trie, request, device))
    return "".join(s["token"] for s in steps).strip()
