"""Two fixes to Sphinx's LaTeX writer for the PDF (`make pdf`).

A named admonition (```{admonition} ... :name: mistake-x```) gets an anchor in HTML but
no ``\\label`` in LaTeX, so every reference to it (the errata page links each erratum to
the "Common mistake" box that corrects it) is a dead link in the PDF and LaTeX reports it
undefined. Here the admonition's ids become labels, as Sphinx does for sections.

sphinx-exercise labels an exercise ``exercise:<label>`` in LaTeX and rewrites references
from the same chapter to that form, but a reference from another chapter names
``<document>:<label>``, as for any Sphinx target, and was dead. Here an exercise gets the
Sphinx label too, and such a reference prints the exercise's number as the HTML book does
(LaTeX's ``\\ref`` would print the number of the section the exercise sits in).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes

from _pins import require

# The versions this workaround was written for (see _pins.py and README.md).
WRITTEN_FOR = {"Sphinx": "7.4.7", "sphinx-exercise": "1.2.1"}

# Sphinx's own visit_admonition, kept by setup() and called by the patched one.
_ORIGINAL: Any = None
# Sphinx's own visit_number_reference, likewise.
_ORIGINAL_NUMREF: Any = None


def _visit_admonition(self: Any, node: nodes.Element) -> None:
    """Label the place of the admonition with its ids, then open it as Sphinx does.

    The label goes before ``\\begin{sphinxadmonition}{type}{title}``: inside, it would
    take the place of the title argument.
    """
    if node["ids"]:
        self.body.append("\n" + self.hypertarget_to(node, anchor=True))
    _ORIGINAL(self, node)


def _with_sphinx_label(visit: Any) -> Any:
    """Wrap sphinx-exercise's LaTeX visitor: the exercise's ids become labels first."""

    def visit_exercise(self: Any, node: nodes.Element) -> None:
        if node["ids"]:
            self.body.append("\n" + self.hypertarget_to(node, anchor=True))
        visit(self, node)

    visit_exercise.wrapped = visit  # type: ignore[attr-defined]
    return visit_exercise


def _label_exercises(app: Any) -> None:
    """Once every extension is loaded, wrap the LaTeX handlers of the exercise nodes."""
    handlers = app.registry.translation_handlers.get("latex", {})
    for name in ("exercise_node", "exercise_enumerable_node"):
        if name in handlers and not hasattr(handlers[name][0], "wrapped"):
            visit, depart = handlers[name]
            handlers[name] = (_with_sphinx_label(visit), depart)


def _visit_number_reference(self: Any, node: nodes.Element) -> None:
    """A reference to an exercise in another chapter: a link with Sphinx's own text."""
    registry = getattr(self.builder.env, "sphinx_exercise_registry", {})
    refuri = node.get("refuri", "")
    if not node.get("refid") and "#" in refuri and refuri.split("#", 1)[1] in registry:
        target = self.idescape(refuri[1:].replace("#", ":"))
        self.body.append(rf"\hyperref[{target}]{{{self.escape(node.astext())}}}")
        raise nodes.SkipNode
    _ORIGINAL_NUMREF(self, node)


def setup(app: Any) -> dict[str, Any]:
    """Patch the LaTeX translator's generic admonition and the exercises' labels."""
    require("latex_fixes", WRITTEN_FOR)
    from sphinx.writers.latex import LaTeXTranslator

    global _ORIGINAL, _ORIGINAL_NUMREF
    if LaTeXTranslator.visit_admonition is not _visit_admonition:
        _ORIGINAL = LaTeXTranslator.visit_admonition
        LaTeXTranslator.visit_admonition = _visit_admonition
    if LaTeXTranslator.visit_number_reference is not _visit_number_reference:
        _ORIGINAL_NUMREF = LaTeXTranslator.visit_number_reference
        LaTeXTranslator.visit_number_reference = _visit_number_reference
    app.connect("builder-inited", _label_exercises)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
