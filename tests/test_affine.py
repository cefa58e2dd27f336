"""Tests of derived.affine: the collapsed layer against torch's stacked nn.Linear layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.affine import compose_affine
from derived.mlp import MLP


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=2, max_size=7), st.integers(0, 2**32 - 1))
def test_collapsed_layer_matches_torch_stack(sizes, seed):
    rng = np.random.default_rng(seed)
    params = []
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        W, b = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
        params += [W, b]
        lin = torch.nn.Linear(n_in, n_out).double()
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(W))
            lin.bias.copy_(torch.as_tensor(b))
        layers.append(lin)
    X = rng.normal(size=(20, sizes[0]))
    with torch.no_grad():
        expected = torch.nn.Sequential(*layers)(torch.as_tensor(X)).numpy()
    W, b = compose_affine(params)
    assert W.shape == (sizes[-1], sizes[0])
    scale = np.max(np.abs(expected)) + 1.0
    assert np.max(np.abs(X @ W.T + b - expected)) <= 1e-12 * scale


def test_identity_mlp_collapses_and_rank_is_bounded_by_the_bottleneck():
    # homework 003, question 6.2: x in R^10, W1 of shape (2, 10), W2 of shape (10, 2)
    net = MLP([10, 2, 10], "identity", rng=np.random.default_rng(0))
    W, b = compose_affine(net.params)
    X = np.random.default_rng(1).normal(size=(30, 10))
    np.testing.assert_allclose(net(X), X @ W.T + b, rtol=1e-13, atol=1e-14)
    assert np.linalg.matrix_rank(W) == 2
    s = np.linalg.svd(W, compute_uv=False)
    assert s[1] > 1e-3
    assert np.all(s[2:] < 1e-15 * s[0])


def test_bad_params_are_rejected():
    with pytest.raises(ValueError, match="even length, got 3 entries"):
        compose_affine([np.ones((1, 1)), np.ones(1), np.ones((1, 1))])
    with pytest.raises(ValueError, match=r"params\[1\] \(b1\) must have shape \(2,\)"):
        compose_affine([np.ones((2, 1)), np.ones(1)])
    with pytest.raises(ValueError, match=r"params\[2\] \(W2\) must have 2 columns"):
        compose_affine([np.ones((2, 1)), np.ones(2), np.ones((1, 3)), np.ones(1)])
    with pytest.raises(ValueError, match=r"params\[3\] \(b2\) must have shape \(1,\)"):
        compose_affine([np.ones((2, 1)), np.ones(2), np.ones((1, 2)), np.ones(2)])
    with pytest.raises(ValueError, match=r"params\[0\] \(W1\) must be finite"):
        compose_affine([np.full((1, 1), np.nan), np.ones(1)])
    with pytest.raises(TypeError, match="params must be a list"):
        compose_affine(None)  # type: ignore[arg-type]
