r"""Weight initialisation from the variance argument: Xavier/Glorot and He/Kaiming.

A linear layer :math:`s = W a` with :math:`n_\text{in}` inputs, whose weights are
independent, zero-mean, of variance :math:`\sigma^2`, and independent of the input
:math:`a`, gives every pre-activation the variance

.. math::

    \operatorname{Var}[s_i] = n_\text{in}\, \sigma^2\, \mathbb E[a_j^2].

The backward pass multiplies by :math:`W^\top`, so in the same way
:math:`\operatorname{Var}[\partial\ell/\partial a_j] = n_\text{out}\,\sigma^2\,
\mathbb E[(\partial\ell/\partial s_i)^2]`. Keeping the forward signal's scale fixed needs
:math:`n_\text{in}\sigma^2 = 1` for an activation that is the identity near zero (tanh)
and :math:`n_\text{in}\sigma^2 = 2` for ReLU, which zeroes half of a symmetric input so that
:math:`\mathbb E[\operatorname{relu}(s)^2] = \operatorname{Var}[s]/2`. Keeping the backward
signal's scale fixed needs the same with :math:`n_\text{out}`.

* **Xavier/Glorot** (Glorot and Bengio, 2010) compromises between the two directions:
  :math:`\sigma^2 = \text{gain}^2 \cdot 2 / (n_\text{in} + n_\text{out})`.
* **He/Kaiming** (He et al., 2015) keeps one direction exactly for ReLU:
  :math:`\sigma^2 = \text{gain}^2 / n`, gain :math:`\sqrt 2`, with :math:`n = n_\text{in}`
  (``mode="fan_in"``, the forward pass) or :math:`n = n_\text{out}` (``"fan_out"``).

The uniform distribution on :math:`[-a, a]` has variance :math:`a^2/3`, so the uniform
versions draw from :math:`a = \sqrt{3}\,\sigma`. For a convolution weight of shape
``(out, in, k1, k2, ...)`` each fan is multiplied by the receptive field
:math:`k_1 k_2 \cdots`, as in ``torch.nn.init``, whose bounds and standard deviations these
functions reproduce (``tests/test_init.py``). :func:`he_init_mlp` applies He's uniform
initialisation to every layer of a :class:`derived.mlp.MLP`, with zero biases. The book's chapter
*Initialisation and symmetry* derives the argument and measures the variances through depth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from derived._validate import check_generator, check_positive_finite
from derived.mlp import MLP

__all__ = [
    "fans",
    "he_init_mlp",
    "he_normal",
    "he_std",
    "he_uniform",
    "xavier_normal",
    "xavier_std",
    "xavier_uniform",
]

Array = NDArray[np.float64]

#: The gain of He initialisation: ReLU keeps half of the second moment.
RELU_GAIN = math.sqrt(2.0)


def _shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Validate a weight shape: at least two positive ints (out, in, *kernel)."""
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence | np.ndarray):
        raise TypeError(f"shape must be a sequence of ints, got {type(shape).__name__}")
    out = []
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"shape must hold positive ints, got {tuple(shape)}")
        out.append(int(n))
    if len(out) < 2:
        raise ValueError(
            f"shape must have at least 2 entries (out, in, *kernel) to have fans, got {tuple(out)}"
        )
    return tuple(out)


def fans(shape: Sequence[int]) -> tuple[int, int]:
    r"""Return ``(fan_in, fan_out)`` of a weight of the given shape.

    For ``shape = (out, in, k1, k2, ...)``: :math:`\text{fan\_in} = \text{in} \cdot k_1 k_2
    \cdots` and :math:`\text{fan\_out} = \text{out} \cdot k_1 k_2 \cdots`, the layout of
    ``torch.nn.Linear`` and ``torch.nn.Conv2d``.

    Parameters
    ----------
    shape : sequence of int
        At least two positive entries.

    Returns
    -------
    tuple of int
        ``(fan_in, fan_out)``.

    Examples
    --------
    >>> fans((3, 5))
    (5, 3)
    >>> fans((8, 4, 3, 3))
    (36, 72)
    """
    dims = _shape(shape)
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def xavier_std(shape: Sequence[int], gain: float = 1.0) -> float:
    r"""Return the standard deviation of Xavier/Glorot initialisation.

    .. math:: \sigma = g\sqrt{2/(n_\text{in} + n_\text{out})}

    Parameters
    ----------
    shape : sequence of int
        Weight shape ``(out, in, *kernel)``.
    gain : float, default 1.0
        Multiplies the standard deviation (``torch.nn.init.calculate_gain``).

    Returns
    -------
    float

    Examples
    --------
    >>> xavier_std((2, 6))
    0.5
    """
    fan_in, fan_out = fans(shape)
    return check_positive_finite(gain, "gain") * math.sqrt(2.0 / (fan_in + fan_out))


