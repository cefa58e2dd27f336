r"""The online softmax and attention computed block by block (the FlashAttention recurrence).

The softmax of :math:`x \in \mathbb{R}^n` needs two numbers from the whole vector, its
maximum and the sum of the shifted exponentials,

.. math::

    m = \max_j x_j, \qquad \ell = \sum_j e^{x_j - m}, \qquad
    \operatorname{softmax}(x)_i = e^{x_i - m} / \ell .

The pair :math:`(m, \ell)` of a concatenation is obtained from the pairs of its parts
(Milakov & Gimelshein 2018): if :math:`(m_a, \ell_a)` and :math:`(m_b, \ell_b)` summarise
two pieces at disjoint positions, then

.. math::

    m = \max(m_a, m_b), \qquad
    \ell = \ell_a e^{m_a - m} + \ell_b e^{m_b - m}

summarises their union, exactly (:func:`merge_states`). Folding the blocks of :math:`x`
into a running state one at a time (:func:`online_softmax_state`) therefore gives the
same :math:`(m, \ell)` as one pass over the whole vector, while holding a single block.

Attention :math:`O = \operatorname{softmax}(s\, Q K^\top) V` (row-wise softmax, scale
:math:`s`) uses the same recurrence with an output accumulator: for each block of keys
with scores :math:`S = s\, Q K_{\text{blk}}^\top`,

.. math::

    m' = \max(m, \operatorname{rowmax} S), \quad
    \ell' = e^{m - m'} \ell + \operatorname{rowsum} e^{S - m'}, \quad
    O' = e^{m - m'} O + e^{S - m'} V_{\text{blk}},

and the result is :math:`O / \ell` after the last block (Dao et al. 2022).
:func:`flash_attention_reference` runs it with queries in blocks too, so it never holds
more than one ``(block_size, block_size)`` block of scores per query block: its memory is
:math:`O(L d)`, not the :math:`O(L^2)` of the score matrix. The FlashAttention chapter
of the book proves the merge exact and measures the memory; ``tests/test_online_softmax.py``
checks everything against ``torch`` in float64.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_finite, check_int

__all__ = [
    "attention_io",
    "flash_attention_reference",
    "merge_states",
    "online_softmax",
    "online_softmax_state",
]

Array = NDArray[np.float64]


def _exp_shift(x: Array, m: Array) -> Array:
    r""":math:`e^{x - m}`, with :math:`e^{-\infty - (-\infty)}` taken as 0 (an empty state)."""
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(over="ignore"):
        return np.exp(x - safe)


def merge_states(
    m_a: ArrayLike, l_a: ArrayLike, m_b: ArrayLike, l_b: ArrayLike
) -> tuple[Array, Array]:
    r"""Merge two softmax states :math:`(m_a, \ell_a)` and :math:`(m_b, \ell_b)`.

    A state summarises the numbers :math:`x_j` at a finite set of positions :math:`J` by
    :math:`m = \max_{j \in J} x_j` and :math:`\ell = \sum_{j \in J} e^{x_j - m}`; the empty
    set is :math:`(-\infty, 0)`. For disjoint sets of positions :math:`J_a, J_b` (the
    values may repeat) the state of :math:`J_a \cup J_b` is

    .. math::

        m = \max(m_a, m_b), \qquad \ell = \ell_a e^{m_a - m} + \ell_b e^{m_b - m}.

    Both exponents are at most 0, so nothing overflows. The merge is commutative and
    associative, and :math:`(-\infty, 0)` is its identity (Milakov & Gimelshein 2018).

    Parameters
    ----------
    m_a, l_a, m_b, l_b : array_like
        Maxima (finite, or ``-inf`` for an empty state) and sums (>= 0, 0 exactly when the
        maximum is ``-inf``); the four arrays broadcast together elementwise.

    Returns
    -------
    (m, l) : tuple of numpy.ndarray of float64
        The state of the union.

    Examples
    --------
    >>> m, l = merge_states(1.0, 1.0, 3.0, 1.0)  # the states of {1} and {3}
    >>> float(m), round(float(l), 6)  # {1, 3}: max 3, 1 + e^{-2}
    (3.0, 1.135335)
    """
    arrays = []
    for name, value in (("m_a", m_a), ("l_a", l_a), ("m_b", m_b), ("l_b", l_b)):
        arr = as_float_array(value, name, finite=name.startswith("l"))
        if name.startswith("m") and np.any(np.isnan(arr) | (arr == np.inf)):
            raise ValueError(f"{name} must be finite or -inf (an empty state), got NaN or +inf")
        if name.startswith("l") and np.any(arr < 0):
            raise ValueError(f"{name} must be >= 0, got a minimum of {arr.min():g}")
        arrays.append(arr)
    ma, la, mb, lb = arrays
    try:
        np.broadcast_shapes(ma.shape, la.shape, mb.shape, lb.shape)
    except ValueError:
        raise ValueError(
            f"m_a, l_a, m_b, l_b must broadcast together, got shapes "
            f"{ma.shape}, {la.shape}, {mb.shape}, {lb.shape}"
        ) from None
    m = np.maximum(ma, mb)
    return m, la * _exp_shift(ma, m) + lb * _exp_shift(mb, m)


def online_softmax_state(x: ArrayLike, block_size: int = 64) -> tuple[Array, Array]:
    r"""Fold the blocks of the last axis of ``x`` into its state :math:`(m, \ell)`, one by one.

    Starts from the empty state :math:`(-\infty, 0)` and merges the state of each block
    of ``block_size`` entries in turn (:func:`merge_states`):

    .. math::

        m_t = \max(m_{t-1}, \max B_t), \qquad
        \ell_t = \ell_{t-1} e^{m_{t-1} - m_t} + \textstyle\sum_{x \in B_t} e^{x - m_t}.

    Parameters
    ----------
    x : array_like, shape (..., n)
        Finite numbers, ``n >= 1``.
    block_size : int, default 64
        Entries per block, >= 1; the last block may be shorter.

    Returns
    -------
    (m, l) : tuple of numpy.ndarray of float64, shape (...)
        :math:`m = \max_j x_j` and :math:`\ell = \sum_j e^{x_j - m}`, as one pass would.

    Examples
    --------
    >>> m, l = online_softmax_state([0.0, 0.0, 0.0], block_size=2)
    >>> float(m), float(l)
    (0.0, 3.0)
    """
    arr = as_float_array(x, "x", min_ndim=1)
    b = check_int(block_size, "block_size", 1)
    n = arr.shape[-1]
    if n == 0:
        raise ValueError(f"x must have at least one entry along its last axis, got {arr.shape}")
    m = np.full(arr.shape[:-1], -np.inf)
    l = np.zeros(arr.shape[:-1])  # noqa: E741  (the book's letter for the running sum)
    for start in range(0, n, b):
        blk = arr[..., start : start + b]  # (..., <= b)
        m_blk = blk.max(axis=-1)
        l_blk = np.exp(blk - m_blk[..., None]).sum(axis=-1)
        m, l = merge_states(m, l, m_blk, l_blk)  # noqa: E741
    return m, l


def online_softmax(x: ArrayLike, block_size: int = 64) -> Array:
    r"""Softmax over the last axis from the online state: :math:`e^{x_i - m} / \ell`.

    :math:`(m, \ell)` come from :func:`online_softmax_state` (one pass over the blocks);
    a second pass writes the probabilities. Equal to :func:`derived.softmax.softmax`
    up to rounding.

    Parameters
    ----------
    x : array_like, shape (..., n)
        Finite numbers, ``n >= 1``.
    block_size : int, default 64
        Entries per block, >= 1.

    Returns
    -------
    numpy.ndarray of float64, shape (..., n)
        Probabilities summing to 1 along the last axis.

    Examples
    --------
    >>> online_softmax([0.0, 0.0, 0.0, 0.0], block_size=3).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    arr = as_float_array(x, "x", min_ndim=1)
    m, l = online_softmax_state(arr, block_size)  # noqa: E741
    out: Array = np.exp(arr - m[..., None]) / l[..., None]
    return out


