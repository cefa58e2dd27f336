r"""Benchmarks: ``python -m derived.bench`` measures, prints a table and writes JSON.

Every speed claim is a *ratio* against a named reference measured in the same run
(the copy bandwidth, PyTorch's own kernel, cuBLAS, NumPy), never a bare time.
Each measurement follows the same protocol:

1. **Warm-up.** The first call compiles (Triton), autotunes, allocates and
   fills caches; it is run and thrown away.
2. **Calibrate.** A call shorter than the timer's resolution is repeated
   ``number`` times inside one timed interval (at least ``min_time`` seconds).
3. **Repeat and take the median**, which ignores the occasional interruption
   by the operating system that a mean would average in.
4. **Synchronise.** GPU launches return before the GPU has finished; GPU
   intervals are measured with CUDA events recorded in the stream, CPU ones with
   :func:`time.perf_counter`. Host-device transfers are timed as separate rows.

Metrics, written out:

- doublify moves :math:`2 \cdot 4N` bytes (each float32 read once and written
  once): bandwidth = ``8 * N / median_s`` bytes per second; a copy moves the same.
- a product of :math:`M \times K` and :math:`K \times N` matrices costs
  :math:`2MNK` flops (a multiply and an add per term): ``2*M*N*K / median_s``.

Usage::

    python -m derived.bench --quick               # seconds on a CPU
    python -m derived.bench --out bench.json      # the full run
    python -m derived.bench --only gpu_matmul --only gpu_doublify
    python -m derived.bench --list
    python -m derived.bench --check-targets       # exit 1 if a GPU target is missed

``ratio`` is always ``reference_median_s / median_s``: above 1, the measured
code is faster than its reference.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from importlib import metadata
from typing import Any

import numpy as np

from derived import _bench_cpu

__all__ = [
    "NOISE_MARGIN",
    "SUITES",
    "SuiteSkippedError",
    "check_targets",
    "main",
    "run_suites",
    "time_cpu",
]

#: A suite takes ``quick`` and returns rows (dicts with the keys of :data:`ROW_KEYS`).
Suite = Callable[[bool], list[dict[str, Any]]]

#: Keys every row has; suites may add extras (``gbps``, ``tflops``, ...).
ROW_KEYS = ("suite", "name", "size", "median_s", "reference", "reference_median_s", "ratio")

#: Run-to-run noise of a GPU benchmark ratio: a target is missed only if the ratio
#: falls short by more than this (absolute, in units of the ratio).
NOISE_MARGIN = 0.05

#: Targets checked by ``--check-targets``: Triton doublify within 95% of torch's
#: in-place multiply for N >= 2^26, tiled fp32 matmul within 80% of cuBLAS fp32 at 4096.
DOUBLIFY_TARGET = 0.95
DOUBLIFY_TARGET_MIN_N = 2**26
MATMUL_TARGET = 0.80
MATMUL_TARGET_N = 4096


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


# --------------------------------------------------------------------------- CPU suites


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


def _import_kernels() -> Any:
    """Import derived.kernels, switching Triton's interpreter on where there is no GPU."""
    try:
        import torch
    except ImportError:
        raise SuiteSkippedError('torch is not installed: pip install "derived[gpu]"') from None
    if not torch.cuda.is_available():
        os.environ["TRITON_INTERPRET"] = "1"  # Triton reads it when it decorates a kernel
    try:
        import derived.kernels as kernels
    except ImportError as error:
        raise SuiteSkippedError(str(error)) from None
    if not torch.cuda.is_available() and not kernels.interpreter_active():
        raise SuiteSkippedError(
            "no CUDA GPU, and triton was imported before TRITON_INTERPRET=1 could be set"
        )
    return kernels


