"""Tests of derived.wann against a scalar loop, torch activations, closed forms and laws."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.wann import (
    ACTIVATIONS,
    PAPER_WEIGHTS,
    Topology,
    apply_activation,
    forward,
    random_search,
    random_topology,
    sweep_accuracy,
    sweep_mse,
    xor_data,
)

# Independent scalar definitions of the activations (math module, one number at a time).
SCALAR = {
    "linear": lambda s: s,
    "step": lambda s: 1.0 if s > 0 else 0.0,
    "sin": lambda s: math.sin(math.pi * s),
    "cos": lambda s: math.cos(math.pi * s),
    "gauss": lambda s: math.exp(-s * s / 2),
    "tanh": math.tanh,
    "sigmoid": lambda s: 1 / (1 + math.exp(-s)),
    "inverse": lambda s: -s,
    "abs": abs,
    "relu": lambda s: max(s, 0.0),
}

GAUSS_XOR = Topology(2, 2, ("gauss", "gauss"), ((2, 3), (0, 4), (1, 4)))


def reference_forward(g: Topology, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The network computed one weight, one example and one edge at a time."""
    out = np.zeros((len(weights), len(x), g.n_outputs))
    for k, w in enumerate(weights):
        for n, row in enumerate(x):
            v = [*map(float, row), 1.0]
            for j, name in enumerate(g.activations, start=g.n_inputs + 1):
                total = sum(v[i] for i, d in g.edges if d == j)
                v.append(SCALAR[name](float(w) * total))
            out[k, n] = v[g.n_nodes - g.n_outputs :]
    return out


# --------------------------------------------------------------------------- activations


def test_activations_match_scalar_definitions_and_torch():
    s = np.linspace(-6, 6, 121)
    for name in ACTIVATIONS:
        expected = np.array([SCALAR[name](v) for v in s])
        np.testing.assert_allclose(apply_activation(s, name), expected, rtol=1e-14, atol=1e-15)
    t = torch.as_tensor(s, dtype=torch.float64)
    np.testing.assert_allclose(apply_activation(s, "sigmoid"), torch.sigmoid(t), rtol=1e-14)
    np.testing.assert_allclose(apply_activation(s, "relu"), torch.relu(t), rtol=0)


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise"):
        out = apply_activation([-1e4, 0.0, 1e4], "sigmoid")
    assert out.tolist() == [0.0, 0.5, 1.0]


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="name must be one of"):
        apply_activation([1.0], "softplus")


# --------------------------------------------------------------------------- topologies


def test_topology_counts_and_adjacency():
    g = Topology(2, 1, ("tanh", "relu"), ((0, 3), (2, 3), (3, 4), (1, 4)))
    assert (g.n_nodes, g.n_hidden, g.n_edges) == (5, 1, 4)
    a = g.adjacency()
    assert a.shape == (5, 5)
    assert a.sum() == 4
    assert a[0, 3] == a[2, 3] == a[3, 4] == a[1, 4] == 1.0
    assert Topology(1, 1, ("abs",), ()).adjacency().sum() == 0


def enumerated_path_lengths(g: Topology) -> set[int]:
    """Every source-to-output path written out edge by edge (the oracle of path_lengths)."""
    outputs = range(g.n_nodes - g.n_outputs, g.n_nodes)
    paths = [[s] for s in range(g.n_inputs + 1)]  # the sources: inputs and the bias
    lengths = set()
    while paths:
        path = paths.pop()
        if path[-1] in outputs:
            lengths.add(len(path) - 1)
        paths.extend(path + [d] for s, d in g.edges if s == path[-1])
    return lengths


def test_path_lengths_by_hand():
    # 0 -> 2 -> 3 has length 2 and 0 -> 4 length 1: at w = 1 and w = 3 the outputs for
    # x = 1 are [1, 1] and [9, 3], not a common multiple, so the gain needs one length
    mixed = Topology(1, 2, ("relu", "abs", "linear"), ((0, 2), (2, 3), (0, 4)))
    assert mixed.path_lengths() == frozenset({1, 2})
    np.testing.assert_array_equal(forward(mixed, [[1.0]], [1.0, 3.0])[:, 0], [[1, 1], [9, 3]])
    chained = Topology(2, 2, ("abs", "cos"), ((0, 3), (1, 3), (3, 4)))
    assert chained.path_lengths() == frozenset({1, 2})  # through output 0 into output 1
    assert Topology(1, 1, ("abs",), ()).path_lengths() == frozenset()
    assert Topology(1, 1, ("abs", "abs"), ((2, 3),)).path_lengths() == frozenset()  # no source


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_path_lengths_match_enumerated_paths(seed):
    rng = np.random.default_rng(seed)
    g = random_topology(2, 2, rng, max_hidden=5, edge_prob=float(rng.uniform(0.1, 0.7)))
    assert g.path_lengths() == enumerated_path_lengths(g)


