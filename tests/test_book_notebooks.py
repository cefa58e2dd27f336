"""Every chapter's downloadable notebook runs where a reader runs it, with the book's outputs.

The notebooks are the ones a reader downloads from the built book
(`_build/html/_notebooks/`). Each runs in a kernel of a fresh virtual environment made
only from the install line the notebook itself prints (tests/reader_env.py: the package
as a wheel, outside the repository, no PYTHONPATH, no Sphinx or myst-nb), from an empty
temporary directory, and must show exactly what the book shows.
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
from reader_env import clean_env, reader_python

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
    """What a reader sees of each code cell's outputs: text, Markdown, a hash of each image.

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
            data_by_mime = out.get("data", {})
            # Jupyter shows the richest form; text/plain beside Markdown or an image is a
            # fallback nobody sees (and a repr such as <...Markdown object>).
            rich = {"text/markdown", "image/png"} & set(data_by_mime)
            for mime, data in sorted(data_by_mime.items()):
                if mime == "text/plain" and rich:
                    continue
                if mime == "image/png":
                    seen.append("png:" + hashlib.sha256(str(data).encode()).hexdigest())
                elif mime == "text/markdown":
                    seen.append(f"markdown: {data}")
                elif mime == "text/plain" and not str(data).startswith("<Figure"):
                    seen.append(f"text: {data}")
        prints.append(seen)
    return prints


# Run after the notebook, in the same kernel: where the package came from, and that the
# book's build tools are absent, as they are for a reader.
_PROBE = """\
import importlib.util, json, sys, derived
print(json.dumps({"derived": derived.__file__, "python": sys.executable,
                  "myst_nb": importlib.util.find_spec("myst_nb") is not None}))"""


def _use_reader_kernel(python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make a kernel named "reader" that runs the reader environment's Python."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "reader"
    spec_dir.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "reader", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "reader"


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids)
def test_downloaded_notebook_runs_where_a_reader_runs_it(
    notebook, tmp_path, built_book, monkeypatch
):
    skip_unless_sampled(_stem(notebook))
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    built = _fingerprint(nb)
    assert nb.metadata["derived"]["version"] == __version__
    assert nb.cells[0].id == "derived-version-check"
    python = reader_python(nb.metadata["derived"]["install"])
    work = tmp_path / "empty"  # the reader's directory: the notebook and nothing else
    work.mkdir()
    shutil.copy(notebook, work / notebook.name)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    client = NotebookClient(
        nb,
        kernel_name=_use_reader_kernel(python, tmp_path, monkeypatch),
        timeout=180,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute(env=clean_env(tmp_path), cwd=str(work))
    probe = json.loads(nb.cells.pop().outputs[0].text)
    venv = python.parent.parent
    assert Path(probe["derived"]).is_relative_to(venv), probe  # the wheel, not the checkout
    assert not probe["myst_nb"], "a reader has no myst-nb"
    # Reproducible: a fresh run shows exactly what the book shows (numbers, figures, text).
    assert _fingerprint(nb) == built
    # The version check printed nothing: the installed package is the one it was built with.
    assert nb.cells[0].outputs == []
    # Nothing MyST-specific is left for plain Jupyter to show raw, in text or in outputs.
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    markdown += "\n".join(line.removeprefix("markdown: ") for cell in built for line in cell)
    for leftover in (
        "{eq}`",
        "{ref}`",
        "{numref}`",
        "{number}",
        "{glue:",
        "```{",
        ":::{",
        ":label:",
    ):
        assert leftover not in markdown, leftover


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
def test_no_notebook_imports_a_build_tool():
    for notebook in NOTEBOOKS:
        nb = nbformat.read(notebook, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for tool in ("myst_nb", "sphinx", "jupyter_book"):
            assert f"import {tool}" not in code, notebook
            assert f"from {tool}" not in code, notebook


@pytest.mark.skipif(not NOTEBOOKS, reason="the book is not built (run `make book` first)")
def test_listings_travel_with_the_notebook(built_book):
    """Chapter 18 includes kernels from the package; the download shows them as code."""
    nb = nbformat.read(NOTEBOOK_DIR / "book" / "part5" / "18-gpu-kernels.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "literalinclude" not in markdown
    assert "```python\n@triton.jit\ndef _doublify_kernel(" in markdown


def test_the_theme_publishes_no_unexecuted_notebooks(built_book):
    assert sorted((built_book / "_sources").rglob("*.ipynb")) == []


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
