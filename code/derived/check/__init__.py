"""Checks that grade a student's implementation with the package's own oracles.

Each ``check_<name>(impl)`` runs ``impl`` (a function the student wrote, with the
signature the problem set gives) on random and edge cases, compares every result with
an independent oracle (torch in float64, finite differences, brute force) and either
returns a :class:`CheckResult` naming the cases that passed, or raises a
:class:`CheckFailure` (an ``AssertionError``) whose message names the first failing
case: its inputs, what was expected, what came back and the largest error.

The package's own tests run the same checks on the package's functions, so each
oracle is written once. The problem sets (one per part of the book) call them after
each function a student writes, and ``python -m derived.check`` grades a folder of
submitted notebooks.

>>> import numpy as np
>>> from derived.check import check_softmax
>>> def naive_softmax(z):
...     return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
>>> with np.errstate(over="ignore", invalid="ignore"):
...     check_softmax(naive_softmax)
Traceback (most recent call last):
...
derived.check._core.CheckFailure: check_softmax failed on case 5, 'large scores ...
"""

from __future__ import annotations

from derived.check._core import REPORT_ENV, CheckFailure, CheckResult
from derived.check._grade import Grade, grade_notebook
from derived.check._part1 import *  # noqa: F403
from derived.check._part1 import __all__ as _all1
from derived.check._part2 import *  # noqa: F403
from derived.check._part2 import __all__ as _all2
from derived.check._part3 import *  # noqa: F403
from derived.check._part3 import __all__ as _all3
from derived.check._part4 import *  # noqa: F403
from derived.check._part4 import __all__ as _all4
from derived.check._part5 import *  # noqa: F403
from derived.check._part5 import __all__ as _all5
from derived.check._part6 import *  # noqa: F403
from derived.check._part6 import __all__ as _all6
from derived.check._part7 import *  # noqa: F403
from derived.check._part7 import __all__ as _all7

__all__ = [
    "REPORT_ENV",
    "CheckFailure",
    "CheckResult",
    "Grade",
    "grade_notebook",
    *_all1,
    *_all2,
    *_all3,
    *_all4,
    *_all5,
    *_all6,
    *_all7,
]
