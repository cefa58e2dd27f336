r"""Scaled dot-product attention, its backward pass, heads and positions.

Attention is a soft lookup. Each query :math:`q_i \in \mathbb{R}^d` scores every key
:math:`k_j` by a scaled inner product, the softmax of the scores turns them into weights, and
the output is the weighted mean of the values :math:`v_j \in \mathbb{R}^{d_v}`:

.. math::

    S = c\, Q K^\top, \qquad P = \operatorname{softmax}_{\text{rows}}(S), \qquad O = P V,

with the scale :math:`c = 1/\sqrt d` by default. If the entries of :math:`q` and :math:`k`
are independent with mean 0 and variance 1, :math:`\operatorname{Var}(q \cdot k) = d`, and
the scale brings the scores back to unit variance.

A boolean mask :math:`M` marks the pairs that take part: where :math:`M_{ij}` is false,
:math:`S_{ij} = -\infty` and :math:`P_{ij} = 0`. Causal attention uses
:math:`M_{ij} = [j \le i]`, the lower triangle of an :math:`L_q \times L_k` matrix aligned
at its top left, as ``torch.nn.functional.scaled_dot_product_attention`` (PyTorch 2.13)
does. A query row with no key left takes part in nothing: its weights, its output and
its gradients are 0, which is also what ``scaled_dot_product_attention`` returns for it
(``torch.nn.MultiheadAttention`` with ``need_weights=True`` returns NaN there).

The backward pass needs only the softmax's vector-Jacobian product, row by row
(:func:`derived.softmax.softmax_vjp`):

.. math::

    dV = P^\top dO, \quad dP = dO\, V^\top, \quad
    dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big), \quad
    dQ = c\, dS\, K, \quad dK = c\, dS^\top Q.

Every function takes any number of leading batch axes (batch, heads); ``q``, ``k`` and
``v`` must agree on them exactly (no broadcasting). The attention chapter of the book
derives the formulas; ``tests/test_attention.py`` checks them against torch in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_finite, check_int

__all__ = [
    "attention_backward",
    "attention_weights",
    "causal_mask",
    "flash_attention_reference",
    "merge_heads",
    "multi_head_attention",
    "scaled_dot_product_attention",
    "sinusoidal_positions",
    "split_heads",
]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def causal_mask(lq: int, lk: int) -> BoolArray:
    r"""Return the causal mask :math:`M_{ij} = [j \le i]`, of shape ``(lq, lk)``.

    Query :math:`i` may look at keys :math:`0, \dots, i` (itself included), aligned at the
    top left as ``torch.tril(torch.ones(lq, lk))``.

    Parameters
    ----------
    lq, lk : int
        The numbers of queries and keys, >= 1.

    Returns
    -------
    numpy.ndarray of bool, shape (lq, lk)
        True where the pair takes part.

    Examples
    --------
    >>> causal_mask(3, 3).astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    n_q, n_k = check_int(lq, "lq", 1), check_int(lk, "lk", 1)
    return np.tril(np.ones((n_q, n_k), dtype=bool))


def _inputs(
    q: ArrayLike, k: ArrayLike, v: ArrayLike | None = None
) -> tuple[Array, Array, Array | None]:
    """Validate ``q (..., Lq, d)``, ``k (..., Lk, d)`` and ``v (..., Lk, dv)``."""
    qa = as_float_array(q, "q", min_ndim=2)
    ka = as_float_array(k, "k", min_ndim=2)
    if qa.shape[-1] == 0 or qa.shape[-2] == 0:
        raise ValueError(f"q must have Lq >= 1 queries of dimension d >= 1, got shape {qa.shape}")
    if ka.shape[-2] == 0:
        raise ValueError(f"k must have Lk >= 1 keys, got shape {ka.shape}")
    if ka.shape[-1] != qa.shape[-1]:
        raise ValueError(
            f"k must have the dimension d={qa.shape[-1]} of q on its last axis, "
            f"got q {qa.shape} and k {ka.shape}"
        )
    if ka.shape[:-2] != qa.shape[:-2]:
        raise ValueError(
            f"k must have the batch axes {qa.shape[:-2]} of q, got q {qa.shape} and k {ka.shape}"
        )
    if v is None:
        return qa, ka, None
    va = as_float_array(v, "v", min_ndim=2)
    if va.shape[:-1] != ka.shape[:-1]:
        raise ValueError(
            f"v must have shape {ka.shape[:-1]} + (dv,) to match k {ka.shape}, got {va.shape}"
        )
    return qa, ka, va


