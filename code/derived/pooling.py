r"""Max, average, adaptive average and adaptive max pooling, forward and backward (NCHW).

A pooling layer summarises each window of a feature map by one number.

* **Max pooling** keeps the largest value of each window. Its gradient flows only to
  that element: :math:`\partial y_{uv} / \partial x_{ab} = 1` if :math:`x_{ab}` is the
  window's maximum, else 0. At a *tie* the maximum has only subgradients: any split of
  the gradient into non-negative shares of the tied elements. By default, like PyTorch,
  this module routes the whole gradient to the **first** maximal element in row-major
  order (``numpy.argmax`` and PyTorch's CPU kernel both keep the first maximum);
  ``ties="even"`` splits it evenly among them instead, as ``torch.amax`` does. Padding
  counts as :math:`-\infty`, so it is never the maximum.
* **Average pooling** takes each window's mean, so each element receives
  :math:`1/(k_h k_w)` of the window's gradient. As in PyTorch's default
  (``count_include_pad=True``), padded zeros count in the divisor.
* **Adaptive average pooling** fixes the *output* size :math:`(H_o, W_o)`; bin
  :math:`i` covers rows :math:`\lfloor iH/H_o \rfloor` to
  :math:`\lceil (i+1)H/H_o \rceil - 1`. It is linear and separable:
  :math:`y = A_h\, x\, A_w^\top` with averaging matrices :math:`A_h, A_w`, so its
  backward pass is :math:`A_h^\top g\, A_w`. The output may be larger than the input
  (bins then repeat rows), as in PyTorch.
* **Adaptive max pooling** takes the maximum of the same bins; each bin's gradient goes
  to its first maximal element in row-major order, as in PyTorch.
* **Blurred max pooling** (Zhang, 2019) inserts a low-pass filter between the two steps
  of strided max pooling: the maximum over every window at stride 1, the
  :math:`[1, 2, 1]/4` blur along rows and columns, then every ``stride``-th pixel. This
  module's version wraps around the borders, so it commutes exactly with circular shifts
  by multiples of the stride; it is a teaching variant, since the BlurPool layer released
  with the paper (antialiased-cnns) pads by reflection instead.

Windows overlap when the stride is smaller than the kernel; gradients from
overlapping windows add up. The book's chapter *Pooling* derives this; ``tests/test_pooling.py``
compares every function with ``torch.nn.functional`` in float64.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array
from derived.conv import Pair, _pair, im2col, output_size

__all__ = [
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_blur_pool2d",
    "max_pool2d",
    "max_pool2d_backward",
]

Array = NDArray[np.float64]


def _setup(
    x: ArrayLike, kernel_size: Pair, stride: Pair | None, padding: Pair
) -> tuple[Array, tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    xa = as_float_array(x, "x", ndim=4)
    k = _pair(kernel_size, "kernel_size", 1)
    s = k if stride is None else _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"padding must be at most half the kernel size {k}, got {padding!r}")
    out = (
        output_size(xa.shape[2], k[0], s[0], p[0]),
        output_size(xa.shape[3], k[1], s[1], p[1]),
    )
    return xa, k, s, p, out


def _check_dout(dout: ArrayLike, shape: tuple[int, ...]) -> Array:
    g = as_float_array(dout, "dout", ndim=4)
    if g.shape != shape:
        raise ValueError(f"dout must have shape {shape} (the forward output), got {g.shape}")
    return g


def _max_windows(xa: Array, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int]) -> Array:
    """Return the pooling windows, a view of shape (N, C, Ho, Wo, kh, kw); padding is -inf."""
    xp = np.pad(xa, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
    windows: Array = sliding_window_view(xp, k, axis=(2, 3))[:, :, :: s[0], :: s[1]]
    return windows


def _add_to_windows(dxp: Array, contrib: Array, s: tuple[int, int]) -> None:
    """Add ``contrib`` (N, C, Ho, Wo, kh, kw) into the padded gradient at its windows' pixels.

    One strided slice per window offset (kh * kw of them); overlapping windows add up.
    """
    ho, wo, kh, kw = contrib.shape[2:]
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i : i + s[0] * (ho - 1) + 1 : s[0], j : j + s[1] * (wo - 1) + 1 : s[1]] += (
                contrib[..., i, j]
            )


def _argmax_windows(
    xa: Array, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int]
) -> tuple[Array, NDArray[np.intp]]:
    """Window maxima and, per window, the flat index (i * kw + j) of the first maximum."""
    cols = _max_windows(xa, k, s, p)  # (N, C, Ho, Wo, kh, kw)
    flat = cols.reshape(*cols.shape[:4], k[0] * k[1])  # (N, C, Ho, Wo, kh*kw)
    idx = np.argmax(flat, axis=-1)  # the first maximum, as PyTorch
    return np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0], idx


def max_pool2d(
    x: ArrayLike, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0
) -> Array:
    r"""Take the maximum over windows of ``kernel_size``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Feature maps.
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size`` (no overlap).
    padding : int or (int, int), default 0
        Implicit :math:`-\infty` padding on each side (at most half the kernel).

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H_out, W_out)
        The maximum of each window.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    xa, k, s, p, _ = _setup(x, kernel_size, stride, padding)
    return _argmax_windows(xa, k, s, p)[0]


