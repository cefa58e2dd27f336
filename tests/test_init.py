"""Tests of derived.init: the variance formulas, and torch.nn.init's bounds and std."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.init import (
    fans,
    he_init_mlp,
    he_normal,
    he_std,
    he_uniform,
    xavier_normal,
    xavier_std,
    xavier_uniform,
)
from derived.mlp import MLP

SHAPES = [(300, 200), (64, 1000), (16, 8, 3, 3), (7, 5, 2, 3, 4)]


def sample_variance_within(w: np.ndarray, var: float, kurtosis_excess: float) -> None:
    """The sample variance of m iid entries is within 5 standard errors of var.

    The standard error of the sample variance is sqrt((mu4 - var^2) / m) with
    mu4 = (3 + excess kurtosis) var^2: 2 var^2 / m for a normal, 0.8 var^2 / m for a uniform.
    """
    m = w.size
    se = var * math.sqrt((2.0 + kurtosis_excess) / m)
    assert abs(float(np.mean(w**2)) - var) < 5 * se  # the mean is 0, known exactly


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert fans(shape) == expected


def test_closed_forms():
    assert xavier_std((2, 6)) == 0.5
    assert xavier_std((2, 6), gain=2.0) == 1.0
    assert he_std((10, 8)) == 0.5
    assert he_std((8, 10), mode="fan_out") == 0.5
    assert he_std((1, 4), gain=1.0) == 0.5


@pytest.mark.parametrize("shape", SHAPES)
def test_normal_variances_follow_the_formulas(shape):
    rng = np.random.default_rng(1)
    fan_in, fan_out = fans(shape)
    sample_variance_within(xavier_normal(shape, rng=rng), 2.0 / (fan_in + fan_out), 0.0)
    sample_variance_within(he_normal(shape, rng=rng), 2.0 / fan_in, 0.0)
    sample_variance_within(he_normal(shape, rng=rng, mode="fan_out"), 2.0 / fan_out, 0.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_uniform_variances_and_bounds_follow_the_formulas(shape):
    rng = np.random.default_rng(2)
    fan_in, fan_out = fans(shape)
    w = xavier_uniform(shape, rng=rng)
    assert np.abs(w).max() <= math.sqrt(6.0 / (fan_in + fan_out))
    sample_variance_within(w, 2.0 / (fan_in + fan_out), -1.2)  # uniform: excess kurtosis -6/5
    w = he_uniform(shape, rng=rng)
    assert np.abs(w).max() <= math.sqrt(6.0 / fan_in)
    sample_variance_within(w, 2.0 / fan_in, -1.2)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda s, r: xavier_uniform(s, rng=r), torch.nn.init.xavier_uniform_),
        (
            lambda s, r: he_uniform(s, rng=r),
            lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu"),
        ),
        (
            lambda s, r: he_uniform(s, rng=r, mode="fan_out"),
            lambda t: torch.nn.init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
        ),
        (
            lambda s, r: xavier_uniform(s, rng=r, gain=5 / 3),
            lambda t: torch.nn.init.xavier_uniform_(t, gain=torch.nn.init.calculate_gain("tanh")),
        ),
    ],
)
def test_uniform_bounds_match_torch(ours, theirs):
    # With 10^6 draws, the largest |w| lies within 1e-4 of the bound unless an event of
    # probability (1 - 1e-4)^(10^6) = e^-100 happens: torch's bound is pinned to 1e-4.
    shape = (1000, 1000)
    torch.manual_seed(0)
    torch_max = float(theirs(torch.empty(shape, dtype=torch.float64)).abs().max())
    our_max = float(np.abs(ours(shape, np.random.default_rng(3))).max())
    assert our_max <= torch_max / (1 - 1e-4)
    assert torch_max <= our_max / (1 - 1e-4)


@pytest.mark.parametrize("shape", [(500, 400), (32, 16, 3, 3)])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_normal_std_matches_torch(shape, mode):
    torch.manual_seed(0)
    w = torch.nn.init.kaiming_normal_(torch.empty(shape, dtype=torch.float64), mode=mode)
    sample_variance_within(w.numpy(), he_std(shape, mode) ** 2, 0.0)
    w = torch.nn.init.xavier_normal_(torch.empty(shape, dtype=torch.float64), gain=1.5)
    sample_variance_within(w.numpy(), xavier_std(shape, gain=1.5) ** 2, 0.0)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=2, max_size=4).map(tuple),
    gain=st.floats(0.1, 3.0),
)
def test_std_formulas_match_torch_for_any_shape(shape, gain):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert math.isclose(xavier_std(shape, gain), gain * math.sqrt(2 / (fan_in + fan_out)))
    assert math.isclose(he_std(shape, "fan_in", gain), gain / math.sqrt(fan_in))
    assert math.isclose(he_std(shape, "fan_out", gain), gain / math.sqrt(fan_out))


def test_same_seed_same_weights_and_shapes():
    for draw in (xavier_uniform, xavier_normal, he_uniform, he_normal):
        a = draw((4, 3, 2), rng=np.random.default_rng(7))
        b = draw((4, 3, 2), rng=np.random.default_rng(7))
        assert a.shape == (4, 3, 2)
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: fans((5,)), ValueError, "shape must have at least 2"),
        (lambda: fans((3, 0)), ValueError, "shape must hold positive ints"),
        (lambda: fans((3, 2.5)), ValueError, "shape must hold positive ints"),
        (lambda: fans((3, True)), ValueError, "shape must hold positive ints"),
        (lambda: fans("34"), TypeError, "shape must be a sequence"),
        (lambda: fans(3), TypeError, "shape must be a sequence"),
        (lambda: xavier_std((3, 4), gain=0.0), ValueError, "gain must be a finite number > 0"),
        (lambda: xavier_std((3, 4), gain=math.nan), ValueError, "gain must be a finite"),
        (lambda: xavier_std((3, 4), gain="1"), TypeError, "gain must be a real number"),
        (lambda: he_std((3, 4), mode="fan_avg"), ValueError, "mode must be 'fan_in' or"),
        (lambda: he_normal((3, 4), rng=0), TypeError, "rng must be a numpy.random.Generator"),
        (lambda: xavier_uniform((3, 4), rng=None), TypeError, "rng must be a numpy.random"),
    ],
)
def test_bad_input_is_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_he_init_mlp_weights_have_he_variance_and_zero_biases(distribution):
    net = MLP([400, 600, 300, 10], rng=np.random.default_rng(4))
    arrays = [id(p) for p in net.params]
    he_init_mlp(net, rng=np.random.default_rng(5), distribution=distribution)
    assert [id(p) for p in net.params] == arrays  # overwritten in place
    excess = -1.2 if distribution == "uniform" else 0.0
    for W, b in zip(net.params[0::2], net.params[1::2], strict=True):
        assert W.dtype == np.float64
        sample_variance_within(W, 2.0 / W.shape[1], excess)  # he_std squared, fan-in
        assert math.isclose(he_std(W.shape) ** 2, 2.0 / W.shape[1])
        if distribution == "uniform":
            assert np.abs(W).max() <= math.sqrt(6.0 / W.shape[1])  # kaiming_uniform_'s bound
        np.testing.assert_array_equal(b, 0.0)


def test_he_init_mlp_matches_torch_kaiming_bound_and_gain():
    net = MLP([1000, 1000], rng=np.random.default_rng(6))
    he_init_mlp(net, rng=np.random.default_rng(7))
    torch.manual_seed(0)
    w_t = torch.nn.init.kaiming_uniform_(
        torch.empty(1000, 1000, dtype=torch.float64), nonlinearity="relu"
    )
    ratio = float(np.abs(net.params[0]).max()) / float(w_t.abs().max())
    assert abs(ratio - 1) < 1e-4  # the same bound (see test_uniform_bounds_match_torch)
    he_init_mlp(net, rng=np.random.default_rng(7), gain=1.0)
    sample_variance_within(net.params[0], 1.0 / 1000, -1.2)


def test_he_init_mlp_keeps_the_relu_forward_signal():
    # The point of the scheme: E[s^2] is about 2 E[x^2] at every layer, where MLP's own
    # default divides it by about 3 at the first layer and by about 6 after a ReLU.
    X = np.random.default_rng(8).normal(size=(256, 500))
    net = MLP([500] * 6, rng=np.random.default_rng(9))
    net.forward(X)
    default = np.array([np.mean(s**2) for s in net.pre_activations])
    he_init_mlp(net, rng=np.random.default_rng(9))
    net.forward(X)
    he = np.array([np.mean(s**2) for s in net.pre_activations])
    np.testing.assert_allclose(he / np.mean(X**2), 2.0, rtol=0.15)
    assert math.isclose(default[0] / np.mean(X**2), 1 / 3, rel_tol=0.15)
    assert math.isclose(default[1] / default[0], 1 / 6, rel_tol=0.15)  # later: a bias floor


def test_he_init_mlp_is_reproducible_and_draws_in_layer_order():
    a = MLP([5, 4, 3], rng=np.random.default_rng(0))
    b = MLP([5, 4, 3], rng=np.random.default_rng(1))
    he_init_mlp(a, rng=np.random.default_rng(2))
    he_init_mlp(b, rng=np.random.default_rng(2))
    for p, q in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(p, q)
    rng = np.random.default_rng(2)
    first, second = he_uniform((4, 5), rng=rng), he_uniform((3, 4), rng=rng)
    np.testing.assert_array_equal(a.params[0], first)
    np.testing.assert_array_equal(a.params[2], second)


def _net_with_param(index, value):
    net = MLP([3, 4, 2], rng=np.random.default_rng(0))
    net.params[index] = value
    return net


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: he_init_mlp([np.zeros((2, 3))], rng=np.random.default_rng(0)),
            TypeError,
            "net must be a derived.mlp.MLP, got list",
        ),
        (
            lambda: he_init_mlp(MLP([3, 2], rng=np.random.default_rng(0)), rng=0),
            TypeError,
            "rng must be a numpy.random.Generator",
        ),
        (
            lambda: he_init_mlp(
                MLP([3, 2], rng=np.random.default_rng(0)),
                rng=np.random.default_rng(0),
                distribution="gaussian",
            ),
            ValueError,
            "distribution must be 'uniform' or 'normal', got 'gaussian'",
        ),
        (
            lambda: he_init_mlp(
                MLP([3, 2], rng=np.random.default_rng(0)), rng=np.random.default_rng(0), gain=-1.0
            ),
            ValueError,
            "gain must be a finite number > 0",
        ),
        (
            lambda: he_init_mlp(_net_with_param(2, np.zeros((2, 5))), rng=np.random.default_rng(0)),
            ValueError,
            r"params of layer 2 must be float64 arrays of shapes \(2, 4\) and \(2,\), "
            r"got float64 array of shape \(2, 5\)",
        ),
        (
            lambda: he_init_mlp(
                _net_with_param(1, np.zeros(4, dtype=np.float32)), rng=np.random.default_rng(0)
            ),
            ValueError,
            "got float32 array",
        ),
        (
            lambda: he_init_mlp(_net_with_param(0, [[0.0] * 3] * 4), rng=np.random.default_rng(0)),
            ValueError,
            "got list",
        ),
    ],
)
def test_he_init_mlp_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_he_init_mlp_rejects_missing_params_and_changes_nothing_on_error():
    net = MLP([3, 4, 2], rng=np.random.default_rng(0))
    before = [p.copy() for p in net.params]
    net.params[3] = np.zeros(3)  # the last bias has the wrong shape
    with pytest.raises(ValueError, match="params of layer 2"):
        he_init_mlp(net, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(net.params[0], before[0])  # layer 1 untouched
    del net.params[3]
    with pytest.raises(ValueError, match="must hold a weight and a bias per layer, 4 arrays"):
        he_init_mlp(net, rng=np.random.default_rng(0))