def triton_smoke_suite(quick: bool) -> list[dict[str, Any]]:
    """Check the Triton kernels on small inputs and time them (interpreter without a GPU).

    Under the interpreter the times say nothing about GPUs: they show the cost of
    running a kernel program by program in NumPy, and the suite exists to prove
    that the kernels run and are right.
    """
    import torch

    kernels = _import_kernels()
    device = kernels.kernel_device()
    where = "interpreter" if device == "cpu" else "GPU"
    timer = _time_cuda if device == "cuda" else time_cpu
    gen = torch.Generator().manual_seed(0)
    rows = []
    for n in (1025, 4096):
        x = torch.randn(n, generator=gen).to(device)
        expected = 2 * x
        kernels.doublify(x)
        correct = bool(torch.equal(x, expected))
        t = timer(partial(kernels.doublify, x), repeats=3, min_time=1e-3)
        t_ref = timer(partial(x.mul_, 2), repeats=3, min_time=1e-3)
        rows.append(
            _row("triton_smoke", f"triton doublify ({where})", n, t, "torch x.mul_(2)", t_ref,
                 correct=correct)
        )  # fmt: skip
    for method, shape in (("naive", (9, 20, 11)), ("tiled", (70, 45, 130))):
        m, k, n = shape
        a, b = torch.randn(m, k, generator=gen).to(device), torch.randn(k, n, generator=gen)
        b = b.to(device)
        c = kernels.matmul(a, b, method=method)
        err = float((c.double() - a.double() @ b.double()).abs().max())
        bound = k * 2.0**-24 * float((a.double().abs() @ b.double().abs()).max())
        t = timer(partial(kernels.matmul, a, b, method=method), repeats=3)
        t_ref = timer(partial(torch.matmul, a, b), repeats=3)
        rows.append(
            _row("triton_smoke", f"triton matmul {method} ({where})", f"{m}x{k}x{n}", t,
                 "torch.matmul", t_ref, correct=err <= bound, max_abs_error=err)
        )  # fmt: skip
    if not all(row["correct"] for row in rows):
        raise AssertionError(f"a Triton kernel gave a wrong result: {rows}")
    return rows


# --------------------------------------------------------------------------- GPU suites


def _doublify_round_trip(kernels: Any, host: Any) -> Any:
    """Copy ``host`` to the GPU, doublify it there, copy it back (waits for the kernel)."""
    return kernels.doublify(host.to("cuda")).cpu()


def gpu_copy_suite(quick: bool) -> list[dict[str, Any]]:
    """Device-to-device copy bandwidth, the ceiling for any elementwise kernel."""
    torch = _require_cuda()
    rows = []
    for n in _vector_sizes(quick, 28):
        src = torch.randn(n, device="cuda")
        dst = torch.empty_like(src)
        t = _time_cuda(partial(dst.copy_, src))
        t_clone = _time_cuda(src.clone)
        # bytes moved = 2 * 4 * N (read src, write dst)
        rows.append(
            _row("gpu_copy", "torch dst.copy_(src)", n, t, "torch x.clone()", t_clone,
                 gbps=8 * n / t / 1e9)
        )  # fmt: skip
        del src, dst
    return rows


def gpu_doublify_suite(quick: bool) -> list[dict[str, Any]]:
    """Doublify on the GPU: Triton vs torch vs the copy ceiling, and with transfers vs NumPy."""
    torch = _require_cuda()
    kernels = _import_kernels()
    rows = []
    for n in _vector_sizes(quick, 28):
        x = torch.randn(n, device="cuda")
        dst = torch.empty_like(x)
        host = x.cpu().numpy()
        t_triton = _time_cuda(partial(kernels.doublify, x))
        t_torch = _time_cuda(partial(x.mul_, 2))
        t_copy = _time_cuda(partial(dst.copy_, x))
        with np.errstate(over="ignore"):
            t_numpy = time_cpu(partial(np.multiply, host, 2, out=host), repeats=5)
        # with transfers: host -> device, kernel, device -> host (pageable memory);
        # the .cpu() copy waits for the kernel, so wall-clock time is right here
        host_tensor = torch.from_numpy(host)
        t_transfer = time_cpu(
            partial(_doublify_round_trip, kernels, host_tensor), repeats=5, warmup=2
        )
        gbps = 8 * n / t_triton / 1e9  # bytes moved = 2 * 4 * N
        rows += [
            _row("gpu_doublify", "triton doublify", n, t_triton, "torch x.mul_(2)", t_torch,
                 gbps=gbps, numpy_median_s=t_numpy),
            _row("gpu_doublify", "torch x.mul_(2)", n, t_torch, "torch dst.copy_(x)", t_copy,
                 gbps=8 * n / t_torch / 1e9),
            _row("gpu_doublify", "triton doublify + transfers", n, t_transfer,
                 "numpy x *= 2 (CPU)", t_numpy, gbps=8 * n / t_transfer / 1e9),
        ]  # fmt: skip
        del x, dst
    return rows


