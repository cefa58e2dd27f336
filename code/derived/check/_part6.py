"""Checks for Part VI, Reading research: weight agnostic networks and their weight sweeps."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, describe, torch

__all__ = ["check_pareto_fronts", "check_sweep_accuracy", "check_wann_forward"]

# The ten node activations of the chapter, in its order.
_NAMES: tuple[str, ...] = (
    "linear", "step", "sin", "cos", "gauss", "tanh", "sigmoid", "inverse", "abs", "relu",
)  # fmt: skip

_SWEEP: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)

# A network as the student's function receives it: n_inputs, n_outputs, activations, edges.
Net = tuple[int, int, tuple[str, ...], tuple[tuple[int, int], ...]]


def _phi(name: str, s: Any) -> Any:
    """Apply the activation ``name`` to a float64 torch tensor."""
    t = torch()
    table: dict[str, Callable[[Any], Any]] = {
        "linear": lambda u: u,
        "step": lambda u: (u > 0).to(t.float64),
        "sin": lambda u: t.sin(t.pi * u),
        "cos": lambda u: t.cos(t.pi * u),
        "gauss": lambda u: t.exp(-0.5 * u * u),
        "tanh": t.tanh,
        "sigmoid": t.sigmoid,
        "inverse": lambda u: -u,
        "abs": t.abs,
        "relu": t.relu,
    }
    return table[name](s)


def _oracle_forward(net: Net, x: np.ndarray, weights: Any) -> np.ndarray:
    """Each node by recursion on its sources (memoised), one shared weight at a time.

    Returns the outputs of shape (W, N, n_outputs), in float64.
    """
    t = torch()
    n_in, n_out, acts, edges = net
    n_nodes = n_in + 1 + len(acts)
    sources: dict[int, list[int]] = {j: [] for j in range(n_nodes)}
    for i, j in edges:
        sources[j].append(i)
    xt = t.tensor(x, dtype=t.float64)
    per_weight = []
    for w in weights:
        memo: dict[int, Any] = {}

        def value(j: int, w: float = float(w), memo: dict[int, Any] = memo) -> Any:
            if j not in memo:
                if j < n_in:
                    memo[j] = xt[:, j]
                elif j == n_in:
                    memo[j] = t.ones(xt.shape[0], dtype=t.float64)
                else:
                    s = t.zeros(xt.shape[0], dtype=t.float64)
                    for i in sources[j]:
                        s = s + value(i)
                    memo[j] = _phi(acts[j - n_in - 1], w * s)
            return memo[j]

        per_weight.append(t.stack([value(j) for j in range(n_nodes - n_out, n_nodes)], dim=1))
    out: np.ndarray = t.stack(per_weight).numpy()
    return out


def _random_net(rng: np.random.Generator, n_in: int, n_out: int, n_hidden: int, p: float) -> Net:
    """Draw a graph: each pair source < target into a non-input node with probability p."""
    acts = tuple(str(a) for a in rng.choice(_NAMES, size=n_hidden + n_out))
    n_nodes = n_in + 1 + n_hidden + n_out
    edges = tuple((i, j) for j in range(n_in + 1, n_nodes) for i in range(j) if rng.random() < p)
    return n_in, n_out, acts, edges


# --------------------------------------------------------------------------- forward

ForwardCase = tuple[str, Net, np.ndarray, np.ndarray | list[float]]


def _forward_cases() -> list[ForwardCase]:
    rng = np.random.default_rng(20602)
    sweep = np.array(_SWEEP)
    cases: list[ForwardCase] = []
    net = _random_net(rng, 2, 2, 3, 0.6)
    cases.append(
        (
            "random graph, 2 inputs, 3 hidden nodes, 2 outputs, the six weights of the paper",
            net,
            rng.uniform(-2, 2, size=(5, 2)),
            sweep,
        )
    )
    net = _random_net(rng, 3, 1, 2, 0.7)
    cases.append(
        (
            "a negative weight, w = 0 (every node sees a zero sum) and w = 0.7",
            net,
            rng.uniform(-2, 2, size=(4, 3)),
            np.array([-1.5, 0.0, 0.7]),
        )
    )
    # node 4 (hidden, gauss) has no inputs: it is gauss(0) = 1 whatever w; node 5 reads it
    net = (3, 2, ("gauss", "sigmoid", "cos"), ((4, 5), (1, 5), (3, 6)))
    cases.append(
        (
            "a hidden node with no inputs, an output wired only to the bias",
            net,
            rng.uniform(-2, 2, size=(4, 3)),
            sweep,
        )
    )
    # outputs 3 and 4: output 3 reads input 0 alone, output 4 has no inputs at all
    net = (2, 2, ("tanh", "step"), ((0, 3),))
    cases.append(
        (
            "an output wired directly to an input, another output with no inputs",
            net,
            rng.uniform(-2, 2, size=(3, 2)),
            sweep,
        )
    )
    # a chain through the ten activations: input 0 -> node 2 -> node 3 -> ... -> node 11,
    # step last; its input, a relu, is an output too (the step alone gives only the sign
    # of w). Replacing one activation by another changes the outputs, except at the first
    # node: linear there feeds cos, which is even, so inverse or abs in its place is not
    # seen (the tests try every other swap)
    chain = tuple((j - 1 if j > 2 else 0, j) for j in range(2, 12))
    # even nodes early and the sign flip after abs, so that no other node hides another
    in_chain: tuple[str, ...] = ("linear", "cos", "gauss", "sin", "tanh", "abs", "inverse")
    in_chain += ("sigmoid", "relu", "step")
    assert sorted(in_chain) == sorted(_NAMES)
    cases.append(
        (
            "a chain through all ten activations, the last two nodes (relu, step) outputs",
            (1, 2, in_chain, chain),
            rng.uniform(-1, 1, size=(6, 1)),
            np.array([-2.0, -0.5, 0.25, 1.0, 1.5]),
        )
    )
    # edges listed from the last target back: one output also feeds the next output
    n_in, n_out, acts, edges = _random_net(rng, 2, 3, 3, 0.6)
    edges = tuple(sorted(set(edges) | {(7, 8)}, key=lambda e: (-e[1], -e[0])))
    cases.append(
        (
            "edges listed in reverse order, an output that feeds another output",
            (n_in, n_out, acts, edges),
            rng.uniform(-2, 2, size=(4, 2)),
            sweep,
        )
    )
    cases.append(
        (
            "no edges at all: every hidden node and output is phi(0)",
            (2, 3, ("cos", "gauss", "sigmoid", "relu"), ()),
            np.array([[0.5, -1.0], [2.0, 3.0]]),
            sweep,
        )
    )
    net = _random_net(rng, 4, 2, 4, 0.5)
    cases.append(
        (
            "one example, one weight",
            net,
            rng.uniform(-2, 2, size=(1, 4)),
            np.array([-0.8]),
        )
    )
    # the statement allows weights as a Python list: w[:, None] on a list raises TypeError
    net = _random_net(rng, 2, 2, 2, 0.7)
    cases.append(
        (
            "weights given as a Python list of floats, [-1.0, 0.5, 2.0]",
            net,
            rng.uniform(-2, 2, size=(3, 2)),
            [-1.0, 0.5, 2.0],
        )
    )
    return cases


def check_wann_forward(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(n_inputs, n_outputs, activations, edges, x, weights)``, a WANN's outputs.

    Nodes :math:`0, \dots, n_\text{in} - 1` are the inputs, node :math:`n_\text{in}` the
    bias (always 1), then the hidden nodes and, last, the :math:`n_\text{out}` outputs;
    ``activations[k]`` names the activation of node :math:`n_\text{in} + 1 + k`, and every
    edge ``(i, j)`` has :math:`i < j` (no pair twice: the oracle would count a repeated
    pair twice, as the sum below does). Every edge carries the same weight :math:`w`:

    .. math:: v_j = \varphi_j\Big(w \sum_{i \to j} v_i\Big),

    evaluated for every example of ``x`` and every weight of ``weights``. The oracle
    evaluates each node by recursion on its sources (memoised) in torch float64, one
    weight at a time. Cases: a random graph at the paper's six weights, a sweep with a
    negative weight and :math:`w = 0`, a hidden node with no inputs, an output wired
    directly to an input next to one with no inputs, a chain through all ten
    activations, edges listed in reverse order with an output that feeds another output,
    a network with no edges at all (every node outputs :math:`\varphi(0)`), a single
    example at a single weight, and weights given as a Python list of floats.

    Parameters
    ----------
    impl : callable
        The student's forward pass: the integers ``n_inputs`` and ``n_outputs``, a tuple
        ``activations`` of names (linear, step, sin, cos, gauss, tanh, sigmoid, inverse,
        abs, relu), a tuple ``edges`` of pairs ``(source, target)`` in any order, ``x`` of
        shape (N, n_inputs) and ``weights`` of shape (W,) (float64, or a Python list of
        floats) to the outputs, of
        shape (W, N, n_outputs): ``out[k, n]`` is the network at weight ``weights[k]`` on
        the example ``x[n]``.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose outputs are wrong (or of the wrong shape), naming the
        case, the graph, the expected and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.wann import Topology, forward
    >>> def wann_forward(n_inputs, n_outputs, activations, edges, x, weights):
    ...     return forward(Topology(n_inputs, n_outputs, activations, edges), x, weights)
    >>> check_wann_forward(wann_forward)
    check_wann_forward passed all 9 cases: random graph, 2 inputs, ...
    """
    c = Checker("check_wann_forward", impl, "wann_forward")
    for label, (n_in, n_out, acts, edges), x, weights in _forward_cases():
        c.case(
            label, n_inputs=n_in, n_outputs=n_out, activations=acts, edges=edges, x=x,
            weights=weights,
        )  # fmt: skip
        got = c.call(n_in, n_out, acts, edges, x, weights)
        expected = _oracle_forward((n_in, n_out, acts, edges), x, weights)
        c.close(got, expected, what="array of outputs", rtol=1e-9, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- accuracy

AccuracyCase = tuple[str, Net, np.ndarray, np.ndarray, np.ndarray]


def _accuracy_cases() -> list[AccuracyCase]:
    rng = np.random.default_rng(20603)
    sweep = np.array(_SWEEP)
    xor_x = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    xor_y = np.array([0, 1, 1, 0])
    cases: list[AccuracyCase] = []
    net = _random_net(rng, 2, 3, 3, 0.7)
    cases.append(
        (
            "random graph, 3 classes, 7 examples, the six weights of the paper",
            net,
            rng.uniform(-2, 2, size=(7, 2)),
            rng.integers(0, 3, size=7),
            sweep,
        )
    )
    cases.append(
        (
            "XOR with two gauss outputs: right at every weight",
            (2, 2, ("gauss", "gauss"), ((2, 3), (0, 4), (1, 4))),
            xor_x,
            xor_y,
            sweep,
        )
    )
    cases.append(
        (
            "XOR with a network that solves it at some weights only",
            (2, 2, ("abs", "cos"), ((0, 3), (1, 3), (3, 4))),
            xor_x,
            xor_y,
            np.array([-2.0, -1.0, -0.25, 0.25, 1.0, 2.0]),
        )
    )
    cases.append(
        (
            "outputs that ignore the inputs: every example a tie, counted as an error",
            (2, 2, ("sigmoid", "sigmoid"), ((2, 3), (2, 4))),
            xor_x,
            xor_y,
            sweep,
        )
    )
    # outputs 0 and 1 are sigmoid(0) = 0.5 always, output 2 is relu(w x1): the label 2 wins
    # over two tied classes, and the label 0 ties at the top with class 1 above class 2
    cases.append(
        (
            "3 classes: a label that wins over two tied classes, a label tied at the top",
            (2, 3, ("sigmoid", "sigmoid", "relu"), ((0, 5),)),
            np.array([[2.0, 0.0], [0.1, 0.0], [-1.0, 0.0], [3.0, 0.0]]),
            np.array([2, 0, 0, 2]),
            sweep,
        )
    )
    net = _random_net(rng, 3, 2, 2, 0.7)  # its outputs (this seed): sin, then cos
    cases.append(
        (
            "w = 0 in the sweep, where the outputs are sin(0) = 0 and cos(0) = 1 (so label 1 "
            "wins there), labels 0 1 1 0 1 0",
            net,
            rng.uniform(-2, 2, size=(6, 3)),
            np.array([0, 1, 1, 0, 1, 0]),
            np.array([-1.0, 0.0, 0.5, 1.5]),
        )
    )
    net = _random_net(rng, 2, 4, 2, 0.7)
    cases.append(
        (
            "one example, 4 classes, its label 2 the strict winner at three weights of six",
            net,
            rng.uniform(-2, 2, size=(1, 2)),
            np.array([2]),
            sweep,
        )
    )
    # output 0 is w x1 and output 1 is w x1 + w: at w < 0 class 0 wins with an output as low
    # as -4, so masking the label's own output with -1 (not -inf) before the max misjudges it
    cases.append(
        (
            "linear outputs: the winning output is below -1 at the negative weights",
            (2, 2, ("linear", "linear"), ((0, 3), (0, 4), (2, 4))),
            np.array([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [0.5, 0.0]]),
            np.array([0, 0, 1, 1]),
            sweep,
        )
    )
    return cases


def _oracle_accuracy(net: Net, x: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Any:
    """Count, weight by weight and example by example, the strict wins of the label."""
    out = _oracle_forward(net, x, weights)
    acc = []
    for k in range(len(weights)):
        right = 0
        for n, label in enumerate(labels):
            others = [out[k, n, c] for c in range(net[1]) if c != label]
            right += all(out[k, n, label] > o for o in others)
        acc.append(right / len(labels))
    return np.array(acc), sum(acc) / len(acc), min(acc)


def check_sweep_accuracy(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(n_inputs, n_outputs, activations, edges, x, labels, weights)``.

    The network is that of :func:`check_wann_forward`, with one output node per class.
    Example :math:`n` is right at weight :math:`w` when the output of its label is
    *strictly* larger than every other output (a tie is an error); ``impl`` returns the
    accuracy at each weight of the sweep, its mean over the sweep and its worst (the
    smallest) value. The oracle runs the oracle forward pass of
    :func:`check_wann_forward` and counts the strict wins one weight and one example at a
    time. Cases: a random three-class graph, XOR solved at every weight, XOR solved at
    some weights only, outputs that tie on every example, three classes where a label
    wins over two tied classes or ties at the top above a third, a sweep through
    :math:`w = 0`, a single example with four classes, and linear outputs where the
    winning output is below -1 (so the label's own output must be hidden with
    :math:`-\infty`, not a finite number, before the largest other output is taken).

    Parameters
    ----------
    impl : callable
        The student's function: the network as in :func:`check_wann_forward`, ``x`` of
        shape (N, n_inputs), integer ``labels`` of shape (N,) in ``0 .. n_outputs - 1``
        and ``weights`` of shape (W,) to three results ``(accuracy, mean, worst)``:
        the accuracies of shape (W,), their mean and their minimum.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case with a wrong result (or not three of them), naming the case,
        its inputs, the result, the expected and the returned values.

    Examples
    --------
    >>> from derived.wann import Topology, sweep_accuracy
    >>> def accuracy(n_inputs, n_outputs, activations, edges, x, labels, weights):
    ...     g = Topology(n_inputs, n_outputs, activations, edges)
    ...     acc = sweep_accuracy(g, x, labels, weights)
    ...     return acc, acc.mean(), acc.min()
    >>> check_sweep_accuracy(accuracy)
    check_sweep_accuracy passed all 8 cases: random graph, 3 classes, ...
    """
    c = Checker("check_sweep_accuracy", impl, "sweep_accuracy")
    for label, net, x, labels, weights in _accuracy_cases():
        n_in, n_out, acts, edges = net
        c.case(
            label, n_inputs=n_in, n_outputs=n_out, activations=acts, edges=edges, x=x,
            labels=labels, weights=weights,
        )  # fmt: skip
        got = c.call(n_in, n_out, acts, edges, x, labels, weights)
        acc, mean, worst = c.outputs(got, ("accuracy", "mean", "worst"), "results")
        exp_acc, exp_mean, exp_worst = _oracle_accuracy(net, x, labels, weights)
        # float32 accuracies are fine: they are fractions k / N, far apart for these N
        c.close(acc, exp_acc, what="accuracy at each weight", rtol=0, atol=1e-6)
        c.close(mean, exp_mean, what="mean accuracy over the sweep", rtol=0, atol=1e-6)
        c.close(worst, exp_worst, what="worst accuracy over the sweep", rtol=0, atol=1e-6)
    return c.result()


# --------------------------------------------------------------------------- Pareto fronts

FrontCase = tuple[str, np.ndarray]

# Seconds a case of check_pareto_fronts may run; each has at most 40 rows.
_FRONT_SECONDS = 5.0


@contextmanager
def _time_limit(seconds: float, message: str) -> Iterator[None]:
    """Raise TimeoutError(message) in the block after ``seconds``, where a timer can.

    Only the main thread of a Unix process can take SIGALRM; elsewhere the block runs
    without a limit.
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise TimeoutError(message)

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _front_cases() -> list[FrontCase]:
    rng = np.random.default_rng(20604)
    # a population of networks: mean accuracy in steps of 1/24, 1 / connections (0 counted as 1)
    conns = rng.integers(0, 5, size=40)
    population = np.stack([rng.integers(0, 25, size=40) / 24, 1.0 / np.maximum(conns, 1)], axis=1)
    return [
        ("two objectives, 12 random points (no two equal in any objective)",
         rng.normal(size=(12, 2))),
        ("a point dominated by two points of the first front: it is in front 1, not 2",
         np.array([[3.0, 1.0], [1.0, 3.0], [0.5, 0.5], [0.0, 0.0]])),
        ("equal in one objective: (1, 2) dominates (1, 1), (2, 1) dominates (1, 1)",
         np.array([[1.0, 1.0], [1.0, 2.0], [2.0, 1.0], [0.0, 2.0]])),
        ("equal rows do not dominate each other: each pair shares a front",
         np.array([[0.5, 0.5], [0.5, 0.5], [0.25, 1.0], [0.25, 1.0], [0.25, 0.5]])),
        ("one objective: the fronts are its distinct values, the largest first",
         np.array([[0.3], [0.9], [0.3], [-1.0], [0.9], [0.5]])),
        ("three objectives, 10 random points rounded to halves (ties in some objectives)",
         np.round(2 * rng.normal(size=(10, 3))) / 2),
        ("a chain of six points, each dominating those listed before it: fronts 5, ..., 0",
         np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0], [6.0, 6.0]])),
        ("40 networks: mean accuracy in steps of 1/24 and 1 / connections, many equal rows",
         population),
        ("one point", np.array([[0.7, 0.2]])),
    ]  # fmt: skip


