"""The room's fan-out (`w2w present --audience`): slide change -> every phone, at 50, 200 and 500
concurrent audience streams; the server's memory per stream; and the stage's live tokens/s with
500 idle streams open against none, in one run.

    python benchmarks/bench_audience.py [--streams 50,200,500] [--changes 20] [--tokens 32] [--repeats 3]

The server runs as `w2w present --no-build --audience --host 127.0.0.1 --only token_trace` on a
small project (tests/talk_factory's talk with a placeholder deck of 12 slides: the room reads its
slides from the deck). The phones are one asyncio process here, each a plain HTTP/1.1 connection
reading its SSE stream, as a phone's fetch does; they share the 2 cores with the server, which a
room's phones would not. Latency: the presenter's POST /room/api/slide is sent -> the `slide` event
is read by a phone, for every phone and every change. RSS: the server process's VmRSS (not the
model process's) with the streams open, minus before.

Targets (issue 23; not asserted, a shared machine is noisy): 500 streams, p99 <= 250 ms, RSS growth
<= 100 MB, live tokens/s with 500 idle streams >= 0.9x none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _machine import describe  # noqa: E402
from live_server import free_port  # noqa: E402
from talk_factory import make_project  # noqa: E402

SLIDES = 12
DECK = (
    "<!doctype html><title>bench</title><div class='reveal'><div class='slides'>"
    + "".join(f"<section id='s{i}'><h2>Slide {i}</h2></section>" for i in range(SLIDES))
    + "</div></div></body>"
)


def start(root: Path, port: int, log: Path) -> tuple[subprocess.Popen, str, str]:
    cmd = [sys.executable, "-m", "w2w", "present", "--no-build", "--port", str(port)]
    cmd += ["--audience", "--host", "127.0.0.1", "--only", "token_trace"]
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, cwd=root, stdout=handle, stderr=subprocess.STDOUT)
    while True:
        text = log.read_text()
        found = re.search(r"#w2w-token=([A-Za-z0-9_-]+)", text), re.search(r"#a=([A-Za-z0-9_-]+)", text)
        if all(found):
            return proc, found[0].group(1), found[1].group(1)
        if proc.poll() is not None:
            sys.exit(f"w2w present exited:\n{text}")
        time.sleep(0.05)


async def request(port: int, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-W2W-Token: {token}\r\nConnection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    writer.write(head.encode() + b"\r\n" + data)
    raw = await reader.read()
    writer.close()
    return int(raw.split(b" ", 2)[1]), raw.split(b"\r\n\r\n", 1)[1]


class Phone:
    """One audience stream; `seen[key]` is when the `slide` event for that slide was read."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.writer = None

    async def run(self, port: int, token: str) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"GET /room/api/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-W2W-Token: {token}\r\n\r\n"
        self.writer.write(head.encode())
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                block, buffer = buffer.split(b"\r\n\r\n", 1)
                if b"event: state" in block:
                    self.ready.set()
                elif b"event: slide" in block:
                    data = json.loads(block.split(b"data: ", 1)[1].split(b"\r\n", 1)[0])
                    self.seen[data["key"]] = time.perf_counter()

    def close(self) -> None:
        if self.writer:
            self.writer.close()
        if self.task:
            self.task.cancel()


async def open_phones(port: int, token: str, n: int) -> list[Phone]:
    phones = [Phone() for _ in range(n)]
    for i in range(0, n, 50):  # in bursts of 50: the listening socket's backlog is 2048, far above
        for phone in phones[i : i + 50]:
            phone.task = asyncio.create_task(phone.run(port, token))
        await asyncio.gather(*(p.ready.wait() for p in phones[i : i + 50]))
    return phones


