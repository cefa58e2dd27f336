"""Checks for Part V, Hardware: a Triton kernel, the tiles of a matrix product, their loads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, torch

__all__ = [
    "check_doublify",
    "check_grouped_tile",
    "check_matmul_kernel",
    "check_matmul_loads",
    "check_tiled_matmul",
]


# --------------------------------------------------------------------------- doublify

#: Elements of the buffer after x that a kernel must leave alone (a store past the end of
#: x without a mask lands here instead of in memory that belongs to something else).
_GUARD = 2**16

#: Elements of the buffer before x, watched the same way (a store at a negative offset).
_LEAD = 2**12


def _doublify_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20501)

    def draw(n: int) -> np.ndarray:
        return rng.normal(size=n).astype(np.float32)

    big = float(np.finfo(np.float32).max)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, big, -big, 1.5, -3.25], np.float32)
    return [
        ("random, 5000 values (not a multiple of 128 or of any larger power of 2)", draw(5000)),
        ("4096 values (a multiple of every block size up to 4096)", draw(4096)),
        ("one value", draw(1)),
        ("127 values (fewer than one block of 128 or more)", draw(127)),
        ("4097 values (one past a multiple of the block)", draw(4097)),
        ("20000 values (many programs)", draw(20000)),
        ("special values: zeros, infinities, NaN, the largest float32 (doubles to inf)", special),
        ("an empty vector (nothing to launch)", draw(0)),
    ]


def _kernel_device(c: Checker) -> str:
    """Return the kernels' device, or fail saying how to switch the interpreter on."""
    try:
        from derived.kernels import kernel_device

        return str(kernel_device())
    except (ImportError, RuntimeError) as err:
        c.fail_now(f"{c.name} cannot run a Triton kernel here: {err}")
    raise AssertionError("unreachable")  # pragma: no cover


