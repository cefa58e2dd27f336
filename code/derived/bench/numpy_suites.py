"""The NumPy suites: doubling a vector and multiplying matrices on the CPU."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from derived.bench.timing import _row, _vector_sizes, time_cpu

__all__ = ["numpy_doublify_suite", "numpy_matmul_suite"]


def numpy_doublify_suite(quick: bool) -> list[dict[str, Any]]:
    """NumPy ``x *= 2`` on float32 vectors against a NumPy copy into a second buffer."""
    rng = np.random.default_rng(0)
    rows = []
    for n in _vector_sizes(quick, 26):
        x = rng.standard_normal(n, dtype=np.float32)
        dst = np.empty_like(x)
        repeats = 5 if quick else 7
        with np.errstate(over="ignore"):  # repeated doubling overflows to inf: harmless here
            t = time_cpu(partial(np.multiply, x, 2, out=x), repeats=repeats)
        t_copy = time_cpu(partial(np.copyto, dst, x), repeats=repeats)
        # bytes moved = 2 * 4 * N: each float32 read once and written once
        rows.append(
            _row(
                "numpy_doublify", "numpy x *= 2", n, t, "numpy copyto", t_copy, gbps=8 * n / t / 1e9
            )
        )
    return rows


def _matmul_shapes(quick: bool) -> list[tuple[int, int, int]]:
    """(M, K, N): squares, then a few non-square shapes (tall-skinny, short-wide, ragged)."""
    if quick:
        return [(n, n, n) for n in (64, 128, 256)] + [(200, 70, 130)]
    squares = [(n, n, n) for n in (256, 512, 1024, 2048, 4096)]
    return squares + [(4096, 256, 4096), (4096, 4096, 256), (1000, 1000, 999)]


def numpy_matmul_suite(quick: bool) -> list[dict[str, Any]]:
    """NumPy float32 ``A @ B`` (BLAS on the CPU) against torch's CPU matmul."""
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(1)
    rows = []
    for m, k, n in _matmul_shapes(quick):
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        repeats = 3 if quick else 7
        t = time_cpu(partial(np.matmul, a, b), repeats=repeats)
        t_ref, ref = None, None
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            t_ref = time_cpu(partial(torch.matmul, ta, tb), repeats=repeats)
            ref = "torch.matmul (CPU)"
        flops = 2 * m * n * k  # one multiply and one add per term of each of the M*N sums
        rows.append(
            _row("numpy_matmul", "numpy float32 a @ b", f"{m}x{k}x{n}", t, ref, t_ref,
                 tflops=flops / t / 1e12, shape=[m, k, n])
        )  # fmt: skip
    return rows