async def fan_out(port: int, presenter: str, phones: list[Phone], changes: int, start_at: int) -> list[float]:
    latencies = []
    for change in range(changes):
        h = (start_at + change) % SLIDES
        key = f"{h}.0"
        sent = time.perf_counter()
        status, body = await request(port, "POST", "/room/api/slide", presenter, {"h": h, "v": 0, "f": -1})
        assert status == 200, body
        while any(key not in p.seen or p.seen[key] < sent for p in phones):
            await asyncio.sleep(0.002)
        latencies += [(p.seen[key] - sent) * 1000 for p in phones]
        await asyncio.sleep(0.05)
    return latencies


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def tokens_per_second(port: int, presenter: str, tokens: int) -> float:
    from w2w.plugins import registry
    from w2w_generators.token_trace.generator import TokenTraceInputs

    body = registry.get("token_trace").live_request(TokenTraceInputs()).model_dump(mode="json")
    body.update(max_new_tokens=tokens, stop="eos")
    started = time.perf_counter()
    status, raw = await request(port, "POST", "/api/live/token_trace", presenter, body)
    seconds = time.perf_counter() - started
    assert status == 200, raw
    done = [line for line in raw.decode().splitlines() if line.startswith("data:") and '"type": "done"' in line]
    done = json.loads(done[-1][5:])
    return done["tokens_per_second"], done["new_tokens"] / seconds


async def wait_ready(port: int, presenter: str) -> None:
    while True:
        status, body = await request(port, "GET", "/api/live/status", presenter)
        if status == 200 and json.loads(body)["ready"]:
            return
        await asyncio.sleep(0.5)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(port: int, pid: int, presenter: str, audience: str, args) -> None:
    await wait_ready(port, presenter)
    base = rss(pid)
    print(f"server RSS before any stream: {base / 2**20:.1f} MiB")
    print("| streams | p50 ms | p99 ms | max ms | RSS growth MiB | KiB per stream |")
    print("|---|---|---|---|---|---|")
    for n in args.streams:
        phones = await open_phones(port, audience, n)
        await asyncio.sleep(0.5)
        grown = rss(pid) - base
        lat = await fan_out(port, presenter, phones, args.changes, start_at=1)
        print(
            f"| {n} | {pct(lat, 0.5):.1f} | {pct(lat, 0.99):.1f} | {max(lat):.1f} | {grown / 2**20:.1f} "
            f"| {grown / n / 1024:.0f} |"
        )
        for phone in phones:
            phone.close()
        await asyncio.sleep(1.0)
    # Tokens/s on stage, 500 idle streams open against none, alternating.
    idle, busy, idle_client, busy_client = [], [], [], []
    await tokens_per_second(port, presenter, args.tokens)  # a warm-up
    for _ in range(args.repeats):
        server_side, client_side = await tokens_per_second(port, presenter, args.tokens)
        idle.append(server_side)
        idle_client.append(client_side)
        phones = await open_phones(port, audience, max(args.streams))
        await asyncio.sleep(0.5)
        server_side, client_side = await tokens_per_second(port, presenter, args.tokens)
        busy.append(server_side)
        busy_client.append(client_side)
        for phone in phones:
            phone.close()
        await asyncio.sleep(1.0)
    none, many = statistics.median(idle), statistics.median(busy)
    print(
        f"tokens/s on stage ({args.tokens} tokens, server's figure, median of {args.repeats}): "
        f"none {none:.1f}, {max(args.streams)} idle streams {many:.1f} = {many / none:.2f}x; client-timed "
        f"{statistics.median(idle_client):.1f} vs {statistics.median(busy_client):.1f} "
        f"= {statistics.median(busy_client) / statistics.median(idle_client):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="50,200,500", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {describe()}; load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory(prefix="w2w-bench-audience-") as tmp:
        root = make_project(Path(tmp))
        (root / "site" / "slides").mkdir(parents=True)
        (root / "site" / "slides" / "index.html").write_text(DECK)
        port = free_port()
        proc, presenter, audience = start(root, port, Path(tmp) / "server.log")
        try:
            asyncio.run(bench(port, proc.pid, presenter, audience, args))
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(120)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
