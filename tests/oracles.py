"""The oracles the tests share: finite differences and torch in float64.

One place for what many test files need, in the manner of minitorch's strategies module:

* :func:`numerical_jacobian` (from :mod:`derived.jacobians`, where it is documented and
  tested against ``torch.func.jacrev``) and :func:`numerical_gradient`, its scalar case;
* :func:`t64`, a NumPy array as a float64 torch tensor (a copy), optionally a leaf that
  records gradients, and :func:`n64`, back;
* hypothesis strategies for bounded floats and float64 arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import torch
from hypothesis import strategies as st

from derived.jacobians import numerical_jacobian

__all__ = ["float_arrays", "floats", "n64", "numerical_gradient", "numerical_jacobian", "t64"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f`` at ``x``, shaped like ``x``."""
    return numerical_jacobian(lambda a: np.asarray(f(a), dtype=np.float64), x, h)


def t64(a: Any, requires_grad: bool = False) -> torch.Tensor:
    """``a`` as a new float64 tensor; a leaf that records gradients if ``requires_grad``."""
    t = torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)
    return t.requires_grad_() if requires_grad else t


def n64(t: torch.Tensor) -> np.ndarray:
    """A tensor (detached) as a float64 NumPy array."""
    return t.detach().to(torch.float64).numpy()


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in ``[lo, hi]``."""
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def float_arrays(shape: Any, lo: float = -5.0, hi: float = 5.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` (an int, a tuple or a strategy) with entries in ``[lo, hi]``."""
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi))
