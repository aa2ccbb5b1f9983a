"""Before any generator runs: is everything the rest of the build needs on this machine?

A model run can take a minute; the deck and handout then need reveal.js and iframe-worker from
node_modules/ and the mkdocs-material theme. A clone without `npm ci` once ran 73 s of models and
then failed on the missing reveal.js. These checks take milliseconds, so they come first, and each
failure is one located line.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from w2w.errors import W2WError
from w2w.project import Project
from w2w.publish.npm_assets import iframe_worker_shim, reveal_dir

log = logging.getLogger(__name__)

# The font the deck's diagrams are measured in (mermaidx bundles it for measuring; the browser
# draws the labels with the system's copy, so without it labels overflow their boxes).
DIAGRAM_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def check_site_needs(project: Project) -> None:
    reveal_dir(project.root)
    iframe_worker_shim(project.root)
    if importlib.util.find_spec("material") is None:
        raise W2WError(
            "the mkdocs-material theme is not installed",
            "run `make install` (or pip install -r requirements.lock)",
            project.mkdocs_yml,
            1,
        )
    if not DIAGRAM_FONT.is_file():
        log.warning(
            "%s is missing: diagrams are measured in DejaVu Sans and their labels will not fit in "
            "another font — install Debian's fonts-dejavu-core (scripts/install.sh does)",
            DIAGRAM_FONT,
        )
