"""The room's fan-out (`w2w present --audience`): slide change -> every phone, at 50, 200 and 500
concurrent audience streams; the server's memory per stream; the stage's live tokens/s with 500
idle streams open against none; and a vote storm with 1000 phones following (issue 31).

    python benchmarks/bench_audience.py [--parts fanout,tokens,storm] [--streams 50,200,500]
        [--changes 20] [--tokens 32] [--repeats 3] [--phones 1000] [--storm-s 10]

The server runs as `w2w present --no-build --audience --host 127.0.0.2 --only token_trace` on a
small project (tests/talk_factory's talk with a placeholder deck of 12 slides: the room reads its
slides from the deck). Its door is 127.0.0.2; each phone is a plain HTTP/1.1 connection bound to
a loopback source address of its own (127.x.y.1, tests/phones.py), reading its SSE stream as a
phone's fetch does; the presenter is 127.0.0.1. CPU: the server (and its model process) is pinned
to core 1, the phones, voters and the presenter's probe to core 0 (a room's phones would not share
the laptop's CPU); where the machine has one core, nothing is pinned. Latency: the presenter's
POST /room/api/slide is sent -> the `slide` event is read by a phone, for every phone and every
change. RSS: the server process's VmRSS (not the model process's) with the streams open, minus
before.

The storm: 20 approved questions, `--phones` phones following from an address each; then for
`--storm-s` seconds every phone votes once (spread over the storm) and four hostile addresses
vote as fast as they can, four kept-alive connections each, every vote under a made-up device id,
while the presenter's deck polls /api/live/status (its own process, every 50 ms) and the speaker
changes the slide every 0.5 s. Reported against the same calm minute before it: the status p99,
a slide change's p99 to all phones, and the bytes each phone read per second.

Targets (issue 23; not asserted, a shared machine is noisy): 500 streams, p99 <= 250 ms, RSS growth
<= 100 MB, live tokens/s with 500 idle streams >= 0.9x none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
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
from phones import KeptAlive, fetch, head, phone_address  # noqa: E402
from talk_factory import make_project  # noqa: E402

SLIDES = 12
DECK = (
    "<!doctype html><title>bench</title><div class='reveal'><div class='slides'>"
    + "".join(f"<section id='s{i}'><h2>Slide {i}</h2></section>" for i in range(SLIDES))
    + "</div></div></body>"
)
DOOR = "127.0.0.2"  # the audience's door; the presenter is 127.0.0.1
QUESTIONS = 20
QUESTION = "Would the same model, trained on twice the pictures, draw the circle above the square more often? {n}"
HOSTILE_ADDRESSES, HOSTILE_CONNECTIONS = 4, 4
PROBE_EVERY_S = 0.05
CHANGE_EVERY_S = 0.5
SLIDE_EVENT = re.compile(rb'event: slide\r\ndata: \{"key":"(\d+\.\d+)"')
SERVER_CORES, CLIENT_CORES = {1}, {0}


def pinned() -> bool:
    return hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2


def start(root: Path, port: int, log: Path) -> tuple[subprocess.Popen, str, str]:
    cmd = [sys.executable, "-m", "w2w", "present", "--no-build", "--port", str(port)]
    cmd += ["--audience", "--host", DOOR, "--only", "token_trace"]
    pin = (lambda: os.sched_setaffinity(0, SERVER_CORES)) if pinned() else None  # the model process inherits it
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, cwd=root, stdout=handle, stderr=subprocess.STDOUT, preexec_fn=pin)
    while True:
        text = log.read_text()
        found = re.search(r"#w2w-token=([A-Za-z0-9_-]+)", text), re.search(r"#a=([A-Za-z0-9_-]+)", text)
        if all(found):
            return proc, found[0].group(1), found[1].group(1)
        if proc.poll() is not None:
            sys.exit(f"w2w present exited:\n{text}")
        time.sleep(0.05)


async def request(port: int, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, bytes]:
    """The presenter's request, on 127.0.0.1."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"X-W2W-Token": token, **({"Content-Type": "application/json"} if body is not None else {})}
    reply = await fetch("127.0.0.1", "127.0.0.1", port, method, path, headers, data)
    return reply.status, reply.body


