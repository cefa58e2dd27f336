"""The checks of Part VI pass the package's functions and catch planted errors."""

from __future__ import annotations

import signal
import time
from typing import Any

import numpy as np
import pytest

from derived.check import CheckFailure, _part6
from derived.check._part6 import check_pareto_fronts, check_sweep_accuracy, check_wann_forward
from derived.wann import Topology, apply_activation, forward, sweep_accuracy


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


def _package_forward(n_inputs, n_outputs, activations, edges, x, weights):
    return forward(Topology(n_inputs, n_outputs, tuple(activations), tuple(edges)), x, weights)


def _package_accuracy(n_inputs, n_outputs, activations, edges, x, labels, weights):
    g = Topology(n_inputs, n_outputs, tuple(activations), tuple(edges))
    acc = sweep_accuracy(g, x, labels, weights)
    return acc, acc.mean(), acc.min()


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_wann_forward(_package_forward).cases) == 9
    assert len(check_sweep_accuracy(_package_accuracy).cases) == 8


@pytest.mark.parametrize("check", [check_wann_forward, check_sweep_accuracy, check_pareto_fronts])
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- forward


def _loop_forward(n_in, n_out, acts, edges, x, weights, *, twice=False, bias=1.0, skip_out=False,
                  weight_after=False, empty_zero=False):  # fmt: skip
    """A plain loop, node by node in their numbered order, with planted errors."""
    x = np.asarray(x, dtype=np.float64)
    n_nodes = n_in + 1 + len(acts)
    out = np.zeros((len(weights), x.shape[0], n_out))
    for k, w in enumerate(weights):
        v = np.zeros((x.shape[0], n_nodes))
        v[:, :n_in] = x
        v[:, n_in] = bias
        for j in range(n_in + 1, n_nodes):
            s = sum((v[:, i] for i, t in edges if t == j), np.zeros(x.shape[0]))
            s = s * w * w if twice else (s if weight_after else s * w)
            name = acts[j - n_in - 1]
            v[:, j] = s if skip_out and j >= n_nodes - n_out else apply_activation(s, name)
            if weight_after:
                v[:, j] *= w
            if empty_zero and all(t != j for _, t in edges):  # phi(0) forgotten
                v[:, j] = 0.0
        out[k] = v[:, n_nodes - n_out :]
    return out


def _edge_order_forward(n_in, n_out, acts, edges, x, weights):
    """One pass over the edges in the order listed: a source is read before it is done."""
    x = np.asarray(x, dtype=np.float64)
    n_nodes = n_in + 1 + len(acts)
    out = np.zeros((len(weights), x.shape[0], n_out))
    for k, w in enumerate(weights):
        s = np.zeros((x.shape[0], n_nodes))

        def value(i, s=s):
            if i < n_in:
                return x[:, i]
            if i == n_in:
                return np.ones(x.shape[0])
            return apply_activation(s[:, i], acts[i - n_in - 1])

        for i, j in edges:
            s[:, j] += w * value(i)
        out[k] = np.stack([value(j) for j in range(n_nodes - n_out, n_nodes)], axis=1)
    return out


