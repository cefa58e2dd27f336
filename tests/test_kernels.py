"""Tests for derived.kernels: Triton kernels against torch, on the CPU via the interpreter.

Where no CUDA GPU is present, the interpreter is switched on here, before Triton is
imported (Triton reads TRITON_INTERPRET when a kernel is decorated). The same tests
run on a GPU when there is one; tests marked ``gpu`` need one.
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from derived.check import check_doublify, check_grouped_tile  # noqa: E402
from derived.kernels import (  # noqa: E402
    MATMUL_METHODS,
    doublify,
    doublify_reference,
    grouped_tile,
    interpreter_active,
    kernel_device,
    matmul,
    matmul_reference,
    trace_memory,
)
from derived.roofline import matmul_loads  # noqa: E402
from kernel_env import torch  # torch, and the interpreter without a GPU

HAS_CUDA = torch.cuda.is_available()
DEVICE = kernel_device()
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")

# float32 unit roundoff: a sum of K products computed in any order in float32 is within
# K * U * (|A| |B|)_ij of the exact value (the standard gamma_K bound, first order).
U = 2.0**-24


def _random(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).to(DEVICE)


def _assert_matmul_close(c, a, b, factor=1.0):
    K = a.shape[1]
    exact = a.double() @ b.double()
    bound = factor * max(K, 1) * U * (a.double().abs() @ b.double().abs()) + 1e-30
    err = (c.double() - exact).abs()
    assert c.dtype == torch.float32
    assert c.shape == (a.shape[0], b.shape[1])
    assert bool((err <= bound).all()), f"max error/bound = {(err / bound).max().item():.3g}"


def test_interpreter_or_gpu():
    assert HAS_CUDA or interpreter_active()
    assert DEVICE == ("cuda" if HAS_CUDA else "cpu")


# ---------------------------------------------------------------- doublify


def test_doublify_passes_its_check():
    # torch's 2 * x on every length (empty, one block, one past a block, many programs),
    # special values, and a guard after x against unmasked stores, lives in derived.check
    check_doublify(doublify)


def test_doublify_works_in_place_and_returns_its_argument():
    x = _random((1000,), seed=1000)
    expected = doublify_reference(x.clone())
    assert doublify(x) is x
    assert torch.equal(x, expected)


@pytest.mark.parametrize("block_size", [16, 256, 4096])
def test_doublify_block_sizes(block_size):
    x = _random((1000,), seed=1)
    expected = 2 * x
    doublify(x, block_size=block_size)
    assert torch.equal(x, expected)


def test_doublify_keeps_special_values():
    x = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), 3.0e38, 1e-45], device=DEVICE)
    # 2 * 3e38 overflows to inf, as IEEE arithmetic says; the interpreter computes with
    # NumPy, which would warn about it (and warnings are errors in this suite).
    with np.errstate(over="ignore"):
        doublify(x)
    tiny = torch.tensor(1e-45)  # the smallest float32 subnormal, 2^-149; 2 * tiny is exact
    expected = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), float("inf"), 2 * tiny])
    assert torch.equal(x.cpu(), expected)
    assert torch.signbit(x[1]).item()


def test_doublify_any_shape():
    x = _random((3, 5, 7), seed=2)
    expected = 2 * x
    doublify(x)
    assert torch.equal(x, expected)
    assert x.shape == (3, 5, 7)


def test_doublify_errors():
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list"):
        doublify([1.0, 2.0])
    with pytest.raises(TypeError, match="x must have dtype torch.float32, got torch.float64"):
        doublify(torch.zeros(3, dtype=torch.float64, device=DEVICE))
    with pytest.raises(ValueError, match="x must be contiguous"):
        doublify(torch.zeros(10, device=DEVICE)[::2])
    with pytest.raises(ValueError, match="x must be contiguous"):
        doublify(torch.zeros(4, 6, device=DEVICE).T)
    with pytest.raises(ValueError, match="block_size must be a positive power of two, got 100"):
        doublify(torch.zeros(3, device=DEVICE), block_size=100)


# ---------------------------------------------------------------- matmul

# The naive kernel runs one program per entry of C; the interpreter runs programs one
# after another (about 2 ms each), so naive shapes stay small. (3, 130, 4) crosses the
# K block of 128, (17, 33, 5) is ragged in every dimension.
NAIVE_SHAPES = [(1, 1, 1), (17, 33, 5), (3, 130, 4), (6, 7, 9)]
TILED_SHAPES = [(1, 1, 1), (17, 33, 5), (64, 64, 64), (70, 45, 130), (3, 130, 4), (129, 1, 65)]


@pytest.mark.parametrize(("m", "k", "n"), NAIVE_SHAPES)
def test_matmul_naive_matches_float64(m, k, n):
    a, b = _random((m, k), seed=m), _random((k, n), seed=n + 100)
    _assert_matmul_close(matmul(a, b, method="naive"), a, b)


@pytest.mark.parametrize(("m", "k", "n"), TILED_SHAPES)
def test_matmul_tiled_matches_float64(m, k, n):
    a, b = _random((m, k), seed=m), _random((k, n), seed=n + 100)
    c = matmul(a, b)
    _assert_matmul_close(c, a, b)
    # and agrees with the reference (float64 rounded once) to float32 accuracy
    torch.testing.assert_close(c, matmul_reference(a, b), rtol=0, atol=k * U * 8 * max(k, 1) ** 0.5)


def test_matmul_strided_inputs():
    a = _random((40, 24), seed=3)
    b = _random((30, 24), seed=4).T  # (24, 30), column-major view
    for method in MATMUL_METHODS:
        if method == "naive":
            a_small, b_small = a[:5], b[:, :6]
            _assert_matmul_close(matmul(a_small, b_small, method=method), a_small, b_small)
        else:
            _assert_matmul_close(matmul(a, b, method=method), a, b)


def test_matmul_empty_and_k_zero():
    a = torch.zeros(0, 3, device=DEVICE)
    assert matmul(a, torch.zeros(3, 4, device=DEVICE)).shape == (0, 4)
    c = matmul(torch.zeros(2, 0, device=DEVICE), torch.zeros(0, 3, device=DEVICE))
    assert torch.equal(c.cpu(), torch.zeros(2, 3))


def test_matmul_small_integers_exact():
    # products and sums of small integers are exact in float32: any error is a bug
    g = torch.Generator().manual_seed(7)
    a = torch.randint(-8, 9, (33, 47), generator=g).float().to(DEVICE)
    b = torch.randint(-8, 9, (47, 21), generator=g).float().to(DEVICE)
    assert torch.equal(matmul(a, b).cpu(), (a.double() @ b.double()).float().cpu())
    assert torch.equal(
        matmul(a[:4], b[:, :5], method="naive").cpu(),
        (a[:4].double() @ b[:, :5].double()).float().cpu(),
    )


def test_matmul_errors():
    a = torch.zeros(2, 3, device=DEVICE)
    with pytest.raises(ValueError, match=r"inner dimensions differ: a has shape \(2, 3\)"):
        matmul(a, torch.zeros(4, 2, device=DEVICE))
    with pytest.raises(ValueError, match="method must be one of"):
        matmul(a, a.T, method="blocked")
    with pytest.raises(ValueError, match="allow_tf32=True needs method='tiled'"):
        matmul(a, a.T, method="naive", allow_tf32=True)
    with pytest.raises(TypeError, match="b must have dtype torch.float32"):
        matmul(a, a.T.double())
    with pytest.raises(ValueError, match=r"a must have 2 dimension\(s\)"):
        matmul(torch.zeros(3, device=DEVICE), a)
    with pytest.raises(TypeError, match="b must be a torch.Tensor, got ndarray"):
        matmul(a, np.zeros((3, 2), dtype=np.float32))


@pytest.mark.skipif(
    HAS_CUDA, reason="the CPU-without-interpreter error needs a machine without CUDA"
)
def test_cpu_without_interpreter_is_a_clear_error():
    # Launch a fresh interpreter without TRITON_INTERPRET: the launcher must refuse CPU tensors.
    import subprocess

    code = (
        "import torch\n"
        "from derived.kernels import doublify\n"
        "try:\n"
        "    doublify(torch.zeros(3))\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "code")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert "x is on the CPU" in out.stdout, out.stderr
    assert "TRITON_INTERPRET=1 before triton" in out.stdout


# ---------------------------------------------------------------- GPU only


@pytest.mark.gpu
@needs_gpu
def test_doublify_large_gpu():
    x = torch.randn(2**26 + 3, device="cuda")
    expected = 2 * x
    doublify(x)
    assert torch.equal(x, expected)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("method", MATMUL_METHODS)
def test_matmul_large_gpu(method):
    n = 1000 if method == "naive" else 2049
    a, b = _random((n, n - 7), seed=1), _random((n - 7, n + 5), seed=2)
    _assert_matmul_close(matmul(a, b, method=method), a, b)


@pytest.mark.gpu
@needs_gpu
def test_matmul_tf32_is_less_accurate_gpu():
    a, b = _random((512, 512), seed=1), _random((512, 512), seed=2)
    exact = a.double() @ b.double()
    err_ieee = (matmul(a, b).double() - exact).abs().max().item()
    err_tf32 = (matmul(a, b, allow_tf32=True).double() - exact).abs().max().item()
    # TF32 rounds inputs to 10 mantissa bits (u = 2^-11); float32 has 23 (u = 2^-24)
    assert err_tf32 > 10 * err_ieee
    _assert_matmul_close(matmul(a, b, allow_tf32=True), a, b, factor=2.0**13)


def test_missing_triton_is_a_clear_import_error():
    # Simulate an installation without the gpu extra: importing triton fails.
    import subprocess

    code = (
        "import sys\n"
        "sys.modules['triton'] = None\n"
        "import derived, derived.bench\n"
        "try:\n"
        "    import derived.kernels\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "code"))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert 'pip install "derived[gpu]"' in out.stdout, out.stderr


def test_dot_shape_minimums_of_the_pinned_triton():
    # What the matmul module says tl.dot requires (Triton 3.9, NVIDIA backend): float32
    # operands need K >= 8, float16 and bfloat16 K >= 16, and nothing of M or N.
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import CUDAOptions, min_dot_size

    bounds = min_dot_size(GPUTarget("cuda", 90, 32))
    for dtype, k_min in [(tl.float32, 8), (tl.float16, 16), (tl.bfloat16, 16)]:
        lhs, rhs = tl.block_type(dtype, [1, 1]), tl.block_type(dtype, [1, 1])
        assert bounds(lhs, rhs) == (1, 1, k_min)
    assert {"tf32", "tf32x3", "ieee"} <= set(CUDAOptions.allowed_dot_input_precisions)


def test_dot_default_precision_of_the_pinned_triton():
    # Triton 3.9's tl.dot does not read CUDAOptions.default_dot_input_precision: without
    # input_precision it takes TRITON_F32_DEFAULT if set, else "tf32" where the backend
    # allows it (the NVIDIA backend always lists it), else "ieee".
    import triton
    import triton.language.core as core
    from triton.backends.nvidia.compiler import CUDAOptions

    # read the file: the interpreter replaces core.dot once a kernel has run
    module = Path(core.__file__).read_text(encoding="utf-8")
    start = module.index("\ndef dot(")
    source = module[start : module.index("\ndef ", start + 1)]
    assert "knobs.language.fp32_default or" in source
    assert "default_dot_input_precision" not in source
    assert "tf32" in CUDAOptions.allowed_dot_input_precisions
    assert os.environ.get("TRITON_F32_DEFAULT") == triton.knobs.language.fp32_default


def test_autotune_configurations():
    # Every block size a power of two (tl.arange), every step along K at least tl.dot's
    # float32 minimum on an H100 (8), and the autotuner keyed on shape and precision.
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import min_dot_size

    kernels = sys.modules["derived.kernels.matmul"]  # the name matmul is the function
    k_min = min_dot_size(GPUTarget("cuda", 90, 32))(
        tl.block_type(tl.float32, [1, 1]), tl.block_type(tl.float32, [1, 1])
    )[2]
    sizes = [s for config in kernels.AUTOTUNE_CONFIGS for s in config[:3]]
    sizes += [kernels.TILE_M, kernels.TILE_N, kernels.TILE_K, kernels.GROUP_M]
    assert all(s > 0 and s & (s - 1) == 0 for s in sizes)
    assert min(min(c[2] for c in kernels.AUTOTUNE_CONFIGS), kernels.TILE_K) >= k_min
    tuner = kernels._autotuned_tiled_kernel()
    assert list(tuner.keys) == list(kernels.AUTOTUNE_KEY)
    assert "INPUT_PRECISION" in tuner.keys
    built = [
        (c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.kwargs["BLOCK_K"], c.num_warps, c.num_stages)
        for c in tuner.configs
    ]
    assert built == list(kernels.AUTOTUNE_CONFIGS)


@pytest.mark.skipif(HAS_CUDA, reason="the interpreter's behaviour; on a GPU TF32 differs")
def test_interpreter_ignores_input_precision():
    a, b = _random((40, 70), 1), _random((70, 30), 2)
    assert torch.equal(matmul(a, b, allow_tf32=True), matmul(a, b))


# ---------------------------------------------------------------- grouped ordering


def test_grouped_tile_passes_its_check():
    # the launch order built directly, on grids of every shape, lives in derived.check
    check_grouped_tile(grouped_tile)


def test_grouped_tile_with_one_row_per_group_is_row_major():
    for p in range(5 * 7):
        assert grouped_tile(p, 5, 7, 1) == divmod(p, 7)


def test_grouped_tile_errors():
    with pytest.raises(ValueError, match="pid must be < tiles_m \\* tiles_n = 6, got 6"):
        grouped_tile(6, 2, 3, 1)
    with pytest.raises(ValueError, match="group_m must be >= 1, got 0"):
        grouped_tile(0, 2, 3, 0)
    with pytest.raises(ValueError, match="pid must be >= 0, got -1"):
        grouped_tile(-1, 2, 3, 1)
    with pytest.raises(TypeError, match="tiles_n must be an int, got float"):
        grouped_tile(0, 2, 3.0, 1)


# ---------------------------------------------------------------- traced memory traffic

interpreter_only = pytest.mark.skipif(HAS_CUDA, reason="traces the interpreter's programs")


def _in(t, addresses):
    """The element offsets into t's storage of the addresses that fall inside t."""
    offsets = (addresses.astype(np.int64) - t.data_ptr()) // t.element_size()
    return offsets[(offsets >= 0) & (offsets < t.numel())]


