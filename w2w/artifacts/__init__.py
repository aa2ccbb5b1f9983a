"""Stage 2, the model outputs: which generators run with which inputs (plan.py), whether each is
fresh in the cache or frozen/ or must run (produce.py, cache.py, frozen.py), and why (status.py)."""
