"""Tests for derived.bench: the command line, the JSON it writes, the timing and targets."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from derived import bench
from derived.roofline import find_recorded_bench

CODE = Path(__file__).resolve().parents[1] / "code"


def _run_cli(*args, cwd=None):
    env = {"PYTHONPATH": str(CODE), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "derived.bench", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def test_quick_run_writes_documented_json(tmp_path):
    out = tmp_path / "tmp.json"
    done = _run_cli("--quick", "--only", "numpy_doublify", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "numpy x *= 2" in done.stdout  # the table
    result = json.loads(out.read_text())
    for key in ("machine", "gpu", "versions", "sizes", "rows", "skipped", "quick", "suites"):
        assert key in result
    assert result["quick"] is True
    assert result["suites"] == ["numpy_doublify"]
    assert {"platform", "cpu_count"} <= set(result["machine"])
    assert {"python", "numpy", "torch", "triton", "derived"} <= set(result["versions"])
    assert result["sizes"]["numpy_doublify"] == [2**e for e in range(10, 21, 2)]
    for row in result["rows"]:
        assert set(bench.ROW_KEYS) <= set(row)
        assert row["median_s"] > 0
        assert row["ratio"] == pytest.approx(row["reference_median_s"] / row["median_s"])
        # metric formula: bytes moved = 2 * 4 * N
        assert row["gbps"] == pytest.approx(8 * row["size"] / row["median_s"] / 1e9)


def test_list_names_every_suite():
    done = _run_cli("--list")
    assert done.returncode == 0, done.stderr
    for name in bench.SUITES:
        assert name in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "nonsense"], "unknown suite(s) nonsense; choose from"),
        (["--only", "numpy_doublify,bogus"], "unknown suite(s) bogus"),
        (["--out", "results.txt"], "--out must name a .json file"),
        (["--repeats", "3"], "unrecognized arguments: --repeats"),
    ],
)
def test_bad_arguments_are_clear_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_arguments_message_on_stderr():
    done = _run_cli("--only", "nonsense")
    assert done.returncode == 2
    assert "unknown suite(s) nonsense; choose from numpy_doublify" in done.stderr


def test_only_accepts_repeats_and_commas():
    assert bench._parse_only(["numpy_matmul", "numpy_doublify,numpy_matmul"]) == [
        "numpy_matmul",
        "numpy_doublify",
    ]
    assert bench._parse_only(None) == list(bench.SUITES)


def test_run_suites_rejects_unknown():
    with pytest.raises(ValueError, match=r"unknown suite\(s\) \['x'\]"):
        bench.run_suites(["x"], quick=True)


def test_gpu_suites_skip_with_reason_without_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is present: the GPU suites run instead of skipping")
    result = bench.run_suites(["gpu_copy"], quick=True)
    assert result["rows"] == []
    assert "no CUDA GPU" in result["skipped"]["gpu_copy"]


def test_gpu_attention_suite_skips_without_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is present: the GPU suite runs instead of skipping")
    result = bench.run_suites(["gpu_attention"], quick=True)
    assert result["rows"] == []
    assert "no CUDA GPU" in result["skipped"]["gpu_attention"]


def test_gpu_attention_suite_shapes():
    from derived.bench import gpu_suites

    assert bench.SUITES["gpu_attention"] is gpu_suites.gpu_attention_suite
    lengths = gpu_suites.ATTENTION_LENGTHS
    assert lengths == (512, 1024, 2048, 4096, 8192, 16384)
    batches = [gpu_suites.attention_batch(n) for n in lengths]
    assert batches == [4, 4, 4, 4, 2, 1]
    # from L = 4096 on, the tokens B * L (and so the memory of q, k, v) stay the same
    assert {b * n for b, n in zip(batches, lengths, strict=True) if n >= 4096} == {4 * 4096}


@pytest.mark.gpu
def test_gpu_attention_suite_quick_rows_on_a_gpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    rows = bench.run_suites(["gpu_attention"], quick=True)["rows"]
    triton_rows = [r for r in rows if r["name"].startswith("triton")]
    assert {(r["seq_len"], r["causal"]) for r in triton_rows} == {
        (n, c) for n in (1024, 4096) for c in (False, True)
    }
    for row in rows:
        assert set(bench.ROW_KEYS) <= set(row)
        b, h, n, d = row["shape"]
        flops = 4 * b * h * n * n * d / (2 if row["causal"] else 1)
        assert row["tflops"] == pytest.approx(flops / row["median_s"] / 1e12)
    assert all(r["correct"] for r in triton_rows)
    assert bench.check_targets(rows)[2]["measured"] is not None


def test_time_cpu_measures_a_known_sleep():
    import time

    t = bench.time_cpu(lambda: time.sleep(0.002), repeats=3, min_time=0.0)
    assert 0.0019 < t < 0.05
    with pytest.raises(ValueError, match="repeats must be >= 1, got 0"):
        bench.time_cpu(lambda: None, repeats=0)


def _rows(doublify_ratio, matmul_ratio, attention_ratio=0.7, causal_ratio=0.8):
    return [
        {"name": "triton doublify", "reference": "torch x.mul_(2)", "size": 2**26,
         "ratio": doublify_ratio},
        {"name": "triton doublify", "reference": "torch x.mul_(2)", "size": 2**12, "ratio": 0.1},
        {"name": "triton matmul tiled (ieee)", "size": "4096x4096x4096", "ratio": matmul_ratio},
        {"name": "triton flash_attention", "size": "4x16x4096x64", "seq_len": 4096,
         "ratio": attention_ratio},
        {"name": "triton flash_attention causal", "size": "4x16x4096x64", "seq_len": 4096,
         "ratio": causal_ratio},
        {"name": "triton flash_attention", "size": "4x16x512x64", "seq_len": 512, "ratio": 0.1},
        {"name": "torch sdpa fp16", "size": "4x16x4096x64", "seq_len": 4096, "ratio": 0.1},
    ]  # fmt: skip


def test_check_targets_with_noise_margin():
    margin = bench.NOISE_MARGIN
    ok = bench.check_targets(_rows(0.95 - margin + 1e-9, 0.80 - margin + 1e-9))
    assert [t["passed"] for t in ok] == [True, True, True]  # small sizes do not count
    missed = bench.check_targets(_rows(0.95 - margin - 0.01, 0.85))
    assert [t["passed"] for t in missed] == [False, True, True]
    missed = bench.check_targets(_rows(1.0, 0.80 - margin - 0.01))
    assert [t["passed"] for t in missed] == [True, False, True]
    assert [t["passed"] for t in bench.check_targets([])] == [False, False, False]


def test_attention_target_is_the_worse_of_causal_and_not_at_4096():
    margin = bench.NOISE_MARGIN
    target = bench.check_targets(_rows(1.0, 1.0, 0.9, 0.60 - margin + 1e-9))[2]
    assert "flash_attention" in target["target"]
    assert "4096" in target["target"]
    assert target["required"] == 0.60
    assert target["measured"] == pytest.approx(0.60 - margin + 1e-9)
    assert target["passed"]
    target = bench.check_targets(_rows(1.0, 1.0, 0.60 - margin - 0.01, 0.9))[2]
    assert not target["passed"]
    # L = 512 and torch's own rows do not count
    only_small = [r for r in _rows(1.0, 1.0) if r.get("seq_len") != 4096]
    assert bench.check_targets(only_small)[2]["measured"] is None


def test_recorded_cpu_quick_json_is_valid():
    path = find_recorded_bench("cpu-quick.json")
    result = json.loads(path.read_text())
    assert result["gpu"] is None
    assert {"numpy_doublify", "numpy_matmul", "triton_smoke"} <= set(result["sizes"])
    assert all(row["correct"] for row in result["rows"] if row["suite"] == "triton_smoke")


def test_importing_bench_imports_neither_torch_nor_triton():
    code = "import sys, derived.bench; print('torch' in sys.modules, 'triton' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(CODE), "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.split() == ["False", "False"], done.stderr
