"""Every chapter's downloadable notebook runs in a fresh kernel, anywhere, with the same outputs.

The notebooks are the ones a reader downloads from the built book
(`_build/html/_notebooks/`). Each is executed with nbclient from a temporary directory
outside the repository, so a notebook that silently depends on the repository layout
(a relative data path, a module next to the .md file) fails here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from book_sample import SAMPLE, skip_unless_sampled
from derived import __version__

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "_build" / "html" / "_notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.rglob("*.ipynb"))

pytestmark = pytest.mark.book


def _ids(path: Path) -> str:
    return path.stem


def _stem(notebook: Path) -> str:
    """The chapter's path in the book without suffix, e.g. ``book/part1/02-linear-collapse``."""
    return notebook.relative_to(NOTEBOOK_DIR).with_suffix("").as_posix()


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
def test_the_sample_has_one_chapter_of_every_part():
    stems = {_stem(n) for n in NOTEBOOKS}
    assert set(SAMPLE) <= stems, set(SAMPLE) - stems
    parts = {stem.rsplit("/", 1)[0] for stem in stems}
    sampled = sorted(stem.rsplit("/", 1)[0] for stem in SAMPLE)
    assert sampled == sorted(parts), "each part needs exactly one chapter in the sample"


def _fingerprint(nb: nbformat.NotebookNode) -> list[list[str]]:
    """What a reader sees of each code cell's outputs: text, and a hash of each image.

    A cell tagged ``live-timing`` measures the machine it runs on (chapter 18 shows how
    much single timings scatter); its output is the one thing allowed to differ.
    """
    prints = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "live-timing" in cell.metadata.get("tags", []):
            prints.append(["(a live measurement: differs from run to run by design)"])
            continue
        seen = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                # A kernel may flush one print in several chunks; the book merges them.
                if seen and seen[-1].startswith(f"{out.name}: "):
                    seen[-1] += out.text
                else:
                    seen.append(f"{out.name}: {out.text}")
            for mime, data in out.get("data", {}).items():
                if mime == "image/png":
                    seen.append("png:" + hashlib.sha256(str(data).encode()).hexdigest())
                elif mime == "text/plain" and not str(data).startswith("<Figure"):
                    seen.append(f"text: {data}")
        prints.append(seen)
    return prints


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids)
def test_downloaded_notebook_runs_in_a_fresh_kernel(notebook, tmp_path, built_book):
    skip_unless_sampled(_stem(notebook))
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    built = _fingerprint(nb)
    assert nb.metadata["derived"]["version"] == __version__
    assert nb.cells[0].id == "derived-version-check"
    work = tmp_path / "run"
    work.mkdir()
    shutil.copy(notebook, work / notebook.name)
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()
    # Reproducible: a fresh run shows exactly what the book shows (numbers and figures).
    assert _fingerprint(nb) == built
    # The version check printed nothing: the installed package is the one it was built with.
    assert nb.cells[0].outputs == []
    # Nothing MyST-specific is left for plain Jupyter to show raw.
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for leftover in (
        "{eq}`",
        "{ref}`",
        "{numref}`",
        "{number}",
        "{glue:",
        "```{prf:",
        "```{exercise}",
        ":label:",
    ):
        assert leftover not in markdown, leftover


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
def test_chapter_references_keep_their_numbers_in_the_notebooks(built_book):
    """{numref}`chapter {number} <ch-x>` becomes "chapter N" in a downloaded notebook."""
    nb = nbformat.read(NOTEBOOK_DIR / "book" / "part1" / "02-linear-collapse.ipynb", as_version=4)
    words = " ".join(c.source for c in nb.cells if c.cell_type == "markdown").split()
    text = " ".join(words)  # lines joined, as a reader sees the paragraph
    assert "chapter 1 needs one to compute XOR, chapter 3 counts" in text


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
def test_every_chapter_page_offers_its_notebook(built_book):
    for notebook in NOTEBOOKS:
        page = built_book / notebook.relative_to(built_book / "_notebooks").with_suffix(".html")
        html = page.read_text(encoding="utf-8")
        assert f"_notebooks/{notebook.relative_to(built_book / '_notebooks')}" in html
        assert json.loads(notebook.read_text(encoding="utf-8"))["cells"]


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
def test_all_notebooks_come_in_one_zip(built_book):
    import zipfile

    archive = built_book / "_notebooks" / "deep-learning-derived-notebooks.zip"
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        expected = {
            f"deep-learning-derived/{n.relative_to(built_book / '_notebooks').as_posix()}"
            for n in NOTEBOOKS
        }
        assert names == expected
        for name in names:
            nb = nbformat.reads(zf.read(name).decode("utf-8"), as_version=4)
            nbformat.validate(nb)
            assert nb.metadata["derived"]["version"] == __version__


def test_execution_statistics_page_lists_every_chapter(built_book):
    page = (built_book / "book" / "appendix" / "execution.html").read_text(encoding="utf-8")
    for notebook in NOTEBOOKS:
        stem = _stem(notebook)
        assert stem in page, stem
