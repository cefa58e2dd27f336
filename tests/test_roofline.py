"""Tests for derived.roofline: intensities, the roofline, and load counts by brute force."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.roofline import (
    H100_REFERENCE,
    H100_REFERENCE_FILE,
    doublify_intensity,
    find_recorded_bench,
    load_bench,
    load_reference,
    matmul_flops,
    matmul_intensity,
    matmul_loads,
    roofline,
)


def brute_force_loads(m, k, n, block_m, block_n):
    """Walk the programs of a blocked product and count the in-bounds elements each loads."""
    total = 0
    for i0 in range(0, m, block_m):
        for j0 in range(0, n, block_n):
            rows = np.arange(i0, i0 + block_m) < m  # mask of live rows of the A panel
            cols = np.arange(j0, j0 + block_n) < n  # mask of live columns of the B panel
            total += int(rows.sum()) * k + k * int(cols.sum())  # A panel + B panel
    return total


@settings(max_examples=50, deadline=None)
@given(
    m=st.integers(1, 40),
    k=st.integers(0, 20),
    n=st.integers(1, 40),
    block_m=st.integers(1, 16),
    block_n=st.integers(1, 16),
)
def test_matmul_loads_matches_brute_force(m, k, n, block_m, block_n):
    assert matmul_loads(m, k, n, block_m, block_n) == brute_force_loads(m, k, n, block_m, block_n)


def test_naive_scheme_is_one_load_per_flop():
    assert matmul_loads(17, 33, 5) == matmul_flops(17, 33, 5)


def test_tiled_loads_per_flop_formula():
    n = 4096
    loads = matmul_loads(n, n, n, 64, 64)
    assert loads / matmul_flops(n, n, n) == pytest.approx(0.5 * (1 / 64 + 1 / 64), rel=1e-15)


def test_intensities():
    assert doublify_intensity() == 1 / 8
    assert matmul_intensity(4096, 4096, 4096) == pytest.approx(4096 / 6, rel=1e-15)
    # non-square: 2*2*3*4 flops / (4 bytes * (2*3 + 3*4 + 2*4)) = 48 / 104
    assert matmul_intensity(2, 3, 4) == pytest.approx(48 / 104, rel=1e-15)
    assert matmul_intensity(2, 3, 4, bytes_per_element=8) == pytest.approx(48 / 208, rel=1e-15)


def test_roofline_both_regimes():
    peak, bandwidth = 67e12, 3.35e12
    ridge = peak / bandwidth
    assert roofline(0.125, peak, bandwidth) == pytest.approx(0.125 * bandwidth, rel=1e-15)
    assert roofline(10 * ridge, peak, bandwidth) == peak
    assert roofline(ridge, peak, bandwidth) == pytest.approx(peak, rel=1e-15)


def test_reference_points_are_consistent():
    # the Triton doublify reference point is at the copy ceiling (within 2%)
    ratio = H100_REFERENCE["doublify_triton_bytes_per_s"] / H100_REFERENCE["copy_bytes_per_s"]
    assert math.isclose(ratio, 1.0, rel_tol=0.02)
    assert (
        H100_REFERENCE["matmul_4096_naive_cuda_flops"]
        < H100_REFERENCE["matmul_4096_cublas_fp32_flops"]
    )


def test_errors():
    with pytest.raises(ValueError, match="m must be a non-negative integer, got -1"):
        matmul_flops(-1, 2, 3)
    with pytest.raises(ValueError, match="k must be a non-negative integer, got 2.5"):
        matmul_loads(1, 2.5, 3)
    with pytest.raises(ValueError, match="block_m and block_n must be >= 1"):
        matmul_loads(1, 2, 3, 0, 1)
    with pytest.raises(ValueError, match=r"m, k, n must be positive, got \(0, 2, 3\)"):
        matmul_intensity(0, 2, 3)
    with pytest.raises(ValueError, match="bandwidth must be a positive finite number"):
        roofline(1.0, 1.0, float("nan"))
    with pytest.raises(ValueError, match="intensity must be a positive finite number"):
        roofline(0.0, 1.0, 1.0)


def test_load_bench(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"rows": [], "machine": {}}))
    assert load_bench(good)["rows"] == []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="is not a derived.bench result"):
        load_bench(bad)


def test_find_recorded_bench(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # package data: found from any directory
    path = find_recorded_bench("cpu.json")
    assert path.is_file()
    assert load_bench(path)["rows"]
    (tmp_path / "mine.json").write_text("{}")  # a file here is not package data
    with pytest.raises(
        FileNotFoundError, match=r"ships: cpu-quick.json, cpu.json, h100-reference.json.*--out mine"
    ):
        find_recorded_bench("mine.json")


def test_reference_file_has_provenance_for_every_figure():
    ref = load_reference(H100_REFERENCE_FILE)
    assert ref["date"] == "2026-11-23"
    assert ref["machine"]["gpu"] == "NVIDIA H100 80GB HBM3"
    assert ref["versions"]["torch"].startswith("2.11")
    assert ref["versions"]["triton"] == "3.6"
    assert ref["method"]["warmup_calls"] == 3
    assert ref["method"]["repeats"] == 20
    for key, figure in ref["figures"].items():
        assert figure["unit"] in {"bytes/s", "flop/s", "s", "elements"}, key
        assert figure["kernel"], key
        assert figure["what"], key
        assert H100_REFERENCE[key] == figure["value"]
    assert set(H100_REFERENCE) == set(ref["figures"])


def test_reference_attributes_each_matmul_figure_to_its_kernel():
    figures = load_reference()["figures"]
    # the one-thread-per-output and 32 x 32 figures are CUDA C kernels, not the book's Triton
    assert "CUDA C" in figures["matmul_4096_naive_cuda_flops"]["kernel"]
    assert "CUDA C" in figures["matmul_4096_tiled32_cuda_flops"]["kernel"]
    assert "Triton" in figures["matmul_4096_triton_fp32_flops"]["kernel"]
    assert "ieee" in figures["matmul_4096_triton_fp32_flops"]["kernel"]
    # the figures as published: 5.3, 8.8, 42.4, 51.1 and 380 TFLOP/s
    expected = {"naive_cuda": 5.3, "tiled32_cuda": 8.8, "triton_fp32": 42.4}
    for name, tflops in {**expected, "cublas_fp32": 51.1, "cublas_tf32": 380}.items():
        assert H100_REFERENCE[f"matmul_4096_{name}_flops"] == pytest.approx(tflops * 1e12)


def test_reference_unknown_key_and_bad_file(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match="has no figure 'nope'"):
        H100_REFERENCE["nope"]
    bad = tmp_path / "bad.json"
    figure = {"value": float("nan"), "unit": "s", "kernel": "k"}
    provenance = {"date": "", "machine": {}, "versions": {}, "method": {}}
    bad.write_text(json.dumps({**provenance, "figures": {"t": figure}}))
    monkeypatch.setattr("derived.roofline.find_recorded_bench", lambda name: bad)
    loader = load_reference.__wrapped__  # bypass the cache
    with pytest.raises(ValueError, match="figure 't' has no finite value"):
        loader("bad.json")
    bad.write_text(json.dumps({**provenance, "figures": {"t": {"value": 1.0, "unit": "s"}}}))
    with pytest.raises(ValueError, match="needs a 'unit' and a 'kernel'"):
        loader("bad.json")
    bad.write_text(json.dumps({"figures": {}}))
    with pytest.raises(ValueError, match="is not a reference file"):
        loader("bad.json")
