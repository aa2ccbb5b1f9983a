"""The shapes world (captions and the truth about each picture) and the diffusion model the project
trains on it: pipeline, training recipe, `w2w train-shapes`, shipped weights.
"""
