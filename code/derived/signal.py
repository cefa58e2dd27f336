r"""How an error signal travels backwards through a deep network: rates and coherence.

Backpropagation sends the error of layer :math:`l` to layer :math:`l - 1` by
:math:`\delta_{l-1} = f'(z_{l-1}) \odot W_l^\top \delta_l`. With weights of variance
:math:`v/n` and the gradient independence assumption, each step multiplies the squared
norm of an example's error by :math:`v\,\mathbb E[f'(z)^2]` on average, so the *typical
rate* per layer is :math:`\rho = \sqrt{v\,\mathbb E[f'(z)^2]}` (:func:`typical_rate`). A
measured network gives the rate at which each example's error actually shrinks
(:func:`per_layer_rate`). The weight gradient of a batch is the *mean* of the examples'
gradients :math:`\delta_m h_m^\top`; :func:`batch_coherence` says how much of their
length survives the averaging. At finite width :math:`n`, a ReLU network with He weights
(:math:`v = 2`) still moves the log-norm of the error by a random walk with drift
:math:`-5/(4n)` per layer, which :func:`relu_log_shrink` simulates.
:func:`gaussian_mlp` draws the deep networks of the chapter *Activation functions*;
:func:`hidden_errors` runs them with any activation of :mod:`derived.activations`,
:func:`coherence` measures one factor of the gradient alone, and :func:`rate_against_gain` gives
:math:`\rho` as a function of :math:`v`. :func:`mean_field_rates` gives the same rates in the limit
of infinite width, from the recursion for the pre-activations' variance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_finite, check_positive_finite
from derived.activations import ACTIVATIONS, activation, derivative
from derived.mlp import MLP

__all__ = [
    "batch_coherence",
    "coherence",
    "gaussian_mlp",
    "hidden_errors",
    "mean_field_rates",
    "per_layer_rate",
    "rate_against_gain",
    "relu_log_shrink",
    "typical_rate",
]

Array = NDArray[np.float64]


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def gaussian_mlp(sizes: Sequence[int], name: str, gain: float, seed: int = 0) -> MLP:
    r"""Draw an :class:`derived.mlp.MLP` with Gaussian weights of variance gain / fan-in.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, inputs first.
    name : str
        The hidden activation (``"sigmoid"``, ``"tanh"`` or ``"relu"``).
    gain : float
        The weight variance times the fan-in: 1 for LeCun's choice, 2 for He's.
    seed : int, default 0
        Seeds the weights (``seed + 1``) and the biases (``seed``, the MLP's own uniform
        draw on :math:`\pm 1/\sqrt{n_{l-1}}`).

    Returns
    -------
    MLP
        The network, output layer linear.

    Examples
    --------
    >>> net = gaussian_mlp([64, 64, 1], "relu", 2.0)
    >>> round(float(np.var(net.params[0]) * 64), 1)
    2.0
    """
    gain = check_positive_finite(gain, "gain")
    net = MLP(sizes, name, rng=np.random.default_rng(seed))
    init = np.random.default_rng(seed + 1)
    for W in net.params[0::2]:
        W[...] = init.normal(scale=np.sqrt(gain / W.shape[1]), size=W.shape)
    return net


def typical_rate(z: ArrayLike, name: str, gain: float = 1.0) -> float:
    r"""Return the typical rate :math:`\rho = \sqrt{v\,\overline{f'(z)^2}}` of one layer.

    Parameters
    ----------
    z : array_like, shape (N, n)
        The layer's pre-activations, one row per example.
    name : str
        The activation, a name that :func:`derived.activations.derivative` knows.
    gain : float, default 1.0
        :math:`v`, the next layer's weight variance times its fan-in.

    Returns
    -------
    float
        The factor by which the root mean square of an error's norm changes on average
        when it passes back through this layer.

    Examples
    --------
    >>> typical_rate(np.zeros((2, 3)), "sigmoid")
    0.25
    >>> typical_rate([[-1.0, 1.0]], "relu", gain=2.0)
    1.0
    """
    z = as_float_array(z, "z", ndim=2, allow_empty=False)
    gain = check_positive_finite(gain, "gain")
    return float(np.sqrt(gain * np.mean(derivative(z, name) ** 2)))


def per_layer_rate(norms: ArrayLike) -> float:
    r"""Return the geometric-mean factor per layer by which each example's error shrinks.

    Parameters
    ----------
    norms : array_like, shape (L, N)
        :math:`\lVert \delta_{l,m} \rVert` for layers :math:`l = 1, \dots, L` (input side
        first) and examples :math:`m`; all positive.

    Returns
    -------
    float
        :math:`\exp\bigl(\frac{1}{N(L-1)} \sum_m \log(\lVert\delta_{1,m}\rVert /
        \lVert\delta_{L,m}\rVert)\bigr)`: the error's norm from layer :math:`L` back to
        layer 1 is this to the power :math:`L - 1`, on a logarithmic average over the
        examples.

    Examples
    --------
    >>> per_layer_rate([[0.25, 1.0], [0.5, 2.0], [1.0, 4.0]])
    0.5
    """
    norms = as_float_array(norms, "norms", ndim=2, allow_empty=False)
    if norms.shape[0] < 2:
        raise ValueError(f"norms must have at least 2 layers (rows), got shape {norms.shape}")
    if np.any(norms <= 0):
        raise ValueError("norms must be positive")
    steps = norms.shape[0] - 1
    return float(np.exp(np.mean(np.log(norms[0] / norms[-1])) / steps))


def batch_coherence(delta: ArrayLike, h: ArrayLike) -> float:
    r"""Measure how much of the examples' gradients survives their mean.

    Parameters
    ----------
    delta : array_like, shape (N, n_out)
        The layer's errors :math:`\delta_m`, one row per example.
    h : array_like, shape (N, n_in)
        The layer's inputs :math:`h_m`.

    Returns
    -------
    float
        :math:`\lVert \sum_m \delta_m h_m^\top \rVert_F / \sum_m \lVert\delta_m\rVert\,
        \lVert h_m\rVert`, the norm of the mean gradient over the mean of the
        per-example norms: 1 when all examples' gradients point the same way, about
        :math:`1/\sqrt N` when they are uncorrelated with mean zero, 0 when they cancel.

    Examples
    --------
    >>> batch_coherence([[1.0], [1.0]], [[1.0, 0.0], [2.0, 0.0]])
    1.0
    >>> batch_coherence([[1.0], [1.0]], [[1.0, 0.0], [-1.0, 0.0]])
    0.0
    """
    delta = as_float_array(delta, "delta", ndim=2, allow_empty=False)
    h = as_float_array(h, "h", ndim=2, allow_empty=False)
    if delta.shape[0] != h.shape[0]:
        raise ValueError(
            f"delta and h must have one row per example, got {delta.shape[0]} and {h.shape[0]}"
        )
    each = np.linalg.norm(delta, axis=1) * np.linalg.norm(h, axis=1)
    if not np.any(each > 0):
        raise ValueError("every example's gradient delta_m h_m^T is zero")
    return float(np.linalg.norm(delta.T @ h) / np.sum(each))


def coherence(a: ArrayLike) -> float:
    r"""Return the coherence of one factor alone.

    It is :math:`\lVert\sum_m a_m\rVert / \sum_m \lVert a_m\rVert`.

    Parameters
    ----------
    a : array_like, shape (N, n)
        One row per example: the errors :math:`\delta_m` or the inputs :math:`h_m`.

    Returns
    -------
    float
        1 when all rows point the same way, about :math:`1/\sqrt N` for independent rows
        of mean zero; it is :func:`batch_coherence` with every :math:`h_m` equal to 1.

    Examples
    --------
    >>> coherence([[1.0, 0.0], [2.0, 0.0]])
    1.0
    >>> coherence([[1.0, 0.0], [-1.0, 0.0]])
    0.0
    """
    a = as_float_array(a, "a", ndim=2, allow_empty=False)
    return batch_coherence(a, np.ones((a.shape[0], 1)))


def hidden_errors(
    params: Sequence[ArrayLike], X: ArrayLike, name: str, negative_slope: float = 0.01
) -> tuple[list[Array], list[Array]]:
    r"""Run a network forwards and backwards; return each hidden layer's errors and inputs.

    The network has hidden layers :math:`h_l = f(W_l h_{l-1} + b_l)` and a linear output
    with one unit; ``params`` is :math:`[W_1, b_1, \dots, W_L, b_L]` as in
    :class:`derived.mlp.MLP`, but :math:`f` may be any activation of
    :func:`derived.activations.activation`, leaky ReLU and GELU included. The errors are
    those of the mean output over the batch, :math:`\delta_l = \partial \bar y /
    \partial z_l`, by :math:`\delta_{l-1} = f'(z_{l-1}) \odot W_l^\top \delta_l`.

    Parameters
    ----------
    params : sequence of array_like
        Weights and biases, input side first; the last weight matrix has one row.
    X : array_like, shape (N, n_0)
        The inputs, one row per example.
    name : str
        The hidden activation.
    negative_slope : float, default 0.01
        :math:`\alpha` of leaky ReLU.

    Returns
    -------
    deltas : list of numpy.ndarray
        :math:`\delta_1, \dots, \delta_{L-1}`, each of shape (N, n_l).
    inputs : list of numpy.ndarray
        :math:`h_0 = X, \dots, h_{L-2}`: the input of each hidden layer.

    Examples
    --------
    >>> params = [np.eye(2), np.zeros(2), np.ones((1, 2)), np.zeros(1)]
    >>> deltas, inputs = hidden_errors(params, [[1.0, -1.0]], "relu")
    >>> deltas[0].tolist()
    [[1.0, 0.0]]
    """
    arrays = [as_float_array(p, "params") for p in params]
    if len(arrays) < 4 or len(arrays) % 2 or arrays[-2].shape[0] != 1:
        raise ValueError("params must be [W_1, b_1, ..., W_L, b_L] with L >= 2 and one output")
    h = as_float_array(X, "X", ndim=2, allow_empty=False)
    inputs, zs = [], []
    for W, b in zip(arrays[0:-2:2], arrays[1:-2:2], strict=True):
        inputs.append(h)
        zs.append(h @ W.T + b)
        h = activation(zs[-1], name, negative_slope=negative_slope)
    d = np.full((h.shape[0], 1), 1.0 / h.shape[0]) @ arrays[-2]
    deltas: list[Array] = []
    for layer in range(len(zs) - 1, -1, -1):
        d = d * derivative(zs[layer], name, negative_slope=negative_slope)
        deltas.append(d)
        if layer:
            d = d @ arrays[2 * layer]
    return deltas[::-1], inputs


def rate_against_gain(
    name: str, gains: ArrayLike, X: ArrayLike, depth: int = 30, seed: int = 0
) -> Array:
    r"""Return the typical rate :math:`\rho` of a deep network for each weight variance.

    For each gain :math:`v`, a network of ``depth`` hidden layers of the width of ``X``
    is drawn by :func:`gaussian_mlp` and run on ``X``; the result is the geometric mean of
    :func:`typical_rate` over its hidden layers, each with the same :math:`v`.

    Parameters
    ----------
    name : str
        ``"sigmoid"``, ``"tanh"`` or ``"relu"``.
    gains : array_like, shape (K,)
        The weight variances times the fan-in.
    X : array_like, shape (N, n)
        The inputs.
    depth : int, default 30
        The number of hidden layers.
    seed : int, default 0
        Passed to :func:`gaussian_mlp`.

    Returns
    -------
    numpy.ndarray, shape (K,)
        :math:`\rho` for each gain.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 32))
    >>> rho = rate_against_gain("relu", [2.0], X, depth=5)
    >>> bool(abs(rho[0] - 1) < 0.1)
    True
    """
    X = as_float_array(X, "X", ndim=2, allow_empty=False)
    layers = _positive_int(depth, "depth")
    out = []
    for v in as_float_array(gains, "gains", ndim=1, allow_empty=False):
        net = gaussian_mlp([X.shape[1]] * (layers + 1) + [1], name, float(v), seed=seed)
        net(X)
        assert net.pre_activations is not None
        logs = [np.log(typical_rate(z, name, float(v))) for z in net.pre_activations[:layers]]
        out.append(np.exp(np.mean(logs)))
    return np.asarray(out, dtype=np.float64)


def relu_log_shrink(width: int, n_nets: int = 200, depth: int = 30, seed: int = 0) -> Array:
    r"""Simulate the log-factor by which an error's norm changes through ReLU networks.

    Each of ``n_nets`` networks has ``depth`` bias-free ReLU layers of the given width
    with He weights (variance :math:`2/n`) and one Gaussian input. A Gaussian error,
    masked like the last layer, is sent back to layer 1 through
    :math:`\delta_{l-1} = \mathbb 1[z_{l-1} > 0] \odot W_l^\top \delta_l`, with the same
    weights as the forward pass.

    Parameters
    ----------
    width : int
        :math:`n`.
    n_nets : int, default 200
        The number of independent networks.
    depth : int, default 30
        The number of layers; the error takes ``depth - 1`` steps.
    seed : int, default 0
        Seeds all random draws.

    Returns
    -------
    numpy.ndarray, shape (n_nets,)
        :math:`\log(\lVert\delta_1\rVert / \lVert\delta_{\text{depth}}\rVert)` for each
        network: mean about :math:`-5(\text{depth} - 1)/(4n)`, variance about
        :math:`5(\text{depth} - 1)/(4n)`.

    Examples
    --------
    >>> relu_log_shrink(8, n_nets=3, depth=2).shape
    (3,)
    """
    n = _positive_int(width, "width")
    count = _positive_int(n_nets, "n_nets")
    layers = _positive_int(depth, "depth")
    if layers < 2:
        raise ValueError(f"depth must be at least 2, got {depth}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")

    def weights(layer: int) -> Array:  # regenerated identically on the way back
        gen = np.random.default_rng([int(seed), n, layer])
        return gen.normal(scale=np.sqrt(2.0 / n), size=(count, n, n))

    h = np.random.default_rng([int(seed), n]).normal(size=(count, n))
    masks = []
    for layer in range(layers):
        h = np.einsum("rij,rj->ri", weights(layer), h)
        masks.append(h > 0)
        h = np.maximum(h, 0.0)
    d = np.random.default_rng([int(seed), n, layers]).normal(size=(count, n)) * masks[-1]
    start = np.linalg.norm(d, axis=1)
    for layer in range(layers - 2, -1, -1):
        d = np.einsum("ri,rij->rj", d, weights(layer + 1)) * masks[layer]
    return np.asarray(np.log(np.linalg.norm(d, axis=1) / start), dtype=np.float64)


def mean_field_rates(
    name: str,
    gain: float,
    depth: int,
    *,
    input_ms: float = 1.0,
    bias_var: float = 0.0,
    nodes: int = 100,
) -> tuple[Array, Array]:
    r"""Return each layer's typical rate and pre-activation variance in an infinitely wide network.

    With weights of variance :math:`v/n` and biases of variance :math:`\sigma_b^2`, the
    pre-activations of a wide layer are Gaussian with mean zero and a variance :math:`q_l`
    that follows the *mean-field* recursion

    .. math::

        q_1 = v\,\overline{x^2} + \sigma_b^2, \qquad
        q_{l+1} = v\,\mathbb E\bigl[f(\sqrt{q_l}\,g)^2\bigr] + \sigma_b^2,
        \qquad g \sim \mathcal N(0, 1),

    and layer :math:`l`'s typical rate is
    :math:`\rho_l = \sqrt{v\,\mathbb E[f'(\sqrt{q_l}\,g)^2]}` (:func:`typical_rate`
    with Gaussian pre-activations). The expectations are taken by Gauss-Hermite quadrature;
    with an even number of nodes, none lies at the kink 0 and the quadrature is exact for
    ReLU and leaky ReLU.

    Parameters
    ----------
    name : str
        The activation, one of :data:`derived.activations.ACTIVATIONS` (leaky ReLU with
        slope 0.01).
    gain : float
        :math:`v`, the weight variance times the fan-in, the same in every layer.
    depth : int
        The number of hidden layers.
    input_ms : float, default 1.0
        :math:`\overline{x^2}`, the mean square of the inputs' entries; at least 0.
    bias_var : float, default 0.0
        :math:`\sigma_b^2`, the variance of each bias; at least 0.
    nodes : int, default 100
        The number of quadrature nodes, at least 2.

    Returns
    -------
    rates : numpy.ndarray, shape (depth,)
        :math:`\rho_1, \dots, \rho_{\text{depth}}`.
    variances : numpy.ndarray, shape (depth,)
        :math:`q_1, \dots, q_{\text{depth}}`, the mean square of each layer's
        pre-activations.

    Examples
    --------
    >>> rates, q = mean_field_rates("relu", 2.0, 3)  # He's v = 2 keeps q and rho
    >>> np.round(rates, 12).tolist(), np.round(q, 12).tolist()
    ([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    >>> rates, q = mean_field_rates("tanh", 1.0, 1000, bias_var=1 / 192)
    >>> round(float(q[-1]), 3), round(float(rates[-1]), 3)  # a settled layer
    (0.055, 0.953)
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"name must be one of {ACTIVATIONS}, got {name!r}")
    v = check_positive_finite(gain, "gain")
    layers = _positive_int(depth, "depth")
    x_ms = check_finite(input_ms, "input_ms")
    b_var = check_finite(bias_var, "bias_var")
    if x_ms < 0:
        raise ValueError(f"input_ms must be >= 0, got {input_ms!r}")
    if b_var < 0:
        raise ValueError(f"bias_var must be >= 0, got {bias_var!r}")
    count = _positive_int(nodes, "nodes")
    if count < 2:
        raise ValueError(f"nodes must be at least 2, got {nodes}")
    g, w = np.polynomial.hermite_e.hermegauss(count)  # E over g ~ N(0, 1)
    w = w / w.sum()
    q = v * x_ms + b_var
    rates, variances = [], []
    for _ in range(layers):
        z = np.sqrt(q) * g
        variances.append(q)
        rates.append(np.sqrt(v * np.sum(w * derivative(z, name) ** 2)))
        q = v * float(np.sum(w * activation(z, name) ** 2)) + b_var
    return np.asarray(rates, dtype=np.float64), np.asarray(variances, dtype=np.float64)
