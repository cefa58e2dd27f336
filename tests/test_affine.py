"""Tests of derived.affine: the collapsed layer against torch's stacked nn.Linear layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.affine import (
    compose_affine,
    drop_times,
    fit_factorised,
    fit_linear,
    growing_lengths,
    numerical_rank,
    scalar_descent,
    start_times,
)
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


def _torch_sgd(C, W1, W2, lr, steps):
    """The oracle: torch autograd and torch.optim.SGD on the same trace loss."""
    Ct = torch.as_tensor(C)
    P1 = torch.tensor(W1, requires_grad=True)
    P2 = torch.tensor(W2, requires_grad=True)
    opt = torch.optim.SGD([P1, P2], lr=lr)
    eye = torch.eye(C.shape[0], dtype=torch.float64)
    losses = []
    for _ in range(steps):
        R = eye - P2 @ P1
        loss = torch.trace(R @ Ct @ R.T)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return P1.detach().numpy(), P2.detach().numpy(), np.array(losses)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_fit_factorised_matches_torch_sgd(n, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * n, n))
    C = X.T @ X / len(X)
    W1, W2, losses = fit_factorised(C, k, lr=0.01, steps=25, init_scale=0.3, rng=rng)
    init = np.random.default_rng(seed)
    init.normal(size=(3 * n, n))  # replay the draws: X, then the two factors
    V1, V2 = 0.3 * init.normal(size=(k, n)), 0.3 * init.normal(size=(n, k))
    T1, T2, t_losses = _torch_sgd(C, V1, V2, 0.01, 25)
    np.testing.assert_allclose(W1, T1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(W2, T2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(losses[:-1], t_losses, rtol=1e-10)
    assert losses.shape == (26,)


def test_fit_factorised_reaches_the_eckart_young_minimum():
    # variances 5, 3, 1, 0.5 along a rotation; the best rank-2 map keeps the top two
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    C = Q @ np.diag([5.0, 3.0, 1.0, 0.5]) @ Q.T
    W1, W2, losses = fit_factorised(C, 2, lr=0.02, steps=3000, init_scale=0.01, rng=rng)
    assert np.isclose(losses[-1], 1.5, rtol=1e-8)
    assert losses[0] == pytest.approx(9.5, rel=1e-3)  # small factors: L = tr C
    top = Q[:, :2]
    cos = np.linalg.svd(top.T @ np.linalg.qr(W2)[0], compute_uv=False)
    assert np.min(cos) > 1 - 1e-8
    W1, W2, losses = fit_factorised(np.eye(5), 2, lr=0.05, steps=0, init_scale=1.0, rng=rng)
    assert losses.shape == (1,)
    assert W1.shape == (2, 5)
    assert W2.shape == (5, 2)


def test_fit_factorised_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    kw = {"lr": 0.1, "steps": 1, "init_scale": 0.1, "rng": rng}
    with pytest.raises(ValueError, match="square"):
        fit_factorised(np.ones((2, 3)), 1, **kw)
    with pytest.raises(ValueError, match="symmetric"):
        fit_factorised([[1.0, 2.0], [0.0, 1.0]], 1, **kw)
    with pytest.raises(ValueError, match="k must be"):
        fit_factorised(np.eye(2), 0, **kw)
    with pytest.raises(ValueError, match="steps must be"):
        fit_factorised(np.eye(2), 1, lr=0.1, steps=-1, init_scale=0.1, rng=rng)
    with pytest.raises(ValueError, match="lr must be"):
        fit_factorised(np.eye(2), 1, lr=0.0, steps=1, init_scale=0.1, rng=rng)
    with pytest.raises(TypeError, match="rng must be"):
        fit_factorised(np.eye(2), 1, lr=0.1, steps=1, init_scale=0.1, rng=0)  # type: ignore[arg-type]


def test_fit_linear_residual_is_the_closed_form():
    # I - W_t = (I - W_0)(I - 2 lr C)^t, so each eigen-direction's error shrinks geometrically
    rng = np.random.default_rng(4)
    X = rng.normal(size=(12, 4))
    C = X.T @ X / len(X)
    W, losses = fit_linear(C, lr=0.03, steps=40, init_scale=0.5, rng=rng)
    W0 = 0.5 * np.random.default_rng(4).normal(size=(16, 4))[12:]  # replay: X, then W
    R = (np.eye(4) - W0) @ np.linalg.matrix_power(np.eye(4) - 0.06 * C, 40)
    np.testing.assert_allclose(np.eye(4) - W, R, rtol=1e-11, atol=1e-13)
    assert losses[-1] == pytest.approx(np.trace(R @ C @ R.T), rel=1e-10)
    assert np.all(np.diff(losses) < 0)
    assert losses.shape == (41,)


def test_fit_linear_matches_torch_sgd():
    rng = np.random.default_rng(5)
    C = np.diag([3.0, 1.0, 0.2])
    W, losses = fit_linear(C, lr=0.02, steps=15, init_scale=0.3, rng=rng)
    W0 = torch.tensor(0.3 * np.random.default_rng(5).normal(size=(3, 3)), requires_grad=True)
    opt = torch.optim.SGD([W0], lr=0.02)
    Ct, eye = torch.as_tensor(C), torch.eye(3, dtype=torch.float64)
    for t in range(15):
        loss = torch.trace((eye - W0) @ Ct @ (eye - W0).T)
        assert loss.item() == pytest.approx(losses[t], rel=1e-12)
        opt.zero_grad()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(W, W0.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_fit_linear_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="symmetric"):
        fit_linear([[1.0, 2.0], [0.0, 1.0]], lr=0.1, steps=1, init_scale=0.1, rng=rng)
    with pytest.raises(ValueError, match="steps must be"):
        fit_linear(np.eye(2), lr=0.1, steps=-1, init_scale=0.1, rng=rng)
    with pytest.raises(TypeError, match="rng must be"):
        fit_linear(np.eye(2), lr=0.1, steps=1, init_scale=0.1, rng=None)  # type: ignore[arg-type]


def test_numerical_rank_counts_a_bottleneck_and_insists_on_a_gap():
    rng = np.random.default_rng(6)
    product = rng.normal(size=(10, 2)) @ rng.normal(size=(2, 10))
    assert numerical_rank(product) == 2 == np.linalg.matrix_rank(product)
    assert numerical_rank(rng.normal(size=(7, 4))) == 4
    assert numerical_rank(np.zeros((3, 2))) == 0
    assert numerical_rank(np.zeros((0, 3))) == 0
    assert numerical_rank(np.diag([1.0, 1e-3, 1e-20])) == 2
    assert numerical_rank(np.diag([1.0, 1e-3]), rtol=1e-2, margin=5.0) == 1
    with pytest.raises(ValueError, match="within a factor 1000 of the tolerance"):
        numerical_rank(np.diag([1.0, 1e-7]))  # 1e-7 is 10 times the tolerance 1e-8
    with pytest.raises(ValueError, match="within a factor 1000 of the tolerance"):
        numerical_rank(np.diag([1.0, 1e-10]))  # and 1e-10 a hundredth of it
    with pytest.raises(ValueError, match="margin must be >= 1"):
        numerical_rank(np.eye(2), margin=0.5)
    with pytest.raises(ValueError, match="rtol must be"):
        numerical_rank(np.eye(2), rtol=0.0)
    with pytest.raises(ValueError, match="M must have"):
        numerical_rank(np.ones(3))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), st.floats(-1e6, 1e6))
def test_drop_times_is_the_first_index_below_the_level(curve, level):
    losses = np.array(curve)
    if not np.any(losses < level):
        with pytest.raises(ValueError, match="never fall below"):
            drop_times(losses, level)
        return
    t = int(drop_times(losses, level))
    assert losses[t] < level
    assert np.all(losses[:t] >= level)
    assert drop_times(losses, [level, level]).tolist() == [t, t]


def test_drop_times_reads_the_plateaus_of_a_factorised_run():
    C = np.diag([4.0, 1.0, 0.1])
    *_, losses = fit_factorised(
        C, 2, lr=0.01, steps=2000, init_scale=1e-4, rng=np.random.default_rng(8)
    )
    first, second = drop_times(losses, [C.trace() - 2.0, C.trace() - 4.0 - 0.5])
    assert 0 < first < second < 2000
    with pytest.raises(ValueError, match="never fall below the level 0.05"):
        drop_times(losses, 0.05)  # the smallest eigenvalue, 0.1, is left over


@settings(max_examples=30, deadline=None)
@given(
    st.floats(-1.5, 1.5),
    st.floats(-1.5, 1.5),
    st.floats(0.1, 10.0),
    st.floats(1e-4, 0.02),
    st.integers(0, 40),
)
def test_scalar_descent_matches_torch_autograd(a, b, lam, lr, steps):
    path, losses = scalar_descent(a, b, lam=lam, lr=lr, steps=steps)
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    expected, expected_losses = [(a, b)], []
    for _ in range(steps):
        loss = lam * (1 - ta * tb) ** 2
        expected_losses.append(loss.item())
        ga, gb = torch.autograd.grad(loss, (ta, tb))
        with torch.no_grad():  # both factors step from the same iterate
            ta, tb = (ta - lr * ga).requires_grad_(), (tb - lr * gb).requires_grad_()
        expected.append((ta.item(), tb.item()))
    expected_losses.append(lam * (1 - ta.item() * tb.item()) ** 2)
    assert path.shape == (steps + 1, 2)
    assert losses.shape == (steps + 1,)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12, atol=1e-14)


def test_scalar_descent_is_fit_factorised_along_one_eigenvector():
    C, lr, steps = np.diag([8.0, 1.0]), 0.005, 50
    path, losses = scalar_descent(0.3, 0.1, lam=8.0, lr=lr, steps=steps)
    a, b = 0.3, 0.1  # fit_factorised's update written out from W1 = a e1^T, W2 = b e1
    W1, W2 = np.array([[a, 0.0]]), np.array([[b], [0.0]])
    for _ in range(steps):
        G = -2.0 * (np.eye(2) - W2 @ W1) @ C
        W1, W2 = W1 - lr * W2.T @ G, W2 - lr * G @ W1.T
    np.testing.assert_allclose(path[-1], [W1[0, 0], W2[0, 0]], rtol=1e-12)
    R = np.eye(2) - W2 @ W1
    assert np.isclose(np.trace(R @ C @ R.T), 1.0 + losses[-1], rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"a": np.nan}, ValueError, "a"),
        ({"b": np.inf}, ValueError, "b"),
        ({"a": "x"}, TypeError, "a"),
        ({"b": [1.0]}, TypeError, "b"),
        ({"lam": 0.0}, ValueError, "lam"),
        ({"lr": -0.1}, ValueError, "lr"),
        ({"steps": -1}, ValueError, "steps"),
        ({"steps": 2.5}, ValueError, "steps"),
        ({"steps": True}, ValueError, "steps"),
    ],
)
def test_scalar_descent_rejects_bad_input(kwargs, error, name):
    args = {"a": 0.1, "b": 0.1, "lam": 1.0, "lr": 0.01, "steps": 3} | kwargs
    with pytest.raises(error, match=name):
        scalar_descent(**args)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_start_times_predict_the_drops_of_a_factorised_run(seed):
    C, lr, scale = np.diag([9.0, 4.0, 1.0, 0.5]), 0.005, 1e-6
    init = np.random.default_rng(seed)
    W1, W2 = scale * init.normal(size=(2, 4)), scale * init.normal(size=(4, 2))
    *_, losses = fit_factorised(
        C, 2, lr=lr, steps=800, init_scale=scale, rng=np.random.default_rng(seed)
    )
    halfway = drop_times(losses, [C.trace() - 9.0 / 2, C.trace() - 9.0 - 4.0 / 2])
    lengths = growing_lengths(W1, W2, np.eye(4)[:, :2])
    predicted = start_times(lengths, [9.0, 4.0], lr=lr)
    assert np.all(np.abs(predicted - halfway) < 3)  # within a few steps


def test_start_times_is_the_half_loss_step_of_the_scalar_model():
    lam, lr, s0 = 8.0, 0.005, 1e-6  # balanced factors: g = s0
    _, losses = scalar_descent(s0, s0, lam=lam, lr=lr, steps=400)
    half = drop_times(losses, lam / 2)
    assert abs(start_times([s0], [lam], lr=lr)[0] - half) <= 1


def test_growing_lengths_by_hand():
    W1 = np.array([[0.2, 0.2, 0.0], [0.0, 0.0, 0.0]])  # k = 2, n = 3
    W2 = np.zeros((3, 2))
    # g_1 = W1 e_1 / 2 = (0.1, 0), g_2 = W1 e_2 / 2 = (0.1, 0): nothing orthogonal is left
    assert np.allclose(growing_lengths(W1, W2, np.eye(3)[:, :2]), [0.1, 0.0])
    W2[2, 1] = 0.4  # adds W2^T e_3 / 2 = (0, 0.2) to g_3 only
    assert np.allclose(growing_lengths(W1, W2, np.eye(3)[:, [0, 2]]), [0.1, 0.2])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: growing_lengths(np.ones((2, 3)), np.ones((2, 3)), np.eye(3)), "W2 must"),
        (lambda: growing_lengths(np.ones((2, 3)), np.ones((3, 2)), np.eye(3)), "m <= k"),
        (lambda: growing_lengths(np.ones((2, 3)), np.ones((3, 2)), np.eye(2)), "Q must"),
        (lambda: start_times([0.0], [1.0], lr=0.1), "> 0"),
        (lambda: start_times([0.1], [-1.0], lr=0.1), "> 0"),
        (lambda: start_times([0.1, 0.2], [1.0], lr=0.1), "lams must"),
        (lambda: start_times([0.1], [1.0], lr=0.0), "lr"),
    ],
)
def test_growing_lengths_and_start_times_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
