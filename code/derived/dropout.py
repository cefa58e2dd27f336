r"""Dropout, inverted and original, forward and backward.

During training, dropout with rate :math:`p` keeps each unit independently with
probability :math:`1 - p`: a mask :math:`m_i \sim \text{Bernoulli}(1 - p)` multiplies the
activations. Since :math:`\mathbb E[m_i x_i] = (1 - p)\, x_i`, the layers after it see a
signal shrunk by :math:`1 - p` during training, and something must undo that so that
training and evaluation agree in expectation. There are two ways.

* **Inverted dropout** (what ``torch.nn.Dropout`` does) scales *during training*:

  .. math:: y_i = \frac{m_i}{1 - p}\, x_i \ \text{(training)}, \qquad y_i = x_i
     \ \text{(evaluation)},

  so :math:`\mathbb E[y_i] = x_i` and evaluation needs no scaling at all.
* **Original dropout** (Srivastava et al., 2014) keeps the training output unscaled,
  :math:`y_i = m_i x_i`, and scales by :math:`1 - p` *at evaluation*:
  :math:`y_i = (1 - p)\, x_i`.

Both have the same expected training output as their evaluation output; they differ by
the constant :math:`1 - p`, which inverted dropout moves into training. The forward pass
returns the scaled mask :math:`d_i = m_i/(1 - p)` (or :math:`m_i`), and the backward pass
is multiplication by it, :math:`\partial\ell/\partial x_i = d_i\, \partial\ell/\partial
y_i`, because the output is linear in :math:`x` for a fixed mask. The variance of an
inverted-dropout output is :math:`x_i^2\, p/(1 - p)`. The book's chapter *Regularisation and depth*
derives this and checks the expectation by simulation.

:class:`DropoutMLP` puts inverted dropout after every hidden layer of a fully connected
network, with a ``training`` switch: on, each forward pass draws fresh masks and the
backward pass reuses them; off, the network is the plain :class:`derived.mlp.MLP` with
the same weights. That chapter trains it on the digits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_generator
from derived.mlp import MLP, _derivative_from, activate

__all__ = ["DropoutMLP", "dropout", "dropout_backward"]

Array = NDArray[np.float64]


def _rate(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float | np.integer | np.floating):
        raise TypeError(f"p must be a real number, got {type(p).__name__}")
    rate = float(p)
    if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    return rate


def dropout(
    x: ArrayLike,
    p: float,
    *,
    rng: np.random.Generator,
    training: bool = True,
    inverted: bool = True,
) -> tuple[Array, Array]:
    r"""Apply dropout with rate ``p``; return the output and the mask for the backward pass.

    Training, inverted: :math:`y = x \odot m / (1 - p)`; training, original: :math:`y = x
    \odot m`, with :math:`m_i \sim \text{Bernoulli}(1 - p)` independent. Evaluation,
    inverted: :math:`y = x`; evaluation, original: :math:`y = (1 - p)\,x`. With ``p = 1``
    every unit is dropped and the output is zero (as in ``torch``).

    Parameters
    ----------
    x : array_like, any shape
        Activations, finite.
    p : float
        The probability of dropping a unit, in ``[0, 1]``.
    rng : numpy.random.Generator
        The source of the mask (keyword only); not used at evaluation.
    training : bool, default True
        Draw a mask (training) or apply the deterministic evaluation map.
    inverted : bool, default True
        Inverted dropout (scale by :math:`1/(1 - p)` in training) or the original scheme
        (scale by :math:`1 - p` at evaluation).

    Returns
    -------
    y : numpy.ndarray of float64, same shape as ``x``
        The output.
    mask : numpy.ndarray of float64, same shape as ``x``
        The factor :math:`\partial y_i / \partial x_i`: :math:`m_i/(1 - p)` or :math:`m_i`
        in training, :math:`1` or :math:`1 - p` at evaluation. Pass it to
        :func:`dropout_backward`.

    Examples
    --------
    >>> y, mask = dropout(np.ones(6), 0.5, rng=np.random.default_rng(0))
    >>> sorted(set(y.tolist()))  # every unit is dropped or doubled
    [0.0, 2.0]
    >>> dropout([1.0, 2.0], 0.5, rng=np.random.default_rng(0), training=False)[0].tolist()
    [1.0, 2.0]
    """
    a = as_float_array(x, "x")
    rate = _rate(p)
    check_generator(rng)
    if not isinstance(training, bool | np.bool_) or not isinstance(inverted, bool | np.bool_):
        raise TypeError("training and inverted must be bools")
    mask = _mask(a.shape, rate, rng, training=bool(training), inverted=bool(inverted))
    y: Array = a * mask
    return y, mask


def _mask(
    shape: tuple[int, ...], rate: float, rng: np.random.Generator, *, training: bool, inverted: bool
) -> Array:
    """Return the factor dy/dx of :func:`dropout` (arguments checked): m/(1 - p), m, 1 or 1 - p.

    Training draws ``rng.random(shape)`` whatever the rate, so that runs with different
    rates and the same generator draw the same numbers.
    """
    if training:
        keep = rng.random(shape) >= rate  # P(keep) = 1 - p
        scale = 1.0 if not inverted or rate == 1.0 else 1.0 / (1.0 - rate)
        return np.where(keep, scale, 0.0)  # float64
    return np.full(shape, 1.0 if inverted else 1.0 - rate)


def dropout_backward(dout: ArrayLike, mask: ArrayLike) -> Array:
    r"""Backpropagate through :func:`dropout`: multiply by the mask.

    .. math:: \frac{\partial\ell}{\partial x} = d \odot \frac{\partial\ell}{\partial y}

    Parameters
    ----------
    dout : array_like
        The upstream gradient :math:`\partial \ell / \partial y`.
    mask : array_like, same shape as ``dout``
        The mask returned by the forward pass.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``dout``

    Examples
    --------
    >>> dropout_backward([1.0, 1.0, 3.0], [2.0, 0.0, 2.0]).tolist()
    [2.0, 0.0, 6.0]
    """
    g = as_float_array(dout, "dout")
    d = as_float_array(mask, "mask")
    if g.shape != d.shape:
        raise ValueError(f"dout and mask must have the same shape, got {g.shape} and {d.shape}")
    return g * d


class DropoutMLP:
    r"""A fully connected network with inverted dropout after every hidden layer.

    Layer :math:`l < L` computes :math:`A^{(l)} = f(A^{(l-1)} W_l^\top + b_l) \odot D^{(l)}`,
    where in training :math:`D^{(l)}` holds independent :math:`m/(1 - p)`,
    :math:`m \sim \text{Bernoulli}(1 - p)`, one per example and unit, drawn afresh at every
    forward pass, and at evaluation :math:`D^{(l)} = 1`. The last layer is linear (logits).
    The backward pass is that of :class:`derived.mlp.MLP` with each hidden layer's error
    multiplied by its mask first, :func:`dropout_backward`.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(n_0, ..., n_L)``, at least two entries.
    p : float
        The dropout rate of every hidden layer, in ``[0, 1)``.
    activation : {"relu", "tanh", "sigmoid", "identity"}, default "relu"
        The hidden activation.
    rng : numpy.random.Generator
        Draws the initial weights (exactly as ``MLP(sizes, activation, rng=rng)`` does) and
        then every mask (keyword only).

    Attributes
    ----------
    params : list of numpy.ndarray
        ``[W1, b1, ..., WL, bL]`` as in :class:`derived.mlp.MLP`; update them in place.
    training : bool
        Draw masks (``True``, the initial state) or use the plain network (``False``).
    masks : list of numpy.ndarray or None
        The masks :math:`D^{(l)}` of the last forward pass, shape ``(N, n_l)`` each.

    Examples
    --------
    >>> net = DropoutMLP([4, 8, 3], 0.5, rng=np.random.default_rng(0))
    >>> X = np.ones((2, 4))
    >>> net.training = False
    >>> plain = MLP([4, 8, 3], rng=np.random.default_rng(0))
    >>> bool(np.array_equal(net.forward(X), plain.forward(X)))
    True
    """

    def __init__(
        self,
        sizes: Sequence[int],
        p: float,
        activation: str = "relu",
        *,
        rng: np.random.Generator,
    ) -> None:
        rate = _rate(p)
        if rate >= 1.0:
            raise ValueError(f"p must be below 1 (a layer must keep some units), got {p!r}")
        plain = MLP(sizes, activation, rng=rng)  # validates sizes, activation and rng
        self.sizes: tuple[int, ...] = plain.sizes
        self.activation: str = plain.activation
        self.p: float = rate
        self.rng: np.random.Generator = rng
        self.params: list[Array] = plain.params
        self.training: bool = True
        self.masks: list[Array] | None = None
        self._cache: list[tuple[Array, Array, Array]] | None = None  # (input, s, f(s))

    def forward(self, X: ArrayLike) -> Array:
        """Run the network on a batch, drawing masks if ``training``.

        Parameters
        ----------
        X : array_like, shape (N, n_0)
            One example per row.

        Returns
        -------
        numpy.ndarray of float64, shape (N, n_L)
            The logits.
        """
        a = as_float_array(X, "X", ndim=2)
        if a.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (N, {self.sizes[0]}), got {a.shape}")
        if not isinstance(self.training, bool | np.bool_):
            raise TypeError(f"training must be a bool, got {type(self.training).__name__}")
        n_layers = len(self.sizes) - 1
        cache: list[tuple[Array, Array, Array]] = []
        masks: list[Array] = []
        for layer in range(n_layers):
            W, b = self.params[2 * layer], self.params[2 * layer + 1]
            s = a @ W.T + b  # (N, n_l)
            if layer == n_layers - 1:
                cache.append((a, s, s))
                a = s  # logits
            else:
                f = activate(s, self.activation)
                cache.append((a, s, f))
                mask = _mask(f.shape, self.p, self.rng, training=bool(self.training), inverted=True)
                a = f * mask  # dropout(f), arguments already checked
                masks.append(mask)
        self._cache, self.masks = cache, masks
        return a

    __call__ = forward

    def backward(self, dout: ArrayLike) -> list[Array]:
        """Backpropagate ``dout`` through the last forward pass, with its masks.

        Parameters
        ----------
        dout : array_like, shape (N, n_L)
            The upstream gradient with respect to the logits.

        Returns
        -------
        list of numpy.ndarray
            The gradients of ``params``, in the same order and shapes.
        """
        if self._cache is None or self.masks is None:
            raise RuntimeError("backward() needs a forward() first")
        delta = as_float_array(dout, "dout", ndim=2)  # dS of the last layer: (N, n_L)
        if delta.shape != self._cache[-1][1].shape:
            raise ValueError(
                f"dout must have the output's shape {self._cache[-1][1].shape}, got {delta.shape}"
            )
        grads: list[Array] = [np.empty(0)] * len(self.params)
        for layer in reversed(range(len(self._cache))):
            a_in, s, f = self._cache[layer]
            if layer < len(self._cache) - 1:  # hidden: through the mask, then f'
                delta = delta * self.masks[layer]  # dropout_backward
                delta = delta * _derivative_from(s, f, self.activation)
            grads[2 * layer] = delta.T @ a_in  # (n_l, n_{l-1})
            grads[2 * layer + 1] = delta.sum(axis=0)  # (n_l,)
            delta = delta @ self.params[2 * layer]  # (N, n_{l-1})
        return grads
