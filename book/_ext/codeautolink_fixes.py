"""Two fixes for sphinx-codeautolink (0.19), which links names in code cells to the API.

* It keeps a stack of section titles while it walks a page: it pushes on every ``title``
  node and pops when it leaves a ``section``. sphinx-exercise wraps the body of every
  exercise and solution in a ``section`` *without* a title, so a page with enough
  exercises pops an empty stack and the build stops with ``IndexError: pop from empty
  list``. Here a section pops only the title it pushed.
* It adds its links to the HTML of the pages that were out of date when the build
  started. When a change of configuration makes Sphinx re-read and re-write every page,
  the pages whose sources did not change are written again without links. Here every
  page written in the build is marked for linking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes


def _depart_section(self: Any, node: nodes.section) -> None:
    """Pop the section's title, if it has one."""
    if node.children and isinstance(node.children[0], nodes.title) and self.title_stack:
        self.title_stack.pop()


def _codeautolink(app: Any) -> Any:
    """Return the extension's state object (the owner of its build-finished handler)."""
    for listener in app.events.listeners.get("build-finished", []):
        owner = getattr(listener.handler, "__self__", None)
        if type(owner).__name__ == "SphinxCodeAutoLink":
            return owner
    return None


def _mark_written(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Link the page being written, whether or not its source changed."""
    state = _codeautolink(app)
    if state is not None and doctree is not None:
        state.outdated_docs.add(str(Path(pagename)))


def setup(app: Any) -> dict[str, Any]:
    """Patch the analyser of sphinx-codeautolink and track the pages written."""
    from sphinx_codeautolink.extension.block import CodeBlockAnalyser

    CodeBlockAnalyser.depart_section = _depart_section
    app.connect("html-page-context", _mark_written)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