def _oracle_fronts(objectives: np.ndarray) -> np.ndarray:
    """Peel the fronts one by one, comparing every pair in plain Python."""
    rows = [tuple(float(v) for v in r) for r in objectives]

    def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
        return all(p >= q for p, q in zip(a, b, strict=True)) and any(
            p > q for p, q in zip(a, b, strict=True)
        )

    front = [-1] * len(rows)
    left = set(range(len(rows)))
    k = 0
    while left:
        now = {i for i in left if not any(dominates(rows[j], rows[i]) for j in left)}
        for i in now:
            front[i] = k
        left -= now
        k += 1
    return np.array(front, dtype=np.int64)


def check_pareto_fronts(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(objectives)``, the Pareto front of each row (every objective maximised).

    Row :math:`a` *dominates* row :math:`b` when :math:`a_m \ge b_m` for every objective
    :math:`m` and :math:`a_m > b_m` for at least one. Front 0 holds the rows that no row
    dominates; front :math:`k` the rows that no row outside fronts :math:`0, \dots, k - 1`
    dominates. Equal rows do not dominate each other, so they share a front. This is the
    non-dominated sorting by which the WANN paper ranks its networks, on the mean
    performance over the sweep and either the best performance or the inverse number of
    connections (for a classifier its code's performance is the negative mean
    cross-entropy of the softmax of the outputs, not the accuracy). The
    oracle peels the fronts one by one, comparing every pair in plain Python. Cases:
    random points, a point dominated by two points of the first front, rows equal in one
    objective, equal rows, a single objective, three objectives with ties, a chain of
    six fronts, a population of networks with many equal rows, and a single point. A case
    that runs over 5 s (each has at most 40 rows) fails as a TimeoutError: a peeling loop
    never ends when its dominance marks a row as dominating itself (or equal rows as
    dominating each other), or when a pass tests the rows against all rows rather than
    against the rows still left, so that a row dominated only by earlier fronts is never
    peeled.

    Parameters
    ----------
    impl : callable
        The student's function: ``objectives`` of shape (P, M), float64, each column an
        objective to maximise, to an integer array of shape (P,): the front of each row,
        counted from 0.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose fronts are wrong (or of the wrong shape or type), naming
        the case, the objectives, the expected and the returned fronts.

    Examples
    --------
    >>> import numpy as np
    >>> def pareto_fronts(objectives):
    ...     obj = np.asarray(objectives, dtype=float)
    ...     ge = (obj[:, None, :] >= obj[None, :, :]).all(axis=2)
    ...     gt = (obj[:, None, :] > obj[None, :, :]).any(axis=2)
    ...     dominated_by = ge & gt  # [i, j]: row i dominates row j
    ...     front, left, k = np.full(len(obj), -1), np.ones(len(obj), bool), 0
    ...     while left.any():
    ...         now = left & ~dominated_by[left].any(axis=0)
    ...         front[now], left, k = k, left & ~now, k + 1
    ...     return front
    >>> check_pareto_fronts(pareto_fronts)
    check_pareto_fronts passed all 9 cases: two objectives, 12 random points ...
    """
    c = Checker("check_pareto_fronts", impl, "pareto_fronts")
    for label, objectives in _front_cases():
        c.case(label, objectives=objectives)
        with _time_limit(
            _FRONT_SECONDS,
            f"still running after {_FRONT_SECONDS:g} s on {len(objectives)} rows; if a pass "
            "of your loop peels no row, either your dominance marks a row as dominating "
            "itself or two equal rows as dominating each other, or a pass tests the rows "
            "against all rows (dom.any(axis=0)) instead of the rows still left "
            "(dom[left].any(axis=0)), so a row dominated only by earlier fronts is never "
            "peeled",
        ):
            got = c.call(objectives)
        expected = _oracle_fronts(objectives)
        if got is None:
            c.fail_now("pareto_fronts returned None instead of the fronts: is a return missing?")
        arr = np.asarray(got)
        c.require(
            arr.shape == expected.shape,
            f"the fronts should have shape {expected.shape}, one per row; got {describe(arr)}",
        )
        c.require(
            arr.dtype.kind in "iu"
            or (arr.dtype.kind == "f" and bool(np.all(arr == np.round(arr)))),
            f"the fronts should be integers; got {describe(arr)}",
        )
        c.equal(arr, expected, what="front of each row")
    return c.result()
