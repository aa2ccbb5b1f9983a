"""`w2w present` refuses what it must, before anything runs: a foreign Host (DNS rebinding), a foreign
Origin, a missing or wrong token, and malformed or out-of-bounds requests, each with a 4xx and a
one-line JSON message; and it keeps serving afterwards. A real server on a free loopback port.

None of the refusals needs a loaded model: they are checked before a job is admitted, and the job
counters in /api/live/status prove that nothing ran. The server is the session's shared one
(conftest `mini_server`), so the counters are read as changes from what this module found.
"""

from __future__ import annotations

import json

import pytest
from live_server import LiveServer, embedding_request, read_events

pytestmark = [pytest.mark.build, pytest.mark.server]


def good_words() -> dict:
    return embedding_request(["dog", "puppy"])


@pytest.fixture(scope="module")
def server(mini_server):
    """The session's shared server (conftest), with its job counters as this module found them."""
    mini_server.jobs_before = mini_server.status()["jobs"]
    return mini_server


def nothing_ran(server: LiveServer) -> None:
    jobs = server.status()["jobs"]
    assert jobs["started"] == server.jobs_before["started"] and jobs["running"] is None, jobs


def assert_refusal(reply, status: int) -> str:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"].startswith("application/json")
    message = reply.json()["message"]
    assert isinstance(message, str) and message and "\n" not in message
    assert not any(h.startswith("access-control-") for h in reply.headers), reply.headers  # no CORS, ever
    return message


def test_it_listens_on_loopback_and_the_doors_address_only(server):
    # The session's server has the room's door open on 127.0.0.2 (tests/conftest.py); a plain
    # `w2w present` listening on 127.0.0.1 alone is checked in test_present_supervisor.
    addresses = server.listening_addresses()
    assert addresses == {f"0100007F:{server.port:04X}", f"0200007F:{server.port:04X}"}, addresses


def test_a_foreign_host_is_refused_on_every_path(server):
    for path in ("/slides/index.html", "/", "/api/live/status"):
        for host in (f"evil.example:{server.port}", "evil.example", f"127.0.0.1:{server.port + 1}", ""):
            reply = server.request("GET", path, headers=server.auth(Host=host))
            assert "Host" in assert_refusal(reply, 400)
    reply = server.post("embedding_plot", good_words(), headers={"Host": f"evil.example:{server.port}"})
    assert_refusal(reply, 400)
    # The same requests with this server's own names are answered.
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        reply = server.request("GET", "/slides/index.html", headers={"Host": host})
        assert reply.status == 200 and b"reveal" in reply.body
    nothing_ran(server)


def test_a_foreign_origin_is_refused(server):
    for origin in (
        "http://evil.example",
        f"http://evil.example:{server.port}",
        "null",
        f"https://127.0.0.1:{server.port}",
        f"http://127.0.0.1:{server.port + 1}",
    ):
        assert "cross-origin" in assert_refusal(server.post("embedding_plot", good_words(), {"Origin": origin}), 403)
        assert_refusal(server.request("GET", "/api/live/status", headers=server.auth(Origin=origin)), 403)
    # A CORS preflight gets no CORS headers (assert_refusal checks), so a browser never sends the POST.
    preflight = {
        "Origin": "http://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-w2w-token,content-type",
    }
    assert_refusal(server.request("OPTIONS", "/api/live/embedding_plot", headers=preflight), 403)
    # The deck's own origin is fine.
    reply = server.request("GET", "/api/live/status", headers=server.auth(Origin=f"http://localhost:{server.port}"))
    assert reply.status == 200
    nothing_ran(server)


def test_a_missing_or_wrong_token_is_refused(server):
    body = json.dumps(good_words()).encode()
    for headers in (
        {},
        {"X-W2W-Token": ""},
        {"X-W2W-Token": server.token[:-1]},
        {"X-W2W-Token": server.token + "x"},
        {"X-W2W-Token": "w2w"},
        {"Authorization": f"Bearer {server.token}"},
    ):
        headers = {"Content-Type": "application/json", **headers}
        assert "X-W2W-Token" in assert_refusal(server.request("POST", "/api/live/embedding_plot", body, headers), 403)
        assert_refusal(server.request("GET", "/api/live/status", headers=headers), 403)
    # The token in the query string (where logs and Referer headers would carry it) does not count.
    assert_refusal(server.request("GET", f"/api/live/status?w2w-token={server.token}"), 403)
    nothing_ran(server)


