"""One broadcaster for the room: every phone's SSE stream and every presenter page's stream reads
from it; nothing polls the models or the room state.

An event is encoded once (`encode`) and the same bytes are put on each subscriber's queue, so a
slide change costs 500 queue puts, not 500 JSON encodings. A subscriber whose queue is full (a phone
that stopped reading) is dropped; its stream ends and the phone reconnects with a fresh state.
A channel caps its streams in all and from one address (`per_address`: a phone is one stream; a
venue NAT puts many phones behind one address, so the cap is a share, not one).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter

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

    def __init__(self, name: str, cap: int, per_address: int | None = None) -> None:
        self.name, self.cap, self.per_address = name, cap, per_address or cap
        self.queues: dict[asyncio.Queue, str] = {}  # each stream's queue -> its client's address
        self.addresses: Counter[str] = Counter()  # streams open, by address
        self.dropped = 0

    def subscribe(self, first: bytes, address: str = "") -> asyncio.Queue:
        if len(self.queues) >= self.cap:
            raise Full(f"too many {self.name} streams (over {self.cap}) — try again in a few seconds")
        if self.addresses[address] >= self.per_address:
            raise Full(f"too many {self.name} streams from one address (over {self.per_address}) — try again later")
        queue: asyncio.Queue = asyncio.Queue(QUEUE_MAX)
        queue.put_nowait(first)
        self.queues[queue] = address
        self.addresses[address] += 1
        return queue

    def streams_from(self, address: str) -> int:
        return self.addresses[address]

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        address = self.queues.pop(queue, None)
        if address is not None:
            self.addresses[address] -= 1
            if not self.addresses[address]:
                del self.addresses[address]

    def publish(self, kind: str, data: object) -> None:
        message = encode(kind, data)
        for queue in list(self.queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self.unsubscribe(queue)
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
