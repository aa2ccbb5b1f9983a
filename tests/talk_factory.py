"""Tiny real w2w projects for tests: the repository's templates and mkdocs.yml with a small talk."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

SECTIONS = {
    "intro": """\
        # Intro

        Welcome to **the mini talk**.

        Note:
        Say hello and ask who has used an LLM.

        ---

        ## A diagram

        ```mermaid
        graph LR
        A[Text Prompt] --> B[Text Encoder]
        B --> C[LLM - Scene Planner]
        C --> D[Diffusion Model - Renderer]
        ```

        Note:
        Walk through the diagram.
        """,
    "maths": """\
        # Maths

        $$
        x_t = \\sqrt{\\bar{\\alpha}_t}\\,x_0 + \\sqrt{1-\\bar{\\alpha}_t}\\,\\epsilon
        $$

        Note:
        The forward process.

        ---

        ## Handout only

        {% if target == "handout" %}Only readers see this.{% else %}Only the audience sees this.{% endif %}

        Note:
        Target switch.
        """,
    "words": """\
        # Words

        {{ figure("embedding_plot", "plot", "Word embeddings in 2-D") }}

        Note:
        Dog and puppy are close: {{ sim("dog", "puppy") }}.

        ---

        ## Numbers

        dog–puppy {{ sim("dog", "puppy") }} vs dog–banana {{ sim("dog", "banana") }}.

        Note:
        Computed at build time.
        """,
}

HANDOUT = {
    "index": "# Mini talk\n\n[Open the slide deck](slides/index.html)\n\n{{ agenda_table() }}\n",
    "worksheet": '# Worksheet\n\n−ln 0.3 = {{ "%.3f"|format(-ln(0.3)) }}\n',
}

# A section of slides `w2w present` can run live: the token trace, the denoising strip, the finished
# picture and the embedding plot (add_live_section).
LIVE_SECTION = """\
    # Live

    {{ token_trace("token_trace") }}

    ---

    ## Strip

    {{ denoising_strip("diffusion_demo") }}

    ---

    ## Picture

    {{ demo_image("diffusion_demo") }}

    ---

    ## Meaning

    {{ figure("embedding_plot", "plot", "Word embeddings in 2-D") }}
    {{ embedding_explorer("embedding_plot") }}
    """

# The live section's prompt: model text that tries to end the deck's JSON script element and inject
# markup, so the recording the deck embeds carries it.
HOSTILE_PROMPT = 'Noise </script><b id="pwned">bold</b> becomes'

# The server ends a live stream after this many seconds without an event (and the deck gives up 2 s
# later). Short, since a test waits it out; since the server applies it to every client, the
# tests' own requests too, long enough for the first token on the loaded shared machine: about
# 0.1 s idle (BENCHMARKS.md, bench_present), but 2-5 s measured with the machine's other work
# (2026-12-07), where 5 s ended one run in six.
LIVE_TIMEOUT_S = 10


def make_project(
    root: Path,
    agenda: list[dict] | None = None,
    sections: dict[str, str] | None = None,
    words: list[str] | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a small talk into `root` and return it. Sections are dedented Jinja-Markdown."""
    sections = SECTIONS if sections is None else sections
    agenda = agenda or [{"id": s, "title": s.title(), "minutes": 2} for s in sections]
    (root / "talk" / "sections").mkdir(parents=True, exist_ok=True)
    (root / "talk" / "handout").mkdir(parents=True, exist_ok=True)
    for name, text in sections.items():
        (root / "talk" / "sections" / f"{name}.md").write_text(textwrap.dedent(text))
    for name, text in HANDOUT.items():
        (root / "talk" / "handout" / f"{name}.md").write_text(text)
    talk = {
        "title": "Mini talk",
        "subtitle": "A test",
        "speaker": "Tester",
        "slot_minutes": sum(a["minutes"] for a in agenda if a.get("enabled", True)),
        "agenda": agenda,
        "handout": ["worksheet"],
        # A vocabulary of 20 words for the live section's explorer (the real talk's 2,000 are tested there).
        "generators": {"embedding_plot": {"words": words or ["dog", "puppy", "banana"], "vocabulary": 20}},
        "models": {"device": "cpu"},
        **(extra or {}),
    }
    (root / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    shutil.copytree(REPO / "templates", root / "templates", dirs_exist_ok=True)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    if not (root / "node_modules").exists():
        os.symlink(REPO / "node_modules", root / "node_modules")
    return root


def copy_built(built: Path, root: Path) -> Path:
    """A copy at `root` of a built project (conftest's `mini_build`), its build cache included: a
    test whose subject is not the generators' first run starts from it instead of building a fresh
    make_project (a cold build runs MiniLM: 2 s in a worker that has torch imported, 4-5 s under the
    suite's load; a copy's warm build is 0.5 s, measured 2026-12-07)."""
    shutil.copytree(built, root, symlinks=True)
    return root


def add_live_section(root: Path) -> Path:
    """Append LIVE_SECTION to a talk made by make_project, with small inputs for the token trace (a
    run long enough to be stopped in the middle: 24 tokens, to the end-of-sequence token) and the
    diffusion demo (4 steps, 2 strip frames). The embedding plot keeps the mini talk's inputs, so a
    copy of the built mini talk takes that artifact from its cache instead of loading MiniLM."""
    (root / "talk" / "sections" / "live.md").write_text(textwrap.dedent(LIVE_SECTION))
    path = root / "talk" / "talk.yaml"
    talk = yaml.safe_load(path.read_text())
    talk["agenda"].append({"id": "live", "title": "Live", "minutes": 2})
    talk["slot_minutes"] += 2
    talk["generators"].update(
        # No tree of other choices: 24 tokens to EOS would grow hundreds of branches (the real talk tests it).
        # A small tree (2 branches: the second candidates at steps 4 and 15 are p >= 0.4), so that the
        # deck has the token explorer and most of its candidates are for the live model to write.
        token_trace={
            "prompt": HOSTILE_PROMPT,
            "max_new_tokens": 24,
            "stop": "eos",
            "tree_depth": 1,
            "tree_width": 2,
            "tree_min_prob": 0.4,
        },
        diffusion_demo={"steps": 4, "strip_frames": 2, "grid_seeds": []},  # the sweep: tested on the real talk
    )
    talk["live"] = {"timeout_s": LIVE_TIMEOUT_S}
    path.write_text(yaml.safe_dump(talk, sort_keys=False))
    return root


def with_theme(root: Path, theme: dict) -> None:
    """Set talk.yaml's `theme:` of the project at `root`."""
    path = root / "talk" / "talk.yaml"
    data = yaml.safe_load(path.read_text())
    data["theme"] = theme
    path.write_text(yaml.safe_dump(data, sort_keys=False))
