"""derived.conv against torch.nn.functional.conv2d and autograd (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.conv import conv2d, conv2d_backward, im2col, output_size

SEED_W = np.array([[4.0, 3.0, 3.0], [5.0, 5.0, 5.0], [2.0, 4.0, 3.0]])
SEED_DX = np.array(
    [
        [4, 7, 10, 6, 3],
        [9, 17, 25, 16, 8],
        [11, 23, 34, 23, 11],
        [7, 16, 24, 17, 8],
        [2, 6, 9, 7, 3],
    ],
    dtype=np.float64,
)


def torch_reference(x, w, b, g, stride, padding, dilation):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation)
    y.backward(torch.tensor(g, dtype=torch.float64))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@st.composite
def conv_cases(draw):
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, d[0] * (kh - 1) + 1 - 2 * p[0]), 9))
    w = draw(st.integers(max(1, d[1] * (kw - 1) + 1 - 2 * p[1]), 9))
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    return (n, c, h, w, f, kh, kw), s, p, d, seed


@settings(max_examples=60, deadline=None)
@given(case=conv_cases())
def test_forward_and_backward_match_torch(case):
    (n, c, h, w_, f, kh, kw), s, p, d, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w_))
    w = rng.normal(size=(f, c, kh, kw))
    b = rng.normal(size=f)
    y = conv2d(x, w, b, s, p, d)
    g = rng.normal(size=y.shape)
    y_ref, dx_ref, dw_ref, db_ref = torch_reference(x, w, b, g, s, p, d)
    dx, dw, db = conv2d_backward(g, x, w, s, p, d)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, db_ref, rtol=1e-10, atol=1e-12)


def test_seed_forward_with_an_image_that_fits_its_output():
    # homework 004, question 5(b): the output it reports; the image is one of many that fit
    x = np.array(
        [[4, 5, 2, 2, 1], [3, 3, 2, 2, 4], [4, 3, 4, 1, 1], [5, 1, 4, 1, 2], [5, 1, 3, 1, 4]],
        dtype=np.float64,
    )
    y = conv2d(x[None, None], SEED_W[None, None])[0, 0]
    np.testing.assert_array_equal(y, [[109, 92, 72], [108, 85, 74], [110, 74, 79]])


def test_seed_backward_with_all_ones_upstream_gradient():
    # homework 004, question 5(c): a 3x3 filter on a 5x5 image, all-ones upstream gradient
    x = np.zeros((1, 1, 5, 5))
    dx, dw, db = conv2d_backward(np.ones((1, 1, 3, 3)), x, SEED_W[None, None])
    np.testing.assert_array_equal(dx[0, 0], SEED_DX)
    assert db.tolist() == [9.0]


def test_input_gradient_is_full_convolution_with_flipped_filter():
    rng = np.random.default_rng(1)
    g = rng.normal(size=(1, 1, 4, 4))
    w = rng.normal(size=(1, 1, 3, 3))
    dx, _, _ = conv2d_backward(g, np.zeros((1, 1, 6, 6)), w)
    full = conv2d(g, w[:, :, ::-1, ::-1], padding=2)  # correlate with the flipped filter
    np.testing.assert_allclose(dx, full, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(case=conv_cases())
def test_input_gradient_is_torchs_transposed_convolution(case):
    # the module docstring: dx is the transposed convolution of g with w
    (n, c, h, w_, f, kh, kw), s, p, d, seed = case
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=(n, c, h, w_)), rng.normal(size=(f, c, kh, kw))
    g = rng.normal(size=conv2d(x, w, None, s, p, d).shape)
    dx, _, _ = conv2d_backward(g, x, w, s, p, d)
    covered = [
        (g.shape[2 + a] - 1) * s[a] - 2 * p[a] + d[a] * (w.shape[2 + a] - 1) + 1 for a in (0, 1)
    ]  # rows and columns the windows reach
    ref = torch.nn.functional.conv_transpose2d(
        torch.tensor(g),
        torch.tensor(w),
        stride=s,
        padding=p,
        dilation=d,
        output_padding=(h - covered[0], w_ - covered[1]),
    )
    np.testing.assert_allclose(dx, ref.numpy(), rtol=1e-10, atol=1e-12)


def test_output_size_formula():
    assert output_size(5, 3) == 3
    assert output_size(32, 3, stride=2, padding=1) == 16
    assert output_size(7, 3, dilation=3) == 1
    for n, k, s, p, d in [(10, 3, 2, 1, 2), (9, 2, 3, 0, 1), (5, 5, 1, 0, 1)]:
        ref = torch.nn.functional.conv2d(
            torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d
        ).shape[-1]
        assert output_size(n, k, s, p, d) == ref


def test_im2col_is_a_view_of_the_patches():
    x = np.arange(2 * 3 * 5 * 5, dtype=np.float64).reshape(2, 3, 5, 5)
    cols = im2col(x, (2, 3), stride=(1, 2))
    assert cols.shape == (2, 3, 4, 2, 2, 3)
    np.testing.assert_array_equal(cols[1, 2, 3, 1], x[1, 2, 3:5, 2:5])
    assert np.shares_memory(cols[0, 0, 0, 0], cols[0, 0, 1, 0])  # patches share pixels
    assert not np.shares_memory(cols, x)  # a view of the padded copy, even with no padding


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: conv2d(np.zeros((1, 2, 5, 5)), np.zeros((1, 3, 3, 3))), ValueError, "channels"),
        (lambda: conv2d(np.zeros((2, 5, 5)), np.zeros((1, 2, 3, 3))), ValueError, "x must have 4"),
        (
            lambda: conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))),
            ValueError,
            "kernel spans",
        ),
        (
            lambda: conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0),
            ValueError,
            "stride",
        ),
        (
            lambda: conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding=-1),
            ValueError,
            "padding",
        ),
        (
            lambda: conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), dilation=1.5),
            TypeError,
            "dilation",
        ),
        (
            lambda: conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), b=np.zeros(3)),
            ValueError,
            "b must",
        ),
        (
            lambda: conv2d(np.full((1, 1, 5, 5), np.nan), np.zeros((1, 1, 3, 3))),
            ValueError,
            "x must be finite",
        ),
        (
            lambda: conv2d_backward(
                np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))
            ),
            ValueError,
            "dout must have shape",
        ),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
