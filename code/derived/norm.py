r"""Normalisation layers: batch norm, layer norm and RMSNorm, forward and backward.

All three standardise a group of :math:`D` numbers and then rescale them. For a vector
:math:`x \in \mathbb{R}^D` (one group) the *standardisation* is

.. math::

    \mu = \frac1D \sum_i x_i, \qquad
    \sigma = \sqrt{\tfrac1D \textstyle\sum_i (x_i - \mu)^2 + \varepsilon}, \qquad
    u = \frac{x - \mu \mathbf 1}{\sigma},

with the *biased* variance (divided by :math:`D`) and a small :math:`\varepsilon > 0`.
The layer returns :math:`y = \gamma \odot u + \beta`. Layer norm takes the group along
the last axis (one group per example); batch norm takes, for each channel, every value
of that channel in the batch (all axes but axis 1), so the examples of a batch are
coupled. The Jacobian of the standardisation is

.. math::

    \frac{\partial u}{\partial x}
      = \frac1\sigma\Big(I - \frac{\mathbf 1 \mathbf 1^\top}{D} - \frac{u u^\top}{D}\Big),

symmetric, with :math:`\mathbf 1` in its null space. Backpropagation uses the product
with it: with :math:`g = \gamma \odot \partial L/\partial y`,

.. math::

    \frac{\partial L}{\partial x} = \frac1\sigma\big(g - \bar g\,\mathbf 1
      - u\,\overline{g \odot u}\big),

where a bar is the mean over the group. RMSNorm drops the centring:
:math:`r = \sqrt{\tfrac1D\sum_i x_i^2 + \varepsilon}`, :math:`y = \gamma \odot x / r`.

In evaluation mode batch norm uses running statistics instead of the batch's, updated in
training as torch does: :math:`m \leftarrow (1 - \alpha) m + \alpha\mu` and
:math:`v \leftarrow (1 - \alpha) v + \alpha s^2` with momentum :math:`\alpha` and the
*unbiased* variance :math:`s^2 = \frac{n}{n - 1}\sigma_\text{biased}^2`, :math:`n` the
number of values per channel.

To see what a normalisation does to a deep ReLU network, two measures of how parallel the
examples' hidden vectors are: :func:`mean_pairwise_cosine`, the mean cosine between the rows
of a matrix, and :func:`relu_cosine_map`, the cosine after a ReLU layer with Gaussian
weights as a function of the cosine before it. The normalisation chapter of the book
derives all of this;
``tests/test_norm.py`` checks it against torch in float64.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_positive_finite

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "batch_norm_eval",
    "batch_norm_running_update",
    "layer_norm",
    "layer_norm_backward",
    "mean_pairwise_cosine",
    "rms_norm",
    "relu_cosine_map",
    "rms_norm_backward",
    "standardize",
    "standardize_jacobian",
]

Array = NDArray[np.float64]
Axes = tuple[int, ...]


# --------------------------------------------------------------------------- helpers


def _standardize(x: Array, axes: Axes, eps: float) -> tuple[Array, Array]:
    """Return ``u = (x - mean) / sigma`` and ``sigma`` (kept dims) over ``axes``."""
    centred = x - x.mean(axis=axes, keepdims=True)
    sigma = np.sqrt(np.mean(centred**2, axis=axes, keepdims=True) + eps)
    return centred / sigma, sigma


def _standardize_vjp(g: Array, u: Array, sigma: Array, axes: Axes) -> Array:
    """``(g - mean(g) - u * mean(g * u)) / sigma`` over ``axes``: the product with du/dx."""
    mean_g = g.mean(axis=axes, keepdims=True)
    mean_gu = np.mean(g * u, axis=axes, keepdims=True)
    out: Array = (g - mean_g - u * mean_gu) / sigma
    return out


def _param(value: ArrayLike, name: str, size: int, what: str) -> Array:
    """Validate a per-feature vector (gamma, beta, running statistics) of length ``size``."""
    arr = as_float_array(value, name, ndim=1)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), one entry per {what}, got {arr.shape}")
    return arr


def _channels_input(x: ArrayLike, name: str = "x") -> Array:
    """Validate a batch-norm input of shape (N, C) or (N, C, H, W) with N, C >= 1."""
    arr = as_float_array(x, name, ndim=(2, 4))
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have N >= 1 examples and C >= 1 channels, got {arr.shape}")
    return arr


def _bn_axes(x: Array, *, training: bool) -> Axes:
    """Every axis but 1; in training, refuse a channel with a single value (as torch does)."""
    axes = (0, *range(2, x.ndim))
    if training and x.size // x.shape[1] < 2:
        raise ValueError(
            f"x must have more than one value per channel in training mode, got shape {x.shape}"
        )
    return axes


def _last_axis_input(x: ArrayLike, name: str = "x") -> Array:
    """Validate a layer-norm input: at least one dimension, a non-empty last axis."""
    arr = as_float_array(x, name, min_ndim=1)
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must have D >= 1 features along its last axis, got {arr.shape}")
    return arr


def _grad_output(dy: ArrayLike, x: Array) -> Array:
    """Validate the upstream gradient: finite, the shape of ``x``."""
    arr = as_float_array(dy, "dy")
    if arr.shape != x.shape:
        raise ValueError(f"dy must have the shape of x {x.shape}, got {arr.shape}")
    return arr


def _broadcast_channels(v: Array, ndim: int) -> Array:
    """Reshape a (C,) vector to broadcast along axis 1 of an ndim-array: (1, C, 1, ...)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# --------------------------------------------------------------------------- standardisation


