"""The server's limits, answered in w2w's words: one-line JSON with a `Retry-After`, never uvicorn's
plain-text 503.

- `RequestLimit` (every request but the phones' streams): two budgets that nothing shares. The
  stage's (the 127.0.0.1 listener: the deck, the moderation page, the presenter's API): at most
  MAX_REQUESTS in flight, the next gets 503 at once. The door's (any other listener, with
  `--audience`): at most DOOR_REQUESTS in flight, of which one address holds at most
  ADDRESS_REQUESTS; a request beyond that waits for a place (at most WAIT_S, then 503), the
  waiting served address by address in turn, so an address that sends many waits behind its own
  requests, not in front of everyone else's. At most DOOR_WAITING wait, ADDRESS_WAITING of them
  from one address; the next gets 503 at once. `Budgets` holds the counts (/api/live/status shows
  them).
- `GuardedH11Protocol` (every connection): a client must send a whole request head within
  HEADER_TIMEOUT_S of connecting, or of its previous response, or the connection is closed
  (uvicorn's keep-alive timer starts only after a first response, so a client that connects and
  sends nothing, or a header a byte at a time, held a connection for ever). An idle keep-alive
  connection is closed after KEEP_ALIVE_S (uvicorn's timer). The door's connections are counted
  apart (`DoorConnections`: DOOR_CONNECTIONS, ADDRESS_CONNECTIONS from one address; the next is
  answered 503 and closed) so that uvicorn's own cap (UVICORN_CONNECTIONS, which counts every
  connection) always leaves the laptop room. A malformed request head and a WebSocket upgrade are
  answered here too, in JSON and w2w's words (uvicorn's were a plain-text 400 and, for a
  WebSocket, `pip install` advice in the speaker's terminal), and uvicorn's lines go through
  quiet.PROTOCOL_LOG, which drops what w2w has said its own way.
- A request body must arrive within BODY_TIMEOUT_S (app.read_json: 408 JSON).
- Live streams: one run and two waiting (jobs.py: 429 JSON); the next is refused before it streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections import Counter, OrderedDict, deque

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from w2w.present.quiet import PROTOCOL_LOG
from w2w.present.security import LOOPBACK, on_loopback

log = logging.getLogger("w2w.present")

MAX_REQUESTS = 64  # the stage's, in flight at once: the deck needs a few (status polls, a stream, the files)
DOOR_REQUESTS = 64  # the door's, in flight at once (a phone's page: about a dozen small files)
ADDRESS_REQUESTS = 8  # one address's share of the door's (a browser opens 6 connections to a server)
DOOR_WAITING = 2048  # door requests waiting for a place, in all
ADDRESS_WAITING = 512  # ... from one address: a quarter, for a venue NAT, leaving room for everyone else
WAIT_S = 20.0  # a door request waits at most this long for its place (over BODY_TIMEOUT_S: a held upload ends first)
DOOR_CONNECTIONS = 3072  # the door's open connections: 1000 phone streams and their pages' files
ADDRESS_CONNECTIONS = 768  # ... from one address: a quarter
UVICORN_CONNECTIONS = 8192  # uvicorn's own cap, over every listener: far above the door's
FILES_RESERVED = 512  # file descriptors kept for the laptop, the model process and the site's files
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


class Busy(Exception):
    """A door request refused: the text is the 503's message."""


class Budgets:
    """The two budgets of requests in flight and the door's waiting line (see the module's docstring)."""

    def __init__(
        self,
        stage: int = MAX_REQUESTS,
        door: int = DOOR_REQUESTS,
        per_address: int = ADDRESS_REQUESTS,
        waiting: int = DOOR_WAITING,
        address_waiting: int = ADDRESS_WAITING,
        wait_s: float = WAIT_S,
    ) -> None:
        self.stage, self.door, self.per_address = stage, door, per_address
        self.waiting_max, self.address_waiting, self.wait_s = waiting, address_waiting, wait_s
        self.stage_active = self.door_active = self.waiting = 0
        self.active: Counter[str] = Counter()  # door requests in flight, by address
        self.lines: OrderedDict[str, deque[asyncio.Future]] = OrderedDict()  # waiting, by address, in turn
        self.refused = Counter({"stage": 0, "door": 0})

    def counts(self) -> dict:
        return {
            "stage": self.stage_active,
            "door": self.door_active,
            "waiting": self.waiting,
            "addresses": len(self.active),
            "refused": dict(self.refused),
        }

    def _free(self, address: str) -> bool:
        return self.door_active < self.door and self.active[address] < self.per_address

    def _take(self, address: str) -> None:
        self.door_active += 1
        self.active[address] += 1

    async def enter(self, address: str) -> None:
        """A place in the door's budget for a request from `address`, at once or in turn; else Busy."""
        line = self.lines.get(address)
        if not line and self._free(address):
            return self._take(address)
        if self.waiting >= self.waiting_max:
            raise Busy(f"the audience door is busy ({self.waiting} requests waiting) — try again in a few seconds")
        if line and len(line) >= self.address_waiting:
            raise Busy(f"too many requests from one address at once (over {self.address_waiting}) — try again later")
        turn = asyncio.get_running_loop().create_future()
        self.lines.setdefault(address, deque()).append(turn)
        self.waiting += 1
        timer = asyncio.get_running_loop().call_later(self.wait_s, self._expire, address, turn)
        try:
            granted = await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.result():
                self.leave(address)  # given a place just as the request was cancelled
            else:
                self._forget(address, turn)
            raise
        finally:
            timer.cancel()
        if not granted:
            raise Busy(f"the audience door stayed busy for {self.wait_s:g} s — try again in a few seconds")

    def leave(self, address: str) -> None:
        self.door_active -= 1
        self.active[address] -= 1
        if not self.active[address]:
            del self.active[address]
        self._next()

    def _next(self) -> None:
        """Hand free places to waiting requests, one address after another."""
        given = True
        while given and self.lines:
            given = False
            for address in list(self.lines):
                if self.door_active >= self.door:
                    return
                if self.active[address] < self.per_address:
                    line = self.lines.pop(address)
                    self.waiting -= 1
                    self._take(address)
                    line.popleft().set_result(True)
                    if line:
                        self.lines[address] = line  # to the end of the turn
                    given = True

    def _expire(self, address: str, turn: asyncio.Future) -> None:
        if not turn.done():
            self._forget(address, turn)
            turn.set_result(False)

    def _forget(self, address: str, turn: asyncio.Future) -> None:
        line = self.lines.get(address)
        if line is not None and turn in line:
            line.remove(turn)
            self.waiting -= 1
            if not line:
                del self.lines[address]


