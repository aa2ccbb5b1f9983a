"""The server's limits, answered in w2w's words: one-line JSON with a `Retry-After`, never uvicorn's
plain-text 503.

- `RequestLimit` (every request): at most MAX_REQUESTS in flight; the next gets 503 JSON. uvicorn's
  own `limit_concurrency` stays far above it (UVICORN_CONNECTIONS) so that it never answers first.
- `GuardedH11Protocol` (every connection): a client must send a whole request head within
  HEADER_TIMEOUT_S of connecting, or of its previous response, or the connection is closed
  (uvicorn's keep-alive timer starts only after a first response, so a client that connects and
  sends nothing, or a header a byte at a time, held a connection for ever). An idle keep-alive
  connection is closed after KEEP_ALIVE_S (uvicorn's timer). A malformed request head and a
  WebSocket upgrade are answered here too, in JSON and w2w's words (uvicorn's were a plain-text
  400 and, for a WebSocket, `pip install` advice in the speaker's terminal), and uvicorn's lines
  go through quiet.PROTOCOL_LOG, which drops what w2w has said its own way.
- A request body must arrive within BODY_TIMEOUT_S (app.read_json: 408 JSON).
- Live streams: one run and two waiting (jobs.py: 429 JSON); the next is refused before it streams.
"""

from __future__ import annotations

import json

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

from w2w.present.quiet import PROTOCOL_LOG

MAX_REQUESTS = 64  # in flight at once: the deck needs a few (status polls, a stream, the files)
UVICORN_CONNECTIONS = 4096  # uvicorn's own cap: only a last resort, far above MAX_REQUESTS
BACKLOG = 2048  # the listening socket's queue: a burst of connections waits, it is not reset
HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
BODY_TIMEOUT_S = 10.0
RETRY_AFTER = "2"  # seconds, in every 429 and 503


def json_answer(status: int, message: str, retry_after: str | None = None) -> tuple[list, bytes]:
    body = json.dumps({"message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", retry_after.encode()))
    return headers, body


class RequestLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_REQUESTS, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.active, self.exempt = app, limit, 0, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:  # exempt: capped where they are served
            return await self.app(scope, receive, send)
        if self.active >= self.limit:
            headers, body = json_answer(
                503,
                f"too many requests at once (over {self.limit}) — try again in a few seconds; "
                "the slides play their recordings meanwhile",
                RETRY_AFTER,
            )
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head, and w2w's answers to what never
    reaches the app (see the module's docstring)."""

    _head_deadline = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.logger = PROTOCOL_LOG  # uvicorn's "uvicorn.error", less what w2w has said (quiet.py)

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self._head_deadline is not None and self.conn.their_state is not h11.IDLE:  # a whole head arrived
            self._head_deadline.cancel()
            self._head_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's head, on a kept-alive connection

    def connection_lost(self, exc) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._too_slow)

    def _too_slow(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._answer_and_close(408, f"no complete request within {HEADER_TIMEOUT_S:g} s — connection closed")

    # uvicorn's hooks for what it answers itself:
    def send_400_response(self, msg: str) -> None:  # a request head h11 cannot read
        self._answer_and_close(400, "malformed HTTP request — connection closed")

    def _should_upgrade(self) -> bool:
        # A WebSocket upgrade goes to handle_websocket_upgrade, which refuses it; any other
        # upgrade (h2c) is ignored, as HTTP/1.1 allows, and the request is answered as it is.
        return self._get_upgrade() == b"websocket"

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._answer_and_close(
            400, "no WebSocket here: this server speaks plain HTTP (its live updates are server-sent events)"
        )

    def _answer_and_close(self, status: int, message: str) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        headers, body = json_answer(status, message)
        head = b"HTTP/1.1 %d %s\r\nconnection: close\r\n" % (status, STATUS_PHRASES[status])
        head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(head + b"\r\n" + body)
        self.transport.close()
