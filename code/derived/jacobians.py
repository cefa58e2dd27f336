r"""Closed-form Jacobians of the basic maps of a network layer.

Numerator layout: the Jacobian of a map from an array of shape ``in_shape`` to an array
of shape ``out_shape`` has shape ``out_shape + in_shape``, and its entry at
``(i..., k...)`` is :math:`\partial f_{i\dots} / \partial w_{k\dots}`; this is also the
layout of ``torch.func.jacrev``. For :math:`w \in \mathbb{R}^d`,
:math:`x \in \mathbb{R}^d`, :math:`X \in \mathbb{R}^{n \times d}` and
:math:`W \in \mathbb{R}^{m \times d}`:

===============================  ==================  ============================================
map                              Jacobian shape      Jacobian
===============================  ==================  ============================================
:math:`f(w) = c`                 ``(d,)``            :math:`0^\top`
:math:`f(w) = \lVert w\rVert^2`  ``(d,)``            :math:`2 w^\top`
:math:`f(w) = w^\top x`          ``(d,)``            :math:`x^\top`
:math:`f(w) = X w`               ``(n, d)``          :math:`X`
:math:`f(w) = w`                 ``(d, d)``          :math:`I_d`
:math:`f(w) = w \odot w`         ``(d, d)``          :math:`\operatorname{diag}(2w)`
:math:`f(w) = \varphi(w)`        ``(d, d)``          :math:`\operatorname{diag}(\varphi'(w))`
:math:`F(W) = X W^\top`          ``(n, m, m, d)``    :math:`X_{il}\,\delta_{jk}`
===============================  ==================  ============================================

A scalar-valued map has a Jacobian of shape ``(d,)``: read as a matrix it is the
:math:`1 \times d` row vector, the transpose of the gradient. The last map is the one a
linear layer applies to a batch; its Jacobian has :math:`n m^2 d` entries of which at
most :math:`n m d` are non-zero, which is why backpropagation uses the vector-Jacobian product
:math:`\partial \ell / \partial W = G^\top X` (:func:`xwt_vjp`) instead. The book's chapter
*Jacobians and their shapes* derives every row of the table; ``tests/test_jacobians.py`` checks
each against ``torch.func.jacrev`` in float64. :func:`matmul_flops` counts the matrix-product FLOPs
of a computation, with which the chapter compares the costs of reverse and forward mode.
:func:`numerical_jacobian` is the oracle of last resort: central differences, in the same
layout, for any map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_positive_finite

__all__ = [
    "jacobian_constant",
    "jacobian_dot",
    "jacobian_elementwise",
    "jacobian_elementwise_square",
    "jacobian_identity",
    "jacobian_matvec",
    "jacobian_squared_norm",
    "jacobian_xwt",
    "matmul_flops",
    "numerical_jacobian",
    "xwt_vjp",
]

Array = NDArray[np.float64]
T = TypeVar("T")


def _vector(w: ArrayLike, name: str = "w") -> Array:
    return as_float_array(w, name, ndim=1)


def jacobian_constant(w: ArrayLike) -> Array:
    r"""Jacobian of a constant :math:`f(w) = c`: the zero row :math:`0^\top`.

    Parameters
    ----------
    w : array_like, shape (d,)
        The point (the Jacobian does not depend on it, only its size does).

    Returns
    -------
    numpy.ndarray of float64, shape (d,)

    Examples
    --------
    >>> jacobian_constant([1.0, 2.0]).tolist()
    [0.0, 0.0]
    """
    return np.zeros_like(_vector(w))


def jacobian_squared_norm(w: ArrayLike) -> Array:
    r"""Jacobian of :math:`f(w) = \lVert w \rVert_2^2 = \sum_k w_k^2`: the row :math:`2w^\top`.

    Parameters
    ----------
    w : array_like, shape (d,)
        The point.

    Returns
    -------
    numpy.ndarray of float64, shape (d,)

    Examples
    --------
    >>> jacobian_squared_norm([1.0, -3.0]).tolist()
    [2.0, -6.0]
    """
    return 2.0 * _vector(w)


def jacobian_dot(w: ArrayLike, x: ArrayLike) -> Array:
    r"""Jacobian of :math:`f(w) = w^\top x` with respect to ``w``: the row :math:`x^\top`.

    Parameters
    ----------
    w : array_like, shape (d,)
        The point.
    x : array_like, shape (d,)
        The fixed vector.

    Returns
    -------
    numpy.ndarray of float64, shape (d,)

    Examples
    --------
    >>> jacobian_dot([0.0, 0.0], [4.0, 5.0]).tolist()
    [4.0, 5.0]
    """
    wv, xv = _vector(w), _vector(x, "x")
    if xv.shape != wv.shape:
        raise ValueError(f"x must have the shape of w {wv.shape}, got {xv.shape}")
    return xv.copy()


def jacobian_matvec(X: ArrayLike, w: ArrayLike) -> Array:
    r"""Jacobian of :math:`f(w) = Xw` with respect to ``w``: the matrix :math:`X` itself.

    Entry :math:`(i, j)` is :math:`\partial (Xw)_i / \partial w_j = X_{ij}`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The fixed matrix.
    w : array_like, shape (d,)
        The point.

    Returns
    -------
    numpy.ndarray of float64, shape (n, d)

    Examples
    --------
    >>> jacobian_matvec([[1.0, 2.0]], [0.0, 0.0]).tolist()
    [[1.0, 2.0]]
    """
    Xa, wv = as_float_array(X, "X", ndim=2), _vector(w)
    if Xa.shape[1] != wv.shape[0]:
        raise ValueError(f"X must have shape (n, {wv.shape[0]}) to multiply w, got {Xa.shape}")
    return Xa.copy()


def jacobian_identity(w: ArrayLike) -> Array:
    r"""Jacobian of the identity :math:`f(w) = w`: the identity matrix :math:`I_d`.

    Parameters
    ----------
    w : array_like, shape (d,)
        The point.

    Returns
    -------
    numpy.ndarray of float64, shape (d, d)

    Examples
    --------
    >>> jacobian_identity([5.0, 6.0]).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return np.eye(_vector(w).shape[0])


