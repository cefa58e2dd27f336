r"""Stacked affine layers collapse into one: composition and the rank bottleneck.

A layer without activation is an affine map :math:`z \mapsto Wz + b`. Two of them compose
to one,

.. math::

    W_2(W_1 z + b_1) + b_2 = (W_2 W_1) z + (W_2 b_1 + b_2),

and by induction :math:`D` of them compose to :math:`z \mapsto W z + b` with
:math:`W = W_D \cdots W_1` and :math:`b = b_D + W_D b_{D-1} + W_D W_{D-1} b_{D-2} + \dots`,
computed here by the recursion :math:`(W, b) \leftarrow (W_d W, W_d b + b_d)`. Depth
without non-linearity adds no expressive power, and it can remove some: the rank of
:math:`W_D \cdots W_1` is at most the smallest width along the way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import layer_params

__all__ = ["compose_affine"]

Array = NDArray[np.float64]


def compose_affine(params: Sequence[ArrayLike]) -> tuple[Array, Array]:
    r"""Collapse affine layers ``[W1, b1, ..., WD, bD]`` into one ``(W, b)``.

    Parameters
    ----------
    params : sequence of array_like
        ``W_d`` of shape ``(n_d, n_{d-1})`` and ``b_d`` of shape ``(n_d,)``, as
        ``derived.mlp.MLP.params``; at least one layer.

    Returns
    -------
    W : numpy.ndarray of float64, shape (n_D, n_0)
        :math:`W_D \cdots W_1`.
    b : numpy.ndarray of float64, shape (n_D,)
        The composed bias, so that the layers map :math:`z` to :math:`Wz + b`.

    Examples
    --------
    >>> W, b = compose_affine([[[2.0]], [1.0], [[3.0]], [-1.0]])
    >>> W.tolist(), b.tolist()
    ([[6.0]], [2.0])
    """
    layers = layer_params(params)
    W, b = layers[0], layers[1]
    for Wd, bd in zip(layers[2::2], layers[3::2], strict=True):
        W, b = Wd @ W, Wd @ b + bd  # (n_d, n_0), (n_d,)
    return W, b
