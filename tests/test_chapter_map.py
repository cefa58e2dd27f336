"""The chapter map (book/chapters.toml) says which modules back which chapter, and is true.

Checked against the sources: each chapter's code cells import exactly the modules the map
lists (besides derived.book and derived.plotting, which every chapter uses); the map covers
every chapter of the table of contents and every public module of the package; each listed
test file exists and imports its module; and the README's table is the one
tools/chapter_map.py writes from the map.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import re
from pathlib import Path

import jupytext
import pytest
import yaml

import derived

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("chapter_map", ROOT / "tools" / "chapter_map.py")
assert _spec is not None
assert _spec.loader is not None
chapter_map = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chapter_map)

MAP = chapter_map.load()
EVERY_CHAPTER_USES = {"book", "plotting"}


def _derived_imports(source: str) -> set[str]:
    """Top-level modules of `derived` imported by Python ``source`` (derived.x.y counts as x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "derived":
                names = [f"derived.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        found |= {n.split(".")[1] for n in names if n.startswith("derived.")}
    return found


def _chapter_imports(chapter: str) -> set[str]:
    nb = jupytext.read(ROOT / "book" / f"{chapter}.md")
    source = "\n".join(
        "\n".join(ln for ln in c.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
        for c in nb.cells
        if c.cell_type == "code"
    )
    return _derived_imports(source)


def _toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]}
    return {f.removeprefix("book/") for f in files if re.match(r"book/part\d+/", f)}


def test_the_map_covers_every_numbered_chapter():
    chapters = set(MAP["chapters"])
    assert _toc_files() <= chapters, f"not in the map: {sorted(_toc_files() - chapters)}"
    assert len(_toc_files()) >= 19


@pytest.mark.parametrize("chapter", sorted(MAP["chapters"]))
def test_a_chapter_imports_exactly_the_modules_the_map_lists(chapter: str):
    imported = _chapter_imports(chapter) - EVERY_CHAPTER_USES
    assert imported == set(MAP["chapters"][chapter]), (
        f"book/{chapter}.md imports {sorted(imported)} from derived, but book/chapters.toml "
        f"lists {sorted(MAP['chapters'][chapter])}: update the map and run tools/chapter_map.py"
    )


def test_every_public_module_has_tests_in_the_map():
    public = {m.name for m in pkgutil.iter_modules(derived.__path__) if not m.name.startswith("_")}
    assert public == set(MAP["tests"]), (
        f"public modules without tests in the map: {sorted(public - set(MAP['tests']))}; "
        f"map entries that are not modules: {sorted(set(MAP['tests']) - public)}"
    )
    used = {m for modules in MAP["chapters"].values() for m in modules} | EVERY_CHAPTER_USES
    assert used == public, f"modules no chapter uses: {sorted(public - used)}"


@pytest.mark.parametrize("module", sorted(MAP["tests"]))
def test_each_listed_test_file_tests_its_module(module: str):
    for path in MAP["tests"][module]:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert module in _derived_imports(source), f"{path} does not import derived.{module}"


def test_the_readme_table_is_written_from_the_map():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert chapter_map.render() in readme, "README.md is stale: run tools/chapter_map.py"


def test_the_derived_imports_reader_sees_every_form():
    source = (
        "import derived.kernels.matmul\n"
        "from derived import conv, tsne as t\n"
        "from derived.optim import SGD"
    )
    assert _derived_imports(source) == {"kernels", "conv", "tsne", "optim"}


def test_docstrings_name_chapters_by_title_not_number():
    """A chapter number typed in a docstring goes stale when chapters move; titles do not."""
    typed = []
    for path in sorted((ROOT / "code" / "derived").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = [tree] + [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
        for node in nodes:
            doc = ast.get_docstring(node) or ""
            typed += [f"{path.name}: {m}" for m in re.findall(r"[Cc]hapters?\s+\d+", doc)]
    assert not typed, f"chapter numbers typed in docstrings: {typed}"
