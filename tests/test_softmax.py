"""Tests of derived.softmax against torch (float64), closed forms and hypothesis laws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from derived.softmax import log_softmax, logsumexp, softmax, softmax_jacobian, softmax_vjp
from oracles import floats, numerical_jacobian

RTOL = 1e-10
ATOL = 1e-13

finite = floats(-50.0, 50.0)
betas = st.floats(min_value=0.05, max_value=20.0)


def logit_batches(max_k: int = 8) -> st.SearchStrategy[np.ndarray]:
    shape = st.tuples(st.integers(1, 6), st.integers(1, max_k))
    return shape.flatmap(lambda s: arrays(np.float64, s, elements=finite))


def t(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


# --------------------------------------------------------------------------- values


def test_softmax_matches_torch_on_batches():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=5.0, size=(20, 9))
    for beta in (0.3, 1.0, 7.0):
        expected = torch.softmax(beta * t(z), dim=-1).numpy()
        np.testing.assert_allclose(softmax(z, beta=beta), expected, rtol=RTOL, atol=1e-300)
        expected_log = torch.log_softmax(beta * t(z), dim=-1).numpy()
        np.testing.assert_allclose(log_softmax(z, beta=beta), expected_log, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_softmax_any_axis(axis):
    z = np.random.default_rng(1).normal(size=(3, 4, 5))
    np.testing.assert_allclose(
        softmax(z, axis=axis), torch.softmax(t(z), dim=axis).numpy(), rtol=RTOL, atol=1e-300
    )
    np.testing.assert_allclose(
        log_softmax(z, axis=axis), torch.log_softmax(t(z), dim=axis).numpy(), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        logsumexp(z, axis=axis), torch.logsumexp(t(z), dim=axis).numpy(), rtol=RTOL
    )


def test_closed_forms():
    assert softmax([0.0, 0.0]).tolist() == [0.5, 0.5]
    np.testing.assert_allclose(
        softmax([0.0, np.log(2), np.log(3)]), [1 / 6, 1 / 3, 1 / 2], rtol=1e-15
    )
    assert logsumexp([0.0]) == 0.0
    np.testing.assert_allclose(logsumexp([np.log(2), np.log(3)]), np.log(5), rtol=1e-15)
    # the 3-class Jacobian of chapter 6's exercise, as exact fractions / 36
    J = softmax_jacobian([0.0, np.log(2), np.log(3)]) * 36
    np.testing.assert_allclose(J, [[5, -2, -3], [-2, 8, -6], [-3, -6, 9]], atol=1e-13)


def test_integer_input_is_float64():
    out = softmax(np.array([1, 2, 3], dtype=np.int32))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, softmax([1.0, 2.0, 3.0]), rtol=0, atol=0)


def test_single_class_and_empty_batch():
    assert softmax([3.0]).tolist() == [1.0]
    assert log_softmax([3.0]).tolist() == [0.0]
    assert softmax_jacobian([3.0]).tolist() == [[0.0]]
    assert softmax(np.zeros((0, 4))).shape == (0, 4)
    assert softmax_jacobian(np.zeros((0, 4))).shape == (0, 4, 4)
    assert softmax_vjp(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)


# --------------------------------------------------------------------------- extremes


@pytest.mark.parametrize("scale", [1e4, 1e8, 1e300])
def test_extreme_logits_stay_finite_and_exact(scale):
    z = np.array([scale, 0.0, -scale])
    s = softmax(z)
    assert s.tolist() == [1.0, 0.0, 0.0]
    ls = log_softmax(z)
    assert np.all(np.isfinite(ls))
    assert ls[0] == 0.0
    assert ls[2] == -2 * scale or (scale == 1e300 and ls[2] == -2e300)
    assert logsumexp(z) == scale
    assert np.all(np.isfinite(softmax_jacobian(z)))
    assert np.all(np.isfinite(softmax_vjp(z, np.ones(3))))


@pytest.mark.filterwarnings("error")
def test_logit_differences_beyond_float64():
    # 1e308 - (-1e308) overflows: no warning, probabilities exact, the unrepresentable
    # log-probability -2e308 rounds to -inf
    z = [1e308, -1e308]
    assert softmax(z).tolist() == [1.0, 0.0]
    assert log_softmax(z).tolist() == [0.0, -np.inf]
    assert logsumexp(z) == 1e308
    assert softmax_jacobian(z).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # just inside the range, everything is finite
    assert log_softmax([8e307, -8e307]).tolist() == [0.0, -1.6e308]


def test_extreme_logits_match_torch():
    z = np.array([[1e4, -1e4, 3.0, 1e4 - 1.0], [-1e4, -1e4 + 2, -1e4 + 1, -1e4]])
    np.testing.assert_allclose(softmax(z), torch.softmax(t(z), -1).numpy(), rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(log_softmax(z), torch.log_softmax(t(z), -1).numpy(), rtol=RTOL)
    np.testing.assert_allclose(logsumexp(z), torch.logsumexp(t(z), -1).numpy(), rtol=RTOL)


def test_beta_overflow_is_reported():
    with pytest.raises(ValueError, match="beta \\* z overflows"):
        softmax([1e308, 0.0], beta=10.0)


# --------------------------------------------------------------------------- Jacobian


def jacrev_softmax(z: np.ndarray, beta: float) -> np.ndarray:
    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(beta * x, dim=-1)

    jac = torch.func.jacrev(f)
    if z.ndim == 2:
        jac = torch.func.vmap(jac)
    return jac(t(z)).numpy()


@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (5, 3), (1, 10)])
@pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
def test_jacobian_matches_jacrev(shape, beta):
    z = np.random.default_rng(2).normal(scale=2.0, size=shape)
    np.testing.assert_allclose(
        softmax_jacobian(z, beta=beta), jacrev_softmax(z, beta), rtol=RTOL, atol=1e-15 * beta
    )


@settings(max_examples=60, deadline=None)
@given(z=logit_batches(), beta=betas)
def test_jacobian_properties(z, beta):
    J = softmax_jacobian(z, beta=beta)
    K = z.shape[1]
    assert J.shape == (z.shape[0], K, K)
    np.testing.assert_array_equal(J, np.swapaxes(J, 1, 2))  # symmetric, exactly
    scale = beta * 1e-15 * K
    np.testing.assert_allclose(J.sum(axis=2), 0.0, atol=scale)  # J 1 = 0
    eig = np.linalg.eigvalsh(J)
    assert np.all(eig >= -scale)  # positive semidefinite
    assert np.all(eig <= beta / 2 + scale)  # spectral norm <= beta / 2
    s = softmax(z, beta=beta)
    eye = np.eye(K)
    columns = beta * s[:, :, None] * (eye[None] - s[:, None, :])  # [n, j] = beta s_j (e_j - s)
    np.testing.assert_allclose(np.swapaxes(J, 1, 2), columns, rtol=1e-12, atol=scale)


@settings(max_examples=60, deadline=None)
@given(za=logit_batches(), data=st.data(), beta=betas)
def test_softmax_is_beta_over_two_lipschitz(za, data, beta):
    zb = data.draw(arrays(np.float64, za.shape, elements=finite))
    moved = np.linalg.norm(softmax(za, beta=beta) - softmax(zb, beta=beta), axis=1)
    assert np.all(moved <= beta / 2 * np.linalg.norm(za - zb, axis=1) * (1 + 1e-12) + 1e-15)


@settings(max_examples=60, deadline=None)
@given(z=logit_batches(), beta=betas, data=st.data())
def test_vjp_matches_dense_and_torch(z, beta, data):
    v = data.draw(arrays(np.float64, z.shape, elements=finite))
    ours = softmax_vjp(z, v, beta=beta)
    dense = np.einsum("nij,ni->nj", softmax_jacobian(z, beta=beta), v)
    zt = t(z).requires_grad_(True)
    (expected,) = torch.autograd.grad(torch.softmax(beta * zt, dim=-1), zt, t(v))
    tol = 1e-13 * beta * (1 + np.abs(v).max())
    np.testing.assert_allclose(ours, dense, rtol=1e-10, atol=tol)
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-10, atol=tol)


@settings(max_examples=60, deadline=None)
@given(z=logit_batches(), c=finite)
def test_shift_invariance(z, c):
    np.testing.assert_allclose(softmax(z + c), softmax(z), rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(z=logit_batches(), beta=betas)
def test_probabilities_and_logs_agree(z, beta):
    s = softmax(z, beta=beta)
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.exp(log_softmax(z, beta=beta)), s, rtol=1e-12, atol=1e-300)


def test_jacobian_matches_finite_differences():
    z = np.array([0.3, -1.2, 2.0, 0.0])
    fd = numerical_jacobian(softmax, z)
    np.testing.assert_allclose(softmax_jacobian(z), fd, rtol=1e-8, atol=1e-10)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda: softmax([]), ValueError, "at least one class"),
        (lambda: softmax(np.zeros((3, 0))), ValueError, "at least one class"),
        (lambda: softmax(3.0), ValueError, "at least 1 dimension"),
        (lambda: softmax([1.0, np.nan]), ValueError, "z must be finite"),
        (lambda: softmax([1.0, np.inf]), ValueError, "z must be finite"),
        (lambda: softmax(["a", "b"]), TypeError, "real numbers"),
        (lambda: softmax([1 + 1j, 2]), TypeError, "real"),
        (lambda: softmax([[1.0, 2.0], [3.0]]), ValueError, "rectangular"),
        (lambda: softmax([1.0, 2.0], beta=0.0), ValueError, "beta must be a finite number > 0"),
        (lambda: softmax([1.0, 2.0], beta=-1.0), ValueError, "beta must be a finite number > 0"),
        (lambda: softmax([1.0, 2.0], beta=float("nan")), ValueError, "beta"),
        (lambda: softmax([1.0, 2.0], beta="2"), TypeError, "beta must be a real number"),
        (lambda: softmax([1.0, 2.0], axis=1), ValueError, "axis=1 is out of range"),
        (lambda: softmax([1.0, 2.0], axis=0.5), TypeError, "axis must be an int"),
        (lambda: log_softmax([np.nan]), ValueError, "z must be finite"),
        (lambda: logsumexp([]), ValueError, "must not be empty"),
        (lambda: logsumexp(np.zeros((2, 0)), axis=1), ValueError, "must not be empty"),
        (lambda: softmax_jacobian(np.zeros((2, 3, 4))), ValueError, r"shape \(K,\) or \(N, K\)"),
        (lambda: softmax_vjp([1.0, 2.0], [1.0]), ValueError, "v must have the same shape as z"),
        (lambda: softmax_vjp([1.0, 2.0], [[1.0, 2.0]]), ValueError, "same shape"),
        (lambda: softmax_vjp([1.0, 2.0], [1.0, np.nan]), ValueError, "v must be finite"),
        (lambda: softmax_vjp(np.zeros((2, 3, 4)), np.zeros((2, 3, 4))), ValueError, "shape"),
    ],
)
def test_errors_name_the_argument(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_empty_class_axis_other_than_last():
    with pytest.raises(ValueError, match="at least one class"):
        softmax(np.zeros((0, 3)), axis=0)
    with pytest.raises(ValueError, match="at least one class"):
        log_softmax(np.zeros((0, 3)), axis=0)


# --------------------------------------------------------------------------- accuracy


def test_jacobian_when_the_top_probability_rounds_to_one():
    # s_0 = 1 / (1 + e^-100) is 1.0 in float64; J_00 = s_0 s_1 must not come out as 0
    z = np.array([0.0, -100.0])
    assert softmax(z)[0] == 1.0
    a = np.exp(-100.0) / (1 + np.exp(-100.0)) ** 2
    np.testing.assert_allclose(softmax_jacobian(z), a * np.array([[1, -1], [-1, 1]]), rtol=1e-14)
    a2 = np.exp(-200.0) / (1 + np.exp(-200.0)) ** 2  # beta = 2 doubles the gap
    np.testing.assert_allclose(
        softmax_jacobian(z, beta=2.0), 2 * a2 * np.array([[1, -1], [-1, 1]]), rtol=1e-14
    )
    # its largest eigenvalue is 2a, not (golden ratio) a
    np.testing.assert_allclose(np.linalg.eigvalsh(softmax_jacobian(z))[-1], 2 * a, rtol=1e-14)
    # the same product through softmax_vjp: J^T e_0 = a (1, -1), whose row sum is 0
    np.testing.assert_allclose(softmax_vjp(z, [1.0, 0.0]), [a, -a], rtol=1e-14)
    np.testing.assert_allclose(softmax_vjp(z, [0.0, 1.0]), [-a, a], rtol=1e-14)
    # the top class need not come first, and batches work row by row
    zb = np.array([[-100.0, 0.0, -250.0], [3.0, 3.0, -60.0]])
    J = softmax_jacobian(zb)
    np.testing.assert_allclose(J[0, 1, 1], -J[0, 0, 1] - J[0, 2, 1], rtol=1e-14)
    np.testing.assert_allclose(J[0, 1, 1], np.exp(-100.0) + np.exp(-250.0), rtol=1e-14)
    np.testing.assert_allclose(J[1, :2, :2], [[0.25, -0.25], [-0.25, 0.25]], rtol=1e-14)


def test_jacobian_and_vjp_entrywise_against_high_precision():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    rng = np.random.default_rng(5)
    ulp = np.finfo(np.float64).eps
    for _ in range(150):
        K = int(rng.integers(2, 7))
        z = rng.normal(scale=float(rng.choice([1.0, 10.0, 50.0])), size=K)
        z += float(rng.choice([0.0, 1e6]))  # logits far from 0: beta * z_k is rounded
        beta = float(rng.choice([0.5, 1.0, 1.1, 3.0]))
        v = rng.normal(size=K)
        e = [mp.exp(beta * mp.mpf(float(x))) for x in z]
        s = [x / sum(e) for x in e]
        # the rounding of beta * z_k costs eps * beta * |z_k|; with beta a power of two it
        # is exact, and only the conditioning 1 + beta (max z - min z) of exp remains
        exact_product = beta in (0.5, 1.0)
        cond = 1 + beta * (z.max() - z.min() if exact_product else np.abs(z).max())
        J = softmax_jacobian(z, beta=beta)
        g = softmax_vjp(z, v, beta=beta)
        for i in range(K):
            rest = sum(s[k] for k in range(K) if k != i)  # 1 - s_i, without cancellation
            for j in range(K):
                exact = beta * s[i] * (rest if i == j else -s[j])
                if abs(exact) > 1e-290:  # away from underflow
                    assert abs(J[i, j] - exact) <= 8 * ulp * cond * abs(exact)
            exact_g = beta * s[i] * sum(s[k] * (mp.mpf(float(v[i])) - v[k]) for k in range(K))
            scale = beta * s[i] * sum(s[k] * abs(v[k] - v[i]) for k in range(K))
            if scale > 1e-290:
                assert abs(g[i] - exact_g) <= 8 * ulp * cond * scale
    # the factor 1 + beta max |z_k| is needed: for beta = 1.1 and logits near 1e6 the error
    # is far above eps (1 + beta (max z - min z)), but within eps (1 + beta max |z_k|)
    z, beta = np.array([1e6, 1e6 + 1]), 1.1
    e = [mp.exp(beta * mp.mpf(float(x))) for x in z]
    exact = beta * e[0] * e[1] / sum(e) ** 2
    error = abs(softmax_jacobian(z, beta=beta)[0, 0] - exact) / exact
    assert 1e3 * ulp * (1 + beta * (z.max() - z.min())) < error <= 8 * ulp * (1 + beta * 1e6 + beta)
