"""One line describing the machine, printed by every benchmark."""

from __future__ import annotations

import os
import platform
from importlib import metadata


def describe() -> str:
    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "absent"
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, torch {torch}, {platform.system()}"
