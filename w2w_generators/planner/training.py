"""Training recipe of the shipped planner adapter (`w2w train-planner`): LoRA on SmolLM2's last layers.

The base model stays frozen, so the first `30 - layers` decoder layers compute the same hidden
states for an example at every step: they are computed once per example (the "trunk") and each
step runs only the last layers, the final norm and the output head on the plan's positions (the
loss is on the plan tokens only). Right padding is harmless: attention is causal and the loss
never reads a padded position. `check_split` proves the split forward equals the model's own.
Checkpoints every `checkpoint_every` steps let a killed run resume where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from w2w_generators.planner import lora
from w2w_generators.planner.live import ADAPTER_FILE, RECORD_FILE
from w2w_generators.planner.plan import build_trie, caption_vocabulary, plan, prompt_ids, target_ids
from w2w_generators.planner.requests import Example, load_heldout, training_examples
from w2w_generators.shared.records import machine


@dataclass(frozen=True)
class PlannerConfig:
    seed: int = 0
    examples: int = 3000
    steps: int = 1000
    batch_size: int = 16
    learning_rate: float = 3e-3
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    layers: int = 6
    rank: int = 16
    alpha: float = 32.0
    targets: tuple[str, ...] = lora.TARGETS
    torch_threads: int = 1
    checkpoint_every: int = 50

    def hash(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def positions(model):
    return model.model.rotary_emb


def trunk(model, ids: torch.Tensor, upto: int) -> torch.Tensor:
    """Hidden states entering decoder layer `upto` (right-padded batch; causal attention)."""
    h = model.model.embed_tokens(ids)
    pos = torch.arange(ids.shape[1]).unsqueeze(0)
    rope = model.model.rotary_emb(h, position_ids=pos)
    for layer in model.model.layers[:upto]:
        h = layer(h, attention_mask=None, position_ids=pos, position_embeddings=rope)
    return h


def tail(model, h: torch.Tensor, start: int) -> torch.Tensor:
    """The last layers and the final norm on hidden states entering layer `start`."""
    pos = torch.arange(h.shape[1]).unsqueeze(0)
    rope = model.model.rotary_emb(h, position_ids=pos)
    for layer in model.model.layers[start:]:
        h = layer(h, attention_mask=None, position_ids=pos, position_embeddings=rope)
    return model.model.norm(h)


def check_split(model, ids: list[int], start: int) -> float:
    """Largest logit difference between trunk + tail and the model's own forward (adapter on)."""
    x = torch.tensor([ids])
    with torch.no_grad(), lora.adapter_on(model):
        split = model.lm_head(tail(model, trunk(model, x, start), start))
        whole = model(input_ids=x).logits
    return float((split - whole).abs().max())


def encode(tokenizer, examples) -> list[tuple[list[int], int]]:
    """(prompt + plan ids, where the plan starts) per example."""
    rows = []
    for e in examples:
        p = prompt_ids(tokenizer, e.request)
        rows.append((p + target_ids(tokenizer, e.plan), len(p)))
    return rows


def pad(rows: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows])


def compute_trunks(model, rows, start: int, batch: int = 64) -> list[torch.Tensor]:
    out = []
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            chunk = [ids for ids, _ in rows[i : i + batch]]
            h = trunk(model, pad(chunk, 0), start)
            out.extend(h[j, : len(ids)].clone() for j, ids in enumerate(chunk))
    return out


def batch_loss(model, rows, trunks, index: list[int], start: int, vocabulary: list[int]) -> torch.Tensor:
    """Cross-entropy of the plan tokens over the captions' vocabulary only (`vocabulary`, 12 token
    ids): decoding is held to the grammar, so the model only has to rank the tokens a caption can
    hold, and the output head costs 12 columns instead of 49,152."""
    width = max(len(rows[i][0]) for i in index)
    h = torch.zeros(len(index), width, trunks[0].shape[-1])
    picks, targets = [], []
    column = {token: i for i, token in enumerate(vocabulary)}
    for b, i in enumerate(index):
        ids, plan_start = rows[i]
        h[b, : len(ids)] = trunks[i]
        for p in range(plan_start, len(ids)):  # position p - 1 predicts token p
            picks.append(b * width + p - 1)
            targets.append(column[ids[p]])
    with lora.adapter_on(model):
        out = tail(model, h, start).reshape(-1, h.shape[-1])[torch.tensor(picks)]
        logits = out @ model.lm_head.weight[vocabulary].T
    return torch.nn.functional.cross_entropy(logits, torch.tensor(targets))


def learning_rate(config: PlannerConfig, step: int) -> float:
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return config.learning_rate * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


