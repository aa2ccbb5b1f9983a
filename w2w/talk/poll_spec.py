"""A poll's shape, checked where a slide declares one (`poll(question, options)` in
templates/macros.j2, through the sandbox's `poll_check`) and read by the room that runs it
(w2w/present/room/poll.py): one question, 2 to 4 different answers, short enough for a phone."""

from __future__ import annotations

from w2w.errors import W2WError

QUESTION_LIMIT = 200  # characters
OPTION_LIMIT = 80
OPTIONS_MIN, OPTIONS_MAX = 2, 4


def poll_check(question: object, options: object) -> dict:
    """{"question", "options"} as a slide's poll block carries them, or a W2WError (the page's
    line is added by the renderer)."""
    how = 'write it as poll("Your question?", ["an answer", "another"])'
    if not isinstance(question, str) or not question.strip():
        raise W2WError("poll(): the question must be text", how)
    if len(question) > QUESTION_LIMIT:
        raise W2WError(f"poll(): the question is over {QUESTION_LIMIT} characters", "shorten it")
    if not isinstance(options, (list, tuple)) or not all(isinstance(o, str) and o.strip() for o in options):
        raise W2WError("poll(): the answers must be a list of texts", how)
    if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX:
        raise W2WError(f"poll(): {len(options)} answers", f"give {OPTIONS_MIN} to {OPTIONS_MAX} answers")
    if any(len(o) > OPTION_LIMIT for o in options):
        raise W2WError(f"poll(): an answer is over {OPTION_LIMIT} characters", "shorten it")
    if len({" ".join(o.split()).casefold() for o in options}) != len(options):
        raise W2WError("poll(): two answers are the same", "make each answer different")
    return {"question": " ".join(question.split()), "options": [" ".join(o.split()) for o in options]}
