"""The checks of Part VII pass the package's functions and catch planted errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from derived.attention import attention_backward
from derived.check import CheckFailure
from derived.check._part7 import (
    check_attention_backward,
    check_batch_norm_backward,
    check_layer_norm_backward,
    check_merge_states,
)
from derived.norm import batch_norm_backward, layer_norm_backward
from derived.online_softmax import merge_states


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_layer_norm_backward(layer_norm_backward).cases) == 6
    assert len(check_batch_norm_backward(batch_norm_backward).cases) == 6
    result = check_attention_backward(lambda q, k, v, dout: attention_backward(dout, q, k, v))
    assert len(result.cases) == 6
    assert len(check_merge_states(merge_states).cases) == 6


@pytest.mark.parametrize(
    "check",
    [check_layer_norm_backward, check_batch_norm_backward, check_attention_backward,
     check_merge_states],
)  # fmt: skip
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- layer norm


def _ln(dy, x, gamma, eps, *, ddof=0, projection=True, use_gamma=True, swap=False):
    mu = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(x.var(axis=-1, ddof=ddof, keepdims=True) + eps)
    u = (x - mu) / sigma
    g = dy * gamma if use_gamma else dy
    dx = g - g.mean(axis=-1, keepdims=True)
    if projection:
        dx = dx - u * (g * u).mean(axis=-1, keepdims=True)
    rows = tuple(range(x.ndim - 1))
    dgamma, dbeta = (dy * u).sum(axis=rows), dy.sum(axis=rows)
    return (dx / sigma, dbeta, dgamma) if swap else (dx / sigma, dgamma, dbeta)


def test_the_planted_layer_norm_is_right():
    check_layer_norm_backward(_ln)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda dy, x, g, e: _ln(dy, x, g, e, projection=False),  # no u * mean(g u) term
        lambda dy, x, g, e: _ln(dy, x, g, e, use_gamma=False),  # gamma left out of dx
        lambda dy, x, g, e: _ln(dy, x, g, e, swap=True),  # dgamma and dbeta swapped
        lambda dy, x, g, e: _ln(dy, x, g, e, ddof=1),  # the unbiased variance
    ],
    ids=["no-projection", "no-gamma", "swapped", "unbiased-variance"],
)
def test_layer_norm_errors_fail(wrong):
    with pytest.raises(CheckFailure, match="case 1, 'random rows, 3 rows of 5 features'"):
        check_layer_norm_backward(wrong)


# --------------------------------------------------------------------------- batch norm


def _bn(dy, x, gamma, eps, *, axes=None, one_over_n=True):
    if axes is None:
        axes = (0, *range(2, x.ndim))
    shape = [1] * x.ndim
    shape[1] = -1
    mu = x.mean(axis=axes, keepdims=True)
    sigma = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    u = (x - mu) / sigma
    g = dy * gamma.reshape(shape)
    reduce = np.mean if one_over_n else np.sum
    dx = g - reduce(g, axis=axes, keepdims=True) - u * reduce(g * u, axis=axes, keepdims=True)
    return dx / sigma, (dy * u).sum(axis=axes), dy.sum(axis=axes)


def test_the_planted_batch_norm_is_right():
    check_batch_norm_backward(_bn)


@pytest.mark.parametrize(
    ("wrong", "label"),
    [
        # statistics over the features, as layer norm, instead of over the batch
        (lambda dy, x, g, e: _bn(dy, x, g, e, axes=(1,)), "random batch"),
        # sums where the means belong: the missing 1/N
        (lambda dy, x, g, e: _bn(dy, x, g, e, one_over_n=False), "random batch"),
        # statistics over the examples only: right for (N, C), wrong for images
        (lambda dy, x, g, e: _bn(dy, x, g, e, axes=(0,)), "images, shape"),
    ],
    ids=["feature-axis", "missing-1/N", "batch-axis-only"],
)
def test_batch_norm_errors_fail(wrong, label):
    with pytest.raises(CheckFailure, match=f"'{label}"):
        check_batch_norm_backward(wrong)


# --------------------------------------------------------------------------- attention


def _attn(q, k, v, dout, *, shift=True, scale_grads=True, sign=1.0):
    c = 1.0 / np.sqrt(q.shape[-1])
    s = c * q @ np.swapaxes(k, -1, -2)
    e = np.exp(s - s.max(axis=-1, keepdims=True) if shift else s)
    p = e / e.sum(axis=-1, keepdims=True)
    dv = np.swapaxes(p, -1, -2) @ dout
    dp = dout @ np.swapaxes(v, -1, -2)
    ds = p * (dp - sign * (dp * p).sum(axis=-1, keepdims=True))
    cg = c if scale_grads else 1.0
    return cg * ds @ k, cg * np.swapaxes(ds, -1, -2) @ q, dv


def test_the_planted_attention_is_right():
    check_attention_backward(_attn)


def _no_shift(q, k, v, dout):
    with np.errstate(over="ignore", invalid="ignore"):
        return _attn(q, k, v, dout, shift=False)


@pytest.mark.parametrize(
    ("wrong", "label"),
    [
        (lambda q, k, v, g: _attn(q, k, v, g, scale_grads=False), "random, 3 queries"),
        (lambda q, k, v, g: _attn(q, k, v, g, sign=-1.0), "random, 3 queries"),
        (lambda q, k, v, g: _attn(q, k, v, g)[::-1], "random, 3 queries"),  # dq, dv swapped
        (_no_shift, "large scores near 1000"),
    ],
    ids=["no-1/sqrt(d)-in-gradients", "softmax-vjp-sign", "swapped-outputs", "no-max-shift"],
)
def test_attention_errors_fail(wrong, label):
    with pytest.raises(CheckFailure, match=f"'{label}"):
        check_attention_backward(wrong)


# --------------------------------------------------------------------------- merge


def _naive_exp(ma, la, mb, lb):
    m = np.maximum(ma, mb)
    with np.errstate(over="ignore", invalid="ignore"):
        return m, (la * np.exp(ma) + lb * np.exp(mb)) / np.exp(m)


def _no_empty_state(ma, la, mb, lb):
    m = np.maximum(ma, mb)
    with np.errstate(invalid="ignore"):
        return m, la * np.exp(ma - m) + lb * np.exp(mb - m)


@pytest.mark.parametrize(
    ("wrong", "label"),
    [
        (lambda ma, la, mb, lb: (np.maximum(ma, mb), la + lb), "random sets"),  # no rescaling
        (lambda ma, la, mb, lb: (np.minimum(ma, mb), la + lb), "random sets"),
        (_naive_exp, "maxima far apart"),  # exp(m) before the ratio overflows
        (_no_empty_state, "both states empty"),  # -inf - (-inf) = NaN
    ],
    ids=["no-rescaling", "minimum", "exp-without-shift", "empty-states-NaN"],
)
def test_merge_errors_fail(wrong, label):
    with pytest.raises(CheckFailure, match=f"'{label}"):
        check_merge_states(wrong)


def test_the_planted_merge_without_empty_handling_passes_until_both_are_empty():
    # _no_empty_state is right on every case but the last: the check names that one.
    with pytest.raises(CheckFailure, match="case 6"):
        check_merge_states(_no_empty_state)
