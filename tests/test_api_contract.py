"""Every public function of the package keeps the package's promises.

* It has type hints on every parameter and on its return value.
* Its docstring (NumPy style) states what it computes, its Parameters (if any),
  Returns, and an Examples section, and the examples run (doctest).
* Given bad input (NaN, infinity, strings, the wrong number of dimensions) it raises a
  ValueError or TypeError that names the offending argument, instead of returning a
  silent wrong answer: see test_bad_input_is_rejected_with_the_argument_named.
"""

from __future__ import annotations

import doctest
import inspect

import numpy as np
import pytest

import derived
from surface import OPTIONAL, private_submodules, public_functions, public_modules

MODULES = public_modules()
FUNCTIONS = public_functions()


def test_the_package_table_lists_every_module_and_is_valid_rst():
    """The table in derived.__doc__ is the package's map: every public module is on it,
    and it parses as reStructuredText (a misaligned row fails the API reference build)."""
    from docutils.core import publish_doctree
    from docutils.utils import SystemMessage

    listed = {line.split("``")[1] for line in derived.__doc__.splitlines() if line.startswith("``")}
    modules = {m.__name__ for m in MODULES} | OPTIONAL
    assert listed == modules
    try:
        publish_doctree(derived.__doc__, settings_overrides={"halt_level": 2, "report_level": 5})
    except SystemMessage as error:  # pragma: no cover - the message is the failure
        pytest.fail(f"derived.__doc__ is not valid reStructuredText: {error}")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_module_has_a_lesson_docstring_and_all(module):
    assert module.__doc__, "no module docstring"
    assert len(module.__doc__.split()) >= 20, "module docstring too short"
    assert hasattr(module, "__all__"), "public names must be listed in __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"__all__ lists missing name {name}"


@pytest.mark.parametrize(("name", "func"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_function_is_typed_and_documented(name, func):
    sig = inspect.signature(func)
    hints = func.__annotations__
    for param in sig.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        assert param.name in hints, f"{name}: parameter {param.name} has no type hint"
    assert "return" in hints, f"{name}: no return type hint"
    doc = inspect.getdoc(func) or ""
    assert doc, f"{name}: no docstring"
    if sig.parameters:
        assert "Parameters\n----------" in doc, f"{name}: no Parameters section"
    assert "Returns\n-------" in doc or "Yields\n------" in doc, f"{name}: no Returns section"
    assert "Examples\n--------" in doc, f"{name}: no Examples section"


@pytest.mark.parametrize("module", MODULES + private_submodules(), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module.__name__, globs={**vars(module), "np": np}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module.__name__}"
