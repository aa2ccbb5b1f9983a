"""The token-by-token LLM trace: the generator, its live steps and the tree of choices."""
