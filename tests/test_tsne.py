"""derived.tsne against scikit-learn (affinities, optimiser), root finding and torch autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.spatial.distance import squareform
from sklearn.manifold._t_sne import _gradient_descent, _joint_probabilities, _kl_divergence

from derived.data import load_digits
from derived.errata import ERRATA
from derived.tsne import (
    conditional_probabilities,
    joint_probabilities,
    kl_divergence,
    kl_gradient,
    map_affinities,
    optimize_embedding,
    squared_distances,
    tsne,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X[:300], y[:300]  # integer grey levels: every squared distance is exact


def torch_kl(P, Y):
    """KL(P || Q) written directly in torch, differentiable in Y (float64)."""
    n = Y.shape[0]
    d2 = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    off = ~torch.eye(n, dtype=torch.bool)
    w = 1.0 / (1.0 + d2[off])
    q = w / w.sum()
    p = P[off]
    keep = p > 0
    return (p[keep] * torch.log(p[keep] / q[keep])).sum()


def random_p(rng, n):
    a = rng.random((n, n))
    P = a + a.T
    np.fill_diagonal(P, 0.0)
    return P / P.sum()


# --------------------------------------------------------------------------- affinities


def test_squared_distances_match_brute_force():
    X = np.random.default_rng(0).normal(size=(15, 4))
    brute = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(squared_distances(X), brute, rtol=1e-12, atol=1e-13)
    assert np.all(np.diag(squared_distances(X)) == 0)


def test_joint_probabilities_match_scikit_learn(digits):
    X, _ = digits
    P = joint_probabilities(X, perplexity=30.0)
    ref = squareform(_joint_probabilities(squared_distances(X), 30.0, 0))
    # scikit-learn stops its search once each row's entropy is within 1e-5 nats of the
    # target (and floors P at 2.2e-16); the total variation it leaves is about 1e-6.
    assert np.abs(P - ref).sum() < 1e-5
    # ... while a 1% change in perplexity moves P by far more: the test can tell.
    P_other = joint_probabilities(X, perplexity=30.3)
    assert np.abs(P_other - ref).sum() > 1e-3


def test_perplexity_is_hit_to_float64_precision(digits):
    X, _ = digits
    for perp in (5.0, 30.0, 100.0):
        P_cond, beta = conditional_probabilities(squared_distances(X), perp)
        logs = np.log(np.where(P_cond > 0, P_cond, 1.0))
        entropy = -np.sum(P_cond * logs, axis=1)
        np.testing.assert_allclose(entropy, np.log(perp), rtol=1e-12)
        np.testing.assert_allclose(P_cond.sum(axis=1), 1.0, rtol=1e-14)
        assert np.all(np.diag(P_cond) == 0)
        assert np.all(beta > 0)


def test_conditional_rows_match_a_root_finder(digits):
    X, _ = digits
    D = squared_distances(X)
    P_cond, beta = conditional_probabilities(D, 30.0)
    for i in (0, 17, 299):
        d = np.delete(D[i], i)
        d = d - d.min()

        def excess(log_b, d=d):
            e = np.exp(-np.exp(log_b) * d)
            p = e / e.sum()
            return -np.sum(p * np.log(np.where(p > 0, p, 1.0))) - np.log(30.0)

        log_b = brentq(excess, -30.0, 10.0, xtol=1e-15, rtol=1e-15)
        p = np.exp(-np.exp(log_b) * d)
        p /= p.sum()
        np.testing.assert_allclose(beta[i], np.exp(log_b), rtol=1e-12)
        np.testing.assert_allclose(np.delete(P_cond[i], i), p, rtol=1e-10, atol=1e-300)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(5, 30),
    dim=st.integers(1, 5),
    scale=st.floats(1e-3, 1e3),
    frac=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**16),
)
def test_joint_probabilities_laws(n, dim, scale, frac, seed):
    X = scale * np.random.default_rng(seed).normal(size=(n, dim))
    perp = 1.0 + frac * (n - 2.0)  # anywhere in (1, N - 1)
    P = joint_probabilities(X, perp)
    assert np.array_equal(P, P.T)
    assert np.all(P >= 0)
    assert np.all(np.diag(P) == 0)
    np.testing.assert_allclose(P.sum(), 1.0, rtol=1e-13)
    P_cond, _ = conditional_probabilities(squared_distances(X), perp)
    entropy = -np.sum(P_cond * np.log(np.where(P_cond > 0, P_cond, 1.0)), axis=1)
    np.testing.assert_allclose(entropy, np.log(perp), rtol=1e-11)
    # a rescaled data set has the same affinities (beta absorbs the scale)
    np.testing.assert_allclose(joint_probabilities(3.0 * X, perp), P, rtol=1e-9, atol=1e-15)


def test_duplicate_points_do_not_break_the_search():
    X = np.array([[0.0], [0.0], [0.0], [5.0], [6.0], [7.0]])
    P = joint_probabilities(X, 1.5)  # unreachable for the triplicate: nearest entropy kept
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(), 1.0, rtol=1e-13)


# --------------------------------------------------------------------------- objective


def test_map_affinities_and_kl_match_torch():
    rng = np.random.default_rng(1)
    P = random_p(rng, 12)
    Y = rng.normal(size=(12, 2))
    Q_ref = 1.0 / (1.0 + squared_distances(Y))
    np.fill_diagonal(Q_ref, 0.0)
    np.testing.assert_allclose(map_affinities(Y), Q_ref / Q_ref.sum(), rtol=1e-13)
    ref = torch_kl(torch.tensor(P), torch.tensor(Y)).item()
    np.testing.assert_allclose(kl_divergence(P, Y), ref, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 40),
    dim=st.integers(1, 3),
    scale=st.floats(1e-2, 30.0),
    sparse=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_gradient_matches_torch_autograd(n, dim, scale, sparse, seed):
    rng = np.random.default_rng(seed)
    P = random_p(rng, n)
    if sparse and n > 2:  # zero affinities, as far-apart data points have
        keep = rng.random((n, n)) < 0.5
        keep = keep | keep.T
        P = np.where(keep & ~np.eye(n, dtype=bool), P, 0.0)
        if P.sum() == 0:
            P = random_p(rng, n)
        P /= P.sum()
    Y = scale * rng.normal(size=(n, dim))
    Yt = torch.tensor(Y, requires_grad=True)
    loss = torch_kl(torch.tensor(P), Yt)
    loss.backward()
    ref = Yt.grad.numpy()
    ours = kl_gradient(P, Y)
    np.testing.assert_allclose(kl_divergence(P, Y), loss.item(), rtol=1e-11, atol=1e-14)
    floor = 1e-14  # the exact gradient can be 0 (n = 2: Q = P); rounding leaves ~1e-16
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-10 * np.abs(ref).max() + floor)
    np.testing.assert_allclose(ours.sum(axis=0), 0.0, atol=1e-12 * np.abs(ours).max() + floor)


def test_gradient_on_the_digits_matches_torch(digits):
    X, _ = digits
    P = joint_probabilities(X, 30.0)
    Y = np.random.default_rng(3).normal(scale=5.0, size=(X.shape[0], 2))
    Yt = torch.tensor(Y, requires_grad=True)
    torch_kl(torch.tensor(P), Yt).backward()
    ref = Yt.grad.numpy()
    np.testing.assert_allclose(kl_gradient(P, Y), ref, rtol=1e-8, atol=1e-11 * np.abs(ref).max())


def test_seed_gradient_fails_the_check():
    result = ERRATA["tsne-gradient"].check()
    assert result.right_passes
    assert result.wrong_fails


# --------------------------------------------------------------------------- optimiser


def test_optimiser_follows_scikit_learn_step_for_step(monkeypatch):
    # The sign test of the adaptive gains makes long runs chaotic (a rounding-level
    # difference in a product near 0 flips a gain), so compare 20 steps, with the
    # exaggerated phase shortened to 8 of them to cover both phases and the switch.
    import derived.tsne

    monkeypatch.setattr(derived.tsne, "EXAGGERATION_ITERS", 8)
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(size=(15, 3)), rng.normal(size=(15, 3)) + 4.0])
    P = joint_probabilities(X, 6.0)
    Y0 = 1e-4 * rng.standard_normal((30, 2))
    ours, history = optimize_embedding(P, Y0, 20, learning_rate=5.0, check_every=5)

    args = [squareform(12.0 * P), 1, 30, 2]  # condensed, exaggerated affinities
    opts = {"n_iter_check": 5, "learning_rate": 5.0, "min_grad_norm": 0.0}
    params, _, it = _gradient_descent(
        _kl_divergence, Y0.ravel(), 0, 8, momentum=0.5, args=args, **opts
    )
    args[0] = squareform(P)
    params, _, _ = _gradient_descent(
        _kl_divergence, params, it + 1, 20, momentum=0.8, args=args, **opts
    )
    np.testing.assert_allclose(ours, params.reshape(30, 2), rtol=1e-10, atol=1e-13)
    final_error, _ = _kl_divergence(params, *args)  # scikit-learn's objective, final map
    np.testing.assert_allclose(history[-1, 1], final_error, rtol=1e-10)
    assert history[:, 0].tolist() == [0, 5, 10, 15, 20]


def test_without_adaptive_gains_the_update_is_momentum_descent():
    # gains held at 1: u <- mu u - eta G, Y <- Y + u, with the exaggerated gradient
    # 4 sum_j (alpha p_ij - q_ij) w_ij (y_i - y_j) for 3 steps, then the true one for 2
    import derived.tsne

    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 4))
    P = joint_probabilities(X, 5.0)
    Y0 = 1e-2 * rng.standard_normal((20, 2))
    alpha, eta = 4.0, 30.0
    Y, update = Y0.copy(), np.zeros_like(Y0)
    for step in range(5):
        if step == 3:  # the second phase starts from zero velocity
            update = np.zeros_like(Y)
        W = 1.0 / (1.0 + squared_distances(Y))
        np.fill_diagonal(W, 0.0)
        M = ((alpha if step < 3 else 1.0) * P - W / W.sum()) * W
        grad = 4.0 * (M.sum(axis=1)[:, None] * Y - M @ Y)
        update = (0.5 if step < 3 else 0.8) * update - eta * grad
        Y = Y + update
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(derived.tsne, "EXAGGERATION_ITERS", 3)
        kwargs = {"early_exaggeration": alpha, "learning_rate": eta}
        ours, _ = optimize_embedding(P, Y0, 5, adaptive_gains=False, **kwargs)
        adapted, _ = optimize_embedding(P, Y0, 5, **kwargs)
    np.testing.assert_allclose(ours, Y, rtol=1e-12, atol=1e-15)
    assert np.abs(adapted - Y).max() > 1e-3 * np.abs(Y).max()  # the gains do matter


def test_default_learning_rate_is_scikit_learns_auto():
    # max(N / (4 alpha), 50): the N / (4 alpha) branch with a small alpha, and the floor
    # against scikit-learn's own choice of learning_rate_ for learning_rate="auto"
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 3))
    P = joint_probabilities(X, 6.0)
    Y0 = 1e-4 * rng.standard_normal((30, 2))
    for alpha, eta in ((0.1, 30 / 0.4), (12.0, 50.0)):
        default, _ = optimize_embedding(P, Y0, 3, early_exaggeration=alpha)
        explicit, _ = optimize_embedding(P, Y0, 3, early_exaggeration=alpha, learning_rate=eta)
        assert np.array_equal(default, explicit)
    model = TSNE(method="exact", init="random", perplexity=6.0, max_iter=250, random_state=0)
    model.fit(X)
    assert model.learning_rate_ == 50.0


def test_tsne_is_reproducible_and_separates_clusters():
    rng = np.random.default_rng(5)
    centres = 12.0 * np.eye(3, 6)
    X = np.concatenate([c + rng.normal(size=(25, 6)) for c in centres])
    Y = tsne(X, perplexity=10.0, n_iter=400, seed=1)
    assert np.array_equal(Y, tsne(X, perplexity=10.0, n_iter=400, seed=1))
    assert not np.array_equal(Y, tsne(X, perplexity=10.0, n_iter=400, seed=2))
    D = squared_distances(Y) + np.diag(np.full(75, np.inf))
    assert np.all(D.argmin(axis=1) // 25 == np.arange(75) // 25)
    assert tsne(X, n_components=3, perplexity=10.0, n_iter=260).shape == (75, 3)


def test_kl_decreases_after_exaggeration(digits):
    X, _ = digits
    P = joint_probabilities(X[:150], 20.0)
    Y0 = 1e-4 * np.random.default_rng(0).standard_normal((150, 2))
    _, history = optimize_embedding(P, Y0, 500)
    after = history[history[:, 0] >= 300, 1]  # exaggeration ends at 250
    assert np.all(np.diff(after) < 0)
    assert history[-1, 1] < 0.5 * history[0, 1]


# --------------------------------------------------------------------------- errors

P4 = np.full((4, 4), 1 / 12) - np.eye(4) / 12
Y4 = np.arange(8.0).reshape(4, 2)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: joint_probabilities(np.zeros((3, 2))), ValueError, "at least 4 rows"),
        (lambda: joint_probabilities(np.eye(5), perplexity=4.0), ValueError, r"\(1, N - 1\)"),
        (lambda: joint_probabilities(np.eye(5), perplexity=1.0), ValueError, "perplexity"),
        (lambda: joint_probabilities(np.eye(5), perplexity=-2.0), ValueError, "perplexity"),
        (lambda: joint_probabilities(np.eye(5), perplexity="3"), TypeError, "perplexity"),
        (lambda: joint_probabilities(np.zeros(5)), ValueError, "X must have 2"),
        (lambda: conditional_probabilities(np.zeros((5, 4))), ValueError, "square"),
        (lambda: conditional_probabilities(-np.ones((5, 5)), 2.0), ValueError, "non-negative"),
        (lambda: kl_divergence(P4, Y4[:3]), ValueError, r"P must have shape \(3, 3\)"),
        (lambda: kl_divergence(P4 * 2, Y4), ValueError, "sum to 1"),
        (lambda: kl_divergence(P4 + np.eye(4) / 4 - P4 / 3, Y4), ValueError, "zero diagonal"),
        (lambda: kl_divergence(-P4, Y4), ValueError, "non-negative"),
        (lambda: kl_gradient(np.triu(P4) * 2, Y4), ValueError, "symmetric"),
        (lambda: kl_gradient(P4, Y4[:, :, None]), ValueError, "Y must have 2"),
        (lambda: map_affinities(np.zeros((1, 2))), ValueError, "at least 2 rows"),
        (lambda: optimize_embedding(P4, Y4, n_iter=2.5), TypeError, "n_iter must be an int"),
        (lambda: optimize_embedding(P4, Y4, check_every=0), ValueError, "check_every"),
        (lambda: optimize_embedding(P4, Y4, learning_rate=0.0), ValueError, "learning_rate"),
        (lambda: optimize_embedding(P4, Y4, early_exaggeration=-1.0), ValueError, "exaggerat"),
        (lambda: optimize_embedding(P4[:3, :3], Y4), ValueError, "to match Y0"),
        (lambda: optimize_embedding(P4, Y4, adaptive_gains=1), TypeError, "adaptive_gains"),
        (lambda: tsne(np.eye(6), n_components=0, perplexity=2.0), ValueError, "n_components"),
        (lambda: tsne(np.eye(6), perplexity=2.0, seed=-1), ValueError, "seed"),
        (lambda: tsne(np.eye(6), perplexity=2.0, seed=True), TypeError, "seed"),
        (lambda: tsne(np.eye(6), perplexity=2.0, n_iter=-5), ValueError, "n_iter"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- symmetric SNE


def torch_kl_gaussian(P, Y):
    """KL(P || Q) with the Gaussian map kernel exp(-||y_i - y_j||^2), in torch."""
    n = Y.shape[0]
    d2 = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    off = ~torch.eye(n, dtype=torch.bool)
    log_q = -d2[off] - torch.logsumexp(-d2[off], 0)
    p = P[off]
    keep = p > 0
    return (p[keep] * (torch.log(p[keep]) - log_q[keep])).sum()


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(3, 30),
    dim=st.integers(1, 3),
    scale=st.floats(1e-2, 10.0),
    seed=st.integers(0, 2**16),
)
def test_gaussian_kernel_matches_torch_autograd(n, dim, scale, seed):
    rng = np.random.default_rng(seed)
    P = random_p(rng, n)
    Y = scale * rng.normal(size=(n, dim))
    Yt = torch.tensor(Y, requires_grad=True)
    loss = torch_kl_gaussian(torch.tensor(P), Yt)
    loss.backward()
    ref = Yt.grad.numpy()
    np.testing.assert_allclose(kl_divergence(P, Y, kernel="gaussian"), loss.item(), rtol=1e-10)
    ours = kl_gradient(P, Y, kernel="gaussian")
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-10 * np.abs(ref).max() + 1e-14)
    Q = map_affinities(Y, kernel="gaussian")
    W = np.exp(-squared_distances(Y)) * (1 - np.eye(n))
    np.testing.assert_allclose(Q, W / W.sum(), rtol=1e-10, atol=1e-200)  # W may underflow


def test_gaussian_kernel_differs_from_student_and_optimises():
    rng = np.random.default_rng(7)
    P = random_p(rng, 10)
    Y = rng.normal(size=(10, 2))
    assert not np.allclose(kl_gradient(P, Y, kernel="gaussian"), kl_gradient(P, Y))
    # far-apart points: the shifted exponent keeps Q finite where exp(-d) underflows
    assert np.all(np.isfinite(map_affinities(100.0 * Y, kernel="gaussian")))
    Y0 = 1e-4 * rng.standard_normal((10, 2))
    _, history = optimize_embedding(
        P, Y0, 400, kernel="gaussian", early_exaggeration=1.0, learning_rate=1.0
    )
    assert history[-1, 1] < history[0, 1]
    with pytest.raises(ValueError, match="kernel"):
        kl_gradient(P, Y, kernel="cauchy")
