"""Every module a chapter imports is installed by the install line the notebooks print.

A downloaded chapter runs in an environment made from ``pip install "derived[notebooks]"``
alone (tests/test_book_notebooks.py runs a sample of them there). This test covers every
chapter without building anything: it reads each chapter's code cells, collects the top-level
modules they import, and requires each to be the standard library, the package itself, the
reader's own Jupyter (IPython), or a distribution named in the core dependencies or in the
``notebooks`` extra of pyproject.toml, not merely one that happens to arrive with another.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
import warnings
from importlib.metadata import packages_distributions
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted([*(ROOT / "book").glob("part*/*.md"), *(ROOT / "book").glob("problems/*.md")])
READER_OWN = {"derived", "IPython"}  # the package itself, and the reader's Jupyter


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement such as ``torch==2.13.0``."""
    return re.split(r"[<>=!~;\[ @]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        _name(r) for r in project["dependencies"] + project["optional-dependencies"]["notebooks"]
    }


def _imports(chapter: Path) -> set[str]:
    nb = jupytext.read(chapter)
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        with warnings.catch_warnings():
            # An invalid escape such as "$\\mid$" outside a raw string is a SyntaxWarning that
            # a reader on Python 3.12 or later sees printed above the cell's output.
            warnings.simplefilter("error")
            tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_the_chapters_are_found():
    assert len(CHAPTERS) >= 19


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_import_is_declared_for_readers(chapter: Path):
    declared = _declared()
    distributions = packages_distributions()
    missing = {}
    for module in sorted(_imports(chapter) - set(sys.stdlib_module_names) - READER_OWN):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(names)
    assert not missing, (
        f"{chapter.relative_to(ROOT)} imports modules whose distributions are not in the core "
        f"dependencies or the `notebooks` extra of pyproject.toml: {missing}"
    )
