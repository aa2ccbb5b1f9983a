"""Stage 5, the built site judged in a real browser: layout, contrast, accessibility (axe-core),
the explorables' other states (browser_check.py; its page scripts are the .js files beside it)."""
