r"""Arithmetic intensity, the roofline, and the loads of matrix-multiplication schemes.

A kernel that does :math:`F` flops and moves :math:`Q` bytes between memory and
the processor has *arithmetic intensity* :math:`I = F / Q` (flops per byte). On a
machine that can do at most :math:`P` flops per second and move at most
:math:`\beta` bytes per second, the kernel takes at least
:math:`\max(F / P, Q / \beta)` seconds, so it attains at most

.. math::

    \text{flop/s} \le \min(P, \; I \beta),

the *roofline* (Williams, Waterman and Patterson, 2009). Below the ridge point
:math:`I^* = P / \beta` a kernel is memory-bound, above it compute-bound.

- Doubling :math:`N` float32 values in place: :math:`F = N`, :math:`Q = 8N`
  (read 4 bytes, write 4 bytes), :math:`I = 1/8`.
- Multiplying :math:`M \times K` by :math:`K \times N` in float32:
  :math:`F = 2MNK`; at best each operand is read once and the result written
  once, :math:`Q = 4(MK + KN + MN)`, so :math:`I \le N/6` for squares.

Loads in a blocked matrix product where each program computes a
:math:`b_M \times b_N` block of :math:`C` and reads, for it, the full rows of
:math:`A` and columns of :math:`B` it needs (masked at the edges): every tile row of
:math:`C` reads all of :math:`A`'s rows once per tile column, so

.. math::

    \text{loads} = K \left( M \lceil N / b_N \rceil + N \lceil M / b_M \rceil \right),

which is :math:`2MNK` (one load per flop) for the one-output-per-program scheme
:math:`b_M = b_N = 1`, and about :math:`MNK (1/b_N + 1/b_M)` for large blocks.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

__all__ = [
    "H100_REFERENCE",
    "H100_REFERENCE_FILE",
    "doublify_intensity",
    "find_recorded_bench",
    "load_bench",
    "load_reference",
    "matmul_flops",
    "matmul_intensity",
    "matmul_loads",
    "roofline",
]

#: The package-data folder of recorded benchmark results (``derived/recorded/*.json``).
RECORDED: Final[str] = "recorded"

#: The recorded GPU reference measurements that the book's GPU chapter quotes (package data).
H100_REFERENCE_FILE: Final[str] = "h100-reference.json"


@functools.cache
def load_reference(filename: str = H100_REFERENCE_FILE) -> dict[str, Any]:
    """Read a file of reference measurements that ships with the package.

    A reference file records figures measured once on a machine that did not build
    the book, with their provenance: ``date``, ``machine`` (GPU, host, driver),
    ``versions``, ``method`` (warm-up calls, repetitions, statistic, timer) and
    ``figures``, a dict from a key to ``{"value", "unit", "what", "kernel"}``, where
    ``kernel`` names the code that produced the figure.

    Parameters
    ----------
    filename : str, default "h100-reference.json"
        The file's name in ``derived/recorded/``.

    Returns
    -------
    dict
        The parsed file (cached: the same object on every call; do not modify it).

    Raises
    ------
    ValueError
        If a key of the provenance is missing, or a figure lacks a finite value, a
        unit or the kernel that produced it.

    Examples
    --------
    >>> ref = load_reference()
    >>> ref["machine"]["gpu"], ref["figures"]["copy_bytes_per_s"]["unit"]
    ('NVIDIA H100 80GB HBM3', 'bytes/s')
    """
    path = find_recorded_bench(filename)
    result = json.loads(path.read_text(encoding="utf-8"))
    needed = {"date", "machine", "versions", "method", "figures"}
    if not isinstance(result, dict) or not needed <= set(result):
        raise ValueError(f"{filename} is not a reference file (needs keys {sorted(needed)})")
    for key, figure in result["figures"].items():
        value = figure.get("value")
        if not (isinstance(value, int | float) and math.isfinite(value)):
            raise ValueError(f"{filename}: figure {key!r} has no finite value, got {value!r}")
        if not figure.get("unit") or not figure.get("kernel"):
            raise ValueError(f"{filename}: figure {key!r} needs a 'unit' and a 'kernel'")
    return result


class _ReferenceValues(Mapping[str, float]):
    """The ``value`` of each figure of a reference file, read on first use."""

    def __init__(self, filename: str) -> None:
        self._filename = filename

    def _values(self) -> dict[str, float]:
        figures = load_reference(self._filename)["figures"]
        return {key: float(figure["value"]) for key, figure in figures.items()}

    def __getitem__(self, key: str) -> float:
        values = self._values()
        if key not in values:
            raise KeyError(f"{self._filename} has no figure {key!r}; it has {sorted(values)}")
        return values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return f"<reference figures of {self._filename}>"


#: Reference points measured on an H100 (80 GB HBM3, torch 2.11, Triton 3.6) on
#: 2026-11-23, quoted, not measured by this book's build: ``H100_REFERENCE[key]`` is
#: the value of a figure of ``recorded/h100-reference.json`` in SI units (bytes/s,
#: flop/s, seconds). Bandwidths count bytes read plus written. The file, read with
#: :func:`load_reference`, says for each figure which kernel produced it.
H100_REFERENCE: Final[Mapping[str, float]] = _ReferenceValues(H100_REFERENCE_FILE)


def doublify_intensity() -> float:
    """Return the arithmetic intensity of in-place float32 doubling, in flops per byte.

    One multiplication per element, 4 bytes read and 4 written: 1/8.

    Returns
    -------
    float
        0.125.

    Examples
    --------
    >>> doublify_intensity()
    0.125
    """
    return 1.0 / 8.0


def matmul_flops(m: int, k: int, n: int) -> int:
    """Return the flops of an (m, k) @ (k, n) product: ``2 m n k``.

    Parameters
    ----------
    m, k, n : int
        The shapes, non-negative.

    Returns
    -------
    int
        One multiply and one add per term of each of the ``m n`` sums of length ``k``.

    Examples
    --------
    >>> matmul_flops(2, 3, 4)
    48
    """
    _check_sizes(m=m, k=k, n=n)
    return 2 * m * n * k


def matmul_intensity(m: int, k: int, n: int, bytes_per_element: int = 4) -> float:
    r"""Return the best arithmetic intensity of a matrix product, in flops per byte.

    .. math:: I = \frac{2mnk}{b\,(mk + kn + mn)},

    counting each input read once and the output written once (``b`` bytes each).

    Parameters
    ----------
    m, k, n : int
        The shapes, positive.
    bytes_per_element : int, default 4
        4 for float32.

    Returns
    -------
    float
        Flops per byte; ``n / 6`` for float32 squares of side ``n``.

    Examples
    --------
    >>> matmul_intensity(4096, 4096, 4096) * 6
    4096.0
    """
    _check_sizes(m=m, k=k, n=n, bytes_per_element=bytes_per_element)
    if min(m, k, n) == 0:
        raise ValueError(f"m, k, n must be positive, got {(m, k, n)}")
    return matmul_flops(m, k, n) / (bytes_per_element * (m * k + k * n + m * n))


def matmul_loads(m: int, k: int, n: int, block_m: int = 1, block_n: int = 1) -> int:
    r"""Return the elements loaded by a blocked product with (block_m, block_n) output blocks.

    .. math:: \text{loads} = k\,(m \lceil n / b_n \rceil + n \lceil m / b_m \rceil).

    Parameters
    ----------
    m, k, n : int
        The shapes, non-negative.
    block_m, block_n : int, default 1
        Rows and columns of C per program; 1 and 1 is one program per output.

    Returns
    -------
    int
        Elements of A and B read from memory (masked lanes at the edges excluded).

    Examples
    --------
    >>> matmul_loads(64, 64, 64) == 2 * 64**3  # one load per flop
    True
    >>> matmul_loads(64, 64, 64, 64, 64) == 2 * 64**2  # every element read once
    True
    """
    _check_sizes(m=m, k=k, n=n)
    if block_m < 1 or block_n < 1:
        raise ValueError(f"block_m and block_n must be >= 1, got {(block_m, block_n)}")
    return k * (m * math.ceil(n / block_n) + n * math.ceil(m / block_m))


def roofline(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """Return the roofline bound ``min(peak_flops, intensity * bandwidth)`` in flop/s.

    Parameters
    ----------
    intensity : float
        Arithmetic intensity in flops per byte, > 0.
    peak_flops : float
        The machine's peak, flop/s, > 0.
    bandwidth : float
        The machine's memory bandwidth, bytes/s, > 0.

    Returns
    -------
    float
        The attainable flop/s.

    Examples
    --------
    >>> roofline(0.125, 67e12, 3.35e12) / 1e12
    0.41875
    """
    for name, value in (
        ("intensity", intensity),
        ("peak_flops", peak_flops),
        ("bandwidth", bandwidth),
    ):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(min(peak_flops, intensity * bandwidth))


def load_bench(path: str | Path) -> dict[str, Any]:
    """Read a JSON file written by ``python -m derived.bench --out``.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    dict
        The result, with ``rows`` a list of dicts.

    Raises
    ------
    ValueError
        If the file is not a benchmark result (no ``rows`` or ``machine``).

    Examples
    --------
    >>> load_bench(find_recorded_bench("cpu.json"))["gpu"] is None
    True
    """
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(result, dict) or not {"rows", "machine"} <= set(result):
        raise ValueError(f"{path} is not a derived.bench result (needs 'rows' and 'machine')")
    return result


def find_recorded_bench(filename: str = "cpu.json") -> Path:
    """Return the path of a benchmark result that ships with the package.

    The book's chapters plot results recorded by ``python -m derived.bench --out`` on
    the machines that built it. They are package data (``derived/recorded/``), found
    through ``importlib.resources``, so a chapter finds them wherever it runs: in
    the book build, or downloaded as a notebook into any directory. To plot a result
    of your own, pass its path to :func:`load_bench` instead.

    Parameters
    ----------
    filename : str, default "cpu.json"
        The file's name in ``derived/recorded/``.

    Returns
    -------
    pathlib.Path
        The installed file.

    Raises
    ------
    FileNotFoundError
        If the package ships no such result; the message lists those it ships and
        says how to record one.

    Examples
    --------
    >>> find_recorded_bench("cpu.json").name
    'cpu.json'
    """
    folder = Path(str(resources.files("derived").joinpath(RECORDED)))
    path = folder / filename
    if not path.is_file():
        shipped = sorted(p.name for p in folder.glob("*.json"))
        raise FileNotFoundError(
            f"derived ships no recorded benchmark {filename!r} (it ships: "
            f"{', '.join(shipped) or 'none'}). Record one with: python -m derived.bench "
            f"--out {filename}, and read it with load_bench({filename!r})"
        )
    return path


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
