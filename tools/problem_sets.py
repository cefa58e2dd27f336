"""Write the students' problem sets from the teachers' versions.

Usage (from the repository root; ``make problem-sets`` runs it)::

    .venv/bin/python tools/problem_sets.py           # write book/problems/<part>.md
    .venv/bin/python tools/problem_sets.py --check   # fail if any is out of date

The teacher's version of each problem set, ``problems/<part>.md``, is a MyST Markdown
notebook (the chapters' format) with the solutions in it. jupytext reads it as a
notebook and writes the student's version, ``book/problems/<part>.md``, which the book
builds and offers for download. Between the two, three marker conventions (nbgrader's
names, so that a course already on nbgrader reads them the same way):

* In a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()``, at the marker's indentation.
* In a Markdown cell, the lines from ``<!-- BEGIN SOLUTION -->`` to
  ``<!-- END SOLUTION -->`` (a written answer) become the line ``*Your answer:*``, a
  place to write it.
* A cell tagged ``solution`` is removed; a cell tagged ``check`` (one that calls a
  ``derived.check`` function) is also tagged ``raises-exception`` in the student's
  version, so the notebook runs top to bottom and each check shows its failure message
  until the student's function is right.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEACHER_DIR = ROOT / "problems"
STUDENT_DIR = ROOT / "book" / "problems"
FORMAT = "md:myst"

_BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*### END SOLUTION\s*$")
_MD_BEGIN = "<!-- BEGIN SOLUTION -->"
_MD_END = "<!-- END SOLUTION -->"
ANSWER_PLACE = "*Your answer:*"


class MarkerError(ValueError):
    """A solution marker without its partner."""


def strip_code(source: str) -> str:
    """Return the code cell ``source`` with every marked solution replaced by a stub."""
    out: list[str] = []
    inside: str | None = None
    for number, line in enumerate(source.splitlines(), 1):
        begin = _BEGIN.match(line)
        if begin:
            if inside is not None:
                raise MarkerError(f"line {number}: BEGIN SOLUTION inside a solution")
            inside = begin["indent"]
            out += [f"{inside}# YOUR CODE HERE", f"{inside}raise NotImplementedError()"]
        elif _END.match(line):
            if inside is None:
                raise MarkerError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError("BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out)


def strip_markdown(source: str) -> str:
    """Return the Markdown cell ``source``, each marked solution replaced by a place to answer."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == _MD_BEGIN:
            if inside:
                raise MarkerError(f"line {number}: {_MD_BEGIN} inside a solution")
            inside = True
            out.append(ANSWER_PLACE)
        elif line.strip() == _MD_END:
            if not inside:
                raise MarkerError(f"line {number}: {_MD_END} without {_MD_BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{_MD_BEGIN} without {_MD_END}")
    return "\n".join(out).strip("\n")


def student_version(teacher: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the student's notebook made from the teacher's ``teacher`` (which is not changed)."""
    nb = copy.deepcopy(teacher)
    cells = []
    for cell in nb.cells:
        tags = list(cell.metadata.get("tags", []))
        if "solution" in tags:
            continue
        if cell.cell_type == "code":
            cell.source = strip_code(cell.source)
            if "check" in tags and "raises-exception" not in tags:
                cell.metadata["tags"] = [*tags, "raises-exception"]
        elif cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source)
            if not cell.source:
                continue
        cells.append(cell)
    nb.cells = cells
    return nb


def render(teacher_path: Path) -> str:
    """Return the text of the student's version of ``teacher_path``."""
    return jupytext.writes(student_version(jupytext.read(teacher_path)), fmt=FORMAT)


def teachers() -> list[Path]:
    """Every teacher's version, in order."""
    return sorted(TEACHER_DIR.glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) every student's version; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for teacher in teachers():
        target = STUDENT_DIR / teacher.name
        text = render(teacher)
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == text:
            continue
        stale.append(target.relative_to(ROOT).as_posix())
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date (run `make problem-sets`): " + ", ".join(stale), file=sys.stderr)
        return 1
    for name in stale:
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
