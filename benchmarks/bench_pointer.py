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
import signal
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


async def phone(address: str, port: int, token: str, seen: dict, ready: asyncio.Event, counts: list) -> None:
    """One phone's stream: `seen[(kind, n)]` gets the times each such event was read (a slide's
    `slide` event comes again each time the speaker comes back to it)."""
    reader, writer = await asyncio.open_connection(DOOR, port, local_addr=(address, 0))
    writer.write(head("GET", "/room/api/stream", f"{DOOR}:{port}", {"X-W2W-Token": token}))
    tail = b""
    try:
        while chunk := await reader.read(65536):
            now = time.perf_counter()
            counts[0] += len(chunk)
            if not ready.is_set() and b"event: state" in tail + chunk:
                ready.set()
            for kind, key, x in EVENT.findall(tail + chunk):
                n = int(key) if kind == b"slide" else round(float(x) * 1000)
                seen.setdefault((kind.decode(), n), []).append(now)
            tail = chunk[-160:]
    finally:
        writer.close()


def phones_process(port: int, token: str, n: int, ready, stop, results) -> None:
    """The phones, in a process of their own: every phone's receipts, and the bytes each read."""
    if pinned():
        os.sched_setaffinity(0, base.CLIENT_CORES)

    async def main() -> None:
        seen = [{} for _ in range(n)]
        counts = [[0] for _ in range(n)]
        events = [asyncio.Event() for _ in range(n)]
        tasks = []
        for i in range(0, n, 50):  # in bursts of 50, as bench_audience opens them
            for j in range(i, min(n, i + 50)):
                tasks.append(asyncio.create_task(phone(phone_address(j), port, token, seen[j], events[j], counts[j])))
            await asyncio.gather(*(e.wait() for e in events[i : i + 50]))
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        results.put(([sorted(s.items()) for s in seen], [c[0] for c in counts]))

    asyncio.run(main())


async def send(conn: KeptAlive, presenter: str, path: str, body: dict) -> float:
    """The speaker's POST on a kept-alive connection; the time it was started."""
    data = json.dumps(body).encode()
    headers = {"X-W2W-Token": presenter, "Content-Type": "application/json"}
    started = time.perf_counter()
    reply = await conn.request("POST", path, headers, data)
    assert reply.status == 200, reply
    return started


async def speaker(port: int, presenter: str, args) -> tuple[dict, dict, float]:
    """The slide changes, then the pointer's moves at its rate: when each POST started. The moves
    go out on the clock, each on the first of SENDERS kept-alive connections that is free, so that
    one slow answer does not hold back the rate (the deck keeps one request in flight; a busy
    machine would then send fewer moves, each as fast)."""
    conn = KeptAlive("127.0.0.1", "127.0.0.1", port)
    changes, moves = {}, {}
    for c in range(args.changes):
        h = c % (base.SLIDES - 1) + 1
        changes[(c, h)] = await send(conn, presenter, "/room/api/slide", {"h": h, "v": 0, "f": -1})
        await asyncio.sleep(CHANGE_EVERY_S)
    await asyncio.sleep(0.5)
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
    conn.close()
    while not free.empty():
        free.get_nowait().close()
    return changes, moves, seconds


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


def bench(port: int, presenter: str, audience: str, args) -> None:
    asyncio.run(wait_ready(port, presenter))
    context = multiprocessing.get_context("fork")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=phones_process, args=(port, audience, args.phones, ready, stop, results))
    process.start()
    if not ready.wait(300):
        sys.exit("the phones did not all connect in 300 s")
    time.sleep(1.0)
    changes, moves, seconds = asyncio.run(speaker(port, presenter, args))
    stop.set()
    seen_lists, received = results.get(timeout=300)
    process.join(60)
    seen = [dict(s) for s in seen_lists]
    slide_ms, _ = latencies({c: (h, t) for (c, h), t in changes.items()}, seen, "slide")
    move_ms, move_missed = latencies({m: (m, t) for m, t in moves.items()}, seen, "pointer")
    print(f"{args.phones} phones following; {len(changes)} slide changes, then {len(moves)} pointer moves in")
    rate = len(moves) / seconds
    print(f"{seconds:.1f} s ({rate:.1f}/s); {move_missed} moves replaced by a later one (the latest wins)")
    print("| event | p50 ms | p99 ms | max ms | receipts |")
    print("|---|---|---|---|---|")
    for name, got in (("slide change (baseline)", slide_ms), ("pointer move", move_ms)):
        print(f"| {name} | {pct(got, 0.5):.1f} | {pct(got, 0.99):.1f} | {pct(got, 1.0):.1f} | {len(got)} |")
    print(f"pointer p99 / slide change p99 = {pct(move_ms, 0.99) / pct(slide_ms, 0.99):.2f}x")
    print(f"bytes read per phone: mean {sum(received) / len(received):.0f} over the run")


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
            bench(port, presenter, audience, args)
        finally:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(120)
            log = (Path(tmp) / "server.log").read_text()
            print(f"server's log: {log.count('Traceback')} tracebacks, {log.count('stopped reading')} phones dropped")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
