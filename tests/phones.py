"""Phones for the room's tests and its benchmark: asyncio HTTP/1.1 clients, each connection bound to
a loopback source address (127.0.x.y) that stands for one phone on the venue's network, so a
server's per-address limits see as many phones as there are addresses. Plain sockets, so that a
test can hold a request half-sent; hundreds of them in one event loop cost no threads.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from live_server import Reply


def phone_address(i: int, block: int = 10) -> str:
    """The i-th phone's source address: 127.<block + i // 250>.<1 + i % 250>.0 is never used, nor
    127.0.0.1 and 127.0.0.2 (the server's two doors)."""
    return f"127.{block + i // 250}.{1 + i % 250}.1"


def head(method: str, path: str, host: str, headers: dict | None = None, length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    """One whole answer (Content-Length or chunked) from `reader`."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection without an answer")
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = bytearray()
        while size := int((await reader.readline()).strip() or b"0", 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()
    return Reply(int(status_line.split()[1]), headers, bytes(body))


async def fetch(
    source: str, to: str, port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None
) -> Reply:
    """One request on a connection of its own from `source`, its whole answer read, then closed."""
    reader, writer = await asyncio.open_connection(to, port, local_addr=(source, 0))
    try:
        writer.write(head(method, path, f"{to}:{port}", {**(headers or {}), "Connection": "close"},
                          None if body is None else len(body)) + (body or b""))  # fmt: skip
        return await read_reply(reader)
    finally:
        writer.close()


class KeptAlive:
    """One kept-alive connection from `source`, for request after request (a voting phone)."""

    def __init__(self, source: str, to: str, port: int) -> None:
        self.source, self.to, self.port = source, to, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict, body: bytes | None = None) -> Reply:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.to, self.port, local_addr=(self.source, 0))
        length = None if body is None else len(body)
        self.writer.write(head(method, path, f"{self.to}:{self.port}", headers, length) + (body or b""))
        reply = await read_reply(self.reader)
        if reply.headers.get("connection", "").lower() == "close":
            self.close()
        return reply

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@dataclass
class Stream:
    """One phone's room stream (GET /room/api/stream): the answer's status, then its events, and
    every byte read after the head (what the phone's Wi-Fi carried)."""

    source: str
    status: int = 0
    body: bytes = b""  # a refusal's JSON
    received: int = 0
    events: list[tuple[str, object]] = field(default_factory=list)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    _buffer: bytes = b""

    async def open(self, to: str, port: int, token: str) -> Stream:
        self.reader, self.writer = await asyncio.open_connection(to, port, local_addr=(self.source, 0))
        self.writer.write(head("GET", "/room/api/stream", f"{to}:{port}", {"X-W2W-Token": token}))
        status_line = await self.reader.readline()
        self.status = int(status_line.split()[1])
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if self.status != 200:
            self.body = await self.reader.readexactly(int(headers["content-length"]))
            self.close()
        return self

    async def next_event(self) -> tuple[str, object]:
        """The next event, keep-alive comments skipped (the answer is chunked: taken apart here)."""
        while True:
            while b"\r\n\r\n" not in self._buffer:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    raise ConnectionError("the stream ended")
                chunk = await self.reader.readexactly(size + 2)
                self.received += size
                self._buffer += chunk[:-2]
            block, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            lines = [line for line in block.decode().split("\r\n") if line and not line.startswith(":")]
            if not lines:
                continue
            kind = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
            data = "\n".join(line[5:].removeprefix(" ") for line in lines if line.startswith("data:"))
            event = (kind, json.loads(data))
            self.events.append(event)
            return event

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
