"""The checks of Part V pass the package's functions and catch planted errors."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
import triton
import triton.language as tl

from derived.check import CheckFailure
from derived.check._part5 import (
    check_doublify,
    check_grouped_tile,
    check_matmul_kernel,
    check_matmul_loads,
    check_tiled_matmul,
)
from derived.kernels import doublify, grouped_tile
from derived.roofline import matmul_loads
from kernel_env import torch  # torch, and Triton's interpreter where there is no GPU

ON_GPU = torch.cuda.is_available()


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


def _blocked(a, b, bm, bn, bk, group_m=2, swap=False, tiles=math.ceil, steps=math.ceil,
             accumulate=True, order=None, whole_k=False, twice=False, product=None):  # fmt: skip
    """The tiled product, program by program in grouped order; the keywords plant errors."""
    (m, k), n = a.shape, b.shape[1]
    tiles_m, tiles_n = tiles(m / bm), tiles(n / bn)
    c = np.zeros((m, n))
    for pid in order(tiles_m * tiles_n) if order else range(tiles_m * tiles_n):
        row, col = grouped_tile(pid, tiles_m, tiles_n, group_m)
        if swap:
            row, col = col, row
        rows, cols = slice(row * bm, (row + 1) * bm), slice(col * bn, (col + 1) * bn)
        acc = np.zeros_like(c[rows, cols])
        for step in range(steps(k / bk)):
            ks = slice(step * bk, (step + 1) * bk)
            if whole_k:  # all of K at once, as many times as there are steps
                ks = slice(0, k) if step == 0 else slice(0, 0)
            if product == "method":
                tile = a[rows, ks].dot(b[ks, cols])
            else:
                tile = (product or np.matmul)(a[rows, ks], b[ks, cols])
            if twice:  # one product too many per step
                tile = (a[rows, ks] @ b[ks, cols] + tile) / 2
            acc = acc + tile if accumulate else tile
        c[rows, cols] = acc
    return c


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_doublify(doublify).cases) == 8
    assert len(check_grouped_tile(grouped_tile).cases) == 8
    assert len(check_matmul_loads(matmul_loads).cases) == 8
    assert len(check_tiled_matmul(_blocked).cases) == 8


@pytest.mark.parametrize(
    "check",
    [check_doublify, check_grouped_tile, check_matmul_loads, check_tiled_matmul,
     check_matmul_kernel],
)  # fmt: skip
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- doublify


@triton.jit
def _no_mask(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    tl.store(x_ptr + offsets, 2.0 * tl.load(x_ptr + offsets))


@triton.jit
def _store_mask_only(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    tl.store(x_ptr + offsets, 2.0 * tl.load(x_ptr + offsets), mask=offsets < n_elements)


@triton.jit
def _mask_one_too_far(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets <= n_elements
    tl.store(x_ptr + offsets, 2.0 * tl.load(x_ptr + offsets, mask=mask), mask=mask)


@triton.jit
def _masked(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    tl.store(x_ptr + offsets, 2.0 * tl.load(x_ptr + offsets, mask=mask), mask=mask)


@triton.jit
def _no_program_id(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.arange(0, BLOCK_SIZE)  # every program doubles the first block
    mask = offsets < n_elements
    tl.store(x_ptr + offsets, 2.0 * tl.load(x_ptr + offsets, mask=mask), mask=mask)


@triton.jit
def _signed_zero_lost(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    tl.store(x_ptr + offsets, tl.where(x == 0.0, 0.0, 2.0 * x), mask=mask)


@triton.jit
def _shifted(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    tl.store(x_ptr + offsets - 1, 2.0 * x, mask=mask)  # one place to the left


@triton.jit
def _previous_block(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = (tl.program_id(axis=0) - 1) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements - BLOCK_SIZE
    x = tl.load(x_ptr + offsets + BLOCK_SIZE, mask=mask)
    tl.store(x_ptr + offsets, 2.0 * x, mask=mask)  # program p writes block p - 1


@triton.jit
def _store_twice(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    tl.store(x_ptr + offsets, x, mask=mask)
    tl.store(x_ptr + offsets, 2.0 * x, mask=mask)


@triton.jit
def _mask_one_short(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements - 1
    tl.store(x_ptr + offsets, 2.0 * tl.load(x_ptr + offsets, mask=mask), mask=mask)


@triton.jit
def _via_float16(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask).to(tl.float16)
    tl.store(x_ptr + offsets, (2.0 * x).to(tl.float32), mask=mask)


def _launch(kernel, programs=triton.cdiv, block=1024, result=True):
    def launcher(x):
        n = x.numel()
        if programs(n, block):
            kernel[(programs(n, block),)](x, n, BLOCK_SIZE=block)
        return x if result else None

    return launcher


@triton.jit
def _also_stores_elsewhere(x_ptr, y_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    tl.store(x_ptr + offsets, 2.0 * x, mask=mask)
    tl.store(y_ptr + offsets, x, mask=mask)  # a copy into a buffer that is not x


def _with_scratch(x):
    n = x.numel()
    if n:
        scratch = torch.empty_like(x)
        _also_stores_elsewhere[(triton.cdiv(n, 1024),)](x, scratch, n, BLOCK_SIZE=1024)
    return x


def _through_numpy(x):
    x.numpy()[:] *= 2  # the host writes, no kernel
    return x


INTERPRETER_ONLY = pytest.mark.skipif(ON_GPU, reason="the interpreter traces loads and stores")


@pytest.mark.parametrize(
    ("wrong", "case", "message"),
    [
        (_launch(_no_mask), "case 1, 'random", "wrote past the end of x"),
        pytest.param(_launch(_store_mask_only), "case 1, 'random", "loaded 120 numbers from",
                     marks=INTERPRETER_ONLY),
        (_launch(_mask_one_too_far), "case 1, 'random", "wrote past the end of x"),
        (_launch(_masked, programs=lambda n, b: n // b), "case 1, 'random",
         "x.4096:5000. was not doubled|stored 4096 of the 5000 elements"),
        (_launch(_no_program_id), "case 1, 'random",
         "x.1024:2048. was not doubled|stored more than once"),
        (lambda x: 2 * x, "case 1, 'random", "x is unchanged|no Triton store"),  # not in place
        pytest.param(lambda x: x.mul_(2), "case 1, 'random", "no Triton store",
                     marks=INTERPRETER_ONLY),  # torch doubles, no kernel
        pytest.param(_through_numpy, "case 1, 'random", "no Triton store", marks=INTERPRETER_ONLY),
        (_launch(_shifted), "case 1, 'random", "wrote before the start of x: the element 1 "),
        (_launch(_previous_block), "case 1, 'random", "wrote before the start of x"),
        pytest.param(_launch(_store_twice), "case 1, 'random", "5000 elements of x were stored "
                     "more than once", marks=INTERPRETER_ONLY),
        (_launch(_mask_one_short), "case 1, 'random",
         "x.4999:5000. was not doubled|stored 4999 of the 5000 elements"),
        (_launch(_signed_zero_lost), "case 7, 'special", r"wrong at x\[1\].*bit for bit"),
        (_launch(_via_float16), "case 1, 'random", r"wrong at x\[0\].*bit for bit"),
        (_launch(_masked, result=False), "case 1, 'random", "should return x itself"),
        (lambda x: _launch(_masked)(x).clone(), "case 1, 'random", "should return x itself"),
        pytest.param(_with_scratch, "case 1, 'random", "stored 5000 numbers outside x",
                     marks=INTERPRETER_ONLY),
        (_launch(_masked, block=32), "case 1, 'random", None),  # passes: see below
    ],
    ids=["no-mask", "load-without-mask", "mask-one-too-far", "grid-floor", "no-program-id",
         "not-in-place", "torch-not-triton", "host-writes", "store-shifted", "previous-block",
         "store-twice", "mask-one-short", "signed-zero-lost", "via-float16", "returns-none",
         "returns-a-copy", "stores-elsewhere", "small-block"],
)  # fmt: skip
def test_doublify_catches(wrong, case, message):
    if message is None:  # any block size is fine: the base of the planted errors passes
        check_doublify(wrong)
        return
    with pytest.raises(CheckFailure, match=case) as info:
        check_doublify(wrong)
    assert re.search(message, str(info.value)), str(info.value)


@triton.jit
def _stub_kernel(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    raise NotImplementedError()


@triton.jit
def _typo_kernel(x_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    tl.store(x_ptr + offsets, 2.0 * tl.load(x_ptr + offsets, mask=offsets < n_element))  # noqa: F821


@INTERPRETER_ONLY
def test_a_kernel_stub_is_not_written_yet():
    """The interpreter wraps the kernel's NotImplementedError; the check unwraps it."""
    with pytest.raises(CheckFailure, match="is not written yet"):
        check_doublify(_launch(_stub_kernel))


