"""The messages between the server (supervisor.py) and the model process (child.py), each written
once: a frozen dataclass per kind, and one `encode` / `decode` that both sides use.

On the pipe a message travels as a plain tuple, its kind and then its fields in the order declared
here: `Event("3f2a…", {...})` is `("event", "3f2a…", {...})`. A tuple of builtins is what the pipe
pickles fastest (a step of the diffusion demo sends one per step; a dataclass instance would carry
its class's name and a dict of its fields), and it needs nothing but this module on either side.
docs/live-protocol.md describes what each message means.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

# --- server -> model process -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """One live run: `request` is the checked request as JSON-ready data."""

    kind: ClassVar[str] = "run"
    run_id: str
    generator: str
    request: dict


@dataclass(frozen=True, slots=True)
class Stop:
    """The client went away: stop the run after the step in progress."""

    kind: ClassVar[str] = "stop"
    run_id: str


@dataclass(frozen=True, slots=True)
class Quit:
    """End the process."""

    kind: ClassVar[str] = "quit"


# --- model process -> server -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loading:
    """A generator's loading state: "loading", then "warming up"."""

    kind: ClassVar[str] = "loading"
    generator: str
    state: str


@dataclass(frozen=True, slots=True)
class Loaded:
    """A generator is ready to run live."""

    kind: ClassVar[str] = "loaded"
    generator: str
    model: str
    device: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Failed:
    """A generator cannot run live (the others still can); `message` is one line."""

    kind: ClassVar[str] = "failed"
    generator: str
    message: str


@dataclass(frozen=True, slots=True)
class Ready:
    """Every generator has been tried."""

    kind: ClassVar[str] = "ready"
    seconds: float


@dataclass(frozen=True, slots=True)
class Beat:
    """The process is alive: sent every child.HEARTBEAT_S by a thread of its own, through loading
    and through the longest step, so that only a process that stopped altogether goes quiet."""

    kind: ClassVar[str] = "beat"


@dataclass(frozen=True, slots=True)
class Event:
    """One item of a run's `steps` (a JSON-ready dict)."""

    kind: ClassVar[str] = "event"
    run_id: str
    event: dict


@dataclass(frozen=True, slots=True)
class Error:
    """The run raised; the process lives on. `message` is one line."""

    kind: ClassVar[str] = "error"
    run_id: str
    message: str


@dataclass(frozen=True, slots=True)
class End:
    """The run is over; `stopped`: it ended early, on a Stop."""

    kind: ClassVar[str] = "end"
    run_id: str
    stopped: bool


TO_CHILD = (Run, Stop, Quit)
FROM_CHILD = (Loading, Loaded, Failed, Ready, Beat, Event, Error, End)
Message = Run | Stop | Quit | Loading | Loaded | Failed | Ready | Beat | Event | Error | End

_KINDS: dict[str, type] = {cls.kind: cls for cls in (*TO_CHILD, *FROM_CHILD)}
_FIELDS: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in _KINDS.values()}


class BadMessage(ValueError):
    """What came over the pipe is no message of this protocol."""


def encode(message: Message) -> tuple:
    """A message as the tuple the pipe carries: (kind, field, field, ...)."""
    return (message.kind, *(getattr(message, name) for name in _FIELDS[type(message)]))


def decode(data: Any) -> Message:
    """The tuple read from the pipe as its message; BadMessage for anything else."""
    if not isinstance(data, tuple) or not data or data[0] not in _KINDS:
        raise BadMessage(f"not a message of the live protocol: {str(data)[:80]}")
    cls = _KINDS[data[0]]
    if len(data) - 1 != len(_FIELDS[cls]):
        raise BadMessage(f"a {data[0]!r} message has {len(_FIELDS[cls])} fields, not {len(data) - 1}")
    return cls(*data[1:])
