"""receptive_field against the support of one unit's gradient in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from derived.receptive import receptive_field


def measured(kernels: list[int], strides: list[int], size: int = 64) -> list[int]:
    """The side of the input window on which a central unit of each layer depends."""
    torch.manual_seed(0)
    layers = [
        torch.nn.Conv2d(1, 1, k, stride=s, padding=0, dtype=torch.float64)
        for k, s in zip(kernels, strides, strict=True)
    ]
    for conv in layers:
        torch.nn.init.uniform_(conv.weight, 0.5, 1.5)  # no cancellation: positive weights
    out = [1]
    for depth in range(1, len(layers) + 1):
        x = torch.rand(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        h = x
        for conv in layers[:depth]:
            h = conv(h)
        c = h.shape[-1] // 2
        h[0, 0, c, c].backward()
        rows = np.flatnonzero(x.grad[0, 0].abs().sum(axis=1).numpy())
        out.append(int(rows[-1] - rows[0] + 1))
    return out


@pytest.mark.parametrize(
    ("kernels", "strides"),
    [
        ([3, 3, 3, 3], [1, 1, 1, 1]),
        ([5, 3, 3], [2, 2, 1]),
        ([3, 2, 3, 2, 3], [1, 2, 1, 2, 1]),
        ([1, 7], [3, 1]),
    ],
)
def test_matches_the_gradient_support(kernels, strides):
    assert receptive_field(kernels, strides) == measured(kernels, strides)


def test_defaults_and_empty():
    assert receptive_field([3, 3]) == receptive_field([3, 3], [1, 1]) == [1, 3, 5]
    assert receptive_field([]) == [1]


@pytest.mark.parametrize(
    ("kernels", "strides", "error"),
    [
        ([3, 0], None, ValueError),
        ([3, 2.0], None, TypeError),
        ("33", None, TypeError),
        ([3, True], None, TypeError),
        ([3, 3], [1], ValueError),
        ([3], [0], ValueError),
    ],
)
def test_bad_input(kernels, strides, error):
    with pytest.raises(error, match="kernels|strides"):
        receptive_field(kernels, strides)
