"""`w2w present` with real models on CPU (SmolLM2-135M, the shipped shapes model): what streams is
what the model makes, a client that leaves frees the slot, a live run writes nothing to the project,
and stopping the server mid-generation ends the client's stream.

All but the last test use the session's shared server (conftest `mini_server`); the last one stops
a server of its own.
"""

from __future__ import annotations

import base64
import io
import json
import signal
import time

import pytest
from live_server import LiveServer, alive, iter_events, read_events, require_live, start

pytestmark = [pytest.mark.build, pytest.mark.server, pytest.mark.model]

PROMPT = "Diffusion models turn random noise into"


@pytest.fixture(scope="module")
def server(mini_server):
    return mini_server  # the session's shared server (conftest): its counters are read as changes


def token_request(**fields) -> dict:
    """The token slide's request: the generator's own prefill for the talk, with these fields."""
    from w2w.plugins import registry
    from w2w_generators.token_trace.generator import TokenTraceInputs

    base = registry.get("token_trace").live_request(TokenTraceInputs()).model_dump(mode="json")
    if "stop" in base:
        base["stop"] = "eos"  # run to max_new_tokens, as `generate` does, not to the first full stop
    return {**base, **fields}


def stream(server: LiveServer, generator: str, body: dict) -> tuple[str, list[dict]]:
    conn = server.connect(timeout=600)
    try:
        conn.request(
            "POST",
            f"/api/live/{generator}",
            json.dumps(body).encode(),
            server.auth(**{"Content-Type": "application/json"}),
        )
        response = conn.getresponse()
        assert response.status == 200, response.read()
        return response.getheader("x-w2w-request-id"), read_events(response)
    finally:
        conn.close()


def test_plain_present_builds_a_stale_site_first(server):
    """The shared server was started as the README says, `w2w present`, on a site one edit made
    stale (conftest): it built first, then served that build."""
    from w2w.present.server import site_is_stale
    from w2w.project import Project

    log = server.log.read_text()
    assert "building first (talk/sections/intro.md changed since the last build)" in log
    assert "Traceback" not in log
    assert site_is_stale(Project(server.root)) is None
    deck = server.request("GET", "/slides/index.html")
    built = (server.root / "site" / "slides" / "index.html").read_bytes()
    # ... as built, with the room's door script added (the session's server has --audience).
    door = b'<script src="/room/door.js"></script>\n'
    assert deck.status == 200 and deck.body == built.replace(b"</body>", door + b"</body>"), "not the build served"


def test_the_server_loads_the_generators_the_talk_uses_and_no_other(server):
    """The planner and the describer are registered and live, but no page of the mini talk uses
    them: the model process loads the three that it does (`w2w status` names the same three)."""
    from w2w.artifacts.plan import references
    from w2w.plugins import registry
    from w2w.project import Project
    from w2w.talk.config import load_talk

    project = Project(server.root)
    used = set(references(project, load_talk(project.talk_yaml)[0]))
    live = {name for name in registry.REGISTRY if registry.get(name).live}
    assert {"planner", "describer"} <= live - used
    assert set(server.status()["generators"]) == used & live == {"token_trace", "embedding_plot", "diffusion_demo"}


def test_live_tokens_equal_a_direct_greedy_generate(server, smollm2):
    from w2w_generators.token_trace.generator import TokenTraceInputs, decode, generate

    request_id, events = stream(server, "token_trace", token_request(prompt=PROMPT, max_new_tokens=12))
    steps, done = events[:-1], events[-1]
    assert done["event"] == "done" and {e["event"] for e in steps} == {"step"}
    assert {e["data"]["request_id"] for e in events} == {request_id}

    inputs = TokenTraceInputs(prompt=PROMPT, max_new_tokens=12)
    lm, tokenizer = smollm2
    _, new_ids, _, _ = generate(lm, tokenizer, inputs, "cpu", trace=False)
    assert [e["data"]["token_id"] for e in steps] == new_ids
    eos = lm.generation_config.eos_token_id
    spoken = [i for i in new_ids if i not in (eos if isinstance(eos, list) else [eos])]
    prompt_ids = tokenizer(PROMPT)["input_ids"]
    assert done["data"]["text"] == PROMPT + decode(tokenizer, prompt_ids + spoken)[len(decode(tokenizer, prompt_ids)) :]
    assert done["data"]["tokens_per_second"] > 0 and "CPU" in done["data"]["device"]


