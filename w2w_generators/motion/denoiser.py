"""The motion model's denoiser: a video transformer (diffusers' LatteTransformer3DModel: attention
within each frame, then across the frames at each place, the caption cross-attended) whose
position coordinates move with what the caption says moves.

Why the coordinates move (measured on the 2-core machine, the motion world's clips):
- Four earlier denoisers (a UNet3D on 2×2 patches, wider and longer-trained variants, and this
  transformer with fixed coordinates) learned colour, shape and smooth motion, and none learned
  the direction: the shipped UNet3D moved 7 of 48 held-out clips as captioned, and the fixed-
  coordinate transformer's loss was no lower for the right direction than the opposite one after
  25,000 clips.
- The simplest form of the task shows why. At pure noise the best a denoiser can do is the
  world's mean clip for the caption. Trained on just that, the model learned colour within 100
  steps and direction not at all in 200, even when handed the direction as a one-hot code instead
  of MiniLM's states: a fixed grid of coordinates has no easy way to say "the same thing, one
  place further right in each frame".
- Give it that way, and it learns it. A velocity is read from the caption, and each token's
  coordinates in frame t are where it would have been at the clip's middle had it moved with
  that velocity: (x − vx·t, y − vy·t), t from −½ to +½ over the clip. A shape moving as
  captioned then sits still in these coordinates. The pure-noise task learned direction within
  100 steps, and a one-shape denoiser trained for 21 minutes moved 31 of 32 held-out one-shape
  clips as captioned.

Two shapes move two ways, so there are two velocities ("slots"): each reads its own phrase of the
caption by attention over MiniLM's token states (one learned query for both, and a learned
per-position bias that starts on the first phrase's tokens for slot one and the second's for slot
two), and each
patch moves with the slots' velocities weighted by how much it looks like each phrase (a learned
match between the patch's features and the phrase's pooled state: a red patch takes the velocity
of the phrase that says red). A one-shape caption's two slots read the same phrase. (A first try
gave every patch both slots' coordinates, one set in each half of its embedding, for the network
to choose from: after 1,000 steps the one-shape velocities were right and each slot of a
two-shape caption held the average of the two directions, hedging, as it would if it could not
tell which shape a slot belonged to.)

Beside that: the caption, mean-pooled, is added to the timestep's embedding (the adaptive norm of
every block, so the whole network knows the caption, not only its cross-attention), and a small
full-resolution convolution, zero at the start, corrects the transformer's 4×4-patch output.
The text mask is used where the slots pool the caption; Latte's cross-attention reads all 16
positions, padding included, as the UNet3D did.

Weights are stored in float16 (config.json and denoiser.safetensors) and computed in float32.
Every run of this design, the stopped ones too, is in weights/RUNS.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

TEXT_WIDTH = 384  # all-MiniLM-L6-v2's hidden size
SLOTS = 2  # a caption names one or two movers
SLOT_KEY = 32  # width of the patch-to-phrase match
MAX_SPEED = 4.0  # the velocity head's output is in units of this many tokens over the clip


@dataclass(frozen=True)
class DenoiserConfig:
    frames: int = 8
    size: int = 32
    patch: int = 4
    heads: int = 4
    head_dim: int = 32
    layers: int = 4
    max_tokens: int = 16
    phrase_tokens: int = 5  # "a red circle moving right": one MiniLM token a word
    refiner_width: int = 32

    @property
    def width(self) -> int:
        return self.heads * self.head_dim


def moving_coordinates(grid: int, frames: int, velocity: torch.Tensor) -> torch.Tensor:
    """Velocities in tokens over the clip, (B, 2) one per clip or (B, frames, grid², 2) one per
    token -> (B, frames, grid², 2) coordinates: each token's place less the way its velocity would
    have taken it by its frame's time."""
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    place = torch.stack([xs, ys], dim=-1).reshape(1, 1, grid * grid, 2).float().to(velocity.device)
    time = torch.linspace(-0.5, 0.5, frames, device=velocity.device).reshape(1, frames, 1, 1)
    if velocity.dim() == 2:
        velocity = velocity.reshape(-1, 1, 1, 2)
    return place - velocity * time


