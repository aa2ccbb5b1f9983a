"""The `w2w present` web app: the built site, and the live API beside it, on one Starlette app.

    GET  /...                   the built site/ (the deck is /slides/index.html)
    GET  /api/live/status       readiness of each live generator, the deck's timeout, job counters
    GET  /api/live/watch        the same as text/event-stream: now, then at each change of the model
                                process (the deck's badge learns of a death or a hang at once)
    POST /api/live/{generator}  a JSON body checked by that generator's LiveRequest ->
                                text/event-stream, one event per step (docs/live-protocol.md)

Every error is JSON `{"message": "one line"}`; nothing a user sends is ever put into HTML.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from pydantic import BaseModel, ValidationError
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from w2w.present.http import Refused, SiteFiles, http_error, read_json, server_error, validation_message
from w2w.present.jobs import Busy, Jobs, Ticket, stream
from w2w.present.limits import RETRY_AFTER, Budgets, RequestLimit
from w2w.present.security import ApiGuard, HostGuard
from w2w.present.supervisor import ModelProcess

if TYPE_CHECKING:
    from w2w.present.remote.routes import Remote
    from w2w.present.room.door import Door
    from w2w.present.room.state import Item, Room

STREAM_PATHS = ("/room/api/stream", "/remote/api/follow")

# No keep-alive pings: on loopback no proxy drops an idle stream, and the deck falls back to the
# recording after `live.timeout_s` without data; a ping would keep a stuck run looking alive.
PING_SECONDS = 0


@dataclass
class LiveApi:
    """The presenter's live routes (127.0.0.1, token): the status of each live generator, and runs
    checked by that generator's LiveRequest before anything reaches the model process. With
    --audience, `room` hands a run's result to the phones when it is one the room suggested."""

    process: ModelProcess
    requests: dict[str, type[BaseModel]]  # each live generator's LiveRequest
    jobs: Jobs
    timeout_s: float  # the deck's wait for an event before it plays the recording
    room: Room | None = None
    budgets: Budgets | None = None  # the requests in flight (limits.py), set by create_app

    def _status(self) -> dict:
        status = {**self.process.status(), "timeout_s": self.timeout_s, "jobs": self.jobs.counts()}
        if self.budgets is not None:
            status["requests"] = self.budgets.counts()
        return status

    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse(self._status())

    async def watch(self, request: Request) -> EventSourceResponse:
        async def events():
            version = None
            while True:
                if version is not None:
                    await self.process.changed(version)
                version = self.process.version
                yield {"event": "status", "data": json.dumps(self._status())}

        return EventSourceResponse(events(), ping=PING_SECONDS)

    def why_not_now(self, name: str) -> str | None:
        """Why the deck would not run `name` now (it plays the recording), or None."""
        if not self.process.ready:
            return self.process.reason or f"the model process is {self.process.state}"
        return self.process.can_run(name)

    async def run(self, request: Request) -> EventSourceResponse:
        name = request.path_params["generator"]
        body = await self._body(name, request)
        # A run the speaker ordered from the audience's queue: its result goes to every phone, and
        # a run refused here fails its item there as well.
        item = self.room.claim_run(name, body) if self.room is not None else None
        try:
            checked, ticket = self._admitted(name, body)
        except Refused:
            if item is not None:
                self.room.failed(item)
            raise
        request_id = uuid.uuid4().hex[:16]
        shutdown = anyio.Event()
        events = stream(self.jobs, self.process, ticket, name, checked, request_id, shutdown, self.timeout_s)
        if item is not None:
            events = relay_result(self.room, item, events)
        return EventSourceResponse(
            events,
            headers={"X-W2W-Request-Id": request_id},
            ping=PING_SECONDS,
            shutdown_event=shutdown,
            shutdown_grace_period=0.5,  # under uvicorn's 1 s: the stream says why it ends, then ends
            background=BackgroundTask(ticket.release),  # in case the stream never started
        )

    async def _body(self, name: str, request: Request) -> dict:
        """The JSON body of a run of a generator that exists, or a 4xx in one line."""
        if name in ("status", "watch"):  # POST /live/status lands here, not on the GET route
            raise Refused(405, "method not allowed here — use GET", headers={"Allow": "GET"})
        if name not in self.requests:
            shown = repr(name) if re.fullmatch(r"[a-z_]{1,40}", name) else "that name"
            raise Refused(404, f"no live generator {shown} — use one of: {', '.join(self.requests) or 'none'}")
        return await read_json(request)

    def _admitted(self, name: str, body: dict) -> tuple[dict, Ticket]:
        """The body as the generator's LiveRequest accepts it, and a place in the queue; or a
        400 (the body), 503 (the model process) or 429 (the queue) in one line."""
        try:
            checked = self.requests[name].model_validate(body).model_dump(mode="json")
        except ValidationError as exc:
            raise Refused(400, validation_message(exc)) from None
        why = self.process.can_run(name)
        if why:
            raise Refused(503, f"{why} (the slide plays its recording)", headers={"Retry-After": RETRY_AFTER})
        try:
            return checked, self.jobs.admit()
        except Busy as exc:
            raise Refused(429, str(exc), headers={"Retry-After": RETRY_AFTER}) from None

    def routes(self) -> list[Route]:
        return [
            Route("/live/status", self.status, methods=["GET"]),
            Route("/live/watch", self.watch, methods=["GET"]),
            Route("/live/{generator}", self.run, methods=["POST"]),
        ]


