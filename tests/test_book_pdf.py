"""The whole book as a PDF (`make pdf`): every chapter is in it, with its figures.

Skipped, with the reason, where the PDF was not built; in CI (`CI` set), where `.ci/run`
builds it, a missing PDF is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "html" / "deep-learning-derived.pdf"
TOC = ROOT / "_toc.yml"

pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def pdf_text() -> str:
    if not PDF.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{PDF} is missing: .ci/run builds it with `make pdf`")
        pytest.skip("the PDF is not built (run `make pdf`)")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; `make pdf` installs it")
    return subprocess.run(
        ["pdftotext", "-layout", str(PDF), "-"], capture_output=True, text=True, check=True
    ).stdout


def _chapter_titles() -> list[str]:
    titles = []
    for match in re.finditer(r"^\s+- file: (book/part\d/\S+)$", TOC.read_text(), flags=re.M):
        source = (ROOT / f"{match.group(1)}.md").read_text(encoding="utf-8")
        titles.append(re.search(r"^# (.+)$", source, flags=re.M).group(1))
    return titles


def test_every_chapter_is_in_the_pdf(pdf_text):
    flat = re.sub(r"\s+", " ", pdf_text).lower()
    titles = _chapter_titles()
    assert titles
    missing = [t for t in titles if re.sub(r"[`$\\]", "", t).lower() not in flat]
    assert missing == []


def test_pdf_has_figures_and_numbered_equations(pdf_text):
    assert re.search(r"Fig\. \d+\.\d+", pdf_text)
    assert re.search(r"\(\d+\.\d+\)", pdf_text)
    pages = pdf_text.count("\f")
    assert pages >= 10 * len(_chapter_titles()) // 2


def test_every_link_in_the_pdf_has_a_target(pdf_text):
    tex = (ROOT / "_build" / "latex" / "deep-learning-derived.tex").read_text(encoding="utf-8")
    targets = set(re.findall(r"\\hyperref\[\\detokenize\{([^}]*)\}\]", tex))
    # Sphinx writes \label{\detokenize{doc:id}}; sphinx-proof writes \label{doc:id}.
    labels = set(re.findall(r"\\label\{(?:\\detokenize\{)?([^}]*)\}", tex))
    assert len(targets) > 100
    assert targets - labels == set()
    # a reference LaTeX could not resolve prints "??" (exercises in other chapters did)
    assert "??" not in pdf_text
