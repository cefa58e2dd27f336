"""The API reference: one generated page per public module, covering every public function.

The pages are written at build time by ``book/_ext/api_pages.py``. The first tests check
the generator itself; the tests marked ``book`` check the built HTML: every public
function and class of every public module (those that need Triton too) has an entry on
its module's page, and names in the chapters' code cells link to those entries.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import api_pages  # noqa: E402

MODULES = api_pages.public_modules()


def public_callables(module_name: str) -> list[str]:
    """The functions and classes a module lists in ``__all__``."""
    module = importlib.import_module(module_name)
    return [
        name
        for name in getattr(module, "__all__", [])
        if inspect.isfunction(getattr(module, name)) or inspect.isclass(getattr(module, name))
    ]


def test_public_modules_are_found_and_private_ones_skipped():
    assert "derived.softmax" in MODULES
    assert "derived.wann" in MODULES
    assert "derived.kernels" in MODULES  # importable without a GPU
    assert not any(m.split(".")[-1].startswith("_") for m in MODULES)
    assert MODULES == sorted(MODULES)


def test_pages_are_written_and_stale_ones_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(api_pages, "API_DIR", tmp_path)
    (tmp_path / "derived-gone.md").write_text("a module that no longer exists")
    written = api_pages.write_pages()
    names = sorted(p.name for p in tmp_path.glob("*.md"))
    assert names == sorted(["index.md", *(f"{api_pages.page_name(m)}.md" for m in MODULES)])
    assert len(written) == len(MODULES) + 1
    page = (tmp_path / "derived-wann.md").read_text()
    assert page.startswith("(api-derived-wann)=\n# `derived.wann`")
    assert ".. automodule:: derived.wann\n   :members:\n   :undoc-members:" in page
    index = (tmp_path / "index.md").read_text()
    for module in MODULES:
        assert f"{{doc}}`{module} <{api_pages.page_name(module)}>`" in index
    assert "Weight agnostic neural networks" in index  # the first line of the docstring


def test_unchanged_pages_are_not_rewritten(tmp_path, monkeypatch):
    monkeypatch.setattr(api_pages, "API_DIR", tmp_path)
    api_pages.write_pages()
    page = tmp_path / "derived-softmax.md"
    before = page.stat().st_mtime_ns
    api_pages.write_pages()
    assert page.stat().st_mtime_ns == before


@pytest.mark.book
@pytest.mark.parametrize("module", MODULES)
def test_every_public_function_is_on_its_api_page(module, built_book):
    page = built_book / "book" / "api" / f"{api_pages.page_name(module)}.html"
    assert page.is_file(), f"no API page for {module}"
    html = page.read_text(encoding="utf-8")
    missing = [n for n in public_callables(module) if f'id="{module}.{n}"' not in html]
    assert missing == [], f"not documented on {page.name}: {missing}"


@pytest.mark.book
def test_api_index_lists_every_module(built_book):
    html = (built_book / "book" / "api" / "index.html").read_text(encoding="utf-8")
    for module in MODULES:
        assert f'href="{api_pages.page_name(module)}.html"' in html, module


@pytest.mark.book
def test_names_in_code_cells_link_to_the_api_reference(built_book):
    def linked(page: str, module: str) -> set[str]:
        html = (built_book / "book" / page).read_text(encoding="utf-8")
        pattern = rf'href="[./]*(?:book/)?api/{api_pages.page_name(module)}\.html#({module}\.\w+)"'
        return set(re.findall(pattern, html))

    wann = linked("part6/19-wann.html", "derived.wann")
    assert {"derived.wann.forward", "derived.wann.sweep_accuracy", "derived.wann.Topology"} <= wann
    assert "derived.softmax.softmax_jacobian" in linked(
        "part2/06-softmax-jacobian.html", "derived.softmax"
    )
