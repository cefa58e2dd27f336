"""Small fixes to what Jupyter Book 1's theme stack puts on every page.

* sphinx-thebe's inline configuration script is registered twice, which makes the
  browser report "Identifier 'THEBE_JS_URL' has already been declared" on every page;
  duplicate script entries are dropped.
* pydata-sphinx-theme needs a default colour mode; without one it logs
  "Got invalid theme mode" on first visit. The default is "auto" (follow the system).
* ``book/_static/book.css`` raises the contrast of links inside tinted boxes.

Each fix is checked by the browser tests in ``tests/test_book_browser.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parents[1] / "_static"


def set_defaults(app: Any, config: Any) -> None:
    """Add the book's static files and a default colour mode."""
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def drop_duplicate_scripts(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Keep the first of scripts with the same file or inline body, whatever their priority.

    Runs last among the page's handlers, on the list the page template will render.
    """
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        filename = getattr(script, "filename", script) or ""  # inline: None or ""
        key = (str(filename), str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    """Register the fixes."""
    app.connect("config-inited", set_defaults)
    app.connect("html-page-context", drop_duplicate_scripts, priority=999)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