def test_markup_in_a_prompt_comes_back_as_data(server):
    prompt = "<script>alert('w2w')</script><img src=x onerror=alert(1)> The cat"
    _, events = stream(server, "token_trace", token_request(prompt=prompt, max_new_tokens=3))
    done = events[-1]["data"]
    assert events[-1]["event"] == "done" and done["text"].startswith(prompt)  # the same characters, as text


def test_a_caption_streams_every_denoising_step_then_the_image(server):
    from PIL import Image

    _, events = stream(server, "diffusion_demo", {"prompt": "a red circle above a blue square", "steps": 8})
    steps, done = [e for e in events if e["event"] == "step"], events[-1]
    assert len(steps) == 8 and done["event"] == "done"
    for picture in [e["data"]["image"] for e in steps if "image" in e["data"]] + [done["data"]["image"]]:
        assert picture.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(picture.split(",", 1)[1]))).verify()
    assert done["data"]["seconds_per_step"] > 0


def test_a_client_that_leaves_frees_the_slot(server):
    before = server.status()["jobs"]
    conn = server.connect(timeout=600)
    conn.request(
        "POST",
        "/api/live/token_trace",
        json.dumps(token_request(max_new_tokens=64)).encode(),
        server.auth(**{"Content-Type": "application/json"}),
    )
    response = conn.getresponse()
    assert response.status == 200
    assert next(iter_events(response))["event"] == "step"
    conn.close()  # the slide went away after the first token
    deadline = time.monotonic() + 300
    while (jobs := server.status()["jobs"])["finished"] == before["finished"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert jobs["finished"] == before["finished"] + 1 and jobs["running"] is None
    assert jobs["stopped"] == before["stopped"] + 1  # ended early, not run to its 64th token
    _, events = stream(server, "token_trace", token_request(max_new_tokens=2))  # the slot is free again
    assert events[-1]["event"] == "done"


def test_a_live_run_writes_nothing_to_frozen_or_the_cache(server):
    assert server.project_files() == server.files_before


@pytest.fixture()
def own_server(mini_build, tmp_path):
    """A server of this test's own (only SmolLM2 loads: about 2 s), since the test stops it."""
    require_live("token_trace")
    live = start(mini_build[0], tmp_path / "server.log", "--only", "token_trace")
    live.wait_ready("token_trace")
    yield live
    live.stop()  # by pid; nothing to do when the test stopped it


def test_stopping_the_server_mid_generation_ends_the_stream(own_server):
    """Ctrl-C while SmolLM2 generates: the stream ends with its error event, the server exits 130
    with one line, and no process of it is left (its model process and multiprocessing's helper)."""
    from pathlib import Path

    server = own_server
    pid = server.proc.pid
    children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    assert server.status()["pid"] in children
    conn = server.connect(timeout=600)
    conn.request(
        "POST",
        "/api/live/token_trace",
        json.dumps(token_request(max_new_tokens=64)).encode(),
        server.auth(**{"Content-Type": "application/json"}),
    )
    response = conn.getresponse()
    assert response.status == 200
    events = []
    try:
        for event in iter_events(response):
            events.append(event)
            if len(events) == 1:
                server.proc.send_signal(signal.SIGINT)  # Ctrl-C while the model is generating
                began = time.monotonic()
    finally:
        conn.close()
    assert events[0]["event"] == "step" and "done" not in [e["event"] for e in events]
    assert events[-1]["event"] == "error" and "the live server is stopping" in events[-1]["data"]["message"]
    assert server.proc.wait(120) == 130
    print(f"Ctrl-C mid-generation to exit: {time.monotonic() - began:.2f} s")  # measured 0.7-0.8 s
    log = server.log.read_text()
    assert log.rstrip().endswith("stopped") and "Traceback" not in log and "ERROR" not in log
    # The model process is killed and reaped before the server exits; multiprocessing's resource
    # tracker ends when it reads the end of its pipe, a moment after. Bounded for a hang, not timed.
    deadline = time.monotonic() + 30
    while any(alive(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(child) for child in children), children
