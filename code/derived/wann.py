r"""Weight agnostic neural networks: topologies evaluated with one shared weight.

A *topology* is a directed acyclic graph whose nodes are numbered in an order that every
edge respects. Nodes :math:`0, \dots, n_\text{in} - 1` are the inputs, node
:math:`n_\text{in}` is a bias that always outputs 1, then come the hidden nodes and, last,
the :math:`n_\text{out}` output nodes. Every non-input node :math:`j` has an activation
:math:`\varphi_j` from :data:`ACTIVATIONS`. In a weight agnostic network every edge
carries the *same* weight :math:`w`, so node :math:`j` computes

.. math::

    v_j = \varphi_j\Big(w \sum_{i \to j} v_i\Big),

and the network is the function :math:`f_{G,w}` of its inputs read off the output nodes.
A topology is judged not at one weight but over a sweep :math:`S` of shared weights,
for example :math:`S = \{-2, -1, -0.5, 0.5, 1, 2\}` as in Gaier and Ha (2019): its mean
score over :math:`S` says how well it works whatever the weight, its worst score whether
it works for every weight of the sweep.

Classification reads the class off the output node with the largest value and counts a
tie as an error. :func:`forward` evaluates a whole sweep of weights on a whole batch at
once (one matrix-vector product per node, no loop over weights or examples);
:func:`random_search` samples random topologies with an explicit ``rng`` and ranks them
by worst accuracy over the sweep, then mean accuracy, then fewest edges. The book's chapter
*Weight agnostic neural networks* reads the paper and runs these experiments;
``tests/test_wann.py`` checks the evaluation against a plain per-node, per-weight, per-example loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_generator, check_int
from derived.activations import _logistic

__all__ = [
    "ACTIVATIONS",
    "PAPER_WEIGHTS",
    "SearchResult",
    "Topology",
    "apply_activation",
    "forward",
    "random_search",
    "random_topology",
    "sweep_accuracy",
    "sweep_mse",
    "xor_data",
]

Array = NDArray[np.float64]

#: The shared weights at which Gaier and Ha (2019) evaluate every topology:
#: -2, -1, -0.5, 0.5, 1 and 2.
PAPER_WEIGHTS: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)


_FUNCS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda s: s,
    "step": lambda s: (s > 0).astype(np.float64),
    "sin": lambda s: np.sin(np.pi * s),
    "cos": lambda s: np.cos(np.pi * s),
    "gauss": lambda s: np.exp(-0.5 * s * s),
    "tanh": np.tanh,
    "sigmoid": _logistic,
    "inverse": lambda s: -s,
    "abs": np.abs,
    "relu": lambda s: np.maximum(s, 0.0),
}

#: The node activations a topology may use, the ten of the paper (linear, step, sin,
#: cos, gauss, tanh, sigmoid, inverse, abs and relu).
ACTIVATIONS: tuple[str, ...] = tuple(_FUNCS)


def _check_activation(name: object, arg: str) -> str:
    if not isinstance(name, str) or name not in _FUNCS:
        raise ValueError(f"{arg} must be one of {ACTIVATIONS}, got {name!r}")
    return name


@dataclass(frozen=True)
class Topology:
    """A feed-forward graph of nodes with activations; every edge has the shared weight.

    Nodes are numbered: inputs ``0 .. n_inputs - 1``, the bias ``n_inputs`` (always 1),
    hidden nodes, and the ``n_outputs`` output nodes last. Every edge goes from a lower
    to a higher number, so the numbering is a topological order and the graph is acyclic.

    Attributes
    ----------
    n_inputs : int
        Number of input nodes (at least 1).
    n_outputs : int
        Number of output nodes (at least 1).
    activations : tuple of str
        One name from :data:`ACTIVATIONS` per non-input node: hidden nodes first, then the
        outputs. Its length fixes the number of hidden nodes.
    edges : tuple of (int, int)
        Distinct pairs ``(source, target)`` with ``source < target``; a target is never
        an input or the bias.
    """

    n_inputs: int
    n_outputs: int
    activations: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        """Check the graph, with an error naming the offending field."""
        check_int(self.n_inputs, "n_inputs", 1)
        check_int(self.n_outputs, "n_outputs", 1)
        if not isinstance(self.activations, tuple):
            raise TypeError(f"activations must be a tuple, got {type(self.activations).__name__}")
        if len(self.activations) < self.n_outputs:
            raise ValueError(
                f"activations must name at least n_outputs={self.n_outputs} activations, "
                f"got {len(self.activations)}"
            )
        for k, name in enumerate(self.activations):
            _check_activation(name, f"activations[{k}]")
        if not isinstance(self.edges, tuple):
            raise TypeError(f"edges must be a tuple, got {type(self.edges).__name__}")
        first = self.n_inputs + 1  # the first node that has incoming edges
        for edge in self.edges:
            if not (isinstance(edge, tuple) and len(edge) == 2):
                raise ValueError(f"edges must hold (source, target) pairs, got {edge!r}")
            src, dst = edge
            if not 0 <= src < dst < self.n_nodes:
                raise ValueError(
                    f"edges: ({src}, {dst}) must satisfy 0 <= source < target < "
                    f"n_nodes={self.n_nodes}"
                )
            if dst < first:
                raise ValueError(f"edges: ({src}, {dst}) points into an input or the bias")
        if len(set(self.edges)) != len(self.edges):
            raise ValueError("edges must be distinct")

    @property
    def n_nodes(self) -> int:
        """Number of nodes: inputs, bias, hidden and outputs."""
        return self.n_inputs + 1 + len(self.activations)

    @property
    def n_hidden(self) -> int:
        """Number of hidden nodes."""
        return len(self.activations) - self.n_outputs

    @property
    def n_edges(self) -> int:
        """Number of connections, the paper's measure of complexity."""
        return len(self.edges)

    def path_lengths(self) -> frozenset[int]:
        r"""Return the lengths of all paths that start at a source and end at an output.

        The sources are the inputs and the bias. With :math:`D_j` the set of lengths of
        the paths from a source to node :math:`j`, :math:`D_j = \{0\}` for a source and

        .. math:: D_j = \{\, d + 1 : i \to j,\ d \in D_i \,\}

        otherwise, in the order of the nodes; the result is the union of :math:`D_j` over
        the output nodes (a path may pass through one output on its way to a later one).
        A single length :math:`k` is the hypothesis under which the shared weight of a
        network of positively homogeneous nodes is the gain :math:`w^k`.

        Returns
        -------
        frozenset of int
            The distinct lengths, empty when no source reaches an output.

        Examples
        --------
        >>> Topology(2, 2, ("abs", "cos"), ((0, 3), (1, 3), (3, 4))).path_lengths()
        frozenset({1, 2})
        """
        first = self.n_inputs + 1
        depths: list[set[int]] = [{0} for _ in range(first)]  # the sources
        for j in range(first, self.n_nodes):
            depths.append({d + 1 for i, k in self.edges if k == j for d in depths[i]})
        return frozenset(d for out in depths[self.n_nodes - self.n_outputs :] for d in out)

    def adjacency(self) -> Array:
        """Return the ``(n_nodes, n_nodes)`` matrix with ``A[i, j] = 1`` for an edge ``i -> j``."""
        a = np.zeros((self.n_nodes, self.n_nodes))
        if self.edges:
            src, dst = np.array(self.edges).T
            a[src, dst] = 1.0
        return a