LONG = "a" * 401
BAD_REQUESTS = [
    # (name, generator, body bytes or JSON, extra headers, expected status)
    ("overlong prompt", "token_trace", {"prompt": LONG}, {}, 400),
    ("overlong script prompt", "token_trace", {"prompt": "<script>alert(1)</script>" * 20}, {}, 400),
    ("empty prompt", "token_trace", {"prompt": "   "}, {}, 400),
    ("steps 10^6", "diffusion_demo", {"prompt": "a red circle", "steps": 10**6}, {}, 400),
    ("tokens 10^6", "token_trace", {"prompt": "Hi", "max_new_tokens": 10**6}, {}, 400),
    ("tokens as text", "token_trace", {"prompt": "Hi", "max_new_tokens": "ten"}, {}, 400),
    ("prompt as number", "token_trace", {"prompt": 123}, {}, 400),
    ("missing prompt", "token_trace", {}, {}, 400),
    ("extra field", "token_trace", {"prompt": "Hi", "__proto__": {"admin": True}}, {}, 400),
    ("too many words", "embedding_plot", lambda: embedding_request(["dog", "cat", "emu", "yak"]), {}, 400),
    ("no words", "embedding_plot", lambda: embedding_request([]), {}, 400),
    ("overlong word", "embedding_plot", lambda: embedding_request(["w" * 41]), {}, 400),
    ("markup in a word", "embedding_plot", lambda: embedding_request(["<img src=x onerror=alert(1)>"]), {}, 400),
    ("words not a list", "embedding_plot", lambda: embedding_request("dog"), {}, 400),
    ("non-JSON", "token_trace", b"{prompt: 'hi'", {}, 400),
    ("JSON array", "token_trace", b'["prompt"]', {}, 400),
    ("not UTF-8", "token_trace", b'{"prompt": "\xff\xfe"}', {}, 400),
    ("text/plain", "token_trace", b'{"prompt": "hi"}', {"Content-Type": "text/plain"}, 415),
    ("body too large", "token_trace", json.dumps({"prompt": "x" * 17000}).encode(), {}, 413),
    ("unknown generator", "nope", {"prompt": "hi"}, {}, 404),
    ("generator name with markup", "%3Cscript%3E", {"prompt": "hi"}, {}, 404),
]


@pytest.mark.parametrize("name, generator, body, headers, status", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_a_bad_request_is_a_4xx_with_one_line(server, name, generator, body, headers, status):
    body = body() if callable(body) else body  # built lazily: it asks the generator for its prefill
    message = assert_refusal(server.post(generator, body, headers), status)
    assert "<script" not in message.lower()  # user text is never echoed back


def test_a_chunked_body_too_large_is_refused_while_reading(server):
    conn = server.connect()
    try:
        conn.putrequest("POST", "/api/live/token_trace")
        for key, value in server.auth(**{"Content-Type": "application/json", "Transfer-Encoding": "chunked"}).items():
            conn.putheader(key, value)
        conn.endheaders()
        chunk = b"x" * 8192
        for _ in range(3):  # 24 KiB, no Content-Length: the limit applies as the body arrives
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        assert response.status == 413 and "too large" in json.loads(response.read())["message"]
    finally:
        conn.close()


def test_wrong_methods_are_refused(server):
    assert "POST" in assert_refusal(server.request("GET", "/api/live/token_trace", headers=server.auth()), 405)
    assert "GET" in assert_refusal(server.request("POST", "/api/live/status", b"{}", server.auth()), 405)
    assert_refusal(server.request("DELETE", "/api/live/token_trace", headers=server.auth()), 405)


def test_after_all_that_it_still_serves_a_good_request(server):
    nothing_ran(server)  # every refusal above came before a job
    conn = server.connect()
    try:
        conn.request(
            "POST",
            "/api/live/embedding_plot",
            json.dumps(good_words()).encode(),
            server.auth(**{"Content-Type": "application/json"}),
        )
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("content-type").startswith("text/event-stream")
        events = read_events(response)
    finally:
        conn.close()
    assert events and events[-1]["event"] == "done", events
    assert {e["data"]["request_id"] for e in events} == {response.getheader("x-w2w-request-id")}
    assert server.status()["jobs"]["finished"] == server.jobs_before["finished"] + 1
