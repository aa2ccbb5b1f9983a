"""The pair's live half: one picture both ways, and one prompt two ways, streamed.

`mode="mirror"` (the multimodal part's "One picture, both directions"): a caption of the shapes
world is drawn as it is; any other request is first planned into one by the planner (SmolLM2 with
its adapter, reached by registry name). The shapes model draws it (each denoising step's x̂0, a
32 px picture scaled x4, about 1 kB as PNG), the describer reads the finished picture token by
token with each token's probability, and the verdict says whether what it read is the caption.

`mode="answers"` (the warm-up's "Same prompt, two answers"): the very same words go to SmolLM2 as a
chat turn (greedy, its tokens through the token trace's own decoder, `plugin_api.generator`) and to
the shapes model, one token and one denoising step in turn, so both answers grow side by side; the
describer then reads the picture. The shapes model knows only captions such as "a red circle above
a blue square": a prompt outside that world is drawn as it is, and `in_world` says so (the slide
prints the note), because the slide's point is what each kind of model makes of the same words.

The build records both with this same code (generator.run), so a recording and a live run differ
only in their input and timing.
"""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import TextInput, generator, live_text
from w2w_generators.shapes.world import parse_caption

# The bounds of every setting, in one place: the talk's inputs (generator.PairInputs) and the live
# request use the same types, so what the build records can always be asked for live.
Text = live_text(200, "the text")
Seed = Annotated[int, Field(ge=0, lt=2**32)]
Steps = Annotated[int, Field(ge=4, le=50)]
Guidance = Annotated[float, Field(ge=1, le=12)]
NewTokens = Annotated[int, Field(ge=8, le=64)]  # the token trace's decoder takes at most 64
PREVIEW_UPSCALE = 4
TOP = 3  # candidates kept per token: what the slide has room for
_WORDS = re.compile(r"\w")


