"""The measurement protocol of :mod:`derived.bench`, and what every suite shares.

:func:`time_cpu` and :func:`_time_cuda` implement warm-up, calibration, repeats and the
median (the protocol in :mod:`derived.bench`); ``_row`` builds a result row with its
ratio. GPU times come from CUDA events recorded in the stream, not from
``triton.testing.do_bench``: that function would time the GPU rows equally well, but it
flushes the L2 cache before every call (a cold-cache time, where these rows want the
steady state of repeated calls) and it cannot time the CPU rows, which follow the same
protocol here and are tested on any machine.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ROW_KEYS", "Suite", "SuiteSkippedError", "time_cpu"]

#: A suite takes ``quick`` and returns rows (dicts with the keys of :data:`ROW_KEYS`).
Suite = Callable[[bool], list[dict[str, Any]]]

#: Keys every row has; suites may add extras (``gbps``, ``tflops``, ...).
ROW_KEYS = ("suite", "name", "size", "median_s", "reference", "reference_median_s", "ratio")


class SuiteSkippedError(RuntimeError):
    """Raised by a suite that cannot run here (no CUDA, no Triton); the message says why."""


# --------------------------------------------------------------------------- timing


def time_cpu(
    fn: Callable[[], object], *, repeats: int = 7, min_time: float = 2e-3, warmup: int = 1
) -> float:
    """Return the median wall-clock time of one call of ``fn``, in seconds.

    Parameters
    ----------
    fn : callable
        The work, called with no arguments.
    repeats : int, default 7
        Timed intervals; the median is returned.
    min_time : float, default 2e-3
        Each interval repeats ``fn`` until it lasts at least about this long, so
        that short calls are not lost in the timer's resolution.
    warmup : int, default 1
        Untimed calls first.

    Returns
    -------
    float
        Median seconds per call.

    Examples
    --------
    >>> time_cpu(lambda: None, repeats=3, min_time=1e-4) < 1e-3
    True
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, math.ceil(min_time / max(once, 1e-9)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return float(statistics.median(times))


def _time_cuda(
    fn: Callable[[], object], *, repeats: int = 7, min_time: float = 2e-3, warmup: int = 2
) -> float:
    """Median seconds per call of GPU work ``fn``, measured with CUDA events."""
    import torch

    for _ in range(warmup):  # compiles Triton kernels, runs the autotuner, allocates
        fn()
    torch.cuda.synchronize()
    begin: Any = torch.cuda.Event(enable_timing=True)
    end: Any = torch.cuda.Event(enable_timing=True)
    begin.record()
    fn()
    end.record()
    end.synchronize()
    once = begin.elapsed_time(end) / 1e3  # elapsed_time is in milliseconds
    number = max(1, math.ceil(min_time / max(once, 1e-9)))
    times = []
    for _ in range(repeats):
        begin.record()
        for _ in range(number):
            fn()
        end.record()
        end.synchronize()  # wait until the GPU has reached the end event
        times.append(begin.elapsed_time(end) / 1e3 / number)
    return float(statistics.median(times))


def _row(
    suite: str,
    name: str,
    size: int | str,
    median_s: float,
    reference: str | None,
    reference_median_s: float | None,
    **extra: Any,
) -> dict[str, Any]:
    ratio = None if reference_median_s is None else reference_median_s / median_s
    row = {
        "suite": suite,
        "name": name,
        "size": size,
        "median_s": median_s,
        "reference": reference,
        "reference_median_s": reference_median_s,
        "ratio": ratio,
    }
    row.update(extra)
    return row


def _vector_sizes(quick: bool, top: int) -> list[int]:
    """Powers of two 2^10, 2^11, ..., 2^top (quick: 2^10, 2^12, ..., 2^20)."""
    if quick:
        return [2**e for e in range(10, min(top, 20) + 1, 2)]
    return [2**e for e in range(10, top + 1)]


def _require_cuda() -> Any:
    try:
        import torch
    except ImportError:
        raise SuiteSkippedError("torch is not installed") from None
    if not torch.cuda.is_available():
        raise SuiteSkippedError("no CUDA GPU: GPU suites skipped")
    return torch
