"""Checks for Part I, What networks can represent: pieces, XOR, activations' derivatives."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import ndtr

from derived.check._core import Checker, CheckResult
from derived.perceptron import perceptron_learn, truth_table

__all__ = [
    "check_count_pieces",
    "check_gelu_derivative",
    "check_parity_network",
    "check_perceptron_train",
    "check_sigmoid_derivative",
    "check_tanh_derivative",
    "check_xor_network",
]

Network = tuple[list[np.ndarray], list[np.ndarray]]

# --------------------------------------------------------------------------- pieces

_SAMPLES = 200_000  # grid cells of the brute-force oracle


# Every 0.05 from -40 to 40, so that a formula that switches to a stable form at some
# threshold is tried just below it; none within 0.3 of the zero of GELU' (-0.7518), where no
# float64 formula keeps a relative 1e-9.
_SWEEP = np.round(np.arange(-800, 801) * 0.05, 2)
_SWEEP = _SWEEP[np.abs(_SWEEP + 0.7517915) > 0.3]


def _net(weights: list[list[list[float]]], biases: list[list[float]]) -> Network:
    return [np.array(w, dtype=np.float64) for w in weights], [
        np.array(b, dtype=np.float64) for b in biases
    ]


def _random_net(widths: list[int], seed: int) -> Network:
    rng = np.random.default_rng(seed)
    sizes = [1, *widths, 1]
    Ws = [
        rng.normal(size=(m, n)) * np.sqrt(2.0 / n) for n, m in zip(sizes, sizes[1:], strict=False)
    ]
    bs = [rng.normal(size=m) * 0.5 for m in sizes[1:]]
    return Ws, bs


def _sawtooth(depth: int) -> Network:
    """Build the tent map composed ``depth`` times: 2**depth pieces on [0, 1]."""
    Ws = [np.array([[1.0], [1.0]])] + [np.array([[2.0, -4.0], [2.0, -4.0]])] * (depth - 1)
    bs = [np.array([0.0, -0.5])] * depth
    return [*Ws, np.array([[2.0, -4.0]])], [*bs, np.array([0.0])]


def _pieces_oracle(Ws: list[np.ndarray], bs: list[np.ndarray], lo: float, hi: float) -> int:
    """Count pieces by brute force on a fine grid (see :func:`_oracle_breaks`)."""
    return _oracle_breaks(Ws, bs, lo, hi).size + 1


def _oracle_breaks(Ws: list[np.ndarray], bs: list[np.ndarray], lo: float, hi: float) -> np.ndarray:
    """Locate the breakpoints by brute force on a fine grid, to within one cell.

    The affine function (slope, intercept) at the midpoint of each cell is read off the
    activation pattern there; a piece ends where it changes (by more than 1e-9 of the
    size of the numbers). Returns the cell boundaries where it changes.
    """
    x = lo + (np.arange(_SAMPLES) + 0.5) * ((hi - lo) / _SAMPLES)
    a, da = x[None, :], np.ones((1, _SAMPLES))  # values and d/dx, one column per point
    for d, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        a, da = W @ a + b[:, None], W @ da
        if d < len(Ws) - 1:
            on = a > 0
            a, da = a * on, da * on
    slope, value = da[0], a[0]
    intercept = value - slope * x
    scale = 1.0 + np.abs(slope) + np.abs(intercept)
    change = (np.abs(np.diff(slope)) > 1e-9 * scale[1:]) | (
        np.abs(np.diff(intercept)) > 1e-9 * scale[1:]
    )
    return lo + (np.flatnonzero(change) + 1) * ((hi - lo) / _SAMPLES)


def _shared_kink(k: float, c: float, ratio: float) -> Network:
    """relu(k (x - c)) + relu(ratio k (x - c)), its weights and biases rounded to float64."""
    return _net([[[k], [ratio * k]], [[1.0, 1.0]]], [[-k * c, -ratio * k * c], [0.0]])


def _pieces_cases() -> list[tuple[str, Network, tuple[float, float]]]:
    return [
        ("random network, widths 1-3-1 on [-2, 2]", _random_net([3], 11), (-2.0, 2.0)),
        ("random network, widths 1-4-4-1 on [-3, 3]", _random_net([4, 4], 12), (-3.0, 3.0)),
        ("random network, widths 1-5-3-4-1 on [-2, 1]", _random_net([5, 3, 4], 13), (-2.0, 1.0)),
        ("the sawtooth of depth 4 on [0, 1] (16 pieces)", _sawtooth(4), (0.0, 1.0)),
        (
            "kinks that cancel: relu(x) - relu(-x) = x (1 piece)",
            _net([[[1.0], [-1.0]], [[1.0, -1.0]]], [[0.0, 0.0], [0.0]]),
            (-1.0, 1.0),
        ),
        (
            "two units with the same kink: 2 pieces, not 3",
            _net([[[1.0], [2.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.5]]),
            (-1.0, 1.0),
        ),
        (
            # roots -b/w of the two units: -0.822128719507456 and -0.8221287195074559
            "two units with the same kink at x = -0.8221..., one rounding apart: 2 pieces",
            _shared_kink(1.8085868184872997, -0.822128719507456, 2.7),
            (-1.1162515761859644, 1.614256040410197),
        ),
        (
            "kinks only at the interval's ends (1 piece)",
            _net([[[1.0], [1.0]], [[1.0, 3.0]]], [[0.0, -1.0], [0.0]]),
            (0.0, 1.0),
        ),
        (
            "every unit dead on the interval (1 piece)",
            _net([[[1.0], [-2.0]], [[1.0, 1.0]]], [[-5.0, -5.0], [0.0]]),
            (-1.0, 1.0),
        ),
        (
            _CLOSE_KINKS,
            _net(
                [[[1.0], [1.0], [1.0], [1.0]], [[1.0, -2.0, 1.0, 1.0]]],
                [[-0.25, -0.25 - 2.0**-23, -0.25 - 2.0**-22, 2.0], [0.0]],
            ),
            (-1.0, 1.0),
        ),
    ]


# Known by construction, not from the grid oracle: the three kinks lie within one grid cell.
# Slopes 1, 2, 0, 1 on the four pieces; y = x + 2 on both sides of [0.25, 0.25 + 2^-22].
_CLOSE_KINKS = (
    "kinks 2^-23 (about 1.2e-7) apart: relu(x - 1/4) - 2 relu(x - 1/4 - 2^-23) "
    "+ relu(x - 1/4 - 2^-22) + relu(x + 2) on [-1, 1], slopes 1, 2, 0, 1 (4 pieces)"
)
_KNOWN_COUNTS = {_CLOSE_KINKS: 4}


def _text(arrays: list[np.ndarray]) -> str:
    """Write the layers as one line of exact numbers (messages cannot show ragged lists)."""
    return "[" + ", ".join(str(a.tolist()) for a in arrays) + "]"


def check_count_pieces(impl: Callable[..., Any]) -> CheckResult:
    """Check ``impl(weights, biases, interval)``, the number of affine pieces of a ReLU network.

    The network has one input and one output: ``weights[d]`` has shape
    ``(n_{d+1}, n_d)`` with widths ``n_0 = 1``, ``biases[d]`` shape ``(n_{d+1},)``, ReLU after
    every layer but the last. ``interval`` is ``(lo, hi)``. A piece is a maximal interval on
    which the network is affine: two neighbours with the same affine function are one piece.

    Breakpoints that differ by rounding alone are one breakpoint: the check's networks
    have breakpoints that are either equal up to rounding (within ``1e-9 * max(1, |x|)``)
    or at least ``2**-23`` (about 1.2e-7) apart, and at least ``0.005`` from the
    interval's ends, except kinks that fall exactly on an end, which split nothing and are
    not breakpoints.

    The oracle is brute force: the slope and intercept at the midpoints of 200,000 cells
    of the interval, counting where they change. Cases: three random networks, the
    sawtooth of depth 4, kinks that cancel, two units sharing a kink (at 0, and at a point
    where the two roots differ by one rounding), kinks only at the interval's ends, every
    unit dead. A wrong count shows the oracle's breakpoints, each within half a grid cell
    (at most 1.5e-5) of a true one. A last case, three kinks ``2**-23`` apart, has its
    count (4) known by construction, since they lie inside one cell of any grid coarser
    than about 1.7e7 points on ``[-1, 1]``: an implementation that samples fails it.

    Parameters
    ----------
    impl : callable
        ``impl(weights, biases, interval) -> int``, with ``weights`` and ``biases`` lists
        of float64 arrays and ``interval`` a pair of floats.

    Returns
    -------
    CheckResult
        The check's name and the cases that passed.

    Raises
    ------
    CheckFailure
        On the first case whose count is wrong, or that raises.

    Examples
    --------
    >>> from derived.regions import count_pieces
    >>> check_count_pieces(count_pieces)
    check_count_pieces passed all 10 cases: random network, widths 1-3-1 on [-2, 2]; ...
    """
    c = Checker("check_count_pieces", impl, "count_pieces")
    for label, (Ws, bs), interval in _pieces_cases():
        c.case(label, weights=_text(Ws), biases=_text(bs), interval=repr(interval))
        got = c.call([w.copy() for w in Ws], [b.copy() for b in bs], interval)
        breaks = _oracle_breaks(Ws, bs, *interval)
        c.require(
            np.ndim(got) == 0 and isinstance(np.asarray(got).item(), int | np.integer),
            f"count_pieces should return an integer, got {type(got).__name__} {got!r}",
        )
        if label in _KNOWN_COUNTS:
            c.require(
                int(got) == _KNOWN_COUNTS[label],
                f"the number of pieces is wrong: expected {_KNOWN_COUNTS[label]} (by "
                f"construction: breakpoints at 0.25, 0.25 + 2^-23 and 0.25 + 2^-22), got "
                f"{int(got)}; breakpoints this close are found from the weights, not by sampling",
            )
        elif int(got) != breaks.size + 1:
            cell = (interval[1] - interval[0]) / _SAMPLES
            c.fail_now(
                f"the number of pieces is wrong: expected {breaks.size + 1}, got {int(got)}.\n"
                f"  the oracle's {breaks.size} breakpoints, each the boundary between two grid "
                f"cells (of width {cell:.3g}) whose midpoints have different slopes or "
                f"intercepts, so within half a cell ({cell / 2:.3g}) of a true breakpoint: "
                + ", ".join(f"{b:.9g}" for b in breaks[:20])
                + (", ..." if breaks.size > 20 else "")
            )
    return c.result()


# --------------------------------------------------------------------------- XOR

_XOR = {(0.0, 0.0): 0.0, (0.0, 1.0): 1.0, (1.0, 0.0): 1.0, (1.0, 1.0): 0.0}


def check_xor_network(impl: Callable[[], Any]) -> CheckResult:
    """Check ``impl()``, the weights of a two-layer ReLU network that computes XOR.

    ``impl()`` returns ``(W1, b1, W2, b2)`` with shapes ``(H, 2)``, ``(H,)``, ``(1, H)``,
    ``(1,)``; the network is ``y = W2 @ relu(W1 @ x + b1) + b2``. The check runs it on
    the four points of ``{0, 1}^2`` and compares ``y`` with ``x1 XOR x2`` (to 1e-9).

    Parameters
    ----------
    impl : callable
        ``impl() -> (W1, b1, W2, b2)``.

    Returns
    -------
    CheckResult
        The check's name and the cases that passed.

    Raises
    ------
    CheckFailure
        If the weights have the wrong shapes or the network is wrong on an input.

    Examples
    --------
    >>> from derived.perceptron import xor_network
    >>> check_xor_network(xor_network)
    check_xor_network passed all 5 cases: the weights' shapes; x = (0, 0), XOR 0; ...
    """
    c = Checker("check_xor_network", impl, "xor_network")
    c.case("the weights' shapes")
    W1, b1, W2, b2 = _two_layer_params(c, c.call(), 2)
    for (x1, x2), target in _XOR.items():
        x = np.array([x1, x2])
        c.case(f"x = ({x1:.0f}, {x2:.0f}), XOR {target:.0f}", x=x, W1=W1, b1=b1, W2=W2, b2=b2)
        y = W2 @ np.maximum(W1 @ x + b1, 0.0) + b2
        c.close(y, np.array([target]), what="network's output", rtol=0.0, atol=1e-9)
    return c.result()


def _two_layer_params(c: Checker, params: Any, n: int) -> tuple[np.ndarray, ...]:
    """Require ``params`` to be (W1, b1, W2, b2) of a one-hidden-layer net on ``n`` inputs."""
    params = c.outputs(params, ("W1", "b1", "W2", "b2"), "arrays")
    W1, b1, W2, b2 = (np.asarray(p, dtype=np.float64) for p in params)
    H = W1.shape[0] if W1.ndim == 2 else -1
    shapes = [W1.shape, b1.shape, W2.shape, b2.shape]
    c.require(
        H >= 1 and shapes == [(H, n), (H,), (1, H), (1,)],
        f"the shapes should be (H, {n}), (H,), (1, H), (1,) for some H; got {shapes}",
    )
    return W1, b1, W2, b2


def _check_two_layer(c: Checker, n: int, params: Any, max_hidden: int | None) -> None:
    """Require ``params`` to be (W1, b1, W2, b2) for ``n`` inputs; compare with parity."""
    W1, b1, W2, b2 = _two_layer_params(c, params, n)
    H = W1.shape[0]
    if max_hidden is not None:
        units = "unit" if max_hidden == 1 else "units"
        c.require(H <= max_hidden, f"use at most {max_hidden} hidden {units}; got H = {H}")
    X = np.array(list(itertools.product([0.0, 1.0], repeat=n)))  # (2**n, n)
    y = np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2
    what = "vector of the network's outputs on {0, 1}^n"
    c.close(y[:, 0], X.sum(axis=1) % 2, what=what, rtol=0.0, atol=1e-9)


def check_parity_network(impl: Callable[[int], Any]) -> CheckResult:
    """Check ``impl(n)``, a one-hidden-layer ReLU network of at most n units for n-bit parity.

    ``impl(n)`` returns ``(W1, b1, W2, b2)`` with shapes ``(H, n)``, ``(H,)``, ``(1, H)``,
    ``(1,)`` and ``H <= n``; the network ``y = W2 @ relu(W1 @ x + b1) + b2`` must give
    ``(x_1 + ... + x_n) mod 2`` on all ``2**n`` points of ``{0, 1}^n``, to 1e-9.
    Cases: n = 1, 2, 3, 5, 8.

    Parameters
    ----------
    impl : callable
        ``impl(n) -> (W1, b1, W2, b2)``.

    Returns
    -------
    CheckResult
        The check's name and the cases that passed.

    Raises
    ------
    CheckFailure
        If the weights have the wrong shapes, more than n hidden units, or the network
        is wrong on an input.

    Examples
    --------
    One unit reading the sum of the inputs computes parity for n = 1 only:

    >>> import numpy as np
    >>> check_parity_network(lambda n: (np.ones((1, n)), np.zeros(1), np.ones((1, 1)), np.zeros(1)))
    Traceback (most recent call last):
        ...
    derived.check._core.CheckFailure: check_parity_network failed on case 2, 'n = 2 (XOR)':
      n = 2
      the vector of the network's outputs on {0, 1}^n is wrong...
    """
    c = Checker("check_parity_network", impl, "parity_network")
    for n, what in [(1, "x itself"), (2, "XOR"), (3, "8 points"), (5, "32 points"),
                    (8, "256 points")]:  # fmt: skip
        c.case(f"n = {n} ({what})", n=n)
        _check_two_layer(c, n, c.call(n), max_hidden=n)
    return c.result()


# --------------------------------------------------------------------------- perceptron rule


def _separable_eighths(points: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points with coordinates in eighths, labelled by a unit with a margin.

    Every coordinate is a multiple of 1/8 in [-2, 2] and the labelling unit's weights are
    whole numbers, so every pre-activation of the rule is an exact binary fraction: no
    order of summation can round a decision differently.
    """
    rng = np.random.default_rng(seed)
    w, b = rng.integers(-3, 4, size=dim).astype(np.float64), 0.5
    while True:
        X = rng.integers(-16, 17, size=(4 * points, dim)) / 8.0
        z = X @ w + b
        keep = np.abs(z) >= 0.75  # a margin: no point on or near the line
        if keep.sum() >= points and w.any():
            X = X[keep][:points]
            return X, (X @ w + b > 0).astype(np.float64)
        w = rng.integers(-3, 4, size=dim).astype(np.float64)  # pragma: no cover