def test_one_path_length_makes_the_shared_weight_a_gain():
    """The proposition of the chapter: homogeneous nodes, every path of length k."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 2))
    homogeneous = ("linear", "inverse", "abs", "relu")
    checked = 0
    for _ in range(3000):
        g = random_topology(2, 2, rng, max_hidden=4, edge_prob=0.3, activations=homogeneous)
        if len(g.path_lengths()) != 1:
            continue
        (k,) = g.path_lengths()
        w = rng.uniform(-2, 2, size=5)
        c = rng.uniform(0.1, 3.0, size=5)
        expected = (c**k)[:, None, None] * forward(g, x, w)
        scale = np.abs(expected).max()  # sums that cancel leave rounding of this size
        np.testing.assert_allclose(forward(g, x, c * w), expected, rtol=1e-12, atol=1e-13 * scale)
        checked += 1
    assert checked >= 100


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_inputs": 0}, ValueError, "n_inputs must be >= 1"),
        ({"n_inputs": 1.5}, TypeError, "n_inputs must be an int"),
        ({"n_outputs": 0}, ValueError, "n_outputs must be >= 1"),
        ({"activations": ["abs"]}, TypeError, "activations must be a tuple"),
        ({"activations": ()}, ValueError, "activations must name at least n_outputs"),
        ({"activations": ("softplus",)}, ValueError, r"activations\[0\] must be one of"),
        ({"edges": [(0, 2)]}, TypeError, "edges must be a tuple"),
        ({"edges": ((0, 2, 1),)}, ValueError, "edges must hold"),
        ({"edges": ((2, 0),)}, ValueError, "source < target"),
        ({"edges": ((0, 5),)}, ValueError, "n_nodes=3"),
        ({"edges": ((0, 1),)}, ValueError, "points into an input or the bias"),
        ({"edges": ((0, 2), (0, 2))}, ValueError, "edges must be distinct"),
    ],
)
def test_bad_topologies_are_rejected(kwargs, error, match):
    args = {"n_inputs": 1, "n_outputs": 1, "activations": ("abs",), "edges": ((0, 2),)}
    with pytest.raises(error, match=match):
        Topology(**{**args, **kwargs})


def test_random_topology_is_valid_and_reproducible():
    rng = np.random.default_rng(3)
    draws = [random_topology(3, 2, rng, max_hidden=4, edge_prob=0.3) for _ in range(200)]
    assert {g.n_hidden for g in draws} == {0, 1, 2, 3, 4}
    again = np.random.default_rng(3)
    assert draws[:5] == [random_topology(3, 2, again, max_hidden=4, edge_prob=0.3) for _ in "abcde"]
    full = random_topology(2, 1, rng, max_hidden=0, edge_prob=1.0)
    assert full.n_edges == 3  # two inputs and the bias into the one output
    empty = random_topology(2, 1, rng, edge_prob=0.0)
    assert empty.n_edges == 0
    only = random_topology(2, 3, rng, activations=["gauss"])
    assert set(only.activations) == {"gauss"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_hidden": -1}, ValueError, "max_hidden must be >= 0"),
        ({"edge_prob": 1.5}, ValueError, "edge_prob must be in"),
        ({"activations": []}, ValueError, "activations must not be empty"),
        ({"activations": ["x"]}, ValueError, r"activations\[0\] must be one of"),
        ({"rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
        ({"n_inputs": True}, TypeError, "n_inputs must be an int"),
    ],
)
def test_random_topology_errors(kwargs, error, match):
    args = {"n_inputs": 2, "n_outputs": 2, "rng": np.random.default_rng(0)}
    with pytest.raises(error, match=match):
        random_topology(**{**args, **kwargs})


# --------------------------------------------------------------------------- forward


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_forward_matches_the_scalar_loop(seed):
    rng = np.random.default_rng(seed)
    g = random_topology(3, 2, rng, max_hidden=4, edge_prob=0.4)
    x = rng.normal(size=(5, 3))
    weights = rng.uniform(-2, 2, size=4)
    np.testing.assert_allclose(
        forward(g, x, weights), reference_forward(g, x, weights), rtol=1e-13, atol=1e-14
    )


def test_forward_closed_form():
    # node 3 = tanh(w (x0 + x1)), output 4 = relu(w (node 3 + bias))
    g = Topology(2, 1, ("tanh", "relu"), ((0, 3), (1, 3), (2, 4), (3, 4)))
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    w = np.array([-1.5, 0.5, 2.0])
    h = np.tanh(w[:, None] * x.sum(axis=1))
    expected = np.maximum(w[:, None] * (h + 1.0), 0.0)
    np.testing.assert_allclose(forward(g, x, w)[:, :, 0], expected, rtol=1e-15)


def test_node_without_inputs_outputs_activation_of_zero():
    g = Topology(1, 2, ("cos", "gauss"), ())
    out = forward(g, [[5.0]], [0.7])
    assert out.tolist() == [[[1.0, 1.0]]]


def test_forward_errors():
    g = GAUSS_XOR
    with pytest.raises(TypeError, match="topology must be a Topology"):
        forward("net", [[1.0, 2.0]], [1.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x must have n_inputs=2 columns"):
        forward(g, [[1.0, 2.0, 3.0]], [1.0])
    with pytest.raises(ValueError, match="weights must not be empty"):
        forward(g, [[1.0, 2.0]], [])


@settings(max_examples=30, deadline=None)
@given(
    st.floats(0.05, 3.0),
    st.floats(-2.0, 2.0).filter(lambda w: abs(w) > 1e-3),
    st.sampled_from(["linear", "relu", "abs", "inverse"]),
)
def test_layered_homogeneous_networks_scale_as_a_power_of_the_weight(c, w, act):
    # every input-output path has length 3 (0-3-5-6 and 1-4-5-6); no edge from the bias
    g = Topology(2, 1, (act, "relu", "abs", "linear"), ((0, 3), (1, 4), (3, 5), (4, 5), (5, 6)))
    x = np.random.default_rng(0).normal(size=(6, 2))
    out_w = forward(g, x, [w])
    out_cw = forward(g, x, [c * w])
    np.testing.assert_allclose(out_cw, c**3 * out_w, rtol=1e-12, atol=1e-300)


# --------------------------------------------------------------------------- scores


def test_xor_data():
    x, y = xor_data()
    assert x.dtype == np.float64
    assert y.tolist() == [int(a != b) for a, b in x]


@settings(max_examples=60, deadline=None)
# In float64, e^{-w^2/2} rounds to 1 for |w| < 1e-8 and underflows to 0 for |w| > 38.6.
@given(st.floats(-30.0, 30.0).filter(lambda w: abs(w) >= 1e-6))
def test_gauss_topology_solves_xor_for_every_nonzero_weight(w):
    x, y = xor_data()
    assert sweep_accuracy(GAUSS_XOR, x, y, [w]).tolist() == [1.0]


def test_a_tie_counts_as_an_error():
    x, y = xor_data()
    # at w = 0 both outputs are gauss(0) = 1 for every example
    assert sweep_accuracy(GAUSS_XOR, x, y, [0.0]).tolist() == [0.0]


def test_accuracy_against_the_scalar_argmax():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(30, 3))
    labels = rng.integers(0, 3, size=30)
    weights = np.linspace(-2, 2, 9)
    for _ in range(20):
        g = random_topology(3, 3, rng, max_hidden=3)
        out = reference_forward(g, x, weights)
        expected = [
            np.mean(
                [
                    all(out[k, n, labels[n]] > out[k, n, c] for c in range(3) if c != labels[n])
                    for n in range(30)
                ]
            )
            for k in range(len(weights))
        ]
        np.testing.assert_array_equal(sweep_accuracy(g, x, labels, weights), expected)


def test_sweep_accuracy_errors():
    x, y = xor_data()
    with pytest.raises(ValueError, match="at least 2 outputs"):
        sweep_accuracy(Topology(2, 1, ("abs",), ()), x, y, [1.0])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\)"):
        sweep_accuracy(GAUSS_XOR, x, [0, 1, 2, 0], [1.0])
    with pytest.raises(ValueError, match=r"labels must be integers"):
        sweep_accuracy(GAUSS_XOR, x, [0, 1, 0.5, 0], [1.0])
    with pytest.raises(ValueError, match="labels must have one entry per row of x"):
        sweep_accuracy(GAUSS_XOR, x, [0, 1], [1.0])
    with pytest.raises(ValueError, match="labels must not be empty"):
        sweep_accuracy(GAUSS_XOR, np.zeros((0, 2)), [], [1.0])


def test_sweep_mse_closed_form_and_errors():
    g = Topology(1, 1, ("abs", "linear"), ((0, 2), (2, 3)))  # w |w x|
    x = np.linspace(-2, 2, 11)[:, None]
    y = 0.6 * np.abs(x[:, 0])
    w = np.array([-1.0, 0.3, 0.6**0.5, 2.0])
    expected = (w * np.abs(w) - 0.6) ** 2 * np.mean(x[:, 0] ** 2)
    np.testing.assert_allclose(sweep_mse(g, x, y, w), expected, rtol=1e-13, atol=1e-30)
    with pytest.raises(ValueError, match="exactly 1 output"):
        sweep_mse(GAUSS_XOR, xor_data()[0], [0, 1, 1, 0], [1.0])
    with pytest.raises(ValueError, match=r"y must have one entry per row of x \(11\)"):
        sweep_mse(g, x, y[:3], w)


# --------------------------------------------------------------------------- search


def test_search_regression_numbers():
    """The search of chapter 19: seed 19, 2000 draws, the paper's six weights."""
    x, y = xor_data()
    result = random_search(x, y, 2, np.random.default_rng(19), n_candidates=2000)
    assert result.best_accuracy.tolist() == [1.0] * 6
    np.testing.assert_array_equal(
        sweep_accuracy(result.best, x, y, PAPER_WEIGHTS), result.best_accuracy
    )
    assert result.n_evaluated == 2000
    assert result.first_agnostic is not None
    assert 1 <= result.n_agnostic <= result.n_solved_somewhere <= 2000
    assert (result.first_agnostic, result.n_agnostic, result.n_solved_somewhere) == SEARCH_19
    assert result.best == Topology(2, 2, ("abs", "cos"), ((0, 3), (1, 3), (3, 4)))