class Phone:
    """One audience stream from an address of its own; `seen[key]` is when the `slide` event for
    that slide was read, `received` every byte read after the answer's head."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.seen: dict[str, float] = {}
        self.received = 0
        self.ended = False
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.writer = None

    async def run(self, port: int, token: str) -> None:
        reader, self.writer = await asyncio.open_connection(DOOR, port, local_addr=(self.address, 0))
        self.writer.write(head("GET", "/room/api/stream", f"{DOOR}:{port}", {"X-W2W-Token": token}))
        answer = await reader.readuntil(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.1 200"):
            sys.exit(f"a phone's stream was refused: {answer[:200]!r}")
        tail = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                self.ended = True
                return
            self.received += len(chunk)
            now = time.perf_counter()
            if not self.ready.is_set() and b"event: state" in tail + chunk:
                self.ready.set()
            for found in SLIDE_EVENT.finditer(tail + chunk):
                self.seen.setdefault(found.group(1).decode(), now)
            tail = chunk[-64:]

    def close(self) -> None:
        if self.writer:
            self.writer.close()
        if self.task:
            self.task.cancel()


async def open_phones(port: int, token: str, n: int, first: int = 0) -> list[Phone]:
    phones = [Phone(phone_address(first + i)) for i in range(n)]
    for i in range(0, n, 50):  # in bursts of 50: the listening socket's backlog is 2048, far above
        for phone in phones[i : i + 50]:
            phone.task = asyncio.create_task(phone.run(port, token))
        await asyncio.gather(*(p.ready.wait() for p in phones[i : i + 50]))
    return phones


async def change_slide(port: int, presenter: str, phones: list[Phone], h: int, refused: list | None = None):
    """One slide change: the latency to each phone still following, in ms; a refusal (a status
    other than 200) is added to `refused` when given, else it stops the benchmark."""
    key = f"{h}.0"
    for phone in phones:
        phone.seen.pop(key, None)
    sent = time.perf_counter()
    status, body = await request(port, "POST", "/room/api/slide", presenter, {"h": h, "v": 0, "f": -1})
    if status != 200 and refused is not None:
        refused.append(status)
        return []
    assert status == 200, body
    following = [p for p in phones if not p.ended]
    while any(key not in p.seen for p in following if not p.ended):
        await asyncio.sleep(0.002)
    return [(p.seen[key] - sent) * 1000 for p in following if key in p.seen]


async def fan_out(port: int, presenter: str, phones: list[Phone], changes: int, start_at: int) -> list[float]:
    latencies = []
    for change in range(changes):
        latencies += await change_slide(port, presenter, phones, (start_at + change) % SLIDES)
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
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fanout_part(port: int, pid: int, presenter: str, audience: str, args) -> None:
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


async def tokens_part(port: int, presenter: str, audience: str, args) -> None:
    """Tokens/s on stage, 500 idle streams open against none, alternating."""
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


def probe(port: int, presenter: str, stop, results) -> None:
    """The presenter's deck polling its status (a process of its own, so that the phones' event
    loop does not delay it): one kept-alive connection, a request every PROBE_EVERY_S, each timed."""
    import http.client

    conn, times, statuses = http.client.HTTPConnection("127.0.0.1", port, timeout=60), [], []
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.request("GET", "/api/live/status", headers={"X-W2W-Token": presenter})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        except (OSError, http.client.HTTPException):
            statuses.append(0)
            conn.close()
        times.append((time.perf_counter() - started) * 1000)
        stop.wait(PROBE_EVERY_S)
    results.put((times, statuses))


class Probe:
    def __init__(self, port: int, presenter: str) -> None:
        context = multiprocessing.get_context("fork")
        self.stop, self.results = context.Event(), context.Queue()
        self.process = context.Process(target=probe, args=(port, presenter, self.stop, self.results))

    def __enter__(self):
        self.process.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.times, self.statuses = self.results.get(timeout=120)
        self.process.join(30)


async def moderation(port: int, presenter: str) -> dict:
    """The moderation state, the first event of the presenter's stream."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head("GET", "/room/api/presenter", f"127.0.0.1:{port}", {"X-W2W-Token": presenter}))
    data = b""
    while b"\r\n\r\n" not in data.split(b"event: queue", 1)[-1] or b"event: queue" not in data:
        data += await reader.read(65536)
    writer.close()
    block = data.split(b"event: queue", 1)[1].split(b"\r\n\r\n", 1)[0]
    return json.loads(block.split(b"data: ", 1)[1])


