"""Stage 3, Markdown and artifacts into HTML: `prepare` (the talk, the plan and the produced
artifacts in one `Prepared`), the templating over the sections, markdown-it with diagrams and
maths, inlined SVG plots, slides split out of a section, and the notes' pacing."""