def check_doublify(impl: Callable[[Any], Any]) -> CheckResult:
    r"""Check ``impl(x)``, a Triton kernel's launcher that doubles ``x`` in place.

    ``impl`` launches one program per block of consecutive elements, and a mask
    :math:`i < N` keeps the last program inside the vector. The oracle is torch's own
    ``x * 2`` on the same device; doubling is exact, so the results must agree bit for
    bit (their float32 bit patterns, so that -0.0 is not +0.0; NaN where torch gives
    NaN), and ``impl`` must return ``x`` itself. The vector sits between two guard
    regions of a longer buffer, which must be left as they were: a kernel without a
    mask writes after x. Under Triton's interpreter (no GPU) every load and store is
    also traced: a load from outside the vector fails the check, and the stores must
    cover every element of x exactly once (so x must be doubled by a Triton kernel, not
    by torch or NumPy on the host). On a GPU nothing is traced: a load without a mask
    and a launcher that doubles x without a kernel are not detected there. The check
    calls ``impl(x)`` only, so its block size is the launcher's default. Cases: a
    random vector of 5000 values (not a multiple of 128 or of any larger power of
    two), 4096 values (a multiple of every block size up to 4096), one value, fewer
    values than a block of 128, one past a multiple, many programs, special values
    (signed zeros, infinities, NaN, a value that overflows) and an empty vector.

    Parameters
    ----------
    impl : callable
        The student's launcher: a contiguous float32 torch tensor ``x`` of N elements,
        on the device of ``derived.kernels.kernel_device()`` (a CUDA GPU, or the CPU
        under Triton's interpreter), doubled in place.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case where ``x`` is not doubled bit for bit, the kernel wrote
        outside ``x`` or read past its end, stored an element twice or not at all
        (interpreter only), ``impl`` did not return ``x``, or the launch failed; or at
        once where no kernel can run (no GPU and no interpreter).

    Examples
    --------
    >>> import os
    >>> import torch
    >>> if not torch.cuda.is_available():  # Triton's interpreter, set before triton is imported
    ...     os.environ["TRITON_INTERPRET"] = "1"
    >>> from derived.kernels import doublify
    >>> check_doublify(doublify)
    check_doublify passed all 8 cases: random, 5000 values (not a multiple of 128 or of ...
    """
    c = Checker("check_doublify", impl, "doublify")
    device = _kernel_device(c)
    t = torch()
    traced = device == "cpu"  # the interpreter: every load and store can be traced
    for label, values in _doublify_cases():
        n = len(values)
        c.case(label, n=n, device=device)
        sentinel = np.full(_GUARD, 7.0, np.float32)
        lead = np.full(_LEAD, 7.0, np.float32)
        buffer = t.from_numpy(np.concatenate([lead, values, sentinel])).to(device)
        x = buffer[_LEAD : _LEAD + n]  # contiguous, between two guards
        start, end = x.data_ptr(), x.data_ptr() + 4 * n
        expected = (t.from_numpy(values).to(device) * 2).cpu().numpy()
        # The interpreter doubles with NumPy, which warns when the largest float32 overflows.
        with np.errstate(over="ignore"):
            if traced:
                from derived.kernels import trace_memory

                with trace_memory() as accesses:
                    out = c.call(x)
            else:
                out = c.call(x)
                t.cuda.synchronize()
        after = buffer.cpu().numpy()
        before, got, guard = after[:_LEAD], after[_LEAD : _LEAD + n], after[_LEAD + n :]
        if not np.array_equal(before, lead):
            last = int(np.flatnonzero(before != lead)[-1])
            c.fail_now(
                f"doublify wrote before the start of x: the element {_LEAD - last} place(s) "
                f"before x[0] changed (from {lead[last]} to {before[last]}). Program p owns "
                "x[p * BLOCK_SIZE] to x[(p + 1) * BLOCK_SIZE - 1]: offsets = pid * BLOCK_SIZE "
                "+ arange(0, BLOCK_SIZE)."
            )
        if not np.array_equal(guard, sentinel):
            first = int(np.flatnonzero(guard != sentinel)[0])
            c.fail_now(
                f"doublify wrote past the end of x: the element {first + 1} place(s) after "
                f"x's last element changed (from {sentinel[first]} to {guard[first]}). The last "
                "program's lanes beyond N must be switched off: a mask offsets < N on the store."
            )
        if traced:
            stores = [a.addresses for a in accesses if a.kind == "store"]
            stored = np.concatenate(stores) if stores else np.zeros(0, np.int64)
            c.require(
                n == 0 or stored.size > 0,
                "no Triton store into x was traced: x must be doubled by the kernel's tl.store "
                "(not by torch on the host), or the kernel never stores.",
            )
            off_x = (stored < start) | (stored >= end)
            c.require(
                not off_x.any(),
                f"the kernel stored {int(off_x.sum())} numbers outside x: mask the store "
                "(offsets < N), and store only at x_ptr + offsets.",
            )
            elements, times = np.unique((stored - start) // 4, return_counts=True)
            c.require(
                bool((times == 1).all()),
                f"{int((times > 1).sum())} elements of x were stored more than once (first "
                f"x[{int(elements[times > 1][0]) if (times > 1).any() else 0}]): each program "
                "must double its own block, offsets = pid * BLOCK_SIZE + arange, and store each "
                "element once.",
            )
            c.require(
                elements.size == n,
                f"the kernel stored {elements.size} of the {n} elements of x: launch "
                "cdiv(N, BLOCK_SIZE) programs.",
            )
            for access in accesses:
                outside = (access.addresses < start) | (access.addresses >= end)
                if access.kind == "load" and outside.any():
                    c.fail_now(
                        f"program {access.program[0]} loaded {int(outside.sum())} numbers "
                        "from outside x: the load needs the mask too (offsets < N)."
                    )
        c.require(
            n == 0 or not np.array_equal(got, values, equal_nan=True),
            "x is unchanged: doublify must double x in place (the kernel stores into x), "
            "not return a new tensor, or the kernel never stores.",
        )
        c.require(out is x, "doublify should return x itself (the tensor it doubled in place).")
        c.require(
            bool(np.array_equal(np.isnan(got), np.isnan(expected))),
            "x should be doubled in place, NaN exactly where torch gives NaN; got "
            f"{int(np.isnan(got).sum())} NaN where torch has {int(np.isnan(expected).sum())}.",
        )
        # Bit for bit outside the NaNs: -0.0 and +0.0 differ here.
        wrong = ~np.isnan(expected) & (got.view(np.uint32) != expected.view(np.uint32))
        if wrong.any():
            first = int(np.flatnonzero(wrong)[0])
            unchanged = wrong & (got.view(np.uint32) == values.view(np.uint32))
            if unchanged[first]:
                stop = first
                while stop < n and unchanged[stop]:
                    stop += 1
                c.fail_now(
                    f"x[{first}:{stop}] was not doubled (left as it was): launch "
                    "cdiv(N, BLOCK_SIZE) programs, each doubling its own block."
                )
            c.fail_now(
                f"the doubled x is wrong at x[{first}] ({int(wrong.sum())} elements wrong): "
                f"expected {expected[first]!r}, got {got[first]!r} (compared bit for bit)."
            )
    return c.result()


# --------------------------------------------------------------------------- grouped order

GridCase = tuple[str, int, int, int]


def _grid_cases() -> list[GridCase]:
    rng = np.random.default_rng(20502)
    group_m, groups, tiles_n = (int(v) for v in rng.integers((2, 2, 3), (5, 4, 8)))
    tiles_m = group_m * groups
    return [
        (
            f"random, {tiles_m} x {tiles_n} tiles in groups of {group_m} tile rows",
            tiles_m,
            tiles_n,
            group_m,
        ),
        ("7 x 7 tiles, groups of 3, as in the chapter (the last group has one row)", 7, 7, 3),
        ("8 x 5 tiles, groups of 3 (the last group has two rows)", 8, 5, 3),
        ("groups of 1 tile row (row by row)", 3, 5, 1),
        ("one group taller than the grid (column by column)", 4, 6, 8),
        ("one row of tiles", 1, 6, 3),
        ("one column of tiles", 7, 1, 3),
        ("a single tile", 1, 1, 4),
    ]


def _grouped_order(tiles_m: int, tiles_n: int, group_m: int) -> list[tuple[int, int]]:
    """List the tiles in launch order, group by group, column by column inside a group."""
    order = []
    for first in range(0, tiles_m, group_m):
        rows = range(first, min(first + group_m, tiles_m))
        for col in range(tiles_n):
            order += [(row, col) for row in rows]
    return order


def _grouped_orders(tiles_m: int, tiles_n: int) -> list[list[tuple[int, int]]]:
    """List the launch orders of grouped_tile for G >= 2 (and G = 1 on a one-line grid)."""
    orders = [_grouped_order(tiles_m, tiles_n, g) for g in range(2, max(tiles_m, 2) + 1)]
    if tiles_m == 1 or tiles_n == 1:  # row by row is then the same as every grouped order
        orders.append(_grouped_order(tiles_m, tiles_n, 1))
    return orders


def check_grouped_tile(impl: Callable[[int, int, int, int], Any]) -> CheckResult:
    r"""Check ``impl(pid, tiles_m, tiles_n, group_m)``, the tile of C that program pid computes.

    The :math:`t_m \times t_n` tiles of :math:`C` are launched in groups of
    :math:`G` = ``group_m`` tile rows: the first group is rows :math:`0, \dots, G - 1`,
    numbered column by column and, inside a column, row by row; then the next group. When
    :math:`G` does not divide :math:`t_m` the last group has fewer rows. The oracle
    enumerates the tiles in that order, group by group, and compares the tile of every
    program id. Cases: a random grid whose tile rows are a multiple of :math:`G`, the
    chapter's 7 x 7 grid with a last group of one row, a last group of two rows, groups
    of one row (row by row), one group taller than the grid (column by column), one row
    of tiles, one column and a single tile.

    Parameters
    ----------
    impl : callable
        The student's numbering: the integers ``pid`` (``0 <= pid < tiles_m * tiles_n``),
        ``tiles_m``, ``tiles_n`` and ``group_m`` (all >= 1) to the pair
        ``(row, col)`` of the tile that program ``pid`` computes.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first program whose tile is wrong (or not a pair), naming the case, the
        grid, the program id, the expected and the returned tile.

    Examples
    --------
    >>> from derived.kernels import grouped_tile
    >>> check_grouped_tile(grouped_tile)
    check_grouped_tile passed all 8 cases: random, 12 x 7 tiles in groups of 4 tile rows; ...
    """
    c = Checker("check_grouped_tile", impl, "grouped_tile")
    for label, tiles_m, tiles_n, group_m in _grid_cases():
        c.case(label, tiles_m=tiles_m, tiles_n=tiles_n, group_m=group_m)
        for pid, tile in enumerate(_grouped_order(tiles_m, tiles_n, group_m)):
            tile_got = c.call(pid, tiles_m, tiles_n, group_m)
            if isinstance(tile_got, np.ndarray) and tile_got.shape == (2,):
                tile_got = tuple(tile_got.tolist())  # an array of two indices is a pair too
            got = c.outputs(tile_got, ("row", "col"), "indices")
            got = tuple(v.item() if isinstance(v, np.generic) else v for v in got)
            c.equal(got, tile, what=f"tile (row, col) of program {pid}")
    return c.result()


# --------------------------------------------------------------------------- loads

LoadsCase = tuple[str, int, int, int, int, int]


def _loads_cases() -> list[LoadsCase]:
    rng = np.random.default_rng(20503)
    bm, bn = (int(v) for v in rng.choice([4, 8, 16, 32], size=2, replace=False))
    m, n = (int(b * v) for b, v in zip((bm, bn), rng.integers(2, 6, size=2), strict=True))
    k = int(rng.integers(5, 40))
    m2, k2, n2 = (int(v) for v in rng.integers(40, 130, size=3))
    while m2 % bm == 0 or n2 % bn == 0:  # both sides ragged
        m2, n2 = m2 + 1, n2 + 1
    return [
        (f"random, sides that are multiples of the {bm} x {bn} tiles", m, k, n, bm, bn),
        (f"random, ragged edge tiles: {m2} x {k2} times {k2} x {n2}", m2, k2, n2, bm, bn),
        ("one output per program (1 x 1 tiles): one load per flop", 5, 7, 3, 1, 1),
        ("as traced in the chapter: 70 x 45 times 45 x 130, 16 x 32 tiles", 70, 45, 130, 16, 32),
        ("tall tiles on a wide product (b_M and b_N not interchangeable)", 40, 10, 90, 32, 4),
        ("tiles larger than the matrix (one program, most lanes masked)", 5, 9, 3, 8, 16),
        ("length K = 1", 33, 1, 17, 8, 8),
        ("N = 4096 with 128 x 128 tiles", 4096, 4096, 4096, 128, 128),
    ]


def _loads_by_simulation(m: int, k: int, n: int, bm: int, bn: int, bk: int = 32) -> int:
    """Count the lanes the tiled kernel's masks leave on, program by program, step by step."""
    loads = 0
    ks_on = sum(int((np.arange(k0, k0 + bk) < k).sum()) for k0 in range(0, k, bk))  # along K
    for r0 in range(0, m, bm):  # every tile row of C ...
        rows_on = int((np.arange(r0, r0 + bm) < m).sum())  # rows of A the mask keeps
        for c0 in range(0, n, bn):  # ... and every tile column: one program each
            cols_on = int((np.arange(c0, c0 + bn) < n).sum())  # columns of B it keeps
            loads += rows_on * ks_on + ks_on * cols_on  # its A tiles and its B tiles
    return loads


def check_matmul_loads(impl: Callable[[int, int, int, int, int], Any]) -> CheckResult:
    r"""Check ``impl(m, k, n, block_m, block_n)``, the numbers a tiled product loads.

    Each program of the tiled kernel computes one ``block_m x block_n`` tile of
    :math:`C = AB` (:math:`A` of shape (m, k), :math:`B` of shape (k, n)) and loads the
    entries of the ``block_m`` rows of :math:`A` and ``block_n`` columns of :math:`B`
    that it needs, masked at the edges: entries outside the matrices are not loaded.
    The oracle simulates the kernel: it walks over the programs and, for each, over the
    steps along :math:`K`, and counts the lanes its masks leave on. Cases: random sides
    that are multiples of the tiles, random ragged sides, one output per program, the
    chapter's traced product, tall tiles on a wide product (so that swapping the two
    tile sides changes the count), tiles larger than the matrix, :math:`K = 1`, and
    :math:`N = 4096` with 128 x 128 tiles.

    Parameters
    ----------
    impl : callable
        The student's count: the integers ``m, k, n`` (>= 1) and the tile sides
        ``block_m, block_n`` (>= 1) to the number of entries of A and B loaded, an integer.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose count is wrong, naming the case, the sizes, the expected
        and the returned count.

    Examples
    --------
    >>> from derived.roofline import matmul_loads
    >>> check_matmul_loads(matmul_loads)
    check_matmul_loads passed all 8 cases: random, sides that are multiples of the ...
    """
    c = Checker("check_matmul_loads", impl, "matmul_loads")
    for label, m, k, n, bm, bn in _loads_cases():
        c.case(label, m=m, k=k, n=n, block_m=bm, block_n=bn)
        got = c.call(m, k, n, bm, bn)
        c.require(
            np.ndim(got) == 0,
            f"matmul_loads should return one number, got {type(got).__name__} {got!r}"[:400],
        )
        c.equal(got, _loads_by_simulation(m, k, n, bm, bn), what="number of loads")
    return c.result()


# --------------------------------------------------------------------------- tiled product

TiledCase = tuple[str, np.ndarray, np.ndarray, int, int, int]


def _tiled_cases() -> list[TiledCase]:
    rng = np.random.default_rng(20504)
    shapes = [
        ("random, 8 x 12 times 12 x 24, 4 x 8 tiles, steps of 4 (2 x 3 tiles)", 8, 12, 24, 4, 8, 4),
        ("random, 13 x 12 times 12 x 11: ragged edge tiles, 4 x 8 tiles", 13, 12, 11, 4, 8, 4),
        ("K = 7 with steps of 4 (the last step along K is partial)", 8, 7, 8, 4, 4, 4),
        ("tiles and step larger than the matrices (one program)", 3, 5, 2, 8, 8, 8),
        ("1 x 1 tiles and steps of 1 (one output per program)", 4, 3, 5, 1, 1, 1),
        ("a row vector times a matrix (M = 1)", 1, 9, 7, 4, 4, 4),
        ("a tall product with wide tiles (17 x 6 times 6 x 5, 2 x 8 tiles)", 17, 6, 5, 2, 8, 4),
        ("K = 1 (an outer product)", 6, 1, 5, 4, 2, 4),
    ]
    return [
        (label, rng.normal(size=(m, k)), rng.normal(size=(k, n)), bm, bn, bk)
        for label, m, k, n, bm, bn, bk in shapes
    ]


Product = tuple[tuple[int, ...], tuple[int, ...], tuple[int, int] | None]


class _Recorded(np.ndarray):
    """An array that records every np.matmul it takes part in: shapes, and where its tile is."""

    products: list[Product] = []
    shapes: tuple[tuple[int, ...], tuple[int, ...]] = ((0, 0), (0, 0))  # of a and of b

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if ufunc is np.matmul and method == "__call__" and len(inputs) == 2:
            left, right = inputs
            _Recorded.products.append((np.shape(left), np.shape(right), _tile_of_c(left, right)))
        plain = tuple(x.view(np.ndarray) if isinstance(x, _Recorded) else x for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(
                x.view(np.ndarray) if isinstance(x, _Recorded) else x for x in kwargs["out"]
            )
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func is np.dot and len(args) == 2:  # np.dot(x, y) is the same product as x @ y
            left, right = args
            _Recorded.products.append((np.shape(left), np.shape(right), _tile_of_c(left, right)))
        return super().__array_function__(func, types, args, kwargs)

    def dot(self, b: Any, out: Any = None) -> Any:  # x.dot(y), as np.dot(x, y)
        return np.dot(self, b, out=out)


def _corner(x: Any, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """Return the (row, column) of a view's first element in its matrix; None for a copy."""
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.size == 0:
        return None
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    # Only a view of the matrix passed in (a recording array of its shape) places the tile:
    # indexing with integer arrays (a[rows][:, ks], np.ix_) makes a new array, or a view of
    # a new plain temporary array, whose first element says nothing about the tile.
    if (
        root is x
        or not isinstance(root, _Recorded)
        or root.shape != shape
        or root.strides[1] != root.itemsize
    ):
        return None
    row, col = divmod((x.ctypes.data - root.ctypes.data) // root.itemsize, root.shape[1])
    return int(row), int(col)


def _tile_of_c(left: Any, right: Any) -> tuple[int, int] | None:
    """Return the first row of A's tile and first column of B's: the corner of C's tile."""
    a, b = _corner(left, _Recorded.shapes[0]), _corner(right, _Recorded.shapes[1])
    return None if a is None or b is None else (a[0], b[1])


def _check_tiles(c: Checker, m: int, k: int, n: int, bm: int, bn: int, bk: int) -> None:
    """Every product a tile times a tile, as many as the tiled kernel does, in grouped order."""
    products = _Recorded.products
    for left, right, _ in products:
        c.require(
            len(left) == 2
            and len(right) == 2
            and left[0] <= bm
            and left[1] <= bk
            and right[0] <= bk
            and right[1] <= bn,
            f"a product of a {left} array by a {right} array is not a tile of A "
            f"(at most {bm} x {bk}) times a tile of B (at most {bk} x {bn}): multiply "
            "tile by tile, with @ on tiles only.",
        )
    tiles_m, tiles_n = -(-m // bm), -(-n // bn)
    expected = tiles_m * tiles_n * -(-k // bk)
    c.require(
        len(products) > 0,
        "no product with @ (or np.dot) of a and b, or of slices of them, was seen: the check "
        "records the products of the arrays it passes in and of their slices, not of copies "
        "(np.array, np.pad, astype) or of the plain arrays np.asarray returns, or of loops "
        "over single numbers. Multiply "
        "slices of a and b themselves, tile by tile.",
    )
    c.require(
        len(products) == expected,
        f"tiled_matmul multiplied {len(products)} pairs of tiles with @; the tiled kernel "
        f"multiplies {expected}: ceil(M / b_M) * ceil(N / b_N) tiles of C, ceil(K / b_K) "
        "steps each.",
    )
    corners = [corner for _, _, corner in products if corner is not None]
    if len(corners) < len(products):  # tiles copied out of A and B: their places are unknown
        return
    order: list[tuple[int, int]] = []
    for row, col in corners:
        tile = (row // bm, col // bn)
        if tile not in order:
            order.append(tile)
    allowed = _grouped_orders(tiles_m, tiles_n)
    shown = ", ".join(f"({r}, {q})" for r, q in order[:8]) + (", ..." if len(order) > 8 else "")
    c.require(
        order in allowed,
        f"the tiles of C were computed in the order {shown}: not the grouped order of "
        "grouped_tile(p, t_m, t_n, G) for p = 0, 1, ... with any G >= 2.",
    )


def check_tiled_matmul(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(a, b, block_m, block_n, block_k)``, a tiled matrix product in NumPy.

    ``impl`` computes :math:`C = AB` tile by tile as the tiled kernel does: each
    ``block_m x block_n`` tile of :math:`C` accumulates the products of a
    ``block_m x block_k`` tile of :math:`A` and a ``block_k x block_n`` tile of
    :math:`B`, stepping along :math:`K`; the tiles at the right and bottom edges and the
    last step along :math:`K` may be partial. The oracle is torch's product in float64.
    The tiling is checked too: ``a`` and ``b`` arrive as a NumPy array subclass that
    records every ``np.matmul`` (``@``) they take part in. Every product must be a tile
    of A (at most ``block_m x block_k``) times a tile of B (at most
    ``block_k x block_n``), there must be exactly
    :math:`\lceil M/b_M \rceil \lceil N/b_N \rceil \lceil K/b_K \rceil` of them, and
    where the tiles are views of ``a`` and ``b`` (slices, not copies), the tiles of C
    must come in the order of ``grouped_tile`` for some group size :math:`G \ge 2`.
    So ``a @ b`` (or ``np.dot``) on the whole matrices, ``np.einsum`` or scalar loops fail.
    Cases: a random product whose sides are multiples of the tiles, random ragged edge
    tiles, a partial last step along :math:`K`, tiles larger than the matrices, 1 x 1
    tiles, a row vector, a tall product with wide tiles and an outer product
    (:math:`K = 1`).

    Parameters
    ----------
    impl : callable
        The student's product: ``a`` of shape (M, K) and ``b`` of shape (K, N), float64,
        and the integers ``block_m, block_n, block_k`` (>= 1) to ``c`` of shape (M, N).

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose product is wrong (or of the wrong shape), naming the
        case, its inputs, the expected and the returned arrays and the largest error;
        or whose products are not tile by tile, not as many as the kernel's, or not in
        grouped order.

    Examples
    --------
    >>> def blocked(a, b, bm, bn, bk):  # tile by tile, with NumPy's @ on tiles only
    ...     c = np.zeros((a.shape[0], b.shape[1]))
    ...     for j in range(0, b.shape[1], bn):  # column by column: G = all the tile rows
    ...         for i in range(0, a.shape[0], bm):
    ...             for k in range(0, a.shape[1], bk):
    ...                 rows, cols, ks = slice(i, i + bm), slice(j, j + bn), slice(k, k + bk)
    ...                 c[rows, cols] += a[rows, ks] @ b[ks, cols]
    ...     return c
    >>> check_tiled_matmul(blocked)
    check_tiled_matmul passed all 8 cases: random, 8 x 12 times 12 x 24, 4 x 8 tiles, ...
    """
    c = Checker("check_tiled_matmul", impl, "tiled_matmul")
    t = torch()
    for label, a, b, bm, bn, bk in _tiled_cases():
        c.case(label, a=a, b=b, block_m=bm, block_n=bn, block_k=bk)
        _Recorded.products, _Recorded.shapes = [], (a.shape, b.shape)
        got = c.call(a.view(_Recorded), b.view(_Recorded), bm, bn, bk)
        got = np.asarray(got).view(np.ndarray) if isinstance(got, np.ndarray) else got
        c.require(
            not isinstance(got, np.ndarray) or got.dtype == np.float64,
            f"tiled_matmul should return c as a float64 array (np.zeros((M, N)) is float64), "
            f"got dtype {getattr(got, 'dtype', None)}.",
        )
        expected = (t.tensor(a, dtype=t.float64) @ t.tensor(b, dtype=t.float64)).numpy()
        scale = float((np.abs(a) @ np.abs(b)).max())
        c.close(got, expected, what="product c", rtol=1e-10, atol=1e-13 * scale)
        (m, k), n = a.shape, b.shape[1]
        _check_tiles(c, m, k, n, bm, bn, bk)
    return c.result()


# --------------------------------------------------------------------------- Triton matmul

KernelCase = tuple[str, int, int, int, int, int]


def _kernel_cases() -> list[KernelCase]:
    rng = np.random.default_rng(20505)
    m, k, n = (int(v) for v in rng.integers(20, 60, size=3))
    return [
        (f"random, {m} x {k} times {k} x {n}, 16 x 32 tiles", m, k, n, 16, 32),
        ("sides multiples of the tiles: 64 x 32 times 32 x 64, 32 x 32 tiles", 64, 32, 64, 32, 32),
        ("as traced in the chapter: 70 x 45 times 45 x 130, 16 x 32 tiles", 70, 45, 130, 16, 32),
        ("tall tiles on a wide product: 40 x 10 times 10 x 90, 32 x 16 tiles", 40, 10, 90, 32, 16),
        ("tiles larger than the matrices (one program): 5 x 9 times 9 x 3", 5, 9, 3, 16, 16),
        ("K = 1 (an outer product), 33 x 1 times 1 x 17, 16 x 16 tiles", 33, 1, 17, 16, 16),
    ]


def _check_launch_order(
    c: Checker, accesses: list[Any], start: int, m: int, n: int, bm: int, bn: int
) -> None:
    """Program p must store the tile grouped_tile(p, t_m, t_n, G) of C, for one G >= 2."""
    tile_of: dict[int, tuple[int, int]] = {}
    for access in accesses:
        if access.kind != "store":
            continue
        c.require(
            access.program[1:] == (0, 0),
            f"program {access.program} stored into c: launch a one-dimensional grid of "
            "cdiv(M, block_m) * cdiv(N, block_n) programs, program p computing the tile "
            "grouped_tile(p, ...).",
        )
        mine = access.addresses[
            (access.addresses >= start) & (access.addresses < start + 4 * m * n)
        ]
        if mine.size:
            i, j = divmod(int(mine[0] - start) // 4, n)
            tile_of.setdefault(int(access.program[0]), (i // bm, j // bn))
    order = [tile_of[p] for p in sorted(tile_of)]
    if order not in _grouped_orders(-(-m // bm), -(-n // bn)):
        shown = ", ".join(f"{p}: ({r}, {q})" for p, (r, q) in enumerate(order[:8]))
        c.fail_now(
            f"the programs computed the tiles (program: tile) {shown}"
            f"{', ...' if len(order) > 8 else ''}: not the order of grouped_tile(p, t_m, t_n, G) "
            "for any G >= 2. Compute row and col from the program id as grouped_tile does."
        )


def check_matmul_kernel(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(a, b, block_m, block_n)``, a tiled Triton matrix product and its launcher.

    ``impl`` launches one program per ``block_m x block_n`` tile of :math:`C = AB`, in
    grouped order, each walking along :math:`K` with ``tl.dot`` on masked tiles, and
    returns ``c``. The oracle is torch's product in float64; the float32 result must be
    within :math:`2 \gamma_K (|A||B|)_{ij}`, :math:`\gamma_K = K u / (1 - K u)`,
    :math:`u = 2^{-24}`, of it (float32 dots: on a GPU use ``input_precision="ieee"``,
    TF32 is too coarse). ``a`` and ``b`` are the starts of longer buffers filled with
    NaN, so an unmasked load past their ends spoils the result. Under Triton's
    interpreter every load and store is traced too: no load may fall outside A and B,
    every masked load must give the lanes it switches off a value (``other=0.0``), the
    number of loads must equal a simulation of the masked kernel (the oracle of
    :func:`check_matmul_loads`), and the stores must cover every entry of ``c`` once.
    The stores also show which tile each program computed: program :math:`p` must
    compute tile ``grouped_tile(p, t_m, t_n, G)`` for one group size :math:`G \ge 2` (a
    one-dimensional grid). On a GPU only the values are checked. Cases: a random
    product with ragged edges,
    sides that are multiples of the tiles, the chapter's traced product, tall tiles on
    a wide product, tiles larger than the matrices, and :math:`K = 1`.

    Parameters
    ----------
    impl : callable
        The student's launcher: float32 torch tensors ``a`` (M, K) and ``b`` (K, N),
        contiguous, on the device of ``derived.kernels.kernel_device()``, and the tile
        sides ``block_m, block_n`` (powers of two, at least 16) to ``c`` (M, N), float32,
        a new tensor on the same device. The step along K and the group size
        :math:`G \ge 2` are the student's choice.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case where a load falls outside A and B, a masked load gives no
        ``other`` value, the stores do not cover ``c`` once or not in grouped order, the
        product is wrong, or the loads are not the simulation's count.

    Examples
    --------
    >>> import os
    >>> import torch
    >>> if not torch.cuda.is_available():  # Triton's interpreter, set before triton is imported
    ...     os.environ["TRITON_INTERPRET"] = "1"
    >>> import triton
    >>> from derived.kernels.matmul import _matmul_tiled_kernel  # the package's tiled kernel
    >>> def launch(a, b, bm, bn):
    ...     (m, k), n = a.shape, b.shape[1]
    ...     c = torch.empty((m, n), device=a.device)
    ...     grid = (triton.cdiv(m, bm) * triton.cdiv(n, bn),)
    ...     _matmul_tiled_kernel[grid](a, b, c, m, n, k, *a.stride(), *b.stride(), *c.stride(),
    ...         BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=16, GROUP_M=4, INPUT_PRECISION="ieee")
    ...     return c
    >>> check_matmul_kernel(launch)
    check_matmul_kernel passed all 6 cases: random, 52 x 38 times 38 x 30, 16 x 32 tiles; ...
    """
    c = Checker("check_matmul_kernel", impl, "matmul_kernel")
    device = _kernel_device(c)
    t = torch()
    traced = device == "cpu"
    rng = np.random.default_rng(20506)
    for label, m, k, n, bm, bn in _kernel_cases():
        c.case(label, m=m, k=k, n=n, block_m=bm, block_n=bn, device=device)
        a_np = rng.normal(size=(m, k)).astype(np.float32)
        b_np = rng.normal(size=(k, n)).astype(np.float32)
        guard = np.full(_LEAD, np.nan, np.float32)
        a_buf = t.from_numpy(np.concatenate([a_np.ravel(), guard])).to(device)
        b_buf = t.from_numpy(np.concatenate([b_np.ravel(), guard])).to(device)
        a, b = a_buf[: m * k].view(m, k), b_buf[: k * n].view(k, n)
        if traced:
            from derived.kernels import trace_memory

            with trace_memory() as accesses:
                out = c.call(a, b, bm, bn)
        else:
            out = c.call(a, b, bm, bn)
            t.cuda.synchronize()
        c.require(
            isinstance(out, t.Tensor) and tuple(out.shape) == (m, n),
            f"matmul_kernel should return c, a torch tensor of shape ({m}, {n}); got "
            f"{type(out).__name__} {tuple(getattr(out, 'shape', ()))}",
        )
        if traced:
            ranges = [(a.data_ptr(), m * k), (b.data_ptr(), k * n)]
            loads = [x.addresses for x in accesses if x.kind == "load"]
            loaded = np.concatenate(loads) if loads else np.zeros(0, np.int64)
            inside = np.zeros(loaded.shape, bool)
            for first, size in ranges:
                inside |= (loaded >= first) & (loaded < first + 4 * size)
            c.require(
                bool(inside.all()),
                f"the kernel loaded {int((~inside).sum())} numbers from outside A and B: mask "
                "the loads on the rows, the columns and along K (k < K).",
            )
            c.require(
                all(x.defined for x in accesses if x.kind == "load"),
                "pass other=0.0 to every masked load, so that the lanes the mask switches off "
                "add nothing (without it their values are undefined on a GPU; the interpreter "
                "happens to give zeros).",
            )
            stores = [x.addresses for x in accesses if x.kind == "store"]
            stored = np.concatenate(stores) if stores else np.zeros(0, np.int64)
            start = out.data_ptr()
            in_c = (stored >= start) & (stored < start + 4 * m * n)
            c.require(
                bool(in_c.all()),
                f"the kernel stored {int((~in_c).sum())} numbers outside c: mask the store.",
            )
            entries, times = np.unique(stored, return_counts=True)
            c.require(
                bool((times == 1).all()),
                f"{int((times > 1).sum())} entries of c were stored more than once: store "
                "each tile once, after the loop along K.",
            )
            c.require(
                entries.size == m * n,
                f"the kernel stored {entries.size} of the {m * n} entries of c: launch "
                "cdiv(M, block_m) * cdiv(N, block_n) programs.",
            )
            _check_launch_order(c, accesses, start, m, n, bm, bn)
        got = out.detach().cpu().numpy().astype(np.float64)
        a64, b64 = t.from_numpy(a_np.astype(np.float64)), t.from_numpy(b_np.astype(np.float64))
        expected = (a64 @ b64).numpy()
        u = 2.0**-24
        bound = 2 * (k * u / (1 - k * u)) * (np.abs(a_np) @ np.abs(b_np)).astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(got - expected) <= bound)  # NaN counts as wrong
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            c.fail_now(
                f"c is wrong at {int(bad.sum())} of {m * n} entries; first c[{i}, {j}]: "
                f"expected {expected[i, j]:.7g}, got {got[i, j]:.7g} (allowed error "
                f"{bound[i, j]:.2g}, float32's bound for a sum of {k} products)."
            )
        if traced:
            want = _loads_by_simulation(m, k, n, bm, bn)
            c.require(
                loaded.size == want,
                f"the kernel loaded {loaded.size} numbers; the tiled kernel with "
                f"{bm} x {bn} tiles and masked edges loads {want}: each program loads its "
                "block_m rows of A and block_n columns of B once, along all of K; mask rows "
                ">= M (and columns >= N) instead of wrapping them with % M (and % N).",
            )
    return c.result()
