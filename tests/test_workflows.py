"""The GitHub workflow files are valid against the GitHub Actions schema (offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"book.yml", "tests.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_schema(workflow):
    # check-jsonschema vendors the GitHub workflow schema: no network needed.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_what_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("make test", "make book", "make pdf"):
        assert command in readme
        assert command in ci


def test_cpu_workflows_install_through_the_makefile_switch():
    """The hosted workflows choose the CPU build of torch the way the README tells a reader
    (make ... TORCH=cpu), not with an index of their own."""
    for name in ("book.yml", "release.yml", "tests.yml"):
        text = (ROOT / ".github" / "workflows" / name).read_text()
        assert "download.pytorch.org" not in text, name
        calls = [
            line.strip()
            for line in text.splitlines()
            if " make " in f" {line.strip().removeprefix('run:').strip()} "
            and "make deps" not in line
            and not line.strip().startswith(("#", "- name:"))
        ]
        assert calls, name
        for call in calls:
            assert "TORCH=cpu" in call, f"{name}: {call}"
    assert "TORCH=cpu" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize(("torch", "index"), [("cpu", True), ("default", False)])
def test_makefile_torch_switch_exports_the_cpu_index(torch, index):
    result = subprocess.run(
        ["make", "-s", "-p", "-n", "help", f"TORCH={torch}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PIP_EXTRA_INDEX_URL"},
    )
    exported = "https://download.pytorch.org/whl/cpu" in result.stdout
    assert exported == index


def test_makefile_rejects_an_unknown_torch_build():
    result = subprocess.run(
        ["make", "-s", "-n", "help", "TORCH=cuda"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert 'TORCH must be "default" or "cpu"' in result.stderr
