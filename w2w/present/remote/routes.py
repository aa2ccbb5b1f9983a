"""The remote's routes (`w2w present --remote`; docs/remote.md), beside the live API and the room:

    GET  /remote/                the phone's page (package files, static/); holds no token
    POST /remote/api/pair        anyone: {code} -> {token} once, for the code the speaker's laptop shows
    GET  /remote/api/follow      remote token: SSE of the deck's state (slide, next, notes, timer, form)
    POST /remote/api/command     remote token: {action: next | prev | fragment | run, text}
    POST /remote/api/state       presenter: the deck's state, on each slide and fragment change
    GET  /remote/api/deck        presenter, --remote: SSE of the remote's commands (never the code)
    GET  /remote/api/pairing     presenter: the code, its QR and the phone's URL (the speaker view)
    POST /remote/api/pairing     presenter: a new code (the previous one stops working)
    POST /remote/api/revoke      presenter: every paired remote forgotten, its streams closed
    POST /remote/api/audio/start presenter, --rehearse: a new microphone recording (opt-in)
    POST /remote/api/audio       presenter, --rehearse: its next chunk (audio/webm, at most 1 MiB)

The presenter token is accepted only on 127.0.0.1; the remote token only on the routes of
scope.REMOTE_ROUTES (elsewhere 403, before any route); no token, an unknown or a revoked one -> 401.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sse_starlette import EventSourceResponse
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from w2w.present.broadcast import Channel, Full, encode
from w2w.present.http import Refused, own_origin, read_json, validation_message
from w2w.present.limits import BODY_TIMEOUT_S, RETRY_AFTER
from w2w.present.remote.pairing import DEVICES_MAX, Pairing, PairingRefused
from w2w.present.remote.rehearse import AudioRefused, Recorder
from w2w.present.remote.scope import remote_device
from w2w.present.security import TOKEN_HEADER, on_loopback

STATIC = Path(__file__).parent / "static"
PING_S = 15  # venue access points drop quiet connections
SEND_TIMEOUT_S = 10
Strict = ConfigDict(extra="forbid", frozen=True)
Text = Annotated[str, Field(max_length=8000)]
AUDIO_CHUNK_MAX = 2**20  # one MediaRecorder chunk (2 s of Opus is ~8 KB)
AUDIO_TYPES = ("audio/webm", "audio/ogg")


class Pair(BaseModel):
    model_config = Strict
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class Command(BaseModel):
    model_config = Strict
    action: Literal["next", "prev", "fragment", "run"]
    text: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class Form(BaseModel):
    model_config = Strict
    generator: Annotated[str, Field(max_length=40)]
    label: Annotated[str, Field(max_length=200)] = ""
    value: Annotated[str, Field(max_length=2000)] = ""
    max_length: Annotated[int, Field(ge=1, le=2000)] = 400


class DeckState(BaseModel):
    model_config = Strict
    h: Annotated[int, Field(ge=0, le=10000)]
    v: Annotated[int, Field(ge=0, le=10000)] = 0
    f: Annotated[int, Field(ge=-1, le=10000)] = -1
    index: Annotated[int, Field(ge=0, le=10000)] = 0  # 1-based position among all slides
    total: Annotated[int, Field(ge=0, le=10000)] = 0
    title: Annotated[str, Field(max_length=300)] = ""
    notes: Text = ""
    next_title: Annotated[str, Field(max_length=300)] = ""
    next_notes: Text = ""
    section: Annotated[str, Field(max_length=80)] = ""
    section_title: Annotated[str, Field(max_length=300)] = ""
    budget_s: Annotated[int, Field(ge=0, le=86400)] = 0  # the section's share of the pacing timer
    slot_s: Annotated[int, Field(ge=0, le=86400)] = 0  # reveal.js totalTime
    form: Form | None = None


class Remote:
    """The remote's pairing, the deck's last state, and the streams of both sides."""

    def __init__(
        self, presenter_token: str, hosts: set[str], pairing: Pairing | None, phone_url: str, recorder: Recorder | None
    ) -> None:
        self.presenter = presenter_token.encode()
        self.origins = {f"http://{host}" for host in hosts}
        self.pairing, self.phone_url, self.recorder = pairing, phone_url, recorder
        self.decks = Channel("deck", 8)  # the deck (a second window of it, a reload)
        self.phones = Channel("remote", 2 * DEVICES_MAX)
        self.streams: dict[str, set[asyncio.Queue]] = {}  # device id -> its open streams
        self.state: DeckState | None = None
        self.started = self.section_started = time.monotonic()
        self.seq = 0
        self.pointer = False  # the room's pointer route is open to this remote (with --audience)

    # --- who calls -----------------------------------------------------------------------------
    def _origin(self, request: Request) -> None:
        own_origin(request, self.origins, "the remote")

    def presenter_only(self, request: Request) -> None:
        self._origin(request)
        given = request.headers.get(TOKEN_HEADER, "").encode()
        if not given:
            raise Refused(401, "missing X-W2W-Token: open the deck from the URL `w2w present` printed")
        if not secrets.compare_digest(given, self.presenter):
            raise Refused(401, "unknown token: this route is the speaker's laptop's")
        if not on_loopback(request.scope):
            raise Refused(403, "the presenter token is accepted only on 127.0.0.1, on the speaker's laptop")

    def remote_only(self, request: Request):
        self._origin(request)
        device = remote_device(request)  # set by scope.RemoteScope for a live remote token
        if device is None:
            if not request.headers.get(TOKEN_HEADER):
                raise Refused(401, "missing X-W2W-Token: pair this phone with the code on the speaker's laptop")
            raise Refused(401, "not a paired remote's token (or it was revoked): pair again with a new code")
        return device

    async def body(self, request: Request, model: type[BaseModel]) -> BaseModel:
        data = await read_json(request)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise Refused(400, validation_message(exc)) from None

    # --- the phone -----------------------------------------------------------------------------
    async def pair(self, request: Request) -> JSONResponse:
        self._origin(request)
        if self.pairing is None:
            raise Refused(404, "no remote here: start `w2w present --remote` to pair a phone")
        body = await self.body(request, Pair)
        try:
            device = self.pairing.pair(body.code, _address(request))
        except PairingRefused as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            raise Refused(exc.status, exc.message, headers=headers) from None
        return JSONResponse({"token": device.token, "device": device.id}, headers={"cache-control": "no-store"})

    async def follow(self, request: Request) -> Response:
        device = self.remote_only(request)
        try:
            queue = self.phones.subscribe(encode("state", self.public_state()), _address(request))
        except Full as exc:
            return JSONResponse({"message": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER})
        self.streams.setdefault(device.id, set()).add(queue)

        async def events():
            try:
                async for message in self.phones.stream(queue):
                    yield message
            finally:
                self.streams.get(device.id, set()).discard(queue)

        headers = {"cache-control": "no-store"}
        return EventSourceResponse(events(), ping=PING_S, send_timeout=SEND_TIMEOUT_S, headers=headers)

    async def command(self, request: Request) -> JSONResponse:
        self.remote_only(request)
        body = await self.body(request, Command)
        if body.action == "run":
            form = self.state.form if self.state else None
            if form is None:
                raise Refused(409, "the current slide has no live demo to run")
            if not body.text or len(body.text) > form.max_length:
                raise Refused(400, f"text: 1 to {form.max_length} characters for this slide's demo")
        if not self.decks.queues:
            message = "the deck is not connected: open it from the URL `w2w present` printed"
            raise Refused(503, message, {"Retry-After": RETRY_AFTER})
        self.seq += 1
        order = {"seq": self.seq, "action": body.action}
        if body.action == "run":
            order |= {"text": body.text, "h": self.state.h, "v": self.state.v}
        self.decks.publish("command", order)
        return JSONResponse({"seq": self.seq}, status_code=202)

    # --- the laptop ----------------------------------------------------------------------------
    async def deck_state(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        state = await self.body(request, DeckState)
        now = time.monotonic()
        if self.state is None or state.section != self.state.section:
            self.section_started = now
        self.state = state
        if self.recorder is not None:
            self.recorder.visit(f"{state.h}.{state.v}", state.section, state.title, now)
        self.phones.publish("state", self.public_state())
        return JSONResponse({"ok": True})

    def public_state(self) -> dict:
        """The deck's state for the phone, with the timer's seconds as of now."""
        if self.state is None:
            return {"connected": False}
        now = time.monotonic()
        elapsed = now - self.section_started
        return {
            **self.state.model_dump(),
            "connected": True,
            "section_elapsed_s": round(elapsed, 1),
            "overrun_s": round(max(0.0, elapsed - self.state.budget_s), 1) if self.state.budget_s else 0,
            "elapsed_s": round(now - self.started, 1),
            "pointer": self.pointer,
        }

    async def deck_stream(self, request: Request) -> Response:
        self.presenter_only(request)
        if self.pairing is None:  # --rehearse alone: no phone to follow, and no stream held open
            raise Refused(404, "no remote here: start `w2w present --remote` to drive the deck from a phone")
        # Commands only: never the pairing code, which the projected deck must not hold.
        first = encode("ready", {})
        try:
            queue = self.decks.subscribe(first, _address(request))
        except Full as exc:
            return JSONResponse({"message": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER})
        return EventSourceResponse(self.decks.stream(queue), ping=None, headers={"cache-control": "no-store"})

    async def pairing_info(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        if self.pairing is None:
            return JSONResponse({"enabled": False, "rehearse": self.recorder is not None})
        if request.method == "POST":
            self.pairing.new_code()
        info = {"enabled": True, "rehearse": self.recorder is not None, **self.pairing.public(), "url": self.phone_url}
        if info.get("code"):
            import segno

            info["qr"] = segno.make(f"{self.phone_url}#pair={info['code']}", error="m").svg_data_uri(scale=5, border=2)
        return JSONResponse(info, headers={"cache-control": "no-store"})

    async def revoke(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        gone = self.pairing.revoke() if self.pairing else []
        for device in gone:
            for queue in self.streams.pop(device.id, set()):
                self.phones.unsubscribe(queue)
                _end(queue)
        return JSONResponse({"revoked": len(gone)})

    # --- the rehearsal's microphone ------------------------------------------------------------
    async def audio_start(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        if self.recorder is None:
            raise Refused(409, "not rehearsing: start `w2w present --rehearse` to record the microphone")
        path = self.recorder.audio_start(time.monotonic())
        return JSONResponse({"file": path.name})

    async def audio(self, request: Request) -> JSONResponse:
        self.presenter_only(request)
        if self.recorder is None:
            raise Refused(409, "not rehearsing: start `w2w present --rehearse` to record the microphone")
        data = await read_audio(request)
        try:
            total = self.recorder.audio_append(data)
        except AudioRefused as exc:
            raise Refused(exc.status, exc.message) from None
        return JSONResponse({"bytes": total})

    def routes(self) -> list[BaseRoute]:
        api = [
            Route("/pair", self.pair, methods=["POST"]),
            Route("/follow", self.follow, methods=["GET"]),
            Route("/command", self.command, methods=["POST"]),
            Route("/state", self.deck_state, methods=["POST"]),
            Route("/deck", self.deck_stream, methods=["GET"]),
            Route("/pairing", self.pairing_info, methods=["GET", "POST"]),
            Route("/revoke", self.revoke, methods=["POST"]),
            Route("/audio/start", self.audio_start, methods=["POST"]),
            Route("/audio", self.audio, methods=["POST"]),
        ]
        return [Mount("/remote/api", routes=api), Mount("/remote", app=StaticFiles(directory=STATIC, html=True))]


async def read_audio(request: Request) -> bytes:
    """One chunk of the microphone's recording: declared audio, at most AUDIO_CHUNK_MAX, in time."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > AUDIO_CHUNK_MAX:
        raise Refused(413, f"send the recording in chunks of at most {AUDIO_CHUNK_MAX // 2**20} MiB, with a length")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() not in AUDIO_TYPES:
        raise Refused(415, "send the recording as audio/webm or audio/ogg")
    body = bytearray()

    async def receive() -> None:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > AUDIO_CHUNK_MAX:
                raise Refused(413, f"send the recording in chunks of at most {AUDIO_CHUNK_MAX // 2**20} MiB")

    try:
        await asyncio.wait_for(receive(), BODY_TIMEOUT_S)
    except TimeoutError:
        raise Refused(408, f"the chunk took over {BODY_TIMEOUT_S:g} s to arrive") from None
    except ClientDisconnect:
        raise Refused(400, "the chunk was cut off") from None
    return bytes(body)


def _end(queue: asyncio.Queue) -> None:
    """The stream of a revoked device ends now: its queue emptied and closed."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
