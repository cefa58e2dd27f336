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
- attention over B batches of H heads of length L and head dimension d costs
  :math:`4BHL^2d` flops (the products :math:`QK^\top` and :math:`PV`), half of
  that with a causal mask: ``4*B*H*L*L*d / median_s``, halved for causal rows.

Usage::

    python -m derived.bench --quick               # seconds on a CPU
    python -m derived.bench --out bench.json      # the full run
    python -m derived.bench --only gpu_matmul --only gpu_doublify
    python -m derived.bench --only gpu_attention --check-targets
    python -m derived.bench --list
    python -m derived.bench --check-targets       # exit 1 if a GPU target is missed

``ratio`` is always ``reference_median_s / median_s``: above 1, the measured
code is faster than its reference.
"""

from derived.bench.run import NOISE_MARGIN, SUITES, check_targets, main, run_suites
from derived.bench.run import _parse_only as _parse_only  # the command line's --only parser
from derived.bench.timing import ROW_KEYS, SuiteSkippedError, time_cpu

__all__ = [
    "NOISE_MARGIN",
    "ROW_KEYS",
    "SUITES",
    "SuiteSkippedError",
    "check_targets",
    "main",
    "run_suites",
    "time_cpu",
]
