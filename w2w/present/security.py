"""The checks every request passes before it reaches the site or the live API.

They follow the advisories that hit other local dev servers (Vite, webpack-dev-server, Jupyter,
Gradio): a page on another site can make the browser send requests to 127.0.0.1, and DNS
rebinding can make such a page look same-origin. So:

- `HostGuard` (every request, static files too): the Host header must name this server,
  `127.0.0.1:<port>` or `localhost:<port>`; a rebound name (`evil.example:<port>`) gets 400.
- `ApiGuard` (the /api mount only): an Origin header, when the browser sends one, must be this
  server's own; the per-run token must come in `X-W2W-Token` (a header, which a cross-site page
  cannot set without a CORS preflight, and this server answers no preflight: no CORS at all).

Both are pure ASGI middleware, so they never buffer a streamed response.
"""

from __future__ import annotations

import json
import secrets

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "x-w2w-token"
LOOPBACK = "127.0.0.1"  # the presenter's listener (server.HOST)

# Sent with every response. nosniff: a JSON error is never sniffed into HTML; the frame rule lets
# reveal.js's speaker view frame the deck (same origin) and nothing else.
SAFE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


async def refuse(send: Send, status: int, message: str, extra: list | None = None) -> None:
    """A JSON error answer `{"message": ...}`, sent before the app sees the request."""
    body = json.dumps({"message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def own_hosts(port: int, extra: tuple[str, ...] = ()) -> set[str]:
    """This server's names; `extra`: the LAN address of `--audience`."""
    return {f"127.0.0.1:{port}", f"localhost:{port}", *(f"{host}:{port}" for host in extra)}


def on_loopback(scope: Scope) -> bool:
    """The request came in on the 127.0.0.1 listener (the laptop), not on the LAN one. Exactly
    127.0.0.1: any other address, 127.0.0.2 included, is a door for the room (the tests use it)."""
    server = scope.get("server") or ("",)
    return server[0] == LOOPBACK


class HostGuard:
    def __init__(self, app: ASGIApp, port: int, extra: tuple[str, ...] = ()) -> None:
        self.app, self.port, self.hosts = app, port, own_hosts(port, extra)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # no websockets here
            return await send({"type": "websocket.close", "code": 1008})
        hosts = Headers(scope=scope).getlist("host")
        if len(hosts) != 1 or hosts[0].lower() not in self.hosts:
            message = f"unexpected Host header: this server answers only http://127.0.0.1:{self.port}/"
            return await refuse(send, 400, message, SAFE_HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SAFE_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ApiGuard:
    def __init__(self, app: ASGIApp, port: int, token: str, extra: tuple[str, ...] = ()) -> None:
        self.app, self.token = app, token.encode()
        self.origins = {f"http://{host}" for host in own_hosts(port, extra)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        origins = headers.getlist("origin")
        if origins and (len(origins) > 1 or origins[0].lower() not in self.origins):
            return await refuse(send, 403, "cross-origin request refused: the live API answers only its own deck")
        if not on_loopback(scope):  # --audience: the LAN door never reaches the models' API
            return await refuse(send, 403, "the live API answers only on 127.0.0.1, on the speaker's laptop")
        given = headers.get(TOKEN_HEADER, "").encode()
        if not given:
            return await refuse(send, 403, "missing X-W2W-Token: open the deck from the URL `w2w present` printed")
        if not secrets.compare_digest(given, self.token):
            return await refuse(send, 403, "wrong X-W2W-Token: open the deck from the URL this `w2w present` printed")

        async def no_store(message: Message) -> None:
            headers = message.get("headers", [])
            if message["type"] == "http.response.start" and not any(k.lower() == b"cache-control" for k, _ in headers):
                message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
            await send(message)

        await self.app(scope, receive, no_store)
