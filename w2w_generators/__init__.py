"""The talk's built-in live-output generators, one folder each, found by w2w through the entry
points that pyproject.toml declares (as a third-party package's would be). Each folder imports the
engine only through `w2w.plugin_api`, and besides itself only the shared folders: `shared/`
(model resolution, the MiniLM encoder, figures, LM loading), `shapes/` (the shapes world and its
diffusion model) and `diffusion/` (the denoising loop's schedulers, capture and sweeps).
Importing this package imports no ML library."""
