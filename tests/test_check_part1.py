"""The checks of Part I pass the package's functions and catch planted errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.special import erf, ndtr

from derived.activations import derivative
from derived.check import CheckFailure
from derived.check._part1 import (
    _derivative_cases,
    _oracle_breaks,
    _pieces_cases,
    _reference,
    check_count_pieces,
    check_gelu_derivative,
    check_parity_network,
    check_perceptron_train,
    check_sigmoid_derivative,
    check_tanh_derivative,
    check_xor_network,
)
from derived.perceptron import perceptron_learn, xor_network
from derived.regions import breakpoints, count_pieces


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


# --------------------------------------------------------------------------- the package


def _parity(n):
    """y = ReLU(s) - 2 ReLU(s - 1) + 2 ReLU(s - 2) - ..., s the sum of the inputs."""
    k = np.arange(n)
    W2 = np.where(k == 0, 1.0, 2.0 * (-1.0) ** k)[None, :]
    return np.ones((n, n)), -k.astype(np.float64), W2, np.zeros(1)


def _train(X, t, max_epochs):
    run = perceptron_learn(X, t, max_epochs)
    return run.w, run.b, run.mistakes


def test_the_package_passes_every_check():
    assert len(check_count_pieces(count_pieces).cases) == 10
    assert len(check_xor_network(xor_network).cases) == 5
    assert len(check_parity_network(_parity).cases) == 5
    assert len(check_perceptron_train(_train).cases) == 7
    assert len(check_sigmoid_derivative(lambda x: derivative(x, "sigmoid")).cases) == 6
    assert len(check_tanh_derivative(lambda x: derivative(x, "tanh")).cases) == 6
    assert len(check_gelu_derivative(lambda x: derivative(x, "gelu")).cases) == 6


@pytest.mark.parametrize(
    "check",
    [check_count_pieces, check_xor_network, check_parity_network, check_perceptron_train,
     check_sigmoid_derivative, check_tanh_derivative, check_gelu_derivative],
)  # fmt: skip
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- pieces


def _first_layer_only(weights, biases, interval):
    """Counts the first layer's kinks alone: misses the kinks deeper layers add."""
    w, b = np.asarray(weights[0])[:, 0], np.asarray(biases[0])
    lo, hi = interval
    kinks = {float(k) for k in -b[w != 0] / w[w != 0] if lo < k < hi}
    return len(kinks) + 1


def _pattern_changes(weights, biases, interval):
    """Counts changes of the activation pattern: kinks that cancel still split a piece."""
    x = np.linspace(*interval, 100_001)[None, :]
    a, patterns = x, []
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        a = np.maximum(W @ a + b[:, None], 0.0)
        patterns.append(a > 0)
    on = np.concatenate(patterns)
    return int((on[:, 1:] != on[:, :-1]).any(axis=0).sum()) + 1


def _exact_dedup(weights, biases, interval):
    """Splits at every root and merges equal roots only when exactly equal (np.unique)."""

    def affine(x, depth):
        a, da = np.array([x]), np.array([1.0])
        for d in range(depth + 1):
            if d > 0:
                a, da = a * (a > 0), da * (a > 0)
            a, da = weights[d] @ a + biases[d], weights[d] @ da
        return a, da

    cuts = np.array(interval, dtype=float)
    for depth in range(len(weights) - 1):
        new = [cuts]
        for left, right in zip(cuts[:-1], cuts[1:], strict=True):
            value, slope = affine((left + right) / 2, depth)
            with np.errstate(divide="ignore", invalid="ignore"):
                zeros = (left + right) / 2 - value / slope
            new.append(zeros[(zeros > left) & (zeros < right)])
        cuts = np.unique(np.concatenate(new))
    mids = (cuts[:-1] + cuts[1:]) / 2
    lines = np.array([affine(m, len(weights) - 1) for m in mids])[:, :, 0]
    lines[:, 0] -= lines[:, 1] * mids
    same = np.isclose(lines[1:], lines[:-1], rtol=1e-9, atol=1e-9).all(axis=1)
    return int(len(mids) - same.sum())


