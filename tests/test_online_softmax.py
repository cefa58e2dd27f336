"""Tests of derived.online_softmax: the merge lemma, the online softmax and block-by-block
attention against torch in float64, hypothesis laws, the memory claim measured with
tracemalloc, and bad input."""

from __future__ import annotations

import importlib.util
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.online_softmax import (
    attention_io,
    flash_attention_reference,
    merge_states,
    online_softmax,
    online_softmax_state,
)
from oracles import float_arrays, floats, n64, t64

RTOL = 1e-10
ATOL = 1e-12


def torch_attention(q, k, v, is_causal=False, scale=None):
    # Causal as a boolean lower-triangular mask aligned at the top left, which is what
    # is_causal means: torch's is_causal path multiplies the masked -inf scores by the scale,
    # so scale=0 gives NaN (0 * -inf) where the boolean mask gives the right answer.
    shape = (np.shape(q)[-2], np.shape(k)[-2])
    mask = torch.ones(shape, dtype=torch.bool).tril() if is_causal else None
    return n64(
        torch.nn.functional.scaled_dot_product_attention(
            t64(q), t64(k), t64(v), attn_mask=mask, scale=scale
        )
    )


def qkv(rng, batch, lq, lk, d, dv, spread=1.0):
    return (
        rng.normal(scale=spread, size=(*batch, lq, d)),
        rng.normal(scale=spread, size=(*batch, lk, d)),
        rng.normal(size=(*batch, lk, dv)),
    )


def brute_state(x):
    m = np.max(x, axis=-1)
    return m, np.sum(np.exp(x - m[..., None]), axis=-1)


# --------------------------------------------------------------------------- the softmax state


@given(x=float_arrays(st.integers(1, 40), -30.0, 30.0), cut=st.integers(0, 40))
def test_merge_of_two_parts_is_the_state_of_the_whole(x, cut):
    """The key lemma: merging the states of x[:c] and x[c:] gives the state of x."""
    cut = min(cut, x.size)
    parts = [x[:cut], x[cut:]]
    states = [brute_state(p) if p.size else (-np.inf, 0.0) for p in parts]
    m, l = merge_states(*states[0], *states[1])  # noqa: E741
    m_ref, l_ref = brute_state(x)
    assert m == m_ref
    np.testing.assert_allclose(l, l_ref, rtol=1e-13)


@given(
    a=float_arrays(st.integers(1, 8), -30.0, 30.0),
    b=float_arrays(st.integers(1, 8), -30.0, 30.0),
    c=float_arrays(st.integers(1, 8), -30.0, 30.0),
)
def test_merge_is_commutative_associative_with_the_empty_state_as_identity(a, b, c):
    sa, sb, sc = brute_state(a), brute_state(b), brute_state(c)
    ab = merge_states(*sa, *sb)
    ba = merge_states(*sb, *sa)
    assert ab[0] == ba[0]
    np.testing.assert_allclose(ab[1], ba[1], rtol=1e-15)
    left = merge_states(*ab, *sc)
    right = merge_states(*sa, *merge_states(*sb, *sc))
    assert left[0] == right[0]
    np.testing.assert_allclose(left[1], right[1], rtol=1e-14)
    m, l = merge_states(*sa, -np.inf, 0.0)  # noqa: E741
    assert (m, l) == (sa[0], sa[1])
    m, l = merge_states(-np.inf, 0.0, -np.inf, 0.0)  # noqa: E741
    assert (m, l) == (-np.inf, 0.0)


def test_merge_broadcasts_elementwise_and_closed_form():
    m, l = merge_states([1.0, 3.0], [1.0, 1.0], [3.0, 1.0], [1.0, 1.0])  # noqa: E741
    np.testing.assert_array_equal(m, [3.0, 3.0])
    np.testing.assert_allclose(l, [1 + np.exp(-2.0)] * 2, rtol=1e-15)


@pytest.mark.parametrize("block_size", [1, 3, 7, 64, 1000])
def test_online_state_and_softmax_match_torch(block_size):
    x = np.random.default_rng(0).normal(scale=10.0, size=(5, 4, 37))
    m, l = online_softmax_state(x, block_size)  # noqa: E741
    np.testing.assert_array_equal(m, x.max(axis=-1))
    lse = n64(torch.logsumexp(t64(x), dim=-1))
    np.testing.assert_allclose(m + np.log(l), lse, rtol=1e-13)
    np.testing.assert_allclose(
        online_softmax(x, block_size), n64(torch.softmax(t64(x), dim=-1)), rtol=RTOL, atol=1e-300
    )


@given(x=float_arrays(st.integers(1, 50), -1e4, 1e4), block_size=st.integers(1, 60))
def test_online_softmax_is_stable_and_exact_for_any_block(x, block_size):
    p = online_softmax(x, block_size)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, n64(torch.softmax(t64(x), dim=-1)), rtol=1e-12, atol=1e-300)


