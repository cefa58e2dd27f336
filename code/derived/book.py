"""What the chapters share with the book that shows them: glued values.

A chapter computes a number in a cell and quotes it in the prose with a *glue*
reference. In the built book, myst-nb fills the reference in from the value the cell
glued. A chapter downloaded as a notebook runs where myst-nb, a tool of the book build,
is not installed; there the prose already carries the number (the book filled it in
when it wrote the download), so gluing only has to show what the cell asked to show.

:func:`glue` is that one function: myst-nb's own ``glue`` when myst-nb is installed
(the book build), and a plain display otherwise (a reader's Jupyter, Colab).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["glue"]


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Record ``variable`` under ``name`` for the book's prose, and optionally show it.

    Parameters
    ----------
    name : str
        The key the prose refers to (``{glue:text}`name```).
    variable : object
        The value: a number, a string, a figure. A NumPy scalar is glued as the Python
        number it holds, so that the prose can format it (``{glue:text}`name:.2f```):
        NumPy 2 writes ``np.float64(0.5)`` where Python writes ``0.5``.
    display : bool, default True
        Whether the cell also shows the value as its output.

    Returns
    -------
    None
        The value is recorded (book build) or shown (elsewhere), not returned.

    Raises
    ------
    TypeError
        If ``name`` is not a non-empty string.

    Notes
    -----
    With myst-nb installed this calls ``myst_nb.glue(name, variable, display)``, which
    stores the value in the cell's outputs for the book to read. Without it the value
    has no reader but the person running the notebook, so it is shown if ``display``
    is true and dropped otherwise; the cell's visible output is the same either way.

    Examples
    --------
    >>> glue("answer", 42, display=False)  # shows nothing; the book's prose reads 42
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if isinstance(variable, np.generic):
        variable = variable.item()
    try:
        from myst_nb import glue as myst_glue
    except ModuleNotFoundError:
        if display:
            from IPython.display import display as show

            show(variable)  # type: ignore[no-untyped-call]
        return
    myst_glue(name, variable, display)
