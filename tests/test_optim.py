"""Tests of derived.optim: step for step against torch.optim (float64), SGDW against its
loop written out and against SGD, ISTA against the lasso's optimality conditions and
scikit-learn, FISTA against its loop written out and Beck and Teboulle's bound, and every
error path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.optim import (
    SGD,
    SGDW,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    fista,
    ista,
    lasso_objective,
    soft_threshold,
)

N_STEPS = 200
SHAPES = [(3, 4), (5,), ()]


def run_both(ours_cls, torch_cls, kwargs, *, seed, n_steps=N_STEPS, grad_scale=1.0, sync=False):
    """Run our optimiser and torch's on the same gradients; return the largest deviation
    of the parameters seen at any step, relative to max(1, |p|, |step|): two correct
    float64 implementations differ by a few ulps of the parameter and of the step (Adam
    with eps = 0 and beta2 = 0 takes steps of lr * m / |g|, which can be far larger than
    the parameter).

    With ``sync`` torch's parameters are set to ours before every step (the optimiser
    states run freely), so each step compares the update rules alone: rounding
    differences cannot be amplified by dynamics that are unstable for the chosen
    hyper-parameters (Adam with a large L2 term and tiny gradients is one)."""
    rng = np.random.default_rng(seed)
    ours = [np.array(rng.normal(size=s)) for s in SHAPES]
    theirs = [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True) for p in ours]
    opt = ours_cls(ours, **kwargs)
    opt_t = torch_cls(theirs, **kwargs)
    worst = 0.0
    for _ in range(n_steps):
        grads = [np.array(grad_scale * rng.normal(size=s)) for s in SHAPES]
        if sync:
            with torch.no_grad():
                for p, p_t in zip(ours, theirs, strict=True):
                    p_t.copy_(torch.from_numpy(p))
        before = [p.copy() for p in ours]
        opt.step(grads)
        for p, g in zip(theirs, grads, strict=True):
            p.grad = torch.from_numpy(g.copy())
        opt_t.step()
        for p, p_t, p0 in zip(ours, theirs, before, strict=True):
            q = p_t.detach().numpy()
            scale = np.maximum(np.maximum(1.0, np.abs(q)), np.abs(p - p0))
            worst = max(worst, float(np.max(np.abs(p - q) / scale)))
    return worst


lrs = st.floats(0.0, 0.3)
unit = st.floats(0.0, 0.999)


@settings(max_examples=8, deadline=None)
@given(
    lr=lrs,
    momentum=unit,
    dampening=st.floats(0.0, 1.0),
    weight_decay=st.floats(0.0, 0.5),
    nesterov=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sgd_matches_torch(lr, momentum, dampening, weight_decay, nesterov, seed):
    if nesterov:
        dampening = 0.0
        momentum = max(momentum, 0.01)
    kwargs = {
        "lr": lr,
        "momentum": momentum,
        "dampening": dampening,
        "weight_decay": weight_decay,
        "nesterov": nesterov,
    }
    assert run_both(SGD, torch.optim.SGD, kwargs, seed=seed, sync=True) < 1e-14
    assert run_both(SGD, torch.optim.SGD, kwargs, seed=seed) < 1e-12


# beta2 >= 0.5: with beta2 near 0 the second moment is the square of one gradient, and when
# that gradient (g + weight_decay * p for Adam) nearly cancels, the step divides by a
# number whose last digits are rounding noise: two correct implementations (torch fuses
# multiply-adds, NumPy does not) then differ far beyond float64 precision.
@settings(max_examples=10, deadline=None)
@given(
    lr=lrs,
    beta1=unit,
    beta2=st.floats(0.5, 0.999),
    eps=st.floats(0.0, 1e-2),
    weight_decay=st.floats(0.0, 0.5),
    grad_scale=st.sampled_from([1e-4, 1.0, 1e3]),
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize(("ours", "theirs"), [(Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)])
def test_adam_and_adamw_match_torch(
    ours, theirs, lr, beta1, beta2, eps, weight_decay, grad_scale, seed
):
    kwargs = {"lr": lr, "betas": (beta1, beta2), "eps": eps, "weight_decay": weight_decay}
    worst = run_both(ours, theirs, kwargs, seed=seed, grad_scale=grad_scale, sync=True)
    assert worst < 1e-14


@settings(max_examples=10, deadline=None)
@given(
    lr=st.floats(1e-4, 0.05),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.9, 0.9999),
    weight_decay=st.floats(0.0, 0.1),
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize(("ours", "theirs"), [(Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)])
def test_adam_and_adamw_trajectories_match_torch(
    ours, theirs, lr, beta1, beta2, weight_decay, seed
):
    kwargs = {"lr": lr, "betas": (beta1, beta2), "weight_decay": weight_decay}
    assert run_both(ours, theirs, kwargs, seed=seed) < 1e-12


@pytest.mark.parametrize(
    ("ours", "theirs", "kwargs"),
    [
        (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
        (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
        (Adam, torch.optim.Adam, {}),
        (AdamW, torch.optim.AdamW, {}),
    ],
)
def test_defaults_over_a_thousand_steps(ours, theirs, kwargs):
    assert run_both(ours, theirs, kwargs, seed=1, n_steps=1000) < 1e-12


@settings(max_examples=10, deadline=None)
@given(
    lr=lrs,
    alpha=st.floats(0.5, 0.999),
    eps=st.floats(0.0, 1e-2),
    weight_decay=st.floats(0.0, 0.5),
    grad_scale=st.sampled_from([1e-4, 1.0, 1e3]),
    seed=st.integers(0, 2**16),
)
def test_rmsprop_and_adagrad_match_torch(lr, alpha, eps, weight_decay, grad_scale, seed):
    common = {"lr": lr, "eps": eps, "weight_decay": weight_decay}
    for ours, theirs, kwargs in (
        (RMSprop, torch.optim.RMSprop, {**common, "alpha": alpha}),
        (Adagrad, torch.optim.Adagrad, common),
    ):
        assert run_both(ours, theirs, kwargs, seed=seed, grad_scale=grad_scale, sync=True) < 1e-14


@pytest.mark.parametrize(
    ("ours", "theirs", "kwargs"),
    [
        (RMSprop, torch.optim.RMSprop, {}),
        (RMSprop, torch.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "weight_decay": 0.01}),
        (Adagrad, torch.optim.Adagrad, {}),
        (Adagrad, torch.optim.Adagrad, {"lr": 0.1, "weight_decay": 0.01}),
    ],
)
def test_rmsprop_and_adagrad_trajectories_match_torch(ours, theirs, kwargs):
    assert run_both(ours, theirs, kwargs, seed=2, n_steps=500) < 1e-12


def test_adagrad_steps_shrink_like_one_over_root_t():
    w = np.zeros(1)
    opt = Adagrad([w], lr=0.5, eps=0.0)
    for t in range(1, 101):
        before = w[0]
        opt.step([np.array([-7.0])])
        assert w[0] - before == pytest.approx(0.5 / np.sqrt(t), rel=1e-14)


def test_rmsprop_first_step_and_steady_state():
    w = np.zeros(1)
    opt = RMSprop([w], lr=0.01, alpha=0.99, eps=0.0)
    opt.step([np.array([2.0])])
    assert -w[0] == pytest.approx(0.01 / np.sqrt(0.01), rel=1e-14)  # no bias correction
    for _ in range(5000):
        before = w[0]
        opt.step([np.array([2.0])])
    assert before - w[0] == pytest.approx(0.01, rel=1e-12)  # s_t -> g^2: the step -> lr


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: RMSprop(p, alpha=1.0), r"alpha must lie in \[0, 1\)"),
        (lambda p: RMSprop(p, eps=-1.0), "eps must be >= 0"),
        (lambda p: Adagrad(p, lr=-1.0), "lr must be >= 0"),
        (lambda p: Adagrad(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    ],
)
def test_rmsprop_and_adagrad_bad_hyper_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([np.zeros(2)])


def test_learning_rate_schedule_matches_torch():
    rng = np.random.default_rng(3)
    w = rng.normal(size=6)
    w_t = torch.tensor(w.copy(), requires_grad=True)
    opt, opt_t = AdamW([w], lr=0.1), torch.optim.AdamW([w_t], lr=0.1)
    for step in range(200):
        lr = 0.1 * 0.5 ** (step // 50)
        opt.lr = lr
        opt_t.param_groups[0]["lr"] = lr
        g = rng.normal(size=6)
        opt.step([g])
        w_t.grad = torch.from_numpy(g)
        opt_t.step()
    np.testing.assert_allclose(w, w_t.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_one_sgd_step_by_hand():
    # L = (w1 + w2) w3 at w = (1, 2.3, 5.7), lr = 0.01 (homework 003, question 1)
    w = np.array([1.0, 2.3, 5.7])
    assert (w[0] + w[1]) * w[2] == pytest.approx(18.81, rel=1e-15)
    grad = np.array([w[2], w[2], w[0] + w[1]])
    np.testing.assert_allclose(grad, [5.7, 5.7, 3.3], rtol=1e-15)
    SGD([w], lr=0.01).step([grad])
    np.testing.assert_allclose(w, [0.943, 2.243, 5.667], rtol=1e-15)
    assert (w[0] + w[1]) * w[2] == pytest.approx(18.055062, rel=1e-14)


def test_sgd_updates_in_place_and_counts_steps():
    w = np.ones(3)
    view = w[:2]
    opt = SGD([w], lr=0.5)
    opt.step([np.ones(3)])
    assert opt.params[0] is w
    assert view.tolist() == [0.5, 0.5]
    assert opt.t == 1


def test_momentum_on_a_constant_gradient_approaches_lr_over_one_minus_mu():
    w = np.zeros(1)
    opt = SGD([w], lr=0.1, momentum=0.9)
    steps = []
    for _ in range(300):
        before = w.copy()
        opt.step([np.ones(1)])
        steps.append(float((before - w)[0]))
    # b_t = sum_{k<t} 0.9^k -> 10, so the step tends to lr / (1 - mu) = 1
    assert steps[0] == pytest.approx(0.1, rel=1e-15)
    assert steps[-1] == pytest.approx(1.0, rel=1e-12)


def test_adam_bias_correction_recovers_a_constant_gradient():
    # with a constant gradient g, m_t = (1 - beta1^t) g, so m_t / (1 - beta1^t) = g exactly
    g = np.array([1.7, -0.3])
    opt = Adam([np.zeros(2)], lr=0.0, betas=(0.9, 0.99))
    for t in range(1, 60):
        opt.step([g])
        np.testing.assert_allclose(opt.exp_avg[0] / (1 - 0.9**t), g, rtol=1e-13)
        np.testing.assert_allclose(opt.exp_avg_sq[0] / (1 - 0.99**t), g**2, rtol=1e-13)
        np.testing.assert_allclose(opt.exp_avg[0], (1 - 0.9**t) * g, rtol=1e-13)


def test_adam_first_step_moves_by_lr_whatever_the_scale():
    for scale in (1e-6, 1.0, 1e6):
        w = np.zeros(2)
        Adam([w], lr=0.01, eps=0.0).step([np.array([scale, -scale])])
        np.testing.assert_allclose(w, [-0.01, 0.01], rtol=1e-15)


def test_adamw_differs_from_adam_with_l2():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=5), None
    b = a.copy()
    opt_a, opt_b = Adam([a], lr=0.01, weight_decay=0.1), AdamW([b], lr=0.01, weight_decay=0.1)
    for _ in range(20):
        g = rng.normal(size=5)
        opt_a.step([g])
        opt_b.step([g])
    assert np.max(np.abs(a - b)) > 1e-4


def test_adamw_zero_gradient_is_pure_decay():
    w = np.array([2.0, -4.0])
    opt = AdamW([w], lr=0.1, weight_decay=0.5, eps=1e-8)
    for _ in range(10):
        opt.step([np.zeros(2)])
    np.testing.assert_allclose(w, np.array([2.0, -4.0]) * 0.95**10, rtol=1e-14)


def test_float32_params_are_updated_in_place():
    w = np.ones(3, dtype=np.float32)
    SGD([w], lr=0.25).step([np.ones(3)])
    assert w.dtype == np.float32
    assert w.tolist() == [0.75, 0.75, 0.75]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: SGD(p, lr=-0.1), ValueError, "lr must be >= 0"),
        (lambda p: SGD(p, lr=float("nan")), ValueError, "lr must be finite"),
        (lambda p: SGD(p, lr="0.1"), TypeError, "lr must be a real number"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), ValueError, r"momentum must lie in \[0, 1\)"),
        (lambda p: SGD(p, lr=0.1, momentum=1.0), ValueError, r"momentum must lie in \[0, 1\)"),
        (lambda p: SGD(p, lr=0.1, dampening=1.5), ValueError, r"dampening must lie in \[0, 1\]"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), ValueError, "weight_decay must be >= 0"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov=True requires momentum"),
        (
            lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            ValueError,
            "dampening == 0",
        ),
        (lambda p: SGD(p, lr=0.1, nesterov=1), TypeError, "nesterov must be a bool"),
        (lambda p: Adam(p, lr=-1e-3), ValueError, "lr must be >= 0"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError, r"betas\[0\] must lie in \[0, 1\)"),
        (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, r"betas\[1\] must lie in \[0, 1\)"),
        (lambda p: Adam(p, betas=0.9), TypeError, "betas must be a pair"),
        (lambda p: Adam(p, betas=(0.9, 0.99, 0.1)), TypeError, "betas must be a pair"),
        (lambda p: Adam(p, eps=-1e-8), ValueError, "eps must be >= 0"),
        (lambda p: Adam(p, weight_decay=-0.1), ValueError, "weight_decay must be >= 0"),
        (lambda p: AdamW(p, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must lie in \[0, 1\)"),
        (lambda p: AdamW(p, weight_decay=-0.1), ValueError, "weight_decay must be >= 0"),
    ],
)
def test_bad_hyper_parameters(make, error, match):
    with pytest.raises(error, match=match):
        make([np.zeros(2)])


@pytest.mark.parametrize("cls", [SGD, SGDW, Adam, AdamW, RMSprop, Adagrad])
def test_bad_params(cls):
    kw = {"lr": 0.1}
    with pytest.raises(TypeError, match="params must be a list of NumPy arrays"):
        cls(np.zeros(3), **kw)
    with pytest.raises(ValueError, match="params must not be empty"):
        cls([], **kw)
    with pytest.raises(TypeError, match=r"params\[0\] must be a NumPy array"):
        cls([[1.0, 2.0]], **kw)
    with pytest.raises(TypeError, match=r"params\[0\] must have a float dtype"):
        cls([np.arange(3)], **kw)
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] must be writeable"):
        cls([frozen], **kw)
    with pytest.raises(ValueError, match=r"params\[1\] must be finite"):
        cls([np.zeros(2), np.array([np.nan])], **kw)
    w = np.zeros(2)
    with pytest.raises(ValueError, match=r"params\[1\] appears twice"):
        cls([w, w], **kw)


@pytest.mark.parametrize("cls", [SGD, SGDW, Adam, AdamW, RMSprop, Adagrad])
def test_bad_grads(cls):
    opt = cls([np.zeros((2, 3)), np.zeros(4)], lr=0.1)
    with pytest.raises(ValueError, match=r"one array per parameter \(2\), got 1"):
        opt.step([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"grads\[1\] must have the shape of params\[1\]"):
        opt.step([np.zeros((2, 3)), np.zeros(5)])
    with pytest.raises(ValueError, match=r"grads\[0\] must be finite"):
        opt.step([np.full((2, 3), np.inf), np.zeros(4)])
    with pytest.raises(TypeError, match=r"grads\[1\] must contain real numbers"):
        opt.step([np.zeros((2, 3)), ["a"] * 4])
    with pytest.raises(TypeError, match="grads must be a list of arrays"):
        opt.step(np.zeros(4))
    assert opt.t == 0  # nothing was applied
    opt.lr = -1.0
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.step([np.zeros((2, 3)), np.zeros(4)])


# --------------------------------------------------------------------------- proximal


@settings(max_examples=50, deadline=None)
@given(
    x=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20),
    t=st.floats(0.0, 100.0),
)
def test_soft_threshold_matches_torch_softshrink(x, t):
    xa = np.array(x)
    expected = torch.nn.functional.softshrink(torch.from_numpy(xa), t).numpy()
    np.testing.assert_allclose(soft_threshold(xa, t), expected, rtol=1e-15, atol=0)


def test_soft_threshold_is_the_proximal_operator_by_brute_force():
    rng = np.random.default_rng(5)
    x = rng.normal(scale=2.0, size=25)
    t = rng.uniform(0, 2, size=25)
    u = np.linspace(-8, 8, 160_001)  # grid step 1e-4
    objective = 0.5 * (u[None, :] - x[:, None]) ** 2 + t[:, None] * np.abs(u[None, :])
    brute = u[np.argmin(objective, axis=1)]
    np.testing.assert_allclose(soft_threshold(x, t), brute, atol=1e-4 / 2 + 1e-12)


def test_soft_threshold_zeros_and_shapes():
    assert soft_threshold([0.5, -0.5, 1.0], 1.0).tolist() == [0.0, 0.0, 0.0]
    assert soft_threshold(np.ones((2, 2)), np.full((2, 2), 0.25)).shape == (2, 2)
    assert soft_threshold(3.0, 1.0) == 2.0
    with pytest.raises(ValueError, match="t must be >= 0"):
        soft_threshold([1.0], -0.1)
    with pytest.raises(ValueError, match=r"t must be a number or have the shape of x"):
        soft_threshold([1.0, 2.0], [0.1, 0.2, 0.3])


def lasso_problem(seed=6, m=40, n=15):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    x_true = np.where(rng.random(n) < 0.4, rng.normal(scale=3.0, size=n), 0.0)
    b = A @ x_true + 0.5 * rng.normal(size=m)
    return A, b


@pytest.mark.parametrize("lam", [0.5, 5.0, 30.0])
def test_ista_satisfies_the_lasso_optimality_conditions(lam):
    A, b = lasso_problem()
    res = ista(A, b, lam, tol=1e-14, max_iter=50_000)
    assert res.converged
    x = res.x
    grad = A.T @ (A @ x - b)  # gradient of the smooth part
    active = x != 0
    assert active.any()
    # x_i != 0: grad_i = -lam sign(x_i); x_i == 0: |grad_i| <= lam
    np.testing.assert_allclose(grad[active], -lam * np.sign(x[active]), rtol=0, atol=1e-9 * lam)
    assert np.all(np.abs(grad[~active]) <= lam * (1 + 1e-9))
    assert np.all(np.diff(res.objective) <= 1e-12 * res.objective[0])  # monotone
    assert res.objective[-1] == pytest.approx(lasso_objective(A, b, lam, x), rel=1e-15)


@pytest.mark.parametrize("lam", [0.5, 5.0, 30.0])
def test_ista_agrees_with_scikit_learn(lam):
    sklearn = pytest.importorskip("sklearn.linear_model")
    A, b = lasso_problem()
    m = A.shape[0]
    # scikit-learn minimises ||Ax - b||^2 / (2m) + alpha ||x||_1: alpha = lam / m
    sk = sklearn.Lasso(alpha=lam / m, fit_intercept=False, tol=1e-14, max_iter=200_000)
    sk.fit(A, b)
    ours = ista(A, b, lam, tol=1e-14, max_iter=50_000).x
    np.testing.assert_allclose(ours, sk.coef_, rtol=0, atol=1e-8)
    assert np.array_equal(ours == 0, sk.coef_ == 0)


def test_ista_large_lambda_gives_zero():
    A, b = lasso_problem()
    lam_max = np.max(np.abs(A.T @ b))  # the smallest lambda with x = 0 optimal
    assert np.all(ista(A, b, lam_max * 1.001).x == 0)
    assert np.any(ista(A, b, lam_max * 0.9).x != 0)


def test_ista_identity_design_is_one_soft_threshold():
    b = np.array([3.0, -0.2, -1.5, 0.9])
    res = ista(np.eye(4), b, 1.0)
    np.testing.assert_array_equal(res.x, soft_threshold(b, 1.0))
    assert res.converged
    assert res.n_iter == 2  # one step to the answer, one to see it does not move


def test_ista_warm_start_and_step():
    A, b = lasso_problem()
    x_star = ista(A, b, 5.0, tol=1e-14, max_iter=50_000).x
    L = np.linalg.norm(A, 2) ** 2
    res = ista(A, b, 5.0, x0=x_star, step=0.5 / L, tol=1e-12)
    assert res.n_iter <= 2
    np.testing.assert_allclose(res.x, x_star, atol=1e-10)
    capped = ista(A, b, 5.0, max_iter=3)
    assert capped.n_iter == 3
    assert not capped.converged
    assert capped.objective.shape == (4,)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lam": -1.0}, ValueError, "lam must be >= 0"),
        ({"step": 1.0}, ValueError, r"step must lie in \(0, 1/L\]"),
        ({"step": 0.0}, ValueError, r"step must lie in \(0, 1/L\]"),
        ({"max_iter": 0}, ValueError, "max_iter must be an int >= 1"),
        ({"max_iter": 2.5}, ValueError, "max_iter must be an int >= 1"),
        ({"tol": -1.0}, ValueError, "tol must be >= 0"),
        ({"x0": np.zeros(3)}, ValueError, r"x0 must have shape \(15,\)"),
        ({"b": np.zeros(7)}, ValueError, "b must have A's 40 rows"),
        ({"A": np.zeros(40)}, ValueError, "A must have 2 dimension"),
        ({"A": np.zeros((40, 15))}, ValueError, "A is zero"),
    ],
)
@pytest.mark.parametrize("solver", [ista, fista])
def test_ista_and_fista_bad_input(solver, kwargs, error, match):
    A, b = lasso_problem()
    args = {"A": A, "b": b, "lam": 1.0, **kwargs}
    with pytest.raises(error, match=match):
        solver(**args)


def test_lasso_objective_bad_x():
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        lasso_objective(np.eye(2), [1.0, 2.0], 0.1, [1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- SGDW


def least_squares(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50, 8))
    y = X @ rng.normal(size=8) + 0.1 * rng.normal(size=50)
    return lambda w: X.T @ (X @ w - y) / len(y)


@pytest.mark.parametrize(("lr", "mu", "lam"), [(0.05, 0.9, 0.1), (0.1, 0.0, 0.5), (0.02, 0.5, 0.0)])
def test_sgdw_matches_the_loop_by_hand_step_for_step(lr, mu, lam):
    """Loshchilov and Hutter's Algorithm 1 in PyTorch's convention, as the book writes it."""
    grad_fn = least_squares()
    w, w_hand, buf = np.ones(8), np.ones(8), np.zeros(8)
    opt = SGDW([w], lr=lr, momentum=mu, weight_decay=lam)
    for _ in range(100):
        opt.step([grad_fn(w)])
        buf = mu * buf + grad_fn(w_hand)
        w_hand = (1 - lr * lam) * w_hand - lr * buf
        np.testing.assert_array_equal(w, w_hand)  # the same operations in the same order
    assert opt.t == 100


def test_sgdw_without_decay_is_sgd_and_without_momentum_is_sgd_up_to_rounding():
    grad_fn = least_squares(1)
    for kwargs in (
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.5, "dampening": 0.3},
    ):
        w, w_sgd = np.ones(8), np.ones(8)
        opt, opt_sgd = SGDW([w], lr=0.05, **kwargs), SGD([w_sgd], lr=0.05, **kwargs)
        for _ in range(100):
            opt.step([grad_fn(w)])
            opt_sgd.step([grad_fn(w_sgd)])
        np.testing.assert_array_equal(w, w_sgd)
    w, w_sgd = np.ones(8), np.ones(8)
    opt, opt_sgd = SGDW([w], lr=0.05, weight_decay=0.2), SGD([w_sgd], lr=0.05, weight_decay=0.2)
    for _ in range(100):
        opt.step([grad_fn(w)])
        opt_sgd.step([grad_fn(w_sgd)])
    np.testing.assert_allclose(w, w_sgd, rtol=1e-13, atol=1e-14)


def test_sgdw_differs_from_sgd_with_momentum_and_decay():
    grad_fn = least_squares(2)
    w, w_sgd = np.ones(8), np.ones(8)
    opt = SGDW([w], lr=0.05, momentum=0.9, weight_decay=0.1)
    opt_sgd = SGD([w_sgd], lr=0.05, momentum=0.9, weight_decay=0.1)
    for _ in range(100):
        opt.step([grad_fn(w)])
        opt_sgd.step([grad_fn(w_sgd)])
    assert np.max(np.abs(w - w_sgd)) > 1e-3
    assert all(b is not None for b in opt.momentum_buffers)


def test_sgdw_zero_gradient_is_pure_decay_and_follows_the_learning_rate():
    w = np.array([2.0, -3.0])
    opt = SGDW([w], lr=0.1, momentum=0.9, weight_decay=0.5)
    for _ in range(5):
        opt.step([np.zeros(2)])
    opt.lr = 0.05  # a schedule: the decay follows it
    for _ in range(5):
        opt.step([np.zeros(2)])
    np.testing.assert_allclose(w, np.array([2.0, -3.0]) * 0.95**5 * 0.975**5, rtol=1e-14)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: SGDW(p, lr=-0.1), ValueError, "lr must be >= 0"),
        (lambda p: SGDW(p, lr=0.1, momentum=1.0), ValueError, r"momentum must lie in \[0, 1\)"),
        (lambda p: SGDW(p, lr=0.1, weight_decay=-1), ValueError, "weight_decay must be >= 0"),
        (
            lambda p: SGDW(p, lr=0.1, weight_decay=float("inf")),
            ValueError,
            "weight_decay must be finite",
        ),
        (lambda p: SGDW(p, lr=0.1, nesterov=True), ValueError, "nesterov=True requires momentum"),
    ],
)
def test_sgdw_bad_hyper_parameters(make, error, match):
    with pytest.raises(error, match=match):
        make([np.zeros(3)])


# --------------------------------------------------------------------------- FISTA


def fista_by_hand(A, b, lam, iters):
    """Beck and Teboulle's FISTA with step 1/L, as the book's exercise writes it."""
    L = np.linalg.norm(A, 2) ** 2
    x = y = np.zeros(A.shape[1])
    t, F = 1.0, []
    for _ in range(iters):
        x_new = soft_threshold(y - A.T @ (A @ y - b) / L, lam / L)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = x_new + (t - 1) / t_new * (x_new - x)
        x, t = x_new, t_new
        F.append(lasso_objective(A, b, lam, x))
    return x, np.array(F)


def test_fista_matches_the_loop_by_hand():
    A, b = lasso_problem()
    res = fista(A, b, 5.0, tol=0.0, max_iter=60)
    x_hand, F_hand = fista_by_hand(A, b, 5.0, 60)
    assert res.n_iter == 60
    assert res.objective.shape == (61,)
    np.testing.assert_allclose(res.x, x_hand, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res.objective[1:], F_hand, rtol=1e-12)
    assert res.objective[0] == pytest.approx(0.5 * b @ b)


@pytest.mark.parametrize("seed", range(6))
def test_fista_obeys_beck_and_teboulle_bound(seed):
    rng = np.random.default_rng(seed)
    m, n = (30, 12) if seed % 2 == 0 else (20, 60)
    A = rng.normal(size=(m, n))
    x_true = np.where(rng.random(n) < 0.3, rng.normal(scale=2.0, size=n), 0.0)
    b = A @ x_true + 0.3 * rng.normal(size=m)
    lam = 0.2 * np.max(np.abs(A.T @ b))
    x0 = rng.normal(size=n)
    ref = ista(A, b, lam, tol=1e-15, max_iter=200_000)
    F_star = lasso_objective(A, b, lam, ref.x)
    res = fista(A, b, lam, x0=x0, tol=0.0, max_iter=300)
    assert res.objective.min() >= F_star - 1e-9 * F_star  # the reference is the minimum
    L = np.linalg.norm(A, 2) ** 2
    k = np.arange(1, res.n_iter + 1)
    bound = 2 * L * np.sum((x0 - ref.x) ** 2) / (k + 1) ** 2
    assert np.all(res.objective[1:] - F_star <= bound + 1e-9 * F_star)


def test_fista_converges_to_the_ista_solution_and_faster():
    A, b = lasso_problem()
    ref = ista(A, b, 5.0, tol=1e-14, max_iter=50_000)
    res = fista(A, b, 5.0, tol=1e-14, max_iter=50_000)
    assert res.converged
    np.testing.assert_allclose(res.x, ref.x, atol=1e-9)
    F_star = min(ref.objective[-1], res.objective[-1])
    first = [int(np.argmax(r.objective - F_star <= 1e-6 * F_star)) for r in (ref, res)]
    assert 0 < first[1] < first[0]


def test_fista_identity_design_and_warm_start():
    b = np.array([3.0, -0.2, -1.5, 0.9])
    res = fista(np.eye(4), b, 1.0)
    np.testing.assert_array_equal(res.x, soft_threshold(b, 1.0))
    assert res.converged
    assert res.n_iter == 2
    A, b2 = lasso_problem()
    x_star = ista(A, b2, 5.0, tol=1e-14, max_iter=50_000).x
    warm = fista(A, b2, 5.0, x0=x_star, tol=1e-12)
    assert warm.n_iter <= 2
    capped = fista(A, b2, 5.0, max_iter=3)
    assert capped.n_iter == 3
    assert not capped.converged
    assert capped.objective.shape == (4,)