def test_forgetting_to_rescale_the_sum_is_wrong():
    """The common mistake: l += sum(exp(block - m_new)) without multiplying l by e^(m - m_new)."""
    x = np.array([0.0, 0.0, 5.0, 5.0])
    m, l = -np.inf, 0.0  # noqa: E741
    for blk in (x[:2], x[2:]):
        m = max(m, blk.max())
        l = l + np.exp(blk - m).sum()  # noqa: E741  (no rescaling)
    assert abs(l - online_softmax_state(x, 2)[1]) > 1.9  # 2 + 2e^-5 is right; 4 is not


# --------------------------------------------------------------------------- attention


SHAPES = [
    # batch, Lq, Lk, d, dv, block
    ((), 1, 1, 1, 1, 64),
    ((), 37, 37, 8, 8, 16),
    ((2,), 50, 37, 8, 5, 16),
    ((2, 3), 37, 50, 16, 16, 16),
    ((3,), 130, 70, 4, 6, 64),
    ((2, 2), 64, 64, 32, 32, 64),
    ((), 5, 200, 8, 3, 7),
    ((), 200, 5, 8, 3, 7),
]


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize(("batch", "lq", "lk", "d", "dv", "block"), SHAPES)
def test_attention_matches_torch(batch, lq, lk, d, dv, block, is_causal):
    rng = np.random.default_rng(lq * 1000 + lk)
    q, k, v = qkv(rng, batch, lq, lk, d, dv)
    out = flash_attention_reference(q, k, v, is_causal=is_causal, block_size=block)
    assert out.shape == (*batch, lq, dv)
    np.testing.assert_allclose(out, torch_attention(q, k, v, is_causal), rtol=RTOL, atol=ATOL)