def standardize(x: ArrayLike, eps: float = 1e-5) -> Array:
    r"""Standardise along the last axis: :math:`u = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}`.

    Parameters
    ----------
    x : array_like, shape (..., D)
        Finite real numbers, ``D >= 1``.
    eps : float, default 1e-5
        Added to the biased variance, finite and > 0.

    Returns
    -------
    numpy.ndarray of float64, shape (..., D)
        Each group of ``D`` with mean 0 and mean square
        :math:`\sigma^2 / (\sigma^2 + \varepsilon)`, just below 1.

    Examples
    --------
    >>> standardize([1.0, 3.0], eps=1e-12).round(6).tolist()
    [-1.0, 1.0]
    """
    arr = _last_axis_input(x)
    u, _ = _standardize(arr, (-1,), check_positive_finite(eps, "eps"))
    return u


def standardize_jacobian(x: ArrayLike, eps: float = 1e-5) -> Array:
    r"""Jacobian of :func:`standardize`, one :math:`D \times D` matrix per group.

    .. math:: \frac{\partial u_i}{\partial x_j}
              = \frac1\sigma\Big(\delta_{ij} - \frac1D - \frac{u_i u_j}{D}\Big).

    Parameters
    ----------
    x : array_like, shape (..., D)
        Finite real numbers.
    eps : float, default 1e-5
        As in :func:`standardize`.

    Returns
    -------
    numpy.ndarray of float64, shape (..., D, D)
        Row ``i`` is the gradient of :math:`u_i` (numerator layout).

    Examples
    --------
    >>> J = standardize_jacobian([1.0, 2.0, 6.0])
    >>> bool(np.allclose(J @ np.ones(3), 0.0))
    True
    """
    arr = _last_axis_input(x)
    u, sigma = _standardize(arr, (-1,), check_positive_finite(eps, "eps"))
    d = arr.shape[-1]
    inner = np.eye(d) - 1.0 / d - u[..., :, None] * u[..., None, :] / d  # (..., D, D)
    out: Array = inner / sigma[..., None]
    return out


# --------------------------------------------------------------------------- layer norm


