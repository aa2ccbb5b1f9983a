"""The shapes-world diffusion model as one call: caption, seed, guidance, steps -> the picture and
every step's x̂0, the model's guess of the finished picture (the strip). What the loop renders with
and what the pair of pictures (noise -> pixels beside pixels -> words) is drawn by; the x̂0 capture
is diffusion/capture.py's, the pipeline shapes/pipeline.py's."""

from __future__ import annotations

from typing import Any


class Renderer:
    """The shapes-world diffusion model (DDIM, classifier-free guidance): caption -> 32 px picture,
    with x̂0 (the model's guess of the finished picture) kept at every step for the strip."""

    model_id = "w2w/shapes-diffusion"

    def __init__(self, pipe: Any):
        self.pipe = pipe
        pipe.set_progress_bar_config(disable=True)

    @classmethod
    def load(cls, local_dirs: dict | None = None, device: str = "cpu") -> Renderer:
        from w2w_generators.shapes.pipeline import ShapesDiffusionPipeline
        from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
        from w2w_generators.shared.model_resolution import SHAPES_WEIGHTS

        encoder = resolve_minilm(MINILM_ID, local_dirs or {}, purpose="the shapes model's captions")
        return cls(ShapesDiffusionPipeline.from_dirs(SHAPES_WEIGHTS, encoder.path, device))

    def __call__(self, caption: str, seed: int, guidance: float, steps: int) -> dict:
        """{"image": uint8 32x32x3, "strip": [x̂0 per step], "noisy": [x_t per step]} (uint8 32x32x3
        each: the model's guess of the finished picture, and the sample itself); the image is what
        the describer's training pictures were (the pipeline's [0, 1] output, x255, rounded)."""
        frames = self.stream(caption, seed, guidance, steps)
        while True:
            try:
                next(frames)
            except StopIteration as finished:
                return finished.value

    def stream(self, caption: str, seed: int, guidance: float, steps: int):
        """The same call, one (step, x̂0 uint8 32x32x3) per denoising step, on the caller's own
        thread; returns what __call__ does. x̂0 of each step is decoded once, here, and kept."""
        import numpy as np
        import torch

        from w2w_generators.diffusion.capture import StripCapture, decoder

        pipe = self.pipe
        decode = decoder(pipe, shapes=True)
        capture = StripCapture(pipe.scheduler, [])
        generator_ = torch.Generator("cpu").manual_seed(seed)
        state: dict = {}
        strip, noisy = [], []
        with capture:
            for state in pipe.denoising(caption, None, steps, guidance, generator_):
                x_t, x0 = decode(torch.cat([capture.last["x_t"][:1], capture.last["x0"][:1]]))
                noisy.append(x_t)
                strip.append(x0)
                yield state["i"] + 1, x0
        image = np.asarray(pipe.output(state["latents"], "np").images[0])
        return {"image": (image * 255).round().astype("uint8"), "strip": strip, "noisy": noisy}