@INTERPRETER_ONLY
def test_a_kernel_error_names_the_students_line():
    with pytest.raises(CheckFailure, match="NameError.*line \\d+: tl.store") as info:
        check_doublify(_launch(_typo_kernel))
    assert "InterpreterError" not in str(info.value)


# --------------------------------------------------------------------------- grouped order


def _row_by_row(pid, tiles_m, tiles_n, group_m):
    return divmod(pid, tiles_n)


def _column_by_column(pid, tiles_m, tiles_n, group_m):
    return tuple(reversed(divmod(pid, tiles_m)))


def _grouped(pid, tiles_m, tiles_n, group_m, ragged=True, remainder=False):
    """The grouped order by its formula; the keywords plant errors in the last group."""
    per_group = group_m * tiles_n
    first = pid // per_group * group_m
    rows = min(tiles_m - first, group_m) if ragged else group_m
    if remainder:  # the last group's height used for every group
        rows = tiles_m % group_m or group_m
    return first + pid % per_group % rows, pid % per_group // rows


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda p, m, n, g: grouped_tile(p, m, n, g)[::-1], "case 1, 'random"),
        (_row_by_row, "case 1, 'random"),
        (_column_by_column, "case 1, 'random"),
        (lambda p, m, n, g: _grouped(p, m, n, g, ragged=False), "case 2, '7 x 7 tiles"),
        (lambda p, m, n, g: _grouped(p, m, n, g, remainder=True), "case 2, '7 x 7 tiles"),
    ],
    ids=["row-and-column-swapped", "row-by-row", "column-by-column", "last-group-full-height",
         "every-group-the-last-one's-height"],
)  # fmt: skip
def test_grouped_tile_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_grouped_tile(wrong)


