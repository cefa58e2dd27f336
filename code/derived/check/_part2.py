"""Checks for Part II, Differentiation: the softmax, its Jacobian, backpropagation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, torch

__all__ = ["check_softmax"]


def _softmax_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20261)
    return [
        ("random scores, one row of 5", rng.normal(size=5)),
        ("random scores, a batch of 3 rows of 4", rng.normal(size=(3, 4))),
        ("one class", np.array([2.5])),
        ("equal scores", np.zeros(4)),
        ("large scores (exp overflows without the max shift)", np.array([1000.0, 1001.0, 999.0])),
        ("very negative scores", np.array([-1000.0, -1002.0, -1001.0])),
    ]


def check_softmax(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(z)``, the softmax over the last axis of ``z``, against torch in float64.

    Cases: random rows and a batch, one class, equal scores, and scores near +-1000,
    where computing ``exp(z)`` before shifting by the maximum overflows.

    Parameters
    ----------
    impl : callable
        The student's softmax: a float64 array ``z`` of shape (..., K) to the array of
        the same shape whose rows are the softmax of the rows of ``z``.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose result is wrong, naming the case, ``z``, the expected
        and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.softmax import softmax
    >>> check_softmax(softmax)
    check_softmax passed all 6 cases: random scores, one row of 5; ...
    """
    c = Checker("check_softmax", impl, "softmax")
    t = torch()
    for label, z in _softmax_cases():
        c.case(label, z=z)
        got = c.call(z)
        expected = t.softmax(t.tensor(z, dtype=t.float64), dim=-1).numpy()
        c.close(got, expected, what="softmax", rtol=1e-9, atol=1e-12)
    return c.result()
