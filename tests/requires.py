"""What a test needs from the machine (a model, a package, the live protocol), and what happens
when it is missing.

`require(condition, what, fix)`: under CI (the environment variable CI is "true": .ci/run and
GitHub Actions set it) a missing prerequisite fails the test with one line, because CI installs
everything and a missing model there is a broken checkout, not a smaller machine. Elsewhere (a
developer's machine without, say, the SmolLM2 package) the test skips with the same line.

Only for prerequisites of the install. A test that does not apply to the machine at all (the
CUDA-less check in test_hostile.py on a CUDA machine) skips as before, CI or not.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require(condition: object, what: str, fix: str) -> None:
    """Return when `condition` holds; else fail under CI=true, skip elsewhere. `what` says what is
    missing, `fix` how to get it (both one line)."""
    __tracebackhide__ = True  # a skip is reported at the test's line, not here
    if condition:
        return
    reason = f"{what} — {fix}"
    if in_ci():
        pytest.fail(f"CI=true, so a missing prerequisite fails: {reason}", pytrace=False)
    pytest.skip(reason)


def import_or_require(module: str, fix: str):
    """`pytest.importorskip`, but failing under CI=true: the imported module, or the one-line reason
    (the ImportError's own message: a missing dependency of the module shows as itself)."""
    import importlib

    __tracebackhide__ = True
    try:
        return importlib.import_module(module)
    except ImportError as error:
        require(False, f"{module} cannot be imported ({error})", fix)


def importable(module: str) -> bool:
    """The module can be found (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken __spec__
        return False
