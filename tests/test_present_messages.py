"""The pipe's messages (w2w/present/messages.py): each kind crosses a real multiprocessing pipe as
the plain tuple docs/live-protocol.md shows and comes back equal; anything else is refused."""

from __future__ import annotations

import multiprocessing

import pytest

from w2w.present import messages as msg

pytestmark = pytest.mark.quick

EVERY_KIND = [
    (
        msg.Run("r1", "token_trace", {"prompt": "Hi", "top_k": 5}),
        ("run", "r1", "token_trace", {"prompt": "Hi", "top_k": 5}),
    ),
    (msg.Stop("r1"), ("stop", "r1")),
    (msg.Quit(), ("quit",)),
    (msg.Loading("token_trace", "warming up"), ("loading", "token_trace", "warming up")),
    (
        msg.Loaded("token_trace", "SmolLM2", "CPU (2 cores)", 1.25),
        ("loaded", "token_trace", "SmolLM2", "CPU (2 cores)", 1.25),
    ),
    (msg.Failed("diffusion_demo", "no weights"), ("failed", "diffusion_demo", "no weights")),
    (msg.Ready(9.2), ("ready", 9.2)),
    (msg.Beat(), ("beat",)),
    (msg.Event("r1", {"type": "step", "index": 0}), ("event", "r1", {"type": "step", "index": 0})),
    (msg.Error("r1", "out of memory"), ("error", "r1", "out of memory")),
    (msg.End("r1", True), ("end", "r1", True)),
]


def test_every_kind_crosses_a_pipe_as_its_tuple():
    assert {type(m) for m, _ in EVERY_KIND} == set(msg.TO_CHILD + msg.FROM_CHILD)
    ours, theirs = multiprocessing.Pipe()
    for message, wire in EVERY_KIND:
        assert msg.encode(message) == wire
        ours.send(msg.encode(message))
        assert msg.decode(theirs.recv()) == message


@pytest.mark.parametrize("data", [("event", "r1"), ("hello", 1), (), ["end", "r1", False], "quit", None])
def test_anything_else_is_refused(data):
    with pytest.raises(msg.BadMessage):
        msg.decode(data)


def test_messages_are_frozen():
    with pytest.raises(AttributeError):
        msg.End("r1", False).stopped = True
