"""The live protocol's requests (docs/live-protocol.md), with no model: each generator's LiveRequest
refuses what is out of bounds, keeps a prompt's HTML as text, and the token trace knows where a
sentence ends. The models' side of the protocol: test_live_steps.py."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from w2w.plugins import registry
from w2w_generators.token_trace.steps import sentence_ended

pytestmark = pytest.mark.quick


def test_sentence_end_rule():
    assert sentence_ended(" a probability distribution.")
    assert sentence_ended(' it said "stop."') and sentence_ended(" really?")
    assert not sentence_ended(" version 3.") and not sentence_ended(" a probability")
    assert not sentence_ended(".")


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "x" * 401},
        {"prompt": "   "},
        {"prompt": "ok", "max_new_tokens": 65},
        {"prompt": "ok", "top_k": 1},
        {"prompt": "ok", "steps": 3},  # an unknown field
    ],
)
def test_token_requests_are_bounded(body):
    with pytest.raises(ValidationError):
        registry.get("token_trace").LiveRequest.model_validate(body)


def test_html_in_a_prompt_is_text():
    request = registry.get("token_trace").LiveRequest(prompt="  <script>alert(1)</script>  ")
    assert request.prompt == "<script>alert(1)</script>"


@pytest.mark.parametrize("words", [[], ["a", "b", "c", "d"], ["<b>x</b>"], ["x" * 41], ["_"]])
def test_word_requests_are_bounded(words):
    with pytest.raises(ValidationError):
        registry.get("embedding_plot").LiveRequest(words=words, plotted=["dog", "puppy", "banana"])


@pytest.mark.parametrize(
    "body", [{"prompt": "x" * 201}, {"prompt": " "}, {"prompt": "ok", "steps": 10**6}, {"prompt": "ok", "steps": 1}]
)
def test_diffusion_requests_are_bounded(body):
    with pytest.raises(ValidationError):
        registry.get("diffusion_demo").LiveRequest.model_validate(body)
