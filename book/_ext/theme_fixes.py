"""Drop the script that Jupyter Book 1's theme stack puts on every page twice.

sphinx-thebe (0.3.1) registers its inline configuration script twice, which makes the
browser report "Identifier 'THEBE_JS_URL' has already been declared" on every page;
duplicate script entries are dropped. (The book's stylesheet and default colour mode are
configuration, in ``_config.yml``.) The browser tests in ``tests/test_book_browser.py``
fail on any console error, this one included.
"""

from __future__ import annotations

from typing import Any

from _pins import require

# The versions this workaround was written for (see _pins.py and README.md).
WRITTEN_FOR = {"sphinx-thebe": "0.3.1"}


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
    """Run last among the page's handlers."""
    require("theme_fixes", WRITTEN_FOR)
    app.connect("html-page-context", drop_duplicate_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
