"""The machinery every check shares: cases, comparisons, messages, reports.

A check runs a student's function ``impl`` on a fixed list of cases (random inputs
from fixed seeds, then edge cases), compares each result with an independent oracle,
and stops at the first case that fails with a :class:`CheckFailure`, whose message
names the case, its inputs, what was expected and what came back, and the largest
error. When every case passes it returns a :class:`CheckResult`.
"""

from __future__ import annotations

import json
import math
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["REPORT_ENV", "CheckFailure", "CheckResult", "Checker", "numerical_gradient", "torch"]

# When this environment variable names a file, every check appends one JSON line to it:
# {"check": name, "passed": bool, "message": str}. The grader (python -m derived.check) uses it.
REPORT_ENV = "DERIVED_CHECK_REPORT"


class CheckFailure(AssertionError):
    """A check failed: the message names the first failing case.

    In Jupyter the failure shows as its message alone, without a traceback into this
    package (the traceback says where the check is, which a student does not need).
    """

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


@dataclass(frozen=True)
class CheckResult:
    """What passed: the check's name and the cases it ran."""

    name: str
    cases: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} passed all {len(self.cases)} cases: " + "; ".join(self.cases) + "."

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython's display
        p.text(str(self))


def _report(name: str, passed: bool, message: str) -> None:
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"check": name, "passed": passed, "message": message}) + "\n")


def show(value: Any, limit: int = 24) -> str:
    """Return a short, readable text for a value in a message.

    A number is shown as itself; an array of at most ``limit`` numbers in full; a larger
    one by its shape, its first values and its range.
    """
    if isinstance(value, list | tuple) and value and all(_is_int_pair(v) for v in value):
        text = repr(value)  # a graph's edges: the pairs themselves, not an array's summary
        return text if len(text) <= 400 else f"{text[:400]} ... ({len(value)} pairs)"
    if isinstance(value, np.ndarray) or (
        isinstance(value, list | tuple) and value and isinstance(value[0], list | tuple | float)
    ):
        arr = np.asarray(value)
        if arr.dtype.kind in "fciub":
            if arr.ndim == 0:
                return repr(arr.item())
            if arr.size <= limit:
                text = np.array2string(arr, precision=6, suppress_small=False)
                return f"array of shape {arr.shape}: {' '.join(text.split())}"
            flat = np.array2string(
                arr.ravel()[:6], precision=6, suppress_small=False, max_line_width=10**6
            )
            span = ""
            if arr.dtype.kind != "c":
                with np.errstate(invalid="ignore"):
                    span = f", from {np.nanmin(arr):.6g} to {np.nanmax(arr):.6g}"
            return f"array of shape {arr.shape}: {flat[:-1]} ...]{span}"
    return repr(value)


def _is_int_pair(value: Any) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int | np.integer) for v in value)
    )


def _library_frame(filename: str) -> bool:
    """Tell whether a frame is in an installed package or in derived, not the student's code."""
    path = filename.replace("\\", "/")
    return "site-packages/" in path or "/derived/" in path


