"""Capturing a diffusion pipeline's own steps: x_t and its prediction of the clean image x̂0.

One pipeline call, unmodified: `StripCapture` wraps `scheduler.step` for the duration of the call
and keeps, at chosen steps, the sample x_t the step received and the x̂0 the scheduler computed
(`pred_original_sample`; inverted from the model output for schedulers that do not report it).
`forward_process` applies the closed-form forward process x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε to an image.
torch is imported inside the functions: importing this module stays light.
"""

from __future__ import annotations

import functools
import math

FORWARD_TIMESTEPS = (0, 100, 250, 500, 750, 999)  # of 1000 training timesteps


def capture_steps(steps: int, frames: int) -> list[int]:
    """0-based indices of `frames` evenly spaced steps out of `steps`, first and last included."""
    frames = max(2, min(frames, steps))
    return sorted({round(i * (steps - 1) / (frames - 1)) for i in range(frames)})


def forward_timesteps(num_train_timesteps: int) -> list[int]:
    return sorted({min(num_train_timesteps - 1, round(t * num_train_timesteps / 1000)) for t in FORWARD_TIMESTEPS})


class StripCapture:
    """The record of one pipeline call: x_t and x̂0 at chosen steps, the last step's, the result.

    While active (`with capture:`), `scheduler.step` is wrapped: the wrapper sees the step's input x_t
    and its output's `pred_original_sample` (x̂0); `last` is the latest step's. The pipeline's
    `callback_on_step_end` (`callback`) keeps the pair when the step is one of `steps`. Tensors stay
    on the device until `decode`. Whoever runs the call records its outcome here too (`image`, the
    final PIL image, and `seconds`), so a caller that consumes the call as a stream of events gets
    the picture without decoding it back from an event.
    """

    def __init__(self, scheduler, steps: list[int]):
        self.scheduler = scheduler
        self.steps = set(steps)
        self.captured: list[dict] = []
        self.final_latents = None
        self._last: dict | None = None
        self.image = None  # the call's final PIL image, once it has one
        self.seconds: float | None = None  # the call's wall time
        self._alphas = None  # ᾱ of the scheduler's training steps, as numpy: read once per call, not per step

    def __enter__(self) -> StripCapture:
        original = self.scheduler.step
        self._alphas = None

        @functools.wraps(original)  # keeps the signature: pipelines inspect it for `eta` and `generator`
        def step(model_output, timestep, sample, *args, **kwargs):
            return self._step(original, model_output, timestep, sample, *args, **kwargs)

        self.scheduler.step = step  # instance attribute shadows the method for this call only
        return self

    def __exit__(self, *exc) -> None:
        del self.scheduler.step

    def _step(self, original, model_output, timestep, sample, *args, return_dict: bool = True, **kwargs):
        if self._alphas is None and getattr(self.scheduler, "alphas_cumprod", None) is not None:
            self._alphas = self.scheduler.alphas_cumprod.float().cpu().numpy()
        alpha_bar, to_variance_preserving = _noise_level(
            self.scheduler, timestep, self._alphas
        )  # before: Euler's index moves
        out = original(model_output, timestep, sample, *args, return_dict=True, **kwargs)
        x_t = sample * to_variance_preserving
        x0 = getattr(out, "pred_original_sample", None)
        if x0 is None:  # a scheduler that does not report x̂0: invert the forward process ourselves
            x0 = _predicted_clean(self.scheduler.config.prediction_type, x_t, model_output, alpha_bar)
        self._last = {"timestep": timestep, "alpha_bar": alpha_bar, "x_t": x_t.detach(), "x0": x0.detach()}
        return out if return_dict else out.to_tuple()

    @property
    def last(self) -> dict | None:
        """The latest step's {"timestep", "alpha_bar", "x_t", "x0"}, or None before the first step."""
        return self._last

    def callback(self, pipe, i: int, t, kwargs: dict) -> dict:
        if i in self.steps and self._last is not None:
            self.captured.append({"step": i + 1, **self._last})
        self.final_latents = kwargs["latents"].detach()  # after the last step: what the final image decodes from
        return {}

    def decode(self, decode) -> list[dict]:
        """Decode all captured x_t and x̂0 in one batch; returns frames with uint8 HxWx3 images."""
        import torch

        if not self.captured:
            return []
        n = len(self.captured)
        latents = torch.cat([c["x_t"] for c in self.captured] + [c["x0"] for c in self.captured])
        images = decode(latents)
        return [
            {
                "step": c["step"],
                "timestep": int(round(float(c["timestep"]))),
                "alpha_bar": float(c["alpha_bar"]),
                "noisy": images[k],
                "clean": images[n + k],
            }
            for k, c in enumerate(self.captured)
        ]


