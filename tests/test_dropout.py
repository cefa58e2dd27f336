"""Tests of derived.dropout: expectation by simulation, gradient by finite differences, torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.dropout import DropoutMLP, dropout, dropout_backward
from derived.mlp import MLP
from oracles import numerical_gradient

N_DRAWS = 20_000


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_inverted_dropout_keeps_the_expectation(p):
    # y_i = x_i m_i / (1 - p) has mean x_i and standard deviation |x_i| sqrt(p / (1 - p)), so
    # the mean of N_DRAWS draws is within 5 standard errors of x_i except with probability
    # about 6e-7 per entry (normal approximation; N_DRAWS (1 - p) >= 4000 kept units).
    rng = np.random.default_rng(12)
    x = rng.normal(size=40)
    y, _ = dropout(np.broadcast_to(x, (N_DRAWS, x.size)), p, rng=rng)
    se = np.abs(x) * math.sqrt(p / (1 - p)) / math.sqrt(N_DRAWS)
    assert np.all(np.abs(y.mean(axis=0) - x) < 5 * se)
    # and the variance is x^2 p / (1 - p): its estimate is within 10 % here
    np.testing.assert_allclose(y.var(axis=0), x**2 * p / (1 - p), rtol=0.1)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_original_dropout_matches_its_evaluation_scaling(p):
    rng = np.random.default_rng(5)
    x = rng.normal(size=30)
    y, _ = dropout(np.broadcast_to(x, (N_DRAWS, x.size)), p, rng=rng, inverted=False)
    se = np.abs(x) * math.sqrt(p * (1 - p)) / math.sqrt(N_DRAWS)
    y_eval, mask = dropout(x, p, rng=rng, training=False, inverted=False)
    np.testing.assert_array_equal(y_eval, (1 - p) * x)
    np.testing.assert_array_equal(mask, np.full(x.shape, 1 - p))
    assert np.all(np.abs(y.mean(axis=0) - y_eval) < 5 * se)


def test_fraction_kept_is_binomial():
    p, n = 0.3, 100_000
    _, mask = dropout(np.ones(n), p, rng=np.random.default_rng(1))
    kept = np.count_nonzero(mask)
    assert abs(kept - n * (1 - p)) < 5 * math.sqrt(n * p * (1 - p))


def test_evaluation_is_the_identity_for_inverted_dropout():
    x = np.random.default_rng(2).normal(size=(4, 5))
    y, mask = dropout(x, 0.7, rng=np.random.default_rng(0), training=False)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))


@pytest.mark.parametrize("inverted", [True, False])
def test_backward_matches_finite_differences(inverted):
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(6, 7)), rng.normal(size=(6, 7))

    def loss(a: np.ndarray) -> float:  # the same mask on every call: the same seed
        return float(
            np.sum(w * dropout(a, 0.4, rng=np.random.default_rng(9), inverted=inverted)[0])
        )

    _, mask = dropout(x, 0.4, rng=np.random.default_rng(9), inverted=inverted)
    grad = dropout_backward(w, mask)
    fd = numerical_gradient(loss, x)
    np.testing.assert_allclose(grad, fd, rtol=1e-8, atol=1e-9)  # linear: only rounding left


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_scaling_and_gradient_match_torch(p):
    torch.manual_seed(0)
    x_t = torch.ones(10_000, dtype=torch.float64, requires_grad=True)
    y_t = torch.nn.functional.dropout(x_t, p, training=True)
    upstream = torch.linspace(-1, 1, 10_000, dtype=torch.float64)
    y_t.backward(upstream)
    torch_values = set(np.unique(y_t.detach().numpy()).tolist())
    y, mask = dropout(np.ones(10_000), p, rng=np.random.default_rng(0))
    assert set(np.unique(y).tolist()) == torch_values == {0.0, 1.0 / (1.0 - p)}
    # torch's backward is the same rule: the upstream gradient times its own mask
    torch_mask = y_t.detach().numpy()  # the input was all ones
    np.testing.assert_array_equal(dropout_backward(upstream.numpy(), torch_mask), x_t.grad.numpy())
    assert torch.equal(torch.nn.functional.dropout(x_t, p, training=False), x_t)


@settings(max_examples=50, deadline=None)
@given(p=st.floats(0.0, 0.99), seed=st.integers(0, 2**32 - 1), inverted=st.booleans())
def test_output_is_input_times_a_two_valued_mask(p, seed, inverted):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, 3))
    y, mask = dropout(x, p, rng=rng, inverted=inverted)
    kept_value = 1.0 / (1.0 - p) if inverted else 1.0
    assert set(np.unique(mask).tolist()) <= {0.0, kept_value}
    np.testing.assert_array_equal(y, x * mask)


def test_edge_rates_and_reproducibility():
    x = np.arange(1.0, 7.0)
    np.testing.assert_array_equal(dropout(x, 0.0, rng=np.random.default_rng(0))[0], x)
    np.testing.assert_array_equal(dropout(x, 1.0, rng=np.random.default_rng(0))[0], np.zeros(6))
    a = dropout(x, 0.5, rng=np.random.default_rng(4))[0]
    b = dropout(x, 0.5, rng=np.random.default_rng(4))[0]
    np.testing.assert_array_equal(a, b)
    assert dropout(np.zeros((0, 3)), 0.5, rng=np.random.default_rng(0))[0].shape == (0, 3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: dropout([1.0], 1.5, rng=np.random.default_rng()), ValueError, "p must be a prob"),
        (lambda: dropout([1.0], -0.1, rng=np.random.default_rng()), ValueError, "p must be a pr"),
        (lambda: dropout([1.0], math.nan, rng=np.random.default_rng()), ValueError, "p must be"),
        (lambda: dropout([1.0], "0.5", rng=np.random.default_rng()), TypeError, "p must be a re"),
        (lambda: dropout([1.0], True, rng=np.random.default_rng()), TypeError, "p must be a re"),
        (lambda: dropout([1.0], 0.5, rng=1), TypeError, "rng must be a numpy.random.Generator"),
        (
            lambda: dropout([1.0], 0.5, rng=np.random.default_rng(), training="yes"),
            TypeError,
            "training and inverted must be bools",
        ),
        (lambda: dropout([np.nan], 0.5, rng=np.random.default_rng()), ValueError, "x must be fin"),
        (lambda: dropout_backward([1.0, 2.0], [1.0]), ValueError, "dout and mask must have the"),
        (lambda: dropout_backward(["a"], [1.0]), TypeError, "dout must contain real numbers"),
    ],
)
def test_bad_input_is_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _torch_forward(net: DropoutMLP, X: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The same network in torch, with the masks of net's last forward pass."""
    params = [torch.tensor(q, requires_grad=True) for q in net.params]
    a = torch.from_numpy(X)
    n_layers = len(params) // 2
    assert net.masks is not None
    for layer in range(n_layers):
        a = a @ params[2 * layer].T + params[2 * layer + 1]
        if layer < n_layers - 1:
            a = torch.relu(a) * torch.from_numpy(net.masks[layer])
    return a, params