def max_pool2d_backward(
    dout: ArrayLike,
    x: ArrayLike,
    kernel_size: Pair,
    stride: Pair | None = None,
    padding: Pair = 0,
    *,
    ties: Literal["first", "even"] = "first",
) -> Array:
    r"""Compute the gradient of a loss with respect to the input of :func:`max_pool2d`.

    Each window's upstream gradient :math:`g_{uv}` goes to the window's maximum;
    overlapping windows add their contributions. Where a window's maximum is attained
    by a set :math:`T` of several elements, ``ties`` chooses the subgradient:

    * ``"first"`` (default, as PyTorch's CPU kernel): all of :math:`g_{uv}` goes to the
      first element of :math:`T` in row-major order within the window.
    * ``"even"`` (as ``torch.amax``): each element of :math:`T` receives
      :math:`g_{uv} / |T|`, the subgradient of the window's maximum with the smallest
      Euclidean norm.

    Parameters
    ----------
    dout : array_like, shape (N, C, H_out, W_out)
        Upstream gradient.
    x : array_like, shape (N, C, H, W)
        The forward pass's input.
    kernel_size, stride, padding
        As in the forward pass.
    ties : {"first", "even"}, default "first"
        How a window's gradient is shared among its tied maxima (keyword only).

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H, W)
        :math:`\partial L / \partial x`.

    Raises
    ------
    ValueError
        If ``ties`` is neither ``"first"`` nor ``"even"``.

    Examples
    --------
    >>> x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])  # a tie between two 3s
    >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2).tolist()
    [[[[0.0, 1.0], [0.0, 0.0]]]]
    >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2, ties="even").tolist()
    [[[[0.0, 0.5], [0.5, 0.0]]]]
    """
    if ties not in ("first", "even"):
        raise ValueError(f"ties must be 'first' or 'even', got {ties!r}")
    xa, k, s, p, (ho, wo) = _setup(x, kernel_size, stride, padding)
    n, c, h, w = xa.shape
    g = _check_dout(dout, (n, c, ho, wo))
    dxp = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]))
    if ties == "even":
        windows = _max_windows(xa, k, s, p)
        tied = windows == windows.max(axis=(-2, -1), keepdims=True)  # (N, C, Ho, Wo, kh, kw)
        _add_to_windows(dxp, g[..., None, None] * tied / tied.sum(axis=(-2, -1), keepdims=True), s)
    else:
        _, idx = _argmax_windows(xa, k, s, p)
        rows = np.arange(ho)[:, None] * s[0] + idx // k[1]  # (N, C, Ho, Wo), padded coords
        cols = np.arange(wo)[None, :] * s[1] + idx % k[1]
        nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
        np.add.at(dxp, (nn[..., None, None], cc[..., None, None], rows, cols), g)
    return dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + w].copy()