def _attention_inputs(
    q: ArrayLike, k: ArrayLike, v: ArrayLike, scale: float | None
) -> tuple[Array, Array, Array, float]:
    """Validate ``q (..., Lq, d)``, ``k (..., Lk, d)``, ``v (..., Lk, dv)`` and the scale."""
    qa = as_float_array(q, "q", min_ndim=2)
    ka = as_float_array(k, "k", min_ndim=2)
    va = as_float_array(v, "v", min_ndim=2)
    if not qa.ndim == ka.ndim == va.ndim:
        raise ValueError(
            f"q, k and v must have the same number of dimensions, got shapes "
            f"{qa.shape}, {ka.shape}, {va.shape}"
        )
    if not qa.shape[:-2] == ka.shape[:-2] == va.shape[:-2]:
        raise ValueError(
            f"q, k and v must have the same batch dimensions, got shapes "
            f"{qa.shape}, {ka.shape}, {va.shape}"
        )
    if qa.shape[-1] == 0 or qa.shape[-1] != ka.shape[-1]:
        raise ValueError(
            f"q and k must have the same head dimension d >= 1, got {qa.shape} and {ka.shape}"
        )
    if ka.shape[-2] == 0 or ka.shape[-2] != va.shape[-2]:
        raise ValueError(
            f"k and v must have the same number of keys Lk >= 1, got {ka.shape} and {va.shape}"
        )
    s = 1.0 / math.sqrt(qa.shape[-1]) if scale is None else check_finite(scale, "scale")
    return qa, ka, va, s


