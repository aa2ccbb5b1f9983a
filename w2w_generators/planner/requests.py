"""Requests in everyday words and the plans they mean: the planner's training data and its held-out test.

A request names two objects of the table (objects.py) and how they sit ("the sun over the sea");
its plan is the shapes world's caption ("a yellow circle above a blue square"). The world has two
relations, "above" and "left of", with the first-named shape up or left (shapes/world.py); the
other words map onto them by swapping the objects: "A under B" is "B above A", "A right of B" (and
"A beside/next to B", read as "right of") is "B left of A".

The held-out split (heldout.json, committed) is made of frames that training never uses and of
object pairs that training never puts together, in either order: it tests new phrasings and new
pairings, while every object of the table is seen in training (its colour and shape are learnt
from the table; the table itself is the only source of truth).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from w2w_generators.planner.objects import OBJECTS, WORLD_WORDS, Thing

HELDOUT_FILE = Path(__file__).with_name("heldout.json")

# relation word -> (the world's relation, whether the objects swap)
RELATION_WORDS: dict[str, tuple[str, bool]] = {
    **dict.fromkeys(["above", "over", "on top of", "on", "high above", "up above"], ("above", False)),
    **dict.fromkeys(["below", "under", "beneath", "underneath", "lower than"], ("above", True)),
    **dict.fromkeys(["left of", "to the left of", "on the left of", "at the left of"], ("left of", False)),
    **dict.fromkeys(["right of", "to the right of", "on the right of", "beside", "next to"], ("left of", True)),
}

TRAIN_FRAMES = (
    "{a} {rel} {b}",
    "draw {a} {rel} {b}",
    "show me {a} {rel} {b}",
    "a picture of {a} {rel} {b}",
    "I want {a} {rel} {b}",
    "paint {a} {rel} {b}",
    "can you draw {a} {rel} {b}?",
    "{a} sitting {rel} {b}",
    "put {a} {rel} {b}",
    "make {a} {rel} {b}",
    "there is {a} {rel} {b}",
    "an image with {a} {rel} {b}",
    "please draw {a} {rel} {b}",
    "{a} {rel} {b}, please",
    "sketch {a} {rel} {b}",
    "{a} placed {rel} {b}",
    "render {a} {rel} {b}",
    "I'd like to see {a} {rel} {b}",
    "a scene with {a} {rel} {b}",
    "create {a} {rel} {b}",
    "{a} is {rel} {b}",
    "give me {a} {rel} {b}",
    "imagine {a} {rel} {b}",
    "draw me a picture: {a} {rel} {b}",
)
HELDOUT_FRAMES = (
    "could you paint {a} {rel} {b} for me?",
    "{a} floating {rel} {b}",
    "my drawing: {a} {rel} {b}",
    "generate {a} {rel} {b}",
    "let's see {a} {rel} {b}",
    "quick sketch of {a} {rel} {b}",
    "what would {a} {rel} {b} look like?",
    "{a} resting {rel} {b}",
)


@dataclass(frozen=True)
class Example:
    request: str
    plan: str


def plan_of(first: Thing, word: str, second: Thing) -> str:
    relation, swap = RELATION_WORDS[word]
    top, other = (second, first) if swap else (first, second)
    return f"a {top.drawn} {relation} a {other.drawn}"


def _noun(thing: Thing, rng: random.Random) -> str:
    if thing.name[0].isupper():  # Mars, Earth, Neptune: no article
        return thing.name
    if rng.random() < 0.4:
        return f"the {thing.name}"
    return ("an " if thing.name[0] in "aeiou" else "a ") + thing.name


def make_example(first: Thing, second: Thing, frame: str, rng: random.Random) -> Example:
    word = rng.choice(list(RELATION_WORDS))
    text = frame.format(a=_noun(first, rng), rel=word, b=_noun(second, rng))
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    if not text.endswith("?") and rng.random() < 0.3:
        text += rng.choice([".", "!"])
    return Example(text, plan_of(first, word, second))


def heldout_pairs(seed: int = 1, count: int = 300) -> set[frozenset[str]]:
    """Unordered object pairs that training never puts together."""
    rng = random.Random(seed)
    pairs: set[frozenset[str]] = set()
    while len(pairs) < count:
        a, b = rng.sample(OBJECTS, 2)
        pairs.add(frozenset((a.name, b.name)))
    return pairs


def training_examples(count: int, seed: int = 0) -> list[Example]:
    """`count` requests over the training frames and pairs (5 % in the world's own words)."""
    rng = random.Random(seed)
    held = heldout_pairs()
    examples = []
    while len(examples) < count:
        pool = WORLD_WORDS if rng.random() < 0.05 else OBJECTS
        a, b = rng.sample(pool, 2)
        if frozenset((a.name, b.name)) not in held:
            examples.append(make_example(a, b, rng.choice(TRAIN_FRAMES), rng))
    return examples


def make_heldout(seed: int = 2) -> list[Example]:
    rng = random.Random(seed)
    by_name = {t.name: t for t in OBJECTS}
    examples = []
    for pair in sorted(sorted(p) for p in heldout_pairs()):
        a, b = (by_name[n] for n in rng.sample(pair, 2))
        examples.append(make_example(a, b, rng.choice(HELDOUT_FRAMES), rng))
    return examples


def write_heldout(path: Path = HELDOUT_FILE) -> None:
    rows = [{"request": e.request, "plan": e.plan} for e in make_heldout()]
    path.write_text(json.dumps(rows, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")


def load_heldout(path: Path = HELDOUT_FILE) -> list[Example]:
    return [Example(**row) for row in json.loads(path.read_text(encoding="utf-8"))]
