"""derived.pooling against torch.nn.functional (float64), ties included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.pooling import (
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    avg_pool2d,
    avg_pool2d_backward,
    max_blur_pool2d,
    max_pool2d,
    max_pool2d_backward,
)


def torch_pool(fn, x, g, **kwargs):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(xt, **kwargs)
    y.backward(torch.tensor(g, dtype=torch.float64))
    return y.detach().numpy(), xt.grad.numpy()


@st.composite
def pool_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    h = draw(st.integers(max(1, k[0] - 2 * p[0]), 8))
    w = draw(st.integers(max(1, k[1] - 2 * p[1]), 8))
    ties = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return k, s, p, (2, 2, h, w), ties, seed


def make_input(shape, ties, seed):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many windows have several maxima
        return rng.integers(0, 3, size=shape).astype(np.float64)
    return rng.normal(size=shape)


def check_pool_against_torch(forward, backward, torch_fn, case, *, exact_forward):
    """Forward and backward of a windowed pool against torch float64 on one drawn case;
    ``exact_forward`` asks for bit-equal outputs (a maximum is a copy, not a sum)."""
    k, s, p, shape, ties, seed = case
    x = make_input(shape, ties, seed)
    y = forward(x, k, s, p)
    g = np.random.default_rng(seed + 1).normal(size=y.shape)
    y_ref, dx_ref = torch_pool(torch_fn, x, g, kernel_size=k, stride=s, padding=p)
    if exact_forward:
        np.testing.assert_array_equal(y, y_ref)
    else:
        np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backward(g, x, k, s, p), dx_ref, rtol=1e-12, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(case=pool_cases())
def test_max_pool_matches_torch_including_ties(case):
    check_pool_against_torch(
        max_pool2d, max_pool2d_backward, F.max_pool2d, case, exact_forward=True
    )


@settings(max_examples=80, deadline=None)
@given(case=pool_cases())
def test_avg_pool_matches_torch(case):
    check_pool_against_torch(
        avg_pool2d, avg_pool2d_backward, F.avg_pool2d, case, exact_forward=False
    )


@pytest.mark.parametrize(
    ("shape", "out"),
    [((7, 5), (3, 2)), ((6, 6), (4, 4)), ((5, 9), (5, 1)), ((4, 4), 1), ((2, 3), (3, 5))],
)
def test_adaptive_avg_pool_matches_torch(shape, out):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, *shape))
    y = adaptive_avg_pool2d(x, out)
    g = rng.normal(size=y.shape)
    y_ref, dx_ref = torch_pool(F.adaptive_avg_pool2d, x, g, output_size=out)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        adaptive_avg_pool2d_backward(g, x, out), dx_ref, rtol=1e-12, atol=1e-14
    )


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    oh=st.integers(1, 6),
    ow=st.integers(1, 6),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_adaptive_max_pool_matches_torch_including_ties(h, w, oh, ow, ties, seed):
    x = make_input((2, 2, h, w), ties, seed)
    y = adaptive_max_pool2d(x, (oh, ow))
    g = np.random.default_rng(seed + 1).normal(size=y.shape)
    y_ref, dx_ref = torch_pool(F.adaptive_max_pool2d, x, g, output_size=(oh, ow))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(
        adaptive_max_pool2d_backward(g, x, (oh, ow)), dx_ref, rtol=1e-12, atol=1e-12
    )


def test_adaptive_max_overlapping_bins_tie_to_first_maximum():
    dx = adaptive_max_pool2d_backward(np.ones((1, 1, 3, 1)), np.ones((1, 1, 7, 1)), (3, 1))
    assert dx.ravel().tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]


def test_tie_goes_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[2.0, 2.0], [2.0, 2.0]]]])
    dx = max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2)
    assert dx.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


def test_overlapping_windows_accumulate():
    x = np.array([[[[0.0, 5.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)
    assert dx[0, 0, 0, 1] == 2.0  # the 5 is the maximum of two windows


def max_blur_pool_by_loops(x, k, s):
    """The definition, one pixel at a time: circular k-window maximum, circular
    [1, 2, 1]/4 blur along rows then columns, every s-th pixel."""
    n, c, h, w = x.shape
    dense = np.empty_like(x)
    for a in range(h):
        for b in range(w):
            rows = [(a + i) % h for i in range(k[0])]
            cols = [(b + j) % w for j in range(k[1])]
            dense[:, :, a, b] = x[:, :, rows][:, :, :, cols].max(axis=(2, 3))
    taps = {-1: 0.25, 0: 0.5, 1: 0.25}
    rows_blurred = sum(t * dense[:, :, [(a + d) % h for a in range(h)]] for d, t in taps.items())
    blurred = sum(t * rows_blurred[..., [(b + d) % w for b in range(w)]] for d, t in taps.items())
    return blurred[:, :, :: s[0], :: s[1]]


def max_blur_pool_by_torch(x, k, s):
    """Circular pad, max_pool2d at stride 1, depthwise [1, 2, 1] blur conv, subsample."""
    n, c, h, w = x.shape
    xt = torch.tensor(x, dtype=torch.float64)
    dense = F.max_pool2d(F.pad(xt, (0, k[1] - 1, 0, k[0] - 1), mode="circular"), k, stride=1)
    tri = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    blur = (torch.outer(tri, tri) / 16).expand(c, 1, 3, 3)
    blurred = F.conv2d(F.pad(dense, (1, 1, 1, 1), mode="circular"), blur, groups=c)
    return blurred[:, :, :: s[0], :: s[1]].numpy()


@settings(max_examples=40, deadline=None)
@given(
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    h=st.integers(3, 8),
    w=st.integers(3, 8),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_max_blur_pool_matches_its_definition_and_torch(k, s, h, w, ties, seed):
    x = make_input((2, 3, h, w), ties, seed)
    y = max_blur_pool2d(x, k, s)
    assert y.shape == (2, 3, -(-h // s[0]), -(-w // s[1]))
    np.testing.assert_allclose(y, max_blur_pool_by_loops(x, k, s), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(y, max_blur_pool_by_torch(x, k, s), rtol=1e-13, atol=1e-14)


def test_max_blur_pool_commutes_with_circular_shifts_by_the_stride():
    x = np.random.default_rng(3).normal(size=(2, 2, 8, 8))
    shifted = max_blur_pool2d(np.roll(x, (2, 4), axis=(2, 3)))
    np.testing.assert_array_equal(shifted, np.roll(max_blur_pool2d(x), (1, 2), axis=(2, 3)))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), ValueError, "at most half"),
        (lambda: max_pool2d(np.zeros((1, 4, 4)), 2), ValueError, "x must have 4"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 0), ValueError, "kernel_size must be >= 1"),
        (lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=(1,)), TypeError, "stride"),
        (lambda: max_pool2d(np.zeros((1, 1, 1, 1)), 2), ValueError, "kernel spans"),
        (
            lambda: max_pool2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), 2),
            ValueError,
            "dout must have shape",
        ),
        (lambda: adaptive_avg_pool2d(np.zeros((1, 1, 3, 3)), 0), ValueError, "output_size"),
        (lambda: adaptive_max_pool2d(np.zeros((1, 1, 3, 3)), (2, 0)), ValueError, "output_size"),
        (
            lambda: adaptive_max_pool2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), 2),
            ValueError,
            "dout must have shape",
        ),
        (lambda: avg_pool2d(np.full((1, 1, 2, 2), np.inf), 2), ValueError, "x must be finite"),
        (lambda: max_blur_pool2d(np.zeros((1, 1, 2, 2)), 3), ValueError, "at most the map"),
        (lambda: max_blur_pool2d(np.zeros((1, 1, 4, 4)), 2, 0), ValueError, "stride must be"),
        (lambda: max_blur_pool2d(np.zeros((4, 4)), 2), ValueError, "x must have 4"),
        (lambda: max_blur_pool2d(np.full((1, 1, 2, 2), np.nan)), ValueError, "x must be finite"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def max_pool_even_by_amax(x, g, k, s, p):
    """The even split by autograd: pad with -inf, cut the windows, reduce each by amax."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    padded = F.pad(xt, (p[1], p[1], p[0], p[0]), value=-np.inf)
    windows = padded.unfold(2, k[0], s[0]).unfold(3, k[1], s[1])  # (N, C, Ho, Wo, kh, kw)
    windows.amax(dim=(-2, -1)).backward(torch.tensor(g, dtype=torch.float64))
    return xt.grad.numpy()


