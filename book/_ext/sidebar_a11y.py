"""Give the sidebar's expand/collapse toggles an accessible name.

pydata-sphinx-theme turns every table-of-contents entry that has children (here the API
reference, whose module pages are its sections) into ``<details>`` with a
``<summary>`` that holds only a decorative chevron. Such a summary has no accessible
name, which screen readers announce as an unlabelled button and axe-core reports as a
serious ``summary-name`` violation. This extension wraps the theme's sidebar generator and
labels each of those summaries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from _pins import require

# The versions this workaround was written for (see _pins.py and README.md).
WRITTEN_FOR = {"pydata-sphinx-theme": "0.17.1"}

BARE = '<summary><span class="toctree-toggle"'
LABELLED = '<summary aria-label="Show or hide the sections"><span class="toctree-toggle"'


def label_toggles(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Wrap ``generate_toctree_html`` so that its toggles carry an ``aria-label``."""
    original: Callable[..., Any] | None = context.get("generate_toctree_html")
    if original is None:
        return

    def labelled(*args: Any, **kwargs: Any) -> Markup:
        return Markup(str(original(*args, **kwargs)).replace(BARE, LABELLED))

    context["generate_toctree_html"] = labelled


def setup(app: Any) -> dict[str, Any]:
    """Run after the theme has put its toctree functions into the page context."""
    require("sidebar_a11y", WRITTEN_FOR)
    app.connect("html-page-context", label_toggles, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
