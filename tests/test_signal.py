"""Tests of derived.signal: rates and coherence against direct computations, the deep
networks' backward pass against torch, and the ReLU random walk against its theory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from derived.activations import activation, derivative
from derived.signal import (
    batch_coherence,
    coherence,
    gaussian_mlp,
    hidden_errors,
    mean_field_rates,
    per_layer_rate,
    rate_against_gain,
    relu_log_shrink,
    typical_rate,
)


def test_gaussian_mlp_weights_have_the_variance_asked_for():
    net = gaussian_mlp([200, 300, 1], "tanh", 2.0, seed=3)
    W = net.params[0]
    assert abs(W.mean()) < 0.01
    assert abs(W.var() * 200 / 2.0 - 1) < 0.02  # 60 000 draws: std error 0.6 %
    assert np.max(np.abs(net.params[1])) <= 1 / np.sqrt(200)  # biases: the MLP's own draw


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_gaussian_mlp_backward_matches_torch(name):
    sizes = [8, 16, 16, 1]
    net = gaussian_mlp(sizes, name, 1.5, seed=1)
    X = np.random.default_rng(2).normal(size=(5, 8))
    grads = net.backward(np.ones_like(net(X)) / len(X))
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[name]
    ps = [torch.tensor(p, requires_grad=True) for p in net.params]
    h = torch.tensor(X)
    for i in range(0, len(ps) - 2, 2):
        h = f(h @ ps[i].T + ps[i + 1])
    (h @ ps[-2].T + ps[-1]).mean().backward()
    for g, p in zip(grads, ps, strict=True):
        assert np.allclose(g, p.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_typical_rate_is_the_root_mean_square_of_the_derivative():
    z = np.random.default_rng(0).normal(size=(7, 5))
    for name in ("sigmoid", "tanh", "relu", "gelu"):
        direct = np.sqrt(3.0 * np.mean([derivative([v], name)[0] ** 2 for v in z.ravel()]))
        assert np.isclose(typical_rate(z, name, gain=3.0), direct, rtol=1e-14)
    assert typical_rate(np.zeros((1, 4)), "tanh") == 1.0


def test_per_layer_rate_recovers_a_geometric_decay():
    rng = np.random.default_rng(1)
    start = rng.uniform(1, 2, size=10)
    norms = np.array([start * 0.7 ** (5 - k) for k in range(6)])  # layer 1 first
    assert np.isclose(per_layer_rate(norms), 0.7, rtol=1e-14)
    with pytest.raises(ValueError, match="norms"):
        per_layer_rate(norms[:1])
    with pytest.raises(ValueError, match="positive"):
        per_layer_rate(-norms)


def test_batch_coherence_against_a_loop_and_its_limits():
    rng = np.random.default_rng(2)
    delta, h = rng.normal(size=(50, 3)), rng.normal(size=(50, 4))
    mean = sum(np.outer(d, x) for d, x in zip(delta, h, strict=True)) / 50
    each = np.mean([np.linalg.norm(np.outer(d, x)) for d, x in zip(delta, h, strict=True)])
    assert np.isclose(batch_coherence(delta, h), np.linalg.norm(mean) / each, rtol=1e-13)
    same = np.tile(delta[:1], (50, 1)), np.abs(h) * 0 + h[:1]
    assert np.isclose(batch_coherence(*same), 1.0, rtol=1e-14)
    # independent zero-mean unit rows: the squared coherence has expectation exactly 1/N
    big_d, big_h = rng.normal(size=(1000, 30)), rng.normal(size=(1000, 40))
    big_d /= np.linalg.norm(big_d, axis=1, keepdims=True)
    big_h /= np.linalg.norm(big_h, axis=1, keepdims=True)
    assert abs(batch_coherence(big_d, big_h) * np.sqrt(1000) - 1) < 0.1
    with pytest.raises(ValueError, match="one row per example"):
        batch_coherence(delta, h[:3])
    with pytest.raises(ValueError, match="zero"):
        batch_coherence(np.zeros((2, 3)), h[:2])


def test_relu_walk_has_the_predicted_drift_and_spread():
    depth, n = 30, 64
    walk = relu_log_shrink(n, n_nets=400, depth=depth, seed=5)
    drift, var = -5 * (depth - 1) / (4 * n), 5 * (depth - 1) / (4 * n)
    assert abs(walk.mean() - drift) < 3 * np.sqrt(var / walk.size)
    assert abs(walk.var() / var - 1) < 0.25
    assert np.array_equal(walk, relu_log_shrink(n, n_nets=400, depth=depth, seed=5))


def test_relu_walk_matches_an_explicit_loop():
    walk = relu_log_shrink(6, n_nets=2, depth=4, seed=9)
    for r in range(2):
        Ws = [
            np.random.default_rng([9, 6, layer]).normal(scale=np.sqrt(2 / 6), size=(2, 6, 6))[r]
            for layer in range(4)
        ]
        h = np.random.default_rng([9, 6]).normal(size=(2, 6))[r]
        zs = []
        for W in Ws:
            zs.append(W @ h)
            h = np.maximum(zs[-1], 0)
        d = np.random.default_rng([9, 6, 4]).normal(size=(2, 6))[r] * (zs[-1] > 0)
        start = np.linalg.norm(d)
        for layer in (2, 1, 0):
            d = (Ws[layer + 1].T @ d) * (zs[layer] > 0)
        assert np.isclose(walk[r], np.log(np.linalg.norm(d) / start), rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: relu_log_shrink(0), "width"),
        (lambda: relu_log_shrink(4, depth=1), "depth"),
        (lambda: relu_log_shrink(4, seed=1.5), "seed"),
        (lambda: gaussian_mlp([2, 1], "relu", -1.0), "gain"),
        (lambda: typical_rate([1.0, 2.0], "relu"), "z"),
        (lambda: mean_field_rates("softsign", 1.0, 3), "name"),
        (lambda: mean_field_rates("tanh", 0.0, 3), "gain"),
        (lambda: mean_field_rates("tanh", 1.0, 0), "depth"),
        (lambda: mean_field_rates("tanh", 1.0, 2.5), "depth"),
        (lambda: mean_field_rates("tanh", 1.0, 3, input_ms=-1.0), "input_ms"),
        (lambda: mean_field_rates("tanh", 1.0, 3, bias_var=np.nan), "bias_var"),
        (lambda: mean_field_rates("tanh", 1.0, 3, bias_var=-0.1), "bias_var"),
        (lambda: mean_field_rates("tanh", 1.0, 3, nodes=1), "nodes"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_coherence_is_batch_coherence_with_unit_inputs():
    a = np.random.default_rng(3).normal(size=(40, 5))
    direct = np.linalg.norm(a.sum(axis=0)) / np.linalg.norm(a, axis=1).sum()
    assert np.isclose(coherence(a), direct, rtol=1e-14)
    assert np.isclose(coherence(np.tile(a[:1], (7, 1))), 1.0, rtol=1e-14)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_hidden_errors_match_the_mlp(name):
    net = gaussian_mlp([6, 9, 9, 9, 1], name, 1.7, seed=4)
    X = np.random.default_rng(5).normal(size=(11, 6))
    net(X)
    net.backward(np.ones((11, 1)) / 11)
    deltas, inputs = hidden_errors(net.params, X, name)
    assert len(deltas) == len(inputs) == 3
    for mine, theirs in zip(deltas, net.deltas[:3], strict=True):
        assert np.allclose(mine, theirs, rtol=1e-13, atol=1e-16)
    assert np.array_equal(inputs[0], X)
    assert np.allclose(inputs[1], activation(net.pre_activations[0], name), rtol=1e-14)


def test_hidden_errors_of_leaky_relu_against_torch():
    net = gaussian_mlp([5, 8, 8, 1], "relu", 2.0, seed=6)
    X = np.random.default_rng(7).normal(size=(9, 5))
    deltas, _ = hidden_errors(net.params, X, "leaky_relu", negative_slope=0.2)
    ps = [torch.tensor(p) for p in net.params]
    z1 = (torch.tensor(X) @ ps[0].T + ps[1]).requires_grad_(True)
    z2 = torch.nn.functional.leaky_relu(z1, 0.2) @ ps[2].T + ps[3]
    z2.retain_grad()
    (torch.nn.functional.leaky_relu(z2, 0.2) @ ps[4].T + ps[5]).mean().backward()
    assert np.allclose(deltas[0], z1.grad.numpy(), rtol=1e-12, atol=1e-16)
    assert np.allclose(deltas[1], z2.grad.numpy(), rtol=1e-12, atol=1e-16)
    with pytest.raises(ValueError, match="one output"):
        hidden_errors(net.params[:2], X, "relu")


def test_rate_against_gain_follows_the_relu_formula():
    X = np.random.default_rng(8).normal(size=(128, 48))
    gains = np.array([1.0, 2.0, 4.0])
    rho = rate_against_gain("relu", gains, X, depth=6)
    assert np.allclose(rho, np.sqrt(gains / 2), rtol=0.08)  # about half the units active
    assert np.all(np.diff(rate_against_gain("sigmoid", gains, X, depth=6)) > 0)


@pytest.mark.parametrize(("name", "gain"), [("tanh", 1.5), ("sigmoid", 4.0), ("relu", 2.0)])
def test_mean_field_variances_match_wide_random_networks(name, gain):
    # 16 networks of width 1000: one network's mean square fluctuates by a few % through the
    # activations' common mean (sigmoid, ReLU), so the mean square is averaged over networks
    n, N, depth, nets, bias_var = 1000, 32, 3, 16, 0.05
    rng = np.random.default_rng([7, n])
    x = rng.normal(scale=0.8, size=(N, n))
    rates, q = mean_field_rates(name, gain, depth, input_ms=float(np.mean(x**2)), bias_var=bias_var)
    mean_square, rate_square = np.zeros(depth), np.zeros(depth)
    for _ in range(nets):
        h = x
        for layer in range(depth):
            W = rng.normal(scale=np.sqrt(gain / n), size=(n, n))
            z = h @ W.T + rng.normal(scale=np.sqrt(bias_var), size=n)
            mean_square[layer] += np.mean(z**2) / nets
            rate_square[layer] += typical_rate(z, name, gain) ** 2 / nets
            h = activation(z, name)
    assert np.all(np.abs(mean_square / q - 1) < 0.04)  # the per-layer mean square
    assert np.all(np.abs(np.sqrt(rate_square) / rates - 1) < 0.01)


def test_mean_field_rates_are_exact_for_relu_and_settle_for_tanh():
    rates, q = mean_field_rates("relu", 3.0, 4, input_ms=0.5)
    assert np.allclose(q, 1.5 * 1.5 ** np.arange(4), rtol=1e-12)  # q_{l+1} = v q_l / 2
    assert np.allclose(rates, np.sqrt(1.5), rtol=1e-12)
    rates, q = mean_field_rates("tanh", 1.0, 2000, bias_var=0.0)
    assert q[-1] < 1e-3  # no biases: q -> 0
    assert abs(rates[-1] - 1) < 1e-3  # and rho -> 1
    rates, q = mean_field_rates("tanh", 1.0, 1000, bias_var=1 / 192)
    assert abs(q[-1] / q[-2] - 1) < 1e-12  # settled at a positive fixed point
    assert 0.05 < q[-1] < 0.06
