"""Tests of derived.activations against torch (float64 values and autograd derivatives),
closed forms on extreme inputs, and the sigmoid-tanh conversion of whole networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.activations import (
    ACTIVATIONS,
    activation,
    derivative,
    gelu,
    leaky_relu,
    sigmoid,
    sigmoid_to_tanh,
    tanh_to_sigmoid,
)
from derived.mlp import MLP, activate

TORCH = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
    "gelu": lambda t: torch.nn.functional.gelu(t, approximate="none"),
}


def torch_value_and_grad(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = TORCH[name](t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_values_and_derivatives_match_torch(name):
    x = np.concatenate([np.linspace(-12, 12, 2001), [-1e-3, 1e-3, 0.5, -0.5]])
    y, g = torch_value_and_grad(name, x)
    # atol: torch's GELU, x (1 + erf(x / sqrt 2)) / 2, cancels for x < 0 (error ~ 1e-16)
    np.testing.assert_allclose(activation(x, name), y, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(derivative(x, name), g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivatives_match_finite_differences(name):
    x = np.random.default_rng(0).uniform(-6, 6, size=500)
    x = x[np.abs(x) > 1e-3]  # away from the kink of ReLU and leaky ReLU
    h = 1e-6
    fd = (activation(x + h, name) - activation(x - h, name)) / (2 * h)
    np.testing.assert_allclose(derivative(x, name), fd, rtol=1e-8, atol=1e-9)


def test_kinks_take_the_left_derivative_like_torch():
    for name in ("relu", "leaky_relu"):
        _, g = torch_value_and_grad(name, np.array([0.0]))
        assert derivative([0.0], name).tolist() == g.tolist()
    assert derivative([0.0], "relu").tolist() == [0.0]
    assert derivative([0.0], "leaky_relu", negative_slope=0.2).tolist() == [0.2]


def test_extreme_inputs_give_no_overflow_and_keep_relative_accuracy():
    x = np.array([-1e4, -745.0, -40.0, -20.0, 20.0, 40.0, 745.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s, ds, dt = sigmoid(x), derivative(x, "sigmoid"), derivative(x, "tanh")
        g, dg = gelu(x), derivative(x, "gelu")
    assert s[0] == 0.0
    assert s[-1] == 1.0
    # closed forms where they are representable: sigma'(x) ~ e^{-|x|}, tanh'(x) = 1/cosh^2
    mid = np.abs(x) <= 40
    np.testing.assert_allclose(ds[mid], np.exp(x[mid]) / (1 + np.exp(x[mid])) ** 2, rtol=1e-14)
    np.testing.assert_allclose(dt[mid], 1 / np.cosh(x[mid]) ** 2, rtol=1e-14)
    assert 1.0 - np.tanh(20.0) ** 2 == 0.0 < dt[3]  # the naive formula loses it all
    np.testing.assert_array_equal(g[x > 0], x[x > 0])
    assert np.all(g[x <= -40] == 0.0)
    assert np.all(dg[x <= -40] == 0.0)
    np.testing.assert_array_equal(dg[x >= 40], 1.0)


def test_gelu_keeps_its_relative_accuracy_in_the_left_tail():
    # x Phi(x) = x erfc(-x / sqrt 2) / 2, with erfc accurate for large arguments
    from scipy.special import erfc

    x = np.array([-5.0, -10.0, -20.0, -30.0])
    np.testing.assert_allclose(gelu(x), x * erfc(-x / np.sqrt(2)) / 2, rtol=1e-12)
    assert np.all(gelu(x) < 0)


def test_maximum_of_the_sigmoid_derivative_is_a_quarter_at_zero():
    x = np.linspace(-10, 10, 200_001)
    d = derivative(x, "sigmoid")
    assert d.max() == 0.25
    assert x[np.argmax(d)] == 0.0
    assert derivative([0.0], "tanh").tolist() == [1.0]


@settings(max_examples=200, deadline=None)
@given(st.floats(-700, 700))
def test_tanh_is_an_affine_sigmoid(x):
    # tanh(x) = 2 sigma(2x) - 1 and sigma(x) = (1 + tanh(x/2)) / 2
    assert abs(np.tanh(x) - (2 * sigmoid(2 * x) - 1)) <= 4e-16
    assert abs(sigmoid(x) - (1 + np.tanh(x / 2)) / 2) <= 2.3e-16


def test_leaky_relu_and_mlp_share_the_sigmoid():
    x = np.random.default_rng(1).normal(scale=5, size=100)
    np.testing.assert_array_equal(activate(x, "sigmoid"), sigmoid(x))
    np.testing.assert_array_equal(leaky_relu(x, 0.0), np.maximum(x, 0.0))


def sizes_strategy() -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(1, 6), min_size=2, max_size=6)


@settings(max_examples=40, deadline=None)
@given(sizes_strategy(), st.integers(0, 2**32 - 1))
def test_converted_networks_compute_the_same_function(sizes, seed):
    rng = np.random.default_rng(seed)
    sig = MLP(sizes, "sigmoid", rng=rng)
    for p in sig.params:
        p *= 3.0  # larger weights: the hidden units leave the linear part of the sigmoid
    tanh_net = MLP(sizes, "tanh", rng=rng)
    for p, q in zip(tanh_net.params, sigmoid_to_tanh(sig.params), strict=True):
        p[...] = q
    X = rng.normal(scale=2.0, size=(50, sizes[0]))
    y_sig, y_tanh = sig(X), tanh_net(X)
    scale = np.max(np.abs(y_sig)) + 1.0
    assert np.max(np.abs(y_sig - y_tanh)) <= 1e-12 * scale
    back = tanh_to_sigmoid(tanh_net.params)
    for p, q in zip(back, sig.params, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-15, atol=1e-15)


def test_conversion_matches_torch_layers_by_hand():
    rng = np.random.default_rng(7)
    V1, c1, V2, c2, V3, c3 = (rng.normal(size=s) for s in [(4, 3), 4, (5, 4), 5, (2, 5), 2])
    x = torch.as_tensor(rng.normal(size=(10, 3)))

    def t(a):
        return torch.as_tensor(a)

    y_tanh = torch.tanh(torch.tanh(x @ t(V1).T + t(c1)) @ t(V2).T + t(c2)) @ t(V3).T + t(c3)
    W1, b1, W2, b2, W3, b3 = tanh_to_sigmoid([V1, c1, V2, c2, V3, c3])
    y_sig = torch.sigmoid(torch.sigmoid(x @ t(W1).T + t(b1)) @ t(W2).T + t(b2)) @ t(W3).T + t(b3)
    np.testing.assert_allclose(y_sig.numpy(), y_tanh.numpy(), rtol=1e-12, atol=1e-12)


def test_single_linear_layer_is_unchanged():
    W, b = np.ones((2, 3)), np.arange(2.0)
    for f in (sigmoid_to_tanh, tanh_to_sigmoid):
        out = f([W, b])
        np.testing.assert_array_equal(out[0], W)
        assert out[0] is not W


def test_bad_input_messages():
    with pytest.raises(ValueError, match="name must be one of"):
        activation([1.0], "softplus")
    with pytest.raises(ValueError, match="name must be one of"):
        derivative([1.0], "identity")
    with pytest.raises(ValueError, match=r"negative_slope must be in \[0, 1\), got 1.5"):
        leaky_relu([1.0], 1.5)
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        derivative([1.0], "leaky_relu", negative_slope="a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="params must be a non-empty list .* got 3 entries"):
        sigmoid_to_tanh([np.ones((2, 2)), np.ones(2), np.ones((1, 2))])
    with pytest.raises(ValueError, match=r"params\[1\] \(b1\) must have shape \(2,\)"):
        sigmoid_to_tanh([np.ones((2, 2)), np.ones(3)])
    with pytest.raises(ValueError, match=r"params\[2\] \(W2\) must have 2 columns"):
        tanh_to_sigmoid([np.ones((2, 2)), np.ones(2), np.ones((1, 3)), np.ones(1)])
    with pytest.raises(ValueError, match=r"params\[0\] \(W1\) must have 2 dimension"):
        tanh_to_sigmoid([np.ones(2), np.ones(2)])
    with pytest.raises(TypeError, match="params must be a list"):
        tanh_to_sigmoid(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x must be finite"):
        sigmoid([np.nan])
