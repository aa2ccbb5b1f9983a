"""`w2w present`: build if stale, then serve the site and the live API from one uvicorn server.

The server listens on 127.0.0.1 only; with `--audience` also on the LAN address, for the room's
phones (audience.py: the phones' routes and roles; the presenter's API stays on 127.0.0.1).
The deck URL it prints carries a random per-run token in its
fragment (`#w2w-token=...`): fragments never leave the browser, and the deck moves the token into
sessionStorage and sends it in a header.
"""

from __future__ import annotations

import errno
import logging
import secrets
import socket
from pathlib import Path

from w2w.errors import W2WError
from w2w.present.limits import BACKLOG
from w2w.project import Project

log = logging.getLogger("w2w.present")

HOST = "127.0.0.1"  # never 0.0.0.0: the API runs models for whoever can reach it


def deck_url(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/slides/index.html#w2w-token={token}"


def site_is_stale(project: Project) -> str | None:
    """Why the built site is out of date (None when it is current): missing, a stale artifact, or a
    talk, template or mkdocs.yml file newer than the deck."""
    from w2w.artifacts.status import explain

    deck = project.site_dir / "slides" / "index.html"
    if not deck.is_file():
        return "no built site"
    stale = [row.name for row in explain(project) if not row.fresh]
    if stale:
        return f"stale artifacts: {', '.join(stale)}"
    built = deck.stat().st_mtime
    sources = [project.mkdocs_yml, *_files(project.root / "talk"), *_files(project.templates_dir)]
    newer = [p for p in sources if p.is_file() and p.stat().st_mtime > built]
    return f"{newer[0].relative_to(project.root)} changed since the last build" if newer else None


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.is_dir() else []


def listen(port: int, host: str = HOST) -> socket.socket:
    """The listening socket, bound before anything loads, so a busy port is a clear error at once."""
    try:
        return socket.create_server((host, port), backlog=BACKLOG)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise W2WError(f"port {port} on {host} is already in use", "pass another one with --port N") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise W2WError(f"{host} is not an address of this machine", "pass one of its own with --host") from None
        raise W2WError(f"cannot listen on {host}:{port}: {exc.strerror}", "pass another port with --port N") from None


def lan_address() -> str:
    """The address of the interface of the default route, found offline: a UDP socket's `connect`
    only picks a route and a source address; it sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 9))
            address = probe.getsockname()[0]
        except OSError:
            address = ""
    if not address or address.startswith("0."):
        raise W2WError("no LAN address found (no default route)", "join the venue's network, or pass --host ADDRESS")
    return address


def present(
    project: Project,
    port: int | None = None,
    open_browser: bool = False,
    build: bool = True,
    only: list[str] | None = None,
    audience: bool = False,
    host: str | None = None,
    remote: bool = False,
    recorder=None,
) -> None:
    """Build if stale, then serve until Ctrl-C. Messages go to the `w2w.present` log. With
    `audience`, also on the LAN address (`host`, or the default route's) for the room's phones;
    with `remote`, for the speaker's paired phone too. `recorder` (remote/rehearse.py): the
    rehearsal, written when the server stops."""
    from w2w.artifacts.plan import references
    from w2w.present.app import LiveApi, create_app
    from w2w.present.jobs import Jobs
    from w2w.present.models import live_generators
    from w2w.talk.config import load_talk

    talk, _ = load_talk(project.talk_yaml)
    port = port or talk.live.port
    _build_if_stale(project, build)
    # checks --only; loads nothing (the model process does); without --only, what the talk uses
    entries = live_generators(talk, only, set(references(project, talk)))
    if host and not (audience or remote):
        raise W2WError("--host is the LAN address of --audience and --remote", "add one of them, or drop --host")
    lan = (host or lan_address()) if audience or remote else None
    sockets = _sockets(port, lan)
    token = secrets.token_urlsafe(24)
    requests = {name: entry.generator.LiveRequest for name, entry in entries.items()}
    door = room_door(project, port, token, lan, requests) if lan and audience else None
    api = LiveApi(_model_process(project, talk, entries), requests, Jobs(), talk.live.timeout_s)
    remote_side = _connect(api, door, talk, port, token, lan if remote else None, recorder)
    app = create_app(project.site_dir, api, port, token, door, lan if lan and lan != HOST else None, remote_side)
    url = deck_url(port, token)
    _say_where(url, port, token, door, entries)
    if open_browser:
        import webbrowser

        webbrowser.open(url)  # the socket already listens: the first request waits, it does not fail
    try:
        _serve(app, sockets)
    finally:
        if door:
            _keep_polls(project, door)
        if recorder is not None:
            recorder.finish()


def _connect(api, door, talk, port: int, token: str, remote_lan: str | None, recorder):
    """The room, the remote and the rehearsal told of each other; returns the remote's side (None
    without --remote and --rehearse)."""
    api.room = door.room if door else None
    if door:
        door.room.runnable = api.why_not_now  # a run ordered from the room while the deck cannot run it fails at once
        if recorder is not None:
            recorder.polls = door.room.closed_polls  # the rehearsal's record keeps the polls closed during it
    if remote_lan is None and recorder is None:
        return None
    from w2w.present.remote.start import make_remote

    remote_side = make_remote(talk, port, token, remote_lan, recorder)
    remote_side.pointer = door is not None  # the phone points through the room's pointer route
    return remote_side


def _say_where(url: str, port: int, token: str, door, entries: dict) -> None:
    log.info("deck: %s", url)
    log.info("handout: http://%s:%d/", HOST, port)
    if door:
        log.info("audience: %s", door.audience_url)
        log.info("moderate: http://%s:%d/room/moderate.html#w2w-token=%s", HOST, port, token)
    names = ", ".join(entries) or "none"
    log.info("loading the live models (%s); the slides play their recordings until they are ready.", names)
    log.info("Ctrl-C stops.")


def _keep_polls(project: Project, door) -> None:
    """The talk's closed polls, kept in .w2w/room/polls.json (room/poll.py), said in the log."""
    from w2w.present.room.poll import save_record

    try:
        path = save_record(door.room, door.polls, project.state_dir / "room" / "polls.json")
    except OSError as exc:
        log.warning("the polls' counts could not be kept: %s", exc)
        return
    if path:
        log.info("polls: %d closed, their counts kept in %s", len(door.room.record), path)


def _build_if_stale(project: Project, build: bool) -> None:
    if build:
        why = site_is_stale(project)
        if why:
            from w2w.build import build_site

            log.info("building first (%s)", why)
            build_site(project)  # its progress goes to the `w2w` log, which the CLI shows
    if not (project.site_dir / "slides" / "index.html").is_file():
        raise W2WError(f"no built deck in {project.site_dir}/slides/", "run `w2w build-talk`, or drop --no-build")


def _sockets(port: int, lan: str | None) -> list[socket.socket]:
    """Listening now, on 127.0.0.1 and, with --audience, on the LAN address: a busy port is one
    line before any model loads."""
    sockets = [listen(port)]
    if lan and lan != HOST:
        try:
            sockets.append(listen(port, lan))
        except W2WError:
            sockets[0].close()
            raise
    return sockets


def _model_process(project: Project, talk, entries: dict):
    """The supervised model process, not started yet (the app's lifespan starts it)."""
    from w2w.present.supervisor import ModelProcess, Policy

    policy = Policy(
        step_timeout_s=talk.live.step_timeout_s,
        memory_bytes=talk.live.memory_mb * 2**20,
        restarts=talk.live.restarts,
        restart_window_s=talk.live.restart_window_s,
    )
    # The child loads exactly these (what --only named, or what the talk uses): it is told, not left
    # to decide again from talk.yaml alone.
    return ModelProcess(project.talk_yaml, list(entries), list(entries), policy)


def _serve(app, sockets: list[socket.socket]) -> None:
    import uvicorn

    from w2w.present.limits import KEEP_ALIVE_S, UVICORN_CONNECTIONS, GuardedH11Protocol, door_connections
    from w2w.present.quiet import summarised

    # A deadline on each request head; the door's connections counted apart; w2w's answers (limits.py).
    protocol = type("W2WProtocol", (GuardedH11Protocol,), {"door": door_connections()})
    config = uvicorn.Config(
        app,
        http=protocol,
        ws="none",  # no WebSocket: GuardedH11Protocol refuses an upgrade in w2w's words
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,  # nothing stands in front of this server; X-Forwarded-* would be a lie
        server_header=False,
        limit_concurrency=UVICORN_CONNECTIONS,  # a last resort: w2w's own limits answer long before
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=1,  # Ctrl-C: open streams are closed, not waited for
    )
    summary = summarised()  # repeated lines about clients: one, then a count a minute (quiet.py)
    try:
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        summary.flush()


def room_door(project: Project, port: int, token: str, lan: str, requests: dict):
    """The room (room/door.py): its own token, the deck's slides, the two broadcast channels; on
    each live slide the room may suggest its generator's text input (`requests`: the live ones)."""
    from w2w.present.broadcast import Channel
    from w2w.present.room.deck_slides import read_slides
    from w2w.present.room.door import Door
    from w2w.present.room.state import PHONES_MAX, PHONES_PER_ADDRESS, PRESENTERS_MAX, Room
    from w2w.present.security import own_hosts

    audience_token = secrets.token_urlsafe(24)
    while audience_token == token:  # never the presenter's (a 1 in 2**192 chance, but stated)
        audience_token = secrets.token_urlsafe(24)
    slides = read_slides(project.site_dir / "slides" / "index.html", requests)
    room = Room(slides, Channel("audience", PHONES_MAX, PHONES_PER_ADDRESS), Channel("presenter", PRESENTERS_MAX))
    url = f"http://{lan}:{port}/room/#a={audience_token}"
    hosts = own_hosts(port, (lan,))
    return Door(room, token, audience_token, url, project.site_dir, hosts)