def _perceptron_cases() -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    parity3 = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    return [
        ("the AND truth table, max_epochs = 100 (converges)", *truth_table("AND"), 100),
        ("the NOR truth table, max_epochs = 100 (converges)", *truth_table("NOR"), 100),
        ("the AND truth table, max_epochs = 3 (stops before converging)", *truth_table("AND"), 3),
        (
            "40 separable points in R^3, coordinates in eighths, max_epochs = 200",
            *_separable_eighths(40, 3, 14),
            200,
        ),
        (
            "25 separable points in R^5, coordinates in eighths, max_epochs = 200",
            *_separable_eighths(25, 5, 6),
            200,
        ),
        ("XOR, max_epochs = 10 (never converges)", *truth_table("XOR"), 10),
        ("3-bit parity, max_epochs = 12 (never converges)", parity3, parity3.sum(axis=1) % 2, 12),
    ]


def check_perceptron_train(impl: Callable[..., Any]) -> CheckResult:
    """Check ``impl(X, t, max_epochs)``, Rosenblatt's perceptron rule run from w = 0, b = 0.

    ``X`` has shape ``(P, n)`` (one input a row), ``t`` shape ``(P,)`` with entries 0.0 or
    1.0, both float64. The rule visits the rows in order, once per epoch, answers
    ``step(w @ x + b)`` with ``step(0) = 1``, and on a wrong answer adds ``(t_i - y) x_i``
    to ``w`` and ``t_i - y`` to ``b``. It stops after the first epoch without a mistake, or
    after ``max_epochs`` epochs. ``impl`` returns ``(w, b, mistakes)``: the final weights
    (float64, shape ``(n,)``), the final bias (a float) and the number of updates in each
    epoch run (integers, one per epoch, the last 0 if the rule converged).

    The oracle is :func:`derived.perceptron.perceptron_learn`. The counts must be equal
    and ``w`` and ``b`` within 1e-9 (the inputs of every case are binary fractions, so the
    rule's arithmetic is exact). Cases: AND and NOR (converge), AND stopped after 3
    epochs, separable random points in R^3 and R^5, XOR and 3-bit parity (a mistake in
    every epoch, so the run stops at ``max_epochs``).

    Parameters
    ----------
    impl : callable
        ``impl(X, t, max_epochs) -> (w, b, mistakes)``.

    Returns
    -------
    CheckResult
        The check's name and the cases that passed.

    Raises
    ------
    CheckFailure
        On the first case where the mistakes per epoch, ``w`` or ``b`` are wrong, or
        ``impl`` raises.

    Examples
    --------
    >>> from derived.perceptron import perceptron_learn
    >>> def train(X, t, max_epochs):
    ...     run = perceptron_learn(X, t, max_epochs)
    ...     return run.w, run.b, run.mistakes
    >>> check_perceptron_train(train)
    check_perceptron_train passed all 7 cases: the AND truth table, max_epochs = 100 ...
    """
    c = Checker("check_perceptron_train", impl, "perceptron_train")
    for label, X, t, epochs in _perceptron_cases():
        c.case(label, X=X, t=t, max_epochs=epochs)
        got = c.outputs(c.call(X, t, epochs), ("w", "b", "mistakes"), "values")
        run = perceptron_learn(X, t, epochs)
        mistakes = np.asarray(got[2])
        c.require(
            mistakes.ndim == 1 and np.issubdtype(mistakes.dtype, np.integer),
            "mistakes should be a 1-D array (or list) of integers, one per epoch; got "
            f"{np.asarray(got[2])!r}",
        )
        if mistakes.shape != run.mistakes.shape or np.any(mistakes != run.mistakes):
            c.fail_now(
                "the numbers of mistakes in the epochs are wrong.\n"
                f"  expected {run.mistakes.tolist()} ({run.mistakes.size} epochs)\n"
                f"  got      {mistakes.tolist()} ({mistakes.size} epochs)"
            )
        c.close(got[0], run.w, what="final w", rtol=1e-9, atol=1e-9)
        c.require(np.ndim(got[1]) == 0, f"b should be a number, got {got[1]!r}")
        c.close(float(got[1]), run.b, what="final b", rtol=1e-9, atol=1e-9)
    return c.result()


