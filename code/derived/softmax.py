r"""The softmax function, its logarithm, its Jacobian and its vector-Jacobian product.

The softmax with inverse temperature :math:`\beta > 0` maps logits
:math:`z \in \mathbb{R}^K` to a probability vector

.. math::

    s_i = \frac{e^{\beta z_i}}{\sum_{k=1}^K e^{\beta z_k}}, \qquad i = 1, \dots, K.

Its Jacobian, in numerator layout (row :math:`i` is the gradient of :math:`s_i`), is

.. math::

    J_{ij} = \frac{\partial s_i}{\partial z_j} = \beta\, s_i (\delta_{ij} - s_j),
    \qquad J = \beta\,(\operatorname{diag}(s) - s s^\top).

:math:`J` is symmetric, its rows sum to zero (:math:`J\mathbf 1 = 0`, so its rank is
at most :math:`K - 1`) and it is positive semidefinite. Backpropagation never forms
it: the vector-Jacobian product costs :math:`O(K)`,

.. math::

    J^\top v = \beta\, s \odot (v - \langle s, v \rangle \mathbf 1).

Every function subtracts the largest logit before exponentiating, so nothing
overflows: finite logits of any size (``1e4``, ``1e300``) give accurate probabilities,
and the log-probabilities are finite as long as each difference :math:`z_i - \max_k z_k`
is (that is, :math:`|z_i - z_j|` at most the largest float64, about ``1.8e308``).
Beyond that, as for ``[1e308, -1e308]``, the log-probability itself is below the
most negative float64 and :func:`log_softmax` returns ``-inf`` for it, without a
warning. The log-sum-exp is :math:`m + \operatorname{log1p}(r)`, with :math:`r` the
sum of the shifted terms other than the largest (which is exactly 1). Blanchard, Higham
& Higham ("Accurately computing the log-sum-exp and softmax functions", IMA J. Numer.
Anal. 41(4), 2021, 2311-2330) analyse the rounding errors of the shifted log-sum-exp and
the shifted softmax with its division; from their bounds and experiments they conclude
that both are of similar accuracy to the unshifted formulas, and that the division-free
softmax :math:`e^{z_i - \operatorname{lse}(z)}` can lose accuracy.

The derivatives keep that accuracy entry by entry. Every entry of :math:`J` is
:math:`\beta s_i` times :math:`-s_j` or times :math:`1 - s_i`, and for the largest
probability :math:`s_m`, :math:`1 - s_m` is formed as :math:`\sum_{k \ne m} s_k`: once
:math:`s_m` rounds to ``1.0`` (for two classes, a gap above
:math:`53 \ln 2 \approx 36.7` between the scaled logits),
:math:`J_{mm}` computed as :math:`\beta(s_m - s_m^2)` would be exactly 0. In the
same way :func:`softmax_vjp` subtracts :math:`v_m` from :math:`v` before taking the inner
product, which leaves :math:`J^\top v` unchanged and avoids cancelling :math:`v_m` against
:math:`\langle s, v \rangle \approx v_m`. Each entry of :math:`J`, and entry :math:`i` of
:math:`J^\top v` measured against :math:`\beta s_i \sum_k s_k |v_k - v_i|`, then has a
relative error of a few units of roundoff times :math:`1 + \beta \max_k |z_k|`, unless it
underflows: rounding :math:`\beta z_k` costs an absolute error of about
:math:`\epsilon\beta|z_k|`, which the exponential turns into a relative one. With
:math:`\beta = 1` (or any power of two) that product is exact, and the tighter factor
:math:`1 + \beta(\max_k z_k - \min_k z_k)`, the conditioning of the exponential of the
shifted logits, holds. The softmax chapter of the book derives the formulas and the
shift; ``tests/test_softmax.py`` checks them against ``torch`` in float64 and these error
bounds, entry by entry, against 60-digit arithmetic.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_axis, check_positive_finite

__all__ = ["log_softmax", "logsumexp", "softmax", "softmax_jacobian", "softmax_vjp"]

Array = NDArray[np.float64]


def _scaled_logits(z: ArrayLike, beta: float, *, min_ndim: int = 1) -> Array:
    """Validate ``z`` and ``beta`` and return ``beta * z`` as float64 (finite)."""
    b = check_positive_finite(beta, "beta")
    arr = as_float_array(z, "z", min_ndim=min_ndim)
    if arr.ndim >= 1 and arr.shape[-1] == 0:
        raise ValueError(
            f"z must have at least one class along its last axis, got shape {arr.shape}"
        )
    with np.errstate(over="ignore"):
        scaled = arr * b if b != 1.0 else arr
    if not np.all(np.isfinite(scaled)):
        raise ValueError(
            f"beta * z overflows float64 (beta={beta!r}, max |z|={np.abs(arr).max():g})"
        )
    return scaled


def logsumexp(z: ArrayLike, axis: int = -1) -> Array:
    r"""Compute :math:`\log \sum_k e^{z_k}` along ``axis`` without overflow.

    Uses :math:`\operatorname{lse}(z) = m + \log \sum_k e^{z_k - m}` with
    :math:`m = \max_k z_k`: every exponent is at most 0, and the largest term is
    exactly 1, so the sum lies in :math:`[1, K]` and its logarithm is safe. The sum is
    written as :math:`1 + r`, with :math:`r` the sum of the other terms, and its
    logarithm taken as ``log1p(r)``: forming :math:`1 + r` first would round away all but
    the leading digits of a small :math:`r`, and with them the relative accuracy of a
    small loss such as :math:`-\log \operatorname{softmax}(28, 0)_1 \approx e^{-28}`.

    Parameters
    ----------
    z : array_like, shape (..., K, ...)
        Finite real numbers; the reduced axis must not be empty.
    axis : int, default -1
        The axis to reduce.

    Returns
    -------
    numpy.ndarray of float64
        ``z``'s shape with ``axis`` removed (a 0-d array for a vector).

    Examples
    --------
    >>> float(logsumexp([1000.0, 1000.0]))  # doctest: +ELLIPSIS
    1000.693147...
    """
    arr = as_float_array(z, "z", min_ndim=1)
    ax = check_axis(axis, arr.ndim)
    if arr.shape[ax] == 0:
        raise ValueError(f"z must not be empty along axis {axis}, got shape {arr.shape}")
    m, log_sum = _shifted_lse(np.moveaxis(arr, ax, -1))  # classes last
    out: Array = m + log_sum
    return out


def _shifted_lse(z: Array) -> tuple[Array, Array]:
    r"""Return :math:`m = \max_k z_k` and :math:`\log\sum_k e^{z_k - m}` over the last axis.

    The term of the (first) maximum is exactly 1; the others sum to :math:`r`, and the
    logarithm is ``log1p(r)``, accurate even when :math:`r` is far below machine epsilon.
    """
    top = np.argmax(z, axis=-1)[..., None]  # (..., 1)
    m = np.take_along_axis(z, top, axis=-1)  # (..., 1)
    with np.errstate(over="ignore"):  # z - m below -DBL_MAX rounds to -inf, and exp(-inf) = 0
        e = np.exp(z - m)  # (..., K), each in [0, 1]
    np.put_along_axis(e, top, 0.0, axis=-1)  # drop the leading 1
    return m[..., 0], np.log1p(np.sum(e, axis=-1))


def softmax(z: ArrayLike, axis: int = -1, beta: float = 1.0) -> Array:
    r"""Softmax with inverse temperature ``beta`` along ``axis``.

    .. math:: s_i = e^{\beta z_i - m} / \textstyle\sum_k e^{\beta z_k - m},
              \quad m = \max_k \beta z_k.

    Parameters
    ----------
    z : array_like, shape (..., K, ...)
        Finite logits; integers are computed in float64.
    axis : int, default -1
        The axis holding the K classes.
    beta : float, default 1.0
        Inverse temperature, finite and > 0. Large ``beta`` approaches a one-hot
        argmax; small ``beta`` approaches the uniform distribution.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``z``
        Non-negative entries summing to 1 along ``axis``.

    Examples
    --------
    >>> softmax([0.0, 0.0]).tolist()
    [0.5, 0.5]
    >>> softmax([1e4, 0.0]).tolist()
    [1.0, 0.0]
    """
    arr = as_float_array(z, "z", min_ndim=1)
    ax = check_axis(axis, arr.ndim)
    scaled = _scaled_logits(np.moveaxis(arr, ax, -1), beta)  # classes last: (..., K)
    with np.errstate(over="ignore"):  # a difference below -DBL_MAX is -inf; exp gives 0
        e = np.exp(scaled - np.max(scaled, axis=-1, keepdims=True))
    return np.moveaxis(e / np.sum(e, axis=-1, keepdims=True), -1, ax)


def log_softmax(z: ArrayLike, axis: int = -1, beta: float = 1.0) -> Array:
    r"""Logarithm of :func:`softmax`, computed as :math:`\beta z - \operatorname{lse}(\beta z)`.

    Unlike ``np.log(softmax(z))``, which returns ``-inf`` once a probability
    underflows to 0 (below about ``1e-308``), this stays finite and accurate as long as
    every difference :math:`\beta z_i - \max_k \beta z_k` is a finite float64. Only a
    log-probability that is itself below the most negative float64 (logits such as
    ``[1e308, -1e308]``) comes out as ``-inf``.

    Parameters
    ----------
    z : array_like, shape (..., K, ...)
        Finite logits.
    axis : int, default -1
        The axis holding the K classes.
    beta : float, default 1.0
        Inverse temperature, finite and > 0.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``z``
        Log-probabilities (all <= 0).

    Examples
    --------
    >>> log_softmax([1e4, 0.0]).tolist()
    [0.0, -10000.0]
    """
    arr = as_float_array(z, "z", min_ndim=1)
    ax = check_axis(axis, arr.ndim)
    scaled = _scaled_logits(np.moveaxis(arr, ax, -1), beta)  # classes last: (..., K)
    m, log_sum = _shifted_lse(scaled)
    with np.errstate(over="ignore"):  # a difference below -DBL_MAX is -inf, as it should be
        out = (scaled - m[..., None]) - log_sum[..., None]
    return np.moveaxis(out, -1, ax)


def softmax_jacobian(z: ArrayLike, beta: float = 1.0) -> Array:
    r"""Compute the softmax Jacobian :math:`J = \beta(\operatorname{diag}(s) - s s^\top)`.

    Numerator layout: ``J[..., i, j]`` is :math:`\partial s_i / \partial z_j`.
    It costs :math:`O(K^2)` memory; backpropagation should use :func:`softmax_vjp`.
    The diagonal entry of the largest probability is :math:`\beta s_m \sum_{k \ne m} s_k`,
    accurate even when :math:`s_m` rounds to 1 (see the module's note on accuracy).

    Parameters
    ----------
    z : array_like, shape (K,) or (N, K)
        Finite logits, the classes on the last axis (a batch of N rows allowed).
    beta : float, default 1.0
        Inverse temperature, finite and > 0.

    Returns
    -------
    numpy.ndarray of float64, shape (K, K) or (N, K, K)
        One symmetric, positive semidefinite matrix with zero row sums per row of ``z``.

    Examples
    --------
    >>> softmax_jacobian([0.0, 0.0]).tolist()
    [[0.25, -0.25], [-0.25, 0.25]]
    >>> float(softmax_jacobian([0.0, -100.0])[0, 0])  # s_0 is 1.0 in float64; J_00 is not 0
    3.720075976020836e-44
    """
    scaled = _scaled_logits(z, beta)
    if scaled.ndim > 2:
        raise ValueError(f"z must have shape (K,) or (N, K), got shape {scaled.shape}")
    b = float(beta)
    s = softmax(scaled)  # beta already applied
    # off the diagonal, -s_i s_j, batched: (..., K, 1) * (..., 1, K) -> (..., K, K)
    jac = -s[..., :, None] * s[..., None, :]
    # on it, s_i (1 - s_i), with 1 - s_m of the largest probability taken as the sum of
    # the others: once s_m rounds to 1.0, 1 - s_m would be 0 and J_mm lost entirely
    top = np.argmax(s, axis=-1)[..., None]  # (..., 1)
    others = s.copy()
    np.put_along_axis(others, top, 0.0, axis=-1)
    rest = 1.0 - s  # accurate for every other class, whose s_i is at most 1/2
    np.put_along_axis(rest, top, np.sum(others, axis=-1, keepdims=True), axis=-1)
    idx = np.arange(s.shape[-1])
    jac[..., idx, idx] = s * rest
    return b * jac


def softmax_vjp(z: ArrayLike, v: ArrayLike, beta: float = 1.0) -> Array:
    r"""Compute :math:`J^\top v = \beta\, s \odot (v - \langle s, v\rangle)` without forming J.

    This is what backpropagation through a softmax needs: given the gradient
    ``v`` of a loss with respect to the probabilities ``s``, it returns the gradient
    with respect to the logits ``z`` in :math:`O(K)` time and memory, without forming
    the :math:`K \times K` Jacobian. It takes the logits ``z`` so that it is a function of
    its inputs alone; it computes :math:`s` from them once and then, like an autograd
    backward node that saved the output, uses only :math:`s`.

    Parameters
    ----------
    z : array_like, shape (K,) or (N, K)
        Finite logits, the classes on the last axis.
    v : array_like, same shape as ``z``
        The upstream gradient :math:`\partial L / \partial s`; no broadcasting.
    beta : float, default 1.0
        Inverse temperature, finite and > 0.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``z``
        :math:`\partial L / \partial z`; each row sums to zero.

    Examples
    --------
    >>> softmax_vjp([0.0, 0.0], [1.0, 0.0]).tolist()
    [0.25, -0.25]
    """
    scaled = _scaled_logits(z, beta)
    if scaled.ndim > 2:
        raise ValueError(f"z must have shape (K,) or (N, K), got shape {scaled.shape}")
    vec = as_float_array(v, "v")
    if vec.shape != scaled.shape:
        raise ValueError(f"v must have the same shape as z, got v {vec.shape} and z {scaled.shape}")
    s = softmax(scaled)
    # v - <s, v> 1 is unchanged by subtracting v_m, the entry of the largest probability,
    # from v first; then its m-th entry is -sum_{k != m} s_k (v_k - v_m), computed without
    # the cancellation of v_m - <s, v> when s_m rounds to 1.0
    top = np.argmax(s, axis=-1)[..., None]  # (..., 1)
    centred = vec - np.take_along_axis(vec, top, axis=-1)
    inner = np.sum(s * centred, axis=-1, keepdims=True)  # <s, v - v_m> per row: (..., 1)
    out: Array = float(beta) * s * (centred - inner)
    return out