def max_pool_even_by_loops(x, g, k, s, p):
    """The even split, one window at a time: g / |T| to each of the |T| tied maxima."""
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for b, ch, u, v in np.ndindex(g.shape):
        cells = [
            (r, q)
            for r in range(u * s[0] - p[0], u * s[0] - p[0] + k[0])
            for q in range(v * s[1] - p[1], v * s[1] - p[1] + k[1])
            if 0 <= r < h and 0 <= q < w
        ]
        top = max(x[b, ch, r, q] for r, q in cells)
        tied = [(r, q) for r, q in cells if x[b, ch, r, q] == top]
        for r, q in tied:
            dx[b, ch, r, q] += g[b, ch, u, v] / len(tied)
    return dx


@settings(max_examples=80, deadline=None)
@given(case=pool_cases())
def test_even_split_matches_amax_autograd_and_loops(case):
    k, s, p, shape, ties, seed = case
    x = make_input(shape, ties, seed)
    g = np.random.default_rng(seed + 1).normal(size=max_pool2d(x, k, s, p).shape)
    dx = max_pool2d_backward(g, x, k, s, p, ties="even")
    np.testing.assert_allclose(dx, max_pool_even_by_amax(x, g, k, s, p), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, max_pool_even_by_loops(x, g, k, s, p), rtol=1e-12, atol=1e-12)
    first = max_pool2d_backward(g, x, k, s, p)  # the default, and "first" by name
    np.testing.assert_array_equal(first, max_pool2d_backward(g, x, k, s, p, ties="first"))
    # both route each window's whole gradient: the totals agree
    np.testing.assert_allclose(dx.sum(), first.sum(), rtol=1e-12, atol=1e-12)


def test_even_split_at_a_four_way_tie_with_overlapping_windows():
    x = np.zeros((1, 1, 3, 3))  # all tied; the 2x2 windows at stride 1 overlap
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1, ties="even")
    assert dx[0, 0].tolist() == [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]


def test_ties_must_be_first_or_even():
    with pytest.raises(ValueError, match="ties must be 'first' or 'even'"):
        max_pool2d_backward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)), 2, ties="last")
