"""`asyncio.run` for tests that drive the server's own coroutines: on a thread of its own, because
on an xdist worker where a browser test has run, the session's Chromium (Playwright's sync API)
keeps an event loop running on the main thread, and asyncio.run there refuses ("cannot be called
from a running event loop")."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run_apart(coroutine):
    """The coroutine's result, run to completion on a new event loop in another thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