# (first weight agnostic draw, how many were, how many solved XOR at one weight at least)
SEARCH_19 = (591, 6, 75)


def test_the_only_two_edge_solution_of_xor():
    """Brute force over the only graphs with at most two edges that can matter.

    Both inputs must reach an output, so with at most two edges each edge leaves an input
    and enters an output directly; hidden nodes would be cut off. Among all such graphs,
    with every pair of output activations, exactly one is right at every weight of the
    sweep: |w (x1 + x2)| against a sigmoid with no input, the constant 1/2.
    """
    x, y = xor_data()
    possible = [(s, d) for s in range(3) for d in (3, 4)]
    subsets = [()] + [(e,) for e in possible] + list(itertools.combinations(possible, 2))
    solutions = [
        (edges, acts)
        for edges in subsets
        for acts in itertools.product(ACTIVATIONS, repeat=2)
        if sweep_accuracy(Topology(2, 2, acts, edges), x, y, PAPER_WEIGHTS).min() == 1.0
    ]
    assert solutions == [(((0, 3), (1, 3)), ("abs", "sigmoid"))]


def test_search_is_reproducible():
    x, y = xor_data()
    a = random_search(x, y, 2, np.random.default_rng(1), n_candidates=300)
    b = random_search(x, y, 2, np.random.default_rng(1), n_candidates=300)
    assert a.best == b.best
    assert (a.first_agnostic, a.n_agnostic) == (b.first_agnostic, b.n_agnostic)


def test_linear_topologies_never_solve_xor():
    x, y = xor_data()
    result = random_search(
        x, y, 2, np.random.default_rng(4), n_candidates=500, activations=("linear", "inverse")
    )
    assert result.first_agnostic is None
    assert result.n_agnostic == result.n_solved_somewhere == 0
    assert result.best_accuracy.max() == 0.75


def test_search_errors():
    x, y = xor_data()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_outputs must be >= 2"):
        random_search(x, y, 1, rng)
    with pytest.raises(ValueError, match="n_candidates must be >= 1"):
        random_search(x, y, 2, rng, n_candidates=0)
    with pytest.raises(ValueError, match="x must not be empty"):
        random_search(np.zeros((0, 2)), [], 2, rng)
    with pytest.raises(ValueError, match="labels must have one entry per row of x"):
        random_search(x, [0, 1], 2, rng)