def _mask(attn_mask: Any, is_causal: Any, shape: tuple[int, ...]) -> BoolArray | None:
    """Validate the mask options and return a boolean mask broadcastable to ``shape``."""
    if not isinstance(is_causal, bool | np.bool_):
        raise TypeError(f"is_causal must be a bool, got {type(is_causal).__name__}")
    if attn_mask is not None and is_causal:
        raise ValueError("attn_mask must be None when is_causal=True (as in torch)")
    if is_causal:
        return causal_mask(shape[-2], shape[-1])
    if attn_mask is None:
        return None
    mask = np.asarray(attn_mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"attn_mask must be a boolean array, got dtype {mask.dtype}")
    try:
        broadcast = np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != shape:
        raise ValueError(
            f"attn_mask must broadcast to the scores' shape {shape} (..., Lq, Lk), "
            f"got shape {mask.shape}"
        )
    return mask


def _scale(scale: Any, d: int) -> float:
    """Return the score scale: ``1/sqrt(d)`` by default, else a finite real number."""
    return 1.0 / np.sqrt(d) if scale is None else check_finite(scale, "scale")


def _weights(s: Array, mask: BoolArray | None) -> Array:
    """Row softmax of the scores ``s`` with masked entries at 0; an empty row is all 0."""
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)  # (..., Lq, 1); -inf for a fully masked row
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)  # exp(-inf) = 0 for masked entries
    total = np.sum(e, axis=-1, keepdims=True)
    out: Array = e / np.where(total > 0, total, 1.0)
    return out