def he_std(shape: Sequence[int], mode: str = "fan_in", gain: float = RELU_GAIN) -> float:
    r"""Return the standard deviation of He/Kaiming initialisation, :math:`g/\sqrt{n}`.

    Parameters
    ----------
    shape : sequence of int
        Weight shape ``(out, in, *kernel)``.
    mode : {"fan_in", "fan_out"}, default "fan_in"
        Which fan :math:`n` is: ``fan_in`` preserves the forward pass, ``fan_out`` the
        backward pass.
    gain : float, default sqrt(2)
        The gain of the activation; :math:`\sqrt 2` for ReLU.

    Returns
    -------
    float

    Examples
    --------
    >>> he_std((10, 8))
    0.5
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(shape)
    n = fan_in if mode == "fan_in" else fan_out
    return check_positive_finite(gain, "gain") / math.sqrt(n)


def xavier_uniform(shape: Sequence[int], *, rng: np.random.Generator, gain: float = 1.0) -> Array:
    r"""Draw a Xavier/Glorot uniform weight from :math:`U[-a, a]`.

    .. math:: a = g\sqrt{6/(n_\text{in} + n_\text{out})} = \sqrt 3\,\sigma

    Parameters
    ----------
    shape : sequence of int
        Weight shape ``(out, in, *kernel)``.
    rng : numpy.random.Generator
        The source of randomness (keyword only).
    gain : float, default 1.0
        Multiplies the bound.

    Returns
    -------
    numpy.ndarray of float64, shape ``shape``
        Entries of variance :func:`xavier_std` squared.

    Examples
    --------
    >>> W = xavier_uniform((2, 4), rng=np.random.default_rng(0))
    >>> W.shape, bool(np.all(np.abs(W) <= 1.0))
    ((2, 4), True)
    """
    bound = math.sqrt(3.0) * xavier_std(shape, gain)
    return check_generator(rng).uniform(-bound, bound, size=_shape(shape))


def xavier_normal(shape: Sequence[int], *, rng: np.random.Generator, gain: float = 1.0) -> Array:
    r"""Draw a Xavier/Glorot normal weight from :math:`N(0, 2g^2/(n_\text{in} + n_\text{out}))`.

    Parameters
    ----------
    shape : sequence of int
        Weight shape ``(out, in, *kernel)``.
    rng : numpy.random.Generator
        The source of randomness (keyword only).
    gain : float, default 1.0
        Multiplies the standard deviation.

    Returns
    -------
    numpy.ndarray of float64, shape ``shape``

    Examples
    --------
    >>> xavier_normal((3, 5), rng=np.random.default_rng(0)).shape
    (3, 5)
    """
    return check_generator(rng).normal(0.0, xavier_std(shape, gain), size=_shape(shape))


def he_uniform(
    shape: Sequence[int],
    *,
    rng: np.random.Generator,
    mode: str = "fan_in",
    gain: float = RELU_GAIN,
) -> Array:
    r"""Draw a He/Kaiming uniform weight: :math:`U[-a, a]`, :math:`a = g\sqrt{3/n}`.

    The same as ``torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")`` for the defaults.

    Parameters
    ----------
    shape : sequence of int
        Weight shape ``(out, in, *kernel)``.
    rng : numpy.random.Generator
        The source of randomness (keyword only).
    mode : {"fan_in", "fan_out"}, default "fan_in"
        Which fan :math:`n` is.
    gain : float, default sqrt(2)
        The gain of the activation.

    Returns
    -------
    numpy.ndarray of float64, shape ``shape``

    Examples
    --------
    >>> W = he_uniform((4, 6), rng=np.random.default_rng(0))
    >>> bool(np.all(np.abs(W) <= 1.0))  # bound sqrt(2) * sqrt(3 / 6) = 1
    True
    """
    bound = math.sqrt(3.0) * he_std(shape, mode, gain)
    return check_generator(rng).uniform(-bound, bound, size=_shape(shape))


def he_normal(
    shape: Sequence[int],
    *,
    rng: np.random.Generator,
    mode: str = "fan_in",
    gain: float = RELU_GAIN,
) -> Array:
    r"""Draw a He/Kaiming normal weight: :math:`N(0, g^2/n)`, :math:`g = \sqrt 2` for ReLU.

    The same as ``torch.nn.init.kaiming_normal_(w, nonlinearity="relu")`` for the defaults.

    Parameters
    ----------
    shape : sequence of int
        Weight shape ``(out, in, *kernel)``.
    rng : numpy.random.Generator
        The source of randomness (keyword only).
    mode : {"fan_in", "fan_out"}, default "fan_in"
        Which fan :math:`n` is.
    gain : float, default sqrt(2)
        The gain of the activation.

    Returns
    -------
    numpy.ndarray of float64, shape ``shape``

    Examples
    --------
    >>> he_normal((3, 5), rng=np.random.default_rng(0)).shape
    (3, 5)
    """
    return check_generator(rng).normal(0.0, he_std(shape, mode, gain), size=_shape(shape))


def he_init_mlp(
    net: MLP, *, rng: np.random.Generator, distribution: str = "uniform", gain: float = RELU_GAIN
) -> None:
    r"""Give every layer of ``net`` He/Kaiming weights and zero biases, in place.

    Layer by layer, from the first to the last, :math:`W^{(l)}` is overwritten by
    :func:`he_uniform` (or :func:`he_normal`) of its own shape, fan-in mode, so that its
    entries have variance :math:`g^2/n_{l-1}` (:math:`2/n_{l-1}` for ReLU), and
    :math:`b^{(l)}` by zeros. With ReLU between the layers this keeps the mean square of
    the pre-activations the same from layer to layer, where ``MLP``'s own default
    (that of ``torch.nn.Linear``) divides it by about 6 at every layer after a ReLU,
    down to the floor its random biases set. The weights are drawn in the order
    ``W1, W2, ...`` from ``rng``, so the same generator state gives the same network.

    Parameters
    ----------
    net : derived.mlp.MLP
        The network; its ``params`` arrays are overwritten in place (the list and the
        array objects stay the same, so an optimiser built on them keeps working).
    rng : numpy.random.Generator
        The source of randomness (keyword only).
    distribution : {"uniform", "normal"}, default "uniform"
        :math:`U[-a, a]` with :math:`a = g\sqrt{3/n_{l-1}}`, as
        ``torch.nn.init.kaiming_uniform_``, or :math:`N(0, g^2/n_{l-1})`, as
        ``torch.nn.init.kaiming_normal_``.
    gain : float, default sqrt(2)
        The gain of the activation; :math:`\sqrt 2` for ReLU.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``net`` is not an ``MLP`` or ``rng`` not a ``numpy.random.Generator``.
    ValueError
        If ``distribution`` is unknown, ``gain`` is not a finite number > 0, or a
        parameter of ``net`` is not a float64 array of the shape its layer sizes give.

    Examples
    --------
    >>> from derived.mlp import MLP
    >>> net = MLP([6, 4, 2], rng=np.random.default_rng(0))
    >>> he_init_mlp(net, rng=np.random.default_rng(1))
    >>> bool(np.all(np.abs(net.params[0]) <= 1.0))  # bound sqrt(2) * sqrt(3 / 6) = 1
    True
    >>> [float(np.abs(b).max()) for b in net.params[1::2]]
    [0.0, 0.0]
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a derived.mlp.MLP, got {type(net).__name__}")
    check_generator(rng)
    draws = {"uniform": he_uniform, "normal": he_normal}
    if distribution not in draws:
        raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")
    check_positive_finite(gain, "gain")
    if len(net.params) != 2 * (len(net.sizes) - 1):
        raise ValueError(
            f"net.params must hold a weight and a bias per layer, {2 * (len(net.sizes) - 1)} "
            f"arrays for sizes {list(net.sizes)}, got {len(net.params)}"
        )
    for layer, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True)):
        W, b = net.params[2 * layer], net.params[2 * layer + 1]
        for p, want in ((W, (n_out, n_in)), (b, (n_out,))):
            if not isinstance(p, np.ndarray) or p.dtype != np.float64 or p.shape != want:
                got = (
                    f"{p.dtype} array of shape {p.shape}"
                    if isinstance(p, np.ndarray)
                    else type(p).__name__
                )
                raise ValueError(
                    f"params of layer {layer + 1} must be float64 arrays of shapes "
                    f"{(n_out, n_in)} and {(n_out,)}, got {got}"
                )
    for W, b in zip(net.params[0::2], net.params[1::2], strict=True):
        W[...] = draws[distribution](W.shape, rng=rng, gain=gain)
        b[...] = 0.0
