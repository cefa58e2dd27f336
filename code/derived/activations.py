r"""Activation functions, their derivatives, and the sigmoid-tanh conversion of networks.

The five activations of the book's chapter *Activation functions*, with their derivatives:

.. math::

    \sigma(x) = \frac{1}{1 + e^{-x}}, \quad \sigma' = \sigma(x)\,\sigma(-x); \qquad
    \tanh x, \quad \tanh' x = \frac{1}{\cosh^2 x} = 4\,\sigma(2x)\,\sigma(-2x);

    \operatorname{ReLU}(x) = \max(x, 0), \quad \operatorname{ReLU}'(x) = \mathbb 1[x > 0];
    \qquad \operatorname{LeakyReLU}_\alpha(x) = \max(x, \alpha x)\ (0 \le \alpha < 1);

    \operatorname{GELU}(x) = x\,\Phi(x), \quad \operatorname{GELU}'(x) = \Phi(x) + x\,\varphi(x),

with :math:`\Phi` and :math:`\varphi` the standard normal distribution function and
density. Everything is computed without overflow or cancellation for large :math:`|x|`:
:math:`\sigma` and the derivatives of :math:`\sigma` and :math:`\tanh` from
:math:`e^{-|x|}`, so that :math:`\tanh'(20) \approx 1.7 \times 10^{-17}` keeps its relative
accuracy instead of becoming :math:`1 - \tanh^2 20 = 0`. At 0, ReLU and leaky ReLU take the
left derivative, as torch does.

Since :math:`\tanh x = 2\sigma(2x) - 1`, a network of sigmoid layers and one of tanh
layers compute the same functions: :func:`sigmoid_to_tanh` and :func:`tanh_to_sigmoid`
rewrite the weights of a :class:`derived.mlp.MLP` layer by layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from derived._validate import as_float_array, layer_params

__all__ = [
    "ACTIVATIONS",
    "activation",
    "derivative",
    "gelu",
    "leaky_relu",
    "sigmoid",
    "sigmoid_to_tanh",
    "tanh_to_sigmoid",
]

Array = NDArray[np.float64]

#: The activations :func:`activation` and :func:`derivative` know.
ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _check_slope(negative_slope: float) -> float:
    if isinstance(negative_slope, bool) or not isinstance(
        negative_slope, int | float | np.floating
    ):
        raise TypeError(f"negative_slope must be a real number, got {negative_slope!r}")
    if not 0.0 <= negative_slope < 1.0:
        raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope}")
    return float(negative_slope)


def sigmoid(x: ArrayLike) -> Array:
    r"""Return the logistic sigmoid :math:`1/(1 + e^{-x})`, elementwise, without overflow.

    For :math:`x \ge 0` it evaluates :math:`1/(1 + e^{-x})`, for :math:`x < 0` the equal
    :math:`e^{x}/(1 + e^{x})`: the exponential is always of :math:`-|x|`, at most 1.

    Parameters
    ----------
    x : array_like, any shape
        Finite real numbers.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``

    Examples
    --------
    >>> sigmoid([-1e4, 0.0, 1e4]).tolist()
    [0.0, 0.5, 1.0]
    """
    return _logistic(as_float_array(x, "x"))


def _logistic(z: Array) -> Array:
    r"""Return the sigmoid of a float array, unchecked; only :math:`e^{-|z|} \le 1` is formed.

    The one implementation of the package; :mod:`derived.losses` and :mod:`derived.wann`
    call it on arrays they have already validated.
    """
    e = np.exp(-np.abs(z))
    out: Array = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> Array:
    r"""Return :math:`\max(x, \alpha x)` with :math:`\alpha` = ``negative_slope``.

    Parameters
    ----------
    x : array_like, any shape
        Finite real numbers.
    negative_slope : float, default 0.01
        :math:`\alpha \in [0, 1)` (0 gives ReLU), as ``torch.nn.functional.leaky_relu``.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``

    Examples
    --------
    >>> leaky_relu([-2.0, 3.0], 0.1).tolist()
    [-0.2, 3.0]
    """
    z = as_float_array(x, "x")
    alpha = _check_slope(negative_slope)
    out: Array = np.where(z > 0, z, alpha * z)
    return out


def gelu(x: ArrayLike) -> Array:
    r"""Return the Gaussian error linear unit :math:`x\,\Phi(x)` (exact, not the tanh fit).

    Parameters
    ----------
    x : array_like, any shape
        Finite real numbers.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``

    Examples
    --------
    >>> gelu([-1e4, 0.0, 1e4]).tolist()
    [-0.0, 0.0, 10000.0]
    """
    z = as_float_array(x, "x")
    out: Array = z * ndtr(z)
    return out


def activation(x: ArrayLike, name: str, negative_slope: float = 0.01) -> Array:
    r"""Apply the activation ``name`` elementwise.

    Parameters
    ----------
    x : array_like, any shape
        Finite real numbers.
    name : {"sigmoid", "tanh", "relu", "leaky_relu", "gelu"}
        The activation.
    negative_slope : float, default 0.01
        The slope of leaky ReLU for :math:`x < 0`; ignored by the others.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``

    Examples
    --------
    >>> activation([-1.0, 2.0], "relu").tolist()
    [0.0, 2.0]
    """
    kind = _check_name(name)
    z = as_float_array(x, "x")
    if kind == "sigmoid":
        return sigmoid(z)
    if kind == "tanh":
        return np.tanh(z)
    if kind == "relu":
        return np.maximum(z, 0.0)
    if kind == "leaky_relu":
        return leaky_relu(z, negative_slope)
    return gelu(z)


def derivative(x: ArrayLike, name: str, negative_slope: float = 0.01) -> Array:
    r"""Return the derivative of the activation ``name`` at ``x``, elementwise.

    sigmoid: :math:`\sigma(x)\sigma(-x)`; tanh: :math:`4\sigma(2x)\sigma(-2x)`
    (:math:`= 1 - \tanh^2 x`, accurate for large :math:`|x|`); relu:
    :math:`\mathbb 1[x > 0]`; leaky_relu: 1 for :math:`x > 0`, else :math:`\alpha`; gelu:
    :math:`\Phi(x) + x\varphi(x)`.

    Parameters
    ----------
    x : array_like, any shape
        Finite real numbers.
    name : {"sigmoid", "tanh", "relu", "leaky_relu", "gelu"}
        The activation.
    negative_slope : float, default 0.01
        The slope of leaky ReLU for :math:`x < 0`; ignored by the others.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``

    Examples
    --------
    >>> derivative([0.0], "sigmoid").tolist()
    [0.25]
    >>> float(derivative([20.0], "tanh")[0])  # 1 - tanh(20)**2 would give 0.0
    1.6993417021166355e-17
    """
    kind = _check_name(name)
    z = as_float_array(x, "x")
    if kind == "sigmoid":
        e = np.exp(-np.abs(z))
        out: Array = e / (1.0 + e) ** 2  # sigma(x) sigma(-x), symmetric in x
        return out
    if kind == "tanh":
        e = np.exp(-2.0 * np.abs(z))
        out = 4.0 * e / (1.0 + e) ** 2
        return out
    if kind == "relu":
        return (z > 0).astype(np.float64)
    if kind == "leaky_relu":
        alpha = _check_slope(negative_slope)
        out = np.where(z > 0, 1.0, alpha)
        return out
    out = ndtr(z) + z * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return out


def _check_name(name: object) -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"name must be one of {ACTIVATIONS}, got {name!r}")
    return name


def sigmoid_to_tanh(params: Sequence[ArrayLike]) -> list[Array]:
    r"""Rewrite a sigmoid network as a tanh network that computes the same function.

    The network has hidden layers :math:`h_l = \sigma(W_l h_{l-1} + b_l)` and a linear
    output :math:`y = W_L h_{L-1} + b_L` (an :class:`derived.mlp.MLP` with
    ``activation="sigmoid"`` and no output activation). With
    :math:`\sigma(z) = \tfrac12(1 + \tanh\tfrac z2)` write :math:`h_l = \tfrac12(1 + u_l)`;
    then :math:`u_l = \tanh(W'_l u_{l-1} + b'_l)` and :math:`y = W'_L u_{L-1} + b'_L` with

    .. math::

        W'_1 = \tfrac12 W_1,\ b'_1 = \tfrac12 b_1; \quad
        W'_l = \tfrac14 W_l,\ b'_l = \tfrac12 b_l + \tfrac14 W_l \mathbf 1\ (1 < l < L); \quad
        W'_L = \tfrac12 W_L,\ b'_L = b_L + \tfrac12 W_L \mathbf 1 .

    Parameters
    ----------
    params : sequence of array_like
        ``[W1, b1, ..., WL, bL]`` with ``W_l`` of shape ``(n_l, n_{l-1})`` and ``b_l`` of
        shape ``(n_l,)``, as ``MLP.params``; ``L >= 1``.

    Returns
    -------
    list of numpy.ndarray
        The tanh network's ``[W1', b1', ..., WL', bL']``, new arrays.

    Examples
    --------
    >>> new = sigmoid_to_tanh([np.eye(2), np.zeros(2), np.ones((1, 2)), np.zeros(1)])
    >>> [p.tolist() for p in new[2:]]
    [[[0.5, 0.5]], [1.0]]
    """
    p = layer_params(params)
    L = len(p) // 2
    if L == 1:
        return [q.copy() for q in p]
    out: list[Array] = [p[0] / 2.0, p[1] / 2.0]
    for layer in range(1, L - 1):
        W, b = p[2 * layer], p[2 * layer + 1]
        out += [W / 4.0, b / 2.0 + W.sum(axis=1) / 4.0]
    W, b = p[-2], p[-1]
    return [*out, W / 2.0, b + W.sum(axis=1) / 2.0]


def tanh_to_sigmoid(params: Sequence[ArrayLike]) -> list[Array]:
    r"""Rewrite a tanh network as a sigmoid network: the inverse of :func:`sigmoid_to_tanh`.

    With :math:`\tanh z = 2\sigma(2z) - 1` write :math:`u_l = 2h_l - 1`; then

    .. math::

        W_1 = 2 V_1,\ b_1 = 2 c_1; \quad
        W_l = 4 V_l,\ b_l = 2 c_l - 2 V_l \mathbf 1\ (1 < l < L); \quad
        W_L = 2 V_L,\ b_L = c_L - V_L \mathbf 1,

    for the tanh network's weights :math:`V_l` and biases :math:`c_l`.

    Parameters
    ----------
    params : sequence of array_like
        ``[V1, c1, ..., VL, cL]`` of a tanh network with a linear output, as ``MLP.params``.

    Returns
    -------
    list of numpy.ndarray
        The sigmoid network's ``[W1, b1, ..., WL, bL]``, new arrays.

    Examples
    --------
    >>> new = tanh_to_sigmoid([np.eye(2), np.zeros(2), np.ones((1, 2)), np.zeros(1)])
    >>> [p.tolist() for p in new[2:]]
    [[[2.0, 2.0]], [-2.0]]
    """
    p = layer_params(params)
    L = len(p) // 2
    if L == 1:
        return [q.copy() for q in p]
    out: list[Array] = [2.0 * p[0], 2.0 * p[1]]
    for layer in range(1, L - 1):
        V, c = p[2 * layer], p[2 * layer + 1]
        out += [4.0 * V, 2.0 * c - 2.0 * V.sum(axis=1)]
    V, c = p[-2], p[-1]
    return [*out, 2.0 * V, c - V.sum(axis=1)]
