"""all-MiniLM-L6-v2 as a plain transformers encoder: the talk's "meaning space".

Used twice, on purpose: the embedding plot shows its sentence vectors, and the shapes diffusion model
is conditioned on its token states, so meaning space visibly steers appearance space.
sentence-transformers is not needed: the model is a BERT encoder followed by mean pooling and L2
normalisation (its `1_Pooling` and `modules.json` say so), which is a few lines here.
"""

from __future__ import annotations

from pathlib import Path

import torch


class MiniLM:
    def __init__(self, path: str | Path, device: str = "cpu", max_tokens: int = 16):
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(path)
        self.device = device
        self.max_tokens = max_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModel.from_pretrained(self.path).to(device).eval()

    @torch.no_grad()
    def token_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states (N, max_tokens, 384), padded, and their attention mask (N, max_tokens)."""
        batch = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=self.max_tokens, return_tensors="pt"
        ).to(self.device)
        states = self.model(**batch).last_hidden_state
        return states, batch["attention_mask"]

    @torch.no_grad()
    def sentence_embeddings(self, texts: list[str]) -> torch.Tensor:
        """Unit-length sentence vectors (N, 384): mean of token states over real tokens."""
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt").to(
            self.device
        )
        states = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)
