"""Markup fixes for mkdocs-material's own HTML, applied to each written page (the plugin's
`on_post_page`): the validators (vnu, axe-core) flag it, and the markup sits outside every template
block, so an override in templates/mkdocs would mean copying Material's base.html and nav-item.html
(~400 lines of someone else's template, stale with each release). Each fix names the exact text it
replaces; the vnu and axe tests fail if a Material release changes it.
"""

from __future__ import annotations

import re

FIXES = [
    # Material 9.8: `autocomplete` is not allowed on checkboxes (vnu; 2 per page). Material sets it
    # so that Firefox does not restore the drawer/search toggles after a reload; without it a reload
    # in Firefox may reopen the drawer.
    (
        re.compile(
            r'(<input class="md-toggle" data-md-toggle="(?:drawer|search)" type="checkbox" id="__\w+")'
            r' autocomplete="off">'
        ),
        r"\1>",
    ),
    # A section label of navigation.sections gets tabindex="" (not a valid integer, vnu): it is not
    # a toggle, so it takes no tabindex at all, as Material intends.
    (re.compile(r'(<label class="md-nav__link[^"]*" for="[^"]*" id="[^"]*") tabindex="">'), r"\1>"),
    # The search dialog has no accessible name (axe aria-dialog-name, every page).
    (
        re.compile(r'<div class="md-search" data-md-component="search" role="dialog">'),
        '<div class="md-search" data-md-component="search" role="dialog" aria-label="Search">',
    ),
]


def fix_theme_markup(html: str) -> str:
    for pattern, replacement in FIXES:
        html = pattern.sub(replacement, html)
    return html
