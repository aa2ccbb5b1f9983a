"""The deck as `w2w present --remote` or `--rehearse` serves it: slides/index.html with the
remote's deck script (and the room's, with --audience) before `</body>`, as served only; the
built file is unchanged and opens from file:// with no request. These routes come before the
room's own (which add the room's script alone), so a served deck carries each script once.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

REMOTE_SCRIPT = b'<script src="/remote/deck.js"></script>\n'


class ServedDeck:
    def __init__(self, site_dir: Path, scripts: bytes) -> None:
        self.path = site_dir / "slides" / "index.html"
        self.scripts = scripts
        self._cached: tuple[float, bytes] | None = None

    async def deck(self, request: Request) -> Response:
        mtime = self.path.stat().st_mtime
        if self._cached is None or self._cached[0] != mtime:
            html = self.path.read_bytes()
            at = html.rfind(b"</body>")
            served = html[:at] + self.scripts + html[at:] if at >= 0 else html + self.scripts
            self._cached = (mtime, served)
        return HTMLResponse(self._cached[1], headers={"cache-control": "no-store"})

    def routes(self) -> list[Route]:
        return [
            Route("/slides/", self.deck, methods=["GET", "HEAD"]),
            Route("/slides/index.html", self.deck, methods=["GET", "HEAD"]),
        ]
