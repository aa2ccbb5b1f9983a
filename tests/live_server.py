"""A real `w2w present` for tests: started as a subprocess on a free loopback port, stopped by pid.

Plain http.client (stdlib) is the client: it sends exactly what a test writes (a foreign Host, a
broken body, chunked uploads), and reads an event stream line by line.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 600  # bounds for a failing test, not timings: the 2-core test machine is shared
READY_SECONDS = 900
MINI_TALK_WORDS = ["dog", "puppy", "banana"]  # talk_factory's embedding_plot words


def require_live(*names: str) -> None:
    """These generators say `live = True` (w2w/plugins/protocol.py), else the test cannot run: it
    fails under CI=true (a checkout whose generators lost their live half is broken) and skips
    elsewhere (requires.py)."""
    from requires import require

    from w2w.plugins import registry

    missing = [name for name in names if not registry.get(name).live]
    require(
        not missing,
        f"{', '.join(missing)} are not live generators in this checkout",
        "give them live = True and the live half that docs/live-protocol.md describes",
    )


def alive(pid: int) -> bool:
    """The process runs (a zombie has ended: only its exit status waits to be read)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def files_under(*directories: Path) -> dict:
    """path -> (size, mtime) of every file under these directories: what a live run must not touch."""
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns)
        for d in directories
        if d.is_dir()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class LiveServer:
    proc: subprocess.Popen
    port: int
    token: str
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def deck_url(self) -> str:
        """The deck with this server's token, as `w2w present` prints it."""
        return f"http://{self.host}/slides/index.html#w2w-token={self.token}"

    def auth(self, **extra: str) -> dict[str, str]:
        return {"X-W2W-Token": self.token, **extra}

    def connect(self, timeout: float = 120) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 120
    ) -> Reply:
        return _exchange(self.connect(timeout), method, path, body, headers)

    def post(self, generator: str, payload, headers: dict | None = None) -> Reply:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request(
            "POST", f"/api/live/{generator}", body, self.auth(**{"Content-Type": "application/json", **(headers or {})})
        )

    def status(self) -> dict:
        reply = self.request("GET", "/api/live/status", headers=self.auth())
        assert reply.status == 200, reply
        return reply.json()

    def wait_ready(self, *names: str) -> dict:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited:\n{self.log.read_text()}"
            status = self.status()
            entries = status["generators"]
            wanted = names or tuple(entries)
            failed = [f"{n}: {entries[n]['error']}" for n in wanted if entries.get(n, {}).get("error")]
            assert not failed, failed
            if all(entries.get(n, {}).get("ready") for n in wanted):
                return status
            time.sleep(0.5)
        raise AssertionError(f"not ready after {READY_SECONDS} s:\n{self.log.read_text()}")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def listening_addresses(self) -> set[str]:
        """Local addresses (ip:port, hex as in /proc/net/tcp) this server listens on, IPv4 and IPv6."""
        inodes = set()
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        found = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                    found.add(fields[1])
        return found

    def stop(self, sig: int = signal.SIGINT, wait: float = 120) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        return self.proc.returncode


AUDIENCE_LAN = "127.0.0.2"  # the audience door in tests: a loopback address standing in for the LAN


