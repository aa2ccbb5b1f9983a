"""requires.py: under CI=true a missing model, package or live protocol fails the test; elsewhere it
skips. (The suite's own prerequisites go through it, so a broken CI checkout cannot stay green.)"""

from __future__ import annotations

import pytest
from live_server import require_live
from requires import import_or_require, in_ci, require

from w2w.plugins import registry

pytestmark = pytest.mark.quick


@pytest.mark.parametrize("value", ["true", "TRUE", " true "])
def test_ci_is_the_ci_variable_set_to_true(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert in_ci()


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_anything_else_is_not_ci(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()


def test_a_missing_prerequisite_fails_under_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true.*the model is not here — fetch it"):
        require(False, "the model is not here", "fetch it")
    require(True, "the model is not here", "fetch it")  # present: nothing happens

    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="^the model is not here — fetch it$"):
        require(False, "the model is not here", "fetch it")


def test_an_unimportable_module_fails_under_ci_with_the_import_error(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no_such_w2w_module cannot be imported .*No module named"):
        import_or_require("no_such_w2w_module", "install it")
    assert import_or_require("json", "-").dumps([]) == "[]"
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        import_or_require("no_such_w2w_module", "install it")


def test_a_generator_without_the_live_protocol_fails_under_ci(monkeypatch):
    real = registry.get
    not_live = type("NotLive", (), {"live": False})()  # what a generator that says live = False looks like
    monkeypatch.setattr(registry, "get", lambda name: not_live if name == "token_trace" else real(name))
    monkeypatch.setenv("CI", "true")
    require_live("embedding_plot")  # it has the protocol
    with pytest.raises(pytest.fail.Exception, match="token_trace are not live generators"):
        require_live("embedding_plot", "token_trace")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="token_trace are not live generators"):
        require_live("token_trace")
