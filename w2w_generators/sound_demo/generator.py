"""Text to sound with the shipped sound-world diffusion model: the talk's "the same denoising loop
makes pictures and sound", heard.

One pipeline call (sound/pipeline.py) draws the caption's spectrogram in `steps` DDIM steps, and
Griffin-Lim turns it into a 16 kHz clip. From that call come:

- sound.wav        the clip (1 s, 32 kB)
- spectrogram.png  the model's 32×32 spectrogram, x8 (high frequencies on top)
- frame_K.png      at `strip_frames` evenly spaced steps, the sample x_t the sampler holds after
                   the step (noise at first), x4
- guess_K.png      at the same steps, the model's prediction of the clean spectrogram, x̂0, x4
- strip_noisy.wav  the x_t, each turned into sound, one after another with 0.25 s between: the
                   reader hears noise become the notes step by step (one file a row: 6 steps are
                   7.25 s, 232 kB, where six WAVs would need six players on a slide)
- strip_guess.wav  the x̂0 the same way: the guess is a blur of notes from the first step on

The checker (checker.py) hears the clip and each step's sound from the waveform alone; what it
heard is the slide's text alternative, beside what the caption asked.

Live (live.py): under `w2w present` the "Noise becomes a note" slide takes a caption and streams
every step's x̂0 as a picture and a sound, then the finished clip; without a server the slide
replays the build's own run (the strip's steps and the clip: templates/macros.j2 `_sound_live`).
`w2w generate sound CAPTION` makes clips from the terminal.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from w2w.plugin_api import (
    Artifact,
    Generator,
    InputError,
    ModelRef,
    RunContext,
    W2WError,
    best_of,
    labelled,
    speed_repeats,
    write_bytes,
)
from w2w_generators.diffusion.capture import capture_steps
from w2w_generators.shared.minilm import MINILM_ID, resolve_minilm
from w2w_generators.shared.model_resolution import SOUND_WEIGHTS, content_hash
from w2w_generators.sound.checker import heard_words
from w2w_generators.sound.media import concatenated, spectrogram_png, wav_bytes
from w2w_generators.sound.world import SAMPLE_RATE, parse_caption
from w2w_generators.sound_demo.live import MAX_STEPS, SoundLiveRequest, events

log = logging.getLogger("w2w.generators.sound")
SOUND_MODEL_ID = "w2w/sound-diffusion"
EXAMPLE = "two high rising notes on a flute"


class SoundInputs(BaseModel):
    """talk.yaml's generators.sound: the caption the model plays and how it samples."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prompt: str = EXAMPLE
    steps: Annotated[int, Field(ge=2, le=100)] = 20
    guidance_scale: Annotated[float, Field(ge=0, le=20)] = 3.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    strip_frames: Annotated[int, Field(ge=2, le=8)] = 6

    @field_validator("prompt")
    @classmethod
    def _in_the_world(cls, value: str) -> str:
        try:
            parse_caption(value)
        except ValueError as error:
            raise InputError(
                str(error), "use the sound world's words, e.g. 'two high rising notes on a flute'"
            ) from None
        return value


def write_strip(out, picked: list[int], out_dir: Path, files: dict) -> tuple[list[dict], float]:
    """At each picked step: the sample x_t and the prediction x̂0 as pictures (frame_K, guess_K) and,
    one after another, as two WAVs (strip_noisy, strip_guess); each sound as the checker heard it."""
    import torch

    from w2w_generators.sound.checker import hear
    from w2w_generators.sound.spectrogram import to_clip

    frames, rows = [], {"noisy": [], "guess": []}
    for k, i in enumerate(picked):
        frame = {"step": i + 1}
        for row, steps, role in (("noisy", out.xt_steps, "frame"), ("guess", out.x0_steps, "guess")):
            files[f"{role}_{k}"] = f"{role}_{k}.png"
            (out_dir / f"{role}_{k}.png").write_bytes(spectrogram_png(steps[i][0], 4))
            sound = to_clip(torch.from_numpy(steps[i][0]))
            rows[row].append(sound)
            frame[f"{row}_role"], frame[f"{row}_heard"] = f"{role}_{k}", heard_words(hear(sound))
        frames.append(frame)
    seconds = 0.0
    for row, clips in rows.items():
        samples, starts = concatenated(clips)
        files[f"strip_{row}"] = f"strip_{row}.wav"
        (out_dir / f"strip_{row}.wav").write_bytes(wav_bytes(samples))
        for frame, start in zip(frames, starts, strict=True):
            frame["start_s"] = start
        seconds = round(len(samples) / SAMPLE_RATE, 3)
    return frames, seconds


