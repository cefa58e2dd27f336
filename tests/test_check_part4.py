"""The checks of Part IV pass the package's functions and catch planted errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from derived.check import CheckFailure
from derived.check._part4 import (
    check_conv2d,
    check_conv2d_backward,
    check_kl_gradient,
    check_max_pool2d_backward,
    check_topk_error,
)
from derived.conv import conv2d, conv2d_backward
from derived.metrics import topk_error
from derived.pooling import max_pool2d_backward
from derived.tsne import kl_gradient


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_conv2d(conv2d).cases) == 8
    assert len(check_conv2d_backward(conv2d_backward).cases) == 8
    assert len(check_max_pool2d_backward(max_pool2d_backward).cases) == 8
    assert len(check_topk_error(topk_error).cases) == 8
    assert len(check_kl_gradient(kl_gradient).cases) == 7


@pytest.mark.parametrize(
    "check",
    [check_conv2d, check_conv2d_backward, check_max_pool2d_backward, check_topk_error,
     check_kl_gradient],
)  # fmt: skip
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- convolution


def _loop_conv(x, w, b, stride, padding, flip=False, use_bias=True):
    """A direct loop over output pixels; ``flip`` makes it a true convolution."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    if flip:
        w = w[:, :, ::-1, ::-1]
    ho = (xp.shape[2] - kh) // stride + 1
    wo = (xp.shape[3] - kw) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for u in range(ho):
        for v in range(wo):
            patch = xp[:, :, u * stride : u * stride + kh, v * stride : v * stride + kw]
            y[:, :, u, v] = np.einsum("ncij,fcij->nf", patch, w)
    return y + b[None, :, None, None] if use_bias else y


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda x, w, b, s, p: _loop_conv(x, w, b, s, p, flip=True), "case 1, 'random"),
        (lambda x, w, b, s, p: _loop_conv(x, w, b, s, p, use_bias=False), "case 1, 'random"),
        (lambda x, w, b, s, p: _loop_conv(x, w, b, s, 0), "case 2, 'stride 2 and padding 1'"),
        (lambda x, w, b, s, p: _loop_conv(x, w, b, 1, p)[:, :, ::s, :],
         "case 2, 'stride 2 and padding 1'"),  # the stride ignored along the columns
        (lambda x, w, b, s, p: _loop_conv(x, w.transpose(0, 1, 3, 2)[:, :, : w.shape[2],
                                                                     : w.shape[3]], b, s, p),
         "case 1, 'random"),
    ],
    ids=["true-convolution", "no-bias", "no-padding", "no-column-stride",
         "kernel-transposed"],
)  # fmt: skip
def test_conv2d_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_conv2d(wrong)


def test_conv2d_loop_reference_passes():
    """The planted errors' base, without an error, passes: the failures are the errors'."""
    check_conv2d(lambda x, w, b, s, p: _loop_conv(x, w, b, s, p))


def _loop_conv_backward(dout, x, w, stride, padding, flip=False, db_first_image=False,
                        mean_dw=False, crop_shift=0):  # fmt: skip
    """The backward pass of ``_loop_conv`` by scattering each output pixel's gradient."""
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    kh, kw = w.shape[2:]
    wd = w[:, :, ::-1, ::-1] if flip else w  # flip: the input gradient uses unflipped taps wrongly
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for u in range(dout.shape[2]):
        for v in range(dout.shape[3]):
            rows = slice(u * stride, u * stride + kh)
            cols = slice(v * stride, v * stride + kw)
            g = dout[:, :, u, v]  # (N, F)
            dxp[:, :, rows, cols] += np.einsum("nf,fcij->ncij", g, wd)
            dw += np.einsum("nf,ncij->fcij", g, xp[:, :, rows, cols])
    if mean_dw:
        dw /= x.shape[0]
    db = dout[0].sum(axis=(1, 2)) if db_first_image else dout.sum(axis=(0, 2, 3))
    q = max(p + crop_shift, 0)
    dx = dxp[:, :, q : q + x.shape[2], q : q + x.shape[3]]
    return dx, dw, db


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"flip": True}, "case 1, 'random"),
        ({"db_first_image": True}, "case 1, 'random"),
        ({"mean_dw": True}, "case 1, 'random"),
        ({"crop_shift": -1}, "case 2, 'stride 2 and padding 1'"),
    ],
    ids=["flipped-taps", "db-one-image", "dw-divided-by-N", "padding-crop"],
)
def test_conv2d_backward_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_conv2d_backward(lambda d, x, w, s, p: _loop_conv_backward(d, x, w, s, p, **kwargs))


def test_conv2d_backward_loop_reference_passes():
    check_conv2d_backward(_loop_conv_backward)


def test_conv2d_backward_wants_three_gradients():
    with pytest.raises(CheckFailure, match="three gradients"):
        check_conv2d_backward(lambda d, x, w, s, p: conv2d_backward(d, x, w, s, p)[:2])


# --------------------------------------------------------------------------- max pooling


