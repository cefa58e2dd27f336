"""Tests for derived.kernels.flash_attention: the Triton kernel against torch's attention.

The oracle is ``torch.nn.functional.scaled_dot_product_attention`` in float64. Without a
GPU the kernel runs in Triton's interpreter (switched on here, or in conftest.py, before
Triton is imported); the same tests run on a GPU when there is one, and those marked
``gpu`` need one (float16, long sequences, the autotuner).
"""

import sys

import numpy as np
import pytest
import torch.nn.functional as F  # noqa: E402
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.kernels import flash_attention, kernel_device, trace_memory  # noqa: E402
from kernel_env import torch  # torch, and the interpreter without a GPU

fa = sys.modules["derived.kernels.flash_attention"]  # the module; the name is the function
HAS_CUDA = torch.cuda.is_available()
DEVICE = kernel_device()
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
interpreter_only = pytest.mark.skipif(HAS_CUDA, reason="traces the interpreter's programs")

# float32 results against the float64 oracle: the kernel sums at most a few hundred
# exponentials and products per output in float32 (unit roundoff 6e-8), so 1e-5 is loose
# enough for rounding and far too tight for any indexing or masking mistake.
ATOL = RTOL = 1e-5


def _qkv(b, h, lq, lk, d, seed=0, dtype=torch.float32, device=DEVICE):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, h, lq, d, generator=g)
    k = torch.randn(b, h, lk, d, generator=g)
    v = torch.randn(b, h, lk, d, generator=g)
    return (t.to(dtype=dtype, device=device) for t in (q, k, v))


def _oracle(q, k, v, is_causal=False, scale=None):
    out = F.scaled_dot_product_attention(
        q.double(), k.double(), v.double(), is_causal=is_causal, scale=scale
    )
    return out.float()


def _assert_attention_close(out, q, k, v, is_causal=False, scale=None, atol=ATOL, rtol=RTOL):
    expected = _oracle(q, k, v, is_causal, scale)
    assert out.dtype == q.dtype
    assert out.shape == q.shape
    assert out.is_contiguous()
    torch.testing.assert_close(out.float(), expected, atol=atol, rtol=rtol)


# ---------------------------------------------------------------- against torch

# (B, H, Lq, Lk, d). The interpreter's blocks are 64 queries x 32 keys: lengths below a
# block, between blocks, exact multiples, Lq < Lk and Lq > Lk, every head dimension.
SHAPES = [
    (1, 1, 1, 1, 16),
    (1, 1, 7, 7, 32),  # L < every block
    (2, 3, 100, 100, 64),  # ragged: 100 = 64 + 36 queries, 3 * 32 + 4 keys; B * H = 6
    (1, 2, 128, 128, 32),  # exact multiples of both blocks
    (1, 1, 65, 33, 128),  # one past a block in each
    (2, 1, 30, 77, 16),  # Lq < Lk
    (1, 2, 150, 40, 64),  # Lq > Lk: with is_causal, rows past Lk see every key
]


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize(("b", "h", "lq", "lk", "d"), SHAPES)
def test_matches_torch_float64(b, h, lq, lk, d, is_causal):
    q, k, v = _qkv(b, h, lq, lk, d, seed=lq + lk + d)
    out = flash_attention(q, k, v, is_causal=is_causal)
    _assert_attention_close(out, q, k, v, is_causal)


@pytest.mark.parametrize("d", fa.HEAD_DIMS)
def test_every_head_dimension(d):
    q, k, v = _qkv(2, 2, 45, 45, d, seed=d)
    _assert_attention_close(flash_attention(q, k, v, is_causal=True), q, k, v, True)


@pytest.mark.parametrize(
    ("block_m", "block_n"), [(16, 16), (32, 8), (32, 16), (64, 64), (128, 32), (128, 16)]
)
@pytest.mark.parametrize("is_causal", [False, True])
def test_any_blocks_give_the_same_attention(block_m, block_n, is_causal):
    # The launcher behind flash_attention, with other blocks than the interpreter's: the
    # split into unmasked and masked key blocks must be right for every ratio BLOCK_M/BLOCK_N.
    q, k, v = _qkv(1, 2, 53, 70, 16, seed=block_m + block_n)
    out = fa._launch(q, k, v, is_causal, 0.25, block_m, block_n)
    _assert_attention_close(out, q, k, v, is_causal, scale=0.25)