async def room_with_questions(port: int, presenter: str, audience: str) -> list[str]:
    """QUESTIONS approved questions, each asked from an address of its own."""
    ids = []
    headers = {"X-W2W-Token": audience, "Content-Type": "application/json"}
    for n in range(QUESTIONS):
        body = json.dumps({"device": f"asking-phone-{n:05d}", "text": QUESTION.format(n=n)}).encode()
        reply = await fetch(f"127.9.0.{n + 1}", DOOR, port, "POST", "/room/api/ask", headers, body)
        assert reply.status == 202, reply
        ids.append(json.loads(reply.body)["id"])
        approve = {"id": ids[-1], "action": "approve"}
        status, answer = await request(port, "POST", "/room/api/moderate", presenter, approve)
        assert status == 200, answer
    return ids


class Votes:
    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def honest_votes(port: int, audience: str, phones: list[Phone], ids: list[str], seconds: float, votes: Votes):
    """Each phone votes once, for a question of its own choosing, the votes spread over `seconds`."""
    headers = {"X-W2W-Token": audience, "Content-Type": "application/json"}
    began = time.perf_counter()

    async def one(i: int, phone: Phone) -> None:
        await asyncio.sleep(began + seconds * i / len(phones) - time.perf_counter())
        body = json.dumps({"device": f"honest-phone-{i:05d}", "id": ids[i % len(ids)]}).encode()
        try:
            votes.count((await fetch(phone.address, DOOR, port, "POST", "/room/api/vote", headers, body)).status)
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            votes.count(0)

    await asyncio.gather(*(one(i, phone) for i, phone in enumerate(phones)))


async def hostile_votes(port: int, audience: str, ids: list[str], until: float, votes: Votes) -> None:
    """HOSTILE_ADDRESSES addresses, HOSTILE_CONNECTIONS kept-alive connections each, voting as fast
    as the server answers, every vote under a made-up device id."""
    headers = {"X-W2W-Token": audience, "Content-Type": "application/json"}
    made_up = iter(range(10**9))

    async def loop(address: str) -> None:
        conn = KeptAlive(address, DOOR, port)
        while time.perf_counter() < until:
            body = json.dumps({"device": f"made-up-{next(made_up):012d}", "id": random.choice(ids)}).encode()
            try:
                votes.count((await conn.request("POST", "/room/api/vote", headers, body)).status)
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                votes.count(0)
                conn.close()
        conn.close()

    addresses = [f"127.8.0.{a + 1}" for a in range(HOSTILE_ADDRESSES)]
    await asyncio.gather(*(loop(address) for address in addresses for _ in range(HOSTILE_CONNECTIONS)))


