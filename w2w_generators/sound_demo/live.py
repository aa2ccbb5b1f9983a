"""The sound model live: a caption in, every denoising step's x̂0 out as a picture and as sound,
then the finished clip with what the checker heard.

`w2w present`'s model process loads the pipeline once (`SoundGenerator.load`) and runs `events`
on its main thread, one step at a time (sound/pipeline.py's `denoising`, the loop the plain call
runs). Each step sends the model's guess of the clean spectrogram, x̂0:

- as a picture: the 32×32 spectrogram x4 (128 px, high frequencies on top, about 1.5 kB of PNG),
  written by shared/png.py in 0.1-0.3 ms where PIL's optimising encoder took 15 ms;
- as sound: a 1 s WAV data URL, 16-bit PCM at 8 kHz (16 kB, 21 kB as base64), which the page's
  <audio> plays as it is, with no decoding code of ours and a pause control from the browser.
  Half the world's 16 kHz (`STEP_RATE`): a preview keeps every note's fundamental (at most
  1,560 Hz) and harmonics to 4 kHz, and each step's event through the pipe, the server and the
  page is half the bytes (at two torch threads on 2 cores the 43 kB steps cost the live run
  7 ms a step over the same stream in one process; BENCHMARKS.md). It is inverted at 8 kHz
  directly (StepSounds' `rate`: half the STFT work of an iteration at 16 kHz).
  Its phase comes from sound/spectrogram.StepSounds (Griffin-Lim warm-started from the previous
  step: 1.3 ms a step, where a full inversion takes 30 ms and a step of the model 45 ms).

`done` carries the finished clip exactly as the plain call makes it (`to_clip` of the last sample,
32 iterations: the clip `w2w generate sound` writes for the same caption and seed), its
spectrogram x8, what the checker heard against what the caption asked (the clip's text
alternative), and the seconds. A caption outside the sound world is refused before anything runs.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import TextInput, live_text
from w2w_generators.shared.png import upscaled_png
from w2w_generators.sound.world import COUNTS, DIRECTIONS, PITCH_BANDS, SAMPLE_RATE, TIMBRES, parse_caption

# The longest caption of the world is 34 characters ("two high falling notes on a buzzer"); 80
# leaves room for spaces and capitals, which the grammar ignores. The form, the server and the
# room all read this one limit (the field's max_length, through `text_input`).
Caption = live_text(80, "the caption")
STEP_SCALE = 4  # 32 px -> 128 px, the build's strip pictures
CLIP_SCALE = 8  # 32 px -> 256 px, the build's spectrogram.png
STEP_RATE = SAMPLE_RATE // 2  # the steps' previews (the finished clip keeps SAMPLE_RATE)
REFUSAL = (
    "not a sound-world caption: say how many notes ({}), {}, {} and the voice ({}), "
    "e.g. 'two high rising notes on a flute'"
).format(
    " or ".join(COUNTS),
    " or ".join(PITCH_BANDS),
    ", ".join(DIRECTIONS[:-1]) + " or " + DIRECTIONS[-1],
    ", ".join(TIMBRES),
)
MAX_STEPS = 50  # 2.3 s of the model on one thread; the talk's 20 are the budget's case


class SoundLiveRequest(BaseModel):
    """What a slide may ask of the sound model (docs/live-protocol.md); every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text_input: ClassVar[TextInput] = TextInput("prompt")  # the slide's caption, the room's suggestions
    prompt: Caption
    steps: Annotated[int, Field(ge=2, le=MAX_STEPS)] = 20
    guidance_scale: Annotated[float, Field(ge=0, le=20)] = 3.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0

    @field_validator("prompt")
    @classmethod
    def _in_the_world(cls, value: str) -> str:
        try:
            parse_caption(value)
        except ValueError:
            raise ValueError(REFUSAL) from None  # one line, without the typed text
        return value


def png_url(spectrogram, scale: int) -> str:
    from w2w_generators.sound.media import spectrogram_rgb

    return "data:image/png;base64," + base64.b64encode(upscaled_png(spectrogram_rgb(spectrogram), scale)).decode()


def wav_url(samples, rate: int = SAMPLE_RATE) -> str:
    from w2w_generators.sound.media import wav_bytes

    return "data:audio/wav;base64," + base64.b64encode(wav_bytes(samples, rate)).decode()


def events(pipe, request: SoundLiveRequest) -> Iterator[dict]:
    """One `step` per denoising step (its x̂0 as `image` and `audio`), then `done`."""
    import torch

    from w2w_generators.sound.checker import hear, heard_words
    from w2w_generators.sound.spectrogram import StepSounds, to_clip

    started = time.perf_counter()
    sounds = StepSounds(rate=STEP_RATE)
    generator = torch.Generator().manual_seed(request.seed)  # the plain call's noise (generator.py `_noise`)
    latents = None
    for state in pipe.denoising(request.prompt, request.steps, request.guidance_scale, generator):
        x0 = state["x0"][0, 0].float().clamp(-1, 1).cpu().numpy()
        latents = state["latents"]
        yield {
            "type": "step",
            "step": state["i"] + 1,
            "steps": request.steps,
            "timestep": state["t"],
            "image": png_url(x0, STEP_SCALE),
            "audio": wav_url(sounds(x0), STEP_RATE),
        }
    spectrogram = latents[0, 0].float().clamp(-1, 1).cpu().numpy()
    clip = to_clip(spectrogram)  # as SoundDiffusionPipeline.__call__ makes it
    seconds = time.perf_counter() - started
    heard = hear(clip)
    yield {
        "type": "done",
        "prompt": request.prompt,
        "steps": request.steps,
        "seed": request.seed,
        "guidance_scale": request.guidance_scale,
        "image": png_url(spectrogram, CLIP_SCALE),
        "audio": wav_url(clip),
        "clip_seconds": round(len(clip) / SAMPLE_RATE, 3),
        "heard": heard_words(heard),
        "matches": heard.matches(parse_caption(request.prompt)),
        "text": f"the checker heard {heard_words(heard)}",  # what the room's phones show beside the picture
        "seconds": round(seconds, 3),
        "seconds_per_step": round(seconds / request.steps, 4),
    }
