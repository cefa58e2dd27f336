"""Tests of derived.losses against torch.nn.functional and torch.autograd (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from derived.losses import (
    bce,
    bce_grad,
    bce_with_logits,
    bce_with_logits_grad,
    cross_entropy,
    cross_entropy_grad,
    gaussian_nll,
    gaussian_nll_grad,
    mse,
    mse_grad,
)

RTOL = 1e-10


def t(x: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def torch_value_and_grad(fn, x: np.ndarray, *rest) -> tuple[float, np.ndarray]:
    xt = t(x, grad=True)
    loss = fn(xt, *rest)
    loss.backward()
    return float(loss.detach()), xt.grad.numpy()


# --------------------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize(("n", "k"), [(1, 1), (1, 3), (7, 5), (64, 10)])
def test_cross_entropy_matches_torch(n, k):
    rng = np.random.default_rng(n * 100 + k)
    z = rng.normal(scale=4.0, size=(n, k))
    labels = rng.integers(0, k, size=n)
    value, grad = torch_value_and_grad(F.cross_entropy, z, torch.from_numpy(labels))
    np.testing.assert_allclose(cross_entropy(z, labels), value, rtol=RTOL)
    np.testing.assert_allclose(cross_entropy_grad(z, labels), grad, rtol=RTOL, atol=1e-16)


def test_cross_entropy_extreme_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    labels = np.array([1, 0])
    value, grad = torch_value_and_grad(F.cross_entropy, z, torch.from_numpy(labels))
    assert np.isfinite(cross_entropy(z, labels))
    assert cross_entropy(z, labels) == pytest.approx(value, rel=RTOL)
    assert cross_entropy(z, labels) == pytest.approx((2e4 + 2e4 + np.log(2)) / 2, rel=1e-15)
    np.testing.assert_allclose(cross_entropy_grad(z, labels), grad, rtol=RTOL, atol=1e-16)


def test_cross_entropy_closed_forms():
    assert cross_entropy([[0.0, 0.0, 0.0]], [2]) == pytest.approx(np.log(3), rel=1e-15)
    # a confident correct prediction costs almost nothing, and its gradient is tiny
    assert cross_entropy([[50.0, 0.0]], [0]) == pytest.approx(np.exp(-50.0), rel=1e-12)
    g = cross_entropy_grad([[0.0, np.log(3.0)]], [0])
    np.testing.assert_allclose(g, [[0.25 - 1.0, 0.75]], rtol=1e-15)


def test_cross_entropy_of_a_confident_correct_prediction_is_relatively_accurate():
    # -log softmax(28, 0)_0 = log1p(e^-28); forming 1 + e^-28 first would lose 3 digits
    assert cross_entropy([[28.0, 0.0]], [0]) == pytest.approx(np.log1p(np.exp(-28.0)), rel=1e-14)
    assert cross_entropy([[50.0, 0.0]], [0]) == pytest.approx(np.exp(-50.0), rel=1e-14, abs=0)


def test_cross_entropy_float_labels_that_are_whole_numbers():
    z = np.random.default_rng(3).normal(size=(4, 3))
    assert cross_entropy(z, np.array([0.0, 2.0, 1.0, 1.0])) == cross_entropy(z, [0, 2, 1, 1])


@settings(max_examples=50, deadline=None)
@given(
    st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
        lambda s: st.tuples(
            arrays(np.float64, s, elements=st.floats(-30, 30)),
            arrays(np.int64, (s[0],), elements=st.integers(0, s[1] - 1)),
        )
    )
)
def test_cross_entropy_grad_rows_sum_to_zero_and_match_torch(case):
    z, labels = case
    g = cross_entropy_grad(z, labels)
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-15)
    assert cross_entropy(z, labels) >= 0.0
    value, grad = torch_value_and_grad(F.cross_entropy, z, torch.from_numpy(labels))
    # The loss is lse(z) - z_y, a difference of numbers as large as max|z|: any float64
    # route to it carries an absolute rounding error of a few eps * max|z| (the case
    # z = (28, 0), y = 0 has a loss of 7e-13 that two correct routes give to 1e-15).
    atol = 8 * np.finfo(np.float64).eps * max(1.0, float(np.abs(z).max()))
    np.testing.assert_allclose(cross_entropy(z, labels), value, rtol=1e-9, atol=atol)
    np.testing.assert_allclose(g, grad, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    ("logits", "labels", "exc", "match"),
    [
        (np.zeros(3), [0], ValueError, "logits must have 2 dimension"),
        (np.zeros((0, 3)), [], ValueError, "N >= 1 rows"),
        (np.zeros((2, 0)), [0, 0], ValueError, "K >= 1 classes"),
        (np.zeros((2, 3)), [0], ValueError, r"labels must have shape \(2,\)"),
        (np.zeros((2, 3)), [0, 3], ValueError, r"labels must lie in \[0, 2\]"),
        (np.zeros((2, 3)), [-1, 0], ValueError, r"labels must lie in \[0, 2\]"),
        (np.zeros((2, 3)), [0.5, 1.0], ValueError, "non-integer"),
        (np.zeros((2, 3)), ["a", "b"], TypeError, "labels must be integers"),
        (np.zeros((2, 3)), [True, False], TypeError, "labels must be integers"),
        ([[np.nan, 0.0]], [0], ValueError, "logits must be finite"),
    ],
)
def test_cross_entropy_errors(logits, labels, exc, match):
    with pytest.raises(exc, match=match):
        cross_entropy(logits, labels)
    with pytest.raises(exc, match=match):
        cross_entropy_grad(logits, labels)


# --------------------------------------------------------------------------- MSE


@pytest.mark.parametrize("shape", [(1,), (5,), (8, 3), (2, 3, 4)])
def test_mse_matches_torch(shape):
    rng = np.random.default_rng(len(shape))
    pred, y = rng.normal(size=shape), rng.normal(size=shape)
    value, grad = torch_value_and_grad(F.mse_loss, pred, t(y))
    np.testing.assert_allclose(mse(pred, y), value, rtol=RTOL)
    np.testing.assert_allclose(mse_grad(pred, y), grad, rtol=RTOL)


def test_mse_errors():
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="same shape"):
        mse_grad(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="y_pred must not be empty"):
        mse([], [])
    with pytest.raises(ValueError, match="y must be finite"):
        mse([1.0], [np.inf])


# --------------------------------------------------------------------------- BCE


def test_bce_matches_torch_inside_the_interval():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.01, 0.99, size=(6, 4))
    for y in (rng.integers(0, 2, size=(6, 4)).astype(float), rng.uniform(size=(6, 4))):
        value, grad = torch_value_and_grad(F.binary_cross_entropy, p, t(y))
        np.testing.assert_allclose(bce(p, y), value, rtol=RTOL)
        np.testing.assert_allclose(bce_grad(p, y), grad, rtol=RTOL)
        # the compact form of the gradient
        np.testing.assert_allclose(bce_grad(p, y), (p - y) / (p * (1 - p)) / p.size, rtol=1e-12)


def test_bce_at_the_ends_of_the_interval():
    assert bce([0.0, 1.0], [0.0, 1.0]) == 0.0
    np.testing.assert_array_equal(bce_grad([0.0, 1.0], [0.0, 1.0]), [0.5, -0.5])
    assert bce([0.0], [1.0]) == np.inf
    assert bce([1.0, 0.5], [0.0, 0.5]) == np.inf
    assert bce_grad([0.0], [1.0])[0] == -np.inf
    assert bce_grad([1.0], [0.0])[0] == np.inf


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_bce_with_logits_matches_torch(scale):
    rng = np.random.default_rng(int(scale))
    z = rng.normal(size=(5, 3)) * scale
    y = rng.integers(0, 2, size=(5, 3)).astype(float)
    value, grad = torch_value_and_grad(F.binary_cross_entropy_with_logits, z, t(y))
    assert np.isfinite(bce_with_logits(z, y))
    np.testing.assert_allclose(bce_with_logits(z, y), value, rtol=RTOL)
    np.testing.assert_allclose(bce_with_logits_grad(z, y), grad, rtol=RTOL, atol=1e-300)


def test_bce_with_logits_extreme_closed_form():
    assert bce_with_logits([1e4, -1e4], [0.0, 1.0]) == 1e4
    assert bce_with_logits([1e4, -1e4], [1.0, 0.0]) == 0.0
    np.testing.assert_array_equal(bce_with_logits_grad([1e4, -1e4], [0.0, 0.0]), [0.5, 0.0])


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (n,), elements=st.floats(-20, 20)),
            arrays(np.float64, (n,), elements=st.floats(0, 1)),
        )
    )
)
def test_bce_with_logits_equals_bce_of_sigmoid(case):
    z, y = case
    p = 1.0 / (1.0 + np.exp(-z))
    # sigmoid of |z| <= 20 is at least 2e-9 away from 0 and 1, so bce on p is accurate
    np.testing.assert_allclose(bce_with_logits(z, y), bce(p, y), rtol=1e-7, atol=1e-12)
    # chain rule: dl/dz = dl/dp * p (1 - p)
    np.testing.assert_allclose(
        bce_with_logits_grad(z, y), bce_grad(p, y) * p * (1 - p), rtol=1e-7, atol=1e-15
    )


@pytest.mark.parametrize(
    ("fn", "a", "b", "match"),
    [
        (bce, [1.2], [1.0], r"p must lie in \[0, 1\]"),
        (bce_grad, [-0.1], [1.0], r"p must lie in \[0, 1\]"),
        (bce, [0.5], [2.0], r"y must lie in \[0, 1\]"),
        (bce_with_logits, [0.5], [-1.0], r"y must lie in \[0, 1\]"),
        (bce_with_logits_grad, [0.5], [1.5], r"y must lie in \[0, 1\]"),
        (bce, [0.5, 0.5], [1.0], "same shape"),
        (bce_with_logits, [[0.5]], [1.0], "same shape"),
        (bce_with_logits, [np.nan], [1.0], "z must be finite"),
    ],
)
def test_bce_errors(fn, a, b, match):
    with pytest.raises(ValueError, match=match):
        fn(a, b)


# --------------------------------------------------------------------------- Gaussian NLL


@pytest.mark.parametrize("shape", [(1,), (6,), (5, 3)])
def test_gaussian_nll_matches_torch_and_scipy(shape):
    from scipy.stats import norm

    rng = np.random.default_rng(sum(shape))
    mean, y = rng.normal(size=shape), rng.normal(size=shape)
    var = rng.uniform(0.1, 3.0, size=shape)
    mean_t, var_t = t(mean, grad=True), t(var, grad=True)
    loss_t = F.gaussian_nll_loss(mean_t, t(y), var_t, full=True)
    loss_t.backward()
    np.testing.assert_allclose(gaussian_nll(mean, y, var), loss_t.item(), rtol=RTOL)
    expected = -np.mean(norm.logpdf(y, loc=mean, scale=np.sqrt(var)))
    np.testing.assert_allclose(gaussian_nll(mean, y, var), expected, rtol=RTOL)
    d_pred, d_var = gaussian_nll_grad(mean, y, var)
    np.testing.assert_allclose(d_pred, mean_t.grad.numpy(), rtol=RTOL, atol=1e-16)
    np.testing.assert_allclose(d_var, var_t.grad.numpy(), rtol=RTOL, atol=1e-16)


def test_gaussian_nll_with_unit_variance_is_half_the_mse_plus_a_constant():
    rng = np.random.default_rng(4)
    mean, y = rng.normal(size=20), rng.normal(size=20)
    ones = np.ones(20)
    assert gaussian_nll(mean, y, ones) == pytest.approx(
        0.5 * mse(mean, y) + 0.5 * np.log(2 * np.pi), rel=1e-14
    )
    np.testing.assert_allclose(gaussian_nll_grad(mean, y, ones)[0], 0.5 * mse_grad(mean, y))


def test_gaussian_nll_variance_gradient_vanishes_at_the_squared_residual():
    d_pred, d_var = gaussian_nll_grad([3.0, -1.0], [1.0, 0.0], [4.0, 1.0])
    np.testing.assert_array_equal(d_var, [0.0, 0.0])
    np.testing.assert_array_equal(d_pred, [0.25, -0.5])


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (([0.0, 1.0], [0.0, 1.0], [1.0, 0.0]), ValueError, "var must be > 0"),
        (([0.0, 1.0], [0.0, 1.0], [1.0]), ValueError, "var must have the shape of y_pred"),
        (([0.0, 1.0], [0.0], [1.0, 1.0]), ValueError, "y_pred and y must have the same shape"),
        (([0.0], [0.0], [np.inf]), ValueError, "var must be finite"),
    ],
)
def test_gaussian_nll_errors(args, exc, match):
    for fn in (gaussian_nll, gaussian_nll_grad):
        with pytest.raises(exc, match=match):
            fn(*args)