def train(config: PlannerConfig, model, tokenizer, out_dir: Path, log: Callable[[str], None] = print) -> dict:
    """Train the adapter into `out_dir` (adapter.safetensors + training.json; checkpoint.pt while
    it runs). Returns the training record (the held-out score is added by `evaluate`)."""
    from safetensors.torch import save_file

    torch.set_num_threads(config.torch_threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    start = len(model.model.layers) - config.layers
    for p in model.parameters():
        p.requires_grad_(False)
    wrapped = lora.attach(model, config.layers, config.rank, config.alpha, config.targets)
    params = [p for m in wrapped.values() for p in (m.lora_a, m.lora_b)]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = out_dir / "checkpoint.pt"
    rows = encode(tokenizer, training_examples(config.examples, config.seed))
    vocabulary = caption_vocabulary(build_trie(tokenizer))
    difference = check_split(model, rows[0][0], start)
    assert difference < 1e-3, f"the split forward differs from the model's by {difference}"
    trunks, trunk_seconds, cached = _trunks(config, model, rows, start, out_dir)
    log(f"{len(rows)} examples, trunk states in {trunk_seconds:.0f} s (split check {difference:.2g})")
    step, losses, seconds = _resume(checkpoint, config, wrapped, optimizer, rng, log)
    while step < config.steps:
        began = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        loss = batch_loss(model, rows, trunks, rng.sample(range(len(rows)), config.batch_size), start, vocabulary)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        step += 1
        seconds += time.perf_counter() - began
        if step % 10 == 0:
            log(f"step {step}/{config.steps} loss {sum(losses[-10:]) / 10:.4f} ({seconds / step:.2f} s/step)")
        if step % config.checkpoint_every == 0 or step == config.steps:
            state = {"config_hash": config.hash(), "adapter": lora.state_dict(wrapped), "step": step}
            state.update(optimizer=optimizer.state_dict(), losses=losses, seconds=seconds, rng=rng.getstate())
            torch.save(state, checkpoint.with_suffix(".tmp"))
            os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
    # float16 on disk (1.95 MB for rank 16 on 7 projections of 6 layers); float32 in memory.
    half = {name: tensor.half() for name, tensor in lora.state_dict(wrapped).items()}
    save_file(half, str(out_dir / ADAPTER_FILE), metadata={"config_hash": config.hash()})
    record = _record(config, losses, seconds, trunk_seconds)
    (out_dir / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")
    cached.unlink()
    for p in params:
        p.requires_grad_(False)
    return record


def _trunks(config: PlannerConfig, model, rows, start: int, out_dir: Path):
    """The frozen layers' states of every example, computed once: (trunks, seconds, cache file).
    Kept while the run lasts, by what decides them: a resumed or re-tuned run skips the pass (545 s)."""
    clock = time.perf_counter()
    cached = out_dir / f"trunks-e{config.examples}-s{config.seed}-l{config.layers}.pt"
    trunks = torch.load(cached) if cached.is_file() else compute_trunks(model, rows, start)
    if not cached.is_file():
        torch.save(trunks, cached)
    return trunks, time.perf_counter() - clock, cached


def _resume(checkpoint: Path, config: PlannerConfig, wrapped, optimizer, rng: random.Random, log):
    """(step, losses, seconds) from a checkpoint of this config, else a fresh start."""
    if not checkpoint.is_file():
        return 0, [], 0.0
    state = torch.load(checkpoint, weights_only=False)
    if state["config_hash"] != config.hash():
        return 0, [], 0.0
    lora.load_state(wrapped, state["adapter"])
    optimizer.load_state_dict(state["optimizer"])
    rng.setstate(state["rng"])
    log(f"resumed at step {state['step']}")
    return state["step"], state["losses"], state["seconds"]


def _record(config: PlannerConfig, losses: list[float], seconds: float, trunk_seconds: float) -> dict:
    return {
        "config": asdict(config),
        "config_hash": config.hash(),
        "train_seconds": round(seconds, 1),
        "trunk_seconds": round(trunk_seconds, 1),
        "loss_every_50_steps": [
            round(sum(losses[i : i + 50]) / len(losses[i : i + 50]), 4) for i in range(0, len(losses), 50)
        ],
        "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),
        "machine": machine(),
    }


def greedy_follows(model, tokenizer, trie, examples: list[Example], batch: int = 32) -> list[bool]:
    """Per example: would the constrained greedy decoding write exactly its plan? It does exactly
    when, along the plan's own tokens, every choice the grammar leaves is the model's first among
    the allowed ones (greedy then never leaves that path). So one teacher-forced forward pass per
    example answers it, batched, where decoding takes one pass per choice: 300 requests in about a
    minute instead of about ten on the loaded 2-core machine."""
    rows = encode(tokenizer, examples)
    verdicts = []
    with torch.no_grad(), lora.adapter_on(model):
        for i in range(0, len(rows), batch):
            chunk = rows[i : i + batch]
            logits = model(input_ids=pad([ids for ids, _ in chunk], 0)).logits
            for b, (ids, start) in enumerate(chunk):
                node, right = trie, True
                for p in range(start, len(ids)):
                    allowed = list(node.children)
                    if len(allowed) > 1:
                        best = allowed[int(torch.argmax(logits[b, p - 1, allowed]))]
                        right = right and best == ids[p]
                    node = node.children[ids[p]]
                verdicts.append(right)
    return verdicts


def evaluate(model, tokenizer, examples: list[Example] | None = None, log: Callable[[str], None] = print) -> dict:
    """Exact plans on the held-out split (requests.HELDOUT_FILE) or on `examples`, adapter on; the
    misses are decoded for real, to record what the planner wrote instead."""
    examples = load_heldout() if examples is None else examples
    trie = build_trie(tokenizer)
    clock = time.perf_counter()
    verdicts = greedy_follows(model, tokenizer, trie, examples)
    misses = [
        {"request": e.request, "plan": plan(model, tokenizer, trie, e.request), "expected": e.plan}
        for e, right in zip(examples, verdicts, strict=True)
        if not right
    ]
    exact = len(examples) - len(misses)
    log(f"held-out: {exact} of {len(examples)} exact plans ({time.perf_counter() - clock:.0f} s)")
    return {"exact": exact, "of": len(examples), "percent": round(100 * exact / len(examples), 1), "misses": misses}