# --------------------------------------------------------------------------- derivatives


def _derivative_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20260)
    return [
        ("random inputs, 6 values", rng.normal(size=6) * 3.0),
        ("random inputs, a 2 x 3 array", rng.normal(size=(2, 3)) * 2.0),
        ("a single zero", np.array([0.0])),
        ("large inputs, +-10 and +-30", np.array([-30.0, -10.0, 10.0, 30.0])),
        (
            "extreme inputs, +-400, +-745 and +-1000",
            np.array([-1000.0, -745.0, -400.0, 400.0, 745.0, 1000.0]),
        ),
        (
            "a sweep every 0.05 from -40 to 40 (none within 0.3 of -0.7518)",
            _SWEEP,
        ),
    ]


def _reference(name: str, x: np.ndarray) -> np.ndarray:
    """Return the derivative in float64, close to exact at the check's inputs.

    Within 1e-300 + 4e-15 |exact| for sigma' and tanh', and 1e-300 + 1e-13 |exact| for GELU'
    (ndtr's relative error grows to about 1e-13 towards x = -37).

    (The tests compare it with mpmath at every input of :func:`_derivative_cases`.)

    sigma' = e / (1 + e)^2 with e = exp(-|x|); tanh' = 4 e / (1 + e)^2 with e = exp(-2|x|);
    GELU' = Phi(x) + x phi(x) with Phi from scipy's ndtr, accurate in the far left tail.
    """
    if name == "gelu":
        return np.asarray(ndtr(x) + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi))
    e = np.exp(-np.abs(x) * (2.0 if name == "tanh" else 1.0))
    return np.asarray((4.0 if name == "tanh" else 1.0) * e / (1.0 + e) ** 2)


