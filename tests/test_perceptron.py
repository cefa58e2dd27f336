"""Tests of derived.perceptron: gates by truth table, the valid (w, b) by linear
programming and by the derived inequalities, XOR by exhaustive search, and the XOR
network against torch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from derived.perceptron import (
    GATES,
    gate_parameters,
    linearly_separable,
    perceptron_learn,
    separates,
    step,
    threshold_functions,
    threshold_labellings,
    threshold_unit,
    truth_table,
    xor_forward,
    xor_network,
)


def lp_separable(inputs: np.ndarray, targets: np.ndarray) -> bool:
    """Oracle: is there (w, b) with w.x + b >= 1 on class 1 and <= -1 on class 0?

    A strict separation can always be scaled to margin 1, so this is feasibility of a
    linear program, solved by scipy (HiGHS), independent of the package.
    """
    sign = np.where(targets == 1, 1.0, -1.0)
    # -sign * (w.x + b) <= -1
    A = -sign[:, None] * np.hstack([inputs, np.ones((len(inputs), 1))])
    res = linprog(
        np.zeros(inputs.shape[1] + 1),
        A_ub=A,
        b_ub=-np.ones(len(inputs)),
        bounds=[(None, None)] * (inputs.shape[1] + 1),
        method="highs",
    )
    return bool(res.status == 0)


@pytest.mark.parametrize("name", sorted(GATES))
def test_every_gate_unit_reproduces_its_truth_table(name):
    x, t = truth_table(name)
    w, b = gate_parameters(name)
    np.testing.assert_array_equal(threshold_unit(x, w, b), t)


def test_all_sixteen_two_input_functions_are_separable_except_xor_and_xnor():
    x = truth_table("AND")[0]
    for bits in itertools.product([0.0, 1.0], repeat=4):
        t = np.array(bits)
        expected = bits not in ((0, 1, 1, 0), (1, 0, 0, 1))
        assert lp_separable(x, t) == expected, bits


def test_no_sampled_unit_computes_xor():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(200_000, 2)) * 10
    b = rng.normal(size=200_000) * 10
    x, t = truth_table("XOR")
    assert not separates(w, b, x, t).any()
    x_and, t_and = truth_table("AND")
    assert separates(w, b, x_and, t_and).any()  # the same search does find AND


def test_valid_and_or_parameters_are_the_derived_regions():
    # with b = -1 (every valid unit is a positive multiple of one with b = -1):
    # AND iff w1 < 1, w2 < 1, w1 + w2 >= 1; OR iff w1 >= 1, w2 >= 1
    g = np.linspace(-1.0, 3.0, 161)  # contains the boundary values 1.0 exactly
    w1, w2 = np.meshgrid(g, g)
    w = np.stack([w1.ravel(), w2.ravel()], axis=1)
    b = -np.ones(len(w))
    x, t = truth_table("AND")
    expected_and = (w[:, 0] < 1) & (w[:, 1] < 1) & (w.sum(axis=1) >= 1)
    np.testing.assert_array_equal(separates(w, b, x, t), expected_and)
    x, t = truth_table("OR")
    np.testing.assert_array_equal(separates(w, b, x, t), (w[:, 0] >= 1) & (w[:, 1] >= 1))


def test_or_bias_range_with_unit_weights():
    # w = (1, 1): OR exactly for -1 <= b < 0, AND exactly for -2 <= b < -1
    b = np.linspace(-3.0, 1.0, 401)
    w = np.ones((len(b), 2))
    x, t = truth_table("OR")
    np.testing.assert_array_equal(separates(w, b, x, t), (b >= -1) & (b < 0))
    x, t = truth_table("AND")
    np.testing.assert_array_equal(separates(w, b, x, t), (b >= -2) & (b < -1))


def test_seed_000_numbers():
    # homework 000: AND with w = (1, 1), b = -1.1 is right; OR with the stated b = +1 is
    # wrong (it outputs 1 on (0, 0)); the b = -1 it computes with works only because
    # step(0) = 1, the convention the book fixes.
    x, t = truth_table("AND")
    np.testing.assert_array_equal(threshold_unit(x, [1, 1], -1.1), t)
    x, t = truth_table("OR")
    assert threshold_unit(x, [1, 1], 1.0).tolist() == [1.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(threshold_unit(x, [1, 1], -1.0), t)
    assert np.sum(threshold_unit(x, [1, 1], -1.0 - 1e-12) != t) == 2  # just below: fails


def test_seed_003_numbers():
    # homework 003: AND b = -1.5, OR b = -0.5 with sign outputs (-1/+1)
    x = truth_table("AND")[0]
    assert np.sign(x @ [1, 1] - 1.5).tolist() == [-1.0, -1.0, -1.0, 1.0]
    assert np.sign(x @ [1, 1] - 0.5).tolist() == [-1.0, 1.0, 1.0, 1.0]


def test_xor_network_matches_torch_and_the_table():
    W1, b1, W2, b2 = xor_network()
    np.testing.assert_array_equal(W1, [[1, 1], [1, 1]])
    np.testing.assert_array_equal(b1, [0, -1])
    np.testing.assert_array_equal(W2, [[1, -2]])
    x, t = truth_table("XOR")
    np.testing.assert_array_equal(xor_forward(x), t)
    pts = np.random.default_rng(1).uniform(-2, 3, size=(500, 2))
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    net = net.double()
    with torch.no_grad():
        for p, v in zip(net.parameters(), xor_network(), strict=True):
            p.copy_(torch.as_tensor(v))
        expected = net(torch.as_tensor(pts))[:, 0].numpy()
    np.testing.assert_allclose(xor_forward(pts), expected, rtol=1e-14, atol=1e-15)
    assert xor_forward([1.0, 1.0]).shape == ()


@settings(max_examples=100, deadline=None)
@given(st.floats(-1e6, 1e6, allow_subnormal=False), st.floats(0.01, 100.0))
def test_positive_scaling_keeps_the_unit(z, c):
    # normal floats only: c * z of a subnormal z can underflow to 0, which flips step
    assert step(z) == step(c * z)


def test_step_at_zero_is_one():
    assert step([0.0, -0.0, -1e-300]).tolist() == [1.0, 1.0, 0.0]


def test_bad_input_messages():
    with pytest.raises(ValueError, match="name must be one of"):
        truth_table("XNOR")
    with pytest.raises(ValueError, match="not linearly separable"):
        gate_parameters("XOR")
    with pytest.raises(ValueError, match="x must have 2 features to match w"):
        threshold_unit([[0, 1, 0]], [1, 1], 0.0)
    with pytest.raises(ValueError, match="b must have one bias per row of w"):
        separates([[1, 1]], [0.0, 1.0], [[0, 0]], [0])
    with pytest.raises(ValueError, match="w must have 2 columns"):
        separates([[1, 1, 1]], [0.0], [[0, 0]], [0])
    with pytest.raises(ValueError, match="targets must have one entry per input"):
        separates([[1, 1]], [0.0], [[0, 0]], [0, 1])
    with pytest.raises(ValueError, match="targets must be 0 or 1"):
        separates([[1, 1]], [0.0], [[0, 0]], [0.5])
    with pytest.raises(ValueError, match=r"x must have 2 features \(shape \(N, 2\)\)"):
        xor_forward([[0.0, 1.0, 2.0]])


def test_linearly_separable_agrees_with_the_oracle_on_all_two_input_functions():
    x = truth_table("AND")[0]
    for bits in itertools.product([0.0, 1.0], repeat=4):
        t = np.array(bits)
        assert linearly_separable(x, t) == lp_separable(x, t), bits


def test_linearly_separable_counts_104_threshold_functions_of_three_inputs():
    # 104 of the 256 Boolean functions of 3 inputs are threshold functions; an
    # integer grid of units finds exactly the same ones as the linear program.
    x = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    grid = np.array(list(itertools.product(range(-3, 4), repeat=3)), dtype=float)
    b = np.arange(-6.5, 7.0, 1.0)
    w = np.repeat(grid, len(b), axis=0)
    bb = np.tile(b, len(grid))
    out = step(w @ x.T + bb[:, None]).astype(int)  # (units, 8)
    found = {tuple(row) for row in out}
    lp = {
        bits
        for bits in itertools.product([0, 1], repeat=8)
        if linearly_separable(x, np.array(bits, dtype=float))
    }
    assert len(lp) == 104
    assert found == lp
    assert threshold_functions(3) == lp


def test_threshold_functions_of_up_to_four_inputs():
    # the known counts 2, 4, 14, 104, 1882; for n = 4 an integer grid of units finds
    # 1882 distinct tables, all of them in the set, and no parity function is there
    assert [len(threshold_functions(n)) for n in range(4)] == [2, 4, 14, 104]
    assert threshold_functions(2) == {
        b for b in itertools.product([0, 1], repeat=4) if b not in ((0, 1, 1, 0), (1, 0, 0, 1))
    }
    four = threshold_functions(4)
    x = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    grid = np.array(list(itertools.product(range(-3, 4), repeat=4)), dtype=float)
    b = np.arange(-8.5, 9.0, 1.0)
    out = step(np.repeat(grid, len(b), axis=0) @ x.T + np.tile(b, len(grid))[:, None])
    assert {tuple(int(v) for v in row) for row in out} == four
    assert len(four) == 1882
    parity = tuple(int(v) for v in x.sum(axis=1) % 2)
    assert parity not in four
    assert tuple(1 - v for v in parity) not in four
    for t in sorted(four)[::40]:
        assert linearly_separable(x, np.array(t, dtype=float))
    with pytest.raises(ValueError, match="between 0 and 4"):
        threshold_functions(5)
    with pytest.raises(TypeError, match="n must be an int"):
        threshold_functions(2.0)


def test_threshold_labellings_agree_with_a_loop_over_thresholds():
    rng = np.random.default_rng(2)
    o = np.round(rng.normal(size=(40, 4)), 1)  # rounding makes ties
    expected = set()
    for row in o:
        values = np.unique(row)
        taus = np.concatenate([values, (values[1:] + values[:-1]) / 2, [-np.inf, np.inf]])
        for tau in taus:
            for rule in (np.greater_equal, np.greater, np.less_equal, np.less):
                expected.add(tuple(int(v) for v in rule(row, tau)))
    assert threshold_labellings(o) == expected


def test_threshold_labellings_of_units_never_include_xor():
    x, t = truth_table("XOR")
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(20_000, 2)), rng.normal(size=20_000)
    labs = threshold_labellings(np.maximum(w @ x.T + b[:, None], 0.0))
    assert len(labs) == 14
    assert (0, 1, 1, 0) not in labs
    assert (1, 0, 0, 1) not in labs


def test_perceptron_learns_every_separable_table_and_cycles_on_xor():
    x = truth_table("AND")[0]
    for bits in itertools.product([0.0, 1.0], repeat=4):
        t = np.array(bits)
        run = perceptron_learn(x, t, max_epochs=50)
        if lp_separable(x, t):
            assert run.mistakes[-1] == 0, bits
            np.testing.assert_array_equal(threshold_unit(x, run.w, run.b), t)
            # Novikoff: mistakes <= R^2 / gamma^2 for any unit-norm separator u; here u is
            # the LP solution normalised, R^2 = max |(x, 1)|^2 = 3
            sign = np.where(t == 1, 1.0, -1.0)
            a = -sign[:, None] * np.hstack([x, np.ones((4, 1))])
            u = linprog(np.zeros(3), A_ub=a, b_ub=-np.ones(4), bounds=[(None, None)] * 3).x
            gamma = np.min(-a @ u) / np.linalg.norm(u)
            assert run.mistakes.sum() <= 3 / gamma**2 + 1e-9, bits
        else:
            assert np.all(run.mistakes > 0), bits
            assert len(run.mistakes) == 50


def test_perceptron_on_xor_returns_to_the_same_weights():
    run = perceptron_learn(*truth_table("XOR"), max_epochs=5)
    np.testing.assert_array_equal(run.history[2], run.history[3])
    assert run.history.shape == (6, 3)


def test_perceptron_updates_record_every_step():
    x, t = truth_table("AND")
    run = perceptron_learn(x, t)
    assert run.updates.shape == (run.mistakes.sum() + 1, 3)
    np.testing.assert_array_equal(run.updates[0], 0.0)
    np.testing.assert_array_equal(run.updates[-1], run.history[-1])
    steps = np.diff(run.updates, axis=0)  # each update adds +-(x_i, 1) for some input
    aug = np.hstack([x, np.ones((4, 1))])
    for d in steps:
        assert any(np.array_equal(d, s * a) for a in aug for s in (1, -1))


def test_bad_input_messages_of_the_lp_and_the_learning_rule():
    with pytest.raises(ValueError, match="targets must be 0 or 1"):
        linearly_separable([[0.0], [1.0]], [0, 2])
    with pytest.raises(ValueError, match="targets must have one entry per input"):
        perceptron_learn([[0.0], [1.0]], [0])
    with pytest.raises(ValueError, match="max_epochs must be >= 1"):
        perceptron_learn([[0.0], [1.0]], [0, 1], max_epochs=0)
    with pytest.raises(TypeError, match="max_epochs must be an int"):
        perceptron_learn([[0.0], [1.0]], [0, 1], max_epochs=2.5)
    with pytest.raises(ValueError, match="at most 20 columns"):
        threshold_labellings(np.zeros((1, 21)))
    with pytest.raises(ValueError, match="outputs"):
        threshold_labellings([1.0, 2.0])