def flash_attention_reference(
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    is_causal: bool = False,
    scale: float | None = None,
    block_size: int = 64,
) -> Array:
    r"""Compute attention :math:`\operatorname{softmax}(s\,QK^\top)V` block by block, online.

    For each block of ``block_size`` queries it keeps a running maximum :math:`m`, a
    running sum :math:`\ell` and an unnormalised output :math:`O` (per query), and for each
    block of keys with scores :math:`S = s\,Q_{\text{blk}} K_{\text{blk}}^\top` updates

    .. math::

        m' = \max(m, \operatorname{rowmax} S), \quad \alpha = e^{m - m'}, \quad
        P = e^{S - m'}, \quad \ell' = \alpha \ell + \operatorname{rowsum} P, \quad
        O' = \alpha O + P V_{\text{blk}},

    returning :math:`O / \ell`. Only one block of scores exists at a time: the memory
    beyond the inputs and the output is :math:`O(b^2 + b d)` per batch entry.

    With ``is_causal`` query :math:`i` attends to keys :math:`j \le i` (the mask aligned
    at the top left, as ``torch.nn.functional.scaled_dot_product_attention``), and key
    blocks that start past a query block's last row are never visited.

    Parameters
    ----------
    q : array_like, shape (..., Lq, d)
        Queries, finite.
    k : array_like, shape (..., Lk, d)
        Keys, finite, ``Lk >= 1``; same batch dimensions as ``q``.
    v : array_like, shape (..., Lk, dv)
        Values, finite.
    is_causal : bool, default False
        Mask key :math:`j > i` for query :math:`i`.
    scale : float, optional
        The factor :math:`s` of the scores; :math:`1/\sqrt d` by default.
    block_size : int, default 64
        Queries per block and keys per block, >= 1. ``Lq`` and ``Lk`` need not be
        multiples of it.

    Returns
    -------
    numpy.ndarray of float64, shape (..., Lq, dv)
        The same as dense attention, up to rounding.

    Examples
    --------
    >>> q = np.array([[1.0, 0.0]]); k = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> v = np.array([[1.0], [0.0]])
    >>> out = flash_attention_reference(q, k, v, scale=np.log(3.0), block_size=1)
    >>> round(float(out[0, 0]), 12)  # softmax([ln 3, 0]) = [3/4, 1/4]
    0.75
    """
    qa, ka, va, s = _attention_inputs(q, k, v, scale)
    if not isinstance(is_causal, bool | np.bool_):
        raise TypeError(f"is_causal must be a bool, got {type(is_causal).__name__}")
    b = check_int(block_size, "block_size", 1)
    lq, lk = qa.shape[-2], ka.shape[-2]
    out = np.empty(qa.shape[:-1] + va.shape[-1:])  # (..., Lq, dv)
    for i0 in range(0, lq, b):
        qb = qa[..., i0 : i0 + b, :]  # (..., bq, d)
        rows = np.arange(i0, i0 + qb.shape[-2])[:, None]  # (bq, 1) query positions
        m = np.full(qb.shape[:-1], -np.inf)  # (..., bq) running max
        l = np.zeros(qb.shape[:-1])  # noqa: E741  (..., bq) running sum
        acc = np.zeros(qb.shape[:-1] + va.shape[-1:])  # (..., bq, dv) unnormalised output
        stop = min(lk, i0 + qb.shape[-2]) if is_causal else lk  # causal: keys j <= last row
        for j0 in range(0, stop, b):
            scores = s * (qb @ np.swapaxes(ka[..., j0 : j0 + b, :], -1, -2))  # (..., bq, bk)
            if is_causal:
                cols = np.arange(j0, j0 + scores.shape[-1])[None, :]  # (1, bk)
                scores = np.where(cols <= rows, scores, -np.inf)
            m_new = np.maximum(m, scores.max(axis=-1))  # (..., bq)
            alpha = _exp_shift(m, m_new)  # (..., bq) rescales the old state
            p = _exp_shift(scores, m_new[..., None])  # (..., bq, bk)
            l = alpha * l + p.sum(axis=-1)  # noqa: E741
            acc = alpha[..., None] * acc + p @ va[..., j0 : j0 + b, :]
            m = m_new
        out[..., i0 : i0 + b, :] = acc / l[..., None]
    return out