@pytest.mark.parametrize("p", [0.0, 0.3, 0.7])
def test_dropout_mlp_gradients_match_torch(p):
    rng = np.random.default_rng(4)
    net = DropoutMLP([5, 7, 6, 3], p, rng=rng)
    X, dout = rng.normal(size=(9, 5)), rng.normal(size=(9, 3))
    out = net.forward(X)
    grads = net.backward(dout)
    out_t, params = _torch_forward(net, X)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    out_t.backward(torch.from_numpy(dout))
    for g, q in zip(grads, params, strict=True):
        np.testing.assert_allclose(g, q.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_dropout_mlp_masks_are_inverted_dropout_masks():
    net = DropoutMLP([4, 2000, 3], 0.25, rng=np.random.default_rng(0))
    net.forward(np.ones((50, 4)))
    assert net.masks is not None
    mask = net.masks[0]
    assert set(np.unique(mask).tolist()) == {0.0, 1 / 0.75}
    kept = np.count_nonzero(mask) / mask.size  # 100 000 Bernoulli(0.75) draws
    assert abs(kept - 0.75) < 5 * math.sqrt(0.75 * 0.25 / mask.size)
    first = mask.copy()
    net.forward(np.ones((50, 4)))
    assert not np.array_equal(net.masks[0], first)  # fresh masks at every forward pass


def test_dropout_mlp_is_the_plain_mlp_at_evaluation_and_with_rate_zero():
    X = np.random.default_rng(1).normal(size=(6, 4))
    plain = MLP([4, 8, 8, 3], rng=np.random.default_rng(2))
    want = plain.forward(X)
    want_grads = plain.backward(np.ones((6, 3)))
    zero = DropoutMLP([4, 8, 8, 3], 0.0, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(zero.forward(X), want)
    for g, h in zip(zero.backward(np.ones((6, 3))), want_grads, strict=True):
        np.testing.assert_allclose(g, h, rtol=1e-14, atol=1e-15)
    half = DropoutMLP([4, 8, 8, 3], 0.5, rng=np.random.default_rng(2))
    half.training = False
    np.testing.assert_array_equal(half.forward(X), want)
    half.training = True
    assert not np.allclose(half.forward(X), want)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: DropoutMLP([3, 2], 1.0, rng=np.random.default_rng()),
            ValueError,
            "p must be below 1",
        ),
        (
            lambda: DropoutMLP([3, 2], -0.1, rng=np.random.default_rng()),
            ValueError,
            "p must be a prob",
        ),
        (lambda: DropoutMLP([3], 0.5, rng=np.random.default_rng()), ValueError, "at least 2"),
        (lambda: DropoutMLP([3, 2], 0.5, rng=None), TypeError, "rng must be"),
        (
            lambda: DropoutMLP([3, 2], 0.5, rng=np.random.default_rng()).forward(np.ones((2, 4))),
            ValueError,
            "X must have shape",
        ),
        (
            lambda: DropoutMLP([3, 2], 0.5, rng=np.random.default_rng()).backward(np.ones((2, 2))),
            RuntimeError,
            "needs a forward",
        ),
    ],
)
def test_dropout_mlp_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_dropout_mlp_backward_checks_the_shape():
    net = DropoutMLP([3, 4, 2], 0.5, rng=np.random.default_rng(0))
    net.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        net.backward(np.ones((5, 3)))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "identity"])
