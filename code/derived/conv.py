r"""Two-dimensional convolution (cross-correlation), forward and backward, by im2col.

Deep-learning libraries call it convolution, but compute a *cross-correlation*: for an
input :math:`x` of shape :math:`(N, C, H, W)`, filters :math:`w` of shape
:math:`(F, C, k_h, k_w)`, stride :math:`s`, zero padding :math:`p` and dilation
:math:`d`,

.. math::

    y_{n f u v} = b_f + \sum_{c, i, j} w_{f c i j}\,
        \tilde x_{n, c,\, s u + d i,\, s v + d j},

where :math:`\tilde x` is :math:`x` padded with :math:`p` zeros on each side. The
output has :math:`H_{out} = \lfloor (H + 2p - d(k_h - 1) - 1)/s \rfloor + 1` rows (and
likewise columns).

**im2col.** Every output pixel reads one :math:`C \times k_h \times k_w` patch of
:math:`\tilde x`. Gathering all patches into one array turns the convolution into a
single tensor contraction with the filters. :func:`im2col` gathers them without a loop
and without copying any patch: it pads the input (one copy, made even when
:math:`p = 0`) and returns a strided view of the padded copy; the contraction (``numpy.einsum`` with
``optimize=True``) then reshapes that view into a matrix for ``numpy.matmul``, and
because the windows overlap, that reshape copies every patch: the full im2col matrix
exists during the product.

**Backward.** With upstream gradient :math:`g = \partial L/\partial y`:

* :math:`\partial L/\partial b_f = \sum_{n,u,v} g_{nfuv}`;
* :math:`\partial L/\partial w_{fcij} = \sum_{n,u,v} g_{nfuv}\, \tilde x_{n,c,su+di,sv+dj}`,
  a correlation of the input with the upstream gradient;
* :math:`\partial L/\partial \tilde x_{ncab} = \sum g_{nfuv} w_{fcij}` over the taps
  with :math:`su + di = a`, :math:`sv + dj = b`. The code computes it as a *transposed
  convolution*: it inserts :math:`s - 1` zeros between the entries of :math:`g`, pads
  the result with :math:`d(k - 1)` zeros and cross-correlates it (dilation :math:`d`)
  with the filters rotated by 180 degrees, input and output channels swapped. For
  stride 1 and no dilation this is the *full* convolution of :math:`g` with the filter.
  The padding is then cut away.

The book's chapter *Convolution* derives these formulas; ``tests/test_conv.py`` checks them against
``torch.nn.functional.conv2d`` and autograd in float64.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array

__all__ = ["conv2d", "conv2d_backward", "im2col", "output_size"]

Array = NDArray[np.float64]
Pair = int | tuple[int, int]


def _pair(value: Pair, name: str, minimum: int) -> tuple[int, int]:
    if isinstance(value, int | np.integer):
        items: tuple[object, ...] = (value, value)
    elif isinstance(value, tuple | list):
        items = tuple(value)
    else:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    ints = [int(v) for v in items if isinstance(v, int | np.integer) and not isinstance(v, bool)]
    if len(items) != 2 or len(ints) != 2:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(ints) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return ints[0], ints[1]


def output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    r"""Compute the length of a convolution's output along one axis.

    .. math:: \lfloor (n + 2p - d(k - 1) - 1) / s \rfloor + 1

    Parameters
    ----------
    size : int
        Input length :math:`n`.
    kernel : int
        Kernel length :math:`k`.
    stride, padding, dilation : int
        :math:`s \ge 1`, :math:`p \ge 0`, :math:`d \ge 1`.

    Returns
    -------
    int
        The output length (at least 1).

    Examples
    --------
    >>> output_size(5, 3), output_size(32, 3, stride=2, padding=1), output_size(7, 3, dilation=2)
    (3, 16, 3)
    """
    span = dilation * (kernel - 1) + 1  # the extent of a dilated kernel
    if size + 2 * padding < span:
        raise ValueError(
            f"the kernel spans {span} pixels (kernel {kernel}, dilation {dilation}) but the "
            f"padded input has only {size + 2 * padding} (size {size}, padding {padding})"
        )
    return (size + 2 * padding - span) // stride + 1


def _check(
    x: ArrayLike, w: ArrayLike, stride: Pair, padding: Pair, dilation: Pair
) -> tuple[Array, Array, tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    xa = as_float_array(x, "x", ndim=4)
    wa = as_float_array(w, "w", ndim=4)
    if xa.shape[1] != wa.shape[1]:
        raise ValueError(
            f"x has {xa.shape[1]} channels but w expects {wa.shape[1]} "
            f"(x shape {xa.shape} is (N, C, H, W), w shape {wa.shape} is (F, C, kh, kw))"
        )
    s = _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    d = _pair(dilation, "dilation", 1)
    out = (
        output_size(xa.shape[2], wa.shape[2], s[0], p[0], d[0]),
        output_size(xa.shape[3], wa.shape[3], s[1], p[1], d[1]),
    )
    return xa, wa, s, p, d, out


def im2col(
    x: ArrayLike,
    kernel_size: Pair,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> Array:
    """Gather every receptive field of a batch of images, as a strided view.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        The images.
    kernel_size : int or (int, int)
        :math:`(k_h, k_w)`.
    stride, padding, dilation : int or (int, int)
        As in :func:`conv2d`.

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H_out, W_out, kh, kw)
        ``cols[n, c, u, v]`` is the patch that output pixel ``(u, v)`` reads. A read-only
        view of the padded input: no patch is copied.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> im2col(x, 3).shape
    (1, 1, 2, 2, 3, 3)
    >>> im2col(x, 3)[0, 0, 1, 1].tolist()
    [[5.0, 6.0, 7.0], [9.0, 10.0, 11.0], [13.0, 14.0, 15.0]]
    """
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    xa = as_float_array(x, "x", ndim=4)
    _, _, s, p, d, (ho, wo) = _check(
        xa, np.zeros((1, xa.shape[1], kh, kw)), stride, padding, dilation
    )
    xp = np.pad(xa, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    span = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
    windows = sliding_window_view(xp, span, axis=(2, 3))  # (N, C, H', W', span_h, span_w)
    windows = windows[:, :, :: s[0], :: s[1], :: d[0], :: d[1]]  # (N, C, Ho+, Wo+, kh, kw)
    return windows[:, :, :ho, :wo]


def conv2d(
    x: ArrayLike,
    w: ArrayLike,
    b: ArrayLike | None = None,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> Array:
    """2-D cross-correlation of a batch of images with a bank of filters (NCHW).

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input images.
    w : array_like, shape (F, C, kh, kw)
        Filters.
    b : array_like, shape (F,), optional
        Biases, one per filter.
    stride, padding, dilation : int or (int, int), default 1, 0, 1
        Step between output pixels, zeros added on each side, spacing of kernel taps.

    Returns
    -------
    numpy.ndarray of float64, shape (N, F, H_out, W_out)
        ``y[n, f, u, v] = b[f] + sum_{c,i,j} w[f,c,i,j] * xpad[n, c, s*u + d*i, s*v + d*j]``.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d(x, np.ones((1, 1, 2, 2)), stride=2).tolist()
    [[[[10.0, 18.0], [42.0, 50.0]]]]
    """
    xa, wa, s, p, d, _ = _check(x, w, stride, padding, dilation)
    cols = im2col(xa, wa.shape[2:], s, p, d)  # (N, C, Ho, Wo, kh, kw)
    out: Array = np.einsum("nchwij,fcij->nfhw", cols, wa, optimize=True)  # (N, F, Ho, Wo)
    if b is not None:
        ba = as_float_array(b, "b", ndim=1)
        if ba.shape[0] != wa.shape[0]:
            raise ValueError(f"b must have shape ({wa.shape[0]},), one per filter, got {ba.shape}")
        out += ba[None, :, None, None]
    return out


def conv2d_backward(
    dout: ArrayLike,
    x: ArrayLike,
    w: ArrayLike,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> tuple[Array, Array, Array]:
    r"""Compute the gradients of a loss through :func:`conv2d`.

    Parameters
    ----------
    dout : array_like, shape (N, F, H_out, W_out)
        Upstream gradient :math:`\partial L / \partial y`.
    x : array_like, shape (N, C, H, W)
        The forward pass's input.
    w : array_like, shape (F, C, kh, kw)
        The forward pass's filters.
    stride, padding, dilation : int or (int, int)
        As in the forward pass.

    Returns
    -------
    dx : numpy.ndarray of float64, shape (N, C, H, W)
    dw : numpy.ndarray of float64, shape (F, C, kh, kw)
    db : numpy.ndarray of float64, shape (F,)

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 3, 3)))
    >>> dx[0, 0].tolist()[1], float(dw.sum()), db.tolist()
    ([2.0, 4.0, 4.0, 2.0], 270.0, [4.0])
    """
    xa, wa, s, p, d, (ho, wo) = _check(x, w, stride, padding, dilation)
    g = as_float_array(dout, "dout", ndim=4)
    expected = (xa.shape[0], wa.shape[0], ho, wo)
    if g.shape != expected:
        raise ValueError(f"dout must have shape {expected} (N, F, H_out, W_out), got {g.shape}")
    kh, kw = wa.shape[2:]
    n, c, h, width = xa.shape
    f = wa.shape[0]
    cols = im2col(xa, (kh, kw), s, p, d)  # (N, C, Ho, Wo, kh, kw), a view
    # The filter gradient is a matrix product of the upstream gradient (one row per output
    # pixel) with the im2col matrix (one column per filter tap): written as such, it runs
    # in BLAS rather than in a general einsum loop.
    patches = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)  # (NHW, CKK)
    g_mat = g.transpose(0, 2, 3, 1).reshape(n * ho * wo, f)  # (NHW, F)
    db = g.sum(axis=(0, 2, 3))
    dw: Array = (g_mat.T @ patches).reshape(wa.shape)  # (F, C, kh, kw)
    # Input gradient: the full correlation of the stride-dilated upstream gradient with the
    # flipped filters, input and output channels swapped (the chapter's equation). Padded-
    # input rows and columns that no window reached (a ragged last stride) get zero.
    g_up = np.zeros((n, f, s[0] * (ho - 1) + 1, s[1] * (wo - 1) + 1))
    g_up[:, :, :: s[0], :: s[1]] = g  # (N, F, s(Ho-1)+1, s(Wo-1)+1)
    w_flip = wa[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, kh, kw)
    reach = conv2d(g_up, w_flip, padding=(d[0] * (kh - 1), d[1] * (kw - 1)), dilation=d)
    dxp = np.zeros((n, c, h + 2 * p[0], width + 2 * p[1]))
    dxp[:, :, : reach.shape[2], : reach.shape[3]] = reach
    dx = dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + width]
    return np.ascontiguousarray(dx), dw, db