def attention_io(seq_len: int, head_dim: int, block_size: int | None = None) -> tuple[int, int]:
    r"""Count the flops and the numbers moved to and from main memory by one attention head.

    Self-attention of :math:`N` queries over :math:`N` keys with head dimension :math:`d`
    (values of width :math:`d` too). The flops are those of the two products,
    :math:`F = 2N^2d + 2N^2d = 4N^2d` (the softmax's :math:`O(N^2)` is left out).

    *Standard* attention (``block_size=None``; Dao et al. 2022, Algorithm 0) reads
    :math:`Q, K` and writes :math:`S`, reads :math:`S` and writes :math:`P`, reads
    :math:`P, V` and writes :math:`O`:

    .. math:: D_{\text{std}} = 2Nd + N^2 + 2N^2 + (N^2 + Nd) + Nd = 4N^2 + 4Nd.

    *Tiled* attention with query blocks of :math:`b` rows reads :math:`Q` and writes
    :math:`O` once, and reads all of :math:`K` and :math:`V` once per query block:

    .. math:: D_{\text{tiled}} = 2Nd + 2Nd\,\lceil N / b \rceil .

    Parameters
    ----------
    seq_len : int
        :math:`N \ge 1`.
    head_dim : int
        :math:`d \ge 1`.
    block_size : int, optional
        Query rows per block, :math:`b \ge 1`; None for standard attention.

    Returns
    -------
    (flops, numbers) : tuple of int
        :math:`F` and the count of numbers read plus written (multiply by the bytes per
        number for bytes).

    Examples
    --------
    >>> attention_io(1024, 64)  # 4 N^2 d flops; 4 N^2 + 4 N d numbers
    (268435456, 4456448)
    >>> attention_io(1024, 64, block_size=128)  # 2 N d (1 + 8) numbers
    (268435456, 1179648)
    """
    n = check_int(seq_len, "seq_len", 1)
    d = check_int(head_dim, "head_dim", 1)
    flops = 4 * n * n * d
    if block_size is None:
        return flops, 4 * n * n + 4 * n * d
    b = check_int(block_size, "block_size", 1)
    return flops, 2 * n * d + 2 * n * d * math.ceil(n / b)
