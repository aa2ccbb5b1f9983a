"""`w2w present`: build if stale, then serve the site and the live API from one uvicorn server.

The server listens on 127.0.0.1 only. The deck URL it prints carries a random per-run token in its
fragment (`#w2w-token=...`): fragments never leave the browser, and the deck moves the token into
sessionStorage and sends it in a header.
"""

from __future__ import annotations

import errno
import gc
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

from ..errors import W2WError
from ..project import Project

HOST = "127.0.0.1"  # never 0.0.0.0: the API runs models for whoever can reach it


def deck_url(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/slides/index.html#w2w-token={token}"


def site_is_stale(project: Project) -> str | None:
    """Why the built site is out of date (None when it is current): missing, a stale artifact, or a
    talk, template or mkdocs.yml file newer than the deck."""
    from ..status import explain

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


def listen(port: int) -> socket.socket:
    """The listening socket, bound before anything loads, so a busy port is a clear error at once."""
    try:
        return socket.create_server((HOST, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise W2WError(f"port {port} on {HOST} is already in use", "pass another one with --port N") from None
        raise W2WError(f"cannot listen on {HOST}:{port}: {exc.strerror}", "pass another port with --port N") from None


def present(
    project: Project,
    port: int | None = None,
    open_browser: bool = False,
    build: bool = True,
    only: list[str] | None = None,
    say: Callable[[str], None] = print,
) -> None:
    from ..config import load_talk

    talk, _ = load_talk(project.talk_yaml)
    port = port or talk.live.port
    if build:
        why = site_is_stale(project)
        if why:
            from ..build import build_site

            say(f"building first ({why})")
            build_site(project)  # its progress goes to the `w2w` log, which the CLI shows
    if not (project.site_dir / "slides" / "index.html").is_file():
        raise W2WError(f"no built deck in {project.site_dir}/slides/", "run `w2w build-talk`, or drop --no-build")

    from .models import LiveModels, live_generators

    entries = live_generators(talk, only)
    sock = listen(port)
    import uvicorn

    from .app import create_app
    from .jobs import Jobs, ModelThread

    token = secrets.token_urlsafe(24)
    live = LiveModels(entries, ModelThread(), Jobs())
    app = create_app(project.site_dir, live, port, token, talk.live.timeout_s, say)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,  # nothing stands in front of this server; X-Forwarded-* would be a lie
        server_header=False,
        limit_concurrency=64,  # connections; more get 503 (the load test uses 20)
        timeout_graceful_shutdown=5,  # Ctrl-C: streams are closed, not waited for
    )
    url = deck_url(port, token)
    say(f"deck: {url}")
    say(f"handout: http://{HOST}:{port}/")
    names = ", ".join(entries) or "none"
    say(f"loading the live models ({names}); the slides play their recordings until they are ready. Ctrl-C stops.")
    if open_browser:
        import webbrowser

        webbrowser.open(url)  # the socket already listens: the first request waits, it does not fail
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        # Exit would otherwise garbage-collect torch's and transformers' objects one by one: with
        # MiniLM loaded, 10.6 s from Ctrl-C to exit without this, 1.8 s with it (2-core CPU, busy).
        gc.freeze()
