"""The Triton and GPU suites: smoke test, copies, doublify, matrix products, attention.

Each raises :class:`~derived.bench.timing.SuiteSkippedError` where it cannot run (no torch,
no CUDA GPU, no Triton); ``triton_smoke`` runs under Triton's interpreter without a GPU.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import numpy as np

from derived.bench.timing import (
    SuiteSkippedError,
    _require_cuda,
    _row,
    _time_cuda,
    _vector_sizes,
    time_cpu,
)

__all__ = [
    "ATTENTION_LENGTHS",
    "gpu_attention_suite",
    "gpu_copy_suite",
    "gpu_doublify_suite",
    "gpu_matmul_suite",
    "triton_smoke_suite",
]

#: Sequence lengths of the ``gpu_attention`` suite (``--quick``: 1024 and 4096).
ATTENTION_LENGTHS = (512, 1024, 2048, 4096, 8192, 16384)

#: Heads and head dimension of the ``gpu_attention`` suite.
ATTENTION_HEADS, ATTENTION_HEAD_DIM = 16, 64


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


def attention_batch(seq_len: int) -> int:
    """Batch size of the ``gpu_attention`` suite at length ``seq_len``.

    4 up to L = 4096 (64 heads of work: at least 4 x 64 = 256 programs of 128 queries,
    enough for every streaming multiprocessor of a large GPU), then halved each time L
    doubles, so that the B L tokens, and the memory of q, k, v and the output, stay at
    those of L = 4096 (the work still grows as L^2).

    Examples
    --------
    >>> [attention_batch(n) for n in ATTENTION_LENGTHS]
    [4, 4, 4, 4, 2, 1]
    """
    return max(1, 4 * 4096 // max(seq_len, 4096))


def gpu_attention_suite(quick: bool) -> list[dict[str, Any]]:
    r"""FlashAttention forward in float16: the Triton kernel against torch's fused attention.

    ``derived.kernels.flash_attention`` against
    ``torch.nn.functional.scaled_dot_product_attention`` (whichever fused backend torch
    dispatches to; without ``--quick`` each backend that accepts the inputs, FlashAttention,
    cuDNN, memory-efficient, is also timed on its own), float16, B = :func:`attention_batch`,
    H = 16, d = 64, L in :data:`ATTENTION_LENGTHS`, causal and not.

    Throughput counts the two matrix products, :math:`QK^\top` and :math:`PV`, each
    :math:`2 L^2 d` flops per head: ``flops = 4 * B * H * L * L * d``, halved for causal
    attention (half of the scores are masked, and both kernels skip them). The softmax's
    exponentials are not counted. Each Triton row also records the largest difference from
    torch's output; a difference above 1e-2 (float16 has 11 significant bits) fails the run.
    """
    torch = _require_cuda()
    kernels = _import_kernels()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    backends = {}
    if not quick:
        backends = {
            "flash": SDPBackend.FLASH_ATTENTION,
            "cudnn": SDPBackend.CUDNN_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION,
        }
    h, d = ATTENTION_HEADS, ATTENTION_HEAD_DIM
    rows = []
    for seq_len in (1024, 4096) if quick else ATTENTION_LENGTHS:
        b = attention_batch(seq_len)
        gen = torch.Generator(device="cuda").manual_seed(seq_len)
        q, k, v = (
            torch.randn(b, h, seq_len, d, device="cuda", dtype=torch.float16, generator=gen)
            for _ in range(3)
        )
        size = f"{b}x{h}x{seq_len}x{d}"
        for causal in (False, True):
            flops = 4 * b * h * seq_len * seq_len * d // (2 if causal else 1)
            suffix = " causal" if causal else ""
            extra = {"shape": [b, h, seq_len, d], "seq_len": seq_len, "causal": causal}
            out = kernels.flash_attention(q, k, v, is_causal=causal)
            diff = float((out - sdpa(q, k, v, is_causal=causal)).abs().max())
            del out
            t_ref = _time_cuda(partial(sdpa, q, k, v, is_causal=causal))
            t = _time_cuda(partial(kernels.flash_attention, q, k, v, is_causal=causal))
            ref = f"torch sdpa fp16{suffix}"
            rows += [
                _row("gpu_attention", f"triton flash_attention{suffix}", size, t, ref, t_ref,
                     tflops=flops / t / 1e12, max_abs_diff=diff, correct=diff <= 1e-2, **extra),
                _row("gpu_attention", ref, size, t_ref, ref, t_ref, tflops=flops / t_ref / 1e12,
                     **extra),
            ]  # fmt: skip
            for backend_name, backend in backends.items():
                try:
                    with sdpa_kernel(backend):
                        t_backend = _time_cuda(partial(sdpa, q, k, v, is_causal=causal))
                except RuntimeError:  # this backend does not take these inputs here
                    continue
                rows.append(
                    _row("gpu_attention", f"torch sdpa [{backend_name}]{suffix}", size, t_backend,
                         ref, t_ref, tflops=flops / t_backend / 1e12, **extra)
                )  # fmt: skip
        del q, k, v
    wrong = [row for row in rows if row.get("correct") is False]
    if wrong:
        raise AssertionError(f"the Triton attention kernel differs from torch's: {wrong}")
    return rows
