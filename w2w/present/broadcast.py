"""One broadcaster for the room: every phone's SSE stream and every presenter page's stream reads
from it; nothing polls the models or the room state.

An event is encoded once (`encode`) and the same bytes are put on each subscriber's queue, so a
slide change costs 500 queue puts, not 500 JSON encodings. A subscriber whose queue is full (a phone
that stopped reading) is dropped; its stream ends and the phone reconnects with a fresh state.
"""

from __future__ import annotations

import asyncio
import json
import logging

log = logging.getLogger("w2w.present")

QUEUE_MAX = 64  # events waiting for one slow phone before it is dropped (a slide change is ~300 bytes)


def encode(kind: str, data: object) -> bytes:
    """One SSE event as bytes: sse-starlette passes bytes through as they are."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {kind}\r\ndata: {payload}\r\n\r\n".encode()


class Full(Exception):
    """Raised by `subscribe` when the channel has its cap of streams; the text is the 503 message."""


class Channel:
    """The subscribers of one audience (phones, or the presenter's pages) and their queues."""

    def __init__(self, name: str, cap: int) -> None:
        self.name, self.cap = name, cap
        self.queues: set[asyncio.Queue] = set()
        self.dropped = 0

    def subscribe(self, first: bytes) -> asyncio.Queue:
        if len(self.queues) >= self.cap:
            raise Full(f"too many {self.name} streams (over {self.cap}) — try again in a few seconds")
        queue: asyncio.Queue = asyncio.Queue(QUEUE_MAX)
        queue.put_nowait(first)
        self.queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.queues.discard(queue)

    def publish(self, kind: str, data: object) -> None:
        message = encode(kind, data)
        for queue in list(self.queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self.queues.discard(queue)
                self.dropped += 1
                # Not a warning: its stream's send deadline (room/door.py) says it once, in
                # the terminal's one summarised line per kind (quiet.py), when the phone is stuck.
                log.debug("room: a %s stream stopped reading; dropped it", self.name)
                _close(queue)

    async def stream(self, queue: asyncio.Queue):
        """The bytes of one stream until it is dropped or the client goes away."""
        try:
            while True:
                message = await queue.get()
                if message is None:
                    return
                yield message
        finally:
            self.unsubscribe(queue)


def _close(queue: asyncio.Queue) -> None:
    """Make room for the end marker in a full queue (its client is too far behind to catch up)."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)