def _grid(weights, biases, interval, samples=400_000):
    """Samples the network on a grid and counts where slope or intercept changes."""
    lo, hi = interval
    x = lo + (np.arange(samples) + 0.5) * ((hi - lo) / samples)
    a, da = x[None, :], np.ones((1, samples))
    for d, (W, b) in enumerate(zip(weights, biases, strict=True)):
        a, da = W @ a + b[:, None], W @ da
        if d < len(weights) - 1:
            a, da = a * (a > 0), da * (a > 0)
    lines = np.stack([da[0], a[0] - da[0] * x], axis=1)
    same = np.isclose(lines[1:], lines[:-1], rtol=1e-9, atol=1e-9).all(axis=1)
    return int(samples - same.sum())


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_grid, "case 10, 'kinks 2\\^-23"),
        (_exact_dedup, "case 7, 'two units with the same kink at x = -0.8221"),
        (lambda w, b, i: int(breakpoints(w, b, i).size), "case 1, 'random network, widths 1-3-1"),
        (_first_layer_only, "case 2, 'random network, widths 1-4-4-1"),
        (_pattern_changes, "case 4, 'the sawtooth of depth 4"),  # dead-unit switches count
        (lambda w, b, i: count_pieces(w, b), "case 1, 'random network"),  # the interval ignored
    ],
    ids=[
        "grid-sampling",
        "exact-dedup",
        "breakpoints-not-pieces",
        "first-layer-only",
        "no-merging",
        "interval-ignored",
    ],
)
def test_count_pieces_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_count_pieces(wrong)


def test_count_pieces_failure_lists_the_oracles_breakpoints():
    with pytest.raises(CheckFailure, match=r"expected 2, got 3.\n  the oracle's 1 breakpoints"):
        check_count_pieces(_exact_dedup)


def test_count_pieces_oracle_is_within_half_a_cell():
    for _, (Ws, bs), (lo, hi) in _pieces_cases():
        true = np.sort(breakpoints(Ws, bs, (lo, hi)))
        found = _oracle_breaks(Ws, bs, lo, hi)
        half = (hi - lo) / 200_000 / 2
        assert all(np.abs(true - b).min() < half for b in found)
    message = r"within half a cell \(6.83e-06\) of a true breakpoint: -0.822134948$"
    with pytest.raises(CheckFailure, match=message):
        check_count_pieces(_exact_dedup)


def test_count_pieces_grid_passes_every_case_but_the_close_kinks():
    with pytest.raises(CheckFailure, match=r"case 10, (.|\n)*expected 4 \(by construction"):
        check_count_pieces(_grid)  # the first failing case is the last one


def test_count_pieces_must_return_an_integer():
    with pytest.raises(CheckFailure, match="should return an integer"):
        check_count_pieces(lambda w, b, i: float(count_pieces(w, b, i)))


# --------------------------------------------------------------------------- XOR


@pytest.mark.parametrize(
    ("weights", "case"),
    [
        ((np.ones((2, 2)), np.zeros(2), np.array([[1.0, -2.0]]), np.zeros(1)), r"x = \(0, 1\)"),
        ((np.ones((2, 2)), np.array([0.0, -1.0]), np.array([[-1.0, 2.0]]), np.zeros(1)),
         r"x = \(0, 1\)"),
        ((np.ones((1, 2)), np.zeros(1), np.ones((1, 1)), np.zeros(1)), r"x = \(1, 1\)"),  # OR
        ((np.ones((2, 2)), np.array([0.0, -1.0]), np.array([1.0, -2.0]), np.zeros(1)),
         "the weights' shapes"),
    ],
    ids=["no-hidden-bias", "output-sign-flipped", "or-gate", "w2-not-a-row"],
)  # fmt: skip
def test_xor_network_errors_fail(weights, case):
    with pytest.raises(CheckFailure, match=case):
        check_xor_network(lambda: weights)


def _xor_pattern(n):
    """The XOR network's two units for every n >= 2: wrong from n = 3 (s = 3 gives 3 - 4)."""
    if n == 1:
        return np.ones((1, 1)), np.zeros(1), np.ones((1, 1)), np.zeros(1)
    return np.ones((2, n)), np.array([0.0, -1.0]), np.array([[1.0, -2.0]]), np.zeros(1)


def _one_unit_too_many(n):
    W1, b1, W2, b2 = _parity(n + 1)
    return W1[:, :n], b1, W2, b2


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_xor_pattern, "case 3, 'n = 3"),
        (_one_unit_too_many, "(?s)case 1, 'n = 1.*use at most 1 hidden unit;"),
        (lambda n: _parity(n)[:3], "(?s)case 1, 'n = 1.*should return four arrays"),
    ],
    ids=["xor-pattern", "too-many-units", "three-arrays"],
)
def test_parity_network_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_parity_network(wrong)


# --------------------------------------------------------------------------- perceptron rule


