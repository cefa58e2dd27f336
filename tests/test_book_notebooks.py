"""Every chapter's downloadable notebook runs top to bottom in a fresh kernel, anywhere.

The notebooks are the ones a reader downloads from the built book
(`_build/html/_notebooks/`). Each is executed with nbclient from a temporary directory
outside the repository, so a notebook that silently depends on the repository layout
(a relative data path, a module next to the .md file) fails here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from derived import __version__

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "_build" / "html" / "_notebooks").rglob("*.ipynb"))

pytestmark = pytest.mark.book


def _ids(path: Path) -> str:
    return path.stem


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids)
def test_downloaded_notebook_runs_in_a_fresh_kernel(notebook, tmp_path, built_book):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["derived"]["version"] == __version__
    assert nb.cells[0].id == "derived-version-check"
    work = tmp_path / "run"
    work.mkdir()
    shutil.copy(notebook, work / notebook.name)
    env_before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client = NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        )
        client.execute()
    finally:
        if env_before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_before
    # The version check printed nothing: the installed package is the one it was built with.
    assert nb.cells[0].outputs == []
    # Nothing MyST-specific is left for plain Jupyter to show raw.
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for leftover in ("{eq}`", "{ref}`", "{glue:", "```{prf:", "```{exercise}", ":label:"):
        assert leftover not in markdown, leftover


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
def test_every_chapter_page_offers_its_notebook(built_book):
    for notebook in NOTEBOOKS:
        page = built_book / notebook.relative_to(built_book / "_notebooks").with_suffix(".html")
        html = page.read_text(encoding="utf-8")
        assert f"_notebooks/{notebook.relative_to(built_book / '_notebooks')}" in html
        assert json.loads(notebook.read_text(encoding="utf-8"))["cells"]
