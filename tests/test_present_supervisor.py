"""The model process under supervision (w2w/present/supervisor.py), on a real `w2w present` of its
own: MiniLM (a real model, on the CPU) and two test plug-ins with no model (plugin_generators.py:
`ticker` streams known steps, `memory_hog` allocates). Each test freezes, kills or starves the
model process by pid and checks what the client, /status, the deck and the process table show.
The tests run in file order on one server; the give-up test has a server of its own. Ctrl-C
during a run is tested with SmolLM2 generating (test_present_models.py).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from live_server import LiveServer, alive, embedding_request, iter_events
from plugin_generators import serve

pytestmark = [pytest.mark.build, pytest.mark.server]

STEP_TIMEOUT_S = 6  # past the heartbeat's 3 s (supervisor.SILENT_S), so the two are told apart
MEMORY_MB = 2048  # the child with MiniLM loaded: about 500 MB resident, 620 MB of private data
RESTARTS = 2  # deaths within the window before it gives up: the third is the end (back-off 0.5 s, then 1 s)
WAIT_S = 120  # bounds for a failing test on the shared 2-core machine, not timings


def supervised(mini_build, directory: Path, *only: str) -> LiveServer:
    """`w2w present --only ...` on a copy of the mini talk with the test plug-ins and tight limits."""
    live = {"step_timeout_s": STEP_TIMEOUT_S, "memory_mb": MEMORY_MB, "restarts": RESTARTS}
    return serve(mini_build, directory, *[arg for name in only for arg in ("--only", name)], live=live)


@pytest.fixture(scope="module")
def server(mini_build, tmp_path_factory):
    live = supervised(mini_build, tmp_path_factory.mktemp("supervised"), "embedding_plot", "ticker", "memory_hog")
    yield live
    live.stop(signal.SIGKILL)


def ticker(server: LiveServer, steps: int, step_s: float, events: list, started: threading.Event | None = None):
    """Stream a ticker run on a thread of its own, appending each event to `events`."""

    def read() -> None:
        conn = server.connect(timeout=WAIT_S)
        body = json.dumps({"steps": steps, "step_s": step_s}).encode()
        conn.request("POST", "/api/live/ticker", body, server.auth(**{"Content-Type": "application/json"}))
        response = conn.getresponse()
        events.append({"status": response.status})
        for event in iter_events(response):
            events.append(event)
            if started is not None:
                started.set()
        conn.close()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def wait_for(predicate, what: str, server: LiveServer):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        assert server.proc.poll() is None, server.log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {WAIT_S} s\n{server.log.read_text()[-3000:]}")


def mapped(pid: int, library: str) -> bool:
    return library in Path(f"/proc/{pid}/maps").read_text()


def test_the_server_holds_no_torch_and_the_model_process_does(server):
    status = server.status()
    child = status["pid"]
    assert status["state"] == "ready" and status["restarts"] == 0 and child != server.proc.pid
    assert not mapped(server.proc.pid, "libtorch")
    assert mapped(child, "libtorch")  # MiniLM runs there
    # A plain `w2w present` (no --audience): 127.0.0.1 only, no room, the deck served as built.
    assert server.listening_addresses() == {f"0100007F:{server.port:04X}"}
    assert server.request("GET", "/room/").status == 404
    assert server.request("GET", "/room/api/stream", headers=server.auth()).status == 404
    assert b"door.js" not in server.request("GET", "/slides/index.html").body


def test_a_stopped_idle_model_process_shows_at_once_and_recovers_when_continued(server):
    """No run needs it: the heartbeat alone shows the hang, pushed on the deck's status stream, and a
    run is refused with the reason at once; continued, the same process is ready again."""
    status = server.status()
    pid, restarts = status["pid"], status["restarts"]
    conn = server.connect(timeout=WAIT_S)
    try:
        conn.request("GET", "/api/live/watch", headers=server.auth())
        watch = iter_events(conn.getresponse())
        assert next(watch)["data"]["state"] == "ready"  # the status now, then one event per change
        os.kill(pid, signal.SIGSTOP)
        try:
            hung = next(watch)["data"]
            assert hung["state"] == "not answering" and not hung["ready"], hung
            assert hung["reason"] == "the model process stopped answering (no heartbeat for 3 s)"
            refused = server.post("ticker", {"steps": 1})
            assert (
                refused.status == 503
                and refused.json()["message"] == f"{hung['reason']} (the slide plays its recording)"
            )
        finally:
            os.kill(pid, signal.SIGCONT)
        again = next(watch)["data"]
        assert again["state"] == "ready" and again["ready"] and again["pid"] == pid and again["restarts"] == restarts
    finally:
        conn.close()
    assert "the model process answers again" in server.log.read_text()


def test_a_model_process_stopped_mid_run_ends_the_run_at_once_and_is_replaced(server):
    before = server.status()["pid"]
    events, started = [], threading.Event()
    thread = ticker(server, steps=10_000, step_s=0.05, events=events, started=started)
    assert started.wait(WAIT_S)
    os.kill(before, signal.SIGSTOP)  # a step that never returns, as a hung kernel would look
    thread.join(WAIT_S)
    assert not thread.is_alive()
    # The heartbeat ends the stream with the reason, before the step deadline (6 s) comes.
    error = events[-1]
    assert error["event"] == "error", events[-3:]
    assert error["data"]["message"] == "ticker failed: the model process stopped answering (no heartbeat for 3 s)"
    assert len(events) > 2  # it ran, then it stopped: the error is the stream's end
    status = server.status()  # not LIVE, and why: silent, or past the step deadline and being replaced
    assert not status["ready"] and ("stopped answering" in status["reason"] or "step_timeout_s" in status["reason"])
    # It stays stopped: the run it owes passes the step deadline, and the process is replaced.
    wait_for(lambda: "ran past live.step_timeout_s (6 s)" in server.log.read_text(), "the step deadline", server)
    refused = server.post("ticker", {"steps": 1})
    if refused.status != 200:  # the new one is still loading: a w2w 503 the slide can show
        assert refused.status == 503 and refused.headers["retry-after"] and "model process" in refused.json()["message"]
    wait_for(lambda: server.status()["ready"], "ready again", server)
    assert server.status()["pid"] != before and not alive(before)
    reply = server.post("ticker", {"steps": 2})
    assert reply.status == 200 and b'"type": "done"' in reply.body  # the slot was freed
    counts = server.status()["jobs"]
    assert counts["running"] is None and counts["waiting"] == 0


@pytest.mark.browser
def test_a_killed_model_process_comes_back_and_the_deck_goes_live_by_itself(server, chromium):
    page = chromium.new_page()
    try:
        page.goto(server.deck_url)
        badge = page.locator("#w2w-live-status")
        badge.wait_for(state="attached")
        page.wait_for_function("document.getElementById('w2w-live-status').dataset.state === 'live'")
        before, restarts = server.status()["pid"], server.status()["restarts"]
        events, started = [], threading.Event()
        thread = ticker(server, steps=10_000, step_s=0.05, events=events, started=started)
        assert started.wait(WAIT_S)
        os.kill(before, signal.SIGKILL)
        thread.join(WAIT_S)
        assert events[-1]["event"] == "error" and "killed by SIGKILL" in events[-1]["data"]["message"]
        # Hold the new process while it loads, so the deck's poll (every few seconds) meets that state.
        reloading = wait_for(lambda: (s := server.status())["pid"] != before and s["pid"], "a new process", server)
        os.kill(reloading, signal.SIGSTOP)
        page.wait_for_function(
            "document.getElementById('w2w-live-status').dataset.state === 'recorded'", timeout=WAIT_S * 1000
        )
        assert "RECORDED" in badge.inner_text() and "killed by SIGKILL" in badge.inner_text()
        os.kill(reloading, signal.SIGCONT)
        page.wait_for_function(  # no reload: the page's own status poll sees the new process
            "document.getElementById('w2w-live-status').dataset.state === 'live'", timeout=WAIT_S * 1000
        )
        # one restart, this kill's (counted from here: run alone or after other tests, e.g. under
        # `-m browser`, which leaves out the earlier test that kills a process, it was 1, not 2)
        assert server.status()["restarts"] == restarts + 1
    finally:
        page.close()


def test_a_request_past_the_memory_limit_fails_alone(server):
    pid = server.status()["pid"]
    reply = server.post("memory_hog", {"megabytes": 2 * MEMORY_MB})
    assert reply.status == 200
    assert b"out of memory: the request needs more than live.memory_mb" in reply.body
    words = server.post("embedding_plot", embedding_request(["cat"]))  # the other models are still loaded
    assert words.status == 200 and b'"type": "done"' in words.body
    assert server.status()["pid"] == pid and server.status()["state"] == "ready"  # no restart


def test_three_hundred_connections_are_all_answered_by_w2w(server):
    import http.client

    replies, lock = [], threading.Lock()

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_S)
        try:
            body = json.dumps({"steps": 5, "step_s": 0.01}).encode()
            conn.request("POST", "/api/live/ticker", body, server.auth(**{"Content-Type": "application/json"}))
            response = conn.getresponse()
            reply = (response.status, response.getheader("content-type", ""), response.read())
        except OSError as exc:
            reply = (0, "", repr(exc).encode())
        finally:
            conn.close()
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=one) for _ in range(300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert len(replies) == 300
    statuses = {status for status, _, _ in replies}
    assert statuses <= {200, 429, 503}, [r for r in replies if r[0] not in (200, 429, 503)][:3]
    for status, kind, body in replies:
        if status == 200:
            assert kind.startswith("text/event-stream") and b'"type": "done"' in body
        else:
            assert kind == "application/json" and "\n" not in json.loads(body)["message"]
    assert 200 in statuses and statuses & {429, 503}  # some ran, the rest were turned away in w2w's words
    assert server.post("ticker", {"steps": 1}).status == 200  # and it still serves


def test_a_process_that_keeps_dying_is_given_up_on(mini_build, tmp_path):
    server = supervised(mini_build, tmp_path, "ticker")  # a fresh count of failures
    for kill in range(1, RESTARTS + 2):
        pid = wait_for(lambda: server.status()["pid"], "a model process", server)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda pid=pid: server.status()["pid"] != pid or server.status()["state"] == "gave up", "next", server)
        state = server.status()["state"]
        assert (state == "gave up") == (kill == RESTARTS + 1), (kill, state)
    status = server.status()
    assert "restart `w2w present` to try again" in status["reason"] and not status["ready"]
    reply = server.post("ticker", {"steps": 1})
    assert reply.status == 503 and "live demos are off" in reply.json()["message"]
    assert server.request("GET", "/slides/index.html").status == 200  # the deck is still served
    assert "giving up on live demos" in server.log.read_text()
    server.stop(signal.SIGKILL)