def test_the_loop_passes():
    assert len(check_wann_forward(_loop_forward).cases) == 9


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda *a: _loop_forward(*a, twice=True), "case 1, 'random graph"),
        (lambda *a: _loop_forward(*a, skip_out=True), "case 1, 'random graph"),
        (lambda *a: _loop_forward(*a, weight_after=True), "case 1, 'random graph"),
        (lambda *a: _loop_forward(*a, bias=0.0), "case 1, 'random graph"),
        (_edge_order_forward, "case 6, 'edges listed in reverse order"),
        (lambda *a: np.asarray(_package_forward(*a)).transpose(1, 0, 2),
         "case 1, 'random graph"),  # (N, W, C) instead of (W, N, C)
    ],
    ids=["weight-twice", "no-output-activation", "weight-after-activation", "bias-zero",
         "edge-list-order", "axes-swapped"],
)  # fmt: skip
def test_planted_forward_errors_fail_on_their_case(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_wann_forward(wrong)


def _array_only_forward(n_in, n_out, acts, edges, x, weights):
    """Vectorised over the weights with weights[:, None]: right on arrays, a TypeError on a list."""
    x = np.asarray(x, dtype=np.float64)
    v = np.zeros((len(weights), x.shape[0], n_in + 1 + len(acts)))
    v[:, :, :n_in] = x
    v[:, :, n_in] = 1.0
    for j in range(n_in + 1, v.shape[2]):
        s = sum((v[:, :, i] for i, t in edges if t == j), np.zeros(v.shape[:2]))
        v[:, :, j] = apply_activation(weights[:, None] * s, acts[j - n_in - 1])
    return v[:, :, v.shape[2] - n_out :]


def test_weights_read_only_as_an_array_fail_on_the_list_case():
    with pytest.raises(CheckFailure, match="case 9, 'weights given as a Python list") as failure:
        check_wann_forward(_array_only_forward)
    assert "TypeError" in str(failure.value)


def test_an_activation_missing_on_one_node_fails():
    def no_gauss(n_in, n_out, acts, edges, x, weights):  # gauss left out: the node is linear
        plain = tuple("linear" if a == "gauss" else a for a in acts)
        return _package_forward(n_in, n_out, plain, edges, x, weights)

    with pytest.raises(CheckFailure, match="case 3, 'a hidden node with no inputs"):
        check_wann_forward(no_gauss)


@pytest.mark.parametrize(
    "name", ["cos", "gauss", "sin", "tanh", "abs", "inverse", "sigmoid", "relu"]
)
def test_each_activation_of_the_chain_counts(name):
    def one_linear(n_in, n_out, acts, edges, x, weights):  # this activation made linear
        if len(acts) != 10:
            return _package_forward(n_in, n_out, acts, edges, x, weights)
        plain = tuple("linear" if a == name else a for a in acts)
        return _package_forward(n_in, n_out, plain, edges, x, weights)

    with pytest.raises(CheckFailure, match="case 5, 'a chain through all ten"):
        check_wann_forward(one_linear)


_ACTS = ("linear", "step", "sin", "cos", "gauss", "tanh", "sigmoid", "inverse", "abs", "relu")


def _swapped(name, other):
    """The package's forward pass with ``name`` replaced by ``other`` in the chain case."""

    def forward_swapped(n_in, n_out, acts, edges, x, weights):
        if len(acts) == 10:
            acts = tuple(other if a == name else a for a in acts)
        return _package_forward(n_in, n_out, acts, edges, x, weights)

    return forward_swapped


_UNSEEN = [("linear", "inverse"), ("linear", "abs")]  # linear feeds cos, which is even


@pytest.mark.parametrize(
    ("name", "other"),
    [(a, b) for a in _ACTS for b in _ACTS if a != b and (a, b) not in _UNSEEN],
)
def test_each_swap_of_one_activation_fails_on_the_chain(name, other):
    with pytest.raises(CheckFailure, match="case 5, 'a chain through all ten"):
        check_wann_forward(_swapped(name, other))


@pytest.mark.parametrize(("name", "other"), _UNSEEN)
def test_the_two_swaps_the_chain_cannot_see(name, other):
    check_wann_forward(_swapped(name, other))


def test_a_node_without_inputs_left_at_zero_fails_on_its_case():
    with pytest.raises(CheckFailure, match="case 3, 'a hidden node with no inputs"):
        check_wann_forward(lambda *a: _loop_forward(*a, empty_zero=True))


# --------------------------------------------------------------------------- accuracy


def _argmax_accuracy(n_in, n_out, acts, edges, x, labels, weights, *, axis=2, mean_axis=1,
                     worst=np.min):  # fmt: skip
    out = _package_forward(n_in, n_out, acts, edges, x, weights)  # (W, N, C)
    acc = (out.argmax(axis=axis) == np.asarray(labels)).mean(axis=mean_axis)
    return acc, acc.mean(), worst(acc)


def _strict_accuracy(n_in, n_out, acts, edges, x, labels, weights, *, mean_axis=1, worst=np.min,
                     hide=-np.inf):  # fmt: skip
    out = _package_forward(n_in, n_out, acts, edges, x, weights)  # (W, N, C)
    labels = np.asarray(labels)
    mine = np.take_along_axis(out, labels[None, :, None], axis=2)[:, :, 0]
    rest = np.where(labels[None, :, None] == np.arange(n_out), hide, out).max(axis=2)
    acc = (mine > rest).mean(axis=mean_axis)
    return acc, acc.mean(), worst(acc)


def test_the_strict_count_passes():
    assert len(check_sweep_accuracy(_strict_accuracy).cases) == 8


def test_float32_accuracies_pass():
    def in_float32(*args):
        acc, _, _ = _strict_accuracy(*args)
        acc = acc.astype(np.float32)
        return acc, acc.mean(), acc.min()

    check_sweep_accuracy(in_float32)


def _tie_rule_accuracy(n_in, n_out, acts, edges, x, labels, weights, *, rule):
    out = _package_forward(n_in, n_out, acts, edges, x, weights)  # (W, N, C)
    labels = np.asarray(labels)
    if rule == "all-equal":  # a tie only when every output is equal
        right = (out.argmax(axis=2) == labels) & (out.max(axis=2) > out.min(axis=2))
    else:  # any two equal outputs, the label's or not, make an error
        ordered = np.sort(out, axis=2)
        right = (out.argmax(axis=2) == labels) & (np.diff(ordered, axis=2) > 0).all(axis=2)
    acc = right.mean(axis=1)
    return acc, acc.mean(), acc.min()


def test_an_edge_list_as_an_array_breaks_on_the_empty_graph():
    def by_array(n_in, n_out, acts, edges, x, weights):
        pairs = np.asarray(edges)
        assert pairs[:, 1].size >= 0  # IndexError on the empty graph: too many indices
        return _package_forward(n_in, n_out, acts, edges, x, weights)

    with pytest.raises(CheckFailure, match="case 7, 'no edges at all.*\n(.*\n)*.*IndexError"):
        check_wann_forward(by_array)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_argmax_accuracy, "case 4, 'outputs that ignore the inputs"),  # a tie counted right
        (lambda *a: _argmax_accuracy(*a, axis=1), "case 1, 'random graph"),
        (lambda *a: _strict_accuracy(*a, mean_axis=0), "case 1, 'random graph"),
        (lambda *a: _strict_accuracy(*a, worst=np.max), "case 1, 'random graph"),
        (lambda *a: _strict_accuracy(*a[:5], 1 - np.asarray(a[5]), a[6]),
         "case 1, 'random graph"),  # labels read as 1 - label
        (lambda *a: _tie_rule_accuracy(*a, rule="all-equal"), "case 5, '3 classes"),
        (lambda *a: _tie_rule_accuracy(*a, rule="any-two-equal"), "case 5, '3 classes"),
        (lambda *a: _strict_accuracy(*a, hide=-1.0), "case 8, 'linear outputs"),
    ],
    ids=["ties-count-as-right", "argmax-over-examples", "mean-over-weights", "worst-is-max",
         "labels-flipped", "tie-only-if-all-equal", "any-two-equal-an-error",
         "label-hidden-with-minus-one"],
)  # fmt: skip
def test_planted_accuracy_errors_fail_on_their_case(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_sweep_accuracy(wrong)


# --------------------------------------------------------------------------- Pareto fronts


def _fronts(objectives, *, dominance="pareto", rule="peel", sign=1.0, start=0, against="left"):
    """Non-dominated sorting by peeling, vectorised, with planted errors."""
    obj = sign * np.asarray(objectives, dtype=np.float64)
    ge = (obj[:, None, :] >= obj[None, :, :]).all(axis=2)
    gt = (obj[:, None, :] > obj[None, :, :]).any(axis=2)
    if dominance == "pareto":
        dom = ge & gt  # dom[i, j]: row i dominates row j
    elif dominance == "strict":  # better in every objective
        dom = (obj[:, None, :] > obj[None, :, :]).all(axis=2)
    elif dominance == "self":  # no worse in every objective: every row dominates itself
        dom = ge
    else:  # "weak": no worse in every objective, so equal rows dominate each other
        dom = ge & ~np.eye(len(obj), dtype=bool)
    if rule == "count":  # the number of rows that dominate it
        return dom.sum(axis=0) + start
    if rule == "two":  # non-dominated or not
        return dom.any(axis=0).astype(int) + start
    front = np.full(len(obj), -1)
    left = np.ones(len(obj), dtype=bool)
    k = start
    while left.any():
        # "all": tested against every row, so a row dominated only by earlier fronts stays
        now = left & ~(dom[left] if against == "left" else dom).any(axis=0)
        if not now.any() and dominance != "self" and against == "left":
            now = left  # the weak rule leaves equal rows stuck: put them last; "self" and
            # "all" loop for ever, as a student's would
        front[now] = k
        left &= ~now
        k += 1
    return front


def _two_column_fronts(objectives):
    """Written for two objectives, like values1 and values2 of a two-objective sort."""
    obj = np.asarray(objectives, dtype=np.float64)
    return _fronts(np.stack([obj[:, 0], obj[:, 1]], axis=1))


def test_the_peeling_passes():
    assert len(check_pareto_fronts(_fronts).cases) == 9


def test_fronts_as_whole_floats_pass():
    check_pareto_fronts(lambda o: _fronts(o).astype(np.float64))


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda o: _fronts(o, dominance="strict"), "case 3, 'equal in one objective"),
        (lambda o: _fronts(o, dominance="weak"), "case 4, 'equal rows"),
        (lambda o: _fronts(o, rule="count"), "case 1, 'two objectives"),
        (lambda o: _fronts(o, rule="two"), "case 1, 'two objectives"),
        (lambda o: _fronts(o, sign=-1.0), "case 1, 'two objectives"),  # minimised
        (lambda o: _fronts(o, start=1), "case 1, 'two objectives"),
        (_two_column_fronts, "case 5, 'one objective.*\n(.*\n)*.*IndexError"),
        (lambda o: _fronts(o) + 0.5, "case 1, 'two objectives.*\n(.*\n)*.*integers"),
    ],
    ids=["strict-dominance", "weak-dominance", "count-dominators", "two-fronts-only",
         "minimised", "counted-from-1", "two-objectives-only", "not-integers"],
)  # fmt: skip
def test_planted_front_errors_fail_on_their_case(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_pareto_fronts(wrong)


def test_a_loop_that_never_ends_fails_on_the_first_case(monkeypatch):
    """A dominance that marks each row as dominating itself peels nothing, for ever."""
    monkeypatch.setattr(_part6, "_FRONT_SECONDS", 0.2)
    start = time.perf_counter()
    with pytest.raises(CheckFailure, match="case 1, 'two objectives(.*\n)*.*TimeoutError.*itself"):
        check_pareto_fronts(lambda o: _fronts(o, dominance="self"))
    assert time.perf_counter() - start < 5


def test_a_loop_against_all_rows_fails_on_the_first_case(monkeypatch):
    """Testing against all rows, not the rows left, never peels front 1: the message says so."""
    monkeypatch.setattr(_part6, "_FRONT_SECONDS", 0.2)
    start = time.perf_counter()
    with pytest.raises(
        CheckFailure, match=r"case 1, 'two objectives(.*\n)*.*TimeoutError.*dom\[left\]"
    ):
        check_pareto_fronts(lambda o: _fronts(o, against="all"))
    assert time.perf_counter() - start < 5


def test_the_time_limit_leaves_no_timer_behind():
    handler = signal.getsignal(signal.SIGALRM)
    check_pareto_fronts(_fronts)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler
