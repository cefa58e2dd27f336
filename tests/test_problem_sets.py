"""The problem sets: the teacher's versions pass every check, the students' fail each cleanly.

For every teacher's version under problems/ (tools/problem_sets.py):
* the student's version in book/problems/ is the one the tool writes from it;
* the teacher's version, run top to bottom in a fresh kernel, passes every check it calls,
  with no error anywhere, in under 30 s;
* the student's version runs top to bottom: every check fails with a CheckFailure saying the
  function is not written yet, and no other cell raises;
* the grader (python -m derived.check) grades both as such.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import jupytext
import pytest

from derived.check import grade_notebook

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("problem_sets", ROOT / "tools" / "problem_sets.py")
assert _spec is not None
assert _spec.loader is not None
problem_sets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(problem_sets)

TEACHERS = problem_sets.teachers()
BUDGET_S = 30.0


def test_every_problem_set_in_the_book_has_its_teachers_version():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    in_book = re.findall(r"file: book/problems/(\S+)", toc)
    assert in_book, "the table of contents lists the problem sets"
    assert set(in_book) <= {t.stem for t in TEACHERS}


@pytest.mark.parametrize("teacher", TEACHERS, ids=lambda p: p.stem)
def test_student_version_is_up_to_date(teacher):
    student = problem_sets.STUDENT_DIR / teacher.name
    assert student.read_text(encoding="utf-8") == problem_sets.render(teacher), (
        f"{student} is out of date: run `make problem-sets`"
    )


def _as_ipynb(md: Path, tmp_path: Path, name: str) -> Path:
    """``md`` as a notebook in ``tmp_path`` (a folder outside the book, as a student's)."""
    target = tmp_path / f"{name}.ipynb"
    jupytext.write(jupytext.read(md), target)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("teacher", TEACHERS, ids=lambda p: p.stem)
def test_teacher_version_passes_every_check(teacher, tmp_path):
    grade = grade_notebook(_as_ipynb(teacher, tmp_path, "teacher"))
    assert grade.checks, "a problem set calls at least one check"
    assert not grade.error, grade.error
    assert not grade.cell_errors, grade.cell_errors
    assert grade.passed == grade.checks, grade.failures
    assert grade.seconds < BUDGET_S, f"{teacher.stem} took {grade.seconds:.1f} s"


@pytest.mark.slow
@pytest.mark.parametrize("teacher", TEACHERS, ids=lambda p: p.stem)
def test_student_version_fails_each_check_cleanly(teacher, tmp_path):
    student = problem_sets.STUDENT_DIR / teacher.name
    grade = grade_notebook(_as_ipynb(student, tmp_path, "student"))
    assert not grade.error, grade.error
    assert not grade.cell_errors, grade.cell_errors
    assert grade.passed == (), grade.passed
    for name, message in grade.failures.items():
        assert message.startswith(f"{name} failed"), message
        assert "is not written yet" in message, message


def test_markers_are_replaced_at_their_indentation():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert problem_sets.strip_code(source) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    md = "Question?\n<!-- BEGIN SOLUTION -->\nAnswer.\n<!-- END SOLUTION -->"
    assert problem_sets.strip_markdown(md) == "Question?\n*Your answer:*"


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1\n",
        "x = 1\n### END SOLUTION\n",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n",
    ],
)
def test_unbalanced_markers_are_refused(source):
    with pytest.raises(problem_sets.MarkerError):
        problem_sets.strip_code(source)


@pytest.mark.slow
def test_the_grader_refuses_the_packages_own_function(tmp_path):
    """A submission that checks derived's softmax instead of its own gets no credit for it."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from derived.check import check_softmax\nfrom derived.softmax import softmax"
        ),
        nbformat.v4.new_code_cell("check_softmax(softmax)"),
    ]
    path = tmp_path / "copied.ipynb"
    nbformat.write(nb, path)
    grade = grade_notebook(path)
    assert grade.passed == ()
    assert "the package's own function" in grade.failures["check_softmax"]