def _noise_level(scheduler, timestep, alphas=None) -> tuple[float, float]:
    """(ᾱ_t of the current step, factor that brings the scheduler's sample to x_t = √ᾱ x0 + √(1−ᾱ) ε).
    `alphas`: the scheduler's `alphas_cumprod` as numpy, when the caller has it already."""
    import numpy as np

    sigmas, index = getattr(scheduler, "sigmas", None), getattr(scheduler, "step_index", None)
    if sigmas is not None and index is not None:  # sigma-parametrised (Euler): sample = x0 + σ ε
        sigma = float(sigmas[index])
        return 1.0 / (1.0 + sigma**2), 1.0 / math.sqrt(1.0 + sigma**2)
    if alphas is None:
        alphas = scheduler.alphas_cumprod.float().cpu().numpy()
    return float(np.interp(float(timestep), np.arange(len(alphas)), alphas)), 1.0


def _predicted_clean(prediction_type: str, x_t, model_output, alpha_bar: float):
    """x̂0 from the model output, for schedulers without `pred_original_sample`."""
    a, s = math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar)
    if prediction_type == "epsilon":
        return (x_t - s * model_output) / a
    if prediction_type == "v_prediction":
        return a * x_t - s * model_output
    return model_output


def decoder(pipe, shapes: bool):
    """latents (N, C, h, w) -> list of uint8 HxWx3 arrays, the way the pipeline itself decodes."""
    import torch

    def to_uint8(images):  # (N, 3, H, W) in [0, 1]
        array = images.permute(0, 2, 3, 1).float().nan_to_num(0.5).cpu().numpy()  # fp16 VAE overflow: grey
        return list((array * 255).round().astype("uint8"))

    if shapes:
        return lambda latents: to_uint8(pipe.vae_decode(latents))

    vae = pipe.vae

    @torch.no_grad()
    def decode(latents, chunk: int = 4):  # chunks only bound memory (16 frames x 2 at 512x512)
        latents = latents.to(vae.device, vae.dtype) / vae.config.scaling_factor
        shift = getattr(vae.config, "shift_factor", None)
        if shift:
            latents = latents + shift
        images = []
        for part in latents.split(chunk):
            images += to_uint8((vae.decode(part, return_dict=False)[0] / 2 + 0.5).clamp(0, 1))
        return images

    return decode


def image_to_pixels(image):
    """PIL image -> (1, 3, H, W) in [-1, 1]: the shapes model's pixel space."""
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


def forward_process(alphas_cumprod, x0, seed: int, decode) -> list[dict]:
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε at FORWARD_TIMESTEPS, one fixed noise sample ε (seeded on the CPU)."""
    import torch

    x0 = x0.float().cpu()
    noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(seed))
    rows, noisy = [], []
    for t in forward_timesteps(len(alphas_cumprod)):
        alpha_bar = float(alphas_cumprod[t])
        signal, noise_level = math.sqrt(alpha_bar), math.sqrt(1.0 - alpha_bar)
        noisy.append(signal * x0 + noise_level * noise)
        rows.append({"timestep": t, "alpha_bar": alpha_bar, "signal": signal, "noise": noise_level})
    for row, image in zip(rows, decode(torch.cat(noisy)), strict=False):
        row["image"] = image
    return rows
