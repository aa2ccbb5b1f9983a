"""Setting the remote up for `w2w present` (server.py): the pairing's first code, said in the
terminal with its QR code (the speaker's own screen; never the projected deck or a phone's page),
and the Remote that serves it all."""

from __future__ import annotations

import io
import logging

from w2w.present.remote.pairing import CODE_S, Pairing
from w2w.present.remote.rehearse import Recorder
from w2w.present.remote.routes import Remote
from w2w.present.security import own_hosts

log = logging.getLogger("w2w.present")


def make_remote(talk, port: int, token: str, lan: str | None, recorder: Recorder | None) -> Remote:
    """The remote's routes: with `lan` (--remote) pairing is open, on the LAN address; without it
    (--rehearse alone) only the deck's reports reach the recorder, which learns the talk's agenda."""
    if recorder is not None:
        recorder.configure(talk)
    pairing = Pairing() if lan else None
    url = f"http://{lan}:{port}/remote/" if lan else ""
    hosts = own_hosts(port, (lan,) if lan else ())
    remote = Remote(token, hosts, pairing, url, recorder)
    if pairing is not None:
        code = pairing.new_code().value
        log.info("remote: on the phone open %s and type %s (valid %d min, once)", url, code, CODE_S // 60)
        log.info("remote: the speaker view (S on the deck) shows the code and its QR, makes new ones, revokes")
        qr = terminal_qr(f"{url}#pair={code}")
        log.info("remote: this QR code opens the phone's page with the code in it:\n%s", qr)
    if recorder is not None:
        log.info("rehearsal: recording each slide's time; the file and its table come when you stop")
    return remote


def terminal_qr(text: str) -> str:
    """The QR code as text for the terminal (segno's half-block characters)."""
    import segno

    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")