def _loop_pool_backward(dout, x, k, s, pick="first", overwrite=False):
    """Scatter each window's gradient to its maximum: the first, the last or all of them."""
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for a in range(n):
        for ch in range(c):
            for u in range(ho):
                for v in range(wo):
                    win = x[a, ch, u * s : u * s + k, v * s : v * s + k]
                    tied = np.argwhere(win == win.max())  # row-major order
                    where = {"first": tied[:1], "last": tied[-1:], "all": tied}[pick]
                    for i, j in where:
                        if overwrite:
                            dx[a, ch, u * s + i, v * s + j] = dout[a, ch, u, v]
                        else:
                            dx[a, ch, u * s + i, v * s + j] += dout[a, ch, u, v]
    return dx


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda d, x, k, s: max_pool2d_backward(d, x, k, s, ties="even"), "case 6, 'ties: values"),
        (lambda d, x, k, s: _loop_pool_backward(d, x, k, s, pick="last"), "case 6, 'ties: values"),
        (lambda d, x, k, s: _loop_pool_backward(d, x, k, s, pick="all"), "case 6, 'ties: values"),
        (lambda d, x, k, s: _loop_pool_backward(d, x, k, s, overwrite=True),
         "case 2, 'overlapping 3 x 3 windows, stride 1"),
    ],
    ids=["split-evenly", "last-maximum", "every-maximum", "overwrite-not-add"],
)  # fmt: skip
def test_max_pool2d_backward_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_max_pool2d_backward(wrong)


def test_max_pool2d_backward_loop_reference_passes():
    check_max_pool2d_backward(_loop_pool_backward)


# --------------------------------------------------------------------------- top-k error


def _rank_error(scores, labels, k, strict):
    """Errors from the rank R = #{classes scoring strictly higher}: R >= k, or R > k."""
    above = np.sum(scores > scores[np.arange(len(labels)), labels][:, None], axis=1)
    return float(np.mean(above > k if strict else above >= k))


def _argsort_error(scores, labels, k):
    """The k best classes by a stable sort: ties broken by class index, not at random."""
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean([y not in row for y, row in zip(labels, best, strict=True)]))


def _slots_ignore_classes_above(scores, labels, k):
    """min(k, e + 1) / (e + 1) for the tied block: forgets that the g classes above take slots."""
    true = scores[np.arange(len(labels)), labels][:, None]
    g = np.sum(scores > true, axis=1)
    e = np.sum(scores == true, axis=1) - 1
    hit = np.where(g >= k, 0.0, np.minimum(k, e + 1) / (e + 1))
    return float(np.mean(1.0 - hit))


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda s, y, k: _rank_error(s, y, k, strict=True), "case 2, 'random scores"),
        (lambda s, y, k: _rank_error(s, y, k, strict=False), "case 5, 'ties: every class"),
        (lambda s, y, k: topk_error(s, y, k, ties="pessimistic"), "case 5, 'ties: every class"),
        (_argsort_error, "case 5, 'ties: every class"),
        (lambda s, y, k: topk_error(s, y, k) * len(y), "case 1, 'random scores"),
        (lambda s, y, k: 1.0 - topk_error(s, y, k), "case 1, 'random scores"),
        (_slots_ignore_classes_above, "case 8, 'ties: one class above the label"),
    ],
    ids=["seed-rank-greater-than-k", "optimistic-ties", "pessimistic-ties", "argsort-ties",
         "no-1/N", "accuracy", "tie-slots-ignore-classes-above"],
)  # fmt: skip
def test_topk_error_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_topk_error(wrong)


def test_topk_error_wants_one_number():
    with pytest.raises(CheckFailure, match="one number"):
        check_topk_error(lambda s, y, k: np.full(len(y), topk_error(s, y, k)))


# --------------------------------------------------------------------------- t-SNE


def _tsne_gradient(P, Y, factor=4.0, student=True, diagonal_in_z=False):
    diff = Y[:, None, :] - Y[None, :, :]
    W = 1.0 / (1.0 + np.sum(diff**2, axis=-1))
    if not diagonal_in_z:
        np.fill_diagonal(W, 0.0)
    Q = W / W.sum()
    weight = (P - Q) * W if student else P - Q
    return factor * np.einsum("ij,ijk->ik", weight, diff)


def _seed_gradient(P, Y):
    """The seed's pasted formula read with the affinities as weights: sum_j p_ij, per column."""
    return np.repeat(P.sum(axis=1, keepdims=True), Y.shape[1], axis=1)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_seed_gradient, "case 1, 'random P and Y"),
        (lambda P, Y: _tsne_gradient(P, Y, factor=2.0), "case 1, 'random P and Y"),
        (lambda P, Y: _tsne_gradient(P, Y, factor=-4.0), "case 1, 'random P and Y"),
        (lambda P, Y: _tsne_gradient(P, Y, student=False), "case 1, 'random P and Y"),
        (lambda P, Y: _tsne_gradient(P, Y, diagonal_in_z=True), "case 1, 'random P and Y"),
    ],
    ids=["seed-erratum", "factor-2", "sign", "gaussian-kernel", "diagonal-in-Z"],
)
def test_kl_gradient_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_kl_gradient(wrong)


def test_kl_gradient_reference_passes():
    check_kl_gradient(_tsne_gradient)


def test_a_wrong_number_of_outputs_is_described_not_dumped():
    def two_gradients(dout, x, w, stride, padding):
        return conv2d_backward(dout, x, w, stride, padding)[:2]

    with pytest.raises(CheckFailure) as failure:
        check_conv2d_backward(two_gradients)
    message = str(failure.value)
    assert "got a tuple of 2: array (2, 3, 5, 6), array (4, 3, 3, 3)" in message
    assert len(message.splitlines()[-1]) < 200


def test_a_missing_return_is_named():
    def no_return(scores, labels, k):
        topk_error(scores, labels, k)

    with pytest.raises(CheckFailure, match="topk_error returned None .*is a return missing"):
        check_topk_error(no_return)