def test_grouped_tile_formula_passes():
    check_grouped_tile(_grouped)


def test_grouped_tile_accepts_an_array_pair():
    check_grouped_tile(lambda p, m, n, g: np.array(grouped_tile(p, m, n, g)))


def test_grouped_tile_wants_a_pair():
    with pytest.raises(CheckFailure, match="two indices"):
        check_grouped_tile(lambda p, m, n, g: grouped_tile(p, m, n, g)[0])


# --------------------------------------------------------------------------- loads


def _loads(m, k, n, bm, bn, tiles=math.ceil, swap=False, full_tiles=False):
    if swap:
        bm, bn = bn, bm
    if full_tiles:  # the masked lanes counted as loads
        return k * tiles(m / bm) * tiles(n / bn) * (bm + bn)
    return k * (m * tiles(n / bn) + n * tiles(m / bm))


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda m, k, n, bm, bn: _loads(m, k, n, bm, bn, tiles=math.floor), "case 2, 'random"),
        (lambda m, k, n, bm, bn: _loads(m, k, n, bm, bn, full_tiles=True), "case 2, 'random"),
        (lambda m, k, n, bm, bn: _loads(m, k, n, bm, bn, swap=True), "case 1, 'random"),
        (lambda m, k, n, bm, bn: m * n * k * (1 / bm + 1 / bn), "case 2, 'random"),
        (lambda m, k, n, bm, bn: k * (m + n), "case 1, 'random"),  # each number loaded once
        (lambda m, k, n, bm, bn: 2 * m * n * k, "case 1, 'random"),  # the flops
    ],
    ids=["floor-not-ceil", "masked-lanes-counted", "tile-sides-swapped", "no-edge-tiles",
         "each-number-once", "flops"],
)  # fmt: skip
def test_matmul_loads_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_matmul_loads(wrong)


