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
inverted-dropout output is :math:`x_i^2\, p/(1 - p)`. Chapter 12 of the book derives this
and checks the expectation by simulation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array

__all__ = ["dropout", "dropout_backward"]

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
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not isinstance(training, bool | np.bool_) or not isinstance(inverted, bool | np.bool_):
        raise TypeError("training and inverted must be bools")
    if training:
        keep = rng.random(a.shape) >= rate  # P(keep) = 1 - p
        scale = 1.0 if not inverted or rate == 1.0 else 1.0 / (1.0 - rate)
        mask: Array = np.where(keep, scale, 0.0)  # same shape as x, float64
    else:
        mask = np.full(a.shape, 1.0 if inverted else 1.0 - rate)
    y: Array = a * mask
    return y, mask


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
