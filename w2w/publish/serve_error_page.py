"""`w2w serve`: a build error is shown in the browser, not only in the terminal.

`mkdocs serve` keeps the last good site when a rebuild fails and does not tell the browser (it
"will appear stuck until build errors are resolved"). The plugin's `on_serve` wraps the server's
builder instead: a failed rebuild writes an error page over every page of the served site and
returns normally, so livereload reloads the open page and shows `file:line: what — how to fix`.
MkDocs cleans and rewrites the whole site on the next good build, and livereload reloads again.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.w2w")


def error_page(message: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Build error - w2w</title>
<style>
  body {{ margin: 0; font: 18px/1.5 system-ui, sans-serif; color: #1f2330; background: #fff; }}
  main {{ max-width: 60em; margin: 3em auto; padding: 0 1.5em; }}
  h1 {{ font-size: 1.6em; color: #a4141c; }}
  pre {{ white-space: pre-wrap; overflow-wrap: anywhere; padding: 1em; background: #fdf0f0;
        border-left: 4px solid #a4141c; }}
</style>
</head>
<body>
<main>
<h1>The talk did not build</h1>
<pre id="w2w-build-error">{html.escape(message)}</pre>
<p>Fix it and save: this page reloads with the talk.</p>
</main>
</body>
</html>
"""


def showing_errors(
    builder: Callable[[], None], site_dir: Path, describe: Callable[[BaseException], str]
) -> Callable[[], None]:
    """`builder`, but a failure puts an error page at every page of the last good site (MkDocs
    may have emptied `site_dir` already when a page fails to render)."""
    known = _pages(site_dir)

    def build() -> None:
        nonlocal known
        try:
            builder()
        except Exception as exc:  # any build failure; the talk's own errors are described by `describe`
            message = describe(exc)
            log.error(message)
            page = error_page(message)
            for relative in {"index.html", "404.html", *known}:
                path = site_dir / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(page, encoding="utf-8")
        else:
            known = _pages(site_dir)

    return build


def _pages(site_dir: Path) -> set[str]:
    return {p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html")} if site_dir.is_dir() else set()
