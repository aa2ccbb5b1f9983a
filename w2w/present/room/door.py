"""The room's routes (`w2w present --audience`), beside the live API, with the two roles the
server tells apart by token (docs/audience.md):

    GET  /room/                 the audience page (package files, w2w/present/room/static/)
    GET  /room/moderate.html    the speaker's moderation page
    GET  /room/door.js          the script the server adds to the served deck (never to the build)
    GET  /room/api/stream       audience: one SSE stream per phone (slide, approved items, results)
    POST /room/api/suggest      audience: {device, slide, text} on a live slide
    POST /room/api/ask          audience: {device, text}
    POST /room/api/vote         audience: {device, id}
    GET  /room/api/presenter    presenter: SSE of the moderation state and run orders
    GET  /room/api/door         presenter: the audience URL and its QR code
    POST /room/api/slide        presenter: {h, v, f}, the deck's current slide
    POST /room/api/moderate     presenter: {id, action}
    POST /room/api/pointer      presenter: the laser dot and ink on the slide (room/pointer.py)
    POST /room/api/poll         presenter: open, reveal, close, clear the poll (room/poll.py)
    POST /room/api/poll/vote    audience: {device, id, choice}

Token in `X-W2W-Token`: none or unknown -> 401; the audience token on a presenter route -> 403;
the presenter token is accepted only on the loopback listener (the laptop), never on the LAN one.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from w2w.present.broadcast import Channel, Full, encode
from w2w.present.http import Refused, own_origin, read_json, validation_message
from w2w.present.limits import RETRY_AFTER
from w2w.present.remote.scope import remote_device
from w2w.present.room.pointer import Move as PointerMove
from w2w.present.room.pointer import Pointer
from w2w.present.room.poll import PollOrder, Polls, PollVote
from w2w.present.room.state import Item, Refusal, Room
from w2w.present.security import TOKEN_HEADER, on_loopback

STATIC = Path(__file__).parent / "static"
PHONE_PING_S = 15  # a comment line every 15 s: venue Wi-Fi access points drop quiet connections
SEND_TIMEOUT_S = 10  # a phone that takes this long to accept one event is dropped
DOOR_SCRIPT = b'<script src="/room/door.js"></script>\n</body>'

Device = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
Strict = ConfigDict(extra="forbid", frozen=True)


class Suggest(BaseModel):
    model_config = Strict
    device: Device
    slide: Annotated[str, Field(max_length=16)]
    text: Annotated[str, Field(max_length=2000)]


class Ask(BaseModel):
    model_config = Strict
    device: Device
    text: Annotated[str, Field(max_length=2000)]


class Vote(BaseModel):
    model_config = Strict
    device: Device
    id: Annotated[str, Field(max_length=32)]


class Move(BaseModel):
    model_config = Strict
    h: Annotated[int, Field(ge=0, le=10000)]
    v: Annotated[int, Field(ge=0, le=10000)]
    f: Annotated[int, Field(ge=-1, le=10000)] = -1


class Moderate(BaseModel):
    model_config = Strict
    id: Annotated[str, Field(max_length=32)]
    action: Literal["approve", "dismiss", "run", "answered"]


class Door:
    """The room's tokens and addresses, and the routes that use them."""

    def __init__(
        self, room: Room, presenter_token: str, audience_token: str, audience_url: str, site_dir: Path, hosts: set[str]
    ) -> None:
        self.room, self.site_dir = room, site_dir
        self.origins = {f"http://{host}" for host in hosts}
        self.presenter, self.audience = presenter_token.encode(), audience_token.encode()
        self.audience_url = audience_url
        self._deck: tuple[float, bytes] | None = None
        self.pointer, self.polls = Pointer(room), Polls(room)
        room.phone_views += [lambda: {"pointer": self.pointer.state()}, self.polls.phone_state]
        room.speaker_views += [lambda: {"pointer": self.pointer.state()}, self.polls.speaker_state]

    # --- roles ---------------------------------------------------------------------------------
    def _origin(self, request: Request) -> None:
        own_origin(request, self.origins, "the room")

    def role(self, request: Request) -> str:
        self._origin(request)
        given = request.headers.get(TOKEN_HEADER, "").encode()
        if not given:
            raise Refused(401, "missing X-W2W-Token: open the page from the URL or QR code `w2w present` showed")
        if secrets.compare_digest(given, self.presenter):
            if not on_loopback(request.scope):
                raise Refused(403, "the presenter token is accepted only on 127.0.0.1, on the speaker's laptop")
            return "presenter"
        if secrets.compare_digest(given, self.audience):
            return "audience"
        raise Refused(401, "unknown token: open the page from the URL or QR code this `w2w present` showed")

    def presenter_only(self, request: Request) -> None:

        if self.role(request) != "presenter":
            raise Refused(403, "the audience token cannot do that: it reads the slide, submits and votes only")

    async def body(self, request: Request, model: type[BaseModel]) -> BaseModel:

        data = await read_json(request)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise Refused(400, validation_message(exc)) from None

    # --- audience ------------------------------------------------------------------------------
    async def stream(self, request: Request) -> Response:
        self.role(request)
        return self._sse(self.room.phones, encode("state", self.room.phone_state()), PHONE_PING_S, _address(request))

    async def suggest(self, request: Request) -> JSONResponse:
        self.role(request)
        body = await self.body(request, Suggest)
        item = _refusing(lambda: self.room.suggest(body.device, _address(request), body.slide, body.text))
        return _accepted(item, "sent to the speaker: it shows here once approved")

    async def ask(self, request: Request) -> JSONResponse:
        self.role(request)
        body = await self.body(request, Ask)
        item = _refusing(lambda: self.room.ask(body.device, _address(request), body.text))
        return _accepted(item, "sent to the speaker: it shows here once approved")

    async def vote(self, request: Request) -> JSONResponse:
        self.role(request)
        body = await self.body(request, Vote)
        item = _refusing(lambda: self.room.vote(body.device, _address(request), body.id))
        return JSONResponse({"id": item.id, "votes": len(item.voters)})

    # --- presenter -----------------------------------------------------------------------------
    async def presenter_stream(self, request: Request) -> Response:
        self.presenter_only(request)
        return self._sse(self.room.presenters, encode("queue", self.room.moderation_state()), 0, _address(request))

    async def door(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        import segno

        svg = segno.make(self.audience_url, error="m").svg_data_uri(scale=6, border=2)
        return JSONResponse({"audience": self.audience_url, "qr": svg})

    async def move(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        body = await self.body(request, Move)
        _refusing(lambda: self.room.move(body.h, body.v, body.f))
        return JSONResponse(self.room.slide)

    async def moderate(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        body = await self.body(request, Moderate)
        item = _refusing(lambda: self.room.moderate(body.id, body.action))
        return JSONResponse(item.public())

    async def point(self, request: Request) -> JSONResponse:
        """The speaker's pointer, from the laptop (presenter token) or a paired remote (its own
        token, let through by remote/scope.py); rate-bounded per sender."""
        device = remote_device(request)
        if device is not None:
            self._origin(request)
            sender = f"remote:{device.id}"
        else:
            self.presenter_only(request)
            sender = "presenter"
        body = await self.body(request, PointerMove)
        _refusing(lambda: self.pointer.move(sender, body))
        return JSONResponse({"s": self.pointer.key})

    async def poll(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        body = await self.body(request, PollOrder)
        poll = _refusing(lambda: self.polls.order(body))
        return JSONResponse(poll.speaker())

    async def poll_vote(self, request: Request) -> JSONResponse:
        """A phone's vote: the answer says whether it counted, never a count (hidden until revealed)."""
        self.role(request)
        body = await self.body(request, PollVote)
        counted = _refusing(lambda: self.polls.vote(body.device, _address(request), body.id, body.choice))
        return JSONResponse({"id": body.id, "counted": counted})

    # --- the served deck -----------------------------------------------------------------------
    async def deck(self, request: Request) -> Response:
        """slides/index.html with door.js before </body>: only as served here, never in the build."""
        path = self.site_dir / "slides" / "index.html"
        mtime = path.stat().st_mtime
        if self._deck is None or self._deck[0] != mtime:
            html = path.read_bytes()
            at = html.rfind(b"</body>")
            self._deck = (mtime, html[:at] + DOOR_SCRIPT + html[at + 7 :] if at >= 0 else html + DOOR_SCRIPT)
        return HTMLResponse(self._deck[1], headers={"cache-control": "no-store"})

    def _sse(self, channel: Channel, first: bytes, ping: int, address: str) -> Response:
        try:
            queue = channel.subscribe(first, address)
        except Full as exc:
            return JSONResponse({"message": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER})
        return EventSourceResponse(
            channel.stream(queue),
            ping=ping or None,
            send_timeout=SEND_TIMEOUT_S,
            headers={"cache-control": "no-store"},
        )

    def routes(self) -> list[BaseRoute]:
        api = [
            Route("/stream", self.stream, methods=["GET"]),
            Route("/suggest", self.suggest, methods=["POST"]),
            Route("/ask", self.ask, methods=["POST"]),
            Route("/vote", self.vote, methods=["POST"]),
            Route("/presenter", self.presenter_stream, methods=["GET"]),
            Route("/door", self.door, methods=["GET"]),
            Route("/slide", self.move, methods=["POST"]),
            Route("/moderate", self.moderate, methods=["POST"]),
            Route("/pointer", self.point, methods=["POST"]),
            Route("/poll", self.poll, methods=["POST"]),
            Route("/poll/vote", self.poll_vote, methods=["POST"]),
        ]
        return [
            Route("/slides/", self.deck, methods=["GET", "HEAD"]),
            Route("/slides/index.html", self.deck, methods=["GET", "HEAD"]),
            Mount("/room/api", routes=api),
            Mount("/room", app=StaticFiles(directory=STATIC, html=True)),
        ]


def _refusing(action):

    try:
        return action()
    except Refusal as exc:
        headers = {"Retry-After": exc.retry_after} if exc.retry_after else None
        raise Refused(exc.status, exc.message, headers=headers) from None


def _accepted(item: Item, message: str) -> JSONResponse:
    return JSONResponse({**item.public(), "message": message}, status_code=202)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
