r"""Exact t-SNE: Gaussian affinities, the Student-t map, the KL objective and its gradient.

t-distributed stochastic neighbour embedding (van der Maaten and Hinton, 2008) places
:math:`N` points :math:`x_i \in \mathbb{R}^D` as points :math:`y_i` in the plane so that
neighbours stay neighbours.

**Affinities in the data.** Point :math:`i` picks neighbour :math:`j` with probability

.. math::

    p_{j|i} = \frac{\exp(-\beta_i d_{ij})}{\sum_{k \ne i} \exp(-\beta_i d_{ik})},
    \qquad d_{ij} = \lVert x_i - x_j \rVert^2,\quad p_{i|i} = 0,

with a precision :math:`\beta_i = 1/(2\sigma_i^2)` chosen so that the *perplexity*
:math:`2^{H_i}` of row :math:`i` (:math:`H_i` its entropy in bits), equivalently
:math:`e^{H_i}` with :math:`H_i` in nats, equals the requested value. The entropy falls
as :math:`\beta_i` grows, so :math:`\beta_i` is found by bisection, here on
:math:`\log \beta_i` and for all rows at once. The joint affinities are symmetrised,
:math:`p_{ij} = (p_{j|i} + p_{i|j}) / (2N)`, so that they sum to 1.

**Affinities in the map** use a Student-t kernel with one degree of freedom,

.. math::

    q_{ij} = \frac{w_{ij}}{\sum_{k \ne l} w_{kl}}, \qquad
    w_{ij} = \big(1 + \lVert y_i - y_j \rVert^2\big)^{-1}, \quad w_{ii} = 0,

whose heavy tail lets moderately distant points be placed far apart (the crowding
problem).

**Objective and gradient.** :math:`C = \mathrm{KL}(P \Vert Q) = \sum_{i \ne j} p_{ij}
\log(p_{ij}/q_{ij})` and, for symmetric :math:`P`,

.. math::

    \frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij})\, w_{ij}\, (y_i - y_j),

computed for all :math:`i` at once as :math:`4\,(\operatorname{diag}(M\mathbf 1) - M)\,Y`
with :math:`M = (P - Q) \odot W`: two matrix operations, no loop over pairs.

**Symmetric SNE**, the same objective with a Gaussian map kernel
:math:`w_{ij} = e^{-\lVert y_i - y_j \rVert^2}`, is available with ``kernel="gaussian"``
for comparison; its gradient is :math:`4 \sum_j (p_{ij} - q_{ij})(y_i - y_j)`.

**Optimisation** follows scikit-learn's settings (version 1.9) for ``method="exact"`` and
``init="random"``, without its early-stopping rules, for maps in one or two dimensions
(scikit-learn gives the Student-t kernel :math:`\max(d - 1, 1)` degrees of freedom in
:math:`d` dimensions; this module always uses one):
gradient descent with momentum 0.5 for the first 250 iterations while :math:`P` is
multiplied by an *early exaggeration* of 12, then momentum 0.8 on the true :math:`P`,
with per-coordinate adaptive gains (the delta-bar-delta rule of Jacobs, 1988: raised by
0.2 where the new gradient points against the previous update, so the descent goes on
in that coordinate and the gradient has kept its sign; shrunk by a factor 0.8 where it
points along it, an overshoot; never below 0.01), a learning rate of
:math:`\max(N/48, 50)` (scikit-learn's ``"auto"``, :math:`\max(N/(4\alpha), 50)`), and
an initial map drawn from :math:`\mathcal N(0, 10^{-8} I)`. The momentum schedule and
the gains are those of van der Maaten and Hinton (2008); their paper exaggerated by 4
for 50 iterations, used a learning rate of 100 and started from
:math:`\mathcal N(0, 10^{-4} I)`. The factor 12 for 250 iterations is from van der
Maaten (2014), the rate :math:`N/12` from Belkina et al. (2019), for a gradient without
the factor 4 below.

The book's chapter *t-SNE* derives the gradient step by step; ``tests/test_tsne.py`` checks the
affinities against scikit-learn and the gradient against torch autograd in float64.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_int, check_positive_finite

__all__ = [
    "conditional_probabilities",
    "joint_probabilities",
    "kl_divergence",
    "kl_gradient",
    "map_affinities",
    "optimize_embedding",
    "squared_distances",
    "tsne",
]

Array = NDArray[np.float64]

#: Bisection on log(beta) stops once every bracket is narrower than this (natural log
#: units): beta is then known to a relative 1e-13, which is float64 precision for P.
LOG_BETA_TOL = 1e-13
#: Most e^2-fold widenings of an initial bracket before giving up (rows that cannot
#: reach the perplexity, because of duplicate points, keep the nearest entropy).
MAX_WIDEN = 40
EXAGGERATION_ITERS = 250
#: Size of one block of rows in the gradient: a slab this large fits in a core's cache.
BLOCK_BYTES = 2**20


def squared_distances(X: ArrayLike) -> Array:
    r"""Return all squared Euclidean distances :math:`d_{ij} = \lVert x_i - x_j \rVert^2`.

    Computed from the Gram matrix, :math:`d_{ij} = \lVert x_i\rVert^2 + \lVert x_j\rVert^2
    - 2 x_i^\top x_j`, one matrix product; rounding can make an entry slightly negative,
    so entries are clipped at 0 and the diagonal is set to exactly 0. For integer data
    (such as the digits' grey levels) every entry is exact.

    Parameters
    ----------
    X : array_like, shape (N, D)
        One point per row.

    Returns
    -------
    numpy.ndarray of float64, shape (N, N)
        Symmetric, non-negative, zero diagonal.

    Examples
    --------
    >>> squared_distances([[0.0, 0.0], [3.0, 4.0]]).tolist()
    [[0.0, 25.0], [25.0, 0.0]]
    """
    Xa = as_float_array(X, "X", ndim=2)
    sq = np.einsum("ij,ij->i", Xa, Xa)  # (N,)
    D: Array = sq[:, None] + sq[None, :] - 2.0 * (Xa @ Xa.T)  # (N, N)
    np.maximum(D, 0.0, out=D)
    np.fill_diagonal(D, 0.0)
    return D


def _off_diagonal(D: Array) -> Array:
    """Return the (N, N - 1) matrix of D's off-diagonal entries, row by row."""
    n = D.shape[0]
    return D[~np.eye(n, dtype=bool)].reshape(n, n - 1)


def _entropy(d: Array, log_beta: Array, buf: Array) -> Array:
    """Entropies (nats) of the rows of d (shifted, >= 0) at precisions exp(log_beta).

    With e_j = exp(-beta d_j), S = sum e and T = sum e d: H = log S + beta T / S. Only
    row sums are formed, in the scratch array ``buf`` (shaped like d): no division of
    the whole matrix, no temporary of its size.
    """
    beta = np.exp(log_beta)  # (m,)
    np.multiply(d, -beta[:, None], out=buf)
    np.exp(buf, out=buf)  # e, each row's largest entry is exp(0) = 1
    total = buf.sum(axis=1)  # S >= 1
    weighted = np.einsum("ij,ij->i", buf, d)  # T
    entropy: Array = np.log(total) + beta * weighted / total
    return entropy


def conditional_probabilities(D: ArrayLike, perplexity: float = 30.0) -> tuple[Array, Array]:
    r"""Calibrate :math:`p_{j|i}` to a perplexity, by bisection on all rows at once.

    Each row's precision :math:`\beta_i` is found by bisection on :math:`\log\beta_i`
    so that the entropy :math:`H_i = -\sum_j p_{j|i}\log p_{j|i}` (nats) equals
    :math:`\log(\text{perplexity})`: first every row's bracket is widened until it
    contains the answer, then all brackets are halved together until each is narrower
    than ``LOG_BETA_TOL``. Each row is shifted by its smallest distance before
    exponentiating (the shift cancels in :math:`p_{j|i}`), so nothing underflows to 0/0.

    Parameters
    ----------
    D : array_like, shape (N, N)
        Squared distances, non-negative; the diagonal is ignored.
    perplexity : float, default 30.0
        The effective number of neighbours, :math:`1 < \text{perplexity} < N - 1`.

    Returns
    -------
    P_cond : numpy.ndarray of float64, shape (N, N)
        Row :math:`i` holds :math:`p_{j|i}`; rows sum to 1, the diagonal is 0.
    beta : numpy.ndarray of float64, shape (N,)
        The precisions :math:`\beta_i = 1 / (2\sigma_i^2)`.

    Examples
    --------
    >>> D = squared_distances([[0.0], [1.0], [3.0], [7.0]])
    >>> P, beta = conditional_probabilities(D, perplexity=2.0)
    >>> H = -np.sum(P * np.log(np.where(P > 0, P, 1.0)), axis=1)
    >>> bool(np.allclose(np.exp(H), 2.0, rtol=1e-12))
    True
    """
    Da = as_float_array(D, "D", ndim=2)
    n = Da.shape[0]
    if Da.shape != (n, n):
        raise ValueError(f"D must be a square matrix of squared distances, got shape {Da.shape}")
    if n < 4:
        raise ValueError(f"D must describe at least 4 points, got {n}")
    if np.any(Da < 0):
        raise ValueError("D must be non-negative (squared distances)")
    perp = check_positive_finite(perplexity, "perplexity")
    if not 1.0 < perp < n - 1:
        raise ValueError(f"perplexity must lie in (1, N - 1) = (1, {n - 1}), got {perplexity!r}")
    target = np.log(perp)
    d = _off_diagonal(Da)  # (N, N - 1)
    d = d - d.min(axis=1, keepdims=True)  # each row's nearest neighbour at distance 0
    scale = d.mean(axis=1)
    mid = -np.log(np.where(scale > 0, scale, 1.0))  # beta ~ 1 / typical distance
    lo, hi = mid - 1.0, mid + 1.0
    buf = np.empty_like(d)
    for _ in range(MAX_WIDEN):  # widen: H(lo) must be >= target >= H(hi)
        low_ok = _entropy(d, lo, buf) >= target
        high_ok = _entropy(d, hi, buf) <= target
        if low_ok.all() and high_ok.all():
            break
        lo = np.where(low_ok, lo, lo - 2.0)
        hi = np.where(high_ok, hi, hi + 2.0)
    while np.max(hi - lo) > LOG_BETA_TOL:  # bisect every row at once
        mid = 0.5 * (lo + hi)
        too_flat = _entropy(d, mid, buf) > target  # entropy too high: raise beta
        lo = np.where(too_flat, mid, lo)
        hi = np.where(too_flat, hi, mid)
    log_beta = 0.5 * (lo + hi)
    p = np.exp(-np.exp(log_beta)[:, None] * d)  # (N, N - 1)
    p /= p.sum(axis=1, keepdims=True)
    P = np.zeros((n, n))
    P[~np.eye(n, dtype=bool)] = p.ravel()
    return P, np.exp(log_beta)


def joint_probabilities(X: ArrayLike, perplexity: float = 30.0) -> Array:
    r"""Symmetric t-SNE affinities :math:`p_{ij} = (p_{j|i} + p_{i|j}) / (2N)` of the data.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data, one point per row (N >= 4).
    perplexity : float, default 30.0
        The effective number of neighbours, :math:`1 < \text{perplexity} < N - 1`.

    Returns
    -------
    numpy.ndarray of float64, shape (N, N)
        Symmetric, non-negative, zero diagonal, summing to 1.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(10, 3))
    >>> P = joint_probabilities(X, perplexity=3.0)
    >>> bool(np.allclose(P, P.T)), bool(np.isclose(P.sum(), 1.0)), float(P.trace())
    (True, True, 0.0)
    """
    Xa = as_float_array(X, "X", ndim=2)
    if Xa.shape[0] < 4:
        raise ValueError(f"X must have at least 4 rows (points), got shape {Xa.shape}")
    P_cond, _ = conditional_probabilities(squared_distances(Xa), perplexity)
    P: Array = (P_cond + P_cond.T) / (2.0 * Xa.shape[0])
    return P


def _check_p_y(P: ArrayLike, Y: ArrayLike, y_name: str = "Y") -> tuple[Array, Array]:
    Pa = as_float_array(P, "P", ndim=2)
    Ya = as_float_array(Y, y_name, ndim=2)
    n = Ya.shape[0]
    if n < 2:
        raise ValueError(f"{y_name} must have at least 2 rows (points), got shape {Ya.shape}")
    if Pa.shape != (n, n):
        raise ValueError(
            f"P must have shape ({n}, {n}) to match {y_name} {Ya.shape}, got {Pa.shape}"
        )
    if np.any(Pa < 0) or np.any(np.diag(Pa) != 0):
        raise ValueError("P must be non-negative with a zero diagonal")
    if not np.isclose(Pa.sum(), 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"P must sum to 1 (a joint distribution), got {Pa.sum():.12g}")
    if not np.allclose(Pa, Pa.T, rtol=1e-12, atol=1e-15):
        raise ValueError("P must be symmetric (p_ij = p_ji)")
    return Pa, Ya


KERNELS = ("student", "gaussian")


def _check_kernel(kernel: object) -> str:
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    return str(kernel)


def _gaussian_q(Y: Array) -> Array:
    """Q for the Gaussian kernel exp(-||y_i - y_j||^2), zero diagonal; (N, N).

    Every exponent is shifted by the smallest off-diagonal distance, which cancels in Q,
    so the largest entry is 1 and the sum cannot underflow.
    """
    d = squared_distances(Y)
    np.fill_diagonal(d, np.inf)  # exp(-inf) = 0: w_ii = 0
    W = np.exp(-(d - d.min()))
    Q: Array = W / W.sum()
    return Q


def _kernel(Y: Array) -> Array:
    """Student-t kernel w_ij = 1 / (1 + ||y_i - y_j||^2), zero diagonal; (N, N)."""
    W = np.zeros((Y.shape[0], Y.shape[0]))
    for k in range(Y.shape[1]):  # one pass per map dimension (2 or 3), not per pair
        diff = Y[:, k, None] - Y[None, :, k]  # (N, N)
        W += diff * diff
    W += 1.0
    np.reciprocal(W, out=W)
    np.fill_diagonal(W, 0.0)
    return W


def map_affinities(Y: ArrayLike, kernel: str = "student") -> Array:
    r"""Affinities of the map, :math:`q_{ij} = w_{ij} / \sum_{k \ne l} w_{kl}`.

    Parameters
    ----------
    Y : array_like, shape (N, d)
        The map, one point per row (N >= 2).
    kernel : {"student", "gaussian"}, default "student"
        :math:`w_{ij} = (1 + \lVert y_i - y_j\rVert^2)^{-1}` (t-SNE) or
        :math:`e^{-\lVert y_i - y_j\rVert^2}` (symmetric SNE).

    Returns
    -------
    numpy.ndarray of float64, shape (N, N)
        Symmetric, positive off the diagonal, zero diagonal, summing to 1.

    Examples
    --------
    >>> map_affinities([[0.0], [1.0]]).tolist()
    [[0.0, 0.5], [0.5, 0.0]]
    """
    Ya = as_float_array(Y, "Y", ndim=2)
    if Ya.shape[0] < 2:
        raise ValueError(f"Y must have at least 2 rows (points), got shape {Ya.shape}")
    if _check_kernel(kernel) == "gaussian":
        return _gaussian_q(Ya)
    W = _kernel(Ya)
    Q: Array = W / W.sum()
    return Q


def kl_divergence(P: ArrayLike, Y: ArrayLike, kernel: str = "student") -> float:
    r"""Evaluate the t-SNE objective :math:`C = \sum_{i \ne j} p_{ij} \log(p_{ij}/q_{ij})`.

    Terms with :math:`p_{ij} = 0` count as 0. The logarithm of :math:`q_{ij}` is formed
    as :math:`-\log(1 + \lVert y_i - y_j\rVert^2) - \log\sum w`, never as the logarithm
    of a tiny quotient.

    Parameters
    ----------
    P : array_like, shape (N, N)
        Joint affinities of the data: symmetric, non-negative, zero diagonal, sum 1.
    Y : array_like, shape (N, d)
        The map.
    kernel : {"student", "gaussian"}, default "student"
        The map kernel, as in :func:`map_affinities`.

    Returns
    -------
    float
        :math:`\mathrm{KL}(P \Vert Q) \ge 0`.

    Examples
    --------
    >>> P = np.full((3, 3), 1 / 6) - np.eye(3) / 6
    >>> Y = [[0.0, 0.0], [1.0, 0.0], [0.5, 3**0.5 / 2]]  # equilateral: Q = P
    >>> abs(kl_divergence(P, Y)) < 1e-14
    True
    """
    Pa, Ya = _check_p_y(P, Y)
    return _kl(Pa, Ya, _check_kernel(kernel))


def _kl(P: Array, Y: Array, kernel: str = "student") -> float:
    """KL(P || Q) = sum p log p + sum p log(1 + d) + log Z (as sum p = 1), by row blocks."""
    positive = P[P > 0]
    entropy_term = float(np.dot(positive, np.log(positive)))
    if kernel == "gaussian":  # -log w_ij = d_ij; log Z shifted by the smallest distance
        d = squared_distances(Y)
        off = ~np.eye(Y.shape[0], dtype=bool)
        shift = float(d[off].min())
        log_z = float(np.log(np.exp(-(d[off] - shift)).sum())) - shift
        return entropy_term + float(np.sum(P * d)) + log_z
    sq1 = np.einsum("ij,ij->i", Y, Y) + 1.0
    cross, z = 0.0, 0.0
    rows = _block_rows(Y.shape[0])
    buf = np.empty((rows, Y.shape[0]))
    for start in range(0, Y.shape[0], rows):
        stop = min(start + rows, Y.shape[0])
        B = _one_plus_sq_dist(Y, sq1, start, stop, buf)  # (b, N)
        W = 1.0 / B
        W[np.arange(stop - start), np.arange(start, stop)] = 0.0  # w_ii = 0
        z += float(W.sum())
        np.log(B, out=B)  # log(1 + d_ij) = -log w_ij; 0 on the diagonal
        cross += float(np.einsum("ij,ij->", P[start:stop], B))
    return entropy_term + cross + float(np.log(z))


def _block_rows(n: int) -> int:
    """Rows per block: a (rows, N) float64 slab of about BLOCK_BYTES, at least 8 rows."""
    return max(8, BLOCK_BYTES // (8 * max(n, 1)))


def _one_plus_sq_dist(Y: Array, sq1: Array, start: int, stop: int, out: Array) -> Array:
    """Rows start:stop of 1 + ||y_i - y_j||^2 from the Gram matrix, into ``out`` (b, N)."""
    block = np.matmul(Y[start:stop], Y.T, out=out[: stop - start])  # (b, N)
    block *= -2.0
    block += sq1[start:stop, None] - 1.0
    block += sq1[None, :]
    np.maximum(block, 1.0, out=block)  # rounding must not make a distance negative
    block[np.arange(stop - start), np.arange(start, stop)] = 1.0  # d_ii = 0 exactly
    return block


def _gradient_gaussian(P: Array, Y: Array, exaggeration: float = 1.0) -> Array:
    """Symmetric-SNE gradient (Gaussian map kernel) with p_ij replaced by alpha p_ij.

    alpha = ``exaggeration`` (early exaggeration); for alpha != 1 this is not the
    gradient of any KL divergence.
    """
    M = exaggeration * P - _gaussian_q(Y)  # (N, N), symmetric
    grad: Array = 4.0 * (M.sum(axis=1)[:, None] * Y - M @ Y)
    return grad


def _gradient(P: Array, Y: Array, exaggeration: float = 1.0) -> Array:
    """Compute the t-SNE gradient with p_ij replaced by alpha p_ij, one block of rows at a time.

    alpha = ``exaggeration`` (early exaggeration); for alpha != 1 this is not the
    gradient of any KL divergence.

    With M = (P - W/Z) * W split as P*W - W*W/Z, both parts' row sums and products with
    Y are accumulated block by block, together with Z = sum(W): one pass over P, and two
    scratch slabs reused by every block, small enough to stay in the processor's cache.
    """
    n = Y.shape[0]
    sq1 = np.einsum("ij,ij->i", Y, Y) + 1.0  # (N,)
    pw_sum, ww_sum = np.empty(n), np.empty(n)
    pw_y, ww_y = np.empty_like(Y), np.empty_like(Y)
    rows = _block_rows(n)
    w_buf, a_buf = np.empty((rows, n)), np.empty((rows, n))
    z = 0.0
    for start in range(0, n, rows):  # blocks of rows, each a vectorised (b, N) slab
        stop = min(start + rows, n)
        W = _one_plus_sq_dist(Y, sq1, start, stop, w_buf)  # (b, N)
        np.reciprocal(W, out=W)
        W[np.arange(stop - start), np.arange(start, stop)] = 0.0  # w_ii = 0
        z += W.sum()
        A = np.multiply(P[start:stop], W, out=a_buf[: stop - start])  # p_ij w_ij
        pw_sum[start:stop] = A.sum(axis=1)
        pw_y[start:stop] = A @ Y
        np.multiply(W, W, out=W)  # w_ij^2
        ww_sum[start:stop] = W.sum(axis=1)
        ww_y[start:stop] = W @ Y
    pw = pw_sum[:, None] * Y - pw_y  # sum_j p_ij w_ij (y_i - y_j)
    ww = ww_sum[:, None] * Y - ww_y  # sum_j w_ij^2 (y_i - y_j)
    grad: Array = 4.0 * (exaggeration * pw - ww / z)
    return grad


def kl_gradient(P: ArrayLike, Y: ArrayLike, kernel: str = "student") -> Array:
    r"""Gradient of :func:`kl_divergence` with respect to the map.

    .. math::

        \frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij})\,
        \frac{y_i - y_j}{1 + \lVert y_i - y_j \rVert^2}

    Parameters
    ----------
    P : array_like, shape (N, N)
        Joint affinities of the data (symmetric: the formula needs it).
    Y : array_like, shape (N, d)
        The map.
    kernel : {"student", "gaussian"}, default "student"
        The map kernel; for ``"gaussian"`` the gradient is
        :math:`4 \sum_j (p_{ij} - q_{ij})(y_i - y_j)`, without the factor :math:`w_{ij}`.

    Returns
    -------
    numpy.ndarray of float64, shape (N, d)
        Row :math:`i` is :math:`\partial C / \partial y_i`; the rows sum to 0.

    Examples
    --------
    >>> P = np.array([[0.0, 0.5], [0.5, 0.0]])
    >>> kl_gradient(P, [[0.0], [1.0]]).tolist()  # two points: Q = P, nothing to move
    [[0.0], [0.0]]
    """
    Pa, Ya = _check_p_y(P, Y)
    if _check_kernel(kernel) == "gaussian":
        return _gradient_gaussian(Pa, Ya)
    return _gradient(Pa, Ya)


def optimize_embedding(
    P: ArrayLike,
    Y0: ArrayLike,
    n_iter: int = 1000,
    *,
    early_exaggeration: float = 12.0,
    learning_rate: float | None = None,
    check_every: int = 50,
    kernel: str = "student",
    adaptive_gains: bool = True,
) -> tuple[Array, Array]:
    r"""Minimise :func:`kl_divergence` from ``Y0`` by t-SNE's gradient descent.

    Iterations :math:`t < \min(250, n)` use :math:`\alpha P` (early exaggeration,
    :math:`\alpha` = ``early_exaggeration``) and momentum 0.5; the rest use :math:`P`
    and momentum 0.8. Each phase starts with zero velocity and unit gains. With gains
    :math:`g`, velocity :math:`u` and gradient :math:`G`,

    .. math::

        g \leftarrow \max\big(0.01,\ g + 0.2 \text{ where } u \odot G < 0,\
        0.8\,g \text{ elsewhere}\big), \quad
        u \leftarrow \mu u - \eta\, g \odot G, \quad Y \leftarrow Y + u.

    With ``adaptive_gains=False`` every gain stays 1: plain gradient descent with
    momentum, :math:`u \leftarrow \mu u - \eta G`.

    Parameters
    ----------
    P : array_like, shape (N, N)
        Joint affinities of the data.
    Y0 : array_like, shape (N, d)
        The starting map (not modified).
    n_iter : int, default 1000
        Total iterations, exaggerated ones included.
    early_exaggeration : float, default 12.0
        The factor :math:`\alpha` (1 switches exaggeration off).
    learning_rate : float, optional
        :math:`\eta`; by default :math:`\max(N / (4\alpha), 50)`, scikit-learn's
        ``"auto"``.
    check_every : int, default 50
        Record the objective every this many iterations.
    kernel : {"student", "gaussian"}, default "student"
        The map kernel: t-SNE, or symmetric SNE with ``"gaussian"``.
    adaptive_gains : bool, default True
        Adapt the per-coordinate gains (t-SNE's rule); ``False`` holds them at 1.

    Returns
    -------
    Y : numpy.ndarray of float64, shape (N, d)
        The final map.
    history : numpy.ndarray of float64, shape (k, 2)
        Rows ``(iteration, KL(P || Q))`` with the true (not exaggerated) :math:`P`,
        recorded before the first step, every ``check_every`` steps and after the last.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(12, 4))
    >>> Y0 = 1e-4 * np.random.default_rng(1).normal(size=(12, 2))
    >>> Y, history = optimize_embedding(joint_probabilities(X, 4.0), Y0)  # 1000 steps
    >>> Y.shape, bool(history[-1, 1] < history[0, 1])
    ((12, 2), True)
    """
    Pa, Ya = _check_p_y(P, Y0, "Y0")
    total = check_int(n_iter, "n_iter", 0)
    every = check_int(check_every, "check_every", 1)
    alpha = check_positive_finite(early_exaggeration, "early_exaggeration")
    kern = _check_kernel(kernel)
    if not isinstance(adaptive_gains, bool | np.bool_):
        raise TypeError(f"adaptive_gains must be a bool, got {type(adaptive_gains).__name__}")
    adapt = bool(adaptive_gains)
    grad_fn = _gradient_gaussian if kern == "gaussian" else _gradient
    n = Ya.shape[0]
    eta = max(n / alpha / 4.0, 50.0)
    if learning_rate is not None:
        eta = check_positive_finite(learning_rate, "learning_rate")
    Y = Ya.copy()
    history = [(0.0, _kl(Pa, Y, kern))]
    n_exaggerated = min(EXAGGERATION_ITERS, total)
    phases = ((0, n_exaggerated, alpha, 0.5), (n_exaggerated, total, 1.0, 0.8))
    for start, stop, factor, momentum in phases:
        update = np.zeros_like(Y)
        gains = np.ones_like(Y)
        for it in range(start, stop):  # iterations are sequential; each is vectorised
            grad = grad_fn(Pa, Y, factor)
            if adapt:  # the last update went against this gradient: descending, speed up
                descending = update * grad < 0.0
                gains = np.maximum(np.where(descending, gains + 0.2, gains * 0.8), 0.01)
            update = momentum * update - eta * gains * grad
            Y += update
            if (it + 1) % every == 0 or it + 1 == total:
                history.append((float(it + 1), _kl(Pa, Y, kern)))
    return Y, np.array(history)


def tsne(
    X: ArrayLike,
    n_components: int = 2,
    perplexity: float = 30.0,
    n_iter: int = 1000,
    seed: int = 0,
) -> Array:
    r"""Embed the rows of ``X`` with exact t-SNE.

    :func:`joint_probabilities`, a starting map drawn from
    :math:`\mathcal N(0, 10^{-8} I)` with ``numpy.random.default_rng(seed)``, then
    :func:`optimize_embedding` with its defaults.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data (N >= 4).
    n_components : int, default 2
        Dimension of the map.
    perplexity : float, default 30.0
        Effective number of neighbours, in (1, N - 1).
    n_iter : int, default 1000
        Gradient-descent iterations, the 250 exaggerated ones included.
    seed : int, default 0
        Seed of the starting map.

    Returns
    -------
    numpy.ndarray of float64, shape (N, n_components)
        The map.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(size=(20, 5)), rng.normal(size=(20, 5)) + 10.0])
    >>> Y = tsne(X, perplexity=5.0)  # 1000 steps; after 300 some points still sit apart
    >>> D = squared_distances(Y) + np.diag(np.full(40, np.inf))
    >>> bool(np.all(D.argmin(axis=1) // 20 == np.arange(40) // 20))  # neighbours stay
    True
    """
    Xa = as_float_array(X, "X", ndim=2)
    d = check_int(n_components, "n_components", 1)
    seed_ = check_int(seed, "seed", 0)
    total = check_int(n_iter, "n_iter", 0)
    P = joint_probabilities(Xa, perplexity)
    Y0 = 1e-4 * np.random.default_rng(seed_).standard_normal((Xa.shape[0], d))
    Y, _ = optimize_embedding(P, Y0, total)
    return Y