def shipped_record() -> dict:
    """The shipped weights' training.json (its held-out score is the slide's)."""
    path = SOUND_WEIGHTS / "training.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class SoundGenerator(Generator):
    name: ClassVar[str] = "sound"
    version: ClassVar[str] = "2"  # 2: live, the data's live_request
    live: ClassVar[bool] = True
    Inputs: ClassVar[type[BaseModel]] = SoundInputs
    LiveRequest: ClassVar[type[BaseModel]] = SoundLiveRequest
    libraries: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers", "numpy", "Pillow")
    macros: ClassVar[tuple[str, ...]] = ("sound_player", "sound_strip")

    def model_ids(self, inputs: SoundInputs) -> list[str]:
        return [MINILM_ID]  # the weights are shipped; the captions' encoder is pulled

    def file_roles(self, inputs: SoundInputs) -> set[str]:
        frames = len(capture_steps(inputs.steps, inputs.strip_frames))
        pictures = {f"{role}_{k}" for role in ("frame", "guess") for k in range(frames)}
        return {"audio", "spectrogram", "strip_noisy", "strip_guess"} | pictures

    def resolve_model(self, inputs: SoundInputs, local_dirs: dict[str, str]) -> ModelRef:
        if not (SOUND_WEIGHTS / "unet" / "config.json").is_file():
            raise W2WError(f"the sound model is not in {SOUND_WEIGHTS}", "run `w2w train-sound` (CPU, under an hour)")
        encoder = resolve_minilm(MINILM_ID, local_dirs, purpose="the sound model's captions")
        revision = f"{content_hash(SOUND_WEIGHTS)}+{encoder.revision}"
        return ModelRef(SOUND_MODEL_ID, revision, "shipped", str(SOUND_WEIGHTS), encoder=encoder.path)

    def run(self, inputs: SoundInputs, model: ModelRef, device: str, out_dir: Path) -> Artifact:
        from w2w_generators.sound.checker import hear

        run = RunContext(self, model, device)
        pipe = self.load(model, run.device)
        # 1. One call, every step's sample x_t and prediction x̂0 kept for the strip.
        out = pipe(inputs.prompt, inputs.steps, inputs.guidance_scale, self._noise(inputs.seed), keep_steps=True)
        clip = out.audios[0]
        # 2. The speed of one call without the strip, timed apart (best_of: one thread's CPU time).
        timing = best_of(
            lambda: pipe(inputs.prompt, inputs.steps, inputs.guidance_scale, self._noise(inputs.seed)),
            speed_repeats(3),
            device=run.device,
        )
        # 3. The files: the clip, its spectrogram, and the strip's pictures and sounds.
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {"audio": "sound.wav", "spectrogram": "spectrogram.png"}
        (out_dir / "sound.wav").write_bytes(wav_bytes(clip))
        (out_dir / "spectrogram.png").write_bytes(spectrogram_png(out.spectrograms[0], 8))
        picked = capture_steps(inputs.steps, inputs.strip_frames)
        frames, strip_seconds = write_strip(out, picked, out_dir, files)
        heard = hear(clip)
        record = shipped_record()
        data: dict[str, Any] = {
            "prompt": inputs.prompt,
            "steps": inputs.steps,
            "guidance_scale": inputs.guidance_scale,
            "seed": inputs.seed,
            "scheduler": "ddim",
            "sample_rate": SAMPLE_RATE,
            "seconds": round(len(clip) / SAMPLE_RATE, 3),
            "heard": heard_words(heard),
            "matches": heard.matches(parse_caption(inputs.prompt)),
            "frames": frames,
            "strip_seconds": strip_seconds,
            "seconds_per_step": round(timing["best_s"] / inputs.steps, 4),
            "scores": record.get("scores", {}),
            "parameters": record.get("parameters"),
            "training_captions": record.get("training_captions"),
            "live_request": self.live_request(inputs).model_dump(mode="json"),
        }
        return Artifact(self.name, files, data, run.provenance(dtype="float32", timing=timing), out_dir)

    @staticmethod
    def _noise(seed: int):
        import torch

        return torch.Generator().manual_seed(seed)

    # --- `w2w generate sound CAPTION…`: one WAV per caption (docs/generators.md) ----------------

    generate_input: ClassVar[str | None] = "text"
    generate_writes: ClassVar[str | None] = ".wav"

    def generate_check(self, value: str) -> tuple[str, str] | None:
        try:
            parse_caption(value)
        except ValueError as error:
            return str(error), "give a sound-world caption, e.g. 'two high rising notes on a flute'"
        return None

    # --- the live protocol (docs/live-protocol.md): live.py ---------------------------------------

    def load(self, model: ModelRef, device: str) -> Any:
        """The pipeline, loaded once (also what `w2w generate sound` runs with)."""
        from w2w_generators.sound.pipeline import SoundDiffusionPipeline

        return SoundDiffusionPipeline.from_dirs(model.path, model.encoder, device)

    def live_request(self, inputs: SoundInputs, model: ModelRef | None = None) -> SoundLiveRequest:
        steps = min(inputs.steps, MAX_STEPS)  # the live limit; a build may ask for more
        return SoundLiveRequest(
            prompt=inputs.prompt, steps=steps, guidance_scale=inputs.guidance_scale, seed=inputs.seed
        )

    def steps(self, loaded: Any, request: BaseModel):
        return labelled(events(loaded, request), SOUND_MODEL_ID, str(loaded.unet.device))

    def generate(self, loaded: Any, value: str, seed: int, out: Path | None) -> dict:
        """The clip of one caption, written at `out` as a 16 kHz WAV; what the checker heard."""
        from w2w_generators.sound.checker import hear

        inputs = SoundInputs()
        clip = loaded(value, inputs.steps, inputs.guidance_scale, self._noise(seed)).audios[0]
        write_bytes(out, wav_bytes(clip))
        heard = hear(clip)
        matches = heard.matches(parse_caption(value))
        return {
            "audio": str(out),
            "model": SOUND_MODEL_ID,
            "steps": inputs.steps,
            "seed": seed,
            "heard": heard_words(heard),
            "matches": matches,
            "summary": f"{value} -> {out} (the checker heard {heard_words(heard)}{'' if matches else ': not a match'})",
        }
