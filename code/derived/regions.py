r"""The linear pieces of a ReLU network with one input, counted exactly.

A network with one real input :math:`x`, hidden layers :math:`d = 1, \dots, D` of widths
:math:`W_d` and one linear output computes

.. math::

    h_0 = x, \qquad h_d = \operatorname{ReLU}(A_d h_{d-1} + b_d), \qquad
    y = a^\top h_D + c,

with ``weights[d]`` the matrix :math:`A_{d+1}` of shape :math:`(W_{d+1}, W_d)`
(:math:`W_0 = 1`) and ``weights[D]`` the row :math:`a^\top` of shape :math:`(1, W_D)`.
Each :math:`h_d` is a continuous, piecewise-affine function of
:math:`x`. The counter keeps it exactly in that form: a sorted array of breakpoints and,
on each interval between them, the slope and intercept of every unit. A layer maps each
interval's affine pre-activation :math:`p x + q` through the ReLU, which adds at most one
breakpoint per unit and interval, at the root :math:`x = -q/p` if it lies inside. The
new intervals take the affine map of the interval they came from, with the inactive
units set to zero. No point is sampled.

This is also the proof of the bound :math:`\prod_d (W_d + 1)`: if :math:`h_{d-1}` has
:math:`P` pieces, each of the :math:`W_d` units adds at most one breakpoint inside each
of them, so :math:`h_d` has at most :math:`P + W_d P = (W_d + 1) P` pieces.

Floating point: the roots are computed in float64, and each carries a merging distance
set by its own scale. A root :math:`x = -q/p` of a pre-activation :math:`p x + q` whose
intercept is the sum of terms of total size :math:`S_q` (the terms of :math:`C w + b`, in
absolute value) is known to about machine precision times :math:`S_q / |p| \ge |x|`; its
merging distance is ``XTOL * S_q / |p|``. Two breakpoints closer than the larger of their
merging distances are taken to be the same point, and so are a breakpoint and an end of
the domain closer than ``XTOL * |end|`` or the breakpoint's distance. So the tolerance is
relative, about :math:`10^{-9}` of the size of the numbers that form each root, never an
absolute distance: multiplying every hidden bias by :math:`s > 0` multiplies :math:`q`,
:math:`S_q` and every root by :math:`s`, since :math:`N(x; A, s b) = s N(x / s; A, b)`,
and leaves the count unchanged; and a root at :math:`10^{-4}` is not merged with its
neighbours because some other unit has a bias of :math:`10^{6}`. Two slopes that differ
by less than ``RTOL`` times the size of the terms that form them are taken to be equal.
(The output bias moves no breakpoint; with all hidden biases zero the network is
positively homogeneous and its only possible breakpoint is 0.)
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog

from derived._validate import as_float_array, check_generator, check_int

__all__ = [
    "RTOL",
    "XTOL",
    "best_fit",
    "breakpoints",
    "count_pieces",
    "count_pieces_sampled",
    "folded_network",
    "network_output",
    "pieces_bound",
    "pieces_bound_loose",
    "random_network",
    "regions_by_crossings",
    "sawtooth_network",
    "zigzag_network",
]

Array = NDArray[np.float64]

#: Slopes closer than this, relative to the terms that form them, are equal.
RTOL = 1e-9
#: Breakpoints closer than ``XTOL`` times the scale of the terms forming them are one point.
XTOL = 1e-9


# --------------------------------------------------------------------------- checking


def _check_network(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]
) -> tuple[list[Array], list[Array]]:
    """Convert and check the layers: shapes chain from 1 input to 1 output."""
    for arg, value in (("weights", weights), ("biases", biases)):
        if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
            raise TypeError(f"{arg} must be a sequence of arrays, got {type(value).__name__}")
    if len(weights) == 0:
        raise ValueError("weights must hold at least one layer, got none")
    if len(biases) != len(weights):
        raise ValueError(
            f"biases must have one entry per layer of weights ({len(weights)}), got {len(biases)}"
        )
    Ws = [as_float_array(w, f"weights[{d}]", ndim=2) for d, w in enumerate(weights)]
    bs = [as_float_array(b, f"biases[{d}]", ndim=1) for d, b in enumerate(biases)]
    fan_in = 1
    for d, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        if W.shape[0] < 1 or W.shape[1] != fan_in:
            raise ValueError(
                f"weights[{d}] must have shape (width, {fan_in}) with width >= 1 "
                f"(layer {d} takes {fan_in} input(s)), got shape {W.shape}"
            )
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"biases[{d}] must have shape ({W.shape[0]},) to match weights[{d}], "
                f"got shape {b.shape}"
            )
        fan_in = W.shape[0]
    if Ws[-1].shape[0] != 1:
        raise ValueError(
            f"weights[{len(Ws) - 1}] is the output layer and must have shape "
            f"(1, {Ws[-1].shape[1]}), "
            f"got shape {Ws[-1].shape}"
        )
    return Ws, bs


def _check_interval(interval: tuple[float, float] | None) -> tuple[float, float]:
    if interval is None:
        return -np.inf, np.inf
    if isinstance(interval, str | bytes) or not hasattr(interval, "__len__"):
        raise TypeError(f"interval must be a pair (lo, hi) or None, got {interval!r}")
    if len(interval) != 2:
        raise ValueError(f"interval must be a pair (lo, hi), got {len(interval)} entries")
    lo, hi = (float(v) for v in as_float_array(interval, "interval", ndim=1, finite=False))
    if np.isnan(lo) or np.isnan(hi) or not lo < hi:
        raise ValueError(f"interval must satisfy lo < hi, got ({lo}, {hi})")
    return lo, hi


def _check_widths(widths: Sequence[int], arg: str = "widths") -> tuple[int, ...]:
    if isinstance(widths, str | bytes) or not hasattr(widths, "__iter__"):
        raise TypeError(f"{arg} must be a sequence of ints, got {type(widths).__name__}")
    out = tuple(widths)
    for w in out:
        if isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1:
            raise ValueError(f"{arg} must be positive ints, got {list(out)}")
    return tuple(int(w) for w in out)


# --------------------------------------------------------------------------- the counter


def _end_tol(end: float) -> float:
    """Return the merging distance of a (possibly infinite) end of the domain."""
    return XTOL * abs(end) if np.isfinite(end) else 0.0


def _times(A: Array, W: Array) -> Array:
    """Return A @ W.T; for few input units as a sum of outer products (faster on tall A)."""
    if W.shape[1] > 8:
        out: Array = A @ W.T
        return out
    total = A[:, 0, None] * W[:, 0]
    for k in range(1, W.shape[1]):  # loop over input units, not over intervals
        total += A[:, k, None] * W[:, k]
    return total


def _representatives(edges: Array, lo: float, hi: float) -> Array:
    """One point strictly inside each interval between lo, edges..., hi."""
    if edges.size == 0:
        inner = [lo, hi]
        if np.isfinite(lo) and np.isfinite(hi):
            return np.array([(lo + hi) / 2.0])
        finite = [v for v in inner if np.isfinite(v)]
        if not finite:
            return np.zeros(1)
        v = finite[0]
        return np.array([v + (1.0 if v == lo else -1.0) * max(1.0, abs(v))])
    first = (lo + edges[0]) / 2.0 if np.isfinite(lo) else edges[0] - max(1.0, abs(edges[0]))
    last = (edges[-1] + hi) / 2.0 if np.isfinite(hi) else edges[-1] + max(1.0, abs(edges[-1]))
    out: Array = np.concatenate([[first], (edges[:-1] + edges[1:]) / 2.0, [last]])
    return out


def _merge_points(points: Array, tols: Array) -> tuple[Array, Array]:
    """Sort, and drop each point within the larger merging distance of its predecessor."""
    if points.size == 0:
        return points, tols
    order = np.argsort(points, kind="stable")
    points, tols = points[order], tols[order]
    keep = np.concatenate([[True], np.diff(points) > np.maximum(tols[1:], tols[:-1])])
    return points[keep], tols[keep]


def _trace(Ws: list[Array], bs: list[Array], lo: float, hi: float) -> tuple[Array, Array]:
    """Breakpoints of the output on (lo, hi) and the output's slope on each interval.

    The state is ``edges`` (m,) and, per interval, the slopes ``A`` and intercepts ``C``
    (m + 1, width) of the current layer's units as affine functions of x.
    """
    edges, etol = np.empty(0), np.empty(0)  # breakpoints and their merging distances
    A = np.ones((1, 1))  # (intervals, width): h_0 = x
    C = np.zeros((1, 1))
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        P = _times(A, W)  # (intervals, width) slopes of the pre-activations
        Q = _times(C, W) + b  # intercepts
        S = _times(np.abs(A), np.abs(W))  # size of the terms forming P
        P = np.where(np.abs(P) <= RTOL * S, 0.0, P)  # a slope lost in rounding is zero
        Sq = _times(np.abs(C), np.abs(W)) + np.abs(b)  # size of the terms forming Q
        with np.errstate(divide="ignore", invalid="ignore"):
            roots = -Q / P + 0.0  # + 0.0 turns -0.0 into 0.0
            rtol = XTOL * Sq / np.abs(P)  # each root known to about this, relative
            left = np.concatenate([[lo], edges])[:, None]
            right = np.concatenate([edges, [hi]])[:, None]
            ltol = np.concatenate([[_end_tol(lo)], etol])[:, None]
            rtol_right = np.concatenate([etol, [_end_tol(hi)]])[:, None]
            inside = (roots - np.maximum(rtol, ltol) > left) & (
                roots + np.maximum(rtol, rtol_right) < right
            )  # False where P = 0 (NaN or inf)
        new_edges, new_etol = _merge_points(
            np.concatenate([edges, roots[inside]]), np.concatenate([etol, rtol[inside]])
        )
        # every new interval inherits the affine map of the old interval containing it
        reps = _representatives(new_edges, lo, hi)
        parent = np.searchsorted(edges, reps)
        Pn, Qn, Sn = (np.take(M, parent, axis=0) for M in (P, Q, S))  # take: fast rows
        active = Pn * reps[:, None] + Qn > 0
        A = np.where(active, Pn, 0.0)
        C = np.where(active, Qn, 0.0)
        # Adjacent intervals on which every unit has the same affine map are one interval.
        # Only an old breakpoint can separate two such intervals: at a new one, the unit
        # whose root it is switches, with a slope above the rounding level.
        k = np.flatnonzero(parent[1:] != parent[:-1])  # interval k | k + 1 at an old edge
        scale = np.where(active, Sn, 0.0)
        A_left, A_right = np.take(A, k, axis=0), np.take(A, k + 1, axis=0)
        bound = RTOL * (np.take(scale, k, axis=0) + np.take(scale, k + 1, axis=0))
        same = np.all(np.abs(A_right - A_left) <= bound, axis=1)
        if np.any(same):
            drop = k[same]  # the edge between intervals drop and drop + 1
            keep = np.ones(len(A), dtype=bool)
            keep[drop + 1] = False
            new_edges, new_etol = np.delete(new_edges, drop), np.delete(new_etol, drop)
            A, C = A[keep], C[keep]
        edges, etol = new_edges, new_etol
    w_out = Ws[-1][0]
    slopes = A @ w_out
    scale = np.abs(A) @ np.abs(w_out)
    kink = np.abs(np.diff(slopes)) > RTOL * (scale[1:] + scale[:-1])
    keep = np.concatenate([[True], kink])
    return edges[kink], slopes[keep]


def breakpoints(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    interval: tuple[float, float] | None = None,
) -> Array:
    r"""Return the points where the slope of a one-input ReLU network's output changes.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[d]`` of shape :math:`(W_{d+1}, W_d)` with :math:`W_0 = 1`; the last one
        has shape :math:`(1, W_D)`. At least one layer.
    biases : sequence of array_like
        ``biases[d]`` of shape :math:`(W_{d+1},)`.
    interval : pair of float or None, default None
        Only breakpoints strictly inside ``(lo, hi)`` are returned; ``None`` means the
        whole real line. Infinite ends are allowed.

    Returns
    -------
    numpy.ndarray of float64, shape (K,)
        The sorted breakpoints: the output is affine between consecutive ones, and its
        slope on the left of each differs from its slope on the right.

    Examples
    --------
    >>> breakpoints([[[1.0], [1.0]], [[1.0, -2.0]]], [[0.0, -1.0], [0.0]]).tolist()
    [0.0, 1.0]
    """
    Ws, bs = _check_network(weights, biases)
    lo, hi = _check_interval(interval)
    return _trace(Ws, bs, lo, hi)[0]


def count_pieces(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    interval: tuple[float, float] | None = None,
) -> int:
    r"""Count the maximal intervals on which a one-input ReLU network is affine.

    Exact: breakpoints are tracked layer by layer (see the module docstring), never
    sampled. Two adjacent intervals with the same affine function count as one piece, so
    the count is ``len(breakpoints(weights, biases, interval)) + 1``.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[d]`` of shape :math:`(W_{d+1}, W_d)` with :math:`W_0 = 1`; the last one
        has shape :math:`(1, W_D)`. ReLU after every layer but the last.
    biases : sequence of array_like
        ``biases[d]`` of shape :math:`(W_{d+1},)`.
    interval : pair of float or None, default None
        The domain ``(lo, hi)``; ``None`` means the whole real line.

    Returns
    -------
    int
        The number of pieces, at least 1.

    Examples
    --------
    >>> count_pieces(*sawtooth_network(3), interval=(0.0, 1.0))
    8
    >>> count_pieces([[[1.0], [1.0]], [[1.0, -2.0]]], [[0.0, -1.0], [0.0]])
    3
    """
    return int(breakpoints(weights, biases, interval).size) + 1


def count_pieces_sampled(x: ArrayLike, y: ArrayLike, rtol: float = 1e-7) -> int:
    r"""Count the affine pieces of a function from its values on a grid: a numerical check.

    The slope between neighbouring samples, :math:`s_i = (y_{i+1} - y_i) / (x_{i+1} - x_i)`,
    is constant along a piece. It changes where a cell contains a breakpoint: once if the
    breakpoint is a grid point, twice in a row if it lies strictly inside a cell (that cell's
    slope is a mixture). So every run of consecutive changes is one breakpoint. A change
    counts if :math:`|s_{i+1} - s_i| > \tau`, with

    .. math::

        \tau = \mathrm{rtol}\,(\max_i |s_i| + 1)
        + 16\,\varepsilon \max_i |y_i| \,/\, \min_i (x_{i+1} - x_i),

    :math:`\varepsilon = 2^{-52}`. The second term is the rounding level: if every
    :math:`y_i` is correct to :math:`4\varepsilon \max|y|` (a few roundings), a change of
    slope computed from three values is correct to
    :math:`16\varepsilon \max|y| / \min \Delta x`, so rounding alone never makes a change
    (without it, :math:`|x - 0.3| + 10^6` on a grid of spacing :math:`10^{-5}` would show
    thousands of pieces). The count is exact when four conditions hold: the values are
    correct to that level, neighbouring breakpoints are more than three grid spacings
    apart, no breakpoint lies in the first or last cell (there it changes only one
    difference, by a fraction of its change), and every slope change :math:`\delta` exceeds
    :math:`2(\tau + 16\varepsilon \max|y| / \min \Delta x)` (a kink inside a cell splits
    its change between two differences, the larger at least :math:`\delta/2` exactly and at
    least :math:`\delta/2` minus the rounding level as computed). Two such kinks leave
    at least two kink-free cells between them, whose equal slopes separate their runs.
    Closer kinks can merge into one run, and a smaller change can go unseen. It is an
    independent check of :func:`count_pieces`, not a replacement.

    Parameters
    ----------
    x : array_like, shape (N,)
        Strictly increasing, finite sample points, N >= 3.
    y : array_like, shape (N,)
        The function's values at ``x``, finite.
    rtol : float, default 1e-7
        The relative part of the tolerance :math:`\tau`.

    Returns
    -------
    int
        The number of pieces seen on ``[x[0], x[-1]]``, at least 1.

    Examples
    --------
    >>> x = np.linspace(-1.0, 1.0, 2001)
    >>> count_pieces_sampled(x, np.abs(x - 0.3) + np.maximum(x, 0.5))
    3
    >>> count_pieces_sampled(x, np.abs(x - 0.3) + 1e6)  # a large offset: still 2
    2
    """
    xs = as_float_array(x, "x", ndim=1, allow_empty=False)
    ys = as_float_array(y, "y", ndim=1, allow_empty=False)
    if xs.size < 3:
        raise ValueError(f"x must hold at least 3 points, got {xs.size}")
    if ys.shape != xs.shape:
        raise ValueError(f"y must have the shape of x {xs.shape}, got {ys.shape}")
    if not np.all(np.diff(xs) > 0):
        raise ValueError("x must be strictly increasing")
    if isinstance(rtol, bool) or not isinstance(rtol, int | float | np.floating):
        raise TypeError(f"rtol must be a real number, got {type(rtol).__name__}")
    if not np.isfinite(rtol) or rtol <= 0:
        raise ValueError(f"rtol must be finite and > 0, got {rtol}")
    dx = np.diff(xs)
    slopes = np.diff(ys) / dx
    rounding = 16.0 * np.finfo(np.float64).eps * np.max(np.abs(ys)) / np.min(dx)
    change = np.abs(np.diff(slopes)) > rtol * (np.max(np.abs(slopes)) + 1.0) + rounding
    starts = change & ~np.concatenate([[False], change[:-1]])  # the first of each run
    return int(np.sum(starts)) + 1


def network_output(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike
) -> Array:
    r"""Evaluate a one-input ReLU network at the points ``x``.

    Parameters
    ----------
    weights, biases : sequence of array_like
        The network, as in :func:`count_pieces`.
    x : array_like, shape (N,)
        Input points, finite, N >= 1.

    Returns
    -------
    numpy.ndarray of float64, shape (N,)
        :math:`y(x)` at every point.

    Examples
    --------
    >>> network_output(*sawtooth_network(1), [0.0, 0.25, 0.5, 1.0]).tolist()
    [0.0, 0.5, 1.0, 0.0]
    """
    Ws, bs = _check_network(weights, biases)
    h = as_float_array(x, "x", ndim=1, allow_empty=False)[:, None]  # (N, 1)
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        h = np.maximum(h @ W.T + b, 0.0)  # (N, width)
    out: Array = (h @ Ws[-1].T + bs[-1])[:, 0]
    return out


# --------------------------------------------------------------------------- approximation


def best_fit(x: ArrayLike, y: ArrayLike, knots: ArrayLike) -> tuple[float, Array]:
    r"""Fit values on a grid by a continuous piecewise-affine function, in the largest error.

    Among the continuous functions :math:`p` that are affine between consecutive knots
    :math:`t_0 < \dots < t_K`, find one that minimises :math:`\max_i |p(x_i) - y_i|`.
    Such a :math:`p` is fixed by its values :math:`v_k = p(t_k)`, and
    :math:`p(x_i) = \sum_k \phi_k(x_i) v_k` with the hat functions :math:`\phi_k` (1 at
    :math:`t_k`, 0 at the other knots, affine between). So the fit is the linear program

    .. math::

        \min_{v,\, e}\ e \quad\text{subject to}\quad
        -e \le \sum_k \phi_k(x_i) v_k - y_i \le e \quad (i = 1, \dots, N),

    solved by SciPy's ``scipy.optimize.linprog`` with the HiGHS solver. The error is the
    largest on the grid; between grid points the fit may err a little more.

    Parameters
    ----------
    x : array_like, shape (N,)
        The grid, finite, inside ``[knots[0], knots[-1]]``, N >= 1.
    y : array_like, shape (N,)
        The values to fit, finite.
    knots : array_like, shape (K + 1,)
        Strictly increasing, finite, K + 1 >= 2: a fit with K pieces.

    Returns
    -------
    error : float
        :math:`\min_p \max_i |p(x_i) - y_i|`.
    values : numpy.ndarray of float64, shape (K + 1,)
        The values at the knots of a fit that attains it.

    Examples
    --------
    >>> x = np.linspace(-1.0, 1.0, 201)
    >>> error, values = best_fit(x, x**2, [-1.0, 1.0])  # the best line for x^2: y = 1/2
    >>> round(error, 9), np.round(values, 9).tolist()
    (0.5, [0.5, 0.5])
    """
    xs = as_float_array(x, "x", ndim=1, allow_empty=False)
    ys = as_float_array(y, "y", ndim=1, allow_empty=False)
    ts = as_float_array(knots, "knots", ndim=1, allow_empty=False)
    if ys.shape != xs.shape:
        raise ValueError(f"y must have the shape of x {xs.shape}, got {ys.shape}")
    if ts.size < 2 or not np.all(np.diff(ts) > 0):
        raise ValueError(f"knots must be strictly increasing with at least 2 entries, got {ts}")
    if xs.min() < ts[0] or xs.max() > ts[-1]:
        raise ValueError(f"x must lie in [knots[0], knots[-1]] = [{ts[0]}, {ts[-1]}]")
    hat = np.column_stack([np.interp(xs, ts, row) for row in np.eye(ts.size)])  # (N, K + 1)
    ones = np.ones((xs.size, 1))  # unknowns: the values at the knots, then the error e
    res = linprog(
        np.r_[np.zeros(ts.size), 1.0],
        A_ub=np.block([[hat, -ones], [-hat, -ones]]),  # hat @ v - y <= e, y - hat @ v <= e
        b_ub=np.r_[ys, -ys],
        bounds=[(None, None)] * (ts.size + 1),
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(f"linprog ended with status {res.status}: {res.message}")
    values: Array = res.x[:-1]
    return float(np.abs(hat @ values - ys).max()), values


# --------------------------------------------------------------------------- two inputs


def regions_by_crossings(A: ArrayLike, b: ArrayLike, eps: float = 1e-9) -> int:
    r"""Count the regions cut out of the plane by the lines :math:`\alpha_j^\top x + \beta_j = 0`.

    The lines must be in general position (no two parallel, no three through one point),
    and there must be at least two. Then every region has a crossing of two lines on its
    boundary, and the four regions around the crossing :math:`v` of lines :math:`i, j`
    contain the four points

    .. math::

        p = v + \begin{pmatrix} \alpha_i^\top \\ \alpha_j^\top \end{pmatrix}^{-1}
        \varepsilon \begin{pmatrix} s_i \\ s_j \end{pmatrix}, \qquad s_i, s_j \in \{-1, 1\},

    where :math:`\alpha_i^\top p + \beta_i = \varepsilon s_i` and likewise for :math:`j`.
    The count is the number of distinct activation patterns
    :math:`(\alpha_k^\top p + \beta_k > 0)_k` at these points (distinct regions have
    distinct patterns: the points with one strict pattern are an intersection of open
    half-planes, a convex set, so they lie in one region); no formula is used. It is
    checked, not assumed, that no other line passes between a crossing and its four points
    (:math:`|\alpha_k^\top v + \beta_k|` larger than the change of
    :math:`\alpha_k^\top x + \beta_k` from :math:`v` to each point). For lines in general
    position the count is :math:`1 + W + \binom{W}{2}`.

    Parameters
    ----------
    A : array_like, shape (W, 2)
        The normals :math:`\alpha_j`, one per row, finite, W >= 2.
    b : array_like, shape (W,)
        The offsets :math:`\beta_j`, finite.
    eps : float, default 1e-9
        The offset :math:`\varepsilon > 0` of the four points from each crossing.

    Returns
    -------
    int
        The number of regions.

    Raises
    ------
    ValueError
        If two lines are parallel, or a line passes within the four points of a crossing
        of two others (three lines through one point, or ``eps`` too large).

    Examples
    --------
    >>> regions_by_crossings([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, -1.0])
    7
    """
    As = as_float_array(A, "A", ndim=2)
    bs = as_float_array(b, "b", ndim=1)
    if As.shape[0] < 2 or As.shape[1] != 2:
        raise ValueError(f"A must have shape (W, 2) with W >= 2, got shape {As.shape}")
    if bs.shape != (As.shape[0],):
        raise ValueError(f"b must have shape ({As.shape[0]},) to match A, got shape {bs.shape}")
    if isinstance(eps, bool) or not isinstance(eps, int | float | np.floating):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be finite and > 0, got {eps}")
    signs = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]).T  # (2, 4)
    patterns: set[tuple[bool, ...]] = set()
    for i in range(len(As)):
        for j in range(i + 1, len(As)):
            pair = As[[i, j]]
            det = pair[0, 0] * pair[1, 1] - pair[0, 1] * pair[1, 0]
            if abs(det) <= 1e-12 * np.linalg.norm(pair[0]) * np.linalg.norm(pair[1]):
                raise ValueError(f"lines {i} and {j} are parallel: not in general position")
            v = np.linalg.solve(pair, -bs[[i, j]])
            points = v[:, None] + np.linalg.solve(pair, eps * signs)  # (2, 4)
            z_v = As @ v + bs  # (W,)
            z_p = As @ points + bs[:, None]  # (W, 4)
            others = np.ones(len(As), dtype=bool)
            others[[i, j]] = False
            if np.any(np.abs(z_v[others]) <= np.abs(z_p - z_v[:, None])[others].max(axis=1)):
                raise ValueError(
                    f"a line passes within eps of the crossing of lines {i} and {j}: "
                    "three lines through one point, or eps too large"
                )
            active = z_p > 0
            active[[i, j]] = signs > 0  # on lines i, j the signs are known exactly
            patterns.update(tuple(column) for column in active.T.tolist())
    return len(patterns)


# --------------------------------------------------------------------------- bounds


def pieces_bound(widths: Sequence[int]) -> int:
    r"""Return the upper bound :math:`\prod_d (W_d + 1)` on the pieces of a 1-input network.

    Parameters
    ----------
    widths : sequence of int
        The hidden widths :math:`W_1, \dots, W_D` (empty: an affine map, one piece).

    Returns
    -------
    int
        :math:`\prod_{d=1}^{D} (W_d + 1)`, exact (a Python int).

    Examples
    --------
    >>> pieces_bound([2, 2, 2])
    27
    """
    return int(prod(w + 1 for w in _check_widths(widths)))


def pieces_bound_loose(widths: Sequence[int]) -> int:
    r"""Return the looser bound :math:`2^D \prod_d W_d` (each unit "gives two pieces").

    Parameters
    ----------
    widths : sequence of int
        The hidden widths :math:`W_1, \dots, W_D`.

    Returns
    -------
    int
        :math:`2^D \prod_{d=1}^{D} W_d`, exact.

    Examples
    --------
    >>> pieces_bound_loose([2, 2, 2])
    64
    """
    ws = _check_widths(widths)
    return int(2 ** len(ws) * prod(ws))


# --------------------------------------------------------------------------- constructions


def zigzag_network(width: int, depth: int) -> tuple[list[Array], list[Array]]:
    r"""Build ``depth`` layers of ``width`` units with ``width**depth`` pieces on [0, 1].

    One layer computes the zigzag :math:`g(t) = \sum_{i=0}^{W-1} c_i \operatorname{ReLU}(t -
    i/W)` with :math:`c_0 = W` and :math:`c_i = 2W(-1)^i` for :math:`i \ge 1`: slopes
    :math:`W, -W, W, \dots` on the :math:`W` intervals :math:`[i/W, (i+1)/W]`, so that
    :math:`g` maps each of them onto :math:`[0, 1]`. The composition :math:`g^{\circ D}`
    therefore crosses :math:`[0, 1]` :math:`W^D` times. Every layer after the first reads
    :math:`g` of the previous one through its weights ``outer(1, c)``; the output layer is
    :math:`c`. With ``width = 2``, :math:`g` is the tent map (:func:`sawtooth_network`).

    Parameters
    ----------
    width : int
        :math:`W \ge 1`.
    depth : int
        :math:`D \ge 1`, the number of hidden layers.

    Returns
    -------
    weights, biases : list of numpy.ndarray
        In the format of :func:`count_pieces`.

    Examples
    --------
    >>> count_pieces(*zigzag_network(3, 2), interval=(0.0, 1.0))
    9
    """
    W = check_int(width, "width", 1)
    D = check_int(depth, "depth", 1)
    c = np.where(np.arange(W) % 2 == 0, 2.0 * W, -2.0 * W)
    c[0] = W
    t = np.arange(W) / W  # the kinks i/W
    weights = [np.ones((W, 1))] + [np.outer(np.ones(W), c) for _ in range(D - 1)]
    biases = [-t for _ in range(D)]
    return weights + [c[None, :]], biases + [np.zeros(1)]


def folded_network(width: int, depth: int) -> tuple[list[Array], list[Array]]:
    r"""Build ``depth`` layers of ``width`` units with :math:`W^{D-1}(W+1)` pieces on [0, 1].

    The construction of Montúfar et al. for one input. The first :math:`D - 1` layers are
    those of :func:`zigzag_network`: their zigzag :math:`u = g^{\circ(D-1)}(x)` maps each
    of :math:`W^{D-1}` intervals of :math:`[0, 1]` onto :math:`[0, 1]`, alternately up
    and down. The last hidden layer does not fold again; it puts :math:`W` kinks strictly
    inside :math:`(0, 1)`, at :math:`t_i = (i + \tfrac12)/W`, and the output is

    .. math::

        f(u) = \operatorname{ReLU}(t_0 - u) + \operatorname{ReLU}(u - t_1)
        + \sum_{i=2}^{W-1} 2(-1)^{i+1} \operatorname{ReLU}(u - t_i),

    whose slopes on the :math:`W + 1` intervals of :math:`[0, 1]` cut by the kinks are
    :math:`-1, 0, 1, -1, 1, \dots`: neighbours differ, and the end slopes :math:`f'(0)`
    and :math:`f'(1)` are not zero, so no two pieces merge where :math:`u` turns round at
    0 or 1. One unit is oriented to the left: with only units :math:`\operatorname{ReLU}(u
    - t_i)`, :math:`f` would be constant near :math:`u = 0` and the two pieces on either
    side of every turn at 0 would merge. Each of the :math:`W^{D-1}` folds therefore holds
    :math:`W + 1` pieces of the output. ``depth = 1`` gives one hidden layer with
    :math:`W + 1` pieces, the bound.

    Parameters
    ----------
    width : int
        :math:`W \ge 2`.
    depth : int
        :math:`D \ge 1`, the number of hidden layers.

    Returns
    -------
    weights, biases : list of numpy.ndarray
        In the format of :func:`count_pieces`.

    Examples
    --------
    >>> count_pieces(*folded_network(3, 2), interval=(0.0, 1.0))
    12
    """
    W = check_int(width, "width", 2)
    D = check_int(depth, "depth", 1)
    zig_w, zig_b = zigzag_network(W, D)
    t = (np.arange(W) + 0.5) / W
    sign = np.ones(W)
    sign[0] = -1.0  # the unit relu(t_0 - u)
    c = np.array([1.0, 1.0] + [2.0 * (-1.0) ** (i + 1) for i in range(2, W)])
    if D == 1:
        first = [sign[:, None]]
    else:  # the last hidden layer reads u = c_zig . h_{D-1} through sign * c_zig
        first = [*zig_w[: D - 1], np.outer(sign, zig_w[-1][0])]
    weights = [*first, c[None, :]]
    biases = [*zig_b[: D - 1], -sign * t, np.zeros(1)]
    return weights, biases


def sawtooth_network(depth: int) -> tuple[list[Array], list[Array]]:
    r"""Build Telgarsky's sawtooth: width 2, ``depth`` layers, :math:`2^{D}` pieces on [0, 1].

    Each layer computes the tent map :math:`g(t) = 2\operatorname{ReLU}(t) -
    4\operatorname{ReLU}(t - 1/2)`, which is :math:`2t` on :math:`[0, 1/2]` and
    :math:`2 - 2t` on :math:`[1/2, 1]`; the output is :math:`g^{\circ D}`, a sawtooth
    with :math:`2^{D-1}` teeth.

    Parameters
    ----------
    depth : int
        :math:`D \ge 1`.

    Returns
    -------
    weights, biases : list of numpy.ndarray
        In the format of :func:`count_pieces`: shapes (2, 1), (2, 2), ..., (1, 2).

    Examples
    --------
    >>> weights, biases = sawtooth_network(2)
    >>> [w.shape for w in weights]
    [(2, 1), (2, 2), (1, 2)]
    >>> count_pieces(weights, biases, interval=(0.0, 1.0))
    4
    """
    return zigzag_network(2, check_int(depth, "depth", 1))


def random_network(
    widths: Sequence[int], rng: np.random.Generator, bias_std: float = 0.1
) -> tuple[list[Array], list[Array]]:
    r"""Draw a randomly initialised one-input network (He initialisation).

    Weights of layer :math:`d` are normal with variance :math:`2 / W_{d-1}` (He et al.),
    biases normal with standard deviation ``bias_std``.

    Parameters
    ----------
    widths : sequence of int
        The hidden widths :math:`W_1, \dots, W_D`.
    rng : numpy.random.Generator
        The source of randomness.
    bias_std : float, default 0.1
        Standard deviation of the biases, >= 0.

    Returns
    -------
    weights, biases : list of numpy.ndarray
        In the format of :func:`count_pieces`.

    Examples
    --------
    >>> weights, biases = random_network([4, 4], np.random.default_rng(0))
    >>> [w.shape for w in weights]
    [(4, 1), (4, 4), (1, 4)]
    """
    sizes = (1, *_check_widths(widths), 1)
    check_generator(rng)
    if isinstance(bias_std, bool) or not isinstance(bias_std, int | float | np.floating):
        raise TypeError(f"bias_std must be a real number, got {type(bias_std).__name__}")
    if not np.isfinite(bias_std) or bias_std < 0:
        raise ValueError(f"bias_std must be finite and >= 0, got {bias_std}")
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        weights.append(rng.normal(scale=np.sqrt(2.0 / n_in), size=(n_out, n_in)))
        biases.append(rng.normal(scale=float(bias_std), size=n_out))
    return weights, biases
