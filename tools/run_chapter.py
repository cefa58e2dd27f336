"""Execute chapters top to bottom, as the book build does, without building the book.

Usage (from the repository root, after ``make book`` or ``make env`` created ``.venv``)::

    .venv/bin/python tools/run_chapter.py book/part2/06-softmax-jacobian.md [more.md ...]

Each chapter runs in a fresh kernel in its own directory with the package from
``code/``, as myst-nb runs it; the executed notebook is written to
``_build/run_chapter/<name>.ipynb`` so its outputs can be read. Prints each chapter's
time and stops at the first failing cell with its traceback. Meant for drafting a
chapter: ``make book`` is still the build.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def stderr_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Return the indices of the cells that wrote to stderr (the strict build fails on them)."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]


def run(chapter: Path) -> float:
    """Execute ``chapter`` (a MyST .md file); return the seconds it took.

    Raises RuntimeError if a cell wrote to stderr (a warning), as the build would fail.
    """
    nb = jupytext.read(chapter)
    os.environ["PYTHONPATH"] = str(ROOT / "code")
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(chapter.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        out = ROOT / "_build" / "run_chapter" / f"{chapter.stem}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
    seconds = time.perf_counter() - start
    noisy = stderr_cells(nb)
    if noisy:
        raise RuntimeError(f"cells {noisy} wrote to stderr (a warning fails `make book`)")
    return seconds


def main(argv: list[str]) -> int:
    """Run each chapter named on the command line."""
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        chapter = Path(name).resolve()
        try:
            seconds = run(chapter)
        except (CellExecutionError, RuntimeError) as error:
            print(f"FAILED {name}\n{error}")
            return 1
        print(f"ok {name}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