def apply_activation(s: ArrayLike, name: str) -> Array:
    r"""Apply the node activation ``name`` elementwise.

    ``linear`` :math:`s`; ``step`` :math:`\mathbf 1[s > 0]`; ``sin`` :math:`\sin \pi s`;
    ``cos`` :math:`\cos \pi s`; ``gauss`` :math:`e^{-s^2/2}`; ``tanh``; ``sigmoid``
    :math:`1/(1 + e^{-s})`, computed from :math:`e^{-|s|}` so it never overflows;
    ``inverse`` :math:`-s`; ``abs`` :math:`|s|`; ``relu`` :math:`\max(s, 0)`.

    Parameters
    ----------
    s : array_like, any shape
        Finite pre-activations.
    name : str
        One of :data:`ACTIVATIONS`.

    Returns
    -------
    numpy.ndarray of float64
        Same shape as ``s``.

    Examples
    --------
    >>> apply_activation([-1.0, 0.0, 2.0], "gauss").round(4)
    array([0.6065, 1.    , 0.1353])
    """
    kind = _check_activation(name, "name")
    arr = as_float_array(s, "s")
    return _FUNCS[kind](arr)


def _check_topology(topology: object) -> Topology:
    if not isinstance(topology, Topology):
        raise TypeError(f"topology must be a Topology, got {type(topology).__name__}")
    return topology


