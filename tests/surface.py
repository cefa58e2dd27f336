"""The package's public surface, for the tests that walk all of it.

``tests/test_api_contract.py`` (types, docstrings, doctests) and ``tests/test_bad_input.py``
(bad input is rejected with the argument named) both walk every public function of every
public module; this module lists them once.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import derived

# Modules that need optional extras (Triton) are checked in their own tests.
OPTIONAL = {"derived.kernels", "derived.bench"}


def public_modules() -> list[Any]:
    names = [
        f"derived.{m.name}"
        for m in pkgutil.iter_modules(derived.__path__)
        if not m.name.startswith("_")
    ]
    return [importlib.import_module(n) for n in sorted(names) if n not in OPTIONAL]


def public_functions() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for module in public_modules():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            # A package's public names may be defined in its private submodules
            # (derived.check re-exports derived.check._part2.check_softmax).
            home = obj.__module__ if inspect.isfunction(obj) else ""
            if home == module.__name__ or home.startswith(f"{module.__name__}._"):
                found.append((f"{module.__name__}.{name}", obj))
    return found


def private_submodules() -> list[Any]:
    """The private submodules of public packages (their docstring examples run too)."""
    found = []
    for module in public_modules():
        for m in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if m.name.startswith("_") and m.name != "__main__":
                found.append(importlib.import_module(f"{module.__name__}.{m.name}"))
    return found


FUNCTIONS = public_functions()