async def phase(port: int, presenter: str, phones: list[Phone], seconds: float, load) -> dict:
    """`seconds` of slide changes every CHANGE_EVERY_S while `load` runs (None: calm), with the
    presenter's status probe beside it; what each phone read meanwhile."""
    read_before = [p.received for p in phones]
    latencies, h, refused, changes = [], 0, [], 0
    with Probe(port, presenter) as probe_run:
        began = time.perf_counter()
        running = asyncio.ensure_future(load) if load is not None else None
        while time.perf_counter() - began < seconds:
            h = h % (SLIDES - 1) + 1
            latencies += await change_slide(port, presenter, phones, h, refused)
            changes += 1
            await asyncio.sleep(max(0.0, CHANGE_EVERY_S - (time.perf_counter() - began) % CHANGE_EVERY_S))
        if running is not None:
            await running
        elapsed = time.perf_counter() - began
    per_phone = [(p.received - b) / elapsed for p, b in zip(phones, read_before, strict=True)]
    return {
        "status": probe_run.times,
        "status_codes": sorted(set(probe_run.statuses)),
        "slide": latencies,
        "bytes": per_phone,
        "ended": sum(p.ended for p in phones),
        "changes": f"{changes - len(refused)} of {changes}" + (f", HTTP {sorted(set(refused))}" if refused else ""),
    }


async def storm_part(port: int, presenter: str, audience: str, args) -> None:
    ids = await room_with_questions(port, presenter, audience)
    phones = await open_phones(port, audience, args.phones)
    state_bytes = len(json.dumps((await moderation(port, presenter))["questions"], separators=(",", ":")))
    print(f"{args.phones} phones following, {QUESTIONS} approved questions (about {state_bytes} bytes of them)")
    calm = await phase(port, presenter, phones, args.storm_s, None)
    votes = Votes()
    until = time.perf_counter() + args.storm_s
    load = asyncio.gather(
        honest_votes(port, audience, phones, ids, args.storm_s, votes), hostile_votes(port, audience, ids, until, votes)
    )
    storm = await phase(port, presenter, phones, args.storm_s, load)
    after = await moderation(port, presenter)
    counted = sum(q["votes"] for q in after["questions"])
    answers = dict(sorted(votes.statuses.items()))
    print(f"votes sent {sum(votes.statuses.values())}: answers {answers}; counted {counted}")
    print(
        "| phase | status p50 / p99 / max ms | slide changes served | to every phone p50 / p99 / max ms "
        "| bytes per phone per s, mean / max | streams ended |"
    )
    print("|---|---|---|---|---|---|")
    for name, got in (("calm", calm), ("vote storm", storm)):
        status, slide, sent = got["status"], got["slide"], got["bytes"]
        print(
            f"| {name} | {pct(status, 0.5):.1f} / {pct(status, 0.99):.1f} / {max(status):.1f} "
            f"(HTTP {got['status_codes']}, {len(status)} polls) | {got['changes']} | {pct(slide, 0.5):.1f} / "
            f"{pct(slide, 0.99):.1f} / {pct(slide, 1.0):.1f} | {statistics.mean(sent):.0f} / {max(sent):.0f} "
            f"| {got['ended']} |"
        )
    for phone in phones:
        phone.close()


async def bench(port: int, pid: int, presenter: str, audience: str, args) -> None:
    await wait_ready(port, presenter)
    if "fanout" in args.parts:
        await fanout_part(port, pid, presenter, audience, args)
    if "tokens" in args.parts:
        await tokens_part(port, presenter, audience, args)
    if "storm" in args.parts:
        await storm_part(port, presenter, audience, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="fanout,tokens,storm", type=lambda s: s.split(","))
    parser.add_argument("--streams", default="50,200,500", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--storm-s", type=float, default=10.0)
    args = parser.parse_args()
    if pinned():
        os.sched_setaffinity(0, CLIENT_CORES)
    where = f"server on core {SERVER_CORES}, clients on core {CLIENT_CORES}" if pinned() else "nothing pinned"
    print(f"machine: {describe()}; {where}; load average {os.getloadavg()[0]:.2f} at the start")
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
            log = (Path(tmp) / "server.log").read_text()
            print(f"server's log: {log.count('Traceback')} tracebacks, {log.count('stopped reading')} phones dropped")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
