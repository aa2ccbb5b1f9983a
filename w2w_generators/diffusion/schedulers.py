"""The schedulers a diffusion run may ask for by name (talk.yaml's `scheduler:`, a live request's),
one table read by the build, the live half and the sweeps alike."""

from __future__ import annotations

SCHEDULER_NAMES = ("ddim", "ddpm", "euler")


def scheduler_class(name: str):
    """The diffusers scheduler class for `name` (one of SCHEDULER_NAMES); diffusers is imported here."""
    from diffusers import DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler

    return {"ddim": DDIMScheduler, "ddpm": DDPMScheduler, "euler": EulerDiscreteScheduler}[name]