def gpu_matmul_suite(quick: bool) -> list[dict[str, Any]]:
    """fp32 matmul on the GPU: naive and tiled Triton, cuBLAS fp32 and TF32, NumPy on the CPU."""
    torch = _require_cuda()
    kernels = _import_kernels()
    if quick:
        shapes = [(n, n, n) for n in (256, 1024)] + [(1000, 1000, 999)]
    else:
        shapes = [(n, n, n) for n in (256, 512, 1024, 2048, 4096)]
        shapes += [(4096, 256, 4096), (4096, 4096, 256), (1000, 1000, 999), (8192, 1024, 512)]
    rows = []
    saved_tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        for m, k, n in shapes:
            a = torch.randn(m, k, device="cuda")
            b = torch.randn(k, n, device="cuda")
            size = f"{m}x{k}x{n}"
            flops = 2 * m * n * k  # a multiply and an add per term of each of the M*N sums

            torch.backends.cuda.matmul.allow_tf32 = False  # cuBLAS in exact fp32
            t_cublas = _time_cuda(partial(torch.matmul, a, b))
            torch.backends.cuda.matmul.allow_tf32 = True
            t_cublas_tf32 = _time_cuda(partial(torch.matmul, a, b))
            torch.backends.cuda.matmul.allow_tf32 = False
            ref = "torch.matmul fp32 (cuBLAS)"
            timed = {
                "triton matmul tiled (ieee)": _time_cuda(partial(kernels.matmul, a, b)),
                "triton matmul tiled (tf32)": _time_cuda(
                    partial(kernels.matmul, a, b, allow_tf32=True)
                ),
                "torch.matmul tf32 (cuBLAS)": t_cublas_tf32,
                ref: t_cublas,
            }
            if m * n * k <= 4096**3:
                timed["triton matmul naive"] = _time_cuda(
                    partial(kernels.matmul, a, b, method="naive"), repeats=3
                )
            if quick or m * n * k <= 2048**3:
                a_np, b_np = a.cpu().numpy(), b.cpu().numpy()
                timed["numpy a @ b (CPU)"] = time_cpu(partial(np.matmul, a_np, b_np), repeats=3)
            for name, t in timed.items():
                rows.append(
                    _row("gpu_matmul", name, size, t, ref, t_cublas, tflops=flops / t / 1e12,
                         shape=[m, k, n])
                )  # fmt: skip
            del a, b
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved_tf32
    return rows


# --------------------------------------------------------------------------- registry

#: name -> suite. CPU suites first; GPU suites raise SuiteSkippedError without CUDA.
SUITES: dict[str, Suite] = {
    "numpy_doublify": numpy_doublify_suite,
    "numpy_matmul": numpy_matmul_suite,
    "triton_smoke": triton_smoke_suite,
    "gpu_copy": gpu_copy_suite,
    "gpu_doublify": gpu_doublify_suite,
    "gpu_matmul": gpu_matmul_suite,
    # CPU suites of the chapters Convolution and t-SNE (derived._bench_cpu imports torch and
    # scikit-learn only when a suite runs)
    "conv2d": _bench_cpu.conv2d_suite,
    "tsne": _bench_cpu.tsne_suite,
}