def avg_pool2d(
    x: ArrayLike, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0
) -> Array:
    """Average over windows; padded zeros count in the divisor (PyTorch's default).

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Feature maps.
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        Zero padding on each side (at most half the kernel).

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H_out, W_out)
        The mean of each window.

    Examples
    --------
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    xa, k, s, p, _ = _setup(x, kernel_size, stride, padding)
    cols = im2col(xa, k, s, p)  # (N, C, Ho, Wo, kh, kw)
    out: Array = cols.mean(axis=(-2, -1))
    return out


def avg_pool2d_backward(
    dout: ArrayLike,
    x: ArrayLike,
    kernel_size: Pair,
    stride: Pair | None = None,
    padding: Pair = 0,
) -> Array:
    """Compute the gradient of a loss with respect to the input of :func:`avg_pool2d`.

    Parameters
    ----------
    dout : array_like, shape (N, C, H_out, W_out)
        Upstream gradient.
    x : array_like, shape (N, C, H, W)
        The forward pass's input (only its shape is used).
    kernel_size, stride, padding
        As in the forward pass.

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H, W)
        Each element receives :math:`1/(k_h k_w)` of the gradient of every window
        containing it.

    Examples
    --------
    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)), 2).tolist()
    [[[[0.25, 0.25], [0.25, 0.25]]]]
    """
    xa, k, s, p, (ho, wo) = _setup(x, kernel_size, stride, padding)
    n, c, h, w = xa.shape
    g = _check_dout(dout, (n, c, ho, wo)) / (k[0] * k[1])
    dxp = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]))
    _add_to_windows(dxp, np.broadcast_to(g[..., None, None], (n, c, ho, wo, *k)), s)
    return dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + w].copy()


def _bins(size: int, out: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Start and stop (exclusive) of the ``out`` adaptive bins over ``size`` positions."""
    i = np.arange(out)
    start = (i * size) // out
    stop = -((-(i + 1) * size) // out)  # ceil((i + 1) * size / out)
    return start, stop


def _averaging_matrix(size: int, out: int) -> Array:
    """Build A such that y = A x averages x (length ``size``) into ``out`` bins."""
    start, stop = _bins(size, out)
    pos = np.arange(size)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < stop[:, None])
    return inside / (stop - start)[:, None]


def _adaptive_setup(x: ArrayLike, output_size: Pair) -> tuple[Array, Array, Array]:
    xa = as_float_array(x, "x", ndim=4, allow_empty=False)
    oh, ow = _pair(output_size, "output_size", 1)
    return xa, _averaging_matrix(xa.shape[2], oh), _averaging_matrix(xa.shape[3], ow)


def adaptive_avg_pool2d(x: ArrayLike, output_size: Pair) -> Array:
    r"""Average-pool to a fixed output size: :math:`y = A_h x A_w^\top`.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Feature maps.
    output_size : int or (int, int)
        :math:`(H_o, W_o)`; it may exceed :math:`(H, W)`, as in PyTorch.

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H_o, W_o)
        The mean of each bin.

    Examples
    --------
    >>> adaptive_avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    xa, ah, aw = _adaptive_setup(x, output_size)
    out: Array = np.einsum("ih,nchw,jw->ncij", ah, xa, aw, optimize=True)
    return out


def adaptive_avg_pool2d_backward(dout: ArrayLike, x: ArrayLike, output_size: Pair) -> Array:
    r"""Compute the gradient through :func:`adaptive_avg_pool2d`: :math:`A_h^\top g A_w`.

    Parameters
    ----------
    dout : array_like, shape (N, C, H_o, W_o)
        Upstream gradient.
    x : array_like, shape (N, C, H, W)
        The forward pass's input (only its shape is used).
    output_size : int or (int, int)
        As in the forward pass.

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H, W)
        :math:`\partial L / \partial x`.

    Examples
    --------
    >>> adaptive_avg_pool2d_backward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)), 1).tolist()
    [[[[0.25, 0.25], [0.25, 0.25]]]]
    """
    xa, ah, aw = _adaptive_setup(x, output_size)
    g = _check_dout(dout, (*xa.shape[:2], ah.shape[0], aw.shape[0]))
    dx: Array = np.einsum("ih,ncij,jw->nchw", ah, g, aw, optimize=True)
    return dx


def _adaptive_argmax(x: ArrayLike, output_size: Pair) -> tuple[Array, Array, NDArray[np.intp]]:
    """Bin maxima, and the row and column of each bin's first maximum (row-major)."""
    xa = as_float_array(x, "x", ndim=4, allow_empty=False)
    n, c, h, w = xa.shape
    oh, ow = _pair(output_size, "output_size", 1)
    (r0, r1), (c0, c1) = _bins(h, oh), _bins(w, ow)
    y = np.empty((n, c, oh, ow))
    rows = np.empty((n, c, oh, ow), dtype=np.intp)
    cols = np.empty((n, c, oh, ow), dtype=np.intp)
    for i in range(oh):
        for j in range(ow):
            width = c1[j] - c0[j]
            flat = xa[:, :, r0[i] : r1[i], c0[j] : c1[j]].reshape(n, c, -1)
            idx = np.argmax(flat, axis=-1)  # the first maximum, as PyTorch
            y[:, :, i, j] = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
            rows[:, :, i, j] = r0[i] + idx // width
            cols[:, :, i, j] = c0[j] + idx % width
    return xa, y, np.stack([rows, cols])