def sincos(coordinates: torch.Tensor, width: int) -> torch.Tensor:
    """(..., 2) coordinates -> (..., width): x in the first half, y in the second, each as sines
    then cosines (diffusers' own 1-D embedding, the one its fixed 2-D grids are made of, here on
    computed coordinates, so that the velocity gets gradients)."""
    from diffusers.models.embeddings import get_1d_sincos_pos_embed_from_grid as embed

    flat = coordinates.reshape(-1, 2)
    halves = [embed(width // 2, flat[:, axis], dtype=torch.float32) for axis in (0, 1)]
    return torch.cat(halves, dim=-1).reshape(*coordinates.shape[:-1], width)


class VelocitySlots(nn.Module):
    """Caption token states -> per slot: the phrase's pooled state and its velocity."""

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        # One query for both slots (only the position bias tells them apart): with a query each,
        # slot one's learned to find the direction word first, its velocity grew, every patch
        # took it, and slot two was left untaught (after 1,000 steps ~0 for every caption).
        self.query = nn.Parameter(torch.randn(64) / 8)
        self.key = nn.Linear(TEXT_WIDTH, 64)
        # Where slot k looks first: phrase k's tokens. A caption is [CLS], "a red circle moving
        # right", "and", the second phrase, [SEP]: phrase k spans tokens 1 + k·(phrase + 1) onwards.
        # (A first try started the slots on the earliest and the latest tokens, and after 1,000
        # steps both sat on [CLS] and [SEP], which summarise the whole caption: each slot of a
        # two-shape caption read the average of its two directions.) A one-shape caption's second
        # phrase is padding, masked, so its slot two spreads over the one phrase there is.
        bias = torch.full((SLOTS, config.max_tokens), -4.0)
        for k in range(SLOTS):
            start = 1 + k * (config.phrase_tokens + 1)
            bias[k, start : start + config.phrase_tokens] = 0.0
        self.position_bias = nn.Parameter(bias)
        self.velocity = nn.Linear(TEXT_WIDTH, 2)
        nn.init.zeros_(self.velocity.weight)  # no motion until the caption has been read
        nn.init.zeros_(self.velocity.bias)

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        n = states.shape[1]
        logits = (self.key(states) @ self.query)[:, None, :] / 8 + self.position_bias[:, :n]
        if mask is not None:
            logits = logits.masked_fill(~mask.bool()[:, None, :], float("-inf"))
        pooled = torch.einsum("bkn,bnd->bkd", logits.softmax(-1), states)  # (B, SLOTS, 384)
        return pooled, MAX_SPEED * self.velocity(pooled)  # (B, SLOTS, 2)


class Refiner(nn.Module):
    """Per frame, from the noisy frame and the transformer's output: a correction at full
    resolution (the transformer works in 4×4 patches). Its last layer starts at zero."""

    def __init__(self, width: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(6, width, 3, padding=1), nn.SiLU(), nn.Conv2d(width, width, 3, padding=1), nn.SiLU()
        )
        self.out = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, noisy: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
        b, c, f, h, w = noisy.shape
        frames = torch.cat([noisy, predicted], dim=1).permute(0, 2, 1, 3, 4).reshape(b * f, 2 * c, h, w)
        return self.out(self.net(frames)).reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)


class VideoDenoiser(nn.Module):
    """Called as the recipe calls a UNet: (clip, t, text states, encoder_attention_mask) -> .sample,
    the clip (B, 3, frames, 32, 32) in [-1, 1]."""

    def __init__(self, config: DenoiserConfig = DenoiserConfig()):
        super().__init__()
        from diffusers import LatteTransformer3DModel

        self.config = config
        self.transformer = LatteTransformer3DModel(
            num_attention_heads=config.heads,
            attention_head_dim=config.head_dim,
            in_channels=3,
            out_channels=3,
            num_layers=config.layers,
            cross_attention_dim=config.width,
            sample_size=config.size,
            patch_size=config.patch,
            norm_type="ada_norm_single",
            caption_channels=TEXT_WIDTH,
            video_length=config.frames,
        )
        # The fixed grid embedding goes; `_embed_positions` adds the moving one in its place.
        self.transformer.pos_embed.pos_embed = None
        self.transformer.pos_embed.register_forward_hook(self._embed_positions)
        self.transformer.adaln_single.emb.register_forward_hook(self._add_caption)
        self.slots = VelocitySlots(config)
        self.token_query = nn.Linear(config.width, SLOT_KEY)  # a patch, as the slots see it
        # Zero at the start: every patch takes half of each slot, so both slots' velocities learn
        # from the first step. (Started random, one slot won every patch of every caption from the
        # start, and after 1,000 steps the other's velocity was still ~0: never used, never taught.)
        nn.init.zeros_(self.token_query.weight)
        nn.init.zeros_(self.token_query.bias)
        self.slot_key = nn.Linear(TEXT_WIDTH, SLOT_KEY)  # a phrase, as the patches see it
        self.caption_to_norm = nn.Linear(TEXT_WIDTH, config.width)
        self.refiner = Refiner(config.refiner_width)
        self._step: dict = {}  # this call's pooled caption and slots, read by the hooks

    def token_velocities(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B·frames, grid², width) projected patches -> (B, frames, grid², 2): each patch's
        velocity, the slots' velocities weighted by how much the patch looks like each phrase."""
        pooled, velocity = self._step["slots"]
        frames = self.config.frames
        keys = self.slot_key(pooled).repeat_interleave(frames, dim=0)  # (B·frames, SLOTS, key)
        share = (self.token_query(tokens) @ keys.transpose(1, 2) / SLOT_KEY**0.5).softmax(-1)
        per_token = share @ velocity.repeat_interleave(frames, dim=0)  # (B·frames, grid², 2)
        return per_token.reshape(-1, frames, *per_token.shape[1:])

    def _embed_positions(self, module, inputs, tokens: torch.Tensor) -> torch.Tensor:
        # tokens: (B·frames, grid², width), the patches projected, frame by frame.
        config = self.config
        coordinates = moving_coordinates(config.size // config.patch, config.frames, self.token_velocities(tokens))
        return tokens + sincos(coordinates, config.width).reshape(tokens.shape)

    def _add_caption(self, module, inputs, embedding: torch.Tensor) -> torch.Tensor:
        return embedding + self.caption_to_norm(self._step["mean"])

    def forward(self, sample, timestep, encoder_hidden_states, encoder_attention_mask=None):
        states = encoder_hidden_states
        if encoder_attention_mask is None:
            keep = torch.ones(states.shape[:2], dtype=states.dtype, device=states.device)
        else:
            keep = encoder_attention_mask.to(states.dtype)
        timestep = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(sample.shape[0])
        self._step = {
            "slots": self.slots(states, encoder_attention_mask),
            "mean": (states * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1),
        }
        try:
            out = self.transformer(sample, timestep, states).sample
        finally:
            self._step = {}
        return SimpleNamespace(sample=out + self.refiner(sample, out))

    @torch.no_grad()
    def velocities(self, encoder_hidden_states, encoder_attention_mask=None) -> torch.Tensor:
        """(B, SLOTS, 2): the velocities the model reads from each caption, in tokens over the clip."""
        return self.slots(encoder_hidden_states, encoder_attention_mask)[1]

    # --- saving and loading -----------------------------------------------------------------
    def save_pretrained(self, path: str | Path, **kwargs) -> None:
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        half = {k: v.detach().to(torch.float16).contiguous() for k, v in self.state_dict().items()}
        save_file(half, str(path / "denoiser.safetensors"))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> VideoDenoiser:
        from safetensors.torch import load_file

        path = Path(path)
        model = cls(DenoiserConfig(**json.loads((path / "config.json").read_text())))
        weights = {k: v.float() for k, v in load_file(str(path / "denoiser.safetensors")).items()}
        model.load_state_dict(weights)
        return model.eval()
