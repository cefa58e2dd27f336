# mypy: disable-error-code="untyped-decorator,no-untyped-def"
# (Triton kernels take pointers and compile-time constants that have no Python types;
# mypy sees @triton.jit as untyped. The launchers are fully typed.)
r"""Matrix multiplication in Triton: one program per output, then one per tile.

We compute :math:`C = AB` for float32 :math:`A \in \mathbb{R}^{M \times K}`,
:math:`B \in \mathbb{R}^{K \times N}`, any shapes (nothing needs to be a multiple
of a block size: masks switch off the lanes outside the matrices). The product
costs :math:`2MNK` flops (one multiply and one add per term of each of the
:math:`MN` sums of length :math:`K`).

**Naive** (``method="naive"``): one program per entry :math:`C_{ij}`. It loads
row :math:`i` of :math:`A` and column :math:`j` of :math:`B`, :math:`2K` numbers,
to do :math:`2K` flops: one load per flop. Row :math:`i` is loaded again by
each of the :math:`N` programs of row :math:`i` of :math:`C`, column :math:`j`
by each of :math:`M` programs; caches catch some of the repeats, but the
kernel is limited by loads, not by arithmetic.

**Tiled** (``method="tiled"``): one program per ``BLOCK_M x BLOCK_N`` tile of
:math:`C`. It walks along :math:`K` in steps of ``BLOCK_K``, loading a
``BLOCK_M x BLOCK_K`` tile of :math:`A` and a ``BLOCK_K x BLOCK_N`` tile of
:math:`B` into registers/shared memory and multiplying them (``tl.dot``). Each
loaded number of :math:`A` is used ``BLOCK_N`` times and each of :math:`B`
``BLOCK_M`` times, so loads per flop fall from 1 to

.. math::

    \frac{B_M B_K + B_K B_N}{2 B_M B_N B_K}
    = \frac{1}{2}\Big(\frac{1}{B_N} + \frac{1}{B_M}\Big),

1/64 for 64 x 64 tiles. The tile sizes are bounded by the registers and shared
memory of one streaming multiprocessor. Triton adds two constraints: every block
size is a power of two (``tl.arange`` makes only such ranges), and ``tl.dot``
checks backend-dependent minimum shapes; in Triton 3.9's NVIDIA backend, float32
operands need ``BLOCK_K >= 8`` (16 for float16 and bfloat16) and no minimum on
``BLOCK_M`` or ``BLOCK_N``.

**Grouped ordering.** Programs that run at the same time should share tiles in
the L2 cache. Numbering tiles row by row, consecutive programs share one tile
row of :math:`A` but need a whole row of tiles of :math:`B`; numbering them in
groups of ``GROUP_M`` tile rows, column by column inside a group, makes
consecutive programs share tiles of both. :func:`grouped_tile` is the kernel's
numbering in plain Python.

**Precision.** On NVIDIA GPUs with TF32 tensor cores (Ampere, sm_80, and later),
``tl.dot`` on float32 inputs uses them unless told otherwise: without an
``input_precision`` argument, Triton 3.9 takes the environment variable
``TRITON_F32_DEFAULT`` if it is set, else ``"tf32"``. Each input then keeps a
10-bit mantissa (rounded or truncated, depending on the code path; relative
error below :math:`2^{-10}`), several times faster than float32. ``"tf32x3"``
recovers nearly float32 accuracy from three TF32 products; ``"ieee"`` computes
IEEE float32 fused multiply-adds on the CUDA cores, without tensor cores. This
module states the precision explicitly:
``input_precision="ieee"`` by default, ``"tf32"`` when ``allow_tf32=True``.
Triton's interpreter ignores ``input_precision`` and multiplies in float32.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import torch
import triton
import triton.language as tl

from derived._validate import check_int
from derived.kernels._device import check_tensor, interpreter_active

__all__ = ["MATMUL_METHODS", "grouped_tile", "matmul", "matmul_reference"]

#: The implemented methods.
MATMUL_METHODS: Final = ("naive", "tiled")

#: Tile sizes used when not autotuning (and always under the interpreter, where
#: fewer, larger programs are faster): 64 x 64 output tiles, steps of 32 along K.
TILE_M, TILE_N, TILE_K, GROUP_M = 64, 64, 32, 8

#: Elements of K summed per step by a naive program.
NAIVE_BLOCK_K = 128

#: The configurations the autotuner times on a GPU, as
#: ``(BLOCK_M, BLOCK_N, BLOCK_K, num_warps, num_stages)``, all with :data:`GROUP_M`.
AUTOTUNE_CONFIGS: Final[tuple[tuple[int, int, int, int, int], ...]] = (
    (128, 128, 32, 8, 3),
    (128, 64, 32, 4, 4),
    (64, 128, 32, 4, 4),
    (64, 64, 32, 4, 4),
    (128, 128, 16, 8, 4),
)

#: What the autotuner's choice depends on: it times every configuration once per
#: distinct value of these arguments (shape and precision) and keeps the fastest.
AUTOTUNE_KEY: Final[tuple[str, ...]] = ("M", "N", "K", "INPUT_PRECISION")


def grouped_tile(pid: int, tiles_m: int, tiles_n: int, group_m: int) -> tuple[int, int]:
    r"""Return the tile (row, column) that program ``pid`` of the tiled kernel computes.

    The same index arithmetic as the first lines of ``_matmul_tiled_kernel``, in
    plain Python. The :math:`t_m \times t_n` tiles of :math:`C` are numbered in
    groups of :math:`G` tile rows, column by column inside a group, row by row
    inside a column:

    .. math::

        g = G t_n,\quad f = G \lfloor p / g \rfloor,\quad
        r = \min(t_m - f, G),\quad
        (\text{row}, \text{col}) = \big(f + (p \bmod g) \bmod r,\;
        \lfloor (p \bmod g) / r \rfloor\big).

    The last group has only :math:`r < G` rows when :math:`G` does not divide
    :math:`t_m`. With :math:`G = 1` this is plain row-by-row numbering.

    Parameters
    ----------
    pid : int
        The program id, ``0 <= pid < tiles_m * tiles_n``.
    tiles_m, tiles_n : int
        Tile rows and tile columns of C, ``cdiv(M, BLOCK_M)`` and ``cdiv(N, BLOCK_N)``; >= 1.
    group_m : int
        Tile rows per group, ``GROUP_M``; >= 1.

    Returns
    -------
    tuple of int
        ``(pid_m, pid_n)``: the program computes rows ``pid_m * BLOCK_M`` onwards and
        columns ``pid_n * BLOCK_N`` onwards of C.

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If a count is below 1 or ``pid`` is outside the grid.

    Examples
    --------
    >>> [grouped_tile(p, 3, 2, 2) for p in range(6)]
    [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (2, 1)]
    >>> [grouped_tile(p, 2, 3, 1) for p in range(6)]  # G = 1: row by row
    [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    """
    tiles_m, tiles_n = check_int(tiles_m, "tiles_m", 1), check_int(tiles_n, "tiles_n", 1)
    group_m, pid = check_int(group_m, "group_m", 1), check_int(pid, "pid", 0)
    if pid >= tiles_m * tiles_n:
        raise ValueError(f"pid must be < tiles_m * tiles_n = {tiles_m * tiles_n}, got {pid}")
    tiles_per_group = group_m * tiles_n
    first_m = (pid // tiles_per_group) * group_m
    group_rows = min(tiles_m - first_m, group_m)  # the last group may be shorter
    return first_m + (pid % tiles_per_group) % group_rows, (pid % tiles_per_group) // group_rows


@triton.jit
def _matmul_naive_kernel(
    a_ptr,  # pointer to A[0, 0], float32, shape (M, K)
    b_ptr,  # pointer to B[0, 0], float32, shape (K, N)
    c_ptr,  # pointer to C[0, 0], float32, shape (M, N), written
    M,  # rows of A and C
    N,  # columns of B and C
    K,  # columns of A = rows of B, the length of each dot product
    stride_am,  # elements between A[i, k] and A[i + 1, k]
    stride_ak,  # elements between A[i, k] and A[i, k + 1]
    stride_bk,  # elements between B[k, j] and B[k + 1, j]
    stride_bn,  # elements between B[k, j] and B[k, j + 1]
    stride_cm,  # elements between C[i, j] and C[i + 1, j]
    stride_cn,  # elements between C[i, j] and C[i, j + 1]
    BLOCK_K: tl.constexpr,  # elements of K loaded per step, a power of two
):
    i = tl.program_id(axis=0)  # this program computes C[i, j] and nothing else
    j = tl.program_id(axis=1)
    acc = tl.zeros((BLOCK_K,), dtype=tl.float32)  # partial sums, reduced at the end
    for k0 in range(0, K, BLOCK_K):
        k = k0 + tl.arange(0, BLOCK_K)  # (BLOCK_K,)
        a = tl.load(a_ptr + i * stride_am + k * stride_ak, mask=k < K, other=0.0)  # A[i, k]
        b = tl.load(b_ptr + k * stride_bk + j * stride_bn, mask=k < K, other=0.0)  # B[k, j]
        acc += a * b  # 2 loads for 2 flops: nothing is reused
    tl.store(c_ptr + i * stride_cm + j * stride_cn, tl.sum(acc, axis=0))


@triton.jit
def _matmul_tiled_kernel(
    a_ptr,  # pointer to A[0, 0], float32, shape (M, K)
    b_ptr,  # pointer to B[0, 0], float32, shape (K, N)
    c_ptr,  # pointer to C[0, 0], float32, shape (M, N), written
    M,  # rows of A and C
    N,  # columns of B and C
    K,  # columns of A = rows of B
    stride_am,  # elements between A[i, k] and A[i + 1, k]
    stride_ak,  # elements between A[i, k] and A[i, k + 1]
    stride_bk,  # elements between B[k, j] and B[k + 1, j]
    stride_bn,  # elements between B[k, j] and B[k, j + 1]
    stride_cm,  # elements between C[i, j] and C[i + 1, j]
    stride_cn,  # elements between C[i, j] and C[i, j + 1]
    BLOCK_M: tl.constexpr,  # rows of the C tile owned by one program, a power of two
    BLOCK_N: tl.constexpr,  # columns of the C tile, a power of two
    BLOCK_K: tl.constexpr,  # step along K: A tile is BLOCK_M x BLOCK_K, B tile BLOCK_K x BLOCK_N
    GROUP_M: tl.constexpr,  # tile rows per group in the launch order (L2 reuse)
    INPUT_PRECISION: tl.constexpr,  # "ieee" (float32 fused multiply-adds) or "tf32"
):
    # Grouped ordering: program id -> (tile row, tile column), GROUP_M tile rows at a time
    # (grouped_tile is the same arithmetic in plain Python).
    pid = tl.program_id(axis=0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    tiles_per_group = GROUP_M * tiles_n
    first_m = (pid // tiles_per_group) * GROUP_M
    group_rows = tl.minimum(tiles_m - first_m, GROUP_M)  # the last group may be shorter
    pid_m = first_m + (pid % tiles_per_group) % group_rows
    pid_n = (pid % tiles_per_group) // group_rows

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # (BLOCK_M,) rows of C
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)  # (BLOCK_N,) columns of C
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)  # (BLOCK_K,)
        a_tile = tl.load(
            a_ptr + rows[:, None] * stride_am + ks[None, :] * stride_ak,  # (BLOCK_M, BLOCK_K)
            mask=(rows[:, None] < M) & (ks[None, :] < K),
            other=0.0,  # zeros outside A add nothing to the sums
        )
        b_tile = tl.load(
            b_ptr + ks[:, None] * stride_bk + cols[None, :] * stride_bn,  # (BLOCK_K, BLOCK_N)
            mask=(ks[:, None] < K) & (cols[None, :] < N),
            other=0.0,
        )
        acc = tl.dot(a_tile, b_tile, acc, input_precision=INPUT_PRECISION)  # 2 Bm Bn Bk flops
    c_ptrs = c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn  # (BLOCK_M, BLOCK_N)
    tl.store(c_ptrs, acc, mask=(rows[:, None] < M) & (cols[None, :] < N))


@functools.cache
def _autotuned_tiled_kernel() -> Any:
    """Return the tiled kernel wrapped in Triton's autotuner (GPU only, built on first use).

    Each configuration of :data:`AUTOTUNE_CONFIGS` is timed once per distinct
    (M, N, K, precision), the :data:`AUTOTUNE_KEY`, and the fastest kept: the best
    tiles may differ between shapes and between precisions. Larger tiles reuse more
    loads but need more registers; the best trade-off depends on the GPU, which is
    why it is measured rather than fixed.
    """
    configs = [
        triton.Config(
            {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": GROUP_M},
            num_warps=w,
            num_stages=s,
        )
        for bm, bn, bk, w, s in AUTOTUNE_CONFIGS
    ]
    return triton.autotune(configs=configs, key=list(AUTOTUNE_KEY))(_matmul_tiled_kernel)


def matmul(
    a: torch.Tensor, b: torch.Tensor, method: str = "tiled", allow_tf32: bool = False
) -> torch.Tensor:
    r"""Multiply float32 matrices with a Triton kernel: :math:`C_{ij} = \sum_k A_{ik} B_{kj}`.

    Parameters
    ----------
    a : torch.Tensor, shape (M, K), float32
        Left factor, on a CUDA GPU (or the CPU under Triton's interpreter). Any strides.
    b : torch.Tensor, shape (K, N), float32
        Right factor, on the same device.
    method : {"tiled", "naive"}, default "tiled"
        ``"naive"``: one program per entry of C. ``"tiled"``: one program per
        64 x 64 tile of C, in grouped order (autotuned tile sizes on a GPU).
    allow_tf32 : bool, default False
        If True, the tiled kernel's dots use TF32 tensor cores
        (``input_precision="tf32"``); by default they are float32
        (``input_precision="ieee"``). The naive kernel has no dots, so it accepts
        only ``allow_tf32=False``.

    Returns
    -------
    torch.Tensor, shape (M, N), float32
        The product, on the device of ``a``.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not a float32 tensor.
    ValueError
        If they are not matrices, their inner dimensions differ, ``method`` is
        unknown, or ``allow_tf32=True`` with ``method="naive"``.
    RuntimeError
        If they are on different devices, or on the CPU without the interpreter.

    Examples
    --------
    >>> a = torch.ones(2, 3, device=kernel_device())  # doctest: +SKIP
    >>> matmul(a, a.T).tolist()  # doctest: +SKIP
    [[3.0, 3.0], [3.0, 3.0]]
    """
    check_tensor(a, "a", ndim=2)
    check_tensor(b, "b", ndim=2)
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"inner dimensions differ: a has shape {tuple(a.shape)}, b has shape "
            f"{tuple(b.shape)}; need a.shape[1] == b.shape[0]"
        )
    if a.device != b.device:
        raise RuntimeError(f"a is on {a.device} but b is on {b.device}; put both on one device")
    if method not in MATMUL_METHODS:
        raise ValueError(f"method must be one of {MATMUL_METHODS}, got {method!r}")
    if method == "naive" and allow_tf32:
        raise ValueError("allow_tf32=True needs method='tiled' (the naive kernel has no dots)")
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), dtype=torch.float32, device=a.device)
    if M == 0 or N == 0:
        return c
    if K == 0:
        return c.zero_()  # an empty sum
    args = (a, b, c, M, N, K, *a.stride(), *b.stride(), *c.stride())
    if method == "naive":
        _matmul_naive_kernel[(M, N)](*args, BLOCK_K=NAIVE_BLOCK_K)
        return c
    precision = "tf32" if allow_tf32 else "ieee"
    if a.is_cuda and not interpreter_active():

        def grid(meta: dict[str, Any]) -> tuple[int]:
            return (triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"]),)

        _autotuned_tiled_kernel()[grid](*args, INPUT_PRECISION=precision)
    else:
        grid_size = triton.cdiv(M, TILE_M) * triton.cdiv(N, TILE_N)
        _matmul_tiled_kernel[(grid_size,)](
            *args,
            BLOCK_M=TILE_M,
            BLOCK_N=TILE_N,
            BLOCK_K=TILE_K,
            GROUP_M=GROUP_M,
            INPUT_PRECISION=precision,
        )
    return c


def matmul_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Multiply in float64 with PyTorch and round the result to float32.

    The sums are accumulated with 53-bit mantissas, so the result is the exact
    product rounded once: the oracle for both kernels.

    Parameters
    ----------
    a : torch.Tensor, shape (M, K)
        Left factor.
    b : torch.Tensor, shape (K, N)
        Right factor.

    Returns
    -------
    torch.Tensor, shape (M, N), float32
        The product.

    Examples
    --------
    >>> matmul_reference(torch.eye(2), torch.ones(2, 3)).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    return (a.double() @ b.double()).float()