def forward(topology: Topology, x: ArrayLike, weights: ArrayLike) -> Array:
    r"""Evaluate the network at every shared weight of a sweep, on a batch of inputs.

    Node by node in their numbered (topological) order,
    :math:`v_j = \varphi_j(w \sum_{i \to j} v_i)`, for all weights and examples at once.

    Parameters
    ----------
    topology : Topology
        The graph.
    x : array_like, shape (N, n_inputs)
        One example per row.
    weights : array_like, shape (W,)
        The shared weights.

    Returns
    -------
    numpy.ndarray of float64, shape (W, N, n_outputs)
        ``out[k, n]`` is :math:`f_{G, w_k}(x_n)`.

    Examples
    --------
    >>> g = Topology(1, 1, ("abs",), ((0, 2),))  # y = |w x|
    >>> forward(g, [[-3.0], [2.0]], [0.5, -1.0])[:, :, 0]
    array([[1.5, 1. ],
           [3. , 2. ]])
    """
    g = _check_topology(topology)
    xs = as_float_array(x, "x", ndim=2)
    if xs.shape[1] != g.n_inputs:
        raise ValueError(f"x must have n_inputs={g.n_inputs} columns, got shape {xs.shape}")
    w = as_float_array(weights, "weights", ndim=1, allow_empty=False)
    return _forward(g, xs, w)


def _forward(g: Topology, xs: Array, w: Array) -> Array:
    """:func:`forward` on checked arguments."""
    values = np.zeros((w.size, xs.shape[0], g.n_nodes))  # (W, N, nodes)
    values[:, :, : g.n_inputs] = xs  # the same inputs for every weight
    values[:, :, g.n_inputs] = 1.0  # the bias node
    adjacency = g.adjacency()
    first = g.n_inputs + 1
    for j, name in enumerate(g.activations, start=first):
        incoming = values @ adjacency[:, j]  # (W, N): sum of the inputs of node j
        values[:, :, j] = _FUNCS[name](w[:, None] * incoming)
    out: Array = values[:, :, g.n_nodes - g.n_outputs :]  # (W, N, n_outputs)
    return out


def _check_labels(labels: ArrayLike, n: int, n_classes: int) -> NDArray[np.int64]:
    arr = as_float_array(labels, "labels", ndim=1)
    if arr.shape[0] != n:
        raise ValueError(f"labels must have one entry per row of x ({n}), got {arr.shape[0]}")
    if np.any(arr != np.round(arr)) or np.any(arr < 0) or np.any(arr >= n_classes):
        raise ValueError(f"labels must be integers in [0, {n_classes}), got {arr.tolist()}")
    return arr.astype(np.int64)


def sweep_accuracy(
    topology: Topology, x: ArrayLike, labels: ArrayLike, weights: ArrayLike
) -> Array:
    r"""Classification accuracy at each shared weight, reading the class off the outputs.

    Example :math:`n` counts as correct at weight :math:`w` when its label's output node
    is *strictly* larger than every other output node; a tie is an error, so a network
    whose outputs do not depend on its inputs scores no better than its ties allow.

    Parameters
    ----------
    topology : Topology
        The graph; it needs at least two output nodes, one per class.
    x : array_like, shape (N, n_inputs)
        The examples.
    labels : array_like of int, shape (N,)
        Classes in ``0 .. n_outputs - 1``.
    weights : array_like, shape (W,)
        The shared weights.

    Returns
    -------
    numpy.ndarray of float64, shape (W,)
        The fraction of examples classified correctly at each weight.

    Examples
    --------
    >>> x, y = xor_data()
    >>> g = Topology(2, 2, ("gauss", "gauss"), ((2, 3), (0, 4), (1, 4)))
    >>> sweep_accuracy(g, x, y, PAPER_WEIGHTS)
    array([1., 1., 1., 1., 1., 1.])
    """
    g = _check_topology(topology)
    if g.n_outputs < 2:
        raise ValueError(f"topology must have at least 2 outputs, got {g.n_outputs}")
    out = forward(g, x, weights)  # (W, N, C)
    y = _check_labels(labels, out.shape[1], g.n_outputs)
    if y.size == 0:
        raise ValueError("labels must not be empty")
    return _accuracy(out, y == np.arange(g.n_outputs)[:, None])


