"""The checks of Part II pass the package's functions and catch planted errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from derived.check import CheckFailure
from derived.check._part2 import (
    check_log_softmax,
    check_softmax,
    check_softmax_jacobian,
    check_softmax_vjp,
    check_two_layer_backward,
)
from derived.losses import cross_entropy_grad
from derived.mlp import MLP
from derived.softmax import log_softmax, softmax, softmax_jacobian, softmax_vjp


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


def _mlp_backward(X, W1, b1, W2, b2, y):
    """The package's two-layer backward pass: derived.mlp.MLP with the cross-entropy's gradient."""
    net = MLP([W1.shape[1], W1.shape[0], W2.shape[0]], "relu", rng=np.random.default_rng(0))
    for p, value in zip(net.params, (W1, b1, W2, b2), strict=True):
        p[...] = value
    return tuple(net.backward(cross_entropy_grad(net.forward(X), y)))


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_softmax(softmax).cases) == 6
    assert len(check_log_softmax(log_softmax).cases) == 6
    assert len(check_softmax_vjp(softmax_vjp).cases) == 7
    assert len(check_softmax_jacobian(softmax_jacobian).cases) == 6
    assert len(check_two_layer_backward(_mlp_backward).cases) == 6


@pytest.mark.parametrize(
    "check",
    [check_softmax, check_log_softmax, check_softmax_vjp, check_softmax_jacobian,
     check_two_layer_backward],
)  # fmt: skip
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- log-softmax


def _log_of_softmax(z):
    """log(softmax(z)): the softmax of the smallest score underflows to 0, its log to -inf."""
    with np.errstate(divide="ignore"):
        return np.log(softmax(z))


def _unshifted_log_softmax(z):
    """z - log(sum(exp(z))) without the max shift: exp(1000) overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _lse_over_everything(z):
    """The log-sum-exp over the whole batch, not row by row."""
    m = z.max()
    return z - (m + np.log(np.exp(z - m).sum()))


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_log_of_softmax, "case 6, 'scores 1000 apart"),
        (_unshifted_log_softmax, "case 5, 'large scores"),
        (_lse_over_everything, "case 2, 'random scores, a batch"),
        (lambda z: z + np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True))
         - z.max(-1, keepdims=True), "case 1, 'random scores, one row"),  # sign of lse flipped
    ],
    ids=["log-of-softmax", "no-max-shift", "batch-lse", "sign"],
)  # fmt: skip
def test_log_softmax_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_log_softmax(wrong)


# --------------------------------------------------------------------------- VJP


def _vjp_without_inner_product(z, v):
    """s * v: drops the -s s^T part of the Jacobian."""
    return softmax(z) * v


def _vjp_inner_product_over_batch(z, v):
    """<s, v> summed over the whole batch instead of row by row."""
    s = softmax(z)
    return s * (v - np.sum(s * v))


