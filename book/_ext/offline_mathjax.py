"""Serve MathJax from the built site, so that the book's math renders offline.

Sphinx loads MathJax from a CDN by default. This extension copies MathJax 3
(installed from the npm registry into ``node_modules/`` by ``make book``) into
``_build/html/_static/mathjax/`` and ``_config.yml`` points ``mathjax_path`` there,
so the built HTML refers to no other host. The copy is skipped when the installed
version is already in place, which keeps a no-change rebuild fast.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]
MATHJAX_PACKAGE = REPO_ROOT / "node_modules" / "mathjax"
# The bundles we never load (the *-full* and MathML-input variants) are left out.
SKIP = shutil.ignore_patterns("*-full*.js", "mml-*.js", "tex-mml-*.js", "node-main.js")


def _installed_version() -> str:
    package_json = MATHJAX_PACKAGE / "package.json"
    if not package_json.is_file():
        raise ExtensionError(
            f"MathJax is not installed at {MATHJAX_PACKAGE}. Run `npm ci` in the repository "
            "root (make book does this) so the book can serve MathJax without a CDN."
        )
    return str(json.loads(package_json.read_text(encoding="utf-8"))["version"])


def check_installed(app: Sphinx) -> None:
    """Fail early, with the fix, if MathJax is missing."""
    if app.builder.format == "html":
        _installed_version()


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax's ``es5`` bundle into ``_static/mathjax`` of the HTML output."""
    if exception is not None or app.builder.format != "html":
        return
    version = _installed_version()
    target = Path(app.outdir) / "_static" / "mathjax"
    stamp = target / ".version"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == version:
        return
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(MATHJAX_PACKAGE / "es5", target, ignore=SKIP)
    stamp.write_text(version, encoding="utf-8")
    LOGGER.info("offline_mathjax: copied MathJax %s into %s", version, target)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.connect("builder-inited", check_installed)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
