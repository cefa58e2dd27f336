"""Tests of derived.attention against torch (float64): sdpa, autograd, MultiheadAttention."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.attention import (
    attention_backward,
    attention_weights,
    causal_mask,
    merge_heads,
    multi_head_attention,
    scaled_dot_product_attention,
    sinusoidal_positions,
    split_heads,
)
from derived.softmax import softmax_vjp
from oracles import n64, t64

RTOL = 1e-10
ATOL = 1e-12


def _draw(rng, batch, lq, lk, d, dv):
    q = rng.normal(size=(*batch, lq, d))
    k = rng.normal(size=(*batch, lk, d))
    v = rng.normal(size=(*batch, lk, dv))
    return q, k, v


def _torch(q, k, v, dout, **kw):
    """Output and gradients of torch's sdpa (float64, autograd)."""
    qt, kt, vt = (t64(a, requires_grad=True) for a in (q, k, v))
    if kw.get("attn_mask") is not None:
        kw["attn_mask"] = torch.as_tensor(kw["attn_mask"])
    out = F.scaled_dot_product_attention(qt, kt, vt, **kw)
    out.backward(t64(dout))
    return n64(out), n64(qt.grad), n64(kt.grad), n64(vt.grad)


def _compare(q, k, v, **kw):
    rng = np.random.default_rng(7)
    ours = scaled_dot_product_attention(q, k, v, **kw)
    dout = rng.normal(size=ours.shape)
    out, dq, dk, dv = _torch(q, k, v, dout, **kw)
    np.testing.assert_allclose(ours, out, rtol=RTOL, atol=ATOL)
    for mine, theirs in zip(attention_backward(dout, q, k, v, **kw), (dq, dk, dv), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- forward + backward

shapes = st.tuples(
    st.sampled_from([(), (2,), (2, 3)]),  # batch axes: none, batch, batch x heads
    st.integers(1, 7),  # Lq
    st.integers(1, 7),  # Lk
    st.integers(1, 6),  # d
    st.integers(1, 5),  # dv
)


@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), option=st.sampled_from(["none", "causal"]))
def test_matches_torch_random_shapes(shape, seed, option):
    q, k, v = _draw(np.random.default_rng(seed), *shape)
    _compare(q, k, v, is_causal=option == "causal")


@settings(max_examples=60, deadline=None)
@given(
    shape=shapes,
    seed=st.integers(0, 2**32 - 1),
    full=st.booleans(),
    scale=st.one_of(st.none(), st.floats(-3.0, 3.0)),
)
def test_matches_torch_with_masks_and_scales(shape, seed, full, scale):
    rng = np.random.default_rng(seed)
    q, k, v = _draw(rng, *shape)
    batch, lq, lk = shape[0], shape[1], shape[2]
    mask_shape = (*batch, lq, lk) if full else (lq, lk)  # full or broadcast over the batch
    mask = rng.random(mask_shape) < 0.7
    mask[..., 0] = True  # no fully masked row here (tested on its own below)
    _compare(q, k, v, attn_mask=mask, scale=scale)


@pytest.mark.parametrize(("lq", "lk"), [(4, 4), (3, 6), (6, 3), (1, 5), (5, 1)])
def test_causal_lq_not_lk(lq, lk):
    q, k, v = _draw(np.random.default_rng(lq * 10 + lk), (2, 2), lq, lk, 4, 3)
    _compare(q, k, v, is_causal=True)
    np.testing.assert_array_equal(causal_mask(lq, lk), torch.tril(torch.ones(lq, lk)).bool())
    np.testing.assert_array_equal(
        scaled_dot_product_attention(q, k, v, is_causal=True),
        scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(lq, lk)),
    )


def test_fully_masked_row_is_zero_like_torch():
    q, k, v = _draw(np.random.default_rng(3), (2,), 4, 5, 3, 2)
    mask = np.ones((4, 5), dtype=bool)
    mask[1] = False
    out = scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert np.all(out[:, 1] == 0.0)
    assert np.all(attention_weights(q, k, attn_mask=mask)[:, 1] == 0.0)
    _compare(q, k, v, attn_mask=mask)  # torch 2.13 returns zeros and zero gradients too