def _count(accesses, kind, t):
    return sum(_in(t, a.addresses).size for a in accesses if a.kind == kind)


@interpreter_only
@pytest.mark.parametrize("n", [1, 1000, 1024, 2500])
def test_trace_memory_sees_every_element_of_doublify_once(n):
    x = _random((n,), seed=n)
    with trace_memory() as accesses:
        doublify(x)
    for kind in ("load", "store"):
        offsets = np.concatenate([_in(x, a.addresses) for a in accesses if a.kind == kind])
        assert sorted(offsets.tolist()) == list(range(n))


@interpreter_only
@pytest.mark.parametrize(("m", "k", "n"), [(17, 33, 5), (3, 130, 4)])
def test_traced_loads_of_the_naive_kernel(m, k, n):
    a, b = _random((m, k), seed=1), _random((k, n), seed=2)
    with trace_memory() as accesses:
        matmul(a, b, method="naive")
    assert _count(accesses, "load", a) == _count(accesses, "load", b) == m * n * k
    assert _count(accesses, "load", a) + _count(accesses, "load", b) == matmul_loads(m, k, n)


@interpreter_only
@pytest.mark.parametrize(("m", "k", "n"), [(70, 45, 130), (129, 1, 65), (64, 64, 64)])
def test_traced_loads_of_the_tiled_kernel(m, k, n):
    kernels = sys.modules["derived.kernels.matmul"]
    a, b = _random((m, k), seed=1), _random((k, n), seed=2)
    with trace_memory() as accesses:
        matmul(a, b)
    traced = _count(accesses, "load", a) + _count(accesses, "load", b)
    assert traced == matmul_loads(m, k, n, kernels.TILE_M, kernels.TILE_N)


