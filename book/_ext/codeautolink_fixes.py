"""A fix for sphinx-codeautolink on pages with exercises.

sphinx-codeautolink (0.19) keeps a stack of section titles while it walks a page: it
pushes on every ``title`` node and pops when it leaves a ``section``. sphinx-exercise
wraps the body of every exercise and solution in a ``section`` *without* a title, so a
page with enough exercises pops an empty stack and the build stops with
``IndexError: pop from empty list``. Here a section pops only the title it pushed.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes


def _depart_section(self: Any, node: nodes.section) -> None:
    """Pop the section's title, if it has one."""
    if node.children and isinstance(node.children[0], nodes.title) and self.title_stack:
        self.title_stack.pop()


def setup(app: Any) -> dict[str, Any]:
    """Patch the analyser of sphinx-codeautolink."""
    from sphinx_codeautolink.extension.block import CodeBlockAnalyser

    CodeBlockAnalyser.depart_section = _depart_section
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