#: Relative accuracy demanded of a derivative; values below ``_ATOL`` may be off by ``_ATOL``.
_RTOL, _ATOL = 1e-9, 1e-300


def _check_derivative(name: str, impl: Callable[[np.ndarray], Any]) -> CheckResult:
    c = Checker(f"check_{name}_derivative", impl, f"{name}_derivative")
    for label, x in _derivative_cases():
        c.case(label, x=x)
        got = c.call(x)
        c.close(got, _reference(name, x), what=f"derivative of {name}", rtol=_RTOL, atol=_ATOL)
    return c.result()


def check_sigmoid_derivative(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(x)``, the derivative of the sigmoid elementwise, to a relative 1e-9.

    The reference is ``e / (1 + e)**2`` with ``e = exp(-|x|)`` in float64 (within a
    relative 4e-15 of the exact value at every input below, which the tests confirm with
    mpmath). Cases: random inputs (a vector, a 2 x 3 array), a single zero, inputs of
    +-10 and +-30, inputs of +-400, +-745 and +-1000, and a sweep every 0.05 from -40
    to 40 (none within 0.3 of GELU's zero), so that a formula that switches to a stable
    form at some threshold also has to be accurate just below it. At every one of these inputs
    the answer must be within a relative 1e-9 of the derivative (an absolute 1e-300
    where it is smaller): ``sigma(x) (1 - sigma(x))`` fails at x = 30, where ``1 -
    sigma`` cancels, and ``exp(-x) / (1 + exp(-x))**2`` gives 0 at x = -400, where the
    square overflows (from about x = -354.9 down), and NaN at x = -745 and -1000, where
    ``exp(-x)`` overflows too.

    Parameters
    ----------
    impl : callable
        ``impl(x) -> array`` of the shape of ``x``, float64.

    Returns
    -------
    CheckResult
        The check's name and the cases that passed.

    Raises
    ------
    CheckFailure
        On the first case where ``impl`` is wrong, not finite, or raises.

    Examples
    --------
    >>> from derived.activations import derivative
    >>> check_sigmoid_derivative(lambda x: derivative(x, "sigmoid"))
    check_sigmoid_derivative passed all 6 cases: random inputs, 6 values; ...
    """
    return _check_derivative("sigmoid", impl)


def check_tanh_derivative(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(x)``, the derivative of tanh elementwise, to a relative 1e-9.

    The reference is ``4 e / (1 + e)**2`` with ``e = exp(-2|x|)``. Cases and tolerance as
    in :func:`check_sigmoid_derivative`: ``1 - tanh(x)**2`` fails at x = +-10, where it
    keeps only about 8 of the 16 digits, and gives 0 at x = +-30.

    Parameters
    ----------
    impl : callable
        ``impl(x) -> array`` of the shape of ``x``, float64.

    Returns
    -------
    CheckResult
        The check's name and the cases that passed.

    Raises
    ------
    CheckFailure
        On the first case where ``impl`` is wrong, not finite, or raises.

    Examples
    --------
    >>> from derived.activations import derivative
    >>> check_tanh_derivative(lambda x: derivative(x, "tanh"))
    check_tanh_derivative passed all 6 cases: random inputs, 6 values; ...
    """
    return _check_derivative("tanh", impl)


def check_gelu_derivative(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(x)``, the derivative of the exact GELU ``x Phi(x)``, to a relative 1e-9.

    The GELU is the exact one (``Phi`` the standard normal CDF), not its tanh
    approximation. The reference is ``Phi(x) + x phi(x)`` with ``Phi`` from
    ``scipy.special.ndtr``. Cases and tolerance as in :func:`check_sigmoid_derivative`:
    ``Phi`` written as ``(1 + erf(x / sqrt 2)) / 2`` is 0 at x = -10, where the
    derivative is about -7.6e-22 and ``Phi(-10)`` is 1% of it, so it fails there.
    The derivative has a zero at x = -0.7517915..., near which ``Phi(x) + x phi(x)``
    cancels and no longer keeps a relative 1e-9 (within a few times 1e-7 of it); the check
    tries no input there.

    Parameters
    ----------
    impl : callable
        ``impl(x) -> array`` of the shape of ``x``, float64.

    Returns
    -------
    CheckResult
        The check's name and the cases that passed.

    Raises
    ------
    CheckFailure
        On the first case where ``impl`` is wrong, not finite, or raises.

    Examples
    --------
    >>> from derived.activations import derivative
    >>> check_gelu_derivative(lambda x: derivative(x, "gelu"))
    check_gelu_derivative passed all 6 cases: random inputs, 6 values; ...
    """
    return _check_derivative("gelu", impl)