@settings(max_examples=25, deadline=None)
@given(
    lq=st.integers(1, 90),
    lk=st.integers(1, 90),
    bh=st.sampled_from([(1, 1), (1, 3), (2, 2)]),
    d=st.sampled_from(fa.HEAD_DIMS[:2]),
    is_causal=st.booleans(),
    blocks=st.sampled_from([(16, 16), (32, 16), (64, 32)]),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_and_blocks(lq, lk, bh, d, is_causal, blocks, seed):
    q, k, v = _qkv(*bh, lq, lk, d, seed=seed)
    out = fa._launch(q, k, v, is_causal, 1 / d**0.5, *blocks)
    _assert_attention_close(out, q, k, v, is_causal)


@pytest.mark.parametrize("scale", [0.0, -0.5, 0.01, 3.0])
def test_scale(scale):
    q, k, v = _qkv(1, 2, 40, 50, 16, seed=3)
    _assert_attention_close(flash_attention(q, k, v, scale=scale), q, k, v, scale=scale)


def test_scale_zero_is_the_mean_of_the_values():
    # c = 0: every score 0, uniform weights; causal row i averages v_0 ... v_i
    q, k, v = _qkv(1, 1, 70, 70, 32, seed=4)
    out = flash_attention(q, k, v, is_causal=True, scale=0.0)
    running_mean = v.cumsum(dim=2) / torch.arange(1, 71, device=DEVICE)[:, None]
    torch.testing.assert_close(out, running_mean, atol=ATOL, rtol=RTOL)


def test_causal_first_query_returns_the_first_value():
    q, k, v = _qkv(2, 2, 20, 90, 64, seed=5)
    out = flash_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out[:, :, 0], v[:, :, 0], atol=0, rtol=0)


def test_large_scores_do_not_overflow():
    # Scores of several thousand: exp would overflow float32 (above 88) without the running
    # maximum. The online softmax subtracts it first; the result is exact to rounding.
    q, k, v = _qkv(1, 2, 70, 90, 32, seed=6)
    q = 40 * q
    out = flash_attention(q, k, v, is_causal=True)
    assert bool(torch.isfinite(out).all())
    _assert_attention_close(out, q, k, v, True, atol=1e-4, rtol=1e-4)


def test_strided_inputs():
    # (B, L, H, d) storage seen as (B, H, L, d): the layout of a fused projection
    g = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(2, 50, 3, 32, generator=g).to(DEVICE).transpose(1, 2) for _ in "qkv")
    assert not q.is_contiguous()
    _assert_attention_close(flash_attention(q, k, v, is_causal=True), q, k, v, True)


def test_empty_queries_and_heads():
    q, k, v = _qkv(1, 2, 0, 5, 16)
    assert flash_attention(q, k, v).shape == (1, 2, 0, 16)
    q, k, v = _qkv(0, 2, 3, 5, 16)
    assert flash_attention(q, k, v).shape == (0, 2, 3, 16)


# ---------------------------------------------------------------- memory traffic


def _offsets(t, addresses):
    """The element offsets into t's storage of the addresses that fall inside t."""
    offsets = (addresses.astype(np.int64) - t.data_ptr()) // t.element_size()
    return offsets[(offsets >= 0) & (offsets < t.numel())]


@interpreter_only
@pytest.mark.parametrize("is_causal", [False, True])
def test_traced_traffic_no_scores_in_memory(is_causal):
    # Every store goes to the output, each entry once: the scores never leave the program.
    # Each program loads its queries once and each key row it visits once; with is_causal
    # the key blocks past a query block's last row are never loaded.
    (b, h, lq, lk, d), bm = (1, 2, 150, 130, 16), fa.INTERPRETER_BLOCKS[0]
    q, k, v = _qkv(b, h, lq, lk, d, seed=8)
    with trace_memory() as accesses:
        out = flash_attention(q, k, v, is_causal=is_causal)
    stores = np.concatenate([a.addresses for a in accesses if a.kind == "store"])
    assert sorted(_offsets(out, stores).tolist()) == list(range(out.numel()))
    assert _offsets(out, stores).size == stores.size  # nothing stored anywhere else

    def loads(t):
        return sum(_offsets(t, a.addresses).size for a in accesses if a.kind == "load")

    assert loads(q) == q.numel()
    keys_visited = 0  # key rows loaded per head, summed over the query blocks
    for start_m in range(0, lq, bm):
        stop = min(lk, start_m + bm) if is_causal else lk
        keys_visited += stop
    assert loads(k) == loads(v) == b * h * keys_visited * d
    _assert_attention_close(out, q, k, v, is_causal)


# ---------------------------------------------------------------- bad input


