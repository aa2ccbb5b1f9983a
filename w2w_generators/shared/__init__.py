"""Pieces every generator may use: model resolution, the MiniLM text encoder, figures drawn with the
theme's inks, and causal-LM loading.
"""
