r"""A multilayer perceptron with a hand-written forward and backward pass.

Layer :math:`l = 1, \dots, L` maps a batch :math:`A^{(l-1)} \in \mathbb{R}^{N \times n_{l-1}}`
(one example per row, :math:`A^{(0)} = X`) to

.. math::

    S^{(l)} = A^{(l-1)} W^{(l)\top} + \mathbf 1 b^{(l)\top}, \qquad
    A^{(l)} = f_l\big(S^{(l)}\big),

with :math:`W^{(l)}` of shape ``(n_l, n_{l-1})`` and :math:`b^{(l)}` of shape ``(n_l,)``,
exactly as ``torch.nn.Linear`` stores them. Given the upstream gradient
:math:`\Delta A^{(L)} = \partial \ell / \partial A^{(L)}`, the backward pass runs the
chain rule from the last layer to the first:

.. math::

    \Delta S^{(l)} = \Delta A^{(l)} \odot f_l'\big(S^{(l)}\big), \quad
    \frac{\partial \ell}{\partial W^{(l)}} = \Delta S^{(l)\top} A^{(l-1)}, \quad
    \frac{\partial \ell}{\partial b^{(l)}} = \Delta S^{(l)\top}\mathbf 1, \quad
    \Delta A^{(l-1)} = \Delta S^{(l)} W^{(l)}.

So the forward pass must keep (cache) every layer input :math:`A^{(l-1)}` and whatever
:math:`f_l'` needs: the pre-activation for ReLU, the output for tanh
(:math:`1 - a^2`) and sigmoid (:math:`a(1 - a)`). The book's chapter *A two-layer network by hand*
derives all of this; ``tests/test_mlp.py`` checks it against ``torch.autograd`` in float64.
:func:`gradient_profile` measures, layer by layer, how the gradient of a deep network's
mean output is made up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_generator
from derived.activations import sigmoid

__all__ = ["ACTIVATIONS", "MLP", "activation_derivative", "activate", "gradient_profile"]

Array = NDArray[np.float64]

#: The activation functions a layer may use.
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "identity")


def _check_name(name: object, arg: str) -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{arg} must be one of {ACTIVATIONS}, got {name!r}")
    return name


def activate(s: ArrayLike, name: str) -> Array:
    r"""Apply the activation ``name`` elementwise.

    ``relu``: :math:`\max(s, 0)`; ``tanh``; ``sigmoid``: :math:`1/(1 + e^{-s})`, computed
    from :math:`e^{-|s|}` so that it never overflows; ``identity``: :math:`s`.

    Parameters
    ----------
    s : array_like, any shape
        Pre-activations, finite.
    name : {"relu", "tanh", "sigmoid", "identity"}
        The activation.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``s``

    Examples
    --------
    >>> activate([-1.0, 0.0, 2.0], "relu").tolist()
    [0.0, 0.0, 2.0]
    >>> activate([-1e4, 0.0], "sigmoid").tolist()
    [0.0, 0.5]
    """
    kind = _check_name(name, "name")
    x = as_float_array(s, "s")
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "tanh":
        return np.tanh(x)
    if kind == "sigmoid":
        return sigmoid(x)  # one stable implementation, in derived.activations
    return x.copy()


def activation_derivative(s: ArrayLike, name: str) -> Array:
    r"""Return the derivative :math:`f'(s)` of the activation ``name``, elementwise.

    ``relu``: :math:`\mathbb 1[s > 0]` (0 at :math:`s = 0`, as in ``torch``);
    ``tanh``: :math:`1 - \tanh^2 s`; ``sigmoid``: :math:`\sigma(s)(1 - \sigma(s))`;
    ``identity``: 1.

    Parameters
    ----------
    s : array_like, any shape
        Pre-activations, finite.
    name : {"relu", "tanh", "sigmoid", "identity"}
        The activation.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``s``

    Examples
    --------
    >>> activation_derivative([-1.0, 0.0, 2.0], "relu").tolist()
    [0.0, 0.0, 1.0]
    >>> activation_derivative([0.0], "sigmoid").tolist()
    [0.25]
    """
    kind = _check_name(name, "name")
    x = as_float_array(s, "s")
    a = activate(x, kind)
    return _derivative_from(x, a, kind)


def _derivative_from(s: Array, a: Array, kind: str) -> Array:
    """f'(s) from the cached pre-activation s and output a = f(s)."""
    if kind == "relu":
        return (s > 0).astype(np.float64)
    if kind == "tanh":
        return 1.0 - a * a
    if kind == "sigmoid":
        return a * (1.0 - a)
    return np.ones_like(s)