def _vjp_unshifted(z, v):
    """The softmax computed without the max shift."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        s = e / e.sum(axis=-1, keepdims=True)
    return s * (v - np.sum(s * v, axis=-1, keepdims=True))


def _vjp_sign(z, v):
    s = softmax(z)
    return s * (np.sum(s * v, axis=-1, keepdims=True) - v)


def _vjp_full_jacobian(z, v):
    """v @ J with J = diag(s) - s s^T: right for a row, wrong in shape for a batch."""
    s = softmax(z)
    return v @ (np.diag(s) - np.outer(s, s)) if s.ndim == 1 else v @ (s.T @ s)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_vjp_without_inner_product, "case 1, 'random z and v, one row"),
        (_vjp_inner_product_over_batch, "case 2, 'random z and v, a batch"),
        (_vjp_unshifted, "case 7, 'large scores"),
        (_vjp_sign, "case 1, 'random z and v, one row"),
        (_vjp_full_jacobian, "case 2, 'random z and v, a batch"),
    ],
    ids=["no-inner-product", "batch-inner-product", "no-max-shift", "sign", "batch-jacobian"],
)
def test_softmax_vjp_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_softmax_vjp(wrong)


def test_softmax_vjp_catches_a_row_only_implementation():
    """A product written for one row fails the batch of one (the inner product is a scalar)."""

    def one_row(z, v):
        s = softmax(z)
        return s * (v - s.ravel() @ v.ravel())

    with pytest.raises(CheckFailure, match="case 2, 'random z and v, a batch"):
        check_softmax_vjp(one_row)


# --------------------------------------------------------------------------- Jacobian


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        # the errata's readings of diag(s) - s s^T (code/derived/errata.py, chapter 6)
        (lambda z: np.outer(softmax(z), 1 - softmax(z)), "case 1, 'random scores, 5 classes"),
        (lambda z: np.diag(softmax(z)) @ (np.eye(z.size) - np.diag(softmax(z))),
         "case 1, 'random scores, 5 classes"),
        (lambda z: softmax(z) * (np.eye(z.size) - softmax(z)), "case 1, 'random scores, 5"),
        (lambda z: np.outer(softmax(z), softmax(z)) - np.diag(softmax(z)), "case 1, 'random"),
        (lambda z: np.diag(softmax(z)) - np.outer(softmax(z), softmax(z))[::-1],
         "case 1, 'random scores, 5 classes"),  # an index reversed
    ],
    ids=["outer-1-s", "diag-product", "1d-broadcast", "sign", "rows-reversed"],
)  # fmt: skip
def test_softmax_jacobian_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_softmax_jacobian(wrong)


def test_softmax_jacobian_catches_a_missing_max_shift():
    def unshifted(z):
        with np.errstate(over="ignore", invalid="ignore"):
            s = np.exp(z) / np.exp(z).sum()
        return np.diag(s) - np.outer(s, s)

    with pytest.raises(CheckFailure, match="case 6, 'large scores"):
        check_softmax_jacobian(unshifted)


# --------------------------------------------------------------------------- two layers


def _backward(X, W1, b1, W2, b2, y, *, mean=True, sign=1.0, mask=np.greater, shift=True):
    S1 = X @ W1.T + b1
    A = np.maximum(S1, 0.0)
    Z = A @ W2.T + b2
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(Z - Z.max(axis=1, keepdims=True) if shift else Z)
        P = e / e.sum(axis=1, keepdims=True)
    Y = np.eye(W2.shape[0])[y]
    dZ = sign * (P - Y) / (X.shape[0] if mean else 1)
    dS1 = (dZ @ W2) * mask(S1, 0.0)
    return dS1.T @ X, dS1.sum(axis=0), dZ.T @ A, dZ.sum(axis=0)


def test_the_planted_backward_is_right_when_nothing_is_planted():
    check_two_layer_backward(_backward)


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"mean": False}, "case 1, 'a random batch"),  # the 1/N of the mean missing
        ({"sign": -1.0}, "case 1, 'a random batch"),  # Y - P instead of P - Y
        ({"mask": np.greater_equal}, "case 5, 'pre-activations exactly 0"),  # ReLU'(0) = 1
        ({"shift": False}, "case 6, 'large logits"),  # no max shift in the softmax
    ],
    ids=["no-1/N", "sign", "relu-prime-at-0", "no-max-shift"],
)
def test_two_layer_backward_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_two_layer_backward(lambda *a: _backward(*a, **kwargs))


def test_two_layer_backward_catches_swapped_gradients_and_a_bad_return():
    def swapped(*a):
        dW1, db1, dW2, db2 = _backward(*a)
        return dW1, db1, dW2.T, db2  # dW2 transposed: the wrong shape

    with pytest.raises(CheckFailure, match="case 1, 'a random batch(.|\n)*dW2"):
        check_two_layer_backward(swapped)
    with pytest.raises(CheckFailure, match="should return four gradients"):
        check_two_layer_backward(lambda *a: _backward(*a)[:2])
