"""talk/talk.yaml as a validated `Talk`: what a speaker edits, checked with line-precise errors."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from w2w.errors import InputError, W2WError
from w2w.talk.yaml_source import YamlSource


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Ids name files (talk/sections/<id>.md, site pages): short enough for any filesystem's 255 bytes.
PageId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)]


class Section(Strict):
    id: PageId
    title: str
    minutes: Annotated[int, Field(ge=0, le=600)]
    enabled: bool = True


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise InputError(
            f"{value!r} is not a colour", "write it as #rrggbb, e.g. '#7c3aed' (quoted: # starts a comment)"
        )
    return value


def _font_stack(value: str) -> str:
    """A CSS font-family list: names, quoted names, commas; nothing that could end the declaration,
    nothing that loads a file (the pages use the fonts the viewer's system has)."""
    if len(value) > 300 or not re.fullmatch(r"""[A-Za-z0-9 ,"'_-]+""", value) or not value.strip(" ,"):
        raise InputError(
            f"{value[:60]!r} is not a list of font names",
            'give font family names separated by commas, e.g. "Source Sans 3", Arial, sans-serif',
        )
    return value


Colour = Annotated[str, AfterValidator(_colour)]
FontStack = Annotated[str, AfterValidator(_font_stack)]


class Theme(Strict):
    """talk.yaml's `theme:`: a built-in palette (w2w/talk/themes.py) and the talk's overrides of it."""

    name: Literal["light", "dark"] = "light"
    accent: Colour | None = None
    accent_2: Colour | None = None
    background: Colour | None = None
    text: Colour | None = None
    muted: Colour | None = None
    card_bg: Colour | None = None
    border: Colour | None = None
    font_body: FontStack | None = None
    font_heading: FontStack | None = None
    font_mono: FontStack | None = None

    @property
    def palette(self):
        """The resolved theme: each colour and font the pages use."""
        from w2w.talk import themes

        return themes.resolve(self.name, self.model_dump(exclude={"name"}))

    @property
    def css(self) -> str:
        """The CSS custom properties of this theme and of each built-in one (themes.css)."""
        from w2w.talk import themes

        return themes.css(self.palette)


def generators_schema() -> type[BaseModel]:
    """talk.yaml's `generators:` section: one key per registered generator, each exactly that
    generator's declared Inputs (defaults live with the generator). Built from the registry when a
    talk is validated, so a generator added to the registry needs no change here."""
    from w2w.plugins import registry

    return _schema(tuple(registry.REGISTRY.items()))


@functools.cache
def _schema(registry: tuple) -> type[BaseModel]:
    from w2w.plugins import registry

    fields = {g.name: (g.Inputs, g.Inputs()) for g in registry.all_generators()}
    return create_model("Generators", __base__=Strict, __doc__="Each generator's own settings.", **fields)


@functools.cache
def _talk_model(schema: type[BaseModel]) -> type[Talk]:
    return create_model("Talk", __base__=Talk, generators=(schema, schema()))


class Models(Strict):
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # Model id -> local directory with its files, for machines without the HF cache.
    local_dirs: dict[str, str] = {}


class Live(Strict):
    """`w2w present`: the deck's patience and the model process's limits (present/supervisor.py)."""

    timeout_s: Annotated[float, Field(gt=0, le=120)] = 15  # no event this long: the slide plays its recording
    port: Annotated[int, Field(ge=1024, le=65535)] = 8765
    # One step (a token, a denoising step) that runs longer gets the model process replaced. Stable
    # Diffusion on a CPU takes a few seconds a step; the shapes model 20-50 ms, SmolLM2 60-100 ms.
    step_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30
    # The model process's memory. The talk's three models take about 1.0 GB resident on the CPU
    # (1.1 GB of private data); Stable Diffusion in fp32 about 4.5 GB more.
    memory_mb: Annotated[int, Field(ge=256, le=2**20)] = 6144
    restarts: Annotated[int, Field(ge=0, le=100)] = 5  # deaths within restart_window_s before giving up
    restart_window_s: Annotated[float, Field(gt=0, le=86400)] = 300


class Talk(Strict):
    title: str
    subtitle: str = ""
    speaker: str = ""
    event: str = ""
    date: dt.date | None = None
    slot_minutes: Annotated[int, Field(ge=1, le=600)]
    agenda: Annotated[list[Section], Field(min_length=1)]
    handout: list[PageId] = [
        "deep-dive",
        "worksheet",
        "glossary",
        "references",
    ]
    theme: Theme = Theme()
    generators: Any = None  # the registry's schema (generators_schema) when validated by load_talk
    models: Models = Models()
    live: Live = Live()

    @model_validator(mode="after")
    def _unique_ids(self) -> Talk:
        seen: set[str] = set()
        for i, section in enumerate(self.agenda):
            if section.id in seen:
                raise _Located(
                    ("agenda", i, "id"), f"duplicate section id {section.id!r}", "give each section its own id"
                )
            seen.add(section.id)
        if not any(s.enabled for s in self.agenda):
            raise _Located(("agenda",), "every section is disabled", "set enabled: true on at least one section")
        return self

    @property
    def sections(self) -> list[Section]:
        """The enabled sections, in agenda order."""
        return [s for s in self.agenda if s.enabled]

    @property
    def total_minutes(self) -> int:
        return sum(s.minutes for s in self.sections)


class _Located(ValueError):
    def __init__(self, loc: tuple, what: str, fix: str):
        super().__init__(what)
        self.loc, self.what, self.fix = loc, what, fix


_FIXES = {
    "missing": "add this key",
    "extra_forbidden": "remove it, or check its spelling against the keys in the README",
    "int_parsing": "use a whole number",
    "int_type": "use a whole number",
    "bool_parsing": "use true or false",
    "bool_type": "use true or false",
    "string_type": "use text (quote it if it looks like a number or date)",
    "list_type": "use a YAML list (lines starting with '- ')",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "use lowercase letters, digits and dashes",
    "date_from_datetime_parsing": "use a date like 2026-12-03",
    "date_parsing": "use a date like 2026-12-03",
    "string_too_long": "use a shorter id (at most 100 characters)",
}


def load_talk(path: Path) -> tuple[Talk, list[str]]:
    """Validated talk and its warnings. Raises W2WError naming file:line."""
    source = YamlSource(path)
    if not isinstance(source.data, dict):
        raise W2WError(
            "talk.yaml must be a mapping of keys (title:, agenda:, ...)", "see the README's example", path, 1
        )
    try:
        talk = _talk_model(generators_schema()).model_validate(source.data)
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _Located):
            raise W2WError(cause.what, cause.fix, path, source.line_of(cause.loc)) from None
        loc = tuple(error["loc"])
        if isinstance(cause, InputError):
            loc += cause.at
            raise W2WError(f"{_dotted(loc)}: {cause.what}", cause.fix, path, source.line_of(loc)) from None
        dotted = _dotted(loc)
        what = f"{dotted}: {error['msg']}" if dotted else error["msg"]
        fix = _FIXES.get(error["type"], "see the README for the expected value")
        if error["type"] == "extra_forbidden":
            what = f"unknown key {loc[-1]!r}" + (f" in {_dotted(loc[:-1])}" if loc[:-1] else "")
        raise W2WError(what, fix, path, source.line_of(loc)) from None

    talk = _with_local_dirs_resolved(talk, path, source)
    warnings = []
    if talk.total_minutes != talk.slot_minutes:
        warnings.append(
            f"{path.name}:{source.line_of(('agenda',))}: agenda adds up to {talk.total_minutes} min "
            f"but slot_minutes is {talk.slot_minutes} — retime sections or change slot_minutes"
        )
    sections_dir = path.parent / "sections"
    for i, section in enumerate(talk.agenda):
        if section.enabled and not (sections_dir / f"{section.id}.md").is_file():
            raise W2WError(
                f"agenda section {section.id!r} has no file talk/sections/{section.id}.md",
                "create the file, fix the id, or set enabled: false",
                path,
                source.line_of(("agenda", i, "id")),
            )
    handout_dir = path.parent / "handout"
    for i, page in enumerate(talk.handout):
        if not (handout_dir / f"{page}.md").is_file():
            raise W2WError(
                f"handout page {page!r} has no file talk/handout/{page}.md",
                "create the file or remove it from handout:",
                path,
                source.line_of(("handout", i)),
            )
    return talk, warnings


