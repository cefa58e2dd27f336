"""Which chapters the two costliest checks of the built book run on.

Two checks cost seconds of CPU per chapter: re-running a notebook in a fresh kernel (its
whole execution time again) and scanning a page with axe-core (3 to 15 s a chapter on a
two-core machine, most of it the colour contrast of highlighted code). `make test` runs
them on this sample, one chapter of every part (the quickest to execute) and the errata,
so that it stays within a few minutes on two cores; `make test-all`, which CI runs, sets
DERIVED_TEST_ALL=1 and runs them on every chapter. Every other check of the book runs on
every page in both.
"""

from __future__ import annotations

import os

import pytest

SAMPLE = (
    "book/part1/02-linear-collapse",
    "book/part2/07-backpropagation",
    "book/part3/10-initialisation",
    "book/part4/15-pooling",
    "book/part5/18-gpu-kernels",
    "book/part6/19-wann",
    "book/part7/22-flash-attention",
    "book/problems/part7",
    "book/appendix/errata",
)
TEST_ALL = os.environ.get("DERIVED_TEST_ALL", "") not in ("", "0")


def skip_unless_sampled(stem: str) -> None:
    """Skip a per-chapter check for a chapter outside the sample, unless all are asked for."""
    if not TEST_ALL and stem not in SAMPLE:
        pytest.skip("outside the sample of one chapter per part: `make test-all` runs it")