def jacobian_elementwise_square(w: ArrayLike) -> Array:
    r"""Jacobian of :math:`f(w) = w \odot w` (``w**2``): :math:`\operatorname{diag}(2w)`.

    Entry :math:`(i, j)` is :math:`\partial w_i^2 / \partial w_j = 2 w_i \delta_{ij}`: output
    :math:`i` depends on input :math:`i` only, so the matrix is diagonal.

    Parameters
    ----------
    w : array_like, shape (d,)
        The point.

    Returns
    -------
    numpy.ndarray of float64, shape (d, d)

    Examples
    --------
    >>> jacobian_elementwise_square([1.0, 3.0]).tolist()
    [[2.0, 0.0], [0.0, 6.0]]
    """
    return np.diag(2.0 * _vector(w))


def jacobian_elementwise(dphi: Callable[[Array], ArrayLike], w: ArrayLike) -> Array:
    r"""Jacobian of :math:`\varphi` applied entrywise: :math:`\operatorname{diag}(\varphi'(w))`.

    Output :math:`i` is :math:`\varphi(w_i)`, so entry :math:`(i, j)` is
    :math:`\varphi'(w_i)\,\delta_{ij}`. :func:`jacobian_elementwise_square` is the case
    :math:`\varphi(t) = t^2`.

    Parameters
    ----------
    dphi : callable
        The derivative :math:`\varphi'`, applied to the float64 array ``w`` of shape (d,);
        it must return an array of shape (d,).
    w : array_like, shape (d,)
        The point.

    Returns
    -------
    numpy.ndarray of float64, shape (d, d)

    Examples
    --------
    >>> jacobian_elementwise(lambda t: 2 * t, [1.0, 3.0]).tolist()
    [[2.0, 0.0], [0.0, 6.0]]
    """
    wv = _vector(w)
    slopes = np.asarray(dphi(wv), dtype=np.float64)
    if slopes.shape != wv.shape:
        raise ValueError(f"dphi(w) must have the shape of w {wv.shape}, got {slopes.shape}")
    return np.diag(slopes)


def _x_and_w(X: ArrayLike, W: ArrayLike) -> tuple[Array, Array]:
    Xa = as_float_array(X, "X", ndim=2)
    Wa = as_float_array(W, "W", ndim=2)
    if Xa.shape[1] != Wa.shape[1]:
        raise ValueError(
            f"X (n, d) and W (m, d) must have the same number of columns d, "
            f"got X {Xa.shape} and W {Wa.shape}"
        )
    return Xa, Wa


def jacobian_xwt(X: ArrayLike, W: ArrayLike) -> Array:
    r"""Return the 4-index Jacobian of :math:`F(W) = X W^\top` with respect to ``W``.

    .. math::
        F_{ij} = \sum_p X_{ip} W_{jp}, \qquad
        \frac{\partial F_{ij}}{\partial W_{kl}} = X_{il}\, \delta_{jk}.

    Output entry :math:`(i, j)` uses row :math:`j` of :math:`W` only, so the derivative
    with respect to :math:`W_{kl}` vanishes unless :math:`k = j`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The fixed batch of inputs, one per row.
    W : array_like, shape (m, d)
        The weight matrix (only its shape matters: the map is linear in ``W``).

    Returns
    -------
    numpy.ndarray of float64, shape (n, m, m, d)
        ``J[i, j, k, l]`` is :math:`\partial F_{ij} / \partial W_{kl}`.

    Examples
    --------
    >>> J = jacobian_xwt([[1.0, 2.0]], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    >>> J.shape
    (1, 3, 3, 2)
    >>> J[0, 1, 1].tolist(), J[0, 1, 0].tolist()
    ([1.0, 2.0], [0.0, 0.0])
    """
    Xa, Wa = _x_and_w(X, W)
    jac: Array = np.einsum("il,jk->ijkl", Xa, np.eye(Wa.shape[0]))  # (n, m, m, d)
    return jac