def _rule(X, t, max_epochs, *, at_zero=1.0, bias=True, stop=True, order=None):
    """The perceptron rule with one of its details changed (the defaults are right)."""
    w, b, mistakes = np.zeros(X.shape[1]), 0.0, []
    rows = range(len(X)) if order is None else order(len(X))
    for _ in range(max_epochs):
        count = 0
        for i in rows:
            z = w @ X[i] + b
            y = 1.0 if z > 0 else (at_zero if z == 0 else 0.0)
            if y != t[i]:
                w, b, count = w + (t[i] - y) * X[i], b + (t[i] - y) * bias, count + 1
        mistakes.append(count)
        if count == 0 and stop:
            break
    return w, b, np.array(mistakes)


def test_the_rule_written_out_passes():
    assert len(check_perceptron_train(_rule).cases) == 7


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda X, t, m: _rule(X, t, m, at_zero=0.0), "case 1, 'the AND truth table"),
        (lambda X, t, m: _rule(X, t, m, bias=False), "case 1, 'the AND truth table"),
        (lambda X, t, m: _rule(X, t, m, stop=False), "case 1, 'the AND truth table"),
        (lambda X, t, m: _rule(X, t, m, order=lambda p: range(p - 1, -1, -1)),
         "case 1, 'the AND truth table"),
        (lambda X, t, m: _rule(X, t, m - 1), "case 3, 'the AND truth table, max_epochs = 3"),
        (lambda X, t, m: _train(X, t, m)[:2], "(?s)case 1, .*should return three values"),
        (lambda X, t, m: (*_train(X, t, m)[:2], np.cumsum(_train(X, t, m)[2])),
         "case 1, 'the AND truth table"),
        (lambda X, t, m: (*_train(X, t, m)[:2], _train(X, t, m)[2].astype(float)),
         "(?s)case 1, .*mistakes should be a 1-D array"),
        (lambda X, t, m: _rule(X, t, m, order=lambda p: [0, *range(p - 1, 0, -1)]),
         "case 1, 'the AND truth table"),
        (lambda X, t, m: _rule(X, t, min(m, 6)), "case 4, '40 separable points in R.3"),
    ],
    ids=["step-zero-is-zero", "no-bias-update", "never-stops", "reversed-order",
         "one-epoch-short", "two-values", "cumulative-mistakes", "float-mistakes",
         "order-from-the-second", "at-most-6-epochs"],
)  # fmt: skip
def test_perceptron_train_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_perceptron_train(wrong)


# --------------------------------------------------------------------------- derivatives


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu"])
def test_the_reference_derivatives_agree_with_mpmath(name):
    mpmath = pytest.importorskip("mpmath")  # comes with torch
    exact = {
        "sigmoid": lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2,
        "tanh": lambda x: 1 / mpmath.cosh(x) ** 2,
        "gelu": lambda x: mpmath.ncdf(x) + x * mpmath.npdf(x),
    }[name]
    for _, x in _derivative_cases():
        ref = _reference(name, x).ravel()
        for v, r in zip(x.ravel(), ref, strict=True):
            with mpmath.workdps(60):
                e = exact(mpmath.mpf(float(v)))
            bound = 1e-13 if name == "gelu" else 4e-15  # ndtr's error grows towards -37
            assert abs(r - e) <= 1e-300 + bound * abs(e), (name, v)


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _naive_sigmoid_derivative(x):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(-x) / (1.0 + np.exp(-x)) ** 2  # inf / inf at x = -1000


def _hybrid_sigmoid_derivative(x, at=30.0):
    """sigma (1 - sigma) below |x| = at, the stable form from there: passes +-10 and +-30.

    At 20 (softplus's default threshold in torch) it is off by 7.7e-9 at x = 19.
    """
    e = np.exp(-np.abs(x))
    return np.where(np.abs(x) < at, _sigmoid(x) * (1.0 - _sigmoid(x)), e / (1.0 + e) ** 2)


