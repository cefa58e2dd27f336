"""The CPU suites of the chapters Convolution, t-SNE and FlashAttention in derived.bench."""

from __future__ import annotations

import pytest

from derived import bench
from derived.bench import cpu_suites


def test_suites_are_registered_under_their_names():
    assert bench.SUITES["conv2d"] is cpu_suites.conv2d_suite
    assert bench.SUITES["tsne"] is cpu_suites.tsne_suite
    assert bench.SUITES["cpu_attention"] is cpu_suites.cpu_attention_suite


def test_quick_conv2d_rows_are_ratios_against_torch():
    rows = bench.run_suites(["conv2d"], quick=True)["rows"]
    assert [r["reference"] for r in rows] == [
        "torch conv2d fwd+bwd (f64)",
        "torch conv2d fwd+bwd (f32)",
    ]
    for row in rows:
        assert set(bench.ROW_KEYS) <= set(row)
        assert row["median_s"] > 0
        assert row["ratio"] == pytest.approx(row["reference_median_s"] / row["median_s"])
        assert row["size"] == "8x16x16x16->32, 3x3"


def test_quick_cpu_attention_rows_compare_blocked_with_dense():
    rows = bench.run_suites(["cpu_attention"], quick=True)["rows"]
    assert [(r["size"], r["causal"]) for r in rows] == [
        (256, False), (256, True), (1024, False), (1024, True)
    ]  # fmt: skip
    for row in rows:
        assert set(bench.ROW_KEYS) <= set(row)
        suffix = " causal" if row["causal"] else ""
        assert row["name"] == "flash_attention_reference" + suffix
        assert row["reference"] == "dense attention" + suffix
        assert row["ratio"] == pytest.approx(row["reference_median_s"] / row["median_s"])
        assert row["max_abs_diff"] < 1e-12  # the same attention, to float64 rounding
        # the dense scores alone are L^2 float64 numbers; the blocked version never holds them
        assert row["reference_peak_mib"] * 2**20 >= 8 * row["size"] ** 2
        assert row["peak_mib"] < row["reference_peak_mib"]
        if row["size"] >= 1024:  # the output (L d numbers) and a few blocks, not L^2
            assert row["peak_mib"] < row["reference_peak_mib"] / 10


def test_peak_bytes_sees_an_allocation():
    import numpy as np

    peak = cpu_suites._peak_bytes(lambda: np.ones(2**20))
    assert 8 * 2**20 <= peak < 9 * 2**20
