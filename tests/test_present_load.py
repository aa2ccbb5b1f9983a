"""Bounded load on a real `w2w present` (real MiniLM on CPU): 20 clients, each sending 10 requests
one after another, all at once.

The rule (README, `w2w present`): one live run at a time and two waiting; a request beyond those is
answered 429 `busy: …` at once. What is checked, with no timing asserted (the client's clock only
orders its own events):

- every answer is a whole stream of this request's own events ending in `done` for its word, the
  same content for the same word, or a 429 whose JSON message is the one-line busy message;
- never more than 1 + 2 admitted: /api/live/status, sampled all through the load (running +
  waiting), and the job counters add up to the answers;
- no request refused while fewer than three were admitted: the server admits a request after the
  client sends it and releases it before the client reads the end of its stream, so for every 429
  there is a moment, between sending it and reading the refusal, inside three other clients'
  successful requests (each from its send to the end of its stream). So at least as many succeed as
  the rule admits; and three requests sent together to the idle server are all admitted;
- the server stays up and its memory settles.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from live_server import LiveServer, embedding_request, read_events

pytestmark = [pytest.mark.build, pytest.mark.server]

RUNNING_MAX, WAITING_MAX = 1, 2  # the README's rule, written here, not read from the code under test
ADMITTED_MAX = RUNNING_MAX + WAITING_MAX
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
IDLE_WAIT_S = 300  # bounds a wait for the shared server to finish an earlier test's run, not a timing


@pytest.fixture(scope="module")
def server(mini_server):
    return mini_server  # the session's shared server (conftest): its counters are read as changes


@dataclass
class Answer:
    client: int
    word: str
    sent: float  # monotonic, just before the request is sent: before the server admits or refuses it
    ended: float  # after the end of the answer is read: after the server released an admitted one
    status: int
    request_id: str | None
    events: list[dict] | None = None
    body: bytes | None = None


def one_request(server: LiveServer, client: int) -> Answer:
    word = WORDS[client % len(WORDS)]
    conn = server.connect(timeout=600)
    try:
        sent = time.monotonic()
        conn.request(
            "POST",
            "/api/live/embedding_plot",
            json.dumps(embedding_request([word])).encode(),
            server.auth(**{"Content-Type": "application/json"}),
        )
        response = conn.getresponse()
        answer = Answer(client, word, sent, 0.0, response.status, response.getheader("x-w2w-request-id"))
        if response.status == 200:
            answer.events = read_events(response)  # to the end of the stream
        else:
            answer.body = response.read()
        answer.ended = time.monotonic()
        return answer
    finally:
        conn.close()


def load(server: LiveServer, clients: int, per_client: int) -> list[Answer]:
    """`clients` threads at once, each sending `per_client` requests one after another."""

    def client(i: int) -> list[Answer]:
        return [one_request(server, i) for _ in range(per_client)]

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client, i) for i in range(clients)]
        return [answer for future in futures for answer in future.result(timeout=1800)]


class StatusSamples(threading.Thread):
    """/api/live/status read again and again until stopped: the server's own count of what it has
    admitted (running + waiting), seen from outside while the load runs."""

    def __init__(self, server: LiveServer) -> None:
        super().__init__(name="status-samples", daemon=True)
        self.server, self.jobs, self.error = server, [], None
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            while not self.finished.is_set():
                self.jobs.append(self.server.status()["jobs"])
                self.finished.wait(0.01)  # paces the sampling; nothing depends on when a sample lands
        except BaseException as exc:  # reported by stop(), on the test's thread
            self.error = exc

    def stop(self) -> list[dict]:
        self.finished.set()
        self.join()
        if self.error:
            raise self.error
        return self.jobs


def wait_idle(server: LiveServer) -> dict:
    deadline = time.monotonic() + IDLE_WAIT_S
    while ((jobs := server.status()["jobs"])["running"] or jobs["waiting"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert jobs["running"] is None and jobs["waiting"] == 0, jobs
    return jobs


def check_answers(answers: list[Answer]) -> tuple[list[Answer], list[Answer]]:
    """Every answer is a whole stream of its own request or a busy refusal; (streams, refusals)."""
    ok = [a for a in answers if a.status == 200]
    busy = [a for a in answers if a.status == 429]
    assert len(ok) + len(busy) == len(answers), sorted({a.status for a in answers})
    for answer in busy:
        message = json.loads(answer.body)["message"]
        assert message.startswith("busy:") and "\n" not in message, message
    content: dict[str, list] = {}
    for answer in ok:
        kinds = [e["event"] for e in answer.events]
        assert kinds == ["step", "done"], kinds  # one word: one step, then done
        assert {e["data"]["request_id"] for e in answer.events} == {answer.request_id}  # never another stream's
        step, done = (e["data"] for e in answer.events)
        assert step["word"] == answer.word and done["words"] == [answer.word], (answer.word, step, done)
        step = {k: step[k] for k in ("word", "point", "similarity", "nearest")}
        assert content.setdefault(answer.word, step) == step  # the same word, the same answer
    assert len({a.request_id for a in ok}) == len(ok)
    return ok, busy


def refusals_without_a_full_house(ok: list[Answer], busy: list[Answer]) -> list[Answer]:
    """The 429s with no moment (between their send and their answer) inside ADMITTED_MAX other
    successful requests. The coverage of closed intervals is highest at the start of the window or
    at an interval's start inside it, so those moments are the ones to look at."""
    unjustified = []
    for refused in busy:
        around = [a for a in ok if a.client != refused.client and a.sent <= refused.ended and a.ended >= refused.sent]
        moments = [refused.sent] + [a.sent for a in around if refused.sent <= a.sent <= refused.ended]
        if not any(sum(a.sent <= m <= a.ended for a in around) >= ADMITTED_MAX for m in moments):
            unjustified.append(refused)
    return unjustified