def describe(value: Any) -> str:
    """Return what a value is, in a few words: its type, and the shapes of what it holds."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, dict):
        return f"a dict with keys {', '.join(map(str, value))}"[:200]
    if isinstance(value, tuple | list):
        parts = ", ".join(
            f"array {v.shape}" if isinstance(v, np.ndarray) else type(v).__name__ for v in value[:6]
        )
        more = ", ..." if len(value) > 6 else ""
        return f"a {type(value).__name__} of {len(value)}: {parts}{more}"
    return f"{type(value).__name__} {value!r}"[:200]


@dataclass
class Checker:
    """Run one check on the student's function ``impl``.

    ``case`` opens a case, ``call`` runs ``impl`` on it, ``close``/``equal``/``require``
    compare, ``result`` closes the check.

    Every failure raises :class:`CheckFailure` with the case's name and inputs.

    While the grader runs (``REPORT_ENV`` set) a check refuses the package's own functions
    (any whose module is ``derived`` or below it) when they are passed to it directly. It
    looks at the function passed, not into it: a lambda, or a function of the student's,
    that only calls the package's function is not caught.
    """

    name: str
    impl: Callable[..., Any]
    func: str = "your function"
    # What the student wrote, where ``impl`` is the check's own wrapper around it (a dict
    # of rules, say): the grader refuses the package's functions among these.
    student: tuple[Any, ...] | None = None
    _cases: list[str] = field(default_factory=list)
    _inputs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not callable(self.impl):
            self.fail_now(
                f"{self.name} needs a function, got {type(self.impl).__name__} {self.impl!r}."
            )
        if not os.environ.get(REPORT_ENV):
            return
        # the grader is running: a student's grade counts only the student's own functions
        for fn in (self.impl,) if self.student is None else self.student:
            module = getattr(fn, "__module__", None) or ""
            if module.split(".")[0] == "derived":
                self.fail_now(
                    f"{self.name} was given {module}.{getattr(fn, '__qualname__', '?')}, the "
                    "package's own function: a graded notebook must check the function you "
                    "wrote."
                )

    # -- cases --------------------------------------------------------------------------
    def case(self, label: str, **inputs: Any) -> None:
        """Start the case ``label`` with the named ``inputs`` (shown if it fails)."""
        self._cases.append(label)
        self._inputs = inputs

    def _where(self) -> str:
        n = len(self._cases)
        lines = (
            [f"{self.name} failed on case {n}, {self._cases[-1]!r}:"]
            if n
            else [f"{self.name} failed:"]
        )
        lines += [f"  {k} = {show(v)}" for k, v in self._inputs.items()]
        return "\n".join(lines)

    def fail_now(self, message: str, *, inputs: bool = True) -> None:
        """Raise a :class:`CheckFailure` with ``message`` (after the case, if one is open).

        The case's inputs are shown unless ``inputs`` is false.
        """
        if not self._cases:
            text = message
        elif inputs:
            text = f"{self._where()}\n  {message}"
        else:
            text = f"{self._where().splitlines()[0]}\n  {message}"
        _report(self.name, False, text)
        raise CheckFailure(text)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """``impl(*args, **kwargs)`` on copies of the arguments; its errors become failures."""
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        try:
            return self.impl(*args, **kwargs)
        except Exception as raised:  # the student's bug: say where it happened
            err: BaseException = raised
            while err.__cause__ is not None:  # Triton's interpreter wraps a kernel's errors
                err = err.__cause__
            frames = traceback.extract_tb(err.__traceback__)
            own = [f for f in frames if not _library_frame(f.filename)]
            if isinstance(err, NotImplementedError) and frames and frames[-1] in own:
                # a stub raised it itself; one raised inside a library (a Triton feature
                # that has gone, say) falls through to the error and its message
                # name the function that is not written: the one that raised, which may be
                # one that the checked function calls (a stub wann_forward in sweep_accuracy)
                stub = own[-1].name if own and own[-1].name.isidentifier() else self.func
                self.fail_now(
                    f"{stub} is not written yet (it raised NotImplementedError): "
                    "replace the line raise NotImplementedError() with your code.",
                    inputs=False,
                )
            last = own[-1] if own else (frames[-1] if len(frames) > 1 else None)
            where = f" (line {last.lineno}: {last.line})" if last is not None and last.line else ""
            self.fail_now(f"{self.func} raised {type(err).__name__}: {err}{where}".rstrip())
        raise AssertionError("unreachable")  # pragma: no cover

    # -- comparisons --------------------------------------------------------------------
    def close(
        self,
        got: Any,
        expected: Any,
        *,
        what: str = "result",
        rtol: float = 1e-7,
        atol: float = 1e-10,
        name_index: Callable[[tuple[int, ...]], str] | None = None,
    ) -> np.ndarray:
        """``got`` equals ``expected`` (same shape, finite where expected is) within tolerances.

        ``name_index``, if given, names the entry at the worst index in the failure message
        (``"node 4 of 7, ..."`` for an array of node gradients).
        """
        exp = np.asarray(expected, dtype=np.float64)
        if got is None:
            self.fail_now(f"{self.func} returned None instead of the {what}: is a return missing?")
        try:
            arr = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            self.fail_now(
                f"the {what} should be numbers of shape {exp.shape}; got {type(got).__name__} "
                f"{show(got)}"
            )
        if arr.shape != exp.shape:
            self.fail_now(
                f"the {what} should have shape {exp.shape}, got shape {arr.shape}.\n"
                f"  expected {show(exp)}\n  got      {show(arr)}"
            )
        bad_nan = ~np.isfinite(arr) & np.isfinite(exp)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where both are infinite
            err = np.abs(arr - exp)
        err = np.where(np.isfinite(exp) & np.isfinite(arr), err, np.where(arr == exp, 0.0, np.inf))
        allowed = atol + rtol * np.abs(np.where(np.isfinite(exp), exp, 0.0))
        if bad_nan.any() or (err > allowed).any():
            # the worst index is the one furthest outside its tolerance, in units of it: with a
            # relative tolerance a wrong 0 where 1e-20 was expected outranks an error of 1e-10
            # on a value of 1 that is allowed 1e-12
            with np.errstate(divide="ignore", invalid="ignore"):
                excess = np.where(
                    allowed > 0,
                    (err - allowed) / np.where(allowed > 0, allowed, 1.0),
                    np.where(err > 0, np.inf, -np.inf),
                )
            worst = np.unravel_index(int(np.argmax(excess)), err.shape) if err.ndim else ()
            at = ""
            if err.ndim:
                e, g = f"{exp[worst]:.6g}", f"{arr[worst]:.6g}"
                if e == g:  # close but not within the tolerance: show every digit
                    e, g = repr(float(exp[worst])), repr(float(arr[worst]))
                at = f" at index {tuple(int(i) for i in worst)} (expected {e}, got {g})"
                if name_index is not None:
                    at += f"; the worst is {name_index(tuple(int(i) for i in worst))}"
            kind = "is not finite (NaN or inf)" if bad_nan.any() else "is wrong"
            dtype = getattr(got, "dtype", None)
            low = (
                f"\n  your result is {dtype}: compute in float64."
                if dtype in (np.float32, np.float16)
                else ""
            )
            worst_err = float(err[worst] if err.ndim else err)
            worst_exp = float(exp[worst] if err.ndim else exp)
            relative = ""
            if rtol > 0 and np.isfinite(worst_err) and np.isfinite(worst_exp) and worst_exp != 0:
                relative = f" (relative {worst_err / abs(worst_exp):.3g})"
            largest = float(err.max()) if err.ndim else worst_err
            head = (
                f"largest error {worst_err:.3g}"
                if largest == worst_err
                else f"largest error {largest:.3g}; furthest outside the tolerance: {worst_err:.3g}"
            )
            self.fail_now(
                f"the {what} {kind}.\n  expected {show(exp)}\n  got      {show(arr)}\n"
                f"  {head}{relative}{at} "
                f"(allowed {atol:g} + {rtol:g} * |expected|){low}"
            )
        return arr

    def equal(self, got: Any, expected: Any, *, what: str = "result") -> None:
        """``got == expected`` exactly (integers, counts, labels)."""
        same = np.shape(got) == np.shape(expected) and bool(
            np.all(np.asarray(got) == np.asarray(expected))
        )  # shapes first: arrays that do not broadcast would raise instead of failing
        if not same:
            self.fail_now(
                f"the {what} is wrong.\n  expected {show(expected)}\n  got      {show(got)}"
            )

    def outputs(self, got: Any, names: tuple[str, ...], what: str) -> tuple[Any, ...]:
        """``got`` as a tuple of ``len(names)`` outputs, or fail naming the expected ones.

        ``what`` names them in the message, e.g. "gradients" for
        "f should return three gradients (dx, dw, db), got ...".
        """
        count = {1: "one", 2: "two", 3: "three", 4: "four"}.get(len(names), str(len(names)))
        self.require(
            isinstance(got, tuple | list) and len(got) == len(names),
            f"{self.func} should return {count} {what} ({', '.join(names)}), got {describe(got)}",
        )
        return tuple(got)

    def require(self, condition: bool, message: str) -> None:
        """Fail with ``message`` unless ``condition``."""
        if not condition:
            self.fail_now(message)

    def result(self) -> CheckResult:
        """Every case passed: report and return the summary."""
        res = CheckResult(self.name, tuple(self._cases))
        _report(self.name, True, str(res))
        return res


def sigmoid_float(x: float) -> float:
    """Return the sigmoid of one float from e^{-|x|} <= 1, so that it never overflows.

    The checks' own, independent of ``derived.activations``, whose functions they grade.
    """
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


def torch() -> Any:
    """Return the torch module, the oracle of most checks (float64 by default inside checks)."""
    try:
        import torch as _torch
    except ImportError as err:  # pragma: no cover - torch is in derived[notebooks]
        raise ImportError(
            "the checks compare with torch: pip install 'derived[notebooks]'"
        ) from err
    return _torch


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Central differences of the scalar ``f`` at ``x`` (float64), shaped like ``x``."""
    from derived.jacobians import numerical_jacobian

    return numerical_jacobian(lambda a: np.asarray(f(a), dtype=np.float64), x, h)
