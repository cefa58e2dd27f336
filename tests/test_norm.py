"""Tests of derived.norm against torch in float64 (functional forms and autograd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.norm import (
    batch_norm,
    batch_norm_backward,
    batch_norm_eval,
    batch_norm_running_update,
    layer_norm,
    layer_norm_backward,
    mean_pairwise_cosine,
    relu_cosine_map,
    rms_norm,
    rms_norm_backward,
    standardize,
    standardize_jacobian,
)
from oracles import float_arrays, n64, t64

RTOL = 1e-10
ATOL = 1e-12


def close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def torch_grads(fn, dy, *inputs):
    """Run ``fn`` on float64 leaves made from ``inputs``; return output and input grads."""
    leaves = [t64(a, requires_grad=True) for a in inputs]
    out = fn(*leaves)
    out.backward(t64(dy))
    return n64(out), [n64(leaf.grad) for leaf in leaves]


# --------------------------------------------------------------------------- layer norm


@pytest.mark.parametrize("shape", [(5,), (4, 7), (2, 3, 6), (3, 1), (1, 8)])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_layer_norm_and_backward_match_torch(shape, eps):
    rng = np.random.default_rng(0)
    x, dy = rng.normal(2.0, 3.0, size=shape), rng.normal(size=shape)
    d = shape[-1]
    gamma, beta = rng.normal(size=d), rng.normal(size=d)

    def fn(xt, gt, bt):
        return F.layer_norm(xt, (d,), gt, bt, eps)

    y_t, (dx_t, dg_t, db_t) = torch_grads(fn, dy, x, gamma, beta)
    close(layer_norm(x, gamma, beta, eps), y_t)
    dx, dg, db = layer_norm_backward(dy, x, gamma, eps)
    close(dx, dx_t)
    close(dg, dg_t)
    close(db, db_t)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 9)),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    data=st.data(),
)
def test_layer_norm_backward_any_shape(shape, scale, data):
    x = data.draw(float_arrays(shape)) * scale
    dy = data.draw(float_arrays(shape))
    gamma = data.draw(float_arrays(shape[-1]))
    d = shape[-1]
    y_t, (dx_t, dg_t) = torch_grads(
        lambda xt, gt: F.layer_norm(xt, (d,), gt, None, 1e-5), dy, x, gamma
    )
    # centring rounds at the scale of |x|, and dividing by sigma >= sqrt(eps) magnifies it:
    # the error of u, where the true u may be exactly 0 (constant rows)
    err_u = 1e-13 * (1 + np.abs(x).max()) / np.sqrt(1e-5)
    close(layer_norm(x, gamma, np.zeros(d)), y_t, atol=err_u * (1 + np.abs(gamma).max()))
    dx, dg, db = layer_norm_backward(dy, x, gamma)
    # dx scales like 1 / sigma, up to 1 / sqrt(eps) ~ 316: compare relative to that size
    close(dx, dx_t, atol=1e-9 * (1 + np.abs(dx_t).max()))
    close(dg, dg_t, atol=err_u * (1 + np.abs(dy).sum()))
    close(db, dy.sum(axis=0), atol=1e-12)


def test_layer_norm_one_feature_is_beta():
    # D = 1: the variance is 0, u = 0, y = beta, and no gradient reaches x
    x = np.array([[3.0], [-7.0]])
    close(layer_norm(x, [2.0], [0.5]), [[0.5], [0.5]], atol=0)
    dx, dg, db = layer_norm_backward(np.ones((2, 1)), x, [2.0])
    assert np.all(dx == 0)
    assert dg.tolist() == [0.0]
    assert db.tolist() == [2.0]
    y_t = F.layer_norm(t64(x), (1,), t64([2.0]), t64([0.5]), 1e-5)
    close(layer_norm(x, [2.0], [0.5]), n64(y_t), atol=0)


def test_layer_norm_rows_are_independent():
    rng = np.random.default_rng(1)
    x, g, b = rng.normal(size=(6, 5)), rng.normal(size=5), rng.normal(size=5)
    alone = layer_norm(x[:1], g, b)
    close(layer_norm(x, g, b)[:1], alone, rtol=0, atol=0)


# --------------------------------------------------------------------------- batch norm


@pytest.mark.parametrize("shape", [(8, 3), (2, 5), (4, 3, 5, 6), (1, 2, 3, 3), (3, 1, 1, 2)])
@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_batch_norm_and_backward_match_torch(shape, eps):
    rng = np.random.default_rng(2)
    x, dy = rng.normal(-1.0, 2.0, size=shape), rng.normal(size=shape)
    c = shape[1]
    gamma, beta = rng.normal(size=c), rng.normal(size=c)

    def fn(xt, gt, bt):
        return F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)

    y_t, (dx_t, dg_t, db_t) = torch_grads(fn, dy, x, gamma, beta)
    close(batch_norm(x, gamma, beta, eps), y_t)
    dx, dg, db = batch_norm_backward(dy, x, gamma, eps)
    close(dx, dx_t)
    close(dg, dg_t)
    close(db, db_t)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.one_of(
        st.tuples(st.integers(2, 6), st.integers(1, 4)),
        st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(2, 3)),
    ),
    data=st.data(),
)
def test_batch_norm_any_shape(shape, data):
    x = data.draw(float_arrays(shape))
    dy = data.draw(float_arrays(shape))
    gamma, beta = data.draw(float_arrays(shape[1])), data.draw(float_arrays(shape[1]))
    y_t, (dx_t, dg_t, db_t) = torch_grads(
        lambda xt, gt, bt: F.batch_norm(xt, None, None, gt, bt, training=True), dy, x, gamma, beta
    )
    close(batch_norm(x, gamma, beta), y_t, atol=1e-9)
    dx, dg, db = batch_norm_backward(dy, x, gamma)
    close(dx, dx_t, atol=1e-9 * (1 + np.abs(dx_t).max()))
    close(dg, dg_t, atol=1e-9)
    close(db, db_t, atol=1e-12)


def test_batch_norm_couples_the_examples():
    # in training mode, example 0's output depends on example 1 (not so in layer norm)
    rng = np.random.default_rng(3)
    x, g, b = rng.normal(size=(4, 3)), np.ones(3), np.zeros(3)
    x2 = x.copy()
    x2[1] += 5.0
    assert np.max(np.abs(batch_norm(x, g, b)[0] - batch_norm(x2, g, b)[0])) > 0.1


def test_batch_of_one_is_refused_in_training_as_in_torch():
    x = np.ones((1, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(t64(x), None, None, training=True)
    with pytest.raises(ValueError, match="x must have more than one value per channel"):
        batch_norm(x, np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="x must have more than one value per channel"):
        batch_norm_backward(x, x, np.ones(3))
    with pytest.raises(ValueError, match="x must have more than one value per channel"):
        batch_norm_running_update(np.zeros(3), np.ones(3), x)
    # one example with several positions per channel is a legal batch
    x4 = np.random.default_rng(4).normal(size=(1, 2, 2, 2))
    y_t = F.batch_norm(t64(x4), None, None, training=True)
    close(batch_norm(x4, np.ones(2), np.zeros(2)), n64(y_t))


# --------------------------------------------------------------------------- running statistics


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3, 3)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_running_statistics_match_torch_over_several_steps(shape, momentum):
    rng = np.random.default_rng(5)
    c = shape[1]
    bn = torch.nn.BatchNorm1d(c) if len(shape) == 2 else torch.nn.BatchNorm2d(c)
    bn = bn.double()
    bn.momentum = momentum
    with torch.no_grad():
        bn.weight.copy_(t64(rng.normal(size=c)))
        bn.bias.copy_(t64(rng.normal(size=c)))
    mean, var = np.zeros(c), np.ones(c)  # torch's initial running statistics
    for step in range(4):
        x = rng.normal(step, 1.0 + step, size=shape)
        bn.train()
        close(batch_norm(x, n64(bn.weight), n64(bn.bias), bn.eps), n64(bn(t64(x))))
        mean, var = batch_norm_running_update(mean, var, x, momentum)
        close(mean, n64(bn.running_mean), atol=1e-14)
        close(var, n64(bn.running_var), atol=1e-14)
    x_test = rng.normal(size=(1,) + shape[1:])  # one example: fine in evaluation mode
    bn.eval()
    y_eval = batch_norm_eval(x_test, mean, var, n64(bn.weight), n64(bn.bias), bn.eps)
    close(y_eval, n64(bn(t64(x_test))))


def test_running_variance_is_unbiased_and_forward_is_biased():
    x = np.array([[1.0], [3.0]])  # biased variance 1, unbiased 2
    _, var = batch_norm_running_update([0.0], [0.0], x, momentum=1.0)
    assert var.tolist() == [2.0]
    close(batch_norm(x, [1.0], [0.0], eps=1e-12), [[-1.0], [1.0]])


def test_eval_mode_matches_functional_torch():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 4, 2, 2))
    m, v, g, b = rng.normal(size=4), rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4)
    y_t = F.batch_norm(t64(x), t64(m), t64(v), t64(g), t64(b), training=False, eps=1e-3)
    close(batch_norm_eval(x, m, v, g, b, eps=1e-3), n64(y_t))


# --------------------------------------------------------------------------- RMSNorm


@pytest.mark.parametrize("shape", [(6,), (3, 5), (2, 2, 4), (4, 1)])
@pytest.mark.parametrize("eps", [None, 1e-6, 0.5])
def test_rms_norm_and_backward_match_torch(shape, eps):
    rng = np.random.default_rng(7)
    x, dy, gamma = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape[-1])
    d = shape[-1]
    y_t, (dx_t, dg_t) = torch_grads(lambda xt, gt: F.rms_norm(xt, (d,), gt, eps), dy, x, gamma)
    close(rms_norm(x, gamma, eps), y_t)
    dx, dg = rms_norm_backward(dy, x, gamma, eps)
    close(dx, dx_t)
    close(dg, dg_t)


def test_rms_norm_default_eps_is_torch_float64_default():
    x = np.array([[1e-9, -2e-9]])  # tiny: the eps matters
    y_t = F.rms_norm(t64(x), (2,), None)
    close(rms_norm(x, np.ones(2)), n64(y_t))
    assert not np.allclose(rms_norm(x, np.ones(2), eps=1e-6), n64(y_t))


def test_rms_norm_is_layer_norm_without_centring():
    # for zero-mean rows RMSNorm and layer norm agree
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 6))
    x -= x.mean(axis=1, keepdims=True)
    g = rng.normal(size=6)
    close(rms_norm(x, g, eps=1e-5), layer_norm(x, g, np.zeros(6), eps=1e-5))


# --------------------------------------------------------------------------- the Jacobian


@pytest.mark.parametrize("shape", [(1,), (2,), (6,), (3, 5)])
def test_standardize_jacobian_matches_jacrev(shape):
    x = np.random.default_rng(9).normal(size=shape)

    def f(xt):
        return F.layer_norm(xt, (shape[-1],), None, None, 1e-5)

    jac = torch.func.jacrev(f)
    if len(shape) == 2:
        jac = torch.func.vmap(jac)
    close(standardize_jacobian(x), n64(jac(t64(x))))
    close(standardize(x), n64(f(t64(x))))


def test_standardize_jacobian_spectrum():
    # sigma J has eigenvalue 0 on 1, eps / (var + eps) on u, and 1 on the other D - 2
    x = np.random.default_rng(10).normal(size=7)
    eps = 1e-3
    var = x.var()
    sigma = np.sqrt(var + eps)
    J = standardize_jacobian(x, eps)
    close(J, J.T, rtol=0, atol=0)
    eig = np.linalg.eigvalsh(sigma * J)
    close(eig, [0.0, eps / (var + eps)] + [1.0] * 5, atol=1e-12)
    u = standardize(x, eps)
    close(sigma * J @ u, eps / (var + eps) * u, atol=1e-12)


def test_backward_is_the_jacobian_product():
    rng = np.random.default_rng(11)
    x, dy, g = rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), rng.normal(size=5)
    dx, _, _ = layer_norm_backward(dy, x, g)
    J = standardize_jacobian(x)
    close(dx, np.einsum("nij,ni->nj", J, dy * g))


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_named():
    x, g, b = np.ones((3, 4)), np.ones(4), np.zeros(4)
    with pytest.raises(ValueError, match="gamma must have shape \\(4,\\)"):
        layer_norm(x, np.ones(3), b)
    with pytest.raises(ValueError, match="beta must have shape \\(4,\\)"):
        layer_norm(x, g, np.zeros(5))
    with pytest.raises(ValueError, match="gamma must have 1 dimension"):
        layer_norm(x, np.ones((1, 4)), b)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        layer_norm(x, g, b, eps=0.0)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        rms_norm(x, g, eps=-1.0)
    with pytest.raises(ValueError, match="x must be finite"):
        layer_norm(np.array([[1.0, np.nan, 0.0, 0.0]]), g, b)
    with pytest.raises(ValueError, match="x must have D >= 1"):
        layer_norm(np.ones((3, 0)), np.ones(0), np.ones(0))
    with pytest.raises(ValueError, match="dy must have the shape of x"):
        layer_norm_backward(np.ones((3, 5)), x, g)
    with pytest.raises(ValueError, match="dy must be finite"):
        rms_norm_backward(np.full((3, 4), np.inf), x, g)
    with pytest.raises(ValueError, match="x must have 2 or 4 dimension"):
        batch_norm(np.ones((2, 3, 4)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="gamma must have shape \\(3,\\), one entry per channel"):
        batch_norm(np.ones((2, 3)), np.ones(2), np.zeros(3))
    with pytest.raises(ValueError, match="x must have N >= 1"):
        batch_norm(np.ones((0, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="momentum must lie in"):
        batch_norm_running_update(np.zeros(3), np.ones(3), np.ones((2, 3)), momentum=1.5)
    with pytest.raises(ValueError, match="running_var must be >= 0"):
        batch_norm_eval(np.ones((2, 3)), np.zeros(3), -np.ones(3), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="running_mean must have shape"):
        batch_norm_eval(np.ones((2, 3)), np.zeros(2), np.ones(3), np.ones(3), np.zeros(3))
    with pytest.raises(TypeError, match="x must contain real numbers"):
        standardize(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="eps must be a real number"):
        standardize_jacobian(np.ones(3), eps="small")


# --------------------------------------------------------------------------- geometry


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 9), st.integers(1, 6), st.integers(0, 2**31))
def test_mean_pairwise_cosine_brute_force(n, d, seed):
    h = np.random.default_rng(seed).normal(0.3, 1.0, size=(n, d))
    pairs = [
        h[i] @ h[j] / np.linalg.norm(h[i]) / np.linalg.norm(h[j])
        for i in range(n)
        for j in range(n)
        if i != j
    ]
    assert mean_pairwise_cosine(h) == pytest.approx(np.mean(pairs), rel=1e-12, abs=1e-12)


def test_mean_pairwise_cosine_extremes_and_torch():
    assert mean_pairwise_cosine(np.outer([1.0, 2.0, 5.0], [1.0, -1.0, 3.0])) == pytest.approx(1)
    assert mean_pairwise_cosine(np.eye(4)) == pytest.approx(0, abs=1e-15)
    h = np.random.default_rng(0).normal(size=(7, 5))
    ref = F.cosine_similarity(t64(h)[:, None, :], t64(h)[None, :, :], dim=2)
    oracle = (ref.sum() - 7) / 42
    assert mean_pairwise_cosine(h) == pytest.approx(oracle.item(), rel=1e-12)


def test_relu_cosine_map_monte_carlo():
    rng = np.random.default_rng(1)
    for c in (-0.9, -0.3, 0.0, 0.5, 0.95):
        a, z = rng.normal(size=(2, 2_000_000))  # standard error about 1e-3
        b = c * a + np.sqrt(1 - c**2) * z  # correlation c with a, unit variance
        estimate = np.mean(np.maximum(a, 0) * np.maximum(b, 0)) / 0.5  # E[relu(a)^2] = 1/2
        assert relu_cosine_map(c) == pytest.approx(estimate, abs=5e-3)
    np.testing.assert_allclose(relu_cosine_map([-1.0, 0.0, 1.0]), [0.0, 1 / np.pi, 1.0])
    grid = np.linspace(-1, 0.999, 50)
    assert np.all(relu_cosine_map(grid) > grid)  # the cosine grows at every layer


def test_geometry_bad_input():
    with pytest.raises(ValueError, match="h must have at least 2 rows"):
        mean_pairwise_cosine(np.ones((1, 3)))
    with pytest.raises(ValueError, match="h must have no zero row"):
        mean_pairwise_cosine(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="h must have 2 dimension"):
        mean_pairwise_cosine(np.ones(3))
    with pytest.raises(ValueError, match="c must lie in"):
        relu_cosine_map([0.5, 1.5])
    with pytest.raises(ValueError, match="c must be finite"):
        relu_cosine_map([np.nan])