# --------------------------------------------------------------------------- running


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("numpy", "torch", "triton", "derived"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    import derived

    versions["derived"] = derived.__version__  # the imported code, not an installed copy
    return versions


def _gpu_name() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return str(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else None


def run_suites(names: Sequence[str], quick: bool) -> dict[str, Any]:
    """Run the named suites and return the JSON-ready result.

    Parameters
    ----------
    names : sequence of str
        Keys of :data:`SUITES`.
    quick : bool
        Fewer, smaller sizes: seconds on a CPU.

    Returns
    -------
    dict
        ``machine``, ``gpu``, ``versions``, ``quick``, ``suites``, ``sizes``
        (suite -> sizes measured), ``skipped`` (suite -> reason) and ``rows``.

    Examples
    --------
    >>> result = run_suites(["numpy_doublify"], quick=True)  # doctest: +SKIP
    >>> result["rows"][0]["name"]  # doctest: +SKIP
    'numpy x *= 2'
    """
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        raise ValueError(f"unknown suite(s) {unknown}; choose from {sorted(SUITES)}")
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    sizes: dict[str, list[Any]] = {}
    for name in names:
        try:
            suite_rows = SUITES[name](quick)
        except SuiteSkippedError as reason:
            skipped[name] = str(reason)
            continue
        rows += suite_rows
        sizes[name] = list(dict.fromkeys(row["size"] for row in suite_rows))
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m derived.bench " + " ".join(sys.argv[1:]),
        "quick": quick,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "gpu": _gpu_name(),
        "versions": _versions(),
        "suites": list(names),
        "sizes": sizes,
        "skipped": skipped,
        "noise_margin": NOISE_MARGIN,
        "rows": rows,
    }


def check_targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check the GPU targets against benchmark rows.

    A target passes if its ratio is at least ``target - NOISE_MARGIN``; one that
    was not measured fails.

    Parameters
    ----------
    rows : sequence of dict
        Rows from :func:`run_suites` (suites ``gpu_doublify`` and ``gpu_matmul``).

    Returns
    -------
    list of dict
        One entry per target: ``target``, ``required``, ``measured`` (None if
        missing) and ``passed``.

    Examples
    --------
    >>> check_targets([])[0]["passed"]
    False
    """
    dbl = [
        r["ratio"]
        for r in rows
        if r["name"] == "triton doublify"
        and r["reference"] == "torch x.mul_(2)"
        and isinstance(r["size"], int)
        and r["size"] >= DOUBLIFY_TARGET_MIN_N
    ]
    mm = [
        r["ratio"]
        for r in rows
        if r["name"] == "triton matmul tiled (ieee)"
        and r["size"] == f"{MATMUL_TARGET_N}x{MATMUL_TARGET_N}x{MATMUL_TARGET_N}"
    ]
    results = []
    for target, required, measured in (
        ("triton doublify / torch x.mul_(2), N >= 2^26", DOUBLIFY_TARGET, dbl),
        ("triton tiled fp32 matmul / cuBLAS fp32, N = 4096", MATMUL_TARGET, mm),
    ):
        worst = min(measured) if measured else None
        passed = worst is not None and worst >= required - NOISE_MARGIN
        results.append(
            {"target": target, "required": required, "measured": worst, "passed": passed}
        )
    return results


def _format_table(result: dict[str, Any]) -> str:
    header = f"{'suite':<15} {'name':<30} {'size':>15} {'median':>11} {'ratio':>8}  reference"
    lines = [header, "-" * len(header)]
    for r in result["rows"]:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3g}"
        extra = ""
        if "gbps" in r:
            extra = f"  [{r['gbps']:.3g} GB/s]"
        elif "tflops" in r:
            extra = f"  [{r['tflops']:.3g} TFLOP/s]"
        lines.append(
            f"{r['suite']:<15} {r['name']:<30} {r['size']!s:>15} {r['median_s']:>10.3e}s "
            f"{ratio:>8}  {r['reference'] or ''}{extra}"
        )
    for suite, reason in result["skipped"].items():
        lines.append(f"{suite:<15} skipped: {reason}")
    return "\n".join(lines)


def _parse_only(values: list[str] | None) -> list[str]:
    if not values:
        return list(SUITES)
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        raise ValueError(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    return list(dict.fromkeys(names))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 if ``--check-targets`` found a missed target; bad
        arguments exit with status 2 and a message.

    Examples
    --------
    >>> main(["--list"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(
        prog="python -m derived.bench",
        description="Benchmark the book's kernels against named references; write JSON.",
    )
    parser.add_argument("--quick", action="store_true", help="few small sizes: seconds on a CPU")
    parser.add_argument("--out", metavar="FILE.json", help="write the results as JSON here")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only these suites (repeatable, or a comma-separated list)",
    )
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.add_argument(
        "--check-targets",
        action="store_true",
        help=f"exit 1 if a GPU target is missed by more than {NOISE_MARGIN} (needs CUDA)",
    )
    args = parser.parse_args(argv)
    try:
        names = _parse_only(args.only)
    except ValueError as error:
        parser.error(str(error))
    if args.out is not None and not args.out.endswith(".json"):
        parser.error(f"--out must name a .json file, got {args.out!r}")
    if args.list:
        for name, suite in SUITES.items():
            doc = (suite.__doc__ or "").strip().splitlines()[0]
            print(f"{name:<16} {doc}")
        return 0
    result = run_suites(names, quick=args.quick)
    status = 0
    if args.check_targets:
        result["targets"] = check_targets(result["rows"])
    print(_format_table(result))
    if args.check_targets:
        print(f"\ntargets (noise margin {NOISE_MARGIN}):")
        for t in result["targets"]:
            measured = "not measured" if t["measured"] is None else f"{t['measured']:.3f}"
            verdict = "ok" if t["passed"] else "MISSED"
            print(f"  {verdict:<6} {t['target']}: {measured} (required {t['required']})")
        status = 0 if all(t["passed"] for t in result["targets"]) else 1
    if args.out is not None:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)
            handle.write("\n")
        print(f"\nwrote {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
