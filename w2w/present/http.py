"""What every route of `w2w present` shares to answer a client: `Refused` (a 4xx with one line in
w2w's words), the JSON body read with its limits, a pydantic error said in one line, and the
handlers that turn any HTTP error into `{"message": ...}`. The presenter's app and the room's door
both import it; neither imports the other's routes.
"""

from __future__ import annotations

import asyncio
import json

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from w2w.present.limits import BODY_TIMEOUT_S

MAX_BODY = 16 * 1024  # bytes; the largest real request (a 400-character prompt) is under 1 KiB


class Refused(HTTPException):
    """A request answered with a 4xx and a one-line message."""


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
