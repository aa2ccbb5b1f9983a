"""The planner's table: everyday objects and how the shapes world draws them (a colour, a shape).

The shapes world has 5 colours and 3 shapes (shapes/world.py), so every object is drawn as the
nearest of them: round things are circles, boxy or flat things squares, pointed things triangles;
an orange or a carrot has no colour here and is not in the table. The planner learns this table
from generated requests (requests.py); a request naming nothing in it gets the model's best guess,
marked as a guess (plan.py). Grouped by kind so that the handout can print it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from w2w_generators.shapes.world import COLOURS, SHAPES


@dataclass(frozen=True)
class Thing:
    name: str
    colour: str
    shape: str
    kind: str

    @property
    def drawn(self) -> str:
        """How the world draws it: "yellow circle"."""
        return f"{self.colour} {self.shape}"


# kind -> "name: colour shape" lines (one object a line, so the table reads as a table).
_TABLE = {
    "fruit and vegetables": """
        apple: red circle; cherry: red circle; tomato: red circle; strawberry: red triangle;
        raspberry: red circle; pomegranate: red circle; radish: red circle; red pepper: red square;
        watermelon slice: red triangle; lemon: yellow circle; banana: yellow triangle;
        pineapple: yellow circle; grapefruit: yellow circle; corn cob: yellow square;
        yellow pepper: yellow square; lime: green circle; pear: green triangle; kiwi: green circle;
        pea: green circle; broccoli: green triangle; lettuce: green circle; cabbage: green circle;
        avocado: green circle; cucumber: green square; courgette: green square;
        green apple: green circle; grape: purple circle; plum: purple circle; blackberry: purple circle;
        aubergine: purple circle; fig: purple circle; beetroot: purple circle; red onion: purple circle;
        blueberry: blue circle
    """,
    "sky": """
        sun: yellow circle; moon: yellow circle; star: yellow triangle; lightning bolt: yellow triangle;
        sky: blue square; night sky: purple square; Mars: red circle; Neptune: blue circle;
        Earth: blue circle; sunset: red circle; kite: red triangle; balloon: red circle;
        rainbow: purple square; comet: yellow triangle
    """,
    "sea and land": """
        sea: blue square; ocean: blue square; lake: blue circle; pond: blue circle; river: blue square;
        wave: blue triangle; swimming pool: blue square; waterfall: blue square; glacier: blue triangle;
        hill: green triangle; island: green circle; field: green square; meadow: green square;
        lawn: green square; forest: green square; desert: yellow square; beach: yellow square;
        sand dune: yellow triangle; pyramid: yellow triangle; volcano: red triangle; lava: red square;
        mountain: purple triangle
    """,
    "plants": """
        tree: green triangle; pine tree: green triangle; bush: green circle; leaf: green triangle;
        cactus: green square; fern: green triangle; hedge: green square; lily pad: green circle;
        clover: green circle; rose: red circle; tulip: red triangle; poppy: red circle;
        sunflower: yellow circle; daffodil: yellow triangle; dandelion: yellow circle;
        buttercup: yellow circle; violet: purple circle; lavender: purple triangle; iris: purple triangle;
        orchid: purple triangle; bluebell: blue triangle; cornflower: blue circle;
        forget-me-not: blue circle; hydrangea: blue circle
    """,
    "animals": """
        frog: green circle; turtle: green circle; lizard: green triangle; crocodile: green square;
        caterpillar: green square; grasshopper: green triangle; parrot: red triangle;
        ladybird: red circle; crab: red circle; lobster: red triangle; cardinal: red triangle;
        robin: red circle; starfish: red triangle; canary: yellow circle; chick: yellow circle;
        duckling: yellow circle; bee: yellow circle; goldfinch: yellow triangle; blue whale: blue square;
        bluebird: blue triangle; peacock: blue triangle; shark: blue triangle; dolphin: blue triangle;
        butterfly: blue triangle; jellyfish: purple circle; octopus: purple circle; sea urchin: purple circle
    """,
    "vehicles": """
        fire engine: red square; bus: red square; racing car: red triangle; rocket: red triangle;
        canoe: red triangle; hot-air balloon: red circle; taxi: yellow square; school bus: yellow square;
        digger: yellow square; bulldozer: yellow square; submarine: yellow circle; tractor: green square;
        steam train: green square; police car: blue square; van: blue square; speedboat: blue triangle;
        sailing boat: blue triangle; aeroplane: blue triangle; ferry: blue square; scooter: purple square
    """,
    "gems": """
        ruby: red triangle; garnet: red circle; emerald: green square; jade: green circle;
        peridot: green triangle; sapphire: blue triangle; lapis lazuli: blue square; turquoise: blue circle;
        amethyst: purple triangle; tanzanite: purple square; topaz: yellow triangle; citrine: yellow square;
        gold coin: yellow circle
    """,
    "household things": """
        cushion: red square; rug: red square; postbox: red square; phone box: red square;
        lego brick: red square; button: red circle; beach ball: red circle; lollipop: red circle;
        pizza slice: red triangle; napkin: red triangle; tennis ball: yellow circle;
        rubber duck: yellow circle; sponge: yellow square; sticky note: yellow square;
        cheese wedge: yellow triangle; lampshade: yellow triangle; warning sign: yellow triangle;
        watering can: green square; dice: green square; book: blue square; towel: blue square;
        pillow: blue square; blanket: blue square; marble: blue circle; plate: blue circle;
        party hat: purple triangle; umbrella: purple triangle; gift box: purple square;
        bath bomb: purple circle; yarn ball: purple circle
    """,
}


def _parse(kind: str, text: str) -> list[Thing]:
    things = []
    for entry in filter(None, (e.strip() for e in text.split(";"))):
        name, drawn = (part.strip() for part in entry.split(":"))
        colour, shape = drawn.split()
        assert colour in COLOURS and shape in SHAPES, entry
        things.append(Thing(name, colour, shape, kind))
    return things


OBJECTS: tuple[Thing, ...] = tuple(t for kind, text in _TABLE.items() for t in _parse(kind, text))
KINDS: tuple[str, ...] = tuple(_TABLE)
# The world's own words are objects too: "a red circle under a blue square" plans as itself, swapped.
WORLD_WORDS: tuple[Thing, ...] = tuple(
    Thing(f"{c} {s}", c, s, "the world's own words") for c in COLOURS for s in SHAPES
)
BY_NAME: dict[str, Thing] = {t.name.lower(): t for t in OBJECTS + WORLD_WORDS}

# Longest names first, so that "green apple" is found before "apple" and "pine tree" before "tree".
_NAMES = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(BY_NAME, key=len, reverse=True)) + r")(?:e?s)?\b", re.IGNORECASE
)


def named_in(text: str) -> list[Thing]:
    """The table's objects (or the world's own "red circle"s) a request names, in order of
    appearance, plurals such as "plums" too."""
    return [BY_NAME[m.group(1).lower()] for m in _NAMES.finditer(text)]
