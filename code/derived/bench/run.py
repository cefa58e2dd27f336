"""Running the suites: the registry, the JSON result, the GPU targets and the command line."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from derived.bench import cpu_suites, gpu_suites, numpy_suites
from derived.bench.timing import Suite, SuiteSkippedError

__all__ = ["NOISE_MARGIN", "SUITES", "check_targets", "main", "run_suites"]

#: Run-to-run noise of a GPU benchmark ratio: a target is missed only if the ratio
#: falls short by more than this (absolute, in units of the ratio).
NOISE_MARGIN = 0.05

#: Targets checked by ``--check-targets``: Triton doublify within 95% of torch's
#: in-place multiply for N >= 2^26, tiled fp32 matmul within 80% of cuBLAS fp32 at 4096,
#: the float16 FlashAttention kernel at least 60% of torch's fused attention at L = 4096
#: (causal and not; the worse of the two counts).
DOUBLIFY_TARGET = 0.95
DOUBLIFY_TARGET_MIN_N = 2**26
MATMUL_TARGET = 0.80
MATMUL_TARGET_N = 4096
ATTENTION_TARGET = 0.60
ATTENTION_TARGET_L = 4096


# --------------------------------------------------------------------------- registry

#: name -> suite. CPU suites first; GPU suites raise SuiteSkippedError without CUDA.
SUITES: dict[str, Suite] = {
    "numpy_doublify": numpy_suites.numpy_doublify_suite,
    "numpy_matmul": numpy_suites.numpy_matmul_suite,
    "triton_smoke": gpu_suites.triton_smoke_suite,
    "gpu_copy": gpu_suites.gpu_copy_suite,
    "gpu_doublify": gpu_suites.gpu_doublify_suite,
    "gpu_matmul": gpu_suites.gpu_matmul_suite,
    "gpu_attention": gpu_suites.gpu_attention_suite,
    # CPU suites of the chapters Convolution and t-SNE (they import torch and scikit-learn
    # only when they run)
    "conv2d": cpu_suites.conv2d_suite,
    "tsne": cpu_suites.tsne_suite,
    # the chapter FlashAttention: the NumPy block-by-block reference against dense attention
    "cpu_attention": cpu_suites.cpu_attention_suite,
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
        Keys of ``derived.bench.SUITES``.
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
        Rows from :func:`derived.bench.run_suites` (suites ``gpu_doublify``, ``gpu_matmul``
        and ``gpu_attention``).

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
    attn = [
        r["ratio"]
        for r in rows
        if r["name"] in ("triton flash_attention", "triton flash_attention causal")
        and r.get("seq_len") == ATTENTION_TARGET_L
    ]
    results = []
    for target, required, measured in (
        ("triton doublify / torch x.mul_(2), N >= 2^26", DOUBLIFY_TARGET, dbl),
        ("triton tiled fp32 matmul / cuBLAS fp32, N = 4096", MATMUL_TARGET, mm),
        ("triton fp16 flash_attention / torch sdpa fp16, L = 4096", ATTENTION_TARGET, attn),
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
