"""Tests of derived.jacobians against torch.func.jacrev (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.jacobians import (
    jacobian_constant,
    jacobian_dot,
    jacobian_elementwise,
    jacobian_elementwise_square,
    jacobian_identity,
    jacobian_matvec,
    jacobian_squared_norm,
    jacobian_xwt,
    matmul_flops,
    numerical_jacobian,
    xwt_vjp,
)
from oracles import float_arrays, t64


def jacrev(fn, x: np.ndarray) -> np.ndarray:
    return torch.func.jacrev(fn)(torch.from_numpy(x)).numpy()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5), d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_vector_catalogue_matches_jacrev(n, d, seed):
    rng = np.random.default_rng(seed)
    w, x, X = rng.normal(size=d), rng.normal(size=d), rng.normal(size=(n, d))
    xt, Xt = torch.from_numpy(x), torch.from_numpy(X)
    cases = [
        (jacobian_constant(w), lambda v: torch.tensor(3.0, dtype=torch.float64) + 0 * v.sum()),
        (jacobian_squared_norm(w), lambda v: (v**2).sum()),
        (jacobian_dot(w, x), lambda v: v @ xt),
        (jacobian_matvec(X, w), lambda v: Xt @ v),
        (jacobian_identity(w), lambda v: v),
        (jacobian_elementwise_square(w), lambda v: v**2),
    ]
    for ours, fn in cases:
        expected = jacrev(fn, w)
        assert ours.shape == expected.shape
        np.testing.assert_allclose(ours, expected, rtol=1e-14, atol=0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 4),
    m=st.integers(1, 4),
    d=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_xwt_jacobian_and_vjp_match_torch(n, m, d, seed):
    rng = np.random.default_rng(seed)
    X, W, G = rng.normal(size=(n, d)), rng.normal(size=(m, d)), rng.normal(size=(n, m))
    Xt = torch.from_numpy(X)
    J = jacobian_xwt(X, W)
    expected = jacrev(lambda V: Xt @ V.T, W)
    assert J.shape == (n, m, m, d) == expected.shape
    np.testing.assert_array_equal(J, expected)  # entries are copies of X or exact zeros
    Wt = torch.from_numpy(W).requires_grad_(True)
    (Xt @ Wt.T).backward(torch.from_numpy(G))
    np.testing.assert_allclose(xwt_vjp(X, W, G), Wt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        xwt_vjp(X, W, G), np.einsum("ij,ijkl->kl", G, J), rtol=1e-12, atol=1e-14
    )


def test_xwt_wrong_index_condition_fails():
    """The condition i = k (instead of j = k) gives a different tensor."""
    rng = np.random.default_rng(0)
    n = m = 3
    X, W = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    wrong = np.einsum("il,ik,j->ijkl", X, np.eye(n, m), np.ones(m))
    assert not np.allclose(wrong, jacobian_xwt(X, W))


@pytest.mark.parametrize(
    ("fn", "args", "match"),
    [
        (jacobian_constant, ([[1.0]],), "w must have 1 dimension"),
        (jacobian_dot, ([1.0, 2.0], [1.0]), r"x must have the shape of w \(2,\)"),
        (jacobian_matvec, ([[1.0, 2.0]], [1.0]), r"X must have shape \(n, 1\)"),
        (jacobian_matvec, ([1.0, 2.0], [1.0]), "X must have 2 dimension"),
        (jacobian_xwt, (np.ones((2, 3)), np.ones((4, 2))), "same number of columns"),
        (xwt_vjp, (np.ones((2, 3)), np.ones((4, 3)), np.ones((2, 3))), r"\(n, m\) = \(2, 4\)"),
        (jacobian_squared_norm, ([np.nan],), "w must be finite"),
        (jacobian_elementwise, (lambda t: t[:1], [1.0, 2.0]), r"dphi\(w\) must have the shape"),
    ],
)
def test_errors(fn, args, match):
    with pytest.raises(ValueError, match=match):
        fn(*args)


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_elementwise_matches_jacrev(d, seed):
    w = np.random.default_rng(seed).normal(size=d)
    for phi, dphi in [
        (torch.tanh, lambda t: 1 - np.tanh(t) ** 2),
        (torch.sin, np.cos),
        (lambda t: t**2, lambda t: 2 * t),
    ]:
        np.testing.assert_allclose(
            jacobian_elementwise(dphi, w), jacrev(phi, w), rtol=1e-13, atol=1e-15
        )  # 1 - tanh(t)**2 and torch's tanh backward may differ in the last bits
    np.testing.assert_array_equal(
        jacobian_elementwise(lambda t: 2 * t, w), jacobian_elementwise_square(w)
    )


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), d=st.integers(1, 6), b=st.integers(1, 3))
def test_matmul_flops_counts_matrix_products_only(n, m, d, b):
    A, B = torch.ones(n, m, dtype=torch.float64), torch.ones(m, d, dtype=torch.float64)
    v = torch.ones(m, dtype=torch.float64)
    flops, out = matmul_flops(lambda: A @ B)
    assert flops == 2 * n * m * d
    assert torch.equal(out, torch.full((n, d), float(m)))
    assert matmul_flops(lambda: torch.addmm(torch.zeros(n, d), A.float(), B.float()))[0] == flops
    Ab, Bb = A.expand(b, n, m), B.expand(b, m, d)
    assert matmul_flops(lambda: Ab @ Bb)[0] == b * flops  # bmm
    assert matmul_flops(lambda: A @ v)[0] == 0  # mv is not counted
    assert matmul_flops(lambda: v @ v)[0] == 0  # nor is dot
    assert matmul_flops(lambda: torch.tanh(A).sum() + A * A)[0] == 0  # nor elementwise ops


def test_matmul_flops_counts_a_backward_pass():
    W = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    X = torch.ones(5, 4, dtype=torch.float64)
    loss = (X @ W.T).sum()  # one (5 x 4)(4 x 3) product forward
    flops, _ = matmul_flops(loss.backward)  # G^T X only: X needs no gradient
    assert flops == 2 * 5 * 4 * 3


def test_matmul_flops_rejects_a_non_callable():
    with pytest.raises(TypeError, match="fn must be a callable"):
        matmul_flops(3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- finite differences


@settings(max_examples=30, deadline=None)
@given(float_arrays((2, 3), -2.0, 2.0))
def test_numerical_jacobian_matches_torch_jacrev(W):
    X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])

    def f(M):  # a nonlinear map from (2, 3) to (2, 2), in both libraries
        return np.tanh(X @ M.T)

    Xt = t64(X)
    expected = torch.func.jacrev(lambda M: torch.tanh(Xt @ M.T))(t64(W)).numpy()
    J = numerical_jacobian(f, W)
    assert J.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(J, expected, rtol=1e-7, atol=1e-9)


def test_numerical_jacobian_of_a_scalar_map_is_the_gradient_and_rejects_bad_steps():
    w = np.array([1.0, -3.0, 0.5])
    np.testing.assert_allclose(
        numerical_jacobian(lambda a: np.sum(a * a), w), jacobian_squared_norm(w), atol=1e-8
    )
    for h in (0.0, -1e-6, np.inf):
        with pytest.raises(ValueError, match="h"):
            numerical_jacobian(np.sin, w, h)
