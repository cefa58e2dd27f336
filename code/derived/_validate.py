"""Input checks shared by the package: clear errors, raised early.

Every public function converts its array arguments with :func:`as_float_array`,
which names the argument in its error messages, so that a user who passes a
string, a ragged list, a NaN or an array of the wrong rank learns which argument
is wrong and why, instead of meeting a NaN three calls later.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_float_array",
    "check_axis",
    "check_positive_finite",
    "layer_params",
    "scores_and_labels",
]


def as_float_array(
    value: ArrayLike,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    min_ndim: int = 0,
    allow_empty: bool = True,
    finite: bool = True,
) -> NDArray[np.float64]:
    """Convert ``value`` to a float64 array, or raise an error naming ``name``.

    Parameters
    ----------
    value : array_like
        Real numbers (bool, int or float). Complex numbers, strings and objects
        are rejected with a ``TypeError``.
    name : str
        The argument's name, used in error messages.
    ndim : int or tuple of int, optional
        The allowed number(s) of dimensions.
    min_ndim : int, default 0
        The least number of dimensions.
    allow_empty : bool, default True
        Whether an array with zero elements is accepted.
    finite : bool, default True
        Whether NaN and infinite entries are rejected.

    Returns
    -------
    numpy.ndarray of float64
        A new array or a view; the caller must not write into it.

    Examples
    --------
    >>> as_float_array([1, 2], "z").dtype
    dtype('float64')
    """
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must contain real numbers, got an array of dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {want} dimension(s), got shape {arr.shape} ({arr.ndim})"
            )
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}"
        )
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} NaN or infinite value(s)")
    return arr


def check_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """Return ``axis`` normalised to ``0 <= axis < ndim``, or raise a clear error.

    Parameters
    ----------
    axis : int
        An axis index, negative values counting from the end.
    ndim : int
        The number of dimensions of the array the axis refers to.
    name : str, default "axis"
        The argument's name, used in error messages.

    Returns
    -------
    int
        The non-negative axis.

    Examples
    --------
    >>> check_axis(-1, 3)
    2
    """
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array with {ndim} dimension(s)")
    return int(axis) % ndim


def _real(value: Any, name: str) -> float:
    """``float(value)`` if ``value`` is a real number (not a bool), else a TypeError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def check_finite(value: Any, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number, else raise.

    Parameters
    ----------
    value : float
        The number to check.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    float
        ``float(value)``.

    Examples
    --------
    >>> check_finite(-2, "lam")
    -2.0
    """
    v = _real(value, name)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def check_positive_finite(value: Any, name: str) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise.

    Parameters
    ----------
    value : float
        The number to check.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    float
        ``float(value)``.

    Examples
    --------
    >>> check_positive_finite(2, "beta")
    2.0
    """
    v = _real(value, name)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer (not a bool) >= ``minimum``, else raise.

    Parameters
    ----------
    value : int
        The number to check (a Python or NumPy integer).
    name : str
        The argument's name, used in error messages.
    minimum : int, optional
        The least allowed value; without it, any integer.

    Returns
    -------
    int
        ``int(value)``.

    Examples
    --------
    >>> check_int(3, "perplexity_steps", 1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` if it is a :class:`numpy.random.Generator`, else raise a TypeError.

    A seed or the legacy :class:`numpy.random.RandomState` is refused rather than
    converted: every random function of the package takes the generator it draws from,
    so that a run is reproduced by passing ``np.random.default_rng(seed)`` again.

    Examples
    --------
    >>> check_generator(np.random.default_rng(0)).integers(10) < 10
    True
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def scores_and_labels(
    scores: Any, labels: Any, name: str = "scores"
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Validate an (N, K) score matrix and N integer class labels in ``[0, K)``.

    Float labels are accepted when every entry is a whole number. Returns the scores as
    float64 and the labels as ``intp``; raises ValueError or TypeError naming ``name`` or
    ``labels`` otherwise.
    """
    s = as_float_array(scores, name, ndim=2)
    n, k = s.shape
    if n == 0 or k == 0:
        raise ValueError(f"{name} must have N >= 1 rows and K >= 1 classes, got shape {s.shape}")
    lab = np.asarray(labels)
    if lab.dtype == np.bool_ or not (
        np.issubdtype(lab.dtype, np.integer) or np.issubdtype(lab.dtype, np.floating)
    ):
        raise TypeError(f"labels must be integers, got an array of dtype {lab.dtype}")
    if lab.shape != (n,):
        raise ValueError(
            f"labels must have shape ({n},) to match {name} {s.shape}, got {lab.shape}"
        )
    if np.issubdtype(lab.dtype, np.floating) and not np.all(lab == np.round(lab)):
        raise ValueError("labels must be integers (class indices), got non-integer values")
    if np.any((lab < 0) | (lab >= k)):
        raise ValueError(
            f"labels must lie in [0, {k - 1}] for K={k} classes, "
            f"got values in [{lab.min():g}, {lab.max():g}]"
        )
    return s, lab.astype(np.intp)


def layer_params(params: Any) -> list[NDArray[np.float64]]:
    """Validate a layer list ``[W1, b1, ..., WL, bL]`` (as ``derived.mlp.MLP.params``).

    Each ``W_l`` must be a finite matrix, ``b_l`` a vector with one entry per row of
    ``W_l``, and ``W_l`` must have one column per row of ``W_{l-1}``. Returns the arrays as
    float64; raises TypeError or ValueError naming the offending entry otherwise.
    """
    if isinstance(params, str | bytes) or not hasattr(params, "__len__"):
        raise TypeError(f"params must be a list [W1, b1, ..., WL, bL], got {type(params).__name__}")
    if len(params) == 0 or len(params) % 2:
        raise ValueError(
            f"params must be a non-empty list [W1, b1, ..., WL, bL] of even length, "
            f"got {len(params)} entries"
        )
    out = []
    for i, p in enumerate(params):
        layer, kind = i // 2 + 1, ("W", "b")[i % 2]
        out.append(as_float_array(p, f"params[{i}] ({kind}{layer})", ndim=2 - i % 2))
    for i in range(0, len(out), 2):
        W, b = out[i], out[i + 1]
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"params[{i + 1}] (b{i // 2 + 1}) must have shape ({W.shape[0]},) to match "
                f"params[{i}], got {b.shape}"
            )
        if i and W.shape[1] != out[i - 2].shape[0]:
            raise ValueError(
                f"params[{i}] (W{i // 2 + 1}) must have {out[i - 2].shape[0]} columns, "
                f"got shape {W.shape}"
            )
    return out