class RequestLimit:
    def __init__(self, app: ASGIApp, budgets: Budgets | None = None, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.budgets, self.exempt = app, budgets or Budgets(), exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:  # exempt: capped where they are served
            return await self.app(scope, receive, send)
        budgets = self.budgets
        if on_loopback(scope):  # the stage: the laptop's own budget, which the door never touches
            if budgets.stage_active >= budgets.stage:
                budgets.refused["stage"] += 1
                message = (
                    f"too many requests at once (over {budgets.stage}) — try again in a few seconds; "
                    "the slides play their recordings meanwhile"
                )
                return await _refuse(send, message)
            budgets.stage_active += 1
            try:
                return await self.app(scope, receive, send)
            finally:
                budgets.stage_active -= 1
        address = (scope.get("client") or ("unknown",))[0]
        try:
            await budgets.enter(address)
        except Busy as exc:
            budgets.refused["door"] += 1
            return await _refuse(send, str(exc))
        try:
            await self.app(scope, receive, send)
        finally:
            budgets.leave(address)


async def _refuse(send: Send, message: str) -> None:
    headers, body = json_answer(503, message, RETRY_AFTER)
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class DoorConnections:
    """The door's open connections, by address (the protocol counts them; see the module's docstring)."""

    def __init__(self, cap: int = DOOR_CONNECTIONS, per_address: int = ADDRESS_CONNECTIONS) -> None:
        self.cap, self.per_address = cap, per_address
        self.open: Counter[str] = Counter()
        self.total = 0

    def enter(self, address: str) -> str | None:
        """None, counted; or why the connection is refused."""
        if self.total >= self.cap:
            return f"the audience door has {self.cap} connections open — try again in a few seconds"
        if self.open[address] >= self.per_address:
            return f"too many connections from one address (over {self.per_address}) — try again later"
        self.open[address] += 1
        self.total += 1
        return None

    def leave(self, address: str) -> None:
        self.total -= 1
        self.open[address] -= 1
        if not self.open[address]:
            del self.open[address]


def door_connections() -> DoorConnections:
    """The door's caps for this process: its soft limit of open files raised as far as the hard one
    allows (a phone's stream is one), and the door's share cut to what is left after FILES_RESERVED."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = UVICORN_CONNECTIONS + FILES_RESERVED
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        except (ValueError, OSError):
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    cap = DOOR_CONNECTIONS if soft == resource.RLIM_INFINITY else min(DOOR_CONNECTIONS, soft - FILES_RESERVED)
    if cap < DOOR_CONNECTIONS:
        log.warning("the audience door: %d connections at most (this process may open %d files)", max(cap, 0), soft)
    return DoorConnections(max(cap, 0), min(ADDRESS_CONNECTIONS, max(cap, 0)))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head, the door's connections counted,
    and w2w's answers to what never reaches the app (see the module's docstring)."""

    _head_deadline = None
    door: DoorConnections | None = None  # set per server (server._serve): the door's connections
    _door_address: str | None = None  # this connection's, when it is counted there

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.logger = PROTOCOL_LOG  # uvicorn's "uvicorn.error", less what w2w has said (quiet.py)

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.door is not None and self.server and self.server[0] != LOOPBACK:
            address = self.client[0] if self.client else "unknown"
            why = self.door.enter(address)
            if why:
                return self._answer_and_close(503, b"Service Unavailable", why, RETRY_AFTER)
            self._door_address = address
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
        if self._door_address is not None and self.door is not None:
            self.door.leave(self._door_address)
            self._door_address = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._too_slow)

    def _too_slow(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            message = f"no complete request within {HEADER_TIMEOUT_S:g} s — connection closed"
            self._answer_and_close(408, b"Request Timeout", message)

    # uvicorn's hooks for what it answers itself:
    def send_400_response(self, msg: str) -> None:  # a request head h11 cannot read
        self._answer_and_close(400, b"Bad Request", "malformed HTTP request — connection closed")

    def _should_upgrade(self) -> bool:
        # A WebSocket upgrade goes to handle_websocket_upgrade, which refuses it; any other
        # upgrade (h2c) is ignored, as HTTP/1.1 allows, and the request is answered as it is.
        return self._get_upgrade() == b"websocket"

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        message = "no WebSocket here: this server speaks plain HTTP (its live updates are server-sent events)"
        self._answer_and_close(400, b"Bad Request", message)

    def _answer_and_close(self, status: int, reason: bytes, message: str, retry_after: str | None = None) -> None:
        """A JSON answer written before any request was read, then the connection closed."""
        headers, body = json_answer(status, message, retry_after)
        head = b"HTTP/1.1 %d %s\r\nconnection: close\r\n" % (status, reason)
        head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(head + b"\r\n" + body)
        self.transport.close()
