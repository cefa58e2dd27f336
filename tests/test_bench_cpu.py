"""The CPU suites of the chapters Convolution and t-SNE in derived.bench: registered rows."""

from __future__ import annotations

import pytest

from derived import bench
from derived.bench import cpu_suites


def test_suites_are_registered_under_their_names():
    assert bench.SUITES["conv2d"] is cpu_suites.conv2d_suite
    assert bench.SUITES["tsne"] is cpu_suites.tsne_suite


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
