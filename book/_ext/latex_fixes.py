"""A fix to Sphinx's LaTeX writer for the PDF (`make pdf`).

A named admonition (```{admonition} ... :name: mistake-x```) gets an anchor in HTML but
no ``\\label`` in LaTeX, so every reference to it (the errata page links each erratum to
the "Common mistake" box that corrects it) is a dead link in the PDF and LaTeX reports it
undefined. Here the admonition's ids become labels, as Sphinx does for sections.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes

# Sphinx's own visit_admonition, kept by setup() and called by the patched one.
_ORIGINAL: Any = None


def _visit_admonition(self: Any, node: nodes.Element) -> None:
    """Label the place of the admonition with its ids, then open it as Sphinx does.

    The label goes before ``\\begin{sphinxadmonition}{type}{title}``: inside, it would
    take the place of the title argument.
    """
    if node["ids"]:
        self.body.append("\n" + self.hypertarget_to(node, anchor=True))
    _ORIGINAL(self, node)


def setup(app: Any) -> dict[str, Any]:
    """Patch the LaTeX translator's generic admonition."""
    from sphinx.writers.latex import LaTeXTranslator

    global _ORIGINAL
    if LaTeXTranslator.visit_admonition is not _visit_admonition:
        _ORIGINAL = LaTeXTranslator.visit_admonition
        LaTeXTranslator.visit_admonition = _visit_admonition
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