def adaptive_max_pool2d(x: ArrayLike, output_size: Pair) -> Array:
    r"""Max-pool to a fixed output size, over the bins of :func:`adaptive_avg_pool2d`.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Feature maps.
    output_size : int or (int, int)
        :math:`(H_o, W_o)`; it may exceed :math:`(H, W)`, as in PyTorch.

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H_o, W_o)
        The maximum of each bin.

    Examples
    --------
    >>> adaptive_max_pool2d(np.arange(7.0).reshape(1, 1, 7, 1), (3, 1)).ravel().tolist()
    [2.0, 4.0, 6.0]
    """
    return _adaptive_argmax(x, output_size)[1]


def adaptive_max_pool2d_backward(dout: ArrayLike, x: ArrayLike, output_size: Pair) -> Array:
    r"""Compute the gradient of a loss with respect to the input of :func:`adaptive_max_pool2d`.

    Each bin's upstream gradient goes to the bin's first maximal element in row-major
    order; overlapping bins add their contributions.

    Parameters
    ----------
    dout : array_like, shape (N, C, H_o, W_o)
        Upstream gradient.
    x : array_like, shape (N, C, H, W)
        The forward pass's input.
    output_size : int or (int, int)
        As in the forward pass.

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, H, W)
        :math:`\partial L / \partial x`.

    Examples
    --------
    >>> x = np.ones((1, 1, 7, 1))  # all tied: each bin's first row wins
    >>> adaptive_max_pool2d_backward(np.ones((1, 1, 3, 1)), x, (3, 1)).ravel().tolist()
    [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    """
    xa, y, (rows, cols) = _adaptive_argmax(x, output_size)
    n, c = xa.shape[:2]
    g = _check_dout(dout, y.shape)
    dx = np.zeros_like(xa)
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    np.add.at(dx, (nn[..., None, None], cc[..., None, None], rows, cols), g)
    return dx


def max_blur_pool2d(x: ArrayLike, kernel_size: Pair = 2, stride: Pair = 2) -> Array:
    r"""Max-pool with a blur before subsampling, wrapping around the borders.

    Three steps, each circular (the map is treated as periodic): the maximum over every
    ``kernel_size`` window at stride 1 (window ``(a, b)`` starts at pixel ``(a, b)``), the
    blur :math:`[1, 2, 1]/4` down the columns (axis 2), then along the rows (axis 3)
    (the Tri-3 filter of Zhang, 2019), and every ``stride``-th row and column, starting
    with the first.

    The wrap-around makes the layer commute exactly with circular shifts by multiples of
    the stride, so that shifted maps can be compared exactly: a teaching variant. The
    BlurPool layer released with the paper (antialiased-cnns) pads the map by reflection
    instead.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Feature maps.
    kernel_size : int or (int, int), default 2
        Window of the maximum; at most the map size.
    stride : int or (int, int), default 2
        Subsampling step.

    Returns
    -------
    numpy.ndarray of float64, shape (N, C, ceil(H / s_h), ceil(W / s_w))
        The blurred maxima at the kept positions.

    Examples
    --------
    >>> stripes = np.tile([0.0, 0, 1, 1, 0, 0, 1, 1], (1, 1, 8, 1))  # period 4
    >>> max_blur_pool2d(stripes)[0, 0, 0].tolist()
    [0.5, 1.0, 0.5, 1.0]
    >>> max_blur_pool2d(np.roll(stripes, 1, axis=-1))[0, 0, 0].tolist()
    [0.75, 0.75, 0.75, 0.75]
    """
    xa = as_float_array(x, "x", ndim=4, allow_empty=False)
    k = _pair(kernel_size, "kernel_size", 1)
    s = _pair(stride, "stride", 1)
    if k[0] > xa.shape[2] or k[1] > xa.shape[3]:
        raise ValueError(f"kernel_size {k} must be at most the map size {xa.shape[2:]}")
    wrapped = np.pad(xa, ((0, 0), (0, 0), (0, k[0] - 1), (0, k[1] - 1)), mode="wrap")
    dense = sliding_window_view(wrapped, k, axis=(2, 3)).max(axis=(-2, -1))  # (N, C, H, W)
    for axis in (2, 3):  # [1, 2, 1] / 4, circular
        dense = (
            0.25 * np.roll(dense, 1, axis=axis) + 0.5 * dense + 0.25 * np.roll(dense, -1, axis=axis)
        )
    out: Array = dense[:, :, :: s[0], :: s[1]].copy()
    return out
