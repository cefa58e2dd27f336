"""The errata: every seed error's check separates right from wrong, and none is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from derived.errata import ERRATA, ErratumCheck, check_all, erratum_markdown, report

ROOT = Path(__file__).resolve().parents[1]
SYLLABUS = ROOT.parent / "shared" / "SYLLABUS.md"
EXPECTED = {
    "or-threshold",
    "pieces-base-case",
    "xwt-index",
    "softmax-matrix-form",
    "dfdz-chain",
    "mse-norm",
    "bce-gradient",
    "softmax-regression-gradient",
    "adam-bias-correction",
    "inverted-dropout",
    "tsne-gradient",
    "doublify-timing",
}


@pytest.mark.parametrize("erratum_id", sorted(ERRATA))
def test_right_passes_and_wrong_fails(erratum_id):
    result = ERRATA[erratum_id].check()
    assert result.right_passes, report(result)
    assert result.wrong_fails, report(result)


def test_checks_are_reproducible():
    first = [(e.id, c) for e, c in check_all()]
    second = [(e.id, c) for e, c in check_all()]
    assert first == second


def test_every_listed_error_has_an_entry():
    assert set(ERRATA) == EXPECTED


@pytest.mark.skipif(not SYLLABUS.is_file(), reason="SYLLABUS.md is not beside the repository")
def test_every_error_in_the_syllabus_has_an_entry():
    text = SYLLABUS.read_text(encoding="utf-8")
    sections = {
        int(m.group(1)): m.group(0)
        for m in re.finditer(r"^### (\d+)\..*?(?=^##|\Z)", text, flags=re.M | re.S)
    }
    marker = re.compile(r"[Ss]eed (?:errors?|slip) to correct|overcounts")
    with_errors = {n for n, section in sections.items() if marker.search(section)}
    assert with_errors == {e.chapter for e in ERRATA.values()}
    for n, section in sections.items():
        if "Seed errors to correct" in section:  # several errors in one chapter
            assert sum(e.chapter == n for e in ERRATA.values()) >= 2, n


def test_the_appendix_has_a_section_for_every_entry():
    page = (ROOT / "book" / "appendix" / "errata.md").read_text(encoding="utf-8")
    for erratum_id in ERRATA:
        assert f"(errata-{erratum_id})=" in page
        assert f'check("{erratum_id}")' in page


def test_markdown_links_back_to_the_chapter_box():
    text = erratum_markdown("xwt-index")
    assert "<mistake-xwt-index>" in text
    assert "**Wrong.**" in text
    assert "**Right.**" in text
    assert "mistake-" not in erratum_markdown("xwt-index", link_back=False)


def test_unknown_erratum_is_a_clear_error():
    with pytest.raises(KeyError, match="no erratum 'nope'"):
        erratum_markdown("nope")


def test_verdict_logic():
    assert ErratumCheck(0.0, 1.0, 0.0, "m").wrong_fails
    assert not ErratumCheck(0.0, 0.0, 0.0, "m").wrong_fails
    assert not ErratumCheck(1.0, 1.0, 0.5, "m").right_passes
    assert "right FAILS" in report(ErratumCheck(1.0, 1.0, 0.5, "m"))
