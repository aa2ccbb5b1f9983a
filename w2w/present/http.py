"""What every route of `w2w present` shares to answer a client: `Refused` (a 4xx with one line in
w2w's words), the JSON body read with its limits, a pydantic error said in one line, the handlers
that turn any HTTP error into `{"message": ...}`, and the site's files (`SiteFiles`: one that
cannot be read is a 500 in w2w's words). The presenter's app and the room's door both import it;
neither imports the other's routes.
"""

from __future__ import annotations

import asyncio
import json
import os

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from w2w.present.limits import BODY_TIMEOUT_S
from w2w.present.quiet import CLIENTS, report

MAX_BODY = 16 * 1024  # bytes; the largest real request (a 400-character prompt) is under 1 KiB
MAX_DEPTH = 8  # nested arrays and objects; the deepest real request (a list in an object) has 2


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
    except ClientDisconnect:  # an upload dropped mid-body: no one is left to read the answer
        raise Refused(400, "the request body was cut off") from None
    if _depth(body) > MAX_DEPTH:  # before parsing: json's parser recurses, and deep enough it raises
        raise Refused(400, f"the request body is nested too deeply: at most {MAX_DEPTH} levels of [ and {{")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, 'the request body must be a JSON object, like {"prompt": "..."}')
    return data


def own_origin(request: Request, origins: set[str], pages: str) -> None:
    """A browser's `Origin`, when it sends one, must be one of `origins` (this server's own pages):
    else 403, so a page on another site cannot use a token it does not hold."""
    sent = request.headers.getlist("origin")
    if sent and (len(sent) > 1 or sent[0].lower() not in origins):
        raise Refused(403, f"cross-origin request refused: {pages} answers only its own pages")


def _depth(body: bytes) -> int:
    """How deeply the JSON text nests its arrays and objects (brackets inside strings not counted),
    read in one pass without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


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
    """Any other exception: said in the terminal as quiet.report decides (a client's doing in one
    line or none, w2w's own bug with its traceback); the client gets a 500 if nothing was sent yet."""
    report(exc, request)
    return JSONResponse({"message": "internal error — see the terminal running `w2w present`"}, status_code=500)


class SiteFiles(StaticFiles):
    """The built site's files. A file the server cannot read (its permissions, a broken disk) is a
    500 in w2w's words and one line in the terminal, before anything is sent: Starlette's own
    answer was `200` and then a dropped connection, with a traceback per request."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code == 401:  # Starlette's answer when a folder on the path cannot be read
                return _unreadable(os.path.join(str(self.directory), path), "permission denied")
            raise

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:
        try:
            with open(full_path, "rb"):
                pass
        except OSError as exc:
            return _unreadable(str(full_path), (exc.strerror or type(exc).__name__).lower())
        return super().file_response(full_path, stat_result, scope, status_code)


def _unreadable(path: str, why: str) -> JSONResponse:
    shown = path.encode("unicode_escape").decode("ascii")  # one line, whatever the path holds
    CLIENTS.warning("cannot read %s (%s): answered 500", shown, why)
    message = f"the server cannot read this file ({why}) — see the terminal running `w2w present`"
    return JSONResponse({"message": message}, status_code=500)
