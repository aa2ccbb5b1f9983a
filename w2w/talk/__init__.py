"""Stage 1, the talk as the speaker wrote it: talk.yaml validated into a `Talk` (config.py, with
yaml_source.py for the line of every key and themes.py for the palettes), and the sections' Jinja
sandbox (sandbox.py: the environment, its escaping of values, its compiled-template cache, and the
artifact references a page makes)."""
