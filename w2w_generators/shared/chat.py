"""A language model's answer to one user turn: greedy, so a build is reproducible. Used where the
talk sets an LLM's words beside a diffusion model's output for the same prompt (the warm-up)."""

from __future__ import annotations


def chat_answer(lm, tokenizer, prompt: str, max_new_tokens: int) -> dict:
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