def xwt_vjp(X: ArrayLike, W: ArrayLike, G: ArrayLike) -> Array:
    r"""Return the vector-Jacobian product of :math:`F(W) = XW^\top`: :math:`G^\top X`.

    For a loss :math:`\ell` with upstream gradient :math:`G = \partial \ell / \partial F`,

    .. math::
        \frac{\partial \ell}{\partial W_{kl}} = \sum_{i,j} G_{ij} X_{il} \delta_{jk}
        = \sum_i G_{ik} X_{il} = (G^\top X)_{kl},

    in :math:`O(nmd)` time, without the :math:`n m^2 d` entries of :func:`jacobian_xwt`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The fixed batch of inputs.
    W : array_like, shape (m, d)
        The weight matrix (only its shape is used).
    G : array_like, shape (n, m)
        The upstream gradient.

    Returns
    -------
    numpy.ndarray of float64, shape (m, d)

    Examples
    --------
    >>> xwt_vjp([[1.0, 2.0]], [[0.0, 0.0]], [[3.0]]).tolist()
    [[3.0, 6.0]]
    """
    Xa, Wa = _x_and_w(X, W)
    Ga = as_float_array(G, "G", ndim=2)
    want = (Xa.shape[0], Wa.shape[0])
    if Ga.shape != want:
        raise ValueError(f"G must have the output's shape (n, m) = {want}, got {Ga.shape}")
    out: Array = Ga.T @ Xa
    return out


def matmul_flops(fn: Callable[[], T]) -> tuple[int, T]:
    r"""Run ``fn()`` and count its FLOPs the way PyTorch's ``FlopCounterMode`` does.

    ``torch.utils.flop_counter.FlopCounterMode`` (torch 2.13) counts two FLOPs per
    multiply-add of the matrix-matrix products ``aten.mm``, ``aten.addmm``, ``aten.bmm``
    and ``aten.baddbmm`` (and of convolutions and attention kernels). It does not count a
    matrix-vector product ``aten.mv``, a dot product ``aten.dot``, or any elementwise
    operation or reduction. So ``A @ v`` for a matrix ``A`` and a vector ``v`` costs
    nothing in this count, while ``r @ A.T`` for a ``1 x n`` row ``r`` (an ``mm``) is
    counted in full; a computation meant to be counted should keep its vectors as rows.
    Forward passes, backward passes and ``torch.func`` transforms run inside ``fn`` are
    all counted.

    Parameters
    ----------
    fn : callable
        A function of no arguments that runs the computation (torch must be installed).

    Returns
    -------
    tuple
        The number of counted FLOPs (an ``int``) and ``fn()``'s result.

    Examples
    --------
    >>> import torch
    >>> A, r = torch.ones(3, 4), torch.ones(1, 4)
    >>> matmul_flops(lambda: r @ A.T)[0]  # a (1 x 4)(4 x 3) product: 12 multiply-adds
    24
    >>> matmul_flops(lambda: A @ r[0])[0]  # a matrix-vector product is not counted
    0
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable of no arguments, got {type(fn).__name__}")
    from torch.utils.flop_counter import FlopCounterMode  # importing derived stays cheap

    with FlopCounterMode(display=False) as counter:
        out = fn()
    return int(counter.get_total_flops()), out


def numerical_jacobian(f: Callable[[Array], ArrayLike], x: ArrayLike, h: float = 1e-6) -> Array:
    r"""Central-difference Jacobian of ``f`` at ``x``, in numerator layout.

    .. math:: J_{i\dots,k\dots} \approx
        \frac{f(x + h e_k)_{i\dots} - f(x - h e_k)_{i\dots}}{2h}

    one pair of evaluations per entry of ``x``. The error is :math:`O(h^2)` from the
    truncated Taylor series plus about :math:`\epsilon\,|f| / h` from rounding; the default
    :math:`h = 10^{-6}` balances them for smooth maps of moderate size (errors near
    :math:`10^{-10}`). A map that is exactly linear has only the rounding error.

    Parameters
    ----------
    f : callable
        Maps a float64 array shaped like ``x`` to an array (or scalar) of any shape.
    x : array_like
        The point; any shape.
    h : float, default 1e-6
        The step, positive and finite.

    Returns
    -------
    numpy.ndarray of float64, shape ``f(x).shape + x.shape``
        A scalar ``f`` gives the gradient, shaped like ``x``.

    Raises
    ------
    ValueError
        If ``h`` is not positive and finite, or ``x`` is not finite.

    Examples
    --------
    >>> J = numerical_jacobian(lambda w: w * w, [1.0, -2.0])
    >>> np.round(J, 6).tolist()
    [[2.0, 0.0], [0.0, -4.0]]
    """
    point = as_float_array(x, "x")
    step = check_positive_finite(h, "h")
    out_shape = np.shape(f(point))
    jac = np.empty((*out_shape, point.size))
    for k in range(point.size):
        shift = np.zeros(point.size)
        shift[k] = step
        e = shift.reshape(point.shape)
        jac[..., k] = (np.asarray(f(point + e)) - np.asarray(f(point - e))) / (2 * step)
    return jac.reshape(*out_shape, *point.shape)
