"""Pairing the speaker's phone: a short one-time code, shown only where the speaker looks (the
terminal and reveal.js's speaker view), traded once for a remote token of the phone's own.

The code is 6 digits from `secrets` (10**6 values), valid CODE_S seconds and for one pairing.
Guessing is bounded twice: an address that sends ADDRESS_TRIES wrong codes is refused (429) for
LOCKOUT_S; and a code that has taken CODE_TRIES wrong guesses in all, from any number of addresses,
is burnt, so the whole venue's Wi-Fi has at most 20 guesses out of a million per code (2 in 10**5)
before the speaker makes a new one. A paired device's token (`secrets.token_urlsafe(24)`) is
distinct from the presenter's and the audience's; the laptop revokes it at any time.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CODE_DIGITS = 6
CODE_S = 120.0  # a code read off the terminal is typed within a minute; two leave room
CODE_TRIES = 20  # wrong guesses a code takes in all before it is burnt
ADDRESS_TRIES = 5  # wrong guesses from one address before it waits
LOCKOUT_S = 60.0
DEVICES_MAX = 4  # paired remotes at once (a phone, a tablet, a spare)
ADDRESSES_MAX = 4096  # addresses remembered for the lockout; the oldest forgotten first


class PairingRefused(Exception):
    """A pairing attempt refused: `status` (400, 403, 410, 429) and the one-line message."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass
class Code:
    value: str
    expires: float
    wrong: int = 0
    used: bool = False


@dataclass
class Device:
    id: str
    token: str
    paired_at: float


@dataclass
class Pairing:
    """The current code, the paired devices, and the wrong guesses by address."""

    clock: Callable[[], float] = time.monotonic
    code: Code | None = None
    devices: dict[str, Device] = field(default_factory=dict)  # token -> device
    wrong: dict[str, tuple[int, float]] = field(default_factory=dict)  # address -> (wrong guesses, locked until)
    revoked: int = 0

    def new_code(self) -> Code:
        """A fresh code; the previous one stops working at once."""
        value = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        self.code = Code(value, self.clock() + CODE_S)
        return self.code

    def code_state(self) -> dict:
        """What the speaker sees: the code, its seconds left, or why there is none."""
        code, now = self.code, self.clock()
        if code is None or code.used:
            return {"code": None, "why": "used" if code else "none"}
        if code.wrong >= CODE_TRIES:
            return {"code": None, "why": "burnt"}
        if now >= code.expires:
            return {"code": None, "why": "expired"}
        return {"code": code.value, "expires_s": round(code.expires - now, 1)}

    def pair(self, given: str, address: str) -> Device:
        """A new device for the right code, or PairingRefused."""
        now = self.clock()
        count, until = self.wrong.get(address, (0, 0.0))
        if until > now:
            raise PairingRefused(429, "too many wrong codes from this address — wait a minute", math.ceil(until - now))
        code = self.code
        if code is None or code.used or code.wrong >= CODE_TRIES or now >= code.expires:
            why = "expired"
            if code and code.used:
                why = "was used"
            elif code and code.wrong >= CODE_TRIES:
                why = "took too many wrong guesses"
            raise PairingRefused(410, f"this pairing code {why} — ask the speaker's laptop for a new one")
        if not secrets.compare_digest(given.encode(), code.value.encode()):
            code.wrong += 1
            self._wrong_from(address, count + 1, now)
            raise PairingRefused(403, "wrong pairing code — type the 6 digits the speaker's laptop shows")
        if len(self.devices) >= DEVICES_MAX:
            raise PairingRefused(409, f"{DEVICES_MAX} remotes are paired already — revoke them on the laptop first")
        code.used = True
        self.wrong.pop(address, None)
        device = Device(secrets.token_hex(4), secrets.token_urlsafe(24), now)
        self.devices[device.token] = device
        return device

    def _wrong_from(self, address: str, count: int, now: float) -> None:
        self.wrong.pop(address, None)  # re-inserted last: the dict's order is the forgetting order
        self.wrong[address] = (0, now + LOCKOUT_S) if count >= ADDRESS_TRIES else (count, 0.0)
        while len(self.wrong) > ADDRESSES_MAX:
            del self.wrong[next(iter(self.wrong))]

    def device(self, token: str) -> Device | None:
        """The paired device of this token (compared in constant time), or None."""
        given = token.encode()
        found = None
        for known, device in self.devices.items():
            if secrets.compare_digest(given, known.encode()):
                found = device
        return found

    def revoke(self) -> list[Device]:
        """Every paired device forgotten at once; returns them (their streams are closed)."""
        gone = list(self.devices.values())
        self.devices.clear()
        self.revoked += len(gone)
        return gone

    def public(self) -> dict:
        return {**self.code_state(), "devices": len(self.devices), "revoked": self.revoked}
