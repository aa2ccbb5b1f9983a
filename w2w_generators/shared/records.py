"""What a training or measuring record says about the machine that made it: the same four facts in
every record (the planner's training.json, the loop's agreement.json), so that two records are
compared on like terms."""

from __future__ import annotations

import os
import platform


def machine(threads: bool = False) -> dict:
    """`threads`: also torch's thread count now (a record whose config does not already say it)."""
    import torch

    facts = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
    }
    return {**facts, "torch_threads": torch.get_num_threads()} if threads else facts