def _accuracy(out: Array, onehot: NDArray[np.bool_]) -> Array:
    """Accuracy per weight of outputs ``(W, N, C)`` against a ``(C, N)`` one-hot mask."""
    picked = np.where(onehot.T, out, -np.inf).max(axis=2)  # (W, N): the label's output
    others = np.where(onehot.T, -np.inf, out).max(axis=2)  # (W, N): the best other one
    acc: Array = (picked > others).mean(axis=1)
    return acc


def sweep_mse(topology: Topology, x: ArrayLike, y: ArrayLike, weights: ArrayLike) -> Array:
    r"""Mean squared error of a one-output network at each shared weight.

    .. math:: \operatorname{MSE}(w) = \frac1N \sum_n \big(f_{G,w}(x_n) - y_n\big)^2.

    Parameters
    ----------
    topology : Topology
        The graph, with one output node.
    x : array_like, shape (N, n_inputs)
        The inputs.
    y : array_like, shape (N,)
        The targets.
    weights : array_like, shape (W,)
        The shared weights.

    Returns
    -------
    numpy.ndarray of float64, shape (W,)
        The error at each weight.

    Examples
    --------
    >>> g = Topology(1, 1, ("abs",), ((0, 2),))
    >>> sweep_mse(g, [[-1.0], [1.0]], [1.0, 1.0], [-1.0, 0.5, 1.0, 2.0])
    array([0.  , 0.25, 0.  , 1.  ])
    """
    g = _check_topology(topology)
    if g.n_outputs != 1:
        raise ValueError(f"topology must have exactly 1 output, got {g.n_outputs}")
    out = forward(g, x, weights)[:, :, 0]  # (W, N)
    target = as_float_array(y, "y", ndim=1, allow_empty=False)
    if target.shape[0] != out.shape[1]:
        raise ValueError(
            f"y must have one entry per row of x ({out.shape[1]}), got {target.shape[0]}"
        )
    mse: Array = np.mean((out - target) ** 2, axis=1)
    return mse


