"""The describer: a small vision-language model that reads a shapes-world picture and writes its caption.

Pixels -> embeddings -> words, the way a multimodal LLM does it, small enough to train on a CPU:
- the vision encoder (ViT-style) cuts the 32x32 picture into 4x4 patches, projects each to a vector
  (64 patch embeddings), adds learned position embeddings and runs a few transformer layers;
- the decoder is a causal transformer over word tokens that cross-attends to the patch embeddings
  and predicts the next word, one at a time, each with its probabilities.
Cross-attention rather than LLaVA's prefix: the shapes diffusion model reads the caption by
cross-attention too (its UNet attends to MiniLM's token states), so the two models of the loop are
mirror images; and the 64 patches are encoded once per picture while the decoder's self-attention
stays over at most 10 words instead of 74 positions.
The vocabulary is the world's words, one token each: every caption is exactly spelt, none is split.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from w2w_generators.shapes import world

SPECIALS = ("<pad>", "<bos>", "<eos>")
WORDS = ("a", *world.COLOURS, *world.SHAPES, "above", "left", "of")
VOCAB = SPECIALS + WORDS
PAD, BOS, EOS = 0, 1, 2
MAX_TOKENS = 10  # <bos> + the longest caption (8 words: "a red circle left of a blue square") + <eos>


@dataclass(frozen=True)
class DescriberConfig:
    patch: int = 4
    dim: int = 96
    heads: int = 4
    encoder_layers: int = 3
    decoder_layers: int = 2
    mlp_ratio: int = 4
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def encode_caption(caption: str) -> list[int]:
    """<bos> words <eos>; raises ValueError for a caption outside the world (world.parse_caption)."""
    scene = world.parse_caption(caption)
    return [BOS, *(VOCAB.index(w) for w in scene.caption.split()), EOS]


def decode_tokens(ids: list[int]) -> str:
    return " ".join(VOCAB[i] for i in ids if i >= len(SPECIALS))


def to_input(images) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) array or tensor -> float (N, 3, 32, 32) in [-1, 1]."""
    x = torch.as_tensor(images)
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


class Describer(nn.Module):
    def __init__(self, config: DescriberConfig):
        super().__init__()
        self.config = config
        c, d = config, config.dim
        n_patches = (world.SIZE // c.patch) ** 2
        self.patchify = nn.Conv2d(3, d, kernel_size=c.patch, stride=c.patch)  # one linear map per patch
        self.patch_pos = nn.Parameter(torch.randn(1, n_patches, d) * 0.02)
        layer = dict(d_model=d, nhead=c.heads, dim_feedforward=d * c.mlp_ratio, dropout=c.dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(**layer, norm_first=True), c.encoder_layers, enable_nested_tensor=False
        )
        self.encoder_norm = nn.LayerNorm(d)
        self.token_embed = nn.Embedding(len(VOCAB), d)
        self.token_pos = nn.Parameter(torch.randn(1, MAX_TOKENS, d) * 0.02)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer, norm_first=True), c.decoder_layers)
        self.decoder_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, len(VOCAB))

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, 32, 32) in [-1, 1] -> (N, 64, dim) patch embeddings."""
        patches = self.patchify(pixels).flatten(2).transpose(1, 2)
        return self.encoder_norm(self.encoder(patches + self.patch_pos))

    def logits(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(N, T) tokens, each attending to itself and earlier ones and to all patches -> (N, T, vocab)."""
        t = tokens.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device)
        x = self.token_embed(tokens) + self.token_pos[:, :t]
        x = self.decoder(x, memory, tgt_mask=causal, tgt_is_causal=True)
        return self.head(self.decoder_norm(x))

    def forward(self, pixels: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.logits(self.encode(pixels), tokens)


def loss_on(model: Describer, pixels: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy (teacher forcing), padding ignored."""
    logits = model(pixels, tokens[:, :-1])
    return nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=PAD
    )


def batch_tokens(captions: list[str]) -> torch.Tensor:
    rows = [encode_caption(c) for c in captions]
    out = torch.full((len(rows), max(map(len, rows))), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row)
    return out


@torch.no_grad()
def greedy(model: Describer, pixels: torch.Tensor, top: int = 3) -> list[list[dict]]:
    """Greedy decoding of a batch: for each picture the tokens it wrote, each with its probability
    and the `top` most likely tokens at that step. Stops at <eos> or MAX_TOKENS: it always ends."""
    model.eval()
    memory = model.encode(pixels)
    n = pixels.shape[0]
    tokens = torch.full((n, 1), BOS, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    steps: list[list[dict]] = [[] for _ in range(n)]
    while tokens.shape[1] < MAX_TOKENS and not done.all():
        probs = model.logits(memory, tokens)[:, -1].softmax(-1)
        probs[:, PAD] = probs[:, BOS] = 0.0  # never written: their mass is dropped, so sums stay <= 1
        best = probs.argmax(-1)
        values, ids = probs.topk(top, dim=-1)
        for i in range(n):
            if not done[i]:
                alternatives = [{"token": VOCAB[j], "p": float(v)} for v, j in zip(values[i], ids[i], strict=True)]
                steps[i].append({"token": VOCAB[int(best[i])], "p": float(probs[i, best[i]]), "top": alternatives})
        done |= best == EOS
        tokens = torch.cat([tokens, best[:, None]], dim=1)
    return steps


def caption_of(steps: list[dict]) -> str:
    return " ".join(s["token"] for s in steps if s["token"] not in SPECIALS)
