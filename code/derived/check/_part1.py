"""Checks for Part I, What networks can represent: pieces, XOR, activations' derivatives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, torch

__all__ = [
    "check_count_pieces",
    "check_gelu_derivative",
    "check_sigmoid_derivative",
    "check_tanh_derivative",
    "check_xor_network",
]

Network = tuple[list[np.ndarray], list[np.ndarray]]

# --------------------------------------------------------------------------- pieces

_SAMPLES = 200_000  # grid cells of the brute-force oracle


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
    """Count pieces by brute force on a fine grid.

    The affine function (slope, intercept) at the midpoint of each cell is read off the
    activation pattern there; a piece ends where it changes.
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
    return int(change.sum()) + 1


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
            "kinks only at the interval's ends (1 piece)",
            _net([[[1.0], [1.0]], [[1.0, 3.0]]], [[0.0, -1.0], [0.0]]),
            (0.0, 1.0),
        ),
        (
            "every unit dead on the interval (1 piece)",
            _net([[[1.0], [-2.0]], [[1.0, 1.0]]], [[-5.0, -5.0], [0.0]]),
            (-1.0, 1.0),
        ),
    ]


def _text(arrays: list[np.ndarray]) -> str:
    """Write the layers as one line of rounded numbers (messages cannot show ragged lists)."""
    return "[" + ", ".join(str(np.round(a, 4).tolist()) for a in arrays) + "]"


def check_count_pieces(impl: Callable[..., Any]) -> CheckResult:
    """Check ``impl(weights, biases, interval)``, the number of affine pieces of a ReLU network.

    The network has one input and one output: ``weights[d]`` has shape
    ``(n_{d+1}, n_d)`` with widths ``n_0 = 1``, ``biases[d]`` shape ``(n_{d+1},)``, ReLU after
    every layer but the last. ``interval`` is ``(lo, hi)``. A piece is a maximal interval on
    which the network is affine: two neighbours with the same affine function are one piece.

    The oracle is brute force: the slope and intercept at the midpoints of 200,000 cells
    of the interval, counting where they change. Cases: three random networks, the
    sawtooth of depth 4, kinks that cancel, two units sharing a kink, kinks only at the
    interval's ends, every unit dead.

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
    check_count_pieces passed all 8 cases: random network, widths 1-3-1 on [-2, 2]; ...
    """
    c = Checker("check_count_pieces", impl, "count_pieces")
    for label, (Ws, bs), interval in _pieces_cases():
        c.case(label, weights=_text(Ws), biases=_text(bs), interval=interval)
        got = c.call([w.copy() for w in Ws], [b.copy() for b in bs], interval)
        expected = _pieces_oracle(Ws, bs, *interval)
        c.require(
            np.ndim(got) == 0 and isinstance(np.asarray(got).item(), int | np.integer),
            f"count_pieces should return an integer, got {type(got).__name__} {got!r}",
        )
        c.equal(int(got), expected, what="number of pieces")
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
    params = c.call()
    params = c.outputs(params, ("W1", "b1", "W2", "b2"), "arrays")
    W1, b1, W2, b2 = (np.asarray(p, dtype=np.float64) for p in params)
    H = W1.shape[0] if W1.ndim == 2 else -1
    shapes = [W1.shape, b1.shape, W2.shape, b2.shape]
    c.require(
        H >= 1 and shapes == [(H, 2), (H,), (1, H), (1,)],
        f"the shapes should be (H, 2), (H,), (1, H), (1,) for some H; got {shapes}",
    )
    for (x1, x2), target in _XOR.items():
        x = np.array([x1, x2])
        c.case(f"x = ({x1:.0f}, {x2:.0f}), XOR {target:.0f}", x=x, W1=W1, b1=b1, W2=W2, b2=b2)
        y = W2 @ np.maximum(W1 @ x + b1, 0.0) + b2
        c.close(y, np.array([target]), what="network's output", rtol=0.0, atol=1e-9)
    return c.result()


# --------------------------------------------------------------------------- derivatives


def _derivative_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20260)
    return [
        ("random inputs, 6 values", rng.normal(size=6) * 3.0),
        ("random inputs, a 2 x 3 array", rng.normal(size=(2, 3)) * 2.0),
        ("a single zero", np.array([0.0])),
        ("large inputs, +-10 and +-30", np.array([-30.0, -10.0, 10.0, 30.0])),
        ("extreme inputs, +-745 and +-1000", np.array([-1000.0, -745.0, 745.0, 1000.0])),
    ]


def _check_derivative(name: str, impl: Callable[[np.ndarray], Any]) -> CheckResult:
    t = torch()
    fn: Callable[[Any], Any] = {
        "sigmoid": t.sigmoid,
        "tanh": t.tanh,
        "gelu": t.nn.functional.gelu,
    }[name]
    c = Checker(f"check_{name}_derivative", impl, f"{name}_derivative")
    for label, x in _derivative_cases():
        c.case(label, x=x)
        got = c.call(x)
        xt = t.tensor(x, dtype=t.float64, requires_grad=True)
        fn(xt).sum().backward()
        c.close(got, xt.grad.numpy(), what=f"derivative of {name}", rtol=1e-8, atol=1e-12)
    return c.result()


def check_sigmoid_derivative(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(x)``, the derivative of the sigmoid elementwise, against torch autograd.

    Cases: random inputs (a vector, a 2 x 3 array), a single zero, inputs of +-10 and +-30,
    and inputs of +-745 and +-1000 where ``exp(-x)`` overflows (the answer is 0, not NaN).

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
    check_sigmoid_derivative passed all 5 cases: random inputs, 6 values; ...
    """
    return _check_derivative("sigmoid", impl)


def check_tanh_derivative(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(x)``, the derivative of tanh elementwise, against torch autograd.

    Cases as in :func:`check_sigmoid_derivative`.

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
    check_tanh_derivative passed all 5 cases: random inputs, 6 values; ...
    """
    return _check_derivative("tanh", impl)


def check_gelu_derivative(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(x)``, the derivative of the exact GELU ``x Phi(x)``, against torch autograd.

    The GELU is the exact one (``Phi`` the standard normal CDF), not its tanh
    approximation. Cases as in :func:`check_sigmoid_derivative`.

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
    check_gelu_derivative passed all 5 cases: random inputs, 6 values; ...
    """
    return _check_derivative("gelu", impl)
