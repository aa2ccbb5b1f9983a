"""The sound world and its checker: what a small text-to-audio diffusion model learns and is scored on."""
