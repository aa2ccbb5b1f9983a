"""What the engine offers generators: the one module of `w2w` that `generators/` imports.

As MkDocs plugins reach MkDocs through `mkdocs.plugins`, a generator reaches w2w only through this
module, so the engine's other modules can change without breaking a plug-in, and importing a
generator never imports the engine's build machinery (the arrow from generators/ into w2w/ is
this one). It holds:

- `W2WError` (a user's mistake, printed as `file:line: what — how to fix`, exit 2) and
  `InputError` (raised by a pydantic validator of a generator's `Inputs`; reported at the
  talk.yaml line of the setting);
- the atomic writes (`write_text`, `write_bytes`, `new_directory`, `swap_in`, `remove_dead_scratch`): a file or
  directory that must never be seen half-written, e.g. a model cache outside the artifact's
  directory, and scratch a killed writer left.

Importing it is light: no pydantic, no torch.
"""

from __future__ import annotations

from .atomic import new_directory, remove_dead_scratch, swap_in, write_bytes, write_text
from .errors import InputError, W2WError

__all__ = ["InputError", "W2WError", "new_directory", "remove_dead_scratch", "swap_in", "write_bytes", "write_text"]