def test_matmul_loads_formula_passes():
    check_matmul_loads(_loads)


# --------------------------------------------------------------------------- tiled product


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"tiles": math.floor}, "case 2, 'random, 13 x 12"),  # the edge tiles forgotten
        ({"steps": math.floor}, "case 3, 'K = 7"),  # the last, partial step along K forgotten
        ({"accumulate": False}, "case 1, 'random"),  # each step overwrites the last
        ({"swap": True}, "case 1, 'random"),  # tile row and column exchanged
    ],
    ids=["edge-tiles-forgotten", "partial-step-forgotten", "no-accumulation",
         "row-and-column-swapped"],
)  # fmt: skip
def test_tiled_matmul_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_tiled_matmul(lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, **kwargs))


def _einsum(a, b, bm, bn, bk):
    return np.einsum("ik,kj->ij", a, b)


def _scalar_loops(a, b, bm, bn, bk):
    c = np.zeros((a.shape[0], b.shape[1]))
    for i, j, k in np.ndindex(a.shape[0], b.shape[1], a.shape[1]):
        c[i, j] += a[i, k] * b[k, j]
    return c


def _swapped_tiles(a, b, bm, bn, bk):
    return _blocked(a, b, bn, bm, bk)  # b_M and b_N exchanged


@pytest.mark.parametrize(
    ("wrong", "case", "message"),
    [
        (lambda a, b, bm, bn, bk: a @ b, "case 1, 'random", r"\(8, 12\) array by a \(12, 24\)"),
        (_swapped_tiles, "case 1, 'random", r"a \(8, 4\) array .*not a tile of A"),
        (lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, whole_k=True), "case 1, 'random",
         r"a \(4, 12\) array .*not a tile of A"),
        (_einsum, "case 1, 'random", "no product with @"),
        (_scalar_loops, "case 1, 'random", "no product with @"),
        (lambda a, b, bm, bn, bk: _blocked(np.asarray(a), np.asarray(b), bm, bn, bk),
         "case 1, 'random", r"no product with @ .*np.asarray returns"),
        (lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk).astype(np.float32),
         "case 1, 'random", "float64 array .* got dtype float32"),
        (lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, twice=True), "case 1, 'random",
         "multiplied 36 pairs of tiles with @; the tiled kernel multiplies 18"),
        (lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, group_m=1), "case 1, 'random",
         r"order \(0, 0\), \(0, 1\), \(0, 2\), \(1, 0\).*not the grouped order"),
        (lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, order=lambda p: range(p)[::-1]),
         "case 1, 'random", r"order \(1, 2\), .*not the grouped order"),
    ],
    ids=["whole-product", "tile-sides-swapped", "whole-k-at-once", "einsum", "scalar-loops",
         "asarray-copies", "float32-result",
         "two-products-per-step", "row-by-row", "programs-backwards"],
)  # fmt: skip
def test_tiled_matmul_checks_the_tiles(wrong, case, message):
    with pytest.raises(CheckFailure, match=case) as info:
        check_tiled_matmul(wrong)
    assert re.search(message, str(info.value)), str(info.value)


