"""The plug-in API: the one module of the engine that a generator imports.

As MkDocs plugins reach MkDocs through `mkdocs.plugins`, a generator reaches w2w only through this
module, so the engine's other modules can change without breaking a plug-in, and importing a
generator never imports the engine's build machinery (tests/test_architecture.py holds the rule).
It holds:

- the protocol (w2w/plugins/protocol.py): `Generator`, `Artifact`, `ModelRef`, and `TextInput`
  (the live request's one free-text field: the deck's input and the room's suggestions);
- what every run shares (w2w/plugins/running.py): `RunContext`, `best_of`, `labelled`,
  `live_text`, `Stopwatch`, the device helpers and library versions;
- `W2WError` (a user's mistake, printed as `file:line: what — how to fix`, exit 2) and
  `InputError` (raised by a pydantic validator of a generator's `Inputs`; reported at the
  talk.yaml line of the setting);
- the atomic writes (`write_text`, `write_bytes`, `new_directory`, `swap_in`,
  `remove_dead_scratch`): a file or directory that must never be seen half-written, e.g. a model
  cache outside the artifact's directory, and scratch a killed writer left;
- `generator(name)`: another generator, found by its registry name. A generator that composes
  others (the loop: planner -> renderer -> describer) asks for them here, through their protocol,
  instead of importing their folders (tests/test_architecture.py forbids that).

Importing it brings pydantic, never torch.
"""

from __future__ import annotations

from w2w.atomic import new_directory, remove_dead_scratch, swap_in, write_bytes, write_text
from w2w.errors import InputError, W2WError
from w2w.plugins.protocol import LIVE_MEMBERS, Artifact, Generator, ModelRef, TextInput, check_protocol, text_input
from w2w.plugins.running import (
    SPEED_REPEATS,
    RunContext,
    Stopwatch,
    base_provenance,
    best_of,
    device_class,
    device_label,
    installed_version,
    labelled,
    library_versions,
    live_text,
    speed_repeats,
    torch_device,
)


def generator(name: str) -> Generator:
    """The registered generator `name` (checked against the protocol on first use), as the engine
    gets it; a missing one is a W2WError that names the installed ones."""
    from w2w.plugins import registry

    return registry.get(name)


__all__ = [
    "LIVE_MEMBERS",
    "SPEED_REPEATS",
    "TextInput",
    "Artifact",
    "Generator",
    "InputError",
    "ModelRef",
    "RunContext",
    "Stopwatch",
    "W2WError",
    "base_provenance",
    "best_of",
    "check_protocol",
    "device_class",
    "device_label",
    "generator",
    "installed_version",
    "labelled",
    "library_versions",
    "live_text",
    "new_directory",
    "remove_dead_scratch",
    "speed_repeats",
    "swap_in",
    "text_input",
    "torch_device",
    "write_bytes",
    "write_text",
]