class MLP:
    r"""A fully connected network with NumPy forward and backward passes.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(n_0, n_1, ..., n_L)``: ``n_0`` inputs, ``n_L`` outputs, at least
        two entries, all >= 1.
    activation : {"relu", "tanh", "sigmoid", "identity"}, default "relu"
        The activation of every hidden layer.
    rng : numpy.random.Generator
        Source of the initial weights (keyword only, required).
    output_activation : {"relu", "tanh", "sigmoid", "identity"} or None, default None
        The activation of the last layer; ``None`` means identity (raw scores).

    Attributes
    ----------
    params : list of numpy.ndarray
        ``[W1, b1, W2, b2, ...]`` with ``W_l`` of shape ``(n_l, n_{l-1})`` and ``b_l`` of
        shape ``(n_l,)``, initialised like ``torch.nn.Linear``: every entry uniform on
        :math:`[-1/\sqrt{n_{l-1}}, 1/\sqrt{n_{l-1}}]`. Update these arrays in place
        (``p -= lr * g``); the next :meth:`forward` uses the new values.
    grads : list of numpy.ndarray or None
        The gradients computed by the last :meth:`backward`, in the order of ``params``.
    dX : numpy.ndarray or None
        The gradient of the loss with respect to the input of the last :meth:`forward`,
        set by :meth:`backward`.
    pre_activations : list of numpy.ndarray or None
        :math:`S^{(1)}, \dots, S^{(L)}` of the last :meth:`forward`, each of shape
        ``(N, n_l)`` (``(n_l,)`` for a single example).
    deltas : list of numpy.ndarray or None
        The errors :math:`\Delta^{(l)} = \partial \ell / \partial S^{(l)}` of the last
        :meth:`backward`, one row per example, shapes as ``pre_activations``. Row ``m``
        is example ``m``'s own error, before the sum over the batch that the weight
        gradients take, scaled as ``dout`` is: if ``dout`` is the gradient of a mean over
        the batch, every row already includes its factor ``1/N``.

    Examples
    --------
    >>> net = MLP([3, 4, 2], rng=np.random.default_rng(0))
    >>> [p.shape for p in net.params]
    [(4, 3), (4,), (2, 4), (2,)]
    >>> out = net.forward(np.ones((5, 3)))
    >>> [g.shape for g in net.backward(np.ones((5, 2)))]
    [(4, 3), (4,), (2, 4), (2,)]
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        rng: np.random.Generator,
        output_activation: str | None = None,
    ) -> None:
        if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence | np.ndarray):
            raise TypeError(f"sizes must be a sequence of ints, got {type(sizes).__name__}")
        if len(sizes) < 2:
            raise ValueError(f"sizes must have at least 2 entries (inputs, outputs), got {sizes}")
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
                raise ValueError(f"sizes must be positive ints, got {list(sizes)}")
        check_generator(rng)
        self.sizes: tuple[int, ...] = tuple(int(n) for n in sizes)
        self.activation: str = _check_name(activation, "activation")
        out = "identity" if output_activation is None else output_activation
        self.output_activation: str = _check_name(out, "output_activation")
        self.params: list[Array] = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            bound = 1.0 / np.sqrt(n_in)
            self.params.append(rng.uniform(-bound, bound, size=(n_out, n_in)))
            self.params.append(rng.uniform(-bound, bound, size=n_out))
        self.grads: list[Array] | None = None
        self.dX: Array | None = None
        self.pre_activations: list[Array] | None = None
        self.deltas: list[Array] | None = None
        self._cache: list[tuple[Array, Array, Array]] | None = None
        self._single = False

    @property
    def n_layers(self) -> int:
        """The number of linear layers L."""
        return len(self.sizes) - 1

    def parameters(self) -> list[Array]:
        """Return ``params`` itself (the same list and arrays, not copies).

        Returns
        -------
        list of numpy.ndarray
            ``[W1, b1, ..., WL, bL]``.
        """
        return self.params

    def _activation_of(self, layer: int) -> str:
        return self.output_activation if layer == self.n_layers - 1 else self.activation

    def forward(self, X: ArrayLike) -> Array:
        r"""Run the network on a batch and cache what :meth:`backward` needs.

        Parameters
        ----------
        X : array_like, shape (N, n_0) or (n_0,)
            One example per row; a 1-d array is one example.

        Returns
        -------
        numpy.ndarray of float64, shape (N, n_L) or (n_L,)
            The network's outputs :math:`A^{(L)}`.
        """
        x = as_float_array(X, "X", ndim=(1, 2))
        self._single = x.ndim == 1
        a = x[None, :] if self._single else x  # (N, n_0)
        if a.shape[1] != self.sizes[0]:
            raise ValueError(
                f"X must have {self.sizes[0]} features (shape (N, {self.sizes[0]})), "
                f"got shape {x.shape}"
            )
        cache: list[tuple[Array, Array, Array]] = []
        for layer in range(self.n_layers):
            W, b = self.params[2 * layer], self.params[2 * layer + 1]
            want = (self.sizes[layer + 1], self.sizes[layer])
            if W.shape != want or b.shape != want[:1]:
                raise ValueError(
                    f"params of layer {layer + 1} must have shapes {want} and {want[:1]}, "
                    f"got {W.shape} and {b.shape} (update them in place, do not replace them)"
                )
            s = a @ W.T + b  # (N, n_l)
            a_next = activate(s, self._activation_of(layer))
            cache.append((a, s, a_next))  # layer input, pre-activation, output
            a = a_next
        self._cache = cache
        self.pre_activations = [c[1][0] if self._single else c[1] for c in cache]
        self.grads = None
        self.dX = None
        self.deltas = None
        return a[0] if self._single else a

    __call__ = forward

    def backward(self, dout: ArrayLike) -> list[Array]:
        r"""Backpropagate ``dout`` through the last :meth:`forward`.

        Parameters
        ----------
        dout : array_like, same shape as the last output
            The upstream gradient :math:`\partial \ell / \partial A^{(L)}`.

        Returns
        -------
        list of numpy.ndarray
            :math:`\partial \ell / \partial \theta` for every ``params`` entry, in the same
            order and shapes. Also stored in ``self.grads``; each layer's per-example error is
            stored in ``self.deltas`` and the gradient with respect to the
            input is stored in ``self.dX``.
        """
        if self._cache is None:
            raise RuntimeError("backward() needs a forward() first")
        out_shape = self._cache[-1][2].shape
        want = out_shape[1:] if self._single else out_shape
        g = as_float_array(dout, "dout")
        if g.shape != want:
            raise ValueError(f"dout must have the output's shape {want}, got {g.shape}")
        delta = g[None, :] if self._single else g  # (N, n_L)
        grads: list[Array] = [np.empty(0)] * (2 * self.n_layers)
        deltas: list[Array] = [np.empty(0)] * self.n_layers
        for layer in reversed(range(self.n_layers)):
            a_in, s, a_out = self._cache[layer]
            delta = delta * _derivative_from(s, a_out, self._activation_of(layer))  # dS
            deltas[layer] = delta[0] if self._single else delta  # (N, n_l)
            grads[2 * layer] = delta.T @ a_in  # (n_l, n_{l-1})
            grads[2 * layer + 1] = delta.sum(axis=0)  # (n_l,)
            delta = delta @ self.params[2 * layer]  # dA^{(l-1)}: (N, n_{l-1})
        self.dX = delta[0] if self._single else delta
        self.grads = grads
        self.deltas = deltas
        return grads


def gradient_profile(net: MLP, X: ArrayLike) -> dict[str, Array | float]:
    r"""Measure the gradient of the batch mean of the outputs, layer by layer.

    Runs ``net.forward(X)`` and ``net.backward`` with the gradient of
    :math:`\ell = \frac{1}{N}\sum_{m,k} A^{(L)}_{mk}`, then describes each layer's weight
    gradient :math:`\partial \ell / \partial W^{(l)} = \Delta^{(l)\top} A^{(l-1)}
    = \sum_m \delta_m a_m^\top`, where :math:`\delta_m` and :math:`a_m` are row
    :math:`m` of :math:`\Delta^{(l)}` and :math:`A^{(l-1)}`.

    Parameters
    ----------
    net : MLP
        The network; its ``params`` are not changed, its caches are overwritten.
    X : array_like, shape (N, n_0)
        The batch, one example per row, N >= 1.

    Returns
    -------
    dict
        ``"norms"``: array (L,), the Frobenius norms :math:`\lVert \partial \ell / \partial
        W^{(l)} \rVert`, first layer first. ``"example_sums"``: array (L,),
        :math:`\sum_m \lVert\delta_m\rVert\,\lVert a_m\rVert`. ``"coherence"``: array
        (L,), ``norms / example_sums`` (as :func:`derived.signal.batch_coherence`): 1 when
        all the examples' gradients :math:`\delta_m a_m^\top` point the same way, 0 when
        they cancel. ``"rate"``: float, the geometric-mean factor per layer by which each
        example's error :math:`\lVert\delta_m\rVert` shrinks from layer L to layer 1 (as
        :func:`derived.signal.per_layer_rate`). ``"rms_derivative"``: float, the root mean
        square of :math:`f'(S^{(l)})` over all hidden layers, examples and units; with
        weights of variance :math:`v / \text{fan-in}` the typical rate per layer is
        :math:`\sqrt{v}` times it. ``"error_coherence"`` and ``"input_coherence"``: arrays
        (L,), the coherence of each factor alone, :math:`\lVert\sum_m \delta_m\rVert /
        \sum_m \lVert\delta_m\rVert` and the same for the :math:`a_m` (as
        :func:`derived.signal.coherence`; 0 where every row is zero).
        ``"derivative_spread"``: float, the standard deviation of :math:`f'(S^{(l)})` over
        the examples, averaged over the units of all hidden layers, divided by the mean of
        :math:`f'` over all of them: 0 when every example has the same derivatives.
        ``"error_norms"`` and ``"input_norms"``: arrays (L, N), the factors of each
        example's gradient norm, :math:`\lVert\delta_m\rVert` and :math:`\lVert a_m\rVert`
        for every layer, so that ``example_sums`` is the sum over the examples of their
        product. The :math:`\delta_m` carry the :math:`1/N` of the mean.

    Raises
    ------
    ValueError
        If ``net`` has no hidden layer, or if some example's error vanishes at some layer
        (the rate is then undefined).

    Examples
    --------
    >>> net = MLP([2, 3, 1], "identity", rng=np.random.default_rng(0))
    >>> prof = gradient_profile(net, [[1.0, 0.0], [2.0, 0.0]])
    >>> round(float(prof["coherence"][0]), 12)  # parallel inputs, equal errors
    1.0
    >>> prof["rms_derivative"]  # the identity's derivative is 1
    1.0
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {type(net).__name__}")
    if net.n_layers < 2:
        raise ValueError("net must have at least one hidden layer")
    x = as_float_array(X, "X", ndim=2, allow_empty=False)
    out = net.forward(x)
    grads = net.backward(np.full_like(out, 1.0 / len(x)))
    deltas, cache = net.deltas or [], net._cache or []
    inputs = [c[0] for c in cache]  # A^(l-1), the layer inputs
    each = np.array(
        [
            np.sum(np.linalg.norm(d, axis=1) * np.linalg.norm(a, axis=1))
            for d, a in zip(deltas, inputs, strict=True)
        ]
    )
    norms = np.array([np.linalg.norm(g) for g in grads[0::2]])
    err = np.array([np.linalg.norm(d, axis=1) for d in deltas])  # (L, N)
    if np.any(err <= 0):
        raise ValueError("some example's error is exactly zero at some layer")
    rate = float(np.exp(np.mean(np.log(err[0] / err[-1])) / (len(err) - 1)))
    hidden = [_derivative_from(s, a, net.activation) for _, s, a in cache[:-1]]
    rms = float(np.sqrt(np.mean([np.mean(d**2) for d in hidden])))
    f_prime = np.concatenate(hidden, axis=1)  # (N, all hidden units); mean > 0 as no error is 0
    spread = float(np.mean(np.std(f_prime, axis=0)) / np.mean(f_prime))
    with np.errstate(invalid="ignore", divide="ignore"):
        coh = np.where(each > 0, norms / np.where(each > 0, each, 1.0), 0.0)
    return {
        "norms": norms,
        "example_sums": each,
        "coherence": coh,
        "rate": rate,
        "rms_derivative": rms,
        "error_coherence": np.array([_row_coherence(d) for d in deltas]),
        "input_coherence": np.array([_row_coherence(a) for a in inputs]),
        "derivative_spread": spread,
        "error_norms": err,
        "input_norms": np.array([np.linalg.norm(a, axis=1) for a in inputs]),
    }


def _row_coherence(a: Array) -> float:
    """||sum of the rows|| / sum of the rows' norms, 0 if every row is zero."""
    total = float(np.sum(np.linalg.norm(a, axis=1)))
    return float(np.linalg.norm(a.sum(axis=0)) / total) if total > 0 else 0.0
