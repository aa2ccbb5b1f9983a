"""The speaker's terminal stays quiet whatever a client does (issue 31, item 3): a real `w2w
present --audience` with no model (the `ticker` plug-in, plugin_generators.py), its room's door on
127.0.0.2. Each client below misbehaves in one way; each gets an answer in w2w's words (or, gone,
none), and the server's output shows no traceback for any of it, no uvicorn advice, and at most
one line per kind of trouble. The last test stops the server and reads its whole output.

An unreadable site file needs a server that cannot read it: as root (the test machine), files
are readable whatever their mode, so the server runs without the two capabilities that let root
ignore a file's permissions (setpriv, util-linux).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import time

import pytest
from live_server import AUDIENCE_LAN, LiveServer, request_from
from plugin_generators import serve

from w2w.present.quiet import Summary

pytestmark = [pytest.mark.build, pytest.mark.server]

WAIT_S = 120  # bounds for a failing test on the shared 2-core machine, not timings
NO_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture(scope="module")
def server(mini_build, tmp_path_factory):
    prefix = NO_DAC if os.geteuid() == 0 and shutil.which("setpriv") else None
    args = ("--only", "ticker", "--audience", "--host", AUDIENCE_LAN)
    live = serve(mini_build, tmp_path_factory.mktemp("quiet"), *args, prefix=prefix)
    live.audience_token = _audience_token(live)
    live.root_is_limited = prefix is not None or os.geteuid() != 0
    yield live
    live.stop(signal.SIGKILL)


def _audience_token(live: LiveServer) -> str:
    import re

    return re.search(r"/room/#a=([A-Za-z0-9_-]+)", live.log.read_text()).group(1)


def raw(server: LiveServer, data: bytes, to: str = AUDIENCE_LAN) -> bytes:
    """Send bytes as they are on a new connection, read the whole answer until the server closes."""
    with socket.create_connection((to, server.port), timeout=WAIT_S) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def head(server: LiveServer, method: str, path: str, token: str, length: int, to: str = AUDIENCE_LAN) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: {to}:{server.port}\r\nX-W2W-Token: {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def one_line(answer: bytes, status: int) -> str:
    top, _, body = answer.partition(b"\r\n\r\n")
    assert top.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    assert b"content-type: application/json" in top.lower(), top
    message = json.loads(body)["message"]
    assert message and "\n" not in message
    return message


def quiet_so_far(server: LiveServer) -> str:
    output = server.log.read_text()
    noises = ("Traceback", "ERROR:", "Exception in ASGI", "pip install", "Invalid HTTP request", "Unsupported upgrade")
    for noise in noises:
        assert noise not in output, output[-4000:]
    return output


def test_deep_json_is_a_400_in_w2w_words(server):
    deep = b'{"device": "deep-json-phone-01", "text": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    answer = raw(server, head(server, "POST", "/room/api/ask", server.audience_token, len(deep)) + deep)
    assert "nested too deeply" in one_line(answer, 400)
    body = b'{"steps": ' + b"[" * 3000 + b"]" * 3000 + b"}"  # the presenter's API reads JSON the same way
    reply = server.post("ticker", body)
    assert reply.status == 400 and "nested too deeply" in reply.json()["message"]
    quiet_so_far(server)


def test_an_upload_dropped_mid_body_is_silent(server):
    for to, path, token in (
        (AUDIENCE_LAN, "/room/api/ask", server.audience_token),
        ("127.0.0.1", "/api/live/ticker", server.token),
    ):
        with socket.create_connection((to, server.port), timeout=WAIT_S) as sock:
            sock.sendall(head(server, "POST", path, token, 1000, to) + b'{"device": "dropped-upload-01"')
    # The server reads on: its next answers come, and nothing about the two went to the terminal.
    assert server.request("GET", "/api/live/status", headers=server.auth()).status == 200
    quiet_so_far(server)


def test_a_websocket_upgrade_is_refused_in_w2w_words(server):
    upgrade = (
        "GET {path} HTTP/1.1\r\nHost: {to}:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    for to, path in ((AUDIENCE_LAN, "/room/api/stream"), (AUDIENCE_LAN, "/room/"), ("127.0.0.1", "/api/live/status")):
        answer = raw(server, upgrade.format(path=path, to=to, port=server.port).encode(), to)
        assert "no WebSocket here" in one_line(answer, 400)
    quiet_so_far(server)


def test_a_malformed_request_head_is_refused_in_w2w_words(server):
    tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"  # a TLS hello, sent to plain HTTP
    for junk in (b"GARBAGE\x00 / HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", tls):
        assert "malformed HTTP request" in one_line(raw(server, junk), 400)
    assert server.request("GET", "/slides/index.html").status == 200  # and it serves on
    quiet_so_far(server)


def test_a_phone_that_stops_reading_is_dropped_with_one_line(server):
    """A phone follows the room but reads nothing, on a small window with small segments (the
    server's socket then buffers some 15 KB, not the megabytes loopback's 64 KB segments allow);
    the speaker then approves questions of 280 four-byte characters, each an event of some 1.2 KB
    to every phone, until the buffers fill, a send waits, and after the door's send deadline (10 s)
    the server drops the stream with one line."""
    audience, presenter = server.audience_token, server.token
    phone = socket.socket()
    phone.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # a small window, as on bad Wi-Fi
    phone.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 88)
    phone.bind((AUDIENCE_LAN, 0))
    phone.settimeout(WAIT_S)
    phone.connect((AUDIENCE_LAN, server.port))
    stream = f"GET /room/api/stream HTTP/1.1\r\nHost: {AUDIENCE_LAN}:{server.port}\r\nX-W2W-Token: {audience}\r\n\r\n"
    phone.sendall(stream.encode())
    assert phone.recv(12) == b"HTTP/1.1 200"
    # Questions until the server says it dropped the stream: the room sends phones coalesced
    # changes, so how many fill the buffers depends on timing; at most 600, within WAIT_S of the last.
    deadline = time.monotonic() + WAIT_S
    for i in range(600):
        if "stopped reading" in server.log.read_text():
            break
        question = {"device": f"slow-phone-{i:04d}-xx", "text": "😀" * 279 + str(i % 10)}
        source = f"127.0.{2 + i // 250}.{i % 250 + 1}"  # one question per address per 10 s
        asked = send(server, "/room/api/ask", question, audience, source)
        assert asked.status == 202, asked.body
        approve = {"id": asked.json()["id"], "action": "approve"}
        approved = send(server, "/room/api/moderate", approve, presenter, "127.0.0.1", "127.0.0.1")
        assert approved.status == 200, approved.body
        deadline = time.monotonic() + WAIT_S
    while "stopped reading" not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()[-3000:]
        time.sleep(0.2)
    # The server closed the stream: the phone reads what was buffered, then the end.
    while phone.recv(1 << 20):
        pass
    phone.close()
    output = quiet_so_far(server)
    lines = [line for line in output.splitlines() if "stopped reading" in line]
    assert lines == [f"warning: dropped a stream that stopped reading ({AUDIENCE_LAN}, /room/api/stream)"], lines


def send(server: LiveServer, path: str, payload: dict, token: str, source: str, to: str = AUDIENCE_LAN):
    headers = {"X-W2W-Token": token, "Content-Type": "application/json"}
    return request_from(source, server.port, "POST", path, json.dumps(payload).encode(), headers, to=to)


def test_an_unreadable_site_file_is_a_500_in_w2w_words_with_one_line(server):
    if not server.root_is_limited:
        pytest.skip("running as root without setpriv: the server can read any file")
    picture = server.root / "site" / "slides" / "artifacts" / "embedding_plot" / "plot.png"  # the words slide's figure
    path = "/" + str(picture.relative_to(server.root / "site"))
    picture.chmod(0)
    try:
        for _ in range(3):  # the deck asks again and again: one line, then a count a minute
            reply = server.request("GET", path)
            assert reply.status == 500 and reply.headers["content-type"] == "application/json", reply
            assert reply.json()["message"] == (
                "the server cannot read this file (permission denied) — see the terminal running `w2w present`"
            )
    finally:
        picture.chmod(0o644)
    assert server.request("GET", path).status == 200
    lines = [line for line in quiet_so_far(server).splitlines() if "cannot read" in line]
    assert lines == [f"warning: cannot read {os.path.realpath(picture)} (permission denied): answered 500"], lines


def test_the_terminal_stayed_quiet(server):
    """Stopped, the server says its held-back counts; nothing in its whole output is a traceback."""
    assert server.stop(signal.SIGINT, wait=WAIT_S) == 130
    output = quiet_so_far(server)
    if server.root_is_limited:
        assert "cannot read" in output and "(3 in the last minute)" in output  # said at the stop
    assert output.rstrip().endswith("stopped"), output[-2000:]


def test_a_summary_holds_back_repeats_and_counts_them():
    """quiet.Summary in this process: the first record of a kind passes, the rest of its minute are
    counted and said once, with the last one's words; another kind is not held back."""
    logger = logging.getLogger("w2w.test.summary")
    summary, said = Summary(window_s=WAIT_S), []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    logger.addFilter(summary)
    logger.addHandler(Keep())
    logger.propagate = False
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        logger.warning("dropped the stream of %s", address)
    logger.warning("cannot read %s", "a.png")
    assert said == ["dropped the stream of 10.0.0.1", "cannot read a.png"]
    summary.flush()
    assert said[2:] == ["dropped the stream of 10.0.0.3 (3 in the last minute)"]  # a.png came once: nothing more
    logger.warning("dropped the stream of %s", "10.0.0.4")  # a new minute: said at once again
    assert said[3:] == ["dropped the stream of 10.0.0.4"]
    summary.flush()
