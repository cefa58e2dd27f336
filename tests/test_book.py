"""derived.book.glue: myst-nb's glue in the book build, a plain display for a reader."""

from __future__ import annotations

import sys
import types

import IPython.display
import pytest

from derived.book import glue


def test_in_the_book_build_it_is_myst_nbs_glue(monkeypatch):
    calls = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda *args: calls.append(args)
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    glue("n", 3, display=False)
    glue("x", 0.5)
    assert calls == [("n", 3, False), ("x", 0.5, True)]


@pytest.mark.parametrize(("display", "shown"), [(True, [7]), (False, [])])
def test_without_myst_nb_it_shows_what_the_cell_asked_to_show(monkeypatch, display, shown):
    seen = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails, as for a reader
    monkeypatch.setattr(IPython.display, "display", lambda value: seen.append(value))
    glue("n", 7, display=display)
    assert seen == shown


@pytest.mark.parametrize("name", ["", None, 3])
def test_the_name_must_be_a_non_empty_string(name):
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        glue(name, 1)


def test_numpy_scalars_are_glued_as_the_python_numbers_they_hold(monkeypatch):
    import numpy as np

    calls = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda *args: calls.append(args)
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    glue("x", np.float64(0.125), display=False)
    glue("k", np.int64(3), display=False)
    (_, x, _), (_, k, _) = calls
    assert (type(x), x, type(k), k) == (float, 0.125, int, 3)
    assert repr(x) == "0.125"  # what myst-nb formats with {glue:text}`x:.2f`