@settings(max_examples=60, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    lq=st.integers(1, 40),
    lk=st.integers(1, 40),
    d=st.integers(1, 9),
    dv=st.integers(1, 9),
    block=st.integers(1, 20),
    is_causal=st.booleans(),
    scale=st.one_of(st.none(), floats(-3.0, 3.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_attention_matches_torch_for_any_shape(batch, lq, lk, d, dv, block, is_causal, scale, seed):
    q, k, v = qkv(np.random.default_rng(seed), tuple(batch), lq, lk, d, dv)
    out = flash_attention_reference(q, k, v, is_causal=is_causal, scale=scale, block_size=block)
    expected = torch_attention(q, k, v, is_causal, scale)
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_block_size_does_not_change_the_result():
    q, k, v = qkv(np.random.default_rng(1), (2,), 45, 61, 8, 8)
    outs = [flash_attention_reference(q, k, v, block_size=b) for b in (1, 4, 13, 64, 500)]
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], rtol=1e-13, atol=1e-14)


def test_huge_scores_do_not_overflow():
    """Scores of order 1e4: e^(1e4) overflows, the shifted exponentials never do."""
    q, k, v = qkv(np.random.default_rng(2), (), 33, 47, 8, 4, spread=30.0)
    for is_causal in (False, True):
        out = flash_attention_reference(q, k, v, is_causal=is_causal, scale=10.0, block_size=8)
        assert np.all(np.isfinite(out))
        expected = torch_attention(q, k, v, is_causal, 10.0)
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_empty_query_set():
    q, k, v = np.zeros((2, 0, 4)), np.ones((2, 3, 4)), np.ones((2, 3, 5))
    assert flash_attention_reference(q, k, v).shape == (2, 0, 5)


@pytest.mark.skipif(
    importlib.util.find_spec("derived.attention") is None, reason="derived.attention absent"
)
def test_agrees_with_the_dense_attention_of_the_package():
    from derived.attention import scaled_dot_product_attention

    q, k, v = qkv(np.random.default_rng(3), (2, 2), 70, 45, 8, 8)
    for is_causal in (False, True):
        np.testing.assert_allclose(
            flash_attention_reference(q, k, v, is_causal=is_causal, block_size=16),
            scaled_dot_product_attention(q, k, v, is_causal=is_causal),
            rtol=RTOL,
            atol=ATOL,
        )


# --------------------------------------------------------------------------- memory, measured


def dense_attention(q, k, v):
    """Scores, their softmax, then @ v: the L x L matrix held at once."""
    s = (q @ k.T) / np.sqrt(q.shape[-1])
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


def peak_bytes(f, *args):
    tracemalloc.start()
    try:
        out = f(*args)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_at_L_4096_is_at_most_a_tenth_of_dense():
    n, d, b = 4096, 64, 64
    q, k, v = qkv(np.random.default_rng(4), (), n, n, d, d)
    dense, dense_peak = peak_bytes(dense_attention, q, k, v)
    flash, flash_peak = peak_bytes(flash_attention_reference, q, k, v)
    np.testing.assert_allclose(flash, dense, rtol=1e-9, atol=1e-12)
    assert dense_peak >= n * n * 8  # the score matrix alone is 128 MiB
    assert flash_peak <= dense_peak / 10
    # beyond the (L, d) output, a few blocks of scores and of the accumulator
    assert flash_peak - flash.nbytes <= 10 * (b * b + b * d) * 8


# --------------------------------------------------------------------------- memory traffic


def tally_standard(n, d):
    """Walk Algorithm 0 of Dao et al. (2022) and add up each array read or written."""
    reads = {"Q": n * d, "K": n * d, "S": n * n, "P": n * n, "V": n * d}
    writes = {"S": n * n, "P": n * n, "O": n * d}
    flops = 2 * n * n * d + 2 * n * n * d  # Q K^T, then P V
    return flops, sum(reads.values()) + sum(writes.values())


def tally_tiled(n, d, b):
    """Walk the loops of the tiled algorithm block by block and count what each loads."""
    moved = flops = 0
    for i0 in range(0, n, b):
        rows = min(b, n - i0)
        moved += 2 * rows * d  # load the query block, store its output block
        for j0 in range(0, n, b):
            cols = min(b, n - j0)
            moved += 2 * cols * d  # load a block of K and of V
            flops += 2 * rows * cols * d * 2
    return flops, moved


@pytest.mark.parametrize(("n", "d", "b"), [(1, 1, 1), (100, 8, 16), (128, 64, 64), (1000, 32, 7)])
def test_attention_io_matches_a_tally_of_the_loops(n, d, b):
    assert attention_io(n, d) == tally_standard(n, d)
    assert attention_io(n, d, block_size=b) == tally_tiled(n, d, b)


def test_tiled_traffic_is_theta_n2_d2_over_m():
    """With b = M / (4 d) (Dao et al.'s block for an on-chip memory of M numbers), the tiled
    count is 2 N d + 8 N^2 d^2 / M up to the rounding of N / b."""
    n, d, m = 8192, 64, 2**16
    b = m // (4 * d)
    assert attention_io(n, d, b)[1] == 2 * n * d + 8 * n * n * d * d // m
    ratio = attention_io(n, d)[1] / attention_io(n, d, b)[1]
    assert 7 < ratio < 8  # tends to 4 N^2 / (2 N^2 d / b) = 2 b / d = 8 as N grows


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"q": np.ones(4)}, "q must have at least 2"),
        ({"k": np.ones((3, 5))}, "head dimension"),
        ({"v": np.ones((4, 4))}, "number of keys"),
        ({"k": np.ones((0, 4)), "v": np.ones((0, 4))}, "Lk >= 1"),
        ({"q": np.ones((2, 3, 4))}, "number of dimensions"),
        (
            {"q": np.ones((2, 3, 4)), "k": np.ones((3, 3, 4)), "v": np.ones((3, 3, 4))},
            "batch dimensions",
        ),
        ({"q": np.full((3, 4), np.nan)}, "q must be finite"),
        ({"v": np.full((3, 4), np.inf)}, "v must be finite"),
        ({"block_size": 0}, "block_size must be >= 1"),
        ({"scale": np.inf}, "scale must be finite"),
    ],
)
def test_attention_bad_input(kwargs, match):
    args = {"q": np.ones((3, 4)), "k": np.ones((3, 4)), "v": np.ones((3, 4)), **kwargs}
    with pytest.raises(ValueError, match=match):
        flash_attention_reference(**args)


def test_attention_bad_types():
    a = np.ones((3, 4))
    with pytest.raises(TypeError, match="is_causal"):
        flash_attention_reference(a, a, a, is_causal=1)
    with pytest.raises(TypeError, match="block_size"):
        flash_attention_reference(a, a, a, block_size=2.0)
    with pytest.raises(TypeError, match="q must contain real numbers"):
        flash_attention_reference("abc", a, a)


def test_softmax_state_bad_input():
    with pytest.raises(ValueError, match="x must have at least one entry"):
        online_softmax(np.ones((2, 0)))
    with pytest.raises(ValueError, match="x must have at least 1"):
        online_softmax_state(3.0)
    with pytest.raises(ValueError, match="x must be finite"):
        online_softmax([1.0, np.nan])
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        online_softmax([1.0], block_size=0)
    with pytest.raises(ValueError, match="l_a must be >= 0"):
        merge_states(0.0, -1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="m_b must be finite or -inf"):
        merge_states(0.0, 1.0, np.inf, 1.0)
    with pytest.raises(ValueError, match="l_b must be finite"):
        merge_states(0.0, 1.0, 0.0, np.nan)
    with pytest.raises(ValueError, match="seq_len must be >= 1"):
        attention_io(0, 4)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        attention_io(4, 4, block_size=0)
    with pytest.raises(TypeError, match="head_dim"):
        attention_io(4, 4.0)
    with pytest.raises(ValueError, match="must broadcast together"):
        merge_states([0.0, 1.0], [1.0, 1.0], [0.0, 1.0, 2.0], [1.0, 1.0, 1.0])
