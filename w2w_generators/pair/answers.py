"""The two halves of the pair generator's work, each one function.

`mirror`: the shapes model draws a caption (noise -> pixels: the sample x_t at a few steps) and the describer
reads the picture back (pixels -> words, each word with its probability): the multimodal part's
"understanding vs creating" on one picture.
`llm_answer`: SmolLM2-135M-Instruct answers a prompt as a chat turn, greedily, so the warm-up's
"same prompt, two answers" shows what a language model really wrote beside what a diffusion model
really drew for the same words.
"""

from __future__ import annotations

from typing import Any


def frames_at(strip: list, count: int) -> list[tuple[int, Any]]:
    """(1-based step, frame) at `count` evenly spaced steps, first and last included."""
    from w2w_generators.diffusion.capture import capture_steps

    return [(i + 1, strip[i]) for i in capture_steps(len(strip), count)]


def mirror(renderer, describe, caption: str, seed: int, guidance: float, steps: int, frames: int) -> dict:
    drawn = renderer(caption, seed, guidance, steps)
    tokens = describe(drawn["image"])
    said = " ".join(t["token"] for t in tokens if t["token"] != "<eos>")
    return {"image": drawn["image"], "frames": frames_at(drawn["noisy"], frames), "tokens": tokens, "said": said}


def llm_answer(lm, tokenizer, prompt: str, max_new_tokens: int) -> dict:
    """The model's greedy answer to `prompt` as a user turn, and how it ended (eos or the limit)."""
    import torch

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.inference_mode():
        out = lm.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    new = out[0, ids["input_ids"].shape[1] :]
    ended = "eos" if len(new) < max_new_tokens or int(new[-1]) == tokenizer.eos_token_id else "limit"
    return {"text": tokenizer.decode(new, skip_special_tokens=True).strip(), "tokens": int(len(new)), "ended": ended}
