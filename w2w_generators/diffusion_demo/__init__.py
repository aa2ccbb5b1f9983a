"""The text-to-image demo: the generator (shapes model or Stable Diffusion), its live half and its figures."""
