"""Tests of derived.dropout: expectation by simulation, gradient by finite differences, torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.dropout import dropout, dropout_backward

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
    h = 1e-6
    fd = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        fd[idx] = (loss(x + e) - loss(x - e)) / (2 * h)
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
