"""GPU kernels written in Triton, each beside a plain reference (the book's GPU chapter).

Three lessons, one module each:

========================  ====================================================
``doublify``              ``x *= 2`` in place: the simplest memory-bound kernel
``matmul``                ``A @ B`` in float32, one program per output element
                          (``"naive"``) or per tile (``"tiled"``)
``flash_attention``       attention block by block with the online softmax,
                          never forming the ``L x L`` scores (the FlashAttention chapter)
========================  ====================================================

Under the interpreter, ``trace_memory`` records the loads and stores the kernels
issue, so that their memory traffic can be counted rather than assumed.

Triton is an optional extra: ``pip install "derived[gpu]"``. Nothing else in the
package needs it, and ``import derived`` never imports it. Importing this
subpackage imports Triton, so a missing Triton gives one clear ``ImportError``.

Kernels run on a CUDA GPU, or on the CPU through Triton's interpreter. The
interpreter is chosen when Triton decorates a kernel, that is when this package is
first imported, so set the environment variable *before* the import::

    import os
    os.environ["TRITON_INTERPRET"] = "1"  # before triton / derived.kernels
    from derived.kernels import doublify

Examples
--------
>>> from derived.kernels import doublify, matmul  # doctest: +SKIP
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
    import triton  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "derived.kernels needs PyTorch and Triton, which are optional extras of derived. "
        'Install them with: pip install "derived[gpu]"  '
        f"(import failed with: {error})"
    ) from None

from derived.kernels._device import MemoryAccess, interpreter_active, kernel_device, trace_memory
from derived.kernels.doublify import doublify, doublify_reference
from derived.kernels.flash_attention import flash_attention
from derived.kernels.matmul import MATMUL_METHODS, grouped_tile, matmul, matmul_reference

__all__ = [
    "MATMUL_METHODS",
    "MemoryAccess",
    "doublify",
    "doublify_reference",
    "flash_attention",
    "grouped_tile",
    "interpreter_active",
    "kernel_device",
    "matmul",
    "matmul_reference",
    "trace_memory",
]