def _hybrid_tanh_derivative(x, at=10.0):
    """1 - tanh^2 below |x| = at, the stable form from there: off by 3.4e-9 at x = 9.

    At 9 it is off by 1.4e-9 at x = 8.9.
    """
    e = np.exp(-2.0 * np.abs(x))
    return np.where(np.abs(x) < at, 1.0 - np.tanh(x) ** 2, 4.0 * e / (1.0 + e) ** 2)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda x: _sigmoid(x) * (1.0 + _sigmoid(x)), "case 1, 'random inputs, 6 values'"),
        (_sigmoid, "case 1, 'random inputs, 6 values'"),  # sigma, not sigma (1 - sigma)
        (_naive_sigmoid_derivative, "case 5, 'extreme inputs"),
        (
            lambda x: np.nan_to_num(_naive_sigmoid_derivative(x)),
            "(?s)case 5, 'extreme.*index \\(2,\\)",
        ),
        (lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)), "case 4, 'large inputs"),  # 1 - sigma cancels
        (lambda x: (_sigmoid(x) * _sigmoid(-x)).astype(np.float32), "case 1, 'random inputs"),
        (_hybrid_sigmoid_derivative, "case 6, 'a sweep"),  # off by 3.8e-4 at x = 29
        (lambda x: _hybrid_sigmoid_derivative(x, at=20.0), "case 6, 'a sweep"),
    ],
    ids=[
        "sign-flipped",
        "sigma-itself",
        "overflows-to-nan",
        "nan-zeroed-square-overflows",
        "one-minus-sigma",
        "float32",
        "stable-only-beyond-30",
        "stable-only-beyond-20",
    ],
)
def test_sigmoid_derivative_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_sigmoid_derivative(wrong)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda x: np.tanh(x) ** 2 - 1.0, "case 1, 'random inputs, 6 values'"),
        (lambda x: 1.0 - np.tanh(x), "case 1, 'random inputs, 6 values'"),  # the square missing
        (lambda x: 1.0 - np.tanh(x) ** 2, "case 4, 'large inputs"),  # 8 digits at 10, 0 at 30
        (_hybrid_tanh_derivative, "case 6, 'a sweep"),
        (lambda x: _hybrid_tanh_derivative(x, at=9.0), "case 6, 'a sweep"),
    ],
    ids=[
        "sign-flipped",
        "no-square",
        "one-minus-tanh-squared",
        "stable-only-beyond-10",
        "stable-only-beyond-9",
    ],
)
def test_tanh_derivative_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_tanh_derivative(wrong)


def _tanh_gelu_derivative(x):
    """The derivative of the tanh approximation of GELU (off by up to ~1e-3)."""
    c = np.sqrt(2.0 / np.pi)
    u = c * (x + 0.044715 * x**3)
    th = np.tanh(u)
    return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th**2) * c * (1.0 + 3 * 0.044715 * x**2)


def _erf_gelu_derivative(x):
    """Phi + x phi with Phi = (1 + erf(x / sqrt 2)) / 2: exactly 0 for x <= -8.3."""
    return 0.5 * (1.0 + erf(x / np.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def _hybrid_gelu_derivative(x):
    """The erf form of Phi above x = -8.5, ndtr below: off by 4.7e-8 (relative) at x = -7."""
    phi_cdf = np.where(x < -8.5, ndtr(x), 0.5 * (1.0 + erf(x / np.sqrt(2.0))))
    return phi_cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def _central_difference_gelu(x, h=1e-5):
    """A central difference of x Phi(x), Phi accurate: relative error about h^2 x^2 / 6."""
    return ((x + h) * ndtr(x + h) - (x - h) * ndtr(x - h)) / (2 * h)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda x: ndtr(x), "case 1, 'random inputs, 6 values'"),  # x phi(x) missing
        (_tanh_gelu_derivative, "case 1, 'random inputs, 6 values'"),
        (_erf_gelu_derivative, "case 4, 'large inputs"),  # Phi(-10) rounds to 0
        (_central_difference_gelu, "case 4, 'large inputs"),
        (_hybrid_gelu_derivative, "case 6, 'a sweep"),
    ],
    ids=[
        "phi-term-missing",
        "tanh-approximation",
        "erf-cdf",
        "central-difference",
        "erf-only-above-minus-8.5",
    ],
)
def test_gelu_derivative_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_gelu_derivative(wrong)


def test_a_failure_points_at_the_value_furthest_outside_its_tolerance():
    # 1 - tanh^2 errs by 9e-17 at x = -10 (a relative 1e-8) but returns 0 at x = -30, where
    # the derivative is 3.5e-26: the message names x = -30, index 0, relative error 1
    message = r"largest error 9.09e-17; furthest outside the tolerance: 3.5e-26 \(relative 1\) "
    with pytest.raises(CheckFailure, match=message + r"at index \(0,\)"):
        check_tanh_derivative(lambda x: 1 - np.tanh(x) ** 2)


def test_equal_fails_on_arrays_that_do_not_broadcast():
    from derived.check._core import Checker

    c = Checker("check_demo", lambda: None)
    c.case("two lengths")
    with pytest.raises(CheckFailure, match="the counts is wrong"):
        c.equal(np.arange(3), np.arange(6), what="counts")