def test_default_scale_is_one_over_sqrt_d():
    q, k, v = _draw(np.random.default_rng(4), (), 3, 4, 9, 2)
    np.testing.assert_allclose(
        scaled_dot_product_attention(q, k, v),
        scaled_dot_product_attention(q, k, v, scale=1 / 3),
        rtol=1e-15,
    )


def test_worked_example():
    q, k, v = [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], [[4.0], [8.0]]
    out = scaled_dot_product_attention(q, k, v, scale=np.log(3))
    np.testing.assert_allclose(out, [[5.0]], rtol=1e-15)


def test_weights_are_distributions_and_match_torch_softmax():
    q, k, _ = _draw(np.random.default_rng(5), (3,), 4, 6, 5, 1)
    p = attention_weights(q, k)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14)
    expected = torch.softmax(t64(q) @ t64(k).transpose(-1, -2) / np.sqrt(5), dim=-1)
    np.testing.assert_allclose(p, n64(expected), rtol=RTOL)


def test_backward_uses_the_softmax_vjp():
    rng = np.random.default_rng(6)
    q, k, v = _draw(rng, (), 5, 7, 3, 4)
    dout = rng.normal(size=(5, 4))
    c = 1 / np.sqrt(3)
    scores = c * q @ k.T
    ds = softmax_vjp(scores, dout @ v.T)  # chapter 6's VJP, row by row
    dq, dk, _ = attention_backward(dout, q, k, v)
    np.testing.assert_allclose(dq, c * ds @ k, rtol=1e-12)
    np.testing.assert_allclose(dk, c * ds.T @ q, rtol=1e-12)