class PairLiveRequest(BaseModel):
    """What a slide may ask of the pair (docs/live-protocol.md); every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("text")
    mode: Literal["mirror", "answers"] = "mirror"
    text: Text
    seed: Seed = 0
    steps: Steps = 20
    guidance: Guidance = 4.0
    max_new_tokens: NewTokens = 40

    @field_validator("text")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not _WORDS.search(value):
            raise ValueError("the text has no words (only symbols or emoji)")
        return value


@dataclass
class PairModels:
    """The four models, loaded once: the shapes renderer, and (owner, loaded) of the describer, the
    planner and the token trace (SmolLM2: the planner and the token trace share one copy)."""

    renderer: Any
    describer: tuple[Any, Any]
    planner: tuple[Any, Any]
    lm: tuple[Any, Any]
    device: str


def load_models(lm_id: str, device: str = "cpu", local_dirs: dict | None = None) -> PairModels:
    from w2w_generators.shapes.render import Renderer

    dirs = local_dirs or {}

    def loaded(name: str, **inputs) -> tuple[Any, Any]:
        owner = generator(name)
        return owner, owner.load(owner.resolve_model(owner.Inputs(**inputs), dirs), device)

    return PairModels(
        Renderer.load(dirs, device),
        loaded("describer"),
        loaded("planner", model=lm_id),
        loaded("token_trace", model=lm_id),
        device,
    )


def png_url(pixels, scale: int = PREVIEW_UPSCALE) -> str:
    from PIL import Image

    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def caption_or_none(text: str) -> str | None:
    try:
        return parse_caption(text).caption
    except ValueError:
        return None


def said(tokens: list[dict]) -> str:
    return " ".join(t["token"] for t in tokens if t["token"] != "<eos>")


def stream(models: PairModels, request: PairLiveRequest, kept: dict | None = None) -> Iterator[dict]:
    """The request's events, then `done`. `kept` receives the arrays the build writes as files:
    the finished picture, every step's sample x_t (`noisy`) and the describer's tokens."""
    kept = {} if kept is None else kept
    events = mirror_events if request.mode == "mirror" else answers_events
    return events(models, request, kept)


def mirror_events(models: PairModels, request: PairLiveRequest, kept: dict) -> Iterator[dict]:
    started, seconds = time.perf_counter(), {}
    caption = caption_or_none(request.text)
    plan = {"plan": caption, "guess": False}
    if caption is None:
        owner, loaded = models.planner
        plan = next(_timed([None], seconds, "plan", lambda _: owner.plan(loaded, request.text)))
        caption = plan["plan"]
    yield {
        "type": "step",
        "stage": "plan",
        "text": request.text,
        "caption": caption,
        "planned": "steps" in plan,
        "guess": plan["guess"],
    }
    first = None
    for event in _timed(_render(models, caption, request, kept), seconds, "render"):
        first = first or round(time.perf_counter() - started, 3)
        yield event
    yield from _timed(_read(models, kept), seconds, "read")
    agree = kept["read"] == caption
    yield {"type": "step", "stage": "verdict", "caption": caption, "read": kept["read"], "agree": agree}
    yield {
        "type": "done",
        "mode": "mirror",
        "caption": caption,
        "read": kept["read"],
        "agree": agree,
        "text": f"drawn: “{caption}”; read back: “{kept['read']}”",  # what the room's phones show
        "image": png_url(kept["image"]),
        "first_step_s": first,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "total_s": round(time.perf_counter() - started, 3),
    }


def answers_events(models: PairModels, request: PairLiveRequest, kept: dict) -> Iterator[dict]:
    started, seconds = time.perf_counter(), {}
    owner, lm = models.lm
    asked = owner.LiveRequest(
        prompt=request.text, chat=True, stop="eos", max_new_tokens=request.max_new_tokens, top_k=TOP
    )
    words = _timed(owner.steps(lm, asked), seconds, "words")
    drawing = _timed(_render(models, request.text, request, kept), seconds, "render")
    answer: dict = {}
    first = None
    for event in _alternate(words, drawing):
        if event["type"] == "done":  # the language model's: its summary goes into ours
            answer = event
            continue
        if "stage" not in event:
            top = [{"token": c["token"], "prob": c["prob"]} for c in event["top"]]
            event = {
                "type": "step",
                "stage": "words",
                "index": event["index"],
                "token": event["token"],
                "prob": event["prob"],
                "top": top,
            }
        first = first or round(time.perf_counter() - started, 3)
        yield event
    yield from _timed(_read(models, kept), seconds, "read")
    caption = caption_or_none(request.text)
    yield {
        "type": "done",
        "mode": "answers",
        "prompt": request.text,
        "text": answer["completion"].strip(),
        "tokens": answer["new_tokens"],
        "ended": "eos" if answer["stopped"] == "eos" else "limit",
        "image": png_url(kept["image"]),
        "read": kept["read"],
        "in_world": caption is not None,
        "agree": None if caption is None else kept["read"] == caption,
        "lm": answer.get("model"),
        "first_step_s": first,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "total_s": round(time.perf_counter() - started, 3),
    }


def _render(models: PairModels, caption: str, request: PairLiveRequest, kept: dict) -> Iterator[dict]:
    steps = models.renderer.stream(caption, request.seed, request.guidance, request.steps)
    while True:
        try:
            step, x0 = next(steps)
        except StopIteration as finished:
            kept.update(finished.value)
            return
        # At its own 32 px (the slide scales it, pixelated): about a quarter of the bytes of the x4
        # picture, and the recording of both slides' runs is inlined in the deck. `done`'s finished
        # picture is x4, for the room's phones.
        yield {"type": "step", "stage": "render", "step": step, "steps": request.steps, "image": png_url(x0, 1)}


def _read(models: PairModels, kept: dict) -> Iterator[dict]:
    owner, loaded = models.describer
    tokens = owner.describe_pixels(loaded, kept["image"])
    kept["tokens"], kept["read"] = tokens, said(tokens)
    for i, t in enumerate(tokens):
        top = [{"token": c["token"], "p": round(c["p"], 4)} for c in t["top"]]
        yield {"type": "step", "stage": "read", "index": i, "token": t["token"], "p": round(t["p"], 4), "top": top}


def _timed(events: Iterable, seconds: dict, key: str, call=None) -> Iterator:
    """`events` (or `call` of each), the time spent computing each added to `seconds[key]`: the
    stage's own seconds, not the time its events wait to be sent or the other stream's turns."""
    items = iter(events)
    try:
        while True:
            tick = time.perf_counter()
            try:
                item = next(items)
                if call is not None:
                    item = call(item)
            except StopIteration:
                return
            finally:
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - tick
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _alternate(*streams: Iterator) -> Iterator:
    """One item of each stream in turn until all are spent; closing this closes them all."""
    running = list(streams)
    try:
        while running:
            for s in list(running):
                try:
                    yield next(s)
                except StopIteration:
                    running.remove(s)
    finally:
        for s in streams:
            s.close()
