"""Stage 4, the outputs a person opens: the reveal.js deck (deck.py), the mkdocs-material handout
(handout_plugin.py), the front-end assets from npm, the PDF and one-file HTML exports, and the error
page `w2w serve` shows while a rebuild fails."""
