"""What the token trace costs: traced vs plain generation, warm (converted cache) vs cold (GGUF) loads,
and the cold load with the file parsed once (w2w's) vs transformers' own three parses.

    python benchmarks/bench_token_trace.py [--tokens 16] [--device auto]

Targets (not asserted; timings on a shared machine are noisy): traced/plain <= 1.15x, warm/cold <= 0.1x.
Uses the normal w2w cache (W2W_HOME), converting the packaged GGUF first if it is not there yet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from w2w.plugin_api import device_class, torch_device  # noqa: E402
from w2w_generators.shared.lm_loading import converted_dir, load_gguf, load_model  # noqa: E402
from w2w_generators.token_trace.generator import TokenTrace, TokenTraceInputs, generate, trace_steps  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    """Median wall time of `repeats` calls, and all of them."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def bench(tokens: int = 16, device: str = "auto", repeats: int = 3) -> dict:
    import torch

    device = torch_device(device_class(device))
    inputs = TokenTraceInputs(max_new_tokens=tokens)
    ref = TokenTrace().resolve_model(inputs, {})
    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"device {device}"
    )
    print(f"model: {ref.id} from {ref.source}, {tokens} new tokens, greedy")

    if not (converted_dir(ref) / "config.json").is_file():
        start = time.perf_counter()
        load_model(ref, device)  # the one-time conversion
        print(f"one-time GGUF -> safetensors conversion: {time.perf_counter() - start:.1f} s")

    # (1) traced generation (raw logits + per-step processing) vs plain generate, same tokens.
    lm, tokenizer, _ = load_model(ref, device)
    eos = lm.generation_config.eos_token_id
    eos_ids = {eos} if isinstance(eos, int) else set(eos or [])
    generate(lm, tokenizer, inputs, device, trace=False)  # warm-up: first call pays one-off costs

    def traced():
        prompt_ids, new_ids, logits, _ = generate(lm, tokenizer, inputs, device, trace=True)
        trace_steps(tokenizer, prompt_ids, new_ids, logits, inputs.top_k, eos_ids)
        return new_ids

    def plain():
        return generate(lm, tokenizer, inputs, device, trace=False)[1]

    assert traced() == plain(), "traced and plain greedy runs must produce the same tokens"
    # Interleave the repeats so a burst of load from other processes hits both alike.
    traced_times, plain_times = [], []
    for _ in range(repeats):
        traced_times.append(timed(traced, 1)[0])
        plain_times.append(timed(plain, 1)[0])
    traced_s, plain_s = statistics.median(traced_times), statistics.median(plain_times)
    print(f"traced generation: {traced_s:.3f} s (median of {[round(t, 3) for t in traced_times]})")
    print(f"plain generate:    {plain_s:.3f} s (median of {[round(t, 3) for t in plain_times]})")
    print(f"traced / plain:    {traced_s / plain_s:.3f}x   (target <= 1.15x)")
    lm = None  # the closures above share this cell: the model is freed before the loads below

    # (2) warm load from the converted safetensors cache vs cold de-quantising load of the GGUF.
    warm_s, warm_times = timed(lambda: load_model(ref, device), repeats)
    cold_s, _ = timed(lambda: load_gguf(Path(ref.path)), 1)  # seconds each: once is enough
    print(f"warm load (converted cache): {warm_s:.3f} s (median of {[round(t, 3) for t in warm_times]})")
    print(f"cold load (GGUF):            {cold_s:.3f} s")
    print(f"warm / cold:                 {warm_s / cold_s:.3f}x   (target <= 0.1x)")

    # (3) the cold load as w2w does it (one parse of the file, one tensor-name map) vs transformers' own.
    # w2w's went first above, so any one-off cost of a first GGUF load (imports, page cache) is on its side.
    plain_load_s, _ = timed(lambda: load_gguf(Path(ref.path), parse_once=False), 1)
    print(f"cold load, transformers' own:  {plain_load_s:.3f} s")
    print(f"parse once / transformers:     {cold_s / plain_load_s:.3f}x")
    return {
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "device": device,
        "new_tokens": tokens,
        "traced_s": traced_s,
        "plain_s": plain_s,
        "traced_over_plain": traced_s / plain_s,
        "warm_load_s": warm_s,
        "cold_load_s": cold_s,
        "warm_over_cold": warm_s / cold_s,
        "cold_load_transformers_s": plain_load_s,
        "parse_once_over_transformers": cold_s / plain_load_s,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bench(args.tokens, args.device, args.repeats)