def test_backward_matches_finite_differences():
    from oracles import numerical_gradient

    rng = np.random.default_rng(8)
    q, k, v = _draw(rng, (), 3, 4, 2, 2)
    dout = rng.normal(size=(3, 2))
    dq, dk, dv = attention_backward(dout, q, k, v, is_causal=True)

    def f(name):
        def value(a):
            args = {"q": q, "k": k, "v": v, name: a}
            return np.sum(dout * scaled_dot_product_attention(**args, is_causal=True))

        return value

    np.testing.assert_allclose(numerical_gradient(f("q"), q), dq, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(numerical_gradient(f("k"), k), dk, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(numerical_gradient(f("v"), v), dv, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- heads, positions


def test_split_merge_heads_round_trip_and_layout():
    x = np.random.default_rng(9).normal(size=(2, 5, 12))
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(heads[:, 1], x[:, :, 4:8])
    np.testing.assert_array_equal(merge_heads(heads), x)


@pytest.mark.parametrize(("n_heads", "causal"), [(1, False), (2, True), (4, False)])
def test_multi_head_attention_matches_torch_module(n_heads, causal):
    rng = np.random.default_rng(n_heads)
    batch, length, width = 3, 6, 8
    x = rng.normal(size=(batch, length, width))
    wq, wk, wv, wo = (rng.normal(size=(width, width)) / np.sqrt(width) for _ in range(4))
    ours = multi_head_attention(x, wq, wk, wv, wo, n_heads, is_causal=causal)
    mha = torch.nn.MultiheadAttention(width, n_heads, bias=False, batch_first=True)
    mha = mha.to(torch.float64)
    with torch.no_grad():  # torch applies x @ W.T; ours applies x @ W
        mha.in_proj_weight.copy_(t64(np.concatenate([wq.T, wk.T, wv.T])))
        mha.out_proj.weight.copy_(t64(wo.T))
    xt = t64(x)
    # torch's attn_mask marks the pairs that do NOT take part
    mask = ~torch.as_tensor(causal_mask(length, length)) if causal else None
    expected, _ = mha(xt, xt, xt, attn_mask=mask, need_weights=False)
    np.testing.assert_allclose(ours, n64(expected), rtol=RTOL, atol=ATOL)


def test_sinusoidal_positions_brute_force():
    length, dim = 7, 6
    p = sinusoidal_positions(length, dim)
    for t in range(length):
        for i in range(dim // 2):
            w = 10000.0 ** (-2 * i / dim)
            assert p[t, 2 * i] == pytest.approx(np.sin(t * w), abs=1e-15)
            assert p[t, 2 * i + 1] == pytest.approx(np.cos(t * w), abs=1e-15)


def test_sinusoidal_longest_wavelength():
    # the slowest pair turns by 2 pi over base ** (1 - 2 / dim) positions, not base
    dim, base = 32, 100.0
    wavelength = 2 * np.pi * base ** (1 - 2 / dim)
    p = sinusoidal_positions(2, dim, base=base)
    assert np.arctan2(p[1, -2], p[1, -1]) == pytest.approx(2 * np.pi / wavelength, rel=1e-14)


# --------------------------------------------------------------------------- bad input


def test_bad_input():
    q, k, v = _draw(np.random.default_rng(0), (2,), 3, 4, 5, 6)
    with pytest.raises(ValueError, match="k must have the dimension d=5"):
        scaled_dot_product_attention(q, k[..., :4], v)
    with pytest.raises(ValueError, match="v must have shape"):
        scaled_dot_product_attention(q, k, v[:, :3])
    with pytest.raises(ValueError, match="k must have the batch axes"):
        scaled_dot_product_attention(q, k[0], v[0])
    with pytest.raises(ValueError, match="q must have at least 2 dimension"):
        scaled_dot_product_attention(q[0, 0], k, v)
    with pytest.raises(ValueError, match="q must have Lq >= 1"):
        scaled_dot_product_attention(q[:, :0], k, v)
    with pytest.raises(ValueError, match="k must have Lk >= 1"):
        scaled_dot_product_attention(q, k[:, :0], v[:, :0])
    with pytest.raises(ValueError, match="q must be finite"):
        scaled_dot_product_attention(np.full_like(q, np.nan), k, v)
    with pytest.raises(ValueError, match="attn_mask must be None when is_causal"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4), bool), is_causal=True)
    with pytest.raises(ValueError, match="attn_mask must broadcast"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 3), bool))
    with pytest.raises(TypeError, match="attn_mask must be a boolean array"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4)))
    with pytest.raises(TypeError, match="is_causal must be a bool"):
        scaled_dot_product_attention(q, k, v, is_causal=1)
    with pytest.raises(ValueError, match="scale must be finite"):
        scaled_dot_product_attention(q, k, v, scale=np.inf)
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        attention_backward(np.zeros((2, 3, 5)), q, k, v)
    with pytest.raises(ValueError, match="x must not be empty"):
        split_heads(np.zeros((3, 0)), 1)
    with pytest.raises(ValueError, match="x must not be empty"):
        merge_heads(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match="multiple of n_heads=4"):
        split_heads(np.zeros((3, 6)), 4)
    with pytest.raises(ValueError, match="wk must have shape"):
        multi_head_attention(np.zeros((3, 4)), np.eye(4), np.eye(3), np.eye(4), np.eye(4), 2)
    with pytest.raises(ValueError, match="dim must be even"):
        sinusoidal_positions(4, 5)
    with pytest.raises(ValueError, match="lq must be >= 1"):
        causal_mask(0, 3)


# --------------------------------------------------------------------------- flash reference


@pytest.mark.skipif(
    importlib.util.find_spec("derived.online_softmax") is None,
    reason="derived.online_softmax is not in this checkout",
)
def test_flash_attention_reference_is_public_here():
    from derived.attention import flash_attention_reference

    q, k, v = _draw(np.random.default_rng(11), (2,), 70, 90, 8, 4)
    for causal in (False, True):
        np.testing.assert_allclose(
            flash_attention_reference(q, k, v, is_causal=causal, block_size=16),
            scaled_dot_product_attention(q, k, v, is_causal=causal),
            rtol=1e-10,
            atol=1e-12,
        )
