"""What a paired remote's token opens: one table, checked before any route sees the request.

`REMOTE_ROUTES` lists every route (method, path) the remote token may use; a request that carries
a paired device's token in `X-W2W-Token` to any other route (the live API, the room's presenter
routes, the speaker's pairing page) is refused here with 403, on every door. A route in the table
learns which device called from `scope[REMOTE_KEY]`; it must still accept that role itself
(`remote_device`), so adding a line here never opens a route that does not expect a phone.
Opening a new route to the remote (the pointer, say) is one line in the table, and one call of
`remote_device` in its handler.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from w2w.present.remote.pairing import Device, Pairing
from w2w.present.security import SAFE_HEADERS, TOKEN_HEADER, refuse

REMOTE_KEY = "w2w.remote"  # the scope key that carries the calling device

# (method, path) -> why the remote needs it
REMOTE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/remote/api/follow"): "the deck's slide, notes and timer, as a stream",
    ("POST", "/remote/api/command"): "previous, next, fragment, and the live slide's run",
    ("POST", "/room/api/pointer"): "the laser dot on the slide, as the room sees it (with --audience)",
}


class RemoteScope:
    """Pure ASGI middleware: a request with a paired remote's token reaches only REMOTE_ROUTES."""

    def __init__(self, app: ASGIApp, pairing: Pairing) -> None:
        self.app, self.pairing = app, pairing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = Headers(scope=scope).get(TOKEN_HEADER, "")
        device = self.pairing.device(given) if given and self.pairing.devices else None
        if device is None:
            return await self.app(scope, receive, send)
        if (scope["method"], scope["path"]) not in REMOTE_ROUTES:
            message = "the remote's token cannot do that: it follows and drives the slides only"
            return await refuse(send, 403, message, SAFE_HEADERS)
        await self.app({**scope, REMOTE_KEY: device}, receive, send)


def remote_device(request: Request) -> Device | None:
    """The paired device that sent this request through RemoteScope, or None."""
    return request.scope.get(REMOTE_KEY)
