"""The checks of Part I pass the package's functions and catch planted errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.special import ndtr

from derived.activations import derivative
from derived.check import CheckFailure
from derived.check._part1 import (
    check_count_pieces,
    check_gelu_derivative,
    check_sigmoid_derivative,
    check_tanh_derivative,
    check_xor_network,
)
from derived.perceptron import xor_network
from derived.regions import breakpoints, count_pieces


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_count_pieces(count_pieces).cases) == 8
    assert len(check_xor_network(xor_network).cases) == 5
    assert len(check_sigmoid_derivative(lambda x: derivative(x, "sigmoid")).cases) == 5
    assert len(check_tanh_derivative(lambda x: derivative(x, "tanh")).cases) == 5
    assert len(check_gelu_derivative(lambda x: derivative(x, "gelu")).cases) == 5


@pytest.mark.parametrize(
    "check",
    [check_count_pieces, check_xor_network, check_sigmoid_derivative, check_tanh_derivative,
     check_gelu_derivative],
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


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda w, b, i: int(breakpoints(w, b, i).size), "case 1, 'random network, widths 1-3-1"),
        (_first_layer_only, "case 2, 'random network, widths 1-4-4-1"),
        (_pattern_changes, "case 4, 'the sawtooth of depth 4"),  # dead-unit switches count
        (lambda w, b, i: count_pieces(w, b), "case 1, 'random network"),  # the interval ignored
    ],
    ids=["breakpoints-not-pieces", "first-layer-only", "no-merging", "interval-ignored"],
)
def test_count_pieces_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_count_pieces(wrong)


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


# --------------------------------------------------------------------------- derivatives


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _naive_sigmoid_derivative(x):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(-x) / (1.0 + np.exp(-x)) ** 2  # inf / inf at x = -1000


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda x: _sigmoid(x) * (1.0 + _sigmoid(x)), "case 1, 'random inputs, 6 values'"),
        (_sigmoid, "case 1, 'random inputs, 6 values'"),  # sigma, not sigma (1 - sigma)
        (_naive_sigmoid_derivative, "case 5, 'extreme inputs"),
    ],
    ids=["sign-flipped", "sigma-itself", "overflows-to-nan"],
)
def test_sigmoid_derivative_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_sigmoid_derivative(wrong)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda x: np.tanh(x) ** 2 - 1.0, "case 1, 'random inputs, 6 values'"),
        (lambda x: 1.0 - np.tanh(x), "case 1, 'random inputs, 6 values'"),  # the square missing
    ],
    ids=["sign-flipped", "no-square"],
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


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda x: ndtr(x), "case 1, 'random inputs, 6 values'"),  # x phi(x) missing
        (_tanh_gelu_derivative, "case 1, 'random inputs, 6 values'"),
    ],
    ids=["phi-term-missing", "tanh-approximation"],
)
def test_gelu_derivative_errors_fail(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_gelu_derivative(wrong)
