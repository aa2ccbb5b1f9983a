"""The token trace as a stream: one event per generated token, used by the build and by `w2w present`.

`token_steps` runs the decoding loop itself (one forward pass per token over the KV cache) so that
each token, with its probability, entropy and top-k candidates, can be handed out the moment it is
chosen. The build collects every event into the artifact, the live server streams them: the
recording and the live run are the same code. Greedy steps pick the argmax of the same logits that
`model.generate` would see (tests compare the two token for token).

Stopping: at an end-of-sequence token, at the end of the first sentence (`stop="sentence"`: a '.',
'!' or '?' after a word, so "3.5" or a lone "." does not count), or at `max_new_tokens`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from w2w.plugin_api import InputError, TextInput, live_text

# A sentence ends at . ! ? … after a letter or a closing mark, optionally inside closing quotes or
# brackets. Not after a digit ("3." of "3.5"); abbreviations ("e.g.") are rare in a 40-token demo.
_SENTENCE_END = re.compile(r"[^\W\d_][.!?…][\"'”’)\]]*\s*$|[)\"”’][.!?…]\s*$")


Prompt = live_text(400, "the prompt")


class TokenLiveRequest(BaseModel):
    """What a slide may ask of the token trace (contract: docs/live-protocol.md); every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("prompt")  # the deck's input, the room's suggestions
    prompt: Prompt
    max_new_tokens: Annotated[int, Field(ge=1, le=64)] = 16
    top_k: Annotated[int, Field(ge=2, le=10)] = 5
    sampling: Literal["greedy", "sample"] = "greedy"
    temperature: Annotated[float, Field(gt=0, le=5)] = 0.8
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    chat: bool = False  # wrap the prompt in the model's chat template (a user turn) first
    stop: Literal["sentence", "eos"] = "sentence"
    # The token explorer's branch beyond the build's tree (templates/explore-tokens.js): the ids
    # written after the prompt, the last one the reader's choice, forced; the model goes on from
    # there as the tree's branches do (token_trace/tree.py), so a live branch is one the build could
    # have made. Ids at or past the model's vocabulary are refused by `token_steps`.
    prefix_ids: Annotated[list[Annotated[int, Field(ge=0, lt=2**20)]], Field(max_length=63)] = []


def sentence_ended(text: str) -> bool:
    return bool(_SENTENCE_END.search(text))


def prompt_ids(tokenizer, prompt: str, chat: bool) -> list[int]:
    """The ids the model continues: the raw prompt, or a chat user turn plus the assistant header."""
    if chat:
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        if isinstance(ids, dict) or hasattr(ids, "keys"):  # transformers 5 may return a BatchEncoding
            ids = ids["input_ids"]
        return [int(i) for i in ids]
    return [int(i) for i in tokenizer(prompt)["input_ids"]]


def eos_ids(lm) -> set[int]:
    eos = lm.generation_config.eos_token_id
    return set(eos if isinstance(eos, list) else [eos] if eos is not None else [])


def decode(tokenizer, ids: list[int]) -> str:
    # No clean-up of spaces: it rewrites earlier text (" ." -> "."), which would break the pieces.
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def rounded(prob: float) -> float:
    """4 decimals, but a sampled long shot keeps 2 significant digits instead of becoming 0."""
    return round(prob, 4) or float(f"{prob:.2g}")


def token_steps(lm, tokenizer, request: TokenLiveRequest, device: str) -> Iterator[dict]:
    """Yield {"type": "step", ...} per new token, then {"type": "done", ...} with the summary."""
    context = prompt_ids(tokenizer, request.prompt, request.chat)
    outcome: dict = {}
    started = time.perf_counter()
    if request.prefix_ids:
        vocabulary = lm.get_input_embeddings().num_embeddings
        if max(request.prefix_ids) >= vocabulary:
            raise InputError(
                f"prefix_ids holds a token id past the model's vocabulary of {vocabulary}",
                f"send token ids below {vocabulary}, as the build's tree and the trace's top-k give them",
            )
        *before, chosen = request.prefix_ids
        written = decode(tokenizer, context + before)[len(decode(tokenizer, context)) :]  # settled text
        yield from decode_steps(
            lm,
            tokenizer,
            context + before,
            request,
            device,
            outcome,
            completion=written,
            first_index=len(before),
            forced=chosen,
        )
    else:
        yield from decode_steps(lm, tokenizer, context, request, device, outcome)
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    count = outcome["count"]
    yield {
        "type": "done",
        "prompt": request.prompt,
        "completion": outcome["completion"],
        "text": request.prompt + outcome["completion"],
        "new_tokens": count,
        "stopped": outcome["stopped"],
        "seconds": round(seconds, 4),
        "tokens_per_second": round(count / seconds, 2) if seconds > 0 else 0.0,
    }