def start(
    root: Path, log: Path, *args: str, build: bool = False, env: dict | None = None, prefix: list[str] | None = None
) -> LiveServer:
    """`w2w present --no-build` (or, with build=True, plain `w2w present`, which builds a stale site
    first) on a free port; returns once the deck URL (with its token) is printed. `prefix`: a
    command that runs it (setpriv, to drop a capability)."""
    port = free_port()
    handle = log.open("w")
    command = [sys.executable, "-m", "w2w", "present", *([] if build else ["--no-build"]), "--port", str(port)]
    proc = subprocess.Popen(
        [*(prefix or []), *command, *args],
        cwd=root,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    handle.close()
    deadline = time.monotonic() + START_SECONDS
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/slides/index\.html#w2w-token=([A-Za-z0-9_-]+)")
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text())
        if found:
            return LiveServer(proc, port, found.group(1), log)
        if proc.poll() is not None:
            raise AssertionError(f"w2w present exited {proc.returncode}:\n{log.read_text()}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"no deck URL after {START_SECONDS} s:\n{log.read_text()}")


def embedding_request(words) -> dict:
    """The embedding slide's request as the deck sends it (the generator's own prefill for the mini
    talk's plotted words), with other typed words."""
    from w2w.plugins import registry
    from w2w_generators.embedding_plot.generator import EmbeddingInputs

    base = registry.get("embedding_plot").live_request(EmbeddingInputs(words=MINI_TALK_WORDS))
    return {**base.model_dump(mode="json"), "words": words}


def read_events(response: http.client.HTTPResponse) -> list[dict]:
    """Parse a text/event-stream until it ends: [{"event": ..., "data": <parsed JSON>}, ...]."""
    return list(iter_events(response))


def iter_events(response: http.client.HTTPResponse):
    event, data = None, []
    while True:
        line = response.readline()
        if not line:
            return
        line = line.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield {"event": event or "message", "data": json.loads("\n".join(data))}
            event, data = None, []
        elif line.startswith(":"):
            continue  # a keep-alive comment
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def log_match(server: LiveServer, pattern: str) -> re.Match:
    """The first match of `pattern` in the server's output, waiting for the line to be written."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = re.search(pattern, server.log.read_text())
        if found:
            return found
        assert server.proc.poll() is None, f"server exited:\n{server.log.read_text()}"
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in the log:\n{server.log.read_text()}")


def log_mark(server: LiveServer) -> int:
    """Where the server's output ends now: what `assert_no_traceback` reads from."""
    return len(server.log.read_bytes())


def assert_no_traceback(server: LiveServer, since: int = 0) -> None:
    """No traceback in the server's output after `since` (a test's refusals are answers, not crashes)."""
    written = server.log.read_bytes()[since:].decode("utf-8", "replace")
    assert "Traceback" not in written, written[-4000:]


def request_from(
    source: str, port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None, to=None
) -> Reply:
    """One request from the loopback address `source` (127.0.0.2, ...), to 127.0.0.1 or `to`: a
    second phone's own address, for the per-address limits."""
    conn = http.client.HTTPConnection(to or "127.0.0.1", port, timeout=120, source_address=(source, 0))
    return _exchange(conn, method, path, body, headers)


def _exchange(conn: http.client.HTTPConnection, method: str, path: str, body, headers) -> Reply:
    """One request on `conn`, its whole reply read, the connection closed."""
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def first_event(server: LiveServer, path: str, token: str, host: str = "127.0.0.1") -> dict:
    """The first event of a room stream (its state), then the stream is closed."""
    conn = http.client.HTTPConnection(host, server.port, timeout=120)
    try:
        conn.request("GET", path, headers={"X-W2W-Token": token})
        response = conn.getresponse()
        assert response.status == 200, (response.status, response.read())
        return next(iter_events(response))
    finally:
        conn.close()


def start_on_a_copy(built: Path, tmp_path_factory, *only: str) -> LiveServer:
    """`w2w present --audience --only …` on a copy of a built talk (the real models of `only` in its
    model process), ready; `audience_token` is the phones' token. The model test files each share
    one for their module: a start loads the models (10-20 s of the suite)."""
    root = tmp_path_factory.mktemp("live-" + "-".join(only)) / "talk"
    shutil.copytree(built, root, symlinks=True)
    log = tmp_path_factory.mktemp("present") / "server.log"
    live = start(root, log, "--audience", "--host", AUDIENCE_LAN, *(a for name in only for a in ("--only", name)))
    found = log_match(live, rf"audience: http://{re.escape(AUDIENCE_LAN)}:\d+/room/#a=([A-Za-z0-9_-]+)")
    live.audience_token = found[1]
    live.wait_ready()
    return live


def post_json(server: LiveServer, path: str, payload: dict, token: str, source: str) -> Reply:
    """A JSON POST with `token`, from the loopback address `source` (a phone: 127.0.0.11, ...)."""
    headers = {"X-W2W-Token": token, "Content-Type": "application/json"}
    return request_from(source, server.port, "POST", path, json.dumps(payload).encode(), headers)


def suggest_and_run(server: LiveServer, slide: str, text: str, device: str, source: str = "127.0.0.11") -> str:
    """A phone (at `source`, its `device` id) suggests `text` for `slide`; the speaker runs it. The
    suggestion's id. One address may suggest once every 10 s: tests sharing a server use their own."""
    suggestion = {"device": device * 16, "slide": slide, "text": text}
    item = post_json(server, "/room/api/suggest", suggestion, server.audience_token, source)
    assert item.status == 202, item.body
    ran = post_json(server, "/room/api/moderate", {"id": item.json()["id"], "action": "run"}, server.token, "127.0.0.1")
    assert ran.status == 200 and ran.json()["state"] == "running", ran.body
    return item.json()["id"]


@contextmanager
def live_deck_at(chromium, server: LiveServer, live: str):
    """The speaker's deck from `server` (1280x720), once its models are ready, on the slide that
    holds `[data-w2w-live=live]`: yields (page, that element's locator). On leaving, the page had no
    script error, and it is closed."""
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.deck_url)
        page.wait_for_function("document.getElementById('w2w-live-status').dataset.state === 'live'")
        box = f"document.querySelector('[data-w2w-live=\"{live}\"]')"
        page.evaluate(f"() => {{ const i = Reveal.getIndices({box}.closest('section')); Reveal.slide(i.h, i.v); }}")
        yield page, page.locator(f'[data-w2w-live="{live}"]')
        assert errors == []
    finally:
        page.close()