def attention_weights(
    q: ArrayLike,
    k: ArrayLike,
    attn_mask: ArrayLike | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Array:
    r"""Compute the attention weights :math:`P = \operatorname{softmax}_{\text{rows}}(c\,QK^\top)`.

    Masked pairs get weight 0; a query with no key left gets a row of zeros.

    Parameters
    ----------
    q : array_like, shape (..., Lq, d)
        Queries.
    k : array_like, shape (..., Lk, d)
        Keys, with the batch axes of ``q``.
    attn_mask : array_like of bool, optional
        Broadcastable to ``(..., Lq, Lk)``; True where the pair takes part.
    is_causal : bool, default False
        Use :func:`causal_mask`; ``attn_mask`` must then be None.
    scale : float, optional
        The factor :math:`c`; :math:`1/\sqrt d` if None.

    Returns
    -------
    numpy.ndarray of float64, shape (..., Lq, Lk)
        Each row sums to 1 (or is 0 if fully masked).

    Examples
    --------
    >>> attention_weights([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], scale=np.log(3)).tolist()
    [[0.75, 0.25]]
    """
    qa, ka, _ = _inputs(q, k)
    c = _scale(scale, qa.shape[-1])
    s = c * (qa @ np.swapaxes(ka, -1, -2))  # (..., Lq, Lk)
    return _weights(s, _mask(attn_mask, is_causal, s.shape))


def scaled_dot_product_attention(
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    attn_mask: ArrayLike | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Array:
    r"""Scaled dot-product attention :math:`O = \operatorname{softmax}(c\,QK^\top)\,V`.

    The same semantics as ``torch.nn.functional.scaled_dot_product_attention`` with a
    boolean mask (True = takes part), without dropout. A fully masked query row gives an
    output row of zeros, as torch 2.13 does.

    Parameters
    ----------
    q : array_like, shape (..., Lq, d)
        Queries.
    k : array_like, shape (..., Lk, d)
        Keys, with the batch axes of ``q``.
    v : array_like, shape (..., Lk, dv)
        Values, one per key.
    attn_mask : array_like of bool, optional
        Broadcastable to ``(..., Lq, Lk)``; True where the pair takes part.
    is_causal : bool, default False
        Query :math:`i` sees keys :math:`j \le i`; ``attn_mask`` must then be None.
    scale : float, optional
        The factor :math:`c`; :math:`1/\sqrt d` if None.

    Returns
    -------
    numpy.ndarray of float64, shape (..., Lq, dv)
        One weighted mean of the values per query.

    Examples
    --------
    A query that matches the first key three times as strongly takes three quarters of
    its value:

    >>> q, k, v = [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], [[4.0], [8.0]]
    >>> scaled_dot_product_attention(q, k, v, scale=np.log(3)).tolist()
    [[5.0]]
    """
    qa, ka, va = _inputs(q, k, v)
    assert va is not None
    p = attention_weights(qa, ka, attn_mask, is_causal, scale)  # (..., Lq, Lk)
    out: Array = p @ va  # (..., Lq, dv)
    return out


def attention_backward(
    dout: ArrayLike,
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    attn_mask: ArrayLike | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[Array, Array, Array]:
    r"""Gradients of :func:`scaled_dot_product_attention` given :math:`dO = \partial L/\partial O`.

    .. math::

        dV = P^\top dO, \quad dP = dO\,V^\top, \quad
        dS = P \odot (dP - \operatorname{rowsum}(dP \odot P)), \quad
        dQ = c\,dS\,K, \quad dK = c\,dS^\top Q.

    :math:`dS` is the softmax's vector-Jacobian product :math:`J^\top dP` applied to every
    row (:func:`derived.softmax.softmax_vjp`); masked entries have :math:`P_{ij} = 0` and so
    :math:`dS_{ij} = 0`.

    Parameters
    ----------
    dout : array_like, shape (..., Lq, dv)
        The upstream gradient.
    q, k, v, attn_mask, is_causal, scale
        As for :func:`scaled_dot_product_attention`.

    Returns
    -------
    (dq, dk, dv) : tuple of numpy.ndarray of float64
        Shaped like ``q``, ``k`` and ``v``.

    Examples
    --------
    The output is a mean of the values, so the value gradients sum to the output gradient:

    >>> dq, dk, dv = attention_backward([[1.0]], [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]],
    ...                                 [[4.0], [8.0]], scale=np.log(3))
    >>> dv.tolist()
    [[0.75], [0.25]]
    """
    qa, ka, va = _inputs(q, k, v)
    assert va is not None
    g = as_float_array(dout, "dout")
    want = qa.shape[:-1] + va.shape[-1:]
    if g.shape != want:
        raise ValueError(f"dout must have the output's shape {want}, got {g.shape}")
    c = _scale(scale, qa.shape[-1])
    p = attention_weights(qa, ka, attn_mask, is_causal, c)  # (..., Lq, Lk)
    dv = np.swapaxes(p, -1, -2) @ g  # (..., Lk, dv)
    dp = g @ np.swapaxes(va, -1, -2)  # (..., Lq, Lk)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))  # softmax VJP, row by row
    dq = c * (ds @ ka)  # (..., Lq, d)
    dk = c * (np.swapaxes(ds, -1, -2) @ qa)  # (..., Lk, d)
    return dq, dk, dv


def split_heads(x: ArrayLike, n_heads: int) -> Array:
    """Split the last axis into heads: ``(..., L, H*dh) -> (..., H, L, dh)``.

    Parameters
    ----------
    x : array_like, shape (..., L, D)
        Features; ``D`` must be a multiple of ``n_heads``.
    n_heads : int
        The number of heads H >= 1.

    Returns
    -------
    numpy.ndarray of float64, shape (..., H, L, D // H)
        Head h holds features ``h*dh, ..., (h+1)*dh - 1``.

    Examples
    --------
    >>> split_heads(np.arange(4.0).reshape(1, 4), 2).tolist()
    [[[0.0, 1.0]], [[2.0, 3.0]]]
    """
    xa = as_float_array(x, "x", min_ndim=2, allow_empty=False)
    h = check_int(n_heads, "n_heads", 1)
    length, width = xa.shape[-2:]
    if width % h:
        raise ValueError(f"x's last axis ({width}) must be a multiple of n_heads={h}")
    parts = xa.reshape(*xa.shape[:-1], h, width // h)  # (..., L, H, dh)
    return np.swapaxes(parts, -2, -3)  # (..., H, L, dh)


def merge_heads(x: ArrayLike) -> Array:
    """Undo :func:`split_heads`: ``(..., H, L, dh) -> (..., L, H*dh)``.

    Parameters
    ----------
    x : array_like, shape (..., H, L, dh)
        One block of features per head.

    Returns
    -------
    numpy.ndarray of float64, shape (..., L, H * dh)
        The heads side by side.

    Examples
    --------
    >>> merge_heads(split_heads(np.arange(4.0).reshape(1, 4), 2)).tolist()
    [[0.0, 1.0, 2.0, 3.0]]
    """
    xa = as_float_array(x, "x", min_ndim=3, allow_empty=False)
    joined = np.swapaxes(xa, -2, -3)  # (..., L, H, dh)
    return joined.reshape(*joined.shape[:-2], -1)  # (..., L, H*dh)


def multi_head_attention(
    x: ArrayLike,
    wq: ArrayLike,
    wk: ArrayLike,
    wv: ArrayLike,
    wo: ArrayLike,
    n_heads: int,
    attn_mask: ArrayLike | None = None,
    is_causal: bool = False,
) -> Array:
    r"""Multi-head self-attention :math:`\operatorname{concat}_h(O_h)\,W_O`.

    With :math:`Q = XW_Q`, :math:`K = XW_K`, :math:`V = XW_V` split into H heads of width
    :math:`d_h = D/H`, head h computes
    :math:`O_h = \operatorname{softmax}(Q_h K_h^\top / \sqrt{d_h})\,V_h`.

    Parameters
    ----------
    x : array_like, shape (..., L, D)
        The sequence (rows are positions).
    wq, wk, wv, wo : array_like, shape (D, D)
        Projections, applied on the right (``x @ wq``).
    n_heads : int
        H, a divisor of D.
    attn_mask, is_causal
        As for :func:`scaled_dot_product_attention`, shared by every head.

    Returns
    -------
    numpy.ndarray of float64, shape (..., L, D)

    Examples
    --------
    With identity projections and one position, attention returns its input:

    >>> eye = np.eye(2)
    >>> multi_head_attention([[1.0, 2.0]], eye, eye, eye, eye, n_heads=2).tolist()
    [[1.0, 2.0]]
    """
    xa = as_float_array(x, "x", min_ndim=2, allow_empty=False)
    width = xa.shape[-1]
    mats = []
    for name, w in (("wq", wq), ("wk", wk), ("wv", wv), ("wo", wo)):
        wa = as_float_array(w, name, ndim=2)
        if wa.shape != (width, width):
            raise ValueError(f"{name} must have shape ({width}, {width}), got {wa.shape}")
        mats.append(wa)
    q, k, v = (split_heads(xa @ w, n_heads) for w in mats[:3])  # (..., H, L, dh) each
    heads = scaled_dot_product_attention(q, k, v, attn_mask, is_causal)  # (..., H, L, dh)
    out: Array = merge_heads(heads) @ mats[3]  # (..., L, D)
    return out


def sinusoidal_positions(length: int, dim: int, base: float = 10000.0) -> Array:
    r"""Return the sinusoidal position codes of Vaswani et al. (2017), shape ``(length, dim)``.

    .. math::

        \Phi_{t, 2n} = \sin(t\,\omega_n), \quad \Phi_{t, 2n+1} = \cos(t\,\omega_n), \qquad
        \omega_n = \text{base}^{-2n/\text{dim}}.

    Parameters
    ----------
    length : int
        Number of positions, >= 1.
    dim : int
        Width, an even number >= 2.
    base : float, default 10000.0
        The slowest pair turns by
        :math:`\omega_{\text{dim}/2 - 1} = \text{base}^{-(1 - 2/\text{dim})}` radians
        per position: the longest wavelength is
        :math:`2\pi \cdot \text{base}^{1 - 2/\text{dim}}`, not :math:`2\pi \cdot \text{base}`.

    Returns
    -------
    numpy.ndarray of float64, shape (length, dim)

    Examples
    --------
    >>> sinusoidal_positions(2, 2).round(4).tolist()
    [[0.0, 1.0], [0.8415, 0.5403]]
    """
    n = check_int(length, "length", 1)
    d = check_int(dim, "dim", 2)
    if d % 2:
        raise ValueError(f"dim must be even, got {d}")
    b = check_finite(base, "base")
    if b <= 1:
        raise ValueError(f"base must be > 1, got {base!r}")
    omega = b ** (-np.arange(0, d, 2) / d)  # (dim/2,)
    angles = np.arange(n)[:, None] * omega[None, :]  # (length, dim/2)
    out = np.empty((n, d))
    out[:, 0::2], out[:, 1::2] = np.sin(angles), np.cos(angles)
    return out


# The same attention computed block by block with the online softmax, never holding more
# than one block of scores per query block; it lives in derived.online_softmax (the
# FlashAttention chapter) and is public here too.
from derived.online_softmax import flash_attention_reference  # noqa: E402
