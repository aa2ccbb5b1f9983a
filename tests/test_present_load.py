"""Bounded load on a real `w2w present` (real MiniLM on CPU): 20 concurrent clients x 10 requests.

Every request is answered (200 with a whole stream, or 429 with a message), no stream carries
another request's events, the server stays up, its counters add up, and its memory settles.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from live_server import LiveServer, embedding_request, read_events

CLIENTS, PER_CLIENT = 20, 10
# One word per client, so each stream's content shows whose request it answers.
WORDS = [
    "dog",
    "puppy",
    "cat",
    "kitten",
    "banana",
    "apple",
    "car",
    "truck",
    "token",
    "pixel",
    "noise",
    "painter",
    "storyteller",
    "image",
    "sentence",
    "river",
    "music",
    "robot",
    "cloud",
    "tree",
]
RSS_GROWTH_MAX = 64 * 2**20  # bytes; a leak of a stream's buffers per request would pass this in 200


@pytest.fixture(scope="module")
def server(mini_server):
    return mini_server  # the session's shared server (conftest): its counters are read as changes


def one_request(server: LiveServer, word: str) -> dict:
    conn = server.connect(timeout=600)
    try:
        conn.request(
            "POST",
            "/api/live/embedding_plot",
            json.dumps(embedding_request([word])).encode(),
            server.auth(**{"Content-Type": "application/json"}),
        )
        response = conn.getresponse()
        result = {"word": word, "status": response.status, "request_id": response.getheader("x-w2w-request-id")}
        if response.status == 200:
            result["events"] = read_events(response)
        else:
            result["body"] = response.read()
        return result
    finally:
        conn.close()


def load(server: LiveServer, clients: int, per_client: int) -> list[dict]:
    def client(i: int) -> list[dict]:
        return [one_request(server, WORDS[i % len(WORDS)]) for _ in range(per_client)]

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client, i) for i in range(clients)]
        return [result for future in futures for result in future.result(timeout=1800)]


def check(results: list[dict]) -> tuple[int, int]:
    ok = [r for r in results if r["status"] == 200]
    busy = [r for r in results if r["status"] == 429]
    assert len(ok) + len(busy) == len(results), {r["status"] for r in results}
    for r in busy:
        message = json.loads(r["body"])["message"]
        assert message.startswith("busy:") and "\n" not in message
    for r in ok:
        events = r["events"]
        assert events and events[-1]["event"] == "done", events
        assert [e["event"] for e in events[:-1]] == ["step"] * (len(events) - 1)
        assert {e["data"]["request_id"] for e in events} == {r["request_id"]}  # never another stream's event
        assert r["word"] in json.dumps([e["data"] for e in events if e["event"] == "step"], ensure_ascii=False)
    assert len({r["request_id"] for r in ok}) == len(ok)
    return len(ok), len(busy)


def test_twenty_clients_ten_requests_each(server):
    before = server.status()["jobs"]
    warm_ok, warm_busy = check(load(server, CLIENTS, 2))  # first allocations: thread stacks, buffers
    baseline = server.rss_bytes()

    ok, busy = check(load(server, CLIENTS, PER_CLIENT))
    assert ok >= 1 and ok + busy == CLIENTS * PER_CLIENT
    assert server.proc.poll() is None

    jobs = server.status()["jobs"]
    assert jobs["started"] - before["started"] == jobs["finished"] - before["finished"] == warm_ok + ok
    assert jobs["refused"] - before["refused"] == warm_busy + busy and jobs["running"] is None and jobs["waiting"] == 0
    growth = server.rss_bytes() - baseline
    print(
        f"load: {ok} streams + {busy} busy of {CLIENTS * PER_CLIENT}; RSS {baseline / 2**20:.0f} MiB, "
        f"{growth / 2**20:+.1f} MiB after"
    )
    assert growth < RSS_GROWTH_MAX, f"RSS grew {growth / 2**20:.1f} MiB over {ok} streams"
