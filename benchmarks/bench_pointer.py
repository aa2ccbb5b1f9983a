"""The pointer the room sees (issue 34): one pointer move, from the speaker's POST to its receipt at
each of 500 phones, beside the room's slide change (the broadcast the phones already follow) in
the same run, on the same server and phones.

    python benchmarks/bench_pointer.py [--phones 500] [--changes 40] [--moves-s 10] [--rate 30]

The server is bench_audience.py's: `w2w present --no-build --audience --host 127.0.0.2 --only
token_trace` on a small project with a placeholder deck of 12 slides, pinned to core 1. The phones
are `--phones` plain HTTP/1.1 streams, each from a loopback address of its own (tests/phones.py),
read by a process of their own (pinned to core 0), which notes when each event reached each phone;
the speaker is this process (core 0 too: a phone's CPU is not the laptop's, and neither is the
speaker's mouse). Both processes read the same clock (perf_counter: CLOCK_MONOTONIC, one per
machine), so a receipt minus its POST's start is the latency. Baseline: `--changes` slide changes,
one every 0.25 s (POST /room/api/slide -> `slide` event). Pointer: the laser dot moves `--rate`
times a second (the server's bound per sender, room/pointer.py) for `--moves-s` seconds, each move
a position of its own (x = n / 1000), POST /room/api/pointer -> the `pointer` event with that dot.
A move the server replaced by a later one before its slot (the latest wins) reaches no phone: it
is counted, not timed.

Target (issue 34; not asserted, a shared machine is noisy): a pointer move reaches 500 phones in
<= 150 ms p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import select
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import bench_audience as base  # benchmarks/: the server, the deck, the pinning, the percentiles
from bench_audience import DOOR, pct, pinned, wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _machine import describe  # noqa: E402
from phones import KeptAlive, head, phone_address  # noqa: E402
from talk_factory import make_project  # noqa: E402

EVENT = re.compile(rb'event: (slide|pointer)\r\ndata: \{(?:"key":"(\d+)\.0"|"s":"[\d.]+","dot":\[([0-9.]+),)')
CHANGE_EVERY_S = 0.25
SENDERS = 4


class Phone:
    """One phone's stream, a plain non-blocking socket: `seen[(kind, n)]` gets the times each such
    event was read (a slide's `slide` event comes again each time the speaker comes back to it)."""

    def __init__(self, address: str, port: int, token: str) -> None:
        self.sock = socket.create_connection((DOOR, port), timeout=30, source_address=(address, 0))
        self.sock.sendall(head("GET", "/room/api/stream", f"{DOOR}:{port}", {"X-W2W-Token": token}))
        self.sock.setblocking(False)
        self.seen: dict = {}
        self.received = 0
        self.ready = False
        self.tail = b""

    def read(self, now: float) -> None:
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return
        self.received += len(chunk)
        if not self.ready and b"event: state" in self.tail + chunk:
            self.ready = True
        for kind, key, x in EVENT.findall(self.tail + chunk):
            n = int(key) if kind == b"slide" else round(float(x) * 1000)
            self.seen.setdefault((kind.decode(), n), []).append(now)
        self.tail = chunk[-160:]


def phones_process(port: int, token: str, n: int, ready, stop, results) -> None:
    """The phones, in a process of their own reading with epoll (a phone's CPU is its own: a plain
    loop spends about a fifth of asyncio's per read, so this process is not what is measured):
    every phone's receipts, the bytes each read, and this process's CPU seconds while measured."""
    if pinned():
        os.sched_setaffinity(0, base.CLIENT_CORES)
    poll, phones = select.epoll(), {}
    for i in range(0, n, 50):  # in bursts of 50, as bench_audience opens them
        burst = [Phone(phone_address(j), port, token) for j in range(i, min(n, i + 50))]
        for phone in burst:
            phones[phone.sock.fileno()] = phone
            poll.register(phone.sock.fileno(), select.EPOLLIN)
        while not all(phone.ready for phone in burst):
            for fd, _ in poll.poll(1.0):
                phones[fd].read(time.perf_counter())
    ready.set()
    cpu = time.process_time()
    while not stop.is_set():
        for fd, _ in poll.poll(0.05):
            phones[fd].read(time.perf_counter())
    cpu = time.process_time() - cpu
    results.put(([sorted(p.seen.items()) for p in phones.values()], [p.received for p in phones.values()], cpu))


async def send(conn: KeptAlive, presenter: str, path: str, body: dict) -> float:
    """The speaker's POST on a kept-alive connection; the time it was started."""
    data = json.dumps(body).encode()
    headers = {"X-W2W-Token": presenter, "Content-Type": "application/json"}
    started = time.perf_counter()
    reply = await conn.request("POST", path, headers, data)
    assert reply.status == 200, reply
    return started


def cpu_s(pid: int) -> float:
    """The server process's CPU time so far (user + system; its model process not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def speaker(port: int, pid: int, presenter: str, args) -> tuple[dict, dict, float, list[float]]:
    """The slide changes, then the pointer's moves at its rate: when each POST started. The moves
    go out on the clock, each on the first of SENDERS kept-alive connections that is free, so that
    one slow answer does not hold back the rate (the deck keeps one request in flight; a busy
    machine would then send fewer moves, each as fast)."""
    conn = KeptAlive("127.0.0.1", "127.0.0.1", port)
    changes, moves, cpu = {}, {}, [cpu_s(pid)]
    for c in range(args.changes):
        h = c % (base.SLIDES - 1) + 1
        changes[(c, h)] = await send(conn, presenter, "/room/api/slide", {"h": h, "v": 0, "f": -1})
        await asyncio.sleep(CHANGE_EVERY_S)
    await asyncio.sleep(0.5)
    cpu.append(cpu_s(pid))
    free: asyncio.Queue = asyncio.Queue()
    for _ in range(SENDERS):
        free.put_nowait(KeptAlive("127.0.0.1", "127.0.0.1", port))

    async def move(m: int) -> None:
        sender = await free.get()
        moves[m] = await send(sender, presenter, "/room/api/pointer", {"dot": [m / 1000, 0.5]})
        free.put_nowait(sender)

    began, tasks = time.perf_counter(), []
    for m in range(1, int(args.moves_s * args.rate) + 1):
        await asyncio.sleep(max(0.0, began + m / args.rate - time.perf_counter()))
        tasks.append(asyncio.create_task(move(m)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - began
    await asyncio.sleep(0.5)
    cpu.append(cpu_s(pid))
    conn.close()
    while not free.empty():
        free.get_nowait().close()
    return changes, moves, seconds, cpu


def superseded(moves: dict, seen: list[dict]) -> list[float]:
    """Every move, sent on or replaced: when each phone first had it or a later one (the latest
    wins, so a replaced move's position is superseded when the next one sent on arrives), in ms."""
    out = []
    for phone_seen in seen:
        got = {n: min(times) for (kind, n), times in phone_seen.items() if kind == "pointer"}
        first = float("inf")
        for m in sorted(moves, reverse=True):
            first = min(first, got.get(m, float("inf")))
            if first != float("inf"):
                out.append((first - moves[m]) * 1000)
    return out


def latencies(sent: dict, seen: list[dict], kind: str) -> tuple[list[float], int]:
    """Each phone's first receipt of each event after its POST started, in ms; and the events
    no phone got. `sent`: n -> (its key in the phones' receipts, when its POST started)."""
    out, missed = [], 0
    for key, started in sent.values():
        after = ([t for t in s.get((kind, key), ()) if t >= started] for s in seen)
        times = [min(got) for got in after if got]
        missed += not times
        out += [(t - started) * 1000 for t in times]
    return out, missed


def bench(port: int, pid: int, presenter: str, audience: str, args) -> None:
    asyncio.run(wait_ready(port, presenter))
    context = multiprocessing.get_context("fork")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=phones_process, args=(port, audience, args.phones, ready, stop, results))
    process.start()
    if not ready.wait(300):
        sys.exit("the phones did not all connect in 300 s")
    time.sleep(1.0)
    changes, moves, seconds, cpu = asyncio.run(speaker(port, pid, presenter, args))
    stop.set()
    seen_lists, received, phones_cpu = results.get(timeout=300)
    process.join(60)
    seen = [dict(s) for s in seen_lists]
    slide_ms, _ = latencies({c: (h, t) for (c, h), t in changes.items()}, seen, "slide")
    move_ms, move_missed = latencies({m: (m, t) for m, t in moves.items()}, seen, "pointer")
    every_ms = superseded(moves, seen)
    sent_on = len({n for s in seen for (kind, n) in s if kind == "pointer"})
    print(f"{args.phones} phones following; {len(changes)} slide changes, then {len(moves)} pointer moves in")
    print(f"{seconds:.1f} s ({len(moves) / seconds:.1f}/s): {sent_on} pointer events sent on to the phones,")
    print(f"{move_missed} moves replaced by a later one before their slot (the latest wins)")
    print("| event | p50 ms | p99 ms | max ms | receipts | server CPU per event (its POSTs included) |")
    print("|---|---|---|---|---|---|")
    rows = (
        ("slide change (baseline)", slide_ms, (cpu[1] - cpu[0]) / len(changes)),
        ("pointer move sent on", move_ms, (cpu[2] - cpu[1]) / max(1, sent_on)),
        ("every pointer move, it or a later one", every_ms, None),
    )
    for name, got, per in rows:
        spent = f"{per * 1000:.1f} ms" if per is not None else "—"
        print(f"| {name} | {pct(got, 0.5):.1f} | {pct(got, 0.99):.1f} | {pct(got, 1.0):.1f} | {len(got)} | {spent} |")
    print(f"pointer p99 / slide change p99 = {pct(move_ms, 0.99) / pct(slide_ms, 0.99):.2f}x (sent on), ", end="")
    print(f"{pct(every_ms, 0.99) / pct(slide_ms, 0.99):.2f}x (every move)")
    print(f"bytes read per phone: mean {sum(received) / len(received):.0f} over the run; the phones' process")
    print(f"used {phones_cpu:.2f} s of CPU in the {seconds + len(changes) * CHANGE_EVERY_S:.0f} s measured")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=500)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--moves-s", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=30.0)
    args = parser.parse_args()
    if pinned():
        os.sched_setaffinity(0, base.CLIENT_CORES)
    where = f"server on core {base.SERVER_CORES}, phones and speaker on core {base.CLIENT_CORES}" if pinned() else ""
    print(f"machine: {describe()}; {where or 'nothing pinned'}; load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory(prefix="w2w-bench-pointer-") as tmp:
        root = make_project(Path(tmp))
        (root / "site" / "slides").mkdir(parents=True)
        (root / "site" / "slides" / "index.html").write_text(base.DECK)
        port = base.free_port()
        proc, presenter, audience = base.start(root, port, Path(tmp) / "server.log")
        try:
            bench(port, proc.pid, presenter, audience, args)
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(120)
            log = (Path(tmp) / "server.log").read_text()
            print(f"server's log: {log.count('Traceback')} tracebacks, {log.count('stopped reading')} phones dropped")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