@interpreter_only
def test_tiled_programs_store_the_tiles_grouped_tile_names():
    # Launch the kernel itself with small blocks, so that the grid is ragged (7 x 5 tiles)
    # and the last group shorter (GROUP_M = 3): program p must write exactly its tile.
    kernels = sys.modules["derived.kernels.matmul"]
    bm, bn, group_m = 16, 8, 3
    m, k, n = 100, 20, 37
    a, b = _random((m, k), seed=1), _random((k, n), seed=2)
    c = torch.zeros(m, n, device=DEVICE)
    tiles_m, tiles_n = -(-m // bm), -(-n // bn)
    with trace_memory() as accesses:
        kernels._matmul_tiled_kernel[(tiles_m * tiles_n,)](
            a, b, c, m, n, k, *a.stride(), *b.stride(), *c.stride(),
            BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=16, GROUP_M=group_m, INPUT_PRECISION="ieee",
        )  # fmt: skip
    stores = [acc for acc in accesses if acc.kind == "store"]
    assert len(stores) == tiles_m * tiles_n
    for acc in stores:
        row, col = grouped_tile(acc.program[0], tiles_m, tiles_n, group_m)
        i, j = np.divmod(_in(c, acc.addresses), n)
        expected = {(r, s) for r in range(row * bm, min(m, row * bm + bm))
                    for s in range(col * bn, min(n, col * bn + bn))}  # fmt: skip
        assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    _assert_matmul_close(c, a, b)


def _loads_with_and_without_other():
    """A kernel that loads four ways: masked with other, masked without, all on, unmasked."""
    import triton
    import triton.language as tl

    @triton.jit
    def kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        offsets = tl.arange(0, BLOCK)
        mask = offsets < n
        total = tl.load(x_ptr + offsets, mask=mask, other=0.0)
        total += tl.load(x_ptr + offsets, mask=mask)  # lanes n, n + 1, ... undefined
        total += tl.load(x_ptr + offsets, mask=offsets < BLOCK)  # every lane on
        total += tl.load(x_ptr + offsets)
        tl.store(y_ptr + offsets, total, mask=mask)

    return kernel


@interpreter_only
def test_trace_memory_tells_whether_a_masked_load_gives_other():
    kernel = _loads_with_and_without_other()
    x, y = _random((16,), seed=3), torch.zeros(16, device=DEVICE)
    with trace_memory() as accesses:
        kernel[(1,)](x, y, 10, BLOCK=16)
    loads = [a for a in accesses if a.kind == "load"]
    assert [a.addresses.size for a in loads] == [10, 10, 16, 16]
    assert [a.defined for a in loads] == [True, False, True, True]
    assert all(a.defined for a in accesses if a.kind == "store")
    with trace_memory() as accesses:  # nothing switched off: every load is defined
        kernel[(1,)](x, y, 16, BLOCK=16)
    assert all(a.defined for a in accesses)
    old = type(loads[0])("load", (0, 0, 0), loads[0].addresses)  # built as before: defined
    assert old.defined


@interpreter_only
def test_trace_memory_restores_the_builder():
    from triton.runtime import interpreter

    builder = interpreter.interpreter_builder
    with trace_memory():
        assert "create_masked_load" in vars(builder)
    assert "create_masked_load" not in vars(builder)
    assert "create_masked_store" not in vars(builder)
    x = _random((10,), seed=0)
    expected = 2 * x
    doublify(x)  # and the kernels still run
    assert torch.equal(x, expected)


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_trace_memory_refuses_without_the_interpreter():
    with pytest.raises(RuntimeError, match="needs Triton's interpreter"):
        with trace_memory():
            pass