def create_app(
    site_dir: Path,
    api: LiveApi,
    port: int,
    token: str,
    door: Door | None = None,
    lan_host: str | None = None,
    remote: Remote | None = None,
) -> Starlette:
    """The server's one app: the presenter's API under /api (token, loopback), the room's routes
    with --audience (`door`, room/door.py), the remote's with --remote or --rehearse (`remote`,
    remote/routes.py), and the built site. `lan_host`: the LAN address the server also answers on."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        api.process.start()
        try:
            yield
        finally:
            await api.process.stop()

    extra = (lan_host,) if lan_host else ()
    guarded = Middleware(ApiGuard, port=port, token=token, extra=extra)
    api.budgets = Budgets()
    return Starlette(
        routes=[
            Mount("/api", routes=api.routes(), middleware=[guarded]),
            *(remote_routes(site_dir, remote, door) if remote else []),
            *(door.routes() if door else []),
            Mount("/", app=SiteFiles(directory=site_dir, html=True)),
        ],
        # A foreign Host is refused before it takes a place; the stage and the door have a budget
        # each (limits.py). The phones' streams are capped by the broadcaster, by address too.
        middleware=[
            Middleware(HostGuard, port=port, extra=extra),
            Middleware(RequestLimit, budgets=api.budgets, exempt=STREAM_PATHS),
            *remote_scope(remote),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )


def remote_routes(site_dir: Path, remote: Remote, door: Door | None) -> list:
    """The remote's routes, and the deck served with its script (and the room's, with a door)."""
    from w2w.present.remote.served_deck import REMOTE_SCRIPT, ServedDeck

    scripts = REMOTE_SCRIPT
    if door:
        from w2w.present.room.door import DOOR_SCRIPT

        scripts += DOOR_SCRIPT.removesuffix(b"</body>")
    return [*ServedDeck(site_dir, scripts).routes(), *remote.routes()]


def remote_scope(remote: Remote | None) -> list[Middleware]:
    """A paired remote's token reaches only its own routes (remote/scope.py), on every door."""
    if remote is None or remote.pairing is None:
        return []
    from w2w.present.remote.scope import RemoteScope

    return [Middleware(RemoteScope, pairing=remote.pairing)]


async def relay_result(room: Room, item: Item, events):
    """The run's events, passed on as they are; the run is one the speaker started from the
    audience's queue: its `done` is also handed to the room, which sends it to every phone, and a
    run that ends without one fails the item there."""
    done = None
    async with contextlib.aclosing(events) as inner:
        try:
            async for event in inner:
                if event.get("event") == "done":
                    done = json.loads(event["data"])
                yield event
        finally:
            room.finished(item, done) if done else room.failed(item)
