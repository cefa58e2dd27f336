"""Shared pytest configuration: where the built book is, and skipping what cannot run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Triton runs its kernels on the CPU only if TRITON_INTERPRET is set before triton is first
# imported; set it here, before any test module imports triton, where there is no GPU.
try:
    import torch

    _HAS_CUDA = torch.cuda.is_available()
except ImportError:  # pragma: no cover - torch is a test dependency
    _HAS_CUDA = False
if not _HAS_CUDA:
    os.environ.setdefault("TRITON_INTERPRET", "1")

# In CI (CI set) hypothesis draws the same examples on every run, so that a submission's
# result does not depend on the luck of the draw; locally every run explores new examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The built HTML book; tests that need it skip with a reason if it is missing."""
    if not (HTML / "index.html").is_file():
        pytest.skip("the book is not built (run `make book` first; .ci/run does)")
    return HTML
