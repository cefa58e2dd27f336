r"""Stacked affine layers collapse into one: composition and the rank bottleneck.

A layer without activation is an affine map :math:`z \mapsto Wz + b`. Two of them compose
to one,

.. math::

    W_2(W_1 z + b_1) + b_2 = (W_2 W_1) z + (W_2 b_1 + b_2),

and by induction :math:`D` of them compose to :math:`z \mapsto W z + b` with
:math:`W = W_D \cdots W_1` and :math:`b = b_D + W_D b_{D-1} + W_D W_{D-1} b_{D-2} + \dots`,
computed here by the recursion :math:`(W, b) \leftarrow (W_d W, W_d b + b_d)`. Depth
without non-linearity adds no expressive power, and it can remove some: the rank of
:math:`W_D \cdots W_1` is at most the smallest width along the way.

In floating point the rank is numerical: :func:`numerical_rank` counts the singular values
above an explicit tolerance and refuses to answer when one lies close to it.

Training still differs from training one layer: :func:`fit_factorised` runs gradient
descent on the two factors of a rank-:math:`k` product, whose loss is not convex, and
:func:`fit_linear` on one square layer, whose loss is a convex quadratic;
:func:`drop_times` reads off when a loss curve first falls below given levels, and
:func:`scalar_descent` runs the scalar model of one eigen-direction,
:math:`\lambda (1 - ab)^2`; :func:`growing_lengths` and :func:`start_times` predict from
small initial factors when each drop of :func:`fit_factorised`'s loss happens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import (
    as_float_array,
    check_finite,
    check_generator,
    check_positive_finite,
    layer_params,
)

__all__ = [
    "compose_affine",
    "drop_times",
    "fit_factorised",
    "fit_linear",
    "growing_lengths",
    "numerical_rank",
    "scalar_descent",
    "start_times",
]

Array = NDArray[np.float64]


def _check_moment_matrix(C: ArrayLike) -> Array:
    C = as_float_array(C, "C", ndim=2)
    n = C.shape[0]
    if C.shape != (n, n) or n == 0:
        raise ValueError(f"C must be a non-empty square matrix, got shape {C.shape}")
    if not np.allclose(C, C.T, rtol=1e-12, atol=1e-12 * np.max(np.abs(C))):
        raise ValueError("C must be symmetric")
    return C


def _check_run(
    lr: float, steps: int, init_scale: float, rng: np.random.Generator
) -> tuple[float, float]:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    eta = check_positive_finite(lr, "lr")
    scale = check_positive_finite(init_scale, "init_scale")
    check_generator(rng)
    return eta, scale


def compose_affine(params: Sequence[ArrayLike]) -> tuple[Array, Array]:
    r"""Collapse affine layers ``[W1, b1, ..., WD, bD]`` into one ``(W, b)``.

    Parameters
    ----------
    params : sequence of array_like
        ``W_d`` of shape ``(n_d, n_{d-1})`` and ``b_d`` of shape ``(n_d,)``, as
        ``derived.mlp.MLP.params``; at least one layer.

    Returns
    -------
    W : numpy.ndarray of float64, shape (n_D, n_0)
        :math:`W_D \cdots W_1`.
    b : numpy.ndarray of float64, shape (n_D,)
        The composed bias, so that the layers map :math:`z` to :math:`Wz + b`.

    Examples
    --------
    >>> W, b = compose_affine([[[2.0]], [1.0], [[3.0]], [-1.0]])
    >>> W.tolist(), b.tolist()
    ([[6.0]], [2.0])
    """
    layers = layer_params(params)
    W, b = layers[0], layers[1]
    for Wd, bd in zip(layers[2::2], layers[3::2], strict=True):
        W, b = Wd @ W, Wd @ b + bd  # (n_d, n_0), (n_d,)
    return W, b


def numerical_rank(M: ArrayLike, *, rtol: float = 1e-8, margin: float = 1e3) -> int:
    r"""Count the singular values of ``M`` above ``rtol`` times the largest, with a safety gap.

    In floating point a rank-deficient product such as :math:`W_2 W_1` has "zero" singular
    values of the order of the machine epsilon times the largest, not exact zeros, so its
    rank depends on a tolerance. This function uses :math:`\tau = \text{rtol} \cdot
    s_{\max}` and insists that no singular value lies within a factor ``margin`` of
    :math:`\tau` (in :math:`[\tau / \text{margin}, \tau \cdot \text{margin}]`), so that
    the count does not depend on where exactly the tolerance sits.

    Parameters
    ----------
    M : array_like, shape (m, n)
        A finite matrix.
    rtol : float, default 1e-8
        Tolerance relative to the largest singular value, > 0.
    margin : float, default 1e3
        Required gap factor on either side of the tolerance, >= 1.

    Returns
    -------
    int
        The number of singular values above :math:`\tau`; 0 for a zero or empty matrix.

    Raises
    ------
    ValueError
        If ``M`` is not a finite matrix, ``rtol`` or ``margin`` is out of range, or a
        singular value lies within a factor ``margin`` of the tolerance.

    Examples
    --------
    >>> numerical_rank(np.outer([1.0, 2.0, 3.0], [1.0, -1.0]))
    1
    >>> numerical_rank(np.diag([1.0, 1e-8]))
    Traceback (most recent call last):
    ValueError: singular value 1e-08 lies within a factor 1000 of the tolerance 1e-08
    """
    A = as_float_array(M, "M", ndim=2)
    tol_rel = check_positive_finite(rtol, "rtol")
    gap = check_positive_finite(margin, "margin")
    if gap < 1.0:
        raise ValueError(f"margin must be >= 1, got {margin!r}")
    if A.size == 0:
        return 0
    s = np.linalg.svd(A, compute_uv=False)  # descending
    if s[0] == 0.0:
        return 0
    tol = tol_rel * s[0]
    near = (s >= tol / gap) & (s <= tol * gap)
    if np.any(near):
        bad = s[near][0]
        raise ValueError(
            f"singular value {bad:.3g} lies within a factor {gap:g} of the tolerance {tol:.3g}"
        )
    return int(np.sum(s > tol))


def drop_times(losses: ArrayLike, levels: ArrayLike) -> NDArray[np.int64]:
    r"""Find the first index at which ``losses`` falls below each of ``levels``.

    For a loss curve with plateaus and drops, the step at which the loss first falls below
    a level between two plateaus times the drop. Unlike ``np.argmax(losses < level)``,
    which returns 0 when the loss never falls below the level, this raises.

    Parameters
    ----------
    losses : array_like, shape (T,)
        A finite loss curve, one value per step.
    levels : array_like, shape (K,) or scalar
        The levels.

    Returns
    -------
    numpy.ndarray of int64, shape (K,) (or shape () for a scalar level)
        For each level, the least :math:`t` with ``losses[t] < level``.

    Raises
    ------
    ValueError
        If an array is not finite or of the wrong shape, or the curve never falls below a
        level.

    Examples
    --------
    >>> drop_times([5.0, 5.0, 3.0, 3.0, 1.0], [4.0, 2.0]).tolist()
    [2, 4]
    """
    L = as_float_array(losses, "losses", ndim=1)
    lv = as_float_array(levels, "levels", ndim=(0, 1))
    below = L[:, None] < lv.reshape(1, -1)  # (T, K)
    never = ~np.any(below, axis=0)
    if np.any(never):
        level = lv.reshape(-1)[never][0]
        raise ValueError(f"the losses never fall below the level {level:g}")
    times: NDArray[np.int64] = np.argmax(below, axis=0).astype(np.int64).reshape(lv.shape)
    return times


def fit_factorised(
    C: ArrayLike,
    k: int,
    *,
    lr: float,
    steps: int,
    init_scale: float,
    rng: np.random.Generator,
) -> tuple[Array, Array, Array]:
    r"""Gradient descent on the factors of a linear bottleneck :math:`n \to k \to n`.

    Minimises the reconstruction loss of the linear network :math:`x \mapsto W_2 W_1 x`,

    .. math::

        L(W_1, W_2) = \operatorname{tr}\big((I - W_2 W_1)\, C\, (I - W_2 W_1)^\top\big),

    which for :math:`C = \frac1N \sum_i x_i x_i^\top` is the mean of
    :math:`\lVert x_i - W_2 W_1 x_i \rVert^2` and for :math:`C = I` is
    :math:`\lVert W_2 W_1 - I \rVert_F^2`. With :math:`G = 2 (W_2 W_1 - I) C`, the gradient
    with respect to the product, each step updates both factors from the same iterate:
    :math:`W_1 \leftarrow W_1 - \eta W_2^\top G`, :math:`W_2 \leftarrow W_2 - \eta G W_1^\top`.

    Parameters
    ----------
    C : array_like, shape (n, n)
        Symmetric positive semi-definite second-moment matrix of the data.
    k : int
        Width of the bottleneck, at least 1.
    lr : float
        Step size :math:`\eta > 0`.
    steps : int
        Number of gradient steps, at least 0.
    init_scale : float
        Standard deviation of the normal entries of the initial factors, > 0.
    rng : numpy.random.Generator
        Source of the initial factors: ``W1`` of shape ``(k, n)`` is drawn first, then
        ``W2`` of shape ``(n, k)``.

    Returns
    -------
    W1 : numpy.ndarray of float64, shape (k, n)
    W2 : numpy.ndarray of float64, shape (n, k)
        The factors after ``steps`` steps.
    losses : numpy.ndarray of float64, shape (steps + 1,)
        :math:`L` before the first step and after each step.

    Raises
    ------
    ValueError
        If ``C`` is not a finite symmetric square matrix, or ``k``, ``steps``, ``lr`` or
        ``init_scale`` is out of range.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.

    Notes
    -----
    From a small initialisation the loss stays near :math:`\operatorname{tr} C` and then
    drops once for each of the top :math:`k` eigenvalues of :math:`C`, largest first
    (Saxe, McClelland and Ganguli, 2014). A minimum leaves the sum of the other
    :math:`n - k` eigenvalues (Eckart and Young, 1936; Baldi and Hornik, 1989).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W1, W2, losses = fit_factorised(np.diag([4.0, 1.0]), 1, lr=0.05, steps=300,
    ...                                 init_scale=0.1, rng=rng)
    >>> round(float(losses[-1]), 6)  # the smaller eigenvalue is left over
    1.0
    """
    C = _check_moment_matrix(C)
    n = C.shape[0]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    eta, scale = _check_run(lr, steps, init_scale, rng)
    W1 = scale * rng.normal(size=(int(k), n))
    W2 = scale * rng.normal(size=(n, int(k)))
    eye = np.eye(n)
    losses = np.empty(int(steps) + 1)
    for t in range(int(steps) + 1):
        R = eye - W2 @ W1  # (n, n) residual map
        losses[t] = np.trace(R @ C @ R.T)
        if t == steps:
            break
        G = -2.0 * R @ C  # dL/d(W2 W1)
        W1, W2 = W1 - eta * W2.T @ G, W2 - eta * G @ W1.T
    return W1, W2, losses


def fit_linear(
    C: ArrayLike,
    *,
    lr: float,
    steps: int,
    init_scale: float,
    rng: np.random.Generator,
) -> tuple[Array, Array]:
    r"""Gradient descent on one square linear layer :math:`x \mapsto W x` for the same loss.

    Minimises :math:`L(W) = \operatorname{tr}\big((I - W)\, C\, (I - W)^\top\big)`, the
    loss of :func:`fit_factorised` with the product :math:`W_2 W_1` replaced by one matrix.
    The step is :math:`W \leftarrow W + 2 \eta (I - W) C`, so the residual evolves as
    :math:`I - W_t = (I - W_0)(I - 2\eta C)^t`: along each eigenvector of :math:`C` with
    eigenvalue :math:`\lambda` the error shrinks by the factor :math:`1 - 2\eta\lambda`
    per step, from the first step on.

    Parameters
    ----------
    C : array_like, shape (n, n)
        Symmetric positive semi-definite second-moment matrix of the data.
    lr : float
        Step size :math:`\eta > 0`.
    steps : int
        Number of gradient steps, at least 0.
    init_scale : float
        Standard deviation of the normal entries of the initial :math:`W`, > 0.
    rng : numpy.random.Generator
        Source of the initial ``W``, of shape ``(n, n)``.

    Returns
    -------
    W : numpy.ndarray of float64, shape (n, n)
        The layer after ``steps`` steps.
    losses : numpy.ndarray of float64, shape (steps + 1,)
        :math:`L` before the first step and after each step.

    Raises
    ------
    ValueError
        If ``C`` is not a finite symmetric square matrix, or ``steps``, ``lr`` or
        ``init_scale`` is out of range.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.

    Examples
    --------
    >>> W, losses = fit_linear(np.diag([4.0, 1.0]), lr=0.05, steps=300, init_scale=0.1,
    ...                        rng=np.random.default_rng(0))
    >>> bool(losses[-1] < 1e-10)  # full rank: every direction is learned
    True
    """
    C = _check_moment_matrix(C)
    n = C.shape[0]
    eta, scale = _check_run(lr, steps, init_scale, rng)
    W = scale * rng.normal(size=(n, n))
    eye = np.eye(n)
    losses = np.empty(int(steps) + 1)
    for t in range(int(steps) + 1):
        R = eye - W  # (n, n) residual map
        losses[t] = np.trace(R @ C @ R.T)
        if t == steps:
            break
        W = W + 2.0 * eta * R @ C
    return W, losses


def scalar_descent(a: float, b: float, *, lam: float, lr: float, steps: int) -> tuple[Array, Array]:
    r"""Gradient descent on the scalar model :math:`\lambda (1 - ab)^2` of two factors.

    Each factor takes a step along its own partial derivative, both from the same iterate:
    :math:`a \leftarrow a + 2 \eta \lambda (1 - ab)\, b` and
    :math:`b \leftarrow b + 2 \eta \lambda (1 - ab)\, a`. This is
    :func:`fit_factorised` restricted to factors :math:`W_1 = a\, q^\top` and
    :math:`W_2 = b\, q` along one eigenvector :math:`q` of :math:`C` with eigenvalue
    :math:`\lambda`, less the constant :math:`\operatorname{tr} C - \lambda`.

    Parameters
    ----------
    a, b : float
        The initial factors, finite.
    lam : float
        The eigenvalue :math:`\lambda > 0`.
    lr : float
        Step size :math:`\eta > 0`.
    steps : int
        Number of gradient steps, at least 0.

    Returns
    -------
    path : numpy.ndarray of float64, shape (steps + 1, 2)
        :math:`(a, b)` before the first step and after each step.
    losses : numpy.ndarray of float64, shape (steps + 1,)
        :math:`\lambda (1 - ab)^2` at each point of ``path``.

    Raises
    ------
    ValueError
        If ``a`` or ``b`` is not finite, ``lam`` or ``lr`` is not a finite number > 0, or
        ``steps`` is not an integer >= 0.
    TypeError
        If ``a``, ``b``, ``lam`` or ``lr`` is not a real number.

    Examples
    --------
    >>> path, losses = scalar_descent(0.5, 0.5, lam=1.0, lr=0.1, steps=1)
    >>> path[1].tolist()  # each factor: 0.5 + 2 * 0.1 * 1 * 0.75 * 0.5
    [0.575, 0.575]
    >>> [round(float(x), 6) for x in losses]  # (1 - 0.25)^2, then (1 - 0.575^2)^2
    [0.5625, 0.448063]
    """
    a = check_finite(a, "a")
    b = check_finite(b, "b")
    lam = check_positive_finite(lam, "lam")
    eta = check_positive_finite(lr, "lr")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    path = np.empty((int(steps) + 1, 2))
    path[0] = a, b
    for t in range(int(steps)):
        r = 2.0 * eta * lam * (1.0 - a * b)
        a, b = a + r * b, b + r * a
        path[t + 1] = a, b
    losses: Array = lam * (1.0 - path[:, 0] * path[:, 1]) ** 2
    return path, losses


def growing_lengths(W1: ArrayLike, W2: ArrayLike, Q: ArrayLike) -> Array:
    r"""Lengths of the growing parts of small factors along eigenvectors, orthogonalised.

    Linearised about zero, a step of :func:`fit_factorised` adds
    :math:`2 \eta \lambda_i b_i` to :math:`a_i = W_1 q_i` and :math:`2 \eta \lambda_i a_i`
    to :math:`b_i = W_2^\top q_i` for an eigenvector :math:`q_i` of :math:`C` with eigenvalue
    :math:`\lambda_i`, so :math:`g_i = (a_i + b_i) / 2` grows by the factor
    :math:`1 + 2 \eta \lambda_i` per step. The directions share the hidden units, so the
    lengths returned are those of the Gram--Schmidt residuals: :math:`\lVert g_1 \rVert`,
    the length of the part of :math:`g_2` orthogonal to :math:`g_1`, and so on (the
    absolute diagonal of :math:`R` in a QR factorisation of :math:`[g_1, g_2, \dots]`).

    Parameters
    ----------
    W1 : array_like, shape (k, n)
        The first factor.
    W2 : array_like, shape (n, k)
        The second factor.
    Q : array_like, shape (n, m)
        Eigenvectors :math:`q_1, \dots, q_m` of :math:`C` as columns, in the order of
        decreasing eigenvalue, with :math:`m \le k`.

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        The lengths, each >= 0.

    Raises
    ------
    ValueError
        If an array is not finite, empty, or of the wrong shape, or ``m > k``.

    Examples
    --------
    >>> W1 = [[0.3, 0.0], [0.0, 0.1]]  # k = n = 2
    >>> W2 = [[0.1, 0.0], [0.0, 0.3]]
    >>> growing_lengths(W1, W2, np.eye(2)).tolist()  # g_1 = (0.2, 0), g_2 = (0, 0.2)
    [0.2, 0.2]
    """
    A = as_float_array(W1, "W1", ndim=2, allow_empty=False)
    B = as_float_array(W2, "W2", ndim=2, allow_empty=False)
    V = as_float_array(Q, "Q", ndim=2, allow_empty=False)
    k, n = A.shape
    if B.shape != (n, k):
        raise ValueError(f"W2 must have shape {(n, k)} to match W1, got {B.shape}")
    if V.shape[0] != n or V.shape[1] > k:
        raise ValueError(f"Q must have shape (n, m) with n = {n} and m <= k = {k}, got {V.shape}")
    G = (A @ V + B.T @ V) / 2.0  # column i is g_i
    lengths: Array = np.abs(np.diag(np.linalg.qr(G, mode="r")))
    return lengths


def start_times(lengths: ArrayLike, lams: ArrayLike, *, lr: float) -> Array:
    r"""Predicted steps at which each drop of a factorised run's loss is half done.

    A part of length :math:`g` along an eigenvector with eigenvalue :math:`\lambda` grows
    by :math:`1 + 2 \eta \lambda` per step, and the product :math:`u` along it reaches
    :math:`1/2` after about :math:`\ln(1/g) / \ln(1 + 2\eta\lambda)` steps. The loss
    :math:`\lambda (1 - u)^2` is half down already at :math:`u = 1 - 1/\sqrt 2`, where
    :math:`\operatorname{logit} u = -\ln(1 + \sqrt 2) \approx -0.88`, and the logit grows
    by about :math:`4 \eta \lambda` per step, so the prediction is

    .. math::

        t = \frac{\ln(1/g)}{\ln(1 + 2\eta\lambda)} - \frac{\ln(1 + \sqrt 2)}{4\eta\lambda}.

    It holds to leading order in :math:`\ln(1/g)`, for small :math:`g`.

    Parameters
    ----------
    lengths : array_like, shape (m,)
        The lengths :math:`g`, each > 0, for instance from :func:`growing_lengths`.
    lams : array_like, shape (m,)
        The eigenvalues :math:`\lambda`, each > 0.
    lr : float
        Step size :math:`\eta > 0`.

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        The predicted steps.

    Raises
    ------
    ValueError
        If an array is not finite, empty, of the wrong shape or not > 0, or ``lr`` is not a
        finite number > 0.

    Examples
    --------
    >>> t = start_times([1e-6], [8.0], lr=0.005)  # ln(1e6) / ln(1.08) - ln(1 + sqrt 2) / 0.16
    >>> round(float(t[0]), 2)
    174.0
    """
    g = as_float_array(lengths, "lengths", ndim=1, allow_empty=False)
    lam = as_float_array(lams, "lams", ndim=1, allow_empty=False)
    eta = check_positive_finite(lr, "lr")
    if lam.shape != g.shape:
        raise ValueError(f"lams must have the shape {g.shape} of lengths, got {lam.shape}")
    if np.any(g <= 0) or np.any(lam <= 0):
        raise ValueError("lengths and lams must be > 0")
    times: Array = np.log(1.0 / g) / np.log1p(2.0 * eta * lam) - np.log1p(np.sqrt(2.0)) / (
        4.0 * eta * lam
    )
    return times
