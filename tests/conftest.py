"""Shared pytest configuration: where the built book is, and skipping what cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The built HTML book; tests that need it skip with a reason if it is missing."""
    if not (HTML / "index.html").is_file():
        pytest.skip("the book is not built (run `make book` first; .ci/run does)")
    return HTML
