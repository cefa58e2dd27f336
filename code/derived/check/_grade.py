"""Grade submitted notebooks: run each one and collect what its checks said."""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from derived.check._core import REPORT_ENV

__all__ = ["Grade", "grade_notebook", "main"]

_CALL = re.compile(r"\b(check_\w+)\s*\(")


@dataclass(frozen=True)
class Grade:
    """One notebook's grade: the checks it calls, those that passed, the first messages."""

    notebook: str
    checks: tuple[str, ...]
    passed: tuple[str, ...]
    failures: dict[str, str]
    seconds: float
    error: str = ""
    cell_errors: tuple[str, ...] = ()

    @property
    def score(self) -> str:
        return f"{len(self.passed)}/{len(self.checks)}"


def _called_checks(nb: object) -> tuple[str, ...]:
    names: list[str] = []
    for cell in getattr(nb, "cells", []):
        if cell.cell_type == "code":
            names += [n for n in _CALL.findall(cell.source) if n not in names]
    return tuple(names)


def grade_notebook(path: str | Path, timeout: int = 120, kernel: str = "python3") -> Grade:
    """Execute the notebook ``path`` in a fresh kernel (in its folder) and grade its checks.

    Every cell runs even after an error. The checks the notebook calls are found in its
    code cells' text (``check_<name>(``); a check counts as passed when its last run in
    the notebook passed (each check reports to a file named by the environment variable
    ``DERIVED_CHECK_REPORT``, set here for the kernel).

    Parameters
    ----------
    path : str or pathlib.Path
        A Jupyter notebook (``.ipynb``); it runs in its own folder.
    timeout : int, default 120
        Seconds allowed per cell.
    kernel : str, default "python3"
        The Jupyter kernel to run it in.

    Returns
    -------
    Grade
        The checks called, those passed, each failure's message, the run time, and any
        error raised outside a check.

    Examples
    --------
    >>> grade = grade_notebook("submissions/alice.ipynb")  # doctest: +SKIP
    >>> grade.score  # doctest: +SKIP
    '5/6'
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    checks = _called_checks(nb)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.jsonl"
        old = os.environ.get(REPORT_ENV)
        os.environ[REPORT_ENV] = str(report)  # the kernel inherits the environment
        start = time.perf_counter()
        error = ""
        try:
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name=kernel,
                allow_errors=True,
                resources={"metadata": {"path": str(path.parent.resolve())}},
            ).execute()
        except Exception as err:  # a kernel that dies or a cell that times out
            error = f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"
        finally:
            if old is None:
                del os.environ[REPORT_ENV]
            else:
                os.environ[REPORT_ENV] = old
        seconds = time.perf_counter() - start
        lines = report.read_text(encoding="utf-8").splitlines() if report.is_file() else []
    last: dict[str, dict[str, object]] = {}
    for line in lines:
        entry = json.loads(line)
        last[str(entry["check"])] = entry
    cell_errors = tuple(
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and not _CALL.search(cell.source)
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    )
    passed = tuple(c for c in checks if c in last and last[c]["passed"])
    failures = {
        c: str(last[c]["message"]) if c in last else "did not run"
        for c in checks
        if c not in passed
    }
    return Grade(str(path), checks, passed, failures, seconds, error, cell_errors)


def main(argv: Sequence[str] | None = None) -> int:
    """Grade notebooks from the command line: ``python -m derived.check PATH ... [--csv FILE]``.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: the command line's).

    Returns
    -------
    int
        0 if every notebook passed every check it calls with no error, else 1.

    Examples
    --------
    >>> main(["submissions/", "--csv", "grades.csv"])  # doctest: +SKIP
    submissions/alice.ipynb: 6/6 checks passed (8.1 s); failed: -
    1
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m derived.check",
        description="Run submitted problem-set notebooks and grade them with their checks.",
    )
    parser.add_argument("paths", nargs="+", help="notebooks (.ipynb) or folders of them")
    parser.add_argument("--csv", help="also write one row per notebook to this CSV file")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    parser.add_argument("--verbose", action="store_true", help="print each failure message")
    args = parser.parse_args(argv)
    notebooks: list[Path] = []
    for raw in args.paths:
        p = Path(raw)
        if p.is_dir():
            notebooks += sorted(p.rglob("*.ipynb"))
        elif p.suffix == ".ipynb" and p.is_file():
            notebooks.append(p)
        else:
            parser.error(f"{raw} is neither a notebook (.ipynb) nor a folder")
    notebooks = [n for n in notebooks if ".ipynb_checkpoints" not in n.parts]
    if not notebooks:
        parser.error("no notebooks found")
    grades = [grade_notebook(n, timeout=args.timeout) for n in notebooks]
    for g in grades:
        failed = ", ".join(g.failures) or "-"
        print(f"{g.notebook}: {g.score} checks passed ({g.seconds:.1f} s); failed: {failed}")
        if g.error:
            print(f"  the notebook stopped: {g.error}")
        for line in g.cell_errors:
            print(f"  error outside a check, {line}")
        if args.verbose:
            for message in g.failures.values():
                print("  " + message.replace("\n", "\n  "))
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["notebook", "passed", "total", "failed", "error"])
            for g in grades:
                w.writerow(
                    [g.notebook, len(g.passed), len(g.checks), " ".join(g.failures), g.error]
                )
    complete = (
        len(g.passed) == len(g.checks) and not g.error and not g.cell_errors for g in grades
    )
    return 0 if all(complete) else 1
