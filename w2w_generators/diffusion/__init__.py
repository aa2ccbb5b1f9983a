"""The denoising loop's shared machinery: the scheduler table, the per-step capture of x0, and the seed
x guidance x steps sweeps.
"""
