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
        import numpy as np
        import torch

        from w2w_generators.diffusion.capture import StripCapture, decoder

        pipe = self.pipe
        capture = StripCapture(pipe.scheduler, list(range(steps)))
        generator_ = torch.Generator("cpu").manual_seed(seed)
        state: dict = {}
        with capture:
            for state in pipe.denoising(caption, None, steps, guidance, generator_):
                capture.callback(pipe, state["i"], state["t"], {"latents": state["latents"]})
        image = np.asarray(pipe.output(state["latents"], "np").images[0])
        frames = capture.decode(decoder(pipe, shapes=True))
        strip, noisy = [f["clean"] for f in frames], [f["noisy"] for f in frames]
        return {"image": (image * 255).round().astype("uint8"), "strip": strip, "noisy": noisy}
