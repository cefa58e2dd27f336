# mypy: disable-error-code="untyped-decorator,no-untyped-def"
# (Triton kernels take pointers and compile-time constants that have no Python types;
# mypy sees @triton.jit as untyped. The launchers are fully typed.)
r"""The FlashAttention forward pass in Triton: attention without the :math:`L \times L` matrix.

For queries :math:`Q \in \mathbb{R}^{L_q \times d}`, keys :math:`K \in \mathbb{R}^{L_k
\times d}` and values :math:`V \in \mathbb{R}^{L_k \times d}` of one head, attention is

.. math::

    O = \operatorname{softmax}_{\text{rows}}(c\, Q K^\top)\, V,
    \qquad c = 1/\sqrt d \text{ by default.}

One program owns a block of ``BLOCK_M`` queries. It keeps, for each of its queries, a
running maximum :math:`m`, a running sum :math:`\ell` and an unnormalised output
:math:`\tilde O` (a row of :math:`d` numbers), and walks over the keys ``BLOCK_N`` at a
time. For a block of scores :math:`S = c\, Q_{\text{blk}} K_{\text{blk}}^\top` it updates

.. math::

    m' = \max(m, \operatorname{rowmax} S), \quad
    \alpha = e^{m - m'}, \quad
    P = e^{S - m'}, \quad
    \ell' = \alpha \ell + \operatorname{rowsum} P, \quad
    \tilde O' = \alpha \tilde O + P V_{\text{blk}},

and at the end writes :math:`O = \tilde O / \ell`. This is the online softmax
(:func:`derived.online_softmax.flash_attention_reference` is the same algorithm in
NumPy). Only one ``BLOCK_M x BLOCK_N`` tile of scores exists at a time, in registers:
the scores never reach the GPU's main memory, which is the point of the kernel. The
kernel computes in base 2 (``exp2``, the GPU's native exponential): with
:math:`s = c \log_2(e)\, q \cdot k`, :math:`2^{s - m} = e^{c\, q \cdot k - m \ln 2}`, the
same weights.

**Causal attention** masks key :math:`j > i` for query :math:`i`, with the mask aligned
at the top left of the :math:`L_q \times L_k` matrix, as
``torch.nn.functional.scaled_dot_product_attention`` does (also when
:math:`L_q \ne L_k`). Every query keeps key 0, so no row is empty.

**Two kinds of key blocks.** A key block lies entirely inside the keys every query of the
program may see (below the diagonal, and before :math:`L_k`), or it does not. The first
kind needs no mask; the program visits those blocks first, in a loop without masks, then
the few remaining blocks (the diagonal blocks of causal attention and the ragged last
block) with masked loads and scores set to :math:`-\infty`. For causal attention, blocks
entirely above the diagonal are never visited: they would add nothing, and skipping them
halves the work.

**Precision.** Products and running state are float32. For float32 inputs the dots use
``input_precision="ieee"`` (float32 fused multiply-adds, no TF32 rounding), so that the
kernel agrees with float32 attention to rounding; without it ``tl.dot`` would use TF32
wherever the GPU supports it (or what ``TRITON_F32_DEFAULT`` names). Triton's interpreter
ignores the option and multiplies in float32 with NumPy. For float16 inputs (GPU only)
the dots run on tensor cores, where products of float16 numbers are exact in the float32
accumulator; the weights :math:`P` are rounded to float16 before :math:`P V`, as Triton's
fused-attention tutorial does. The output is returned in the inputs' dtype.

**Block sizes.** On a GPU, Triton's autotuner picks ``BLOCK_M``, ``BLOCK_N``, the warps
and the pipeline stages from :data:`AUTOTUNE_CONFIGS`, once per shape, causality and
dtype. Under the interpreter, a fixed :data:`INTERPRETER_BLOCKS` (fewer, larger programs
run faster there).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Final

import torch
import triton
import triton.language as tl

from derived._validate import check_finite
from derived.kernels._device import check_tensor, interpreter_active

__all__ = ["AUTOTUNE_CONFIGS", "HEAD_DIMS", "INTERPRETER_BLOCKS", "MAX_HEADS", "flash_attention"]

#: The head dimensions the kernel is compiled for (``tl.arange`` needs powers of two).
HEAD_DIMS: Final = (16, 32, 64, 128)

#: ``(BLOCK_M, BLOCK_N)`` under the interpreter. ``BLOCK_M`` is a multiple of
#: ``BLOCK_N`` here and in every GPU configuration (see :func:`_check_blocks`).
INTERPRETER_BLOCKS: Final = (64, 32)

#: GPU configurations the autotuner times, as ``(BLOCK_M, BLOCK_N, num_warps, num_stages)``.
AUTOTUNE_CONFIGS: Final[tuple[tuple[int, int, int, int], ...]] = (
    (128, 64, 4, 3),
    (128, 64, 8, 3),
    (128, 128, 8, 3),
    (128, 32, 4, 4),
    (64, 64, 4, 3),
    (64, 32, 4, 2),
)

#: The most heads ``B * H`` in one call: they are the launch grid's second axis, which
#: CUDA limits to 65535.
MAX_HEADS: Final = 65535

#: What the autotuner's choice depends on (Triton adds the tensors' dtypes).
AUTOTUNE_KEY: Final = ("Lq", "Lk", "HEAD_DIM", "IS_CAUSAL")

#: :math:`\log_2 e`: :math:`e^x = 2^{x \log_2 e}`.
LOG2_E: Final = 1.4426950408889634


@triton.jit
def _attend_to_key_blocks(
    acc,  # (BLOCK_M, HEAD_DIM) float32: the unnormalised output O~ of each query so far
    l_i,  # (BLOCK_M,) float32: the running sum l of each query
    m_i,  # (BLOCK_M,) float32: the running maximum m of each query's scores (base-2 units)
    q,  # (BLOCK_M, HEAD_DIM): this program's queries
    k_base,  # pointer to K[b, h, 0, 0]
    v_base,  # pointer to V[b, h, 0, 0]
    stride_kl,  # elements between K[b, h, j, :] and K[b, h, j + 1, :]
    stride_kd,  # elements between K[b, h, j, e] and K[b, h, j, e + 1]
    stride_vl,  # elements between V[b, h, j, :] and V[b, h, j + 1, :]
    stride_vd,  # elements between V[b, h, j, e] and V[b, h, j, e + 1]
    offs_m,  # (BLOCK_M,) the query positions i of this program
    qk_scale,  # c * log2(e): scores in base-2 units
    Lk,  # number of keys
    start,  # first key of the first block to visit (a multiple of BLOCK_N)
    stop,  # visit key blocks that start before this
    BLOCK_N: tl.constexpr,  # keys per block
    HEAD_DIM: tl.constexpr,  # d
    MASKED: tl.constexpr,  # True: mask keys j >= Lk and, if IS_CAUSAL, keys j > i
    IS_CAUSAL: tl.constexpr,
    INPUT_PRECISION: tl.constexpr,  # "ieee" for float32 inputs, None (the default) for float16
):
    offs_d = tl.arange(0, HEAD_DIM)  # (HEAD_DIM,)
    for start_n in range(start, stop, BLOCK_N):
        start_n = tl.multiple_of(start_n, BLOCK_N)  # a hint for the compiler's vector loads
        offs_n = start_n + tl.arange(0, BLOCK_N)  # (BLOCK_N,) the key positions j of this block
        # K^T tile (HEAD_DIM, BLOCK_N) and V tile (BLOCK_N, HEAD_DIM); zeros past the last key
        kt_ptrs = k_base + offs_n[None, :] * stride_kl + offs_d[:, None] * stride_kd
        v_ptrs = v_base + offs_n[:, None] * stride_vl + offs_d[None, :] * stride_vd
        if MASKED:
            kt = tl.load(kt_ptrs, mask=offs_n[None, :] < Lk, other=0.0)
            v = tl.load(v_ptrs, mask=offs_n[:, None] < Lk, other=0.0)
        else:
            kt = tl.load(kt_ptrs)
            v = tl.load(v_ptrs)

        # S = c Q K^T in base-2 units: s_ij = c log2(e) q_i . k_j        (BLOCK_M, BLOCK_N)
        s = tl.dot(q, kt, input_precision=INPUT_PRECISION) * qk_scale
        if MASKED:
            keep = offs_n[None, :] < Lk  # keys past the end take no part
            if IS_CAUSAL:
                keep = keep & (offs_n[None, :] <= offs_m[:, None])  # query i sees keys j <= i
            s = tl.where(keep, s, float("-inf"))  # 2^-inf = 0: masked keys get weight 0

        # The online-softmax update, one query per row:
        m_new = tl.maximum(m_i, tl.max(s, axis=1))  # m' = max(m, rowmax S); finite from key 0 on
        alpha = tl.math.exp2(m_i - m_new)  # alpha = 2^(m - m') <= 1 (0 on the first block)
        p = tl.math.exp2(s - m_new[:, None])  # P = 2^(S - m'), every entry in [0, 1]
        l_i = l_i * alpha + tl.sum(p, axis=1)  # l' = alpha l + rowsum P
        acc = acc * alpha[:, None]  # O~ <- alpha O~ : the old terms, re-referred to m'
        acc = tl.dot(p.to(v.dtype), v, acc, input_precision=INPUT_PRECISION)  # O~' += P V
        m_i = m_new  # m <- m'
    return acc, l_i, m_i


# fmt: off
# (The argument lists below are grouped by hand, one tensor's strides or one role per line;
# the formatter would put every argument on a line of its own.)
@triton.jit
def _flash_attention_kernel(
    q_ptr,  # pointer to Q[0, 0, 0, 0], shape (B, H, Lq, d)
    k_ptr,  # pointer to K[0, 0, 0, 0], shape (B, H, Lk, d)
    v_ptr,  # pointer to V[0, 0, 0, 0], shape (B, H, Lk, d)
    o_ptr,  # pointer to O[0, 0, 0, 0], shape (B, H, Lq, d), written
    stride_qb, stride_qh, stride_ql, stride_qd,  # elements between neighbours along each axis
    stride_kb, stride_kh, stride_kl, stride_kd,
    stride_vb, stride_vh, stride_vl, stride_vd,
    stride_ob, stride_oh, stride_ol, stride_od,
    H,  # heads
    Lq,  # queries
    Lk,  # keys
    qk_scale,  # c * log2(e)
    HEAD_DIM: tl.constexpr,  # d, a power of two
    IS_CAUSAL: tl.constexpr,  # mask keys j > i, top-left aligned
    INPUT_PRECISION: tl.constexpr,  # "ieee" for float32 inputs, None for float16
    BLOCK_M: tl.constexpr,  # queries per program
    BLOCK_N: tl.constexpr,  # keys per step, divides BLOCK_M
):
    # Which queries: program (pid_m, pid_bh) owns queries pid_m*BLOCK_M ... of one head; the
    # second axis runs over the B*H heads of the batch, flattened: pid_bh = b*H + h.
    pid_m = tl.program_id(axis=0)
    pid_bh = tl.program_id(axis=1)
    b = (pid_bh // H).to(tl.int64)  # int64: offsets of large tensors overflow int32
    h = (pid_bh % H).to(tl.int64)
    q_base = q_ptr + b * stride_qb + h * stride_qh
    k_base = k_ptr + b * stride_kb + h * stride_kh
    v_base = v_ptr + b * stride_vb + h * stride_vh
    o_base = o_ptr + b * stride_ob + h * stride_oh

    start_m = pid_m * BLOCK_M
    offs_m = start_m + tl.arange(0, BLOCK_M)  # (BLOCK_M,) query positions i
    offs_d = tl.arange(0, HEAD_DIM)  # (HEAD_DIM,)
    q_ptrs = q_base + offs_m[:, None] * stride_ql + offs_d[None, :] * stride_qd
    q = tl.load(q_ptrs, mask=offs_m[:, None] < Lq, other=0.0)  # rows past Lq: zeros, never stored

    # The state before any key: m = -inf, l = 0, O~ = 0 (the merge identity).
    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)

    # Keys every query of this block sees: j < Lk and, if causal, j <= start_m (the first query).
    if IS_CAUSAL:
        visible = tl.minimum(Lk, start_m + 1)
        stop = tl.minimum(Lk, start_m + BLOCK_M)  # keys past the last query: never visited
    else:
        visible = Lk
        stop = Lk
    unmasked_stop = (visible // BLOCK_N) * BLOCK_N  # whole blocks of visible keys
    # 1. Whole blocks that every query sees: no masks.
    acc, l_i, m_i = _attend_to_key_blocks(
        acc, l_i, m_i, q, k_base, v_base, stride_kl, stride_kd, stride_vl, stride_vd,
        offs_m, qk_scale, Lk, 0, unmasked_stop,
        BLOCK_N, HEAD_DIM, False, IS_CAUSAL, INPUT_PRECISION,
    )
    # 2. The rest: the diagonal blocks (causal) and the ragged last block, masked.
    acc, l_i, m_i = _attend_to_key_blocks(
        acc, l_i, m_i, q, k_base, v_base, stride_kl, stride_kd, stride_vl, stride_vd,
        offs_m, qk_scale, Lk, unmasked_stop, stop,
        BLOCK_N, HEAD_DIM, True, IS_CAUSAL, INPUT_PRECISION,
    )

    # O = O~ / l, in the output's dtype; rows past Lq are not written.
    out = acc / l_i[:, None]
    o_ptrs = o_base + offs_m[:, None] * stride_ol + offs_d[None, :] * stride_od
    tl.store(o_ptrs, out.to(o_ptr.dtype.element_ty), mask=offs_m[:, None] < Lq)
# fmt: on


@functools.cache
def _autotuned_kernel() -> Any:
    """Return the kernel wrapped in Triton's autotuner (GPU only, built on first use).

    Each configuration of :data:`AUTOTUNE_CONFIGS` is timed once per distinct
    :data:`AUTOTUNE_KEY` and dtype, and the fastest kept. A configuration that does not
    fit in one streaming multiprocessor's registers and shared memory (large float32
    tiles) fails to compile, and the autotuner skips it.
    """
    configs = [
        triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=w, num_stages=s)
        for bm, bn, w, s in AUTOTUNE_CONFIGS
    ]
    return triton.autotune(configs=configs, key=list(AUTOTUNE_KEY))(_flash_attention_kernel)


def _check_blocks(block_m: int, block_n: int) -> None:
    """Blocks must be powers of two with ``BLOCK_N`` dividing ``BLOCK_M``.

    The second condition makes ``start_m`` a multiple of ``BLOCK_N``, so that the causal
    diagonal starts on a block boundary and the unmasked loop ends exactly there.
    """
    for name, size in (("block_m", block_m), ("block_n", block_n)):
        if size < 1 or size & (size - 1):
            raise ValueError(f"{name} must be a positive power of two, got {size}")
    if block_m % block_n:
        raise ValueError(f"block_n must divide block_m, got {block_m} and {block_n}")


def _check_inputs(q: object, k: object, v: object) -> tuple[torch.Tensor, ...]:
    """Validate q, k, v: 4-d tensors of one dtype on one device, with matching shapes."""
    tensors = []
    for name, x in (("q", q), ("k", k), ("v", v)):
        if isinstance(x, torch.Tensor) and x.dtype == torch.float16:
            if x.device.type != "cuda":
                raise TypeError(
                    f"{name} is float16 on {x.device}: float16 needs a CUDA GPU "
                    "(under the interpreter use float32)"
                )
            if x.ndim != 4:
                raise ValueError(f"{name} must have 4 dimension(s), got shape {tuple(x.shape)}")
        else:
            check_tensor(x, name, ndim=4)
        assert isinstance(x, torch.Tensor)
        tensors.append(x)
    qt, kt, vt = tensors
    if not qt.dtype == kt.dtype == vt.dtype:
        raise TypeError(f"q, k and v must have one dtype, got {qt.dtype}, {kt.dtype}, {vt.dtype}")
    if not qt.device == kt.device == vt.device:
        raise RuntimeError(
            f"q, k and v must be on one device, got {qt.device}, {kt.device}, {vt.device}"
        )
    shapes = f"q {tuple(qt.shape)}, k {tuple(kt.shape)}, v {tuple(vt.shape)}"
    if not qt.shape[:2] == kt.shape[:2] == vt.shape[:2]:
        raise ValueError(f"q, k and v must have the same batch and heads (B, H), got {shapes}")
    if not qt.shape[3] == kt.shape[3] == vt.shape[3]:
        raise ValueError(f"q, k and v must have the same head dimension d, got {shapes}")
    if qt.shape[3] not in HEAD_DIMS:
        raise ValueError(f"the head dimension d must be one of {HEAD_DIMS}, got {qt.shape[3]}")
    if kt.shape[2] != vt.shape[2]:
        raise ValueError(f"k and v must have the same number of keys Lk, got {shapes}")
    if kt.shape[2] == 0:
        raise ValueError(f"k and v must have at least one key (Lk >= 1), got {shapes}")
    if qt.shape[0] * qt.shape[1] > MAX_HEADS:
        raise ValueError(
            f"B * H must be at most {MAX_HEADS} (one program column per head), got {shapes}"
        )
    return qt, kt, vt


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    is_causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    r"""Attention :math:`\operatorname{softmax}(c\, QK^\top)V` for every head, with a Triton kernel.

    The FlashAttention forward pass: one program per block of queries of one head, the
    keys visited a block at a time with the online softmax, and no :math:`L_q \times L_k`
    matrix anywhere in memory. The same result as
    ``torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=is_causal,
    scale=scale)``, up to rounding.

    Parameters
    ----------
    q : torch.Tensor, shape (B, H, Lq, d)
        Queries: float32 on a CUDA GPU or on the CPU under Triton's interpreter, or
        float16 on a CUDA GPU. Any strides. ``d`` is 16, 32, 64 or 128.
    k : torch.Tensor, shape (B, H, Lk, d)
        Keys, ``Lk >= 1``; the same dtype and device. ``Lk`` may differ from ``Lq``.
    v : torch.Tensor, shape (B, H, Lk, d)
        Values.
    is_causal : bool, default False
        Query :math:`i` attends to keys :math:`j \le i` only (the mask aligned at the top
        left, as torch's, also when ``Lq != Lk``).
    scale : float, optional
        The factor :math:`c` of the scores; :math:`1/\sqrt d` by default.

    Returns
    -------
    torch.Tensor, shape (B, H, Lq, d)
        The attention outputs, contiguous, in the inputs' dtype and on their device.

    Raises
    ------
    TypeError
        If an input is not a tensor, not float32 (or float16 on a GPU), or the dtypes
        differ; if ``is_causal`` is not a bool.
    ValueError
        If an input is not 4-dimensional, the shapes disagree (B, H, d, or Lk of k and
        v), ``d`` is not one of ``HEAD_DIMS`` (16, 32, 64, 128), ``Lk = 0``,
        ``B * H > 65535``, or ``scale`` is not finite.
    RuntimeError
        If the inputs are on different devices, or on the CPU without the interpreter.

    Notes
    -----
    Like torch's, the kernel does not scan its inputs for NaN or infinity (that would
    cost a pass over them); a non-finite input gives non-finite outputs.

    Examples
    --------
    >>> q = torch.randn(1, 2, 5, 16, device=kernel_device())  # doctest: +SKIP
    >>> flash_attention(q, q, q, is_causal=True).shape  # doctest: +SKIP
    torch.Size([1, 2, 5, 16])
    """
    q, k, v = _check_inputs(q, k, v)
    if not isinstance(is_causal, bool):
        raise TypeError(f"is_causal must be a bool, got {type(is_causal).__name__}")
    d = q.shape[3]
    c = 1.0 / math.sqrt(d) if scale is None else check_finite(scale, "scale")
    block_m, block_n = INTERPRETER_BLOCKS if not q.is_cuda or interpreter_active() else (0, 0)
    return _launch(q, k, v, is_causal, c, block_m, block_n)


def _launch(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    is_causal: bool,
    scale: float,
    block_m: int,
    block_n: int,
) -> torch.Tensor:
    """Launch the kernel on validated inputs; ``block_m = block_n = 0`` means autotune."""
    B, H, Lq, d = q.shape
    Lk = k.shape[2]
    out = torch.empty((B, H, Lq, d), dtype=q.dtype, device=q.device)
    if out.numel() == 0:
        return out
    args = (
        q, k, v, out, *q.stride(), *k.stride(), *v.stride(), *out.stride(),
        H, Lq, Lk, scale * LOG2_E,
    )  # fmt: skip
    constants: dict[str, Any] = {
        "HEAD_DIM": d,
        "IS_CAUSAL": is_causal,
        "INPUT_PRECISION": "ieee" if q.dtype == torch.float32 else None,
    }
    if block_m == 0:

        def grid(meta: dict[str, Any]) -> tuple[int, int]:
            return (triton.cdiv(Lq, meta["BLOCK_M"]), B * H)

        _autotuned_kernel()[grid](*args, **constants)
    else:
        _check_blocks(block_m, block_n)
        grid_size = (triton.cdiv(Lq, block_m), B * H)
        _flash_attention_kernel[grid_size](*args, **constants, BLOCK_M=block_m, BLOCK_N=block_n)
    return out