def cache_arg(lm) -> str:
    """The forward's name for the KV cache: transformers 5.24 renamed `past_key_values` to `cache`
    (the old name still works, with a warning)."""
    import inspect

    return "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"


class Decoder:
    """One sequence's decoding state: the text settled so far, the stopping rule and the step events.
    `decode_steps` feeds it one forward pass at a time; the token tree (token_trace/tree.py) feeds
    many of them from the rows of one batched pass. Both make their events here, so a branch of the
    tree and a live run are the same events."""

    def __init__(self, tokenizer, context, request: TokenLiveRequest, stops: set[int], completion="", first_index=0):
        self.tokenizer, self.request, self.stops = tokenizer, request, stops
        self.context = list(context)
        self.stable = len(decode(tokenizer, self.context[: len(self.context) - first_index])) + len(completion)
        self.completion, self.index, self.count = completion, first_index, 0
        self.stopped = "length" if first_index >= request.max_new_tokens else None  # set once it is done

    def step(self, token_id: int, prob: float, nll: float, entropy: float, top: list[tuple[int, float]]) -> dict:
        """The event of choosing `token_id` from a distribution in which it has probability `prob`
        (negative log `nll`), whose entropy is `entropy` and whose `top_k` candidates are `top`
        ((id, probability), largest first)."""
        tokenizer, context, stable = self.tokenizer, self.context, self.stable
        is_eos = token_id in self.stops
        text = decode(tokenizer, context + [token_id])[stable:]
        if not (is_eos or self.index == self.request.max_new_tokens - 1):
            # A byte-level token may end mid-character ('\ufffd'): hold those bytes for the next step.
            text = text.rstrip("\ufffd")
        event = {
            "type": "step",
            "index": self.index,
            "token_id": token_id,
            "token": text,
            "prob": rounded(prob),
            "entropy": round(entropy, 3),
            "nll": round(nll, 4),
            "top": [
                {"token_id": t, "token": decode(tokenizer, context + [t])[stable:], "prob": rounded(p)} for t, p in top
            ],
        }
        context.append(token_id)
        self.stable += len(text)
        self.index += 1
        self.count += 1
        if is_eos:
            self.stopped = "eos"  # its text ("<|im_end|>") is shown as a step but is not part of the prose
        else:
            self.completion += text
            if self.request.stop == "sentence" and sentence_ended(self.completion):
                self.stopped = "sentence"
            elif self.index >= self.request.max_new_tokens:
                self.stopped = "length"
        return event


def decode_steps(
    lm,
    tokenizer,
    context: list[int],
    request: TokenLiveRequest,
    device: str,
    outcome: dict,
    *,
    completion: str = "",
    first_index: int = 0,
    forced: int | None = None,
) -> Iterator[dict]:
    """Continue `context` (prompt ids, then the tokens already chosen, whose text is `completion`)
    one token per step, up to `request.max_new_tokens` tokens in all counted from `first_index`.
    `forced` is the first token, whatever the model prefers (the token explorer's choice beyond the
    build's tree). `outcome` receives stopped, completion and count at the end."""
    import torch

    name = cache_arg(lm)
    decoder = Decoder(tokenizer, context, request, eos_ids(lm), completion, first_index)
    generator = torch.Generator().manual_seed(request.seed)
    input_ids = torch.tensor([context], device=device)
    past = None
    while decoder.stopped is None:
        with torch.inference_mode():
            # logits_to_keep=1: the last position only, the same product `generate` computes.
            out = lm(input_ids=input_ids, **{name: past}, use_cache=True, logits_to_keep=1)
        past = getattr(out, name)
        logits = out.logits[0, -1].float().cpu()
        log_probs = torch.log_softmax(logits, dim=-1)  # temperature 1: the model's own distribution
        probs = log_probs.exp()
        if forced is not None and decoder.index == first_index:
            token_id = forced
        elif request.sampling == "greedy":
            token_id = int(torch.argmax(logits))
        else:
            token_id = int(torch.multinomial(torch.softmax(logits / request.temperature, -1), 1, generator=generator))
        top_p, top_ids = probs.topk(request.top_k)
        yield decoder.step(
            token_id,
            float(probs[token_id]),
            -float(log_probs[token_id]),
            float(-(probs * log_probs).sum()),
            [(int(t), float(p)) for p, t in zip(top_p, top_ids, strict=True)],
        )
        input_ids = torch.tensor([[token_id]], device=device)
    outcome.update(stopped=decoder.stopped, completion=decoder.completion, count=decoder.count)