def layer_norm(x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, eps: float = 1e-5) -> Array:
    r"""Layer normalisation over the last axis: :math:`y = \gamma \odot u + \beta`.

    :math:`u` is :func:`standardize` of each row (mean and biased variance over the
    ``D`` features of one example), as
    ``torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)``.

    Parameters
    ----------
    x : array_like, shape (..., D)
        Finite inputs, ``D >= 1``.
    gamma, beta : array_like, shape (D,)
        Scale and shift, one per feature.
    eps : float, default 1e-5
        Added to the variance, finite and > 0.

    Returns
    -------
    numpy.ndarray of float64, shape (..., D)

    Examples
    --------
    >>> layer_norm([[1.0, 3.0]], [2.0, 2.0], [0.0, 1.0], eps=1e-12).round(6).tolist()
    [[-2.0, 3.0]]
    """
    arr = _last_axis_input(x)
    d = arr.shape[-1]
    g, b = _param(gamma, "gamma", d, "feature"), _param(beta, "beta", d, "feature")
    u, _ = _standardize(arr, (-1,), check_positive_finite(eps, "eps"))
    out: Array = g * u + b
    return out


def layer_norm_backward(
    dy: ArrayLike, x: ArrayLike, gamma: ArrayLike, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    r"""Gradients of :func:`layer_norm` given the upstream gradient ``dy``.

    With :math:`g = \gamma \odot dy` and means over the last axis,

    .. math:: dx = \frac1\sigma\big(g - \bar g - u\,\overline{g \odot u}\big), \quad
              d\gamma = \sum_\text{rows} dy \odot u, \quad d\beta = \sum_\text{rows} dy.

    Parameters
    ----------
    dy : array_like, shape (..., D)
        Gradient of the loss with respect to the output.
    x : array_like, shape (..., D)
        The input of the forward pass.
    gamma : array_like, shape (D,)
        The scale of the forward pass (``beta`` does not enter the gradients).
    eps : float, default 1e-5
        As in the forward pass.

    Returns
    -------
    dx : numpy.ndarray of float64, shape (..., D)
    dgamma, dbeta : numpy.ndarray of float64, shape (D,)

    Examples
    --------
    >>> dx, dg, db = layer_norm_backward(np.ones((2, 3)), np.eye(2, 3), np.ones(3))
    >>> bool(np.allclose(dx, 0.0)), db.tolist()
    (True, [2.0, 2.0, 2.0])
    """
    arr = _last_axis_input(x)
    d = arr.shape[-1]
    g = _param(gamma, "gamma", d, "feature")
    up = _grad_output(dy, arr)
    u, sigma = _standardize(arr, (-1,), check_positive_finite(eps, "eps"))
    dx = _standardize_vjp(up * g, u, sigma, (-1,))
    rows = tuple(range(arr.ndim - 1))
    return dx, np.sum(up * u, axis=rows), np.sum(up, axis=rows)


# --------------------------------------------------------------------------- batch norm


def batch_norm(x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, eps: float = 1e-5) -> Array:
    r"""Batch normalisation in training mode: statistics of each channel over the batch.

    For channel :math:`c`, :math:`\mu_c` and the biased :math:`\sigma_c^2` are taken over
    every axis but axis 1 (the ``N`` examples, and the ``H x W`` positions of an image),
    and :math:`y = \gamma_c (x - \mu_c)/\sqrt{\sigma_c^2 + \varepsilon} + \beta_c`, as
    ``torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)``.

    Parameters
    ----------
    x : array_like, shape (N, C) or (N, C, H, W)
        Finite inputs with at least two values per channel (``N * H * W >= 2``).
    gamma, beta : array_like, shape (C,)
        Scale and shift, one per channel.
    eps : float, default 1e-5
        Added to the variance, finite and > 0.

    Returns
    -------
    numpy.ndarray of float64, the shape of ``x``

    Examples
    --------
    >>> batch_norm([[1.0], [3.0]], [1.0], [0.0], eps=1e-12).round(6).tolist()
    [[-1.0], [1.0]]
    """
    arr = _channels_input(x)
    c = arr.shape[1]
    g, b = _param(gamma, "gamma", c, "channel"), _param(beta, "beta", c, "channel")
    u, _ = _standardize(arr, _bn_axes(arr, training=True), check_positive_finite(eps, "eps"))
    out: Array = _broadcast_channels(g, arr.ndim) * u + _broadcast_channels(b, arr.ndim)
    return out


def batch_norm_backward(
    dy: ArrayLike, x: ArrayLike, gamma: ArrayLike, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    r"""Gradients of :func:`batch_norm` (training mode) given the upstream gradient ``dy``.

    The formula of :func:`layer_norm_backward`, with the means taken over the batch (all
    axes but 1) instead of the features: every example's gradient depends on the whole
    batch.

    Parameters
    ----------
    dy : array_like, shape (N, C) or (N, C, H, W)
        Gradient of the loss with respect to the output.
    x : array_like, the shape of ``dy``
        The input of the forward pass.
    gamma : array_like, shape (C,)
        The scale of the forward pass.
    eps : float, default 1e-5
        As in the forward pass.

    Returns
    -------
    dx : numpy.ndarray of float64, the shape of ``x``
    dgamma, dbeta : numpy.ndarray of float64, shape (C,)

    Examples
    --------
    >>> dx, dg, db = batch_norm_backward([[1.0], [1.0]], [[0.0], [2.0]], [1.0])
    >>> bool(np.allclose(dx, 0.0)), db.tolist()
    (True, [2.0])
    """
    arr = _channels_input(x)
    g = _param(gamma, "gamma", arr.shape[1], "channel")
    up = _grad_output(dy, arr)
    axes = _bn_axes(arr, training=True)
    u, sigma = _standardize(arr, axes, check_positive_finite(eps, "eps"))
    dx = _standardize_vjp(up * _broadcast_channels(g, arr.ndim), u, sigma, axes)
    return dx, np.sum(up * u, axis=axes), np.sum(up, axis=axes)


def batch_norm_running_update(
    running_mean: ArrayLike, running_var: ArrayLike, x: ArrayLike, momentum: float = 0.1
) -> tuple[Array, Array]:
    r"""One training step's update of batch norm's running statistics, as torch does it.

    .. math:: m \leftarrow (1 - \alpha)\, m + \alpha\, \mu_c, \qquad
              v \leftarrow (1 - \alpha)\, v + \alpha\, \tfrac{n}{n - 1}\sigma_c^2,

    with :math:`\alpha` the momentum, :math:`\mu_c, \sigma^2_c` the batch mean and biased
    variance of channel :math:`c`, and :math:`n = N H W` the values per channel: the
    running variance is fed the *unbiased* variance, while the forward pass normalises
    with the biased one. torch starts from :math:`m = 0`, :math:`v = 1`.

    Parameters
    ----------
    running_mean, running_var : array_like, shape (C,)
        The current statistics (``running_var`` >= 0).
    x : array_like, shape (N, C) or (N, C, H, W)
        The batch, with at least two values per channel.
    momentum : float, default 0.1
        Weight of the new batch, in (0, 1].

    Returns
    -------
    running_mean, running_var : numpy.ndarray of float64, shape (C,)
        New arrays; the inputs are not modified.

    Examples
    --------
    >>> m, v = batch_norm_running_update([0.0], [1.0], [[1.0], [3.0]], momentum=0.5)
    >>> m.tolist(), v.tolist()
    ([1.0], [1.5])
    """
    arr = _channels_input(x)
    c = arr.shape[1]
    mean = _param(running_mean, "running_mean", c, "channel")
    var = _param(running_var, "running_var", c, "channel")
    if np.any(var < 0):
        raise ValueError(f"running_var must be >= 0, got minimum {var.min():g}")
    alpha = check_positive_finite(momentum, "momentum")
    if alpha > 1:
        raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}")
    axes = _bn_axes(arr, training=True)
    unbiased = np.var(arr, axis=axes, ddof=1)
    return (1 - alpha) * mean + alpha * arr.mean(axis=axes), (1 - alpha) * var + alpha * unbiased


def batch_norm_eval(
    x: ArrayLike,
    running_mean: ArrayLike,
    running_var: ArrayLike,
    gamma: ArrayLike,
    beta: ArrayLike,
    eps: float = 1e-5,
) -> Array:
    r"""Batch normalisation in evaluation mode: fixed statistics, examples independent.

    :math:`y = \gamma_c (x - m_c)/\sqrt{v_c + \varepsilon} + \beta_c`, an affine map of
    each channel, as ``torch.nn.functional.batch_norm(x, m, v, gamma, beta,
    training=False, eps=eps)``. A batch of one example is fine.

    Parameters
    ----------
    x : array_like, shape (N, C) or (N, C, H, W)
        Finite inputs.
    running_mean, running_var : array_like, shape (C,)
        The statistics gathered in training (``running_var`` >= 0).
    gamma, beta : array_like, shape (C,)
        Scale and shift.
    eps : float, default 1e-5
        Added to ``running_var``, finite and > 0.

    Returns
    -------
    numpy.ndarray of float64, the shape of ``x``

    Examples
    --------
    >>> batch_norm_eval([[3.0]], [1.0], [4.0], [1.0], [0.0], eps=1e-12).round(6).tolist()
    [[1.0]]
    """
    arr = _channels_input(x)
    c, nd = arr.shape[1], arr.ndim
    mean = _param(running_mean, "running_mean", c, "channel")
    var = _param(running_var, "running_var", c, "channel")
    if np.any(var < 0):
        raise ValueError(f"running_var must be >= 0, got minimum {var.min():g}")
    g, b = _param(gamma, "gamma", c, "channel"), _param(beta, "beta", c, "channel")
    scale = g / np.sqrt(var + check_positive_finite(eps, "eps"))
    out: Array = (arr - _broadcast_channels(mean, nd)) * _broadcast_channels(scale, nd)
    return out + _broadcast_channels(b, nd)


# --------------------------------------------------------------------------- RMSNorm


def _rms_eps(eps: float | None) -> float:
    """Return ``eps`` checked, or for None (torch's default) the machine epsilon of float64."""
    return float(np.finfo(np.float64).eps) if eps is None else check_positive_finite(eps, "eps")


def rms_norm(x: ArrayLike, gamma: ArrayLike, eps: float | None = None) -> Array:
    r"""RMSNorm over the last axis: :math:`y = \gamma \odot x / r`, no centring, no shift.

    .. math:: r = \sqrt{\overline{x^2} + \varepsilon}, \qquad y = \gamma \odot x / r.

    As ``torch.nn.functional.rms_norm(x, (D,), gamma, eps)``.

    Parameters
    ----------
    x : array_like, shape (..., D)
        Finite inputs, ``D >= 1``.
    gamma : array_like, shape (D,)
        Scale, one per feature.
    eps : float, optional
        Added to the mean square, finite and > 0; by default the machine epsilon of
        float64 (about ``2.2e-16``), torch's default for float64 input.

    Returns
    -------
    numpy.ndarray of float64, shape (..., D)

    Examples
    --------
    >>> rms_norm([3.0, 4.0], [1.0, 1.0], eps=1e-12).round(6).tolist()
    [0.848528, 1.131371]
    """
    arr = _last_axis_input(x)
    g = _param(gamma, "gamma", arr.shape[-1], "feature")
    rms = np.sqrt(np.mean(arr**2, axis=-1, keepdims=True) + _rms_eps(eps))
    out: Array = g * (arr / rms)
    return out


def rms_norm_backward(
    dy: ArrayLike, x: ArrayLike, gamma: ArrayLike, eps: float | None = None
) -> tuple[Array, Array]:
    r"""Gradients of :func:`rms_norm` given the upstream gradient ``dy``.

    With :math:`\hat x = x / r` and :math:`g = \gamma \odot dy`,

    .. math:: dx = \frac1r\big(g - \hat x\,\overline{g \odot \hat x}\big), \qquad
              d\gamma = \sum_\text{rows} dy \odot \hat x .

    Parameters
    ----------
    dy : array_like, shape (..., D)
        Gradient of the loss with respect to the output.
    x : array_like, shape (..., D)
        The input of the forward pass.
    gamma : array_like, shape (D,)
        The scale of the forward pass.
    eps : float, optional
        As in the forward pass.

    Returns
    -------
    dx : numpy.ndarray of float64, shape (..., D)
    dgamma : numpy.ndarray of float64, shape (D,)

    Examples
    --------
    >>> dx, dg = rms_norm_backward([[1.0, 1.0]], [[2.0, 2.0]], [1.0, 1.0])
    >>> bool(np.allclose(dx, 0.0)), dg.round(6).tolist()
    (True, [1.0, 1.0])
    """
    arr = _last_axis_input(x)
    g = _param(gamma, "gamma", arr.shape[-1], "feature")
    up = _grad_output(dy, arr)
    rms = np.sqrt(np.mean(arr**2, axis=-1, keepdims=True) + _rms_eps(eps))
    xhat = arr / rms
    gg = up * g
    dx: Array = (gg - xhat * np.mean(gg * xhat, axis=-1, keepdims=True)) / rms
    return dx, np.sum(up * xhat, axis=tuple(range(arr.ndim - 1)))


# --------------------------------------------------------------------------- geometry


def mean_pairwise_cosine(h: ArrayLike) -> float:
    r"""Mean cosine between the rows of ``h`` over all pairs of different rows.

    With :math:`\hat h_n = h_n / \lVert h_n\rVert` and :math:`N` rows,

    .. math::

        \bar c = \frac{1}{N(N-1)} \sum_{n \ne m} \hat h_n^\top \hat h_m
               = \frac{\lVert \sum_n \hat h_n \rVert^2 - N}{N(N-1)},

    computed in :math:`O(ND)` by the second form (the sum over all pairs, diagonal
    included, is the squared norm of the sum of the unit rows).

    Parameters
    ----------
    h : array_like, shape (N, D)
        Finite, ``N >= 2`` rows, none of them zero.

    Returns
    -------
    float
        In :math:`[-1/(N-1), 1]`; 1 when all rows point the same way.

    Examples
    --------
    >>> round(mean_pairwise_cosine([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]), 4)
    0.4714
    """
    arr = as_float_array(h, "h", ndim=2)
    n = arr.shape[0]
    if n < 2:
        raise ValueError(f"h must have at least 2 rows, got shape {arr.shape}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("h must have no zero row (its cosine is undefined)")
    total = np.sum(arr / norms, axis=0)
    return float((total @ total - n) / (n * (n - 1)))


def relu_cosine_map(c: ArrayLike) -> Array:
    r"""Return the cosine between two examples after a wide ReLU layer, from the one before.

    For pre-activations :math:`(a, b)` jointly Gaussian with equal variances and
    correlation :math:`c` (a wide layer with Gaussian weights and zero bias),

    .. math::

        \frac{\mathbb E[\operatorname{relu}(a)\operatorname{relu}(b)]}
              {\mathbb E[\operatorname{relu}(a)^2]}
        = \frac{\sqrt{1 - c^2} + (\pi - \arccos c)\, c}{\pi},

    the normalised arc-cosine kernel of degree 1 of Cho and Saul (2009), quoted here,
    not derived. It maps 0 to :math:`1/\pi`, 1 to 1, and :math:`c < 1` to a larger
    value, so its iterates climb to 1; iterating it layer by layer is the mean-field map
    of deep random networks of Poole et al. (2016) and Schoenholz et al. (2017).

    Parameters
    ----------
    c : array_like
        Cosines in :math:`[-1, 1]`.

    Returns
    -------
    numpy.ndarray of float64, the shape of ``c``

    Examples
    --------
    >>> relu_cosine_map([0.0, 1.0]).round(4).tolist()
    [0.3183, 1.0]
    """
    arr = as_float_array(c, "c")
    if np.any(np.abs(arr) > 1):
        raise ValueError("c must lie in [-1, 1]")
    return (np.sqrt(1 - arr**2) + (np.pi - np.arccos(arr)) * arr) / np.pi
