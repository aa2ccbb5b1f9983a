"""The remote's pairing rules and the rehearsal recorder, on their own (issue 34): a clock the test
moves stands in for two minutes passing; the server test (test_remote.py) holds the same rules
over HTTP."""

from __future__ import annotations

import json

import pytest

from w2w.present.remote.pairing import (
    ADDRESS_TRIES,
    CODE_S,
    CODE_TRIES,
    DEVICES_MAX,
    LOCKOUT_S,
    Pairing,
    PairingRefused,
)
from w2w.present.remote.rehearse import Recorder
from w2w.render.rehearsal import load_rehearsal

pytestmark = pytest.mark.quick


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused(pairing: Pairing, code: str, address: str = "10.0.0.9") -> PairingRefused:
    with pytest.raises(PairingRefused) as caught:
        pairing.pair(code, address)
    return caught.value


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_pairs_one_device_once_and_expires():
    clock = Clock()
    pairing = Pairing(clock)
    code = pairing.new_code().value
    assert len(code) == 6 and code.isdigit()
    device = pairing.pair(code, "10.0.0.5")
    other = device.token[:-1] + ("y" if device.token.endswith("x") else "x")  # one character off
    assert pairing.device(device.token) is device and pairing.device(other) is None
    assert refused(pairing, code).status == 410  # single use
    # A new code replaces the previous one at once; past CODE_S it is refused.
    first = pairing.new_code().value
    second = pairing.new_code().value
    if first != second:
        assert refused(pairing, first).status == 403
    clock.now += CODE_S
    assert "expired" in refused(pairing, second).message and pairing.code_state()["why"] == "expired"
    # Two devices have tokens of their own; revoking forgets both at once.
    other = pairing.pair(pairing.new_code().value, "10.0.0.6")
    assert other.token != device.token
    assert {d.id for d in pairing.revoke()} == {device.id, other.id}
    assert pairing.device(device.token) is None and pairing.device(other.token) is None


def test_wrong_codes_are_rate_limited_by_address_and_bounded_in_all():
    clock = Clock()
    pairing = Pairing(clock)
    code = pairing.new_code().value
    for _ in range(ADDRESS_TRIES):
        assert refused(pairing, wrong(code)).status == 403
    locked = refused(pairing, code)  # even the right code waits: the address is locked out
    assert locked.status == 429 and 0 < locked.retry_after <= LOCKOUT_S
    assert pairing.pair(code, "10.0.0.10")  # another address is not
    clock.now += LOCKOUT_S
    code = pairing.new_code().value
    assert refused(pairing, wrong(code)).status == 403  # the lockout is over
    # Many addresses together: the code is burnt after CODE_TRIES wrong guesses in all.
    for i in range(CODE_TRIES - 1):
        assert refused(pairing, wrong(code), f"10.1.{i}.1").status == 403
    burnt = refused(pairing, code, "10.2.0.1")
    assert burnt.status == 410 and "too many wrong guesses" in burnt.message
    # At most DEVICES_MAX paired at once.
    for i in range(DEVICES_MAX - 1):
        pairing.pair(pairing.new_code().value, f"10.3.{i}.1")
    assert refused(pairing, pairing.new_code().value, "10.4.0.1").status == 409


def test_the_recorder_writes_a_file_that_pacing_reads(tmp_path):
    recorder = Recorder(tmp_path, slot_minutes=5, first_section="intro")
    recorder.agenda = [("intro", 2), ("core", 3)]
    recorder.visit("0.0", "", "Title", 100.0)  # the title slide counts to the first part
    recorder.visit("2.0", "intro", "Why", 130.0)
    recorder.visit("2.0", "intro", "Why", 140.0)  # a fragment: the same visit
    recorder.visit("3.0", "core", "How", 190.0)
    path = recorder.finish(now=400.0)
    assert path.parent == tmp_path / ".w2w" / "rehearsals"
    data = json.loads(path.read_text())
    assert data["sections"] == [{"id": "intro", "seconds": 90.0}, {"id": "core", "seconds": 210.0}]
    assert [(s["key"], s["entered_s"], s["left_s"]) for s in data["slides"]] == [
        ("0.0", 0.0, 30.0),
        ("2.0", 30.0, 90.0),
        ("3.0", 90.0, 300.0),
    ]
    loaded = load_rehearsal(path)
    assert loaded.seconds == 300.0 and loaded.slot_minutes == 5
    rows = recorder.table().rows
    assert len(rows) == 3  # intro, core, total
