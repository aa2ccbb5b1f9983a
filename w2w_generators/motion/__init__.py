"""The motion world and its tracker: what a small text-to-video diffusion model learns and is scored on."""
