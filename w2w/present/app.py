"""The `w2w present` web app: the built site, and the live API beside it, on one Starlette app.

    GET  /...                   the built site/ (the deck is /slides/index.html)
    GET  /api/live/status       readiness of each live generator, the deck's timeout, job counters
    POST /api/live/{generator}  a JSON body checked by that generator's LiveRequest ->
                                text/event-stream, one event per step (docs/live-protocol.md)

Every error is JSON `{"message": "one line"}`; nothing a user sends is ever put into HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
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
from starlette.staticfiles import StaticFiles

from .jobs import Busy, Jobs, stream
from .limits import BODY_TIMEOUT_S, RETRY_AFTER, RequestLimit
from .security import ApiGuard, HostGuard
from .supervisor import ModelProcess

if TYPE_CHECKING:
    from .audience import Door
    from .room import Room

STREAM_PATHS = ("/room/api/stream",)

MAX_BODY = 16 * 1024  # bytes; the largest real request (a 400-character prompt) is under 1 KiB
# No keep-alive pings: on loopback no proxy drops an idle stream, and the deck falls back to the
# recording after `live.timeout_s` without data; a ping would keep a stuck run looking alive.
PING_SECONDS = 0


class Refused(HTTPException):
    """A request answered with a 4xx and a one-line message."""


def create_app(
    site_dir: Path,
    process: ModelProcess,
    requests: dict[str, type[BaseModel]],
    jobs: Jobs,
    port: int,
    token: str,
    timeout_s: float,
    door: Door | None = None,
    lan_host: str | None = None,
) -> Starlette:
    """`requests`: each live generator's LiveRequest, which checks a body before anything runs.
    `door` (with --audience): the room's routes (audience.py); `lan_host`: the LAN address the
    server also answers on."""

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({**process.status(), "timeout_s": timeout_s, "jobs": jobs.counts()})

    async def run(request: Request) -> EventSourceResponse:
        name = request.path_params["generator"]
        if name == "status":  # POST /live/status lands here, not on the GET route
            raise Refused(405, "method not allowed here — use GET", headers={"Allow": "GET"})
        live_request_type = requests.get(name)
        if live_request_type is None:
            shown = repr(name) if re.fullmatch(r"[a-z_]{1,40}", name) else "that name"
            raise Refused(404, f"no live generator {shown} — use one of: {', '.join(requests) or 'none'}")
        body = await read_json(request)
        try:
            live_request = live_request_type.model_validate(body)
        except ValidationError as exc:
            raise Refused(400, validation_message(exc)) from None
        why = process.can_run(name)
        if why:
            raise Refused(503, f"{why} (the slide plays its recording)", headers={"Retry-After": RETRY_AFTER})
        try:
            ticket = jobs.admit()
        except Busy as exc:
            raise Refused(429, str(exc), headers={"Retry-After": RETRY_AFTER}) from None
        request_id = uuid.uuid4().hex[:16]
        shutdown = anyio.Event()
        checked = live_request.model_dump(mode="json")
        events = stream(jobs, process, ticket, name, checked, request_id, shutdown)
        if door is not None:  # a run from the audience's queue: its result goes to every phone
            events = relay_result(door.room, name, checked, events)
        return EventSourceResponse(
            events,
            headers={"X-W2W-Request-Id": request_id},
            ping=PING_SECONDS,
            shutdown_event=shutdown,
            shutdown_grace_period=0.5,  # under uvicorn's 1 s: the stream says why it ends, then ends
            background=BackgroundTask(ticket.release),  # in case the stream never started
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        process.start()
        try:
            yield
        finally:
            await process.stop()

    api = [
        Route("/live/status", status, methods=["GET"]),
        Route("/live/{generator}", run, methods=["POST"]),
    ]
    extra = (lan_host,) if lan_host else ()
    return Starlette(
        routes=[
            Mount("/api", routes=api, middleware=[Middleware(ApiGuard, port=port, token=token, extra=extra)]),
            *(door.routes() if door else []),
            Mount("/", app=StaticFiles(directory=site_dir, html=True)),
        ],
        # The phones' streams are capped by the broadcaster (PHONES_MAX), not by the 64 in flight.
        middleware=[Middleware(RequestLimit, exempt=STREAM_PATHS), Middleware(HostGuard, port=port, extra=extra)],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )


async def relay_result(room: Room, name: str, body: dict, events):
    """The run's events, passed on as they are; when the run is one the speaker started from the
    audience's queue, its `done` is also handed to the room, which sends it to every phone."""
    item = room.claim_run(name, body)
    done = None
    async with contextlib.aclosing(events) as inner:
        try:
            async for event in inner:
                if item is not None and event.get("event") == "done":
                    done = json.loads(event["data"])
                yield event
        finally:
            if item is not None:
                room.finished(item, done) if done else room.failed(item)


async def read_json(request: Request) -> object:
    """The request body as JSON: at most MAX_BODY bytes (413), declared as JSON (415), parseable (400)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, f"request body too large: at most {MAX_BODY // 1024} KiB")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise Refused(415, "send the request as JSON (Content-Type: application/json)")
    body = bytearray()

    async def receive() -> None:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BODY:
                raise Refused(413, f"request body too large: at most {MAX_BODY // 1024} KiB")

    try:  # a client that sends its body slowly holds a connection: it gets a deadline
        await asyncio.wait_for(receive(), BODY_TIMEOUT_S)
    except TimeoutError:
        raise Refused(408, f"the request body took over {BODY_TIMEOUT_S:g} s to arrive — send it at once") from None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, 'the request body must be a JSON object, like {"prompt": "..."}')
    return data


def validation_message(exc: ValidationError) -> str:
    """The first problem of a LiveRequest, in one line a slide can show (no user text in it)."""
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or "request"
    if first["type"] == "extra_forbidden":
        text = f"unknown field {field[:40]!r}"
    elif first["type"] == "missing":
        text = f"missing field {field!r}"
    else:
        text = f"{field}: {first['msg'].removeprefix('Value error, ')}"
    more = len(errors) - 1
    return " ".join(text.split()) + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc, Refused) else _plain(exc)
    return JSONResponse({"message": message}, status_code=exc.status_code, headers=exc.headers)


def _plain(exc: HTTPException) -> str:
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"method not allowed here — use {allowed}" if allowed else "method not allowed here"
    if exc.status_code == 404:
        return "not found — the deck is at /slides/index.html"
    return " ".join(str(exc.detail).split())


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"message": "internal error — see the terminal running `w2w present`"}, status_code=500)
