r"""Receptive fields: how much of the input one unit of a convolutional stack can see.

A unit of layer :math:`l` of a stack of convolutions (or poolings) depends on a square
window of the input, its *receptive field*. Write :math:`k_l` for the kernel size of layer
:math:`l` and :math:`s_l` for its stride. Neighbouring units of layer :math:`l - 1` sit
:math:`j_{l-1} = s_1 s_2 \cdots s_{l-1}` input pixels apart (their *jump*), so a kernel
of size :math:`k_l` over them reaches :math:`(k_l - 1)\, j_{l-1}` pixels further than one
unit of layer :math:`l - 1` does:

.. math:: r_0 = 1, \qquad r_l = r_{l-1} + (k_l - 1) \prod_{i < l} s_i .

Padding shifts the window but does not change its size (at the border part of the window
lies outside the image). With stride 1 everywhere the field grows linearly with depth,
by :math:`k - 1` per layer; every stride multiplies the growth of all later layers.
The book's chapter *Regularisation and depth* computes the fields of a small network on the digits
and checks them against the pixels on which one unit's gradient is non-zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["receptive_field"]


def _positive_ints(values: Sequence[int], name: str) -> list[int]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of positive ints, got {type(values).__name__}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise TypeError(f"{name} must contain ints, got {type(v).__name__}")
        if v < 1:
            raise ValueError(f"{name} must contain positive ints, got {int(v)}")
        out.append(int(v))
    return out


def receptive_field(kernels: Sequence[int], strides: Sequence[int] | None = None) -> list[int]:
    r"""Compute the receptive field size of every layer of a stack of convolutions.

    .. math:: r_0 = 1, \qquad r_l = r_{l-1} + (k_l - 1) \prod_{i < l} s_i

    Parameters
    ----------
    kernels : sequence of int
        The kernel sizes :math:`k_1, \dots, k_L` (square kernels), each at least 1.
    strides : sequence of int, optional
        The strides :math:`s_1, \dots, s_L`, each at least 1; all 1 if omitted.

    Returns
    -------
    list of int, length L + 1
        :math:`r_0 = 1` (a pixel sees itself), then the side of the square window of the
        input that one unit of each layer depends on.

    Examples
    --------
    >>> receptive_field([3, 3, 3])  # stride 1: two more pixels per layer
    [1, 3, 5, 7]
    >>> receptive_field([3, 2, 3], [1, 2, 1])  # a 2 x 2 pooling doubles later growth
    [1, 3, 4, 8]
    """
    k = _positive_ints(kernels, "kernels")
    s = [1] * len(k) if strides is None else _positive_ints(strides, "strides")
    if len(s) != len(k):
        raise ValueError(
            f"kernels and strides must have the same length, got {len(k)} and {len(s)}"
        )
    sizes, jump = [1], 1
    for k_l, s_l in zip(k, s, strict=True):
        sizes.append(sizes[-1] + (k_l - 1) * jump)
        jump *= s_l
    return sizes
