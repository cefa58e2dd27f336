r"""Loss functions and their gradients: cross-entropy, mean squared error, binary cross-entropy.

Every loss is a *mean*, like ``reduction="mean"`` in ``torch.nn.functional``, and every
gradient is the gradient of that mean, so it carries the factor :math:`1/n`.

Cross-entropy of logits :math:`Z \in \mathbb{R}^{N \times K}` and integer labels
:math:`y_n \in \{0, \dots, K-1\}`, computed with the log-softmax (never ``log(softmax)``):

.. math::

    \ell = -\frac{1}{N}\sum_{n=1}^N \log \operatorname{softmax}(z_n)_{y_n},
    \qquad
    \frac{\partial \ell}{\partial Z} = \frac{1}{N}\big(\operatorname{softmax}(Z) - Y\big),

where :math:`Y` is the one-hot matrix of the labels.

Mean squared error over all :math:`n` entries:
:math:`\ell = \frac1n \sum_i (\tilde y_i - y_i)^2` with gradient
:math:`\frac2n(\tilde y - y)`.

Binary cross-entropy of probabilities :math:`p \in [0, 1]^n` and targets
:math:`y \in [0, 1]^n`:

.. math::

    \ell = -\frac1n \sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big],
    \qquad
    \frac{\partial \ell}{\partial p_i} = \frac{1}{n}\,\frac{p_i - y_i}{p_i(1 - p_i)}.

On logits :math:`z` with :math:`p = \sigma(z)` the same loss is
:math:`\frac1n\sum_i [\operatorname{softplus}(z_i) - y_i z_i]` with
:math:`\operatorname{softplus}(z) = \max(z, 0) + \log(1 + e^{-|z|})`, finite for every finite
:math:`z`, and its gradient is simply :math:`\frac1n(\sigma(z) - y)`.

The negative log-likelihood of targets :math:`y` under independent Gaussians of means
:math:`\tilde y` and variances :math:`v`, averaged over the :math:`n` entries,

.. math::

    \ell = \frac1n \sum_i \Big[\frac{(\tilde y_i - y_i)^2}{2 v_i}
    + \frac12 \log v_i + \frac12 \log 2\pi\Big],

is the mean squared error, halved, plus a constant when every :math:`v_i = 1`: minimising
the MSE is maximising a Gaussian likelihood.

Logits of :math:`\pm 10^4` give finite, exact results in ``cross_entropy`` and
``bce_with_logits``. ``bce`` on probabilities is exact too, including at 0 and 1, where a
term :math:`0 \cdot \log 0` counts as 0; a prediction of exactly 0 (or 1) for a target of 1
(or 0) is an infinitely bad prediction and gives ``inf`` (``torch`` instead clamps each
logarithm at :math:`-100`). The book's chapters *A two-layer network by hand* and *Losses are
likelihoods* derive these formulas; ``tests/test_losses.py`` checks them against ``torch`` in
float64.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, scores_and_labels
from derived.activations import _logistic
from derived.softmax import log_softmax, softmax

__all__ = [
    "bce",
    "bce_grad",
    "bce_with_logits",
    "bce_with_logits_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "gaussian_nll",
    "gaussian_nll_grad",
    "mse",
    "mse_grad",
]

Array = NDArray[np.float64]


def _pair(a: ArrayLike, b: ArrayLike, name_a: str, name_b: str) -> tuple[Array, Array]:
    """Validate two same-shape, non-empty float arrays (no broadcasting)."""
    x = as_float_array(a, name_a, allow_empty=False)
    y = as_float_array(b, name_b, allow_empty=False)
    if x.shape != y.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {x.shape} and {y.shape}"
        )
    return x, y


def _check_unit_interval(x: Array, name: str) -> None:
    """Raise if any entry of ``x`` lies outside [0, 1]."""
    if np.any((x < 0.0) | (x > 1.0)):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{x.min():g}, {x.max():g}]")


def _logits_labels(logits: ArrayLike, labels: ArrayLike) -> tuple[Array, NDArray[np.intp]]:
    """Validate a (N, K) logit matrix and N integer labels in [0, K)."""
    return scores_and_labels(logits, labels, "logits")


def cross_entropy(logits: ArrayLike, labels: ArrayLike) -> float:
    r"""Mean cross-entropy of a batch of logits against integer class labels.

    .. math:: \ell = -\frac1N \sum_n \big(z_{n, y_n} - \operatorname{lse}(z_n)\big)

    Parameters
    ----------
    logits : array_like, shape (N, K)
        Finite scores, one row per example (N >= 1, K >= 1).
    labels : array_like of int, shape (N,)
        Class indices in ``[0, K)``; a float array is accepted if every entry is a whole
        number.

    Returns
    -------
    float
        The mean loss, >= 0; the same as
        ``torch.nn.functional.cross_entropy(logits, labels)``.

    Examples
    --------
    >>> round(cross_entropy([[0.0, 0.0]], [1]), 6)  # log 2
    0.693147
    >>> cross_entropy([[1e4, -1e4]], [1])
    20000.0
    """
    z, lab = _logits_labels(logits, labels)
    logp = log_softmax(z)  # (N, K)
    return 0.0 - float(np.mean(logp[np.arange(z.shape[0]), lab]))  # 0.0 - x: never -0.0


def cross_entropy_grad(logits: ArrayLike, labels: ArrayLike) -> Array:
    r"""Gradient of :func:`cross_entropy` with respect to the logits.

    .. math:: \frac{\partial \ell}{\partial Z} = \frac1N\big(\operatorname{softmax}(Z) - Y\big)

    Parameters
    ----------
    logits : array_like, shape (N, K)
        Finite scores.
    labels : array_like of int, shape (N,)
        Class indices in ``[0, K)``.

    Returns
    -------
    numpy.ndarray of float64, shape (N, K)
        Each row sums to zero.

    Examples
    --------
    >>> cross_entropy_grad([[0.0, 0.0]], [1]).tolist()
    [[0.5, -0.5]]
    """
    z, lab = _logits_labels(logits, labels)
    grad = softmax(z)  # (N, K), a fresh array
    grad[np.arange(z.shape[0]), lab] -= 1.0
    out: Array = grad / z.shape[0]
    return out


def mse(y_pred: ArrayLike, y: ArrayLike) -> float:
    r"""Mean squared error over all entries, :math:`\frac1n \sum_i (\tilde y_i - y_i)^2`.

    Parameters
    ----------
    y_pred : array_like, any shape
        Predictions, finite and non-empty.
    y : array_like, same shape as ``y_pred``
        Targets; no broadcasting.

    Returns
    -------
    float
        The same as ``torch.nn.functional.mse_loss(y_pred, y)``.

    Examples
    --------
    >>> mse([1.0, 2.0], [0.0, 0.0])
    2.5
    """
    p, t = _pair(y_pred, y, "y_pred", "y")
    return float(np.mean((p - t) ** 2))


def mse_grad(y_pred: ArrayLike, y: ArrayLike) -> Array:
    r"""Gradient of :func:`mse` with respect to ``y_pred``: :math:`\frac2n(\tilde y - y)`.

    Parameters
    ----------
    y_pred : array_like, any shape
        Predictions, finite and non-empty.
    y : array_like, same shape as ``y_pred``
        Targets.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``y_pred``

    Examples
    --------
    >>> mse_grad([1.0, 2.0], [0.0, 0.0]).tolist()
    [1.0, 2.0]
    """
    p, t = _pair(y_pred, y, "y_pred", "y")
    return 2.0 * (p - t) / p.size


def bce(p: ArrayLike, y: ArrayLike) -> float:
    r"""Mean binary cross-entropy of probabilities ``p`` against targets ``y``.

    .. math:: \ell = -\frac1n \sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big]

    A term whose weight is zero (:math:`y_i = 0` or :math:`y_i = 1`) contributes 0 even
    where its logarithm is :math:`-\infty`.

    Parameters
    ----------
    p : array_like, any shape
        Predicted probabilities in ``[0, 1]``, non-empty.
    y : array_like, same shape as ``p``
        Targets in ``[0, 1]`` (0/1 labels or soft targets).

    Returns
    -------
    float
        The mean loss; ``inf`` if some prediction is certain and wrong (``p = 0`` where
        ``y > 0``, or ``p = 1`` where ``y < 1``). Prefer :func:`bce_with_logits`.

    Examples
    --------
    >>> round(bce([0.5], [1.0]), 6)
    0.693147
    >>> bce([0.0, 1.0], [0.0, 1.0])
    0.0
    """
    q, t = _pair(p, y, "p", "y")
    _check_unit_interval(q, "p")
    _check_unit_interval(t, "y")
    with np.errstate(divide="ignore"):
        log_p = np.where(t > 0, np.log(q), 0.0)  # y log p, with 0 log 0 = 0
        log_1mp = np.where(t < 1, np.log1p(-q), 0.0)
    return 0.0 - float(np.mean(t * log_p + (1.0 - t) * log_1mp))  # 0.0 - x: never -0.0


def bce_grad(p: ArrayLike, y: ArrayLike) -> Array:
    r"""Gradient of :func:`bce` with respect to ``p``.

    .. math::
        \frac{\partial \ell}{\partial p_i}
        = \frac1n\Big(\frac{1 - y_i}{1 - p_i} - \frac{y_i}{p_i}\Big)
        = \frac1n\,\frac{p_i - y_i}{p_i(1 - p_i)}

    Parameters
    ----------
    p : array_like, any shape
        Predicted probabilities in ``[0, 1]``.
    y : array_like, same shape as ``p``
        Targets in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``p``
        Infinite where :func:`bce` is infinite. At ``p = y = 0`` (or 1) it is the
        one-sided limit ``1/n`` (or ``-1/n``).

    Examples
    --------
    >>> bce_grad([0.25, 0.5], [1.0, 0.0]).tolist()
    [-2.0, 1.0]
    """
    q, t = _pair(p, y, "p", "y")
    _check_unit_interval(q, "p")
    _check_unit_interval(t, "y")
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(t > 0, t / q, 0.0)
        neg = np.where(t < 1, (1.0 - t) / (1.0 - q), 0.0)
    return (neg - pos) / q.size


def bce_with_logits(z: ArrayLike, y: ArrayLike) -> float:
    r"""Mean binary cross-entropy of :math:`\sigma(z)` against ``y``, computed from the logits.

    .. math:: \ell = \frac1n \sum_i \big[\max(z_i, 0) - y_i z_i + \log(1 + e^{-|z_i|})\big]

    Parameters
    ----------
    z : array_like, any shape
        Finite logits, non-empty.
    y : array_like, same shape as ``z``
        Targets in ``[0, 1]``.

    Returns
    -------
    float
        The same as ``torch.nn.functional.binary_cross_entropy_with_logits(z, y)``.

    Examples
    --------
    >>> bce_with_logits([1e4, -1e4], [0.0, 1.0])
    10000.0
    """
    s, t = _pair(z, y, "z", "y")
    _check_unit_interval(t, "y")
    softplus = np.maximum(s, 0.0) + np.log1p(np.exp(-np.abs(s)))
    return float(np.mean(softplus - t * s))


def bce_with_logits_grad(z: ArrayLike, y: ArrayLike) -> Array:
    r"""Gradient of :func:`bce_with_logits` with respect to ``z``: :math:`\frac1n(\sigma(z) - y)`.

    Parameters
    ----------
    z : array_like, any shape
        Finite logits.
    y : array_like, same shape as ``z``
        Targets in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``z``

    Examples
    --------
    >>> bce_with_logits_grad([0.0, 1e4], [1.0, 1.0]).tolist()
    [-0.25, 0.0]
    """
    s, t = _pair(z, y, "z", "y")
    _check_unit_interval(t, "y")
    return (_logistic(s) - t) / s.size


def _gaussian_args(y_pred: ArrayLike, y: ArrayLike, var: ArrayLike) -> tuple[Array, Array, Array]:
    """Validate means, targets and positive variances of one shape."""
    m, t = _pair(y_pred, y, "y_pred", "y")
    v = as_float_array(var, "var", allow_empty=False)
    if v.shape != m.shape:
        raise ValueError(f"var must have the shape of y_pred {m.shape}, got {v.shape}")
    if np.any(v <= 0.0):
        raise ValueError(f"var must be > 0 everywhere, got a minimum of {v.min():g}")
    return m, t, v


def gaussian_nll(y_pred: ArrayLike, y: ArrayLike, var: ArrayLike) -> float:
    r"""Mean negative log-likelihood of ``y`` under Gaussians (means ``y_pred``, variances ``var``).

    .. math::
        \ell = \frac1n \sum_i \Big[\frac{(\tilde y_i - y_i)^2}{2 v_i}
        + \frac12 \log v_i + \frac12 \log 2\pi\Big]

    Parameters
    ----------
    y_pred : array_like, any shape
        Predicted means, finite and non-empty.
    y : array_like, same shape as ``y_pred``
        Targets.
    var : array_like, same shape as ``y_pred``
        Predicted variances, all > 0 (no clamping).

    Returns
    -------
    float
        The same as ``torch.nn.functional.gaussian_nll_loss(y_pred, y, var, full=True)``
        for variances above torch's clamp ``eps = 1e-6``.

    Examples
    --------
    >>> round(gaussian_nll([0.0], [0.0], [1.0]), 6)  # log(2 pi) / 2
    0.918939
    >>> gaussian_nll([1.0, 3.0], [0.0, 0.0], [1.0, 1.0]) - gaussian_nll([0.0], [0.0], [1.0])
    2.5
    """
    m, t, v = _gaussian_args(y_pred, y, var)
    return float(np.mean(0.5 * (m - t) ** 2 / v + 0.5 * np.log(v))) + 0.5 * math.log(2 * math.pi)


def gaussian_nll_grad(y_pred: ArrayLike, y: ArrayLike, var: ArrayLike) -> tuple[Array, Array]:
    r"""Gradients of :func:`gaussian_nll` with respect to the means and the variances.

    .. math::
        \frac{\partial \ell}{\partial \tilde y_i} = \frac{\tilde y_i - y_i}{n\, v_i},
        \qquad
        \frac{\partial \ell}{\partial v_i}
        = \frac{1}{2n}\Big(\frac{1}{v_i} - \frac{(\tilde y_i - y_i)^2}{v_i^2}\Big)

    Parameters
    ----------
    y_pred : array_like, any shape
        Predicted means.
    y : array_like, same shape as ``y_pred``
        Targets.
    var : array_like, same shape as ``y_pred``
        Predicted variances, all > 0.

    Returns
    -------
    d_pred : numpy.ndarray of float64, same shape as ``y_pred``
    d_var : numpy.ndarray of float64, same shape as ``var``
        Zero where :math:`v_i = (\tilde y_i - y_i)^2`, the maximum-likelihood variance.

    Examples
    --------
    >>> d_pred, d_var = gaussian_nll_grad([2.0], [0.0], [4.0])
    >>> d_pred.tolist(), d_var.tolist()
    ([0.5], [0.0])
    """
    m, t, v = _gaussian_args(y_pred, y, var)
    r = m - t
    return r / (m.size * v), (1.0 / v - r**2 / v**2) / (2 * m.size)