def test_twenty_clients_ten_requests_each(server):
    before = wait_idle(server)

    # The idle server admits as many as the rule allows: three sent together all stream.
    with ThreadPoolExecutor(ADMITTED_MAX) as pool:
        first = list(pool.map(lambda i: one_request(server, i), range(ADMITTED_MAX)))
    assert [a.status for a in first] == [200] * ADMITTED_MAX, [(a.status, a.body) for a in first]
    check_answers(first)

    warm_ok, warm_busy = check_answers(load(server, CLIENTS, 2))  # first allocations: thread stacks, buffers
    baseline = server.rss_bytes()

    samples = StatusSamples(server)
    samples.start()
    try:
        answers = load(server, CLIENTS, PER_CLIENT)
    finally:
        jobs_seen = samples.stop()
    ok, busy = check_answers(answers)
    assert len(answers) == CLIENTS * PER_CLIENT and server.proc.poll() is None

    # Never more admitted than the rule allows, in any sample of the server's own counts.
    assert jobs_seen
    for jobs in jobs_seen:
        running = jobs["running"] is not None
        assert jobs["started"] - jobs["finished"] == running, jobs  # one run at a time
        assert running + jobs["waiting"] <= ADMITTED_MAX, jobs
    # No refusal while a place was free.
    unjustified = refusals_without_a_full_house(ok, busy)
    assert not unjustified, f"{len(unjustified)} of {len(busy)} refusals came with fewer than {ADMITTED_MAX} admitted"

    jobs = wait_idle(server)
    streams, refusals = len(first) + len(warm_ok) + len(ok), len(warm_busy) + len(busy)
    assert jobs["started"] - before["started"] == jobs["finished"] - before["finished"] == streams
    assert jobs["refused"] - before["refused"] == refusals and jobs["stopped"] == before["stopped"]
    growth = server.rss_bytes() - baseline
    most = max(j["waiting"] + (j["running"] is not None) for j in jobs_seen)
    print(
        f"load: {len(ok)} streams + {len(busy)} busy of {CLIENTS * PER_CLIENT}; at most {most} admitted in "
        f"{len(jobs_seen)} samples; RSS {baseline / 2**20:.0f} MiB, {growth / 2**20:+.1f} MiB after"
    )
    assert growth < RSS_GROWTH_MAX, f"RSS grew {growth / 2**20:.1f} MiB over {len(ok)} streams"