def xor_data() -> tuple[Array, NDArray[np.int64]]:
    r"""Return the four XOR examples with inputs in :math:`\{-1, +1\}^2`.

    The label is 1 when the two inputs differ and 0 when they agree.

    Returns
    -------
    x : numpy.ndarray of float64, shape (4, 2)
        The inputs.
    labels : numpy.ndarray of int64, shape (4,)
        The classes.

    Examples
    --------
    >>> x, y = xor_data()
    >>> x.tolist(), y.tolist()
    ([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    x = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    labels = (x[:, 0] != x[:, 1]).astype(np.int64)
    return x, labels


def random_topology(
    n_inputs: int,
    n_outputs: int,
    rng: np.random.Generator,
    max_hidden: int = 2,
    edge_prob: float = 0.5,
    activations: Sequence[str] = ACTIVATIONS,
) -> Topology:
    """Draw a random feed-forward topology.

    The number of hidden nodes is uniform in ``0 .. max_hidden``; each activation is drawn
    uniformly from ``activations``; each allowed edge (from a lower-numbered node into a
    hidden or output node) is present independently with probability ``edge_prob``.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Numbers of input and output nodes (at least 1 each).
    rng : numpy.random.Generator
        The source of randomness.
    max_hidden : int, default 2
        The largest number of hidden nodes.
    edge_prob : float, default 0.5
        The probability of each allowed edge, in ``[0, 1]``.
    activations : sequence of str, default ACTIVATIONS
        The activations to draw from.

    Returns
    -------
    Topology
        A valid topology.

    Examples
    --------
    >>> g = random_topology(2, 2, np.random.default_rng(0))
    >>> g.n_inputs, g.n_outputs, g.n_hidden <= 2
    (2, 2, True)
    """
    check_int(n_inputs, "n_inputs", 1)
    check_int(n_outputs, "n_outputs", 1)
    check_int(max_hidden, "max_hidden", 0)
    check_generator(rng)
    p = float(edge_prob)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"edge_prob must be in [0, 1], got {edge_prob!r}")
    names = tuple(activations)
    if not names:
        raise ValueError("activations must not be empty")
    for k, name in enumerate(names):
        _check_activation(name, f"activations[{k}]")
    n_hidden = int(rng.integers(0, max_hidden + 1))
    n_active = n_hidden + n_outputs
    chosen = tuple(names[k] for k in rng.integers(0, len(names), size=n_active))
    n_nodes = n_inputs + 1 + n_active
    src, dst = np.triu_indices(n_nodes, k=1)  # every pair source < target
    allowed = dst > n_inputs  # targets are hidden or output nodes
    keep = rng.random(allowed.sum()) < p
    edges = tuple(
        (int(s), int(d)) for s, d in zip(src[allowed][keep], dst[allowed][keep], strict=True)
    )
    return Topology(n_inputs, n_outputs, chosen, edges)


@dataclass(frozen=True)
class SearchResult:
    """What :func:`random_search` found.

    Attributes
    ----------
    best : Topology
        The best topology: highest worst-case accuracy over the sweep, then highest mean
        accuracy, then fewest edges (the first drawn wins a full tie).
    best_accuracy : numpy.ndarray, shape (W,)
        Its accuracy at each weight of the sweep.
    n_evaluated : int
        Number of topologies drawn and evaluated.
    first_agnostic : int or None
        The 1-based draw at which a topology first reached accuracy 1 at every weight of
        the sweep, or None if none did.
    n_agnostic : int
        How many drawn topologies reached accuracy 1 at every weight of the sweep.
    n_solved_somewhere : int
        How many reached accuracy 1 at one weight of the sweep at least.
    """

    best: Topology
    best_accuracy: Array
    n_evaluated: int
    first_agnostic: int | None
    n_agnostic: int
    n_solved_somewhere: int


def random_search(
    x: ArrayLike,
    labels: ArrayLike,
    n_outputs: int,
    rng: np.random.Generator,
    n_candidates: int = 1000,
    weights: ArrayLike = PAPER_WEIGHTS,
    max_hidden: int = 2,
    edge_prob: float = 0.5,
    activations: Sequence[str] = ACTIVATIONS,
) -> SearchResult:
    """Rank random topologies by their accuracy over a sweep of shared weights.

    Draws ``n_candidates`` topologies with :func:`random_topology` and keeps the best by
    (worst accuracy over ``weights``, mean accuracy, fewer edges): the paper's mean
    performance and complexity, with the worst case first so that the winner is weight
    agnostic over the whole sweep whenever any candidate is.

    Parameters
    ----------
    x : array_like, shape (N, n_inputs)
        The examples.
    labels : array_like of int, shape (N,)
        Classes in ``0 .. n_outputs - 1``.
    n_outputs : int
        Number of classes (at least 2), one output node each.
    rng : numpy.random.Generator
        The source of randomness.
    n_candidates : int, default 1000
        Number of topologies to draw (at least 1).
    weights : array_like, shape (W,), default PAPER_WEIGHTS
        The sweep of shared weights.
    max_hidden : int, default 2
        The largest number of hidden nodes.
    edge_prob : float, default 0.5
        The probability of each allowed edge.
    activations : sequence of str, default ACTIVATIONS
        The activations to draw from.

    Returns
    -------
    SearchResult
        The best topology, its accuracies and counts over all draws.

    Examples
    --------
    >>> x, y = xor_data()
    >>> result = random_search(x, y, 2, np.random.default_rng(19), n_candidates=600)
    >>> result.first_agnostic, result.best.activations, result.best_accuracy.min()
    (591, ('abs', 'cos'), np.float64(1.0))
    """
    xs = as_float_array(x, "x", ndim=2, allow_empty=False)
    check_int(n_outputs, "n_outputs", 2)
    count = check_int(n_candidates, "n_candidates", 1)
    w = as_float_array(weights, "weights", ndim=1, allow_empty=False)
    y = _check_labels(labels, xs.shape[0], n_outputs)
    onehot = y == np.arange(n_outputs)[:, None]  # (C, N)
    best: Topology | None = None
    best_acc = np.zeros(w.size)
    best_key = (-1.0, -1.0, 0)
    first: int | None = None
    n_agnostic = n_solved = 0
    for k in range(1, count + 1):
        g = random_topology(xs.shape[1], n_outputs, rng, max_hidden, edge_prob, activations)
        acc = _accuracy(_forward(g, xs, w), onehot)
        key = (float(acc.min()), float(acc.mean()), -g.n_edges)
        if acc.min() == 1.0:
            n_agnostic += 1
            first = k if first is None else first
        n_solved += int(acc.max() == 1.0)
        if best is None or key > best_key:
            best, best_acc, best_key = g, acc, key
    assert best is not None  # count >= 1
    return SearchResult(best, best_acc, count, first, n_agnostic, n_solved)