def test_bad_input_is_a_clear_error():
    q, k, v = _qkv(1, 2, 5, 6, 16)
    with pytest.raises(TypeError, match="q must be a torch.Tensor, got ndarray"):
        flash_attention(q.cpu().numpy(), k, v)
    with pytest.raises(TypeError, match="k must have dtype torch.float32, got torch.float64"):
        flash_attention(q, k.double(), v)
    with pytest.raises(ValueError, match=r"v must have 4 dimension\(s\), got shape \(2, 6, 16\)"):
        flash_attention(q, k, v[0])
    with pytest.raises(ValueError, match=r"same batch and heads \(B, H\)"):
        flash_attention(q, k[:, :1], v[:, :1])
    with pytest.raises(ValueError, match="same head dimension d"):
        flash_attention(q, k, torch.zeros(1, 2, 6, 32, device=DEVICE))
    z = torch.zeros(1, 2, 5, 48, device=DEVICE)
    with pytest.raises(ValueError, match=r"one of \(16, 32, 64, 128\), got 48"):
        flash_attention(z, z, z)
    with pytest.raises(ValueError, match="k and v must have the same number of keys Lk"):
        flash_attention(q, k, v[:, :, :5])
    with pytest.raises(ValueError, match=r"at least one key \(Lk >= 1\)"):
        flash_attention(q, k[:, :, :0], v[:, :, :0])
    big = torch.zeros(1, 1, 1, 16, device=DEVICE).expand(256, 257, 1, 16)  # no memory
    with pytest.raises(ValueError, match="B \\* H must be at most 65535"):
        flash_attention(big, big, big)
    with pytest.raises(TypeError, match="is_causal must be a bool, got int"):
        flash_attention(q, k, v, is_causal=1)
    with pytest.raises(ValueError, match="scale must be finite"):
        flash_attention(q, k, v, scale=float("nan"))


@pytest.mark.skipif(HAS_CUDA, reason="float16 runs on a GPU")
def test_float16_needs_a_gpu():
    q, k, v = _qkv(1, 1, 4, 4, 16, dtype=torch.float16)
    with pytest.raises(TypeError, match="q is float16 on cpu: float16 needs a CUDA GPU"):
        flash_attention(q, k, v)


def test_block_checks():
    with pytest.raises(ValueError, match="block_m must be a positive power of two, got 48"):
        fa._check_blocks(48, 16)
    with pytest.raises(ValueError, match="block_n must divide block_m, got 16 and 32"):
        fa._check_blocks(16, 32)


def test_autotune_configurations():
    # Powers of two (tl.arange), BLOCK_N dividing BLOCK_M (the causal split), and tl.dot's
    # minimum K (16 for float16: the head dimension and BLOCK_N are both K of a dot).
    sizes = [s for config in fa.AUTOTUNE_CONFIGS for s in config[:2]]
    sizes += list(fa.INTERPRETER_BLOCKS) + list(fa.HEAD_DIMS)
    assert all(s > 0 and s & (s - 1) == 0 for s in sizes)
    for bm, bn, *_ in (*fa.AUTOTUNE_CONFIGS, fa.INTERPRETER_BLOCKS):
        fa._check_blocks(bm, bn)
        assert bn >= 16
    assert min(fa.HEAD_DIMS) >= 16
    tuner = fa._autotuned_kernel()
    assert list(tuner.keys) == list(fa.AUTOTUNE_KEY)
    built = [
        (c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.num_warps, c.num_stages) for c in tuner.configs
    ]
    assert built == list(fa.AUTOTUNE_CONFIGS)


# ---------------------------------------------------------------- GPU only


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize(("lq", "lk", "d"), [(1000, 1000, 64), (4096, 4096, 64), (777, 1500, 128),
                                             (3000, 513, 16), (256, 256, 32)])  # fmt: skip
def test_float16_matches_torch_gpu(lq, lk, d, is_causal):
    q, k, v = _qkv(2, 4, lq, lk, d, seed=lq, dtype=torch.float16)
    out = flash_attention(q, k, v, is_causal=is_causal)
    assert out.dtype == torch.float16
    expected = _oracle(q, k, v, is_causal)
    err = (out.float() - expected).abs().max().item()
    ref_err = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal).float() - expected
    # within a small multiple of torch's own float16 error (and of float16's 2^-11)
    assert err <= max(4 * ref_err.abs().max().item(), 2e-3), err


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("is_causal", [False, True])
def test_float32_ieee_matches_torch_gpu(is_causal):
    q, k, v = _qkv(2, 3, 2049, 1999, 64, seed=1)
    _assert_attention_close(flash_attention(q, k, v, is_causal=is_causal), q, k, v, is_causal)
    q, k, v = _qkv(1, 2, 300, 300, 128, seed=2)
    _assert_attention_close(flash_attention(q, k, v, is_causal=is_causal), q, k, v, is_causal)