# A model directory as transformers, sentence-transformers or diffusers save it has one of these;
# checked here so that a wrong directory is named at its line in talk.yaml, before seconds of loading.
MODEL_DIR_MARKERS = ("config.json", "modules.json", "model_index.json")


def _with_local_dirs_resolved(talk: Talk, path: Path, source: YamlSource) -> Talk:
    """models.local_dirs paths are relative to the project root; a missing one is a mistake, not a
    reason to fall back quietly to another copy of the model."""
    project_root = path.parent.parent
    resolved = {}
    for model_id, directory in talk.models.local_dirs.items():
        where = (path, source.line_of(("models", "local_dirs", model_id)))
        try:
            candidate = Path(directory).expanduser()
            candidate = candidate if candidate.is_absolute() else project_root / candidate
            exists = candidate.exists()
            real = candidate.resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a name over 255 bytes, a loop
            reason = (
                "it contains a NUL byte" if isinstance(exc, ValueError) else getattr(exc, "strerror", None) or str(exc)
            )
            raise W2WError(
                f"models.local_dirs[{model_id!r}]: {directory!r} cannot be used: {reason}", "fix the path", *where
            ) from None
        if not exists:
            raise W2WError(
                f"models.local_dirs[{model_id!r}]: {directory} does not exist",
                "fix the path (relative paths start at the project root) or remove the entry",
                *where,
            )
        if real == Path(real.anchor) or real == Path.home().resolve():
            raise W2WError(
                f"models.local_dirs[{model_id!r}]: {directory} is {real}, not a model's directory",
                "give the directory that holds the model's files (config.json, weights)",
                *where,
            )
        if real.is_dir() and not any((real / name).is_file() for name in MODEL_DIR_MARKERS):
            raise W2WError(
                f"models.local_dirs[{model_id!r}]: {directory} has none of {', '.join(MODEL_DIR_MARKERS)}",
                "give the directory that holds the model's files (as saved by save_pretrained or `w2w models pull`)",
                *where,
            )
        resolved[model_id] = str(real)
    models = talk.models.model_copy(update={"local_dirs": resolved})
    return talk.model_copy(update={"models": models})


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
