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
    "worksheet": "# Worksheet\n\n−ln 0.3 = {{ \"%.3f\"|format(-ln(0.3)) }}\n",
}


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
        "generators": {"embedding_plot": {"words": words or ["dog", "puppy", "banana"]}},
        "models": {"device": "cpu"},
        **(extra or {}),
    }
    (root / "talk" / "talk.yaml").write_text(yaml.safe_dump(talk, sort_keys=False))
    shutil.copytree(REPO / "templates", root / "templates", dirs_exist_ok=True)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    if not (root / "node_modules").exists():
        os.symlink(REPO / "node_modules", root / "node_modules")
    return root