def test_dropout_mlp_gradients_match_torch_for_every_activation(activation):
    # the backward pass reads f'(s) from the cached f(s): checked against autograd
    rng = np.random.default_rng(5)
    net = DropoutMLP([4, 6, 5, 3], 0.4, activation, rng=rng)
    X, dout = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    out = net.forward(X)
    grads = net.backward(dout)
    assert net.masks is not None
    f = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda t: t}[activation]
    params = [torch.tensor(q, requires_grad=True) for q in net.params]
    a = torch.from_numpy(X)
    for layer in range(3):
        a = a @ params[2 * layer].T + params[2 * layer + 1]
        if layer < 2:
            a = f(a) * torch.from_numpy(net.masks[layer])
    np.testing.assert_allclose(out, a.detach().numpy(), rtol=1e-12, atol=1e-14)
    a.backward(torch.from_numpy(dout))
    for g, q in zip(grads, params, strict=True):
        np.testing.assert_allclose(g, q.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_dropout_mlp_draws_the_same_numbers_whatever_the_rate():
    # one uniform draw per hidden unit and example, thresholded at p: the same generator
    # gives the same stream at every rate, and the units dropped at a lower rate are
    # dropped at every higher one (brute force over the masks)
    X = np.random.default_rng(0).normal(size=(20, 4))
    rngs, nets = {}, {}
    for p in (0.0, 0.2, 0.5, 0.8):
        rngs[p] = np.random.default_rng(9)
        nets[p] = DropoutMLP([4, 30, 30, 2], p, rng=rngs[p])
        nets[p].forward(X)
    states = [r.bit_generator.state for r in rngs.values()]
    assert all(state == states[0] for state in states)
    rates = sorted(nets)
    for low, high in zip(rates, rates[1:], strict=False):
        for m_low, m_high in zip(nets[low].masks, nets[high].masks, strict=True):
            assert np.all((m_low == 0) <= (m_high == 0))  # dropped at low => dropped at high


def test_dropout_mlp_training_switch_must_be_a_bool():
    net = DropoutMLP([3, 4, 2], 0.5, rng=np.random.default_rng(0))
    net.training = "no"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="training must be a bool"):
        net.forward(np.ones((2, 3)))