def test_tiled_matmul_accepts_any_group_and_copied_tiles():
    check_tiled_matmul(lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, group_m=3))
    check_tiled_matmul(lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, product=np.dot))
    check_tiled_matmul(lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk, product="method"))
    check_tiled_matmul(lambda a, b, bm, bn, bk: _blocked(a.copy(order="F"), b, bm, bn, bk))


def _masked_indices(a, b, bm, bn, bk, *, ix=False):
    """Tiles taken with index arrays, as the kernel's arange and mask do (copies, not views)."""
    (m, k), n = a.shape, b.shape[1]
    tiles_m, tiles_n = -(-m // bm), -(-n // bn)
    c = np.zeros((m, n))
    for pid in range(tiles_m * tiles_n):
        row, col = grouped_tile(pid, tiles_m, tiles_n, 2)
        rows, cols = row * bm + np.arange(bm), col * bn + np.arange(bn)
        rows, cols = rows[rows < m], cols[cols < n]
        acc = np.zeros((rows.size, cols.size))
        for k0 in range(0, k, bk):
            ks = k0 + np.arange(bk)
            ks = ks[ks < k]
            if ix:
                acc += a[np.ix_(rows, ks)] @ b[np.ix_(ks, cols)]
            else:
                acc += a[rows][:, ks] @ b[ks][:, cols]
        c[np.ix_(rows, cols)] = acc
    return c


def test_tiled_matmul_accepts_tiles_taken_with_index_arrays():
    check_tiled_matmul(_masked_indices)
    check_tiled_matmul(lambda *args: _masked_indices(*args, ix=True))


def test_tiled_matmul_catches_a_transposed_result():
    with pytest.raises(CheckFailure, match="case 1, 'random.*\n(.*\n)*.*should have shape"):
        check_tiled_matmul(lambda a, b, bm, bn, bk: _blocked(a, b, bm, bn, bk).T)


# --------------------------------------------------------------------------- Triton matmul


@triton.jit
def _matmul(a_ptr, b_ptr, c_ptr, M, N, K, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
            MASK_K: tl.constexpr, MASKS: tl.constexpr, ACCUMULATE: tl.constexpr,
            FIRST_STEP: tl.constexpr, STORE_IN_LOOP: tl.constexpr,
            LOAD_A_TWICE: tl.constexpr, GROUP: tl.constexpr, OTHER: tl.constexpr,
            WRAP: tl.constexpr):  # fmt: skip
    """The tiled kernel in grouped order (G = 2, steps of 16); the flags plant errors."""
    pid = tl.program_id(axis=0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    per_group = GROUP * tl.cdiv(N, BLOCK_N)
    first = pid // per_group * GROUP
    height = tl.minimum(tiles_m - first, GROUP)
    rows = (first + pid % per_group % height) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = (pid % per_group // height) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    rows_a, cols_b = rows, cols
    if WRAP:  # Triton's tutorial: the rows past M wrap to the top (in A), loaded for nothing
        rows_a, cols_b = rows % M, cols % N
    for k0 in range(FIRST_STEP, K, 16):
        ks = k0 + tl.arange(0, 16)
        a_mask = rows_a[:, None] < M
        if MASK_K:
            a_mask = a_mask & (ks[None, :] < K)
        if MASKS:
            a = tl.load(a_ptr + rows_a[:, None] * K + ks[None, :], mask=a_mask, other=0.0)
        else:
            a = tl.load(a_ptr + rows_a[:, None] * K + ks[None, :])
        if LOAD_A_TWICE:
            a = 0.5 * (a + tl.load(a_ptr + rows[:, None] * K + ks[None, :], mask=a_mask, other=0.0))
        b_mask = (ks[:, None] < K) & (cols_b[None, :] < N)
        if OTHER:
            b = tl.load(b_ptr + ks[:, None] * N + cols_b[None, :], mask=b_mask, other=0.0)
        else:  # masked lanes left undefined (zeros in the interpreter, anything on a GPU)
            b = tl.load(b_ptr + ks[:, None] * N + cols_b[None, :], mask=b_mask)
        if ACCUMULATE:
            acc = tl.dot(a, b, acc, input_precision="ieee")
        else:
            acc = tl.dot(a, b, input_precision="ieee")
        if STORE_IN_LOOP:
            tl.store(c_ptr + rows[:, None] * N + cols[None, :], acc,
                     mask=(rows[:, None] < M) & (cols[None, :] < N))  # fmt: skip
    tl.store(c_ptr + rows[:, None] * N + cols[None, :], acc,
             mask=(rows[:, None] < M) & (cols[None, :] < N))  # fmt: skip


def _matmul_launcher(tiles=triton.cdiv, swap=False, **planted):
    flags = {"MASK_K": True, "MASKS": True, "ACCUMULATE": True, "FIRST_STEP": 0,
             "STORE_IN_LOOP": False, "LOAD_A_TWICE": False, "GROUP": 2, "OTHER": True,
             "WRAP": False, **planted}  # fmt: skip

    def launch(a, b, bm, bn):
        if swap:
            bm, bn = bn, bm
        (m, k), n = a.shape, b.shape[1]
        c = torch.zeros((m, n), device=a.device)
        if tiles(m, bm) * tiles(n, bn):
            _matmul[(tiles(m, bm) * tiles(n, bn),)](a, b, c, m, n, k, BLOCK_M=bm, BLOCK_N=bn,
                                                     **flags)  # fmt: skip
        return c

    return launch


def test_the_tiled_kernel_passes():
    assert len(check_matmul_kernel(_matmul_launcher()).cases) == 6


@pytest.mark.parametrize(
    ("launcher", "case", "message"),
    [
        (_matmul_launcher(ACCUMULATE=False), "case 1, 'random", "c is wrong at"),
        (_matmul_launcher(FIRST_STEP=16), "case 1, 'random", "c is wrong at"),
        pytest.param(_matmul_launcher(MASK_K=False), "case 1, 'random",
                     "loaded .* numbers from outside A and B", marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(MASKS=False), "case 1, 'random",
                     "loaded .* numbers from outside A and B", marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(STORE_IN_LOOP=True), "case 1, 'random",
                     "entries of c were stored more than once", marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(tiles=lambda m, b: m // b), "case 1, 'random",
                     "stored .* of the .* entries of c", marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(LOAD_A_TWICE=True), "case 1, 'random",
                     "the kernel loaded .* numbers; the tiled kernel", marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(swap=True), "case 1, 'random",
                     "the kernel loaded .* numbers; the tiled kernel|not the order of grouped",
                     marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(OTHER=False), "case 1, 'random",
                     "pass other=0.0 to every masked load", marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(WRAP=True), "case 1, 'random",
                     "the kernel loaded .* numbers; .*instead of wrapping them with % M",
                     marks=INTERPRETER_ONLY),
        pytest.param(_matmul_launcher(GROUP=1), "case 2, 'sides multiples",
                     r"0: \(0, 0\), 1: \(0, 1\), .*not the order of grouped_tile",
                     marks=INTERPRETER_ONLY),
        (lambda a, b, bm, bn: (a @ b).numpy(), "case 1, 'random", "should return c, a torch"),
        (lambda a, b, bm, bn: a @ b, "case 1, 'random", "0 of the .* entries of c|c is wrong"),
    ],
    ids=["no-accumulation", "first-step-skipped", "no-mask-along-k", "no-load-masks",
         "store-in-the-loop", "grid-floor", "a-loaded-twice", "tile-sides-swapped",
         "no-other", "rows-wrapped", "row-by-row", "returns-numpy", "torch-not-triton"],
)  # fmt: skip
def test_matmul_kernel_catches(launcher, case, message):
    with pytest.raises(CheckFailure, match=case) as info:
        check_matmul_kernel(launcher)
    assert re.search(message, str(info.value)), str(info.value)
