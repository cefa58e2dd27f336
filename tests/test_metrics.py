"""derived.metrics against brute force over tie-breaking orders, torch.topk and scikit-learn."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sklearn.metrics import top_k_accuracy_score

from derived.metrics import clopper_pearson, label_rank, topk_accuracy, topk_error


def brute_force(scores, labels, k):
    """Mean over every tie-breaking order (all permutations of the classes)."""
    n, n_classes = scores.shape
    hits = np.zeros(n)
    perms = list(itertools.permutations(range(n_classes)))
    for perm in perms:  # break ties by the position of each class in perm
        priority = np.empty(n_classes)
        priority[list(perm)] = np.arange(n_classes)
        for i in range(n):
            order = sorted(range(n_classes), key=lambda c, i=i: (-scores[i, c], priority[c]))
            hits[i] += labels[i] in order[:k]
    return hits / len(perms)


@st.composite
def scored(draw):
    n = draw(st.integers(1, 6))
    n_classes = draw(st.integers(1, 5))
    few = draw(st.booleans())  # few distinct values: many ties
    values = st.integers(0, 2) if few else st.integers(-50, 50)
    scores = np.array(
        draw(st.lists(st.lists(values, min_size=n_classes, max_size=n_classes),
                      min_size=n, max_size=n)),
        dtype=np.float64,
    )  # fmt: skip
    labels = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    k = draw(st.integers(1, n_classes))
    return scores, labels, k


@settings(max_examples=80, deadline=None)
@given(case=scored())
def test_expected_ties_equal_the_mean_over_all_tie_breaking_orders(case):
    scores, labels, k = case
    per_example = brute_force(scores, labels, k)
    assert topk_accuracy(scores, labels, k) == pytest.approx(per_example.mean(), rel=1e-12)
    assert topk_error(scores, labels, k) == pytest.approx(1 - per_example.mean(), abs=1e-12)
    optimistic = topk_accuracy(scores, labels, k, ties="optimistic")
    pessimistic = topk_accuracy(scores, labels, k, ties="pessimistic")
    assert pessimistic <= topk_accuracy(scores, labels, k) + 1e-15 <= optimistic + 2e-15
    assert optimistic == pytest.approx(np.mean(label_rank(scores, labels) <= k))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), n_classes=st.integers(2, 12), seed=st.integers(0, 2**16))
def test_without_ties_matches_torch_topk_and_scikit_learn(n, n_classes, seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, n_classes))  # continuous: no ties
    labels = rng.integers(0, n_classes, size=n)
    for k in range(1, n_classes + 1):
        top = torch.topk(torch.tensor(scores), k, dim=1).indices.numpy()
        ref = np.mean(np.any(top == labels[:, None], axis=1))
        for ties in ("expected", "optimistic", "pessimistic"):
            assert topk_accuracy(scores, labels, k, ties=ties) == ref
        assert topk_error(scores, labels, k) == np.mean(~np.any(top == labels[:, None], axis=1))
        if 2 < n_classes and k < n_classes and len(np.unique(labels)) == n_classes:
            sk = top_k_accuracy_score(labels, scores, k=k, labels=np.arange(n_classes))
            assert topk_accuracy(scores, labels, k) == pytest.approx(sk, rel=1e-15)


def test_rank_is_one_plus_the_number_of_higher_scores():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [3.0, 2.0, 1.0]])
    assert label_rank(scores, [2, 1, 2]).tolist() == [2, 1, 3]


def test_curves_are_monotone_and_end_at_zero_error():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 6)).astype(float)  # many ties
    labels = rng.integers(0, 6, size=50)
    errors = [topk_error(scores, labels, k) for k in range(1, 7)]
    assert all(a >= b for a, b in zip(errors, errors[1:], strict=False))
    assert errors[-1] == 0.0


def test_a_constant_classifier_gets_chance_accuracy():
    # every score tied: a random guess among K classes is right with probability k / K
    scores = np.zeros((7, 5))
    labels = np.array([0, 1, 2, 3, 4, 0, 1])
    for k in range(1, 6):
        assert topk_accuracy(scores, labels, k) == pytest.approx(k / 5, rel=1e-15)
    assert topk_accuracy(scores, labels, 1, ties="optimistic") == 1.0
    assert topk_accuracy(scores, labels, 1, ties="pessimistic") == 0.0
    # torch.topk picks one of the tied classes for every row, so its accuracy is the
    # share of that class among the labels, not chance
    top1 = torch.topk(torch.tensor(scores), 1, dim=1).indices.numpy()[:, 0]
    assert len(set(top1.tolist())) == 1
    assert np.mean(top1 == labels) == np.mean(labels == top1[0]) != pytest.approx(1 / 5)


@pytest.mark.skipif(not torch.__version__.startswith("2.13"), reason="describes torch 2.13")
def test_how_the_libraries_break_ties():
    # What the module docstring and chapter 16 say: torch's order on ties is not the
    # order in memory and depends on k; scikit-learn puts the highest index first.
    zeros = torch.zeros(10, dtype=torch.float64)
    assert torch.topk(zeros, 1).indices.tolist() == [8]
    order = torch.topk(zeros, 10).indices.tolist()
    assert order != list(range(10))
    assert order[0] != 8
    labels = np.arange(10)
    for k in range(1, 10):  # right exactly for the k highest labels
        got = top_k_accuracy_score(labels, np.zeros((10, 10)), k=k, labels=labels)
        assert got == pytest.approx(k / 10, rel=1e-15)
    assert top_k_accuracy_score([9], np.zeros((1, 10)), k=1, labels=labels) == 1.0
    assert top_k_accuracy_score([0], np.zeros((1, 10)), k=9, labels=labels) == 0.0


def test_seed_definition_is_the_optimistic_convention():
    # homework 004: R counts classes with a strictly larger score; error iff R >= k
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 3, size=(40, 4)).astype(float)
    labels = rng.integers(0, 4, size=40)
    R = np.sum(scores > scores[np.arange(40), labels][:, None], axis=1)
    for k in range(1, 5):
        assert topk_error(scores, labels, k, ties="optimistic") == np.mean(R >= k)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), frac=st.floats(0, 1), level=st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_clopper_pearson_matches_scipy_binomtest(n, frac, level):
    count = round(frac * n)
    low, high = clopper_pearson(count, n, level)
    ref = binomtest(count, n).proportion_ci(confidence_level=level, method="exact")
    assert low == pytest.approx(ref.low, rel=1e-9, abs=1e-12)
    assert high == pytest.approx(ref.high, rel=1e-9, abs=1e-12)
    assert 0.0 <= low <= count / n <= high <= 1.0


def test_clopper_pearson_ends_are_the_one_sided_tests():
    # at the lower end, P(X >= count) = alpha / 2; at the upper end, P(X <= count) = alpha / 2
    from scipy.stats import binom

    low, high = clopper_pearson(6, 269)
    assert binom.sf(5, 269, low) == pytest.approx(0.025, rel=1e-9)
    assert binom.cdf(6, 269, high) == pytest.approx(0.025, rel=1e-9)
    assert clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(10, 10)[1] == 1.0


def test_float_labels_that_are_whole_numbers_are_accepted():
    assert topk_accuracy([[0.0, 1.0]], np.array([1.0]), 1) == 1.0


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: topk_error(np.zeros((2, 3)), [0, 1], 0), ValueError, r"k must lie in \[1, K\]"),
        (lambda: topk_error(np.zeros((2, 3)), [0, 1], 4), ValueError, r"\[1, 3\], got 4"),
        (lambda: topk_error(np.zeros((2, 3)), [0, 1], 1.0), TypeError, "k must be an int"),
        (lambda: topk_error(np.zeros((2, 3)), [0, 1], True), TypeError, "k must be an int"),
        (lambda: topk_error(np.zeros((2, 3)), [0, 3], 1), ValueError, r"labels must lie in"),
        (lambda: topk_error(np.zeros((2, 3)), [0, -1], 1), ValueError, r"labels must lie in"),
        (lambda: topk_error(np.zeros((2, 3)), [0.5, 1], 1), ValueError, "non-integer"),
        (lambda: topk_error(np.zeros((2, 3)), [0], 1), ValueError, r"shape \(2,\)"),
        (lambda: topk_error(np.zeros((2, 3)), ["a", "b"], 1), TypeError, "labels must be"),
        (lambda: topk_error(np.zeros((2, 3)), [0, 1], 1, ties="random"), ValueError, "ties"),
        (lambda: topk_error(np.zeros(3), [0], 1), ValueError, "scores must have 2"),
        (lambda: topk_error(np.zeros((0, 3)), [], 1), ValueError, "N >= 1"),
        (lambda: label_rank(np.full((1, 2), np.nan), [0]), ValueError, "scores must be finite"),
        (lambda: clopper_pearson(3, 2), ValueError, "0 <= count <= n"),
        (lambda: clopper_pearson(0, 0), ValueError, "n >= 1"),
        (lambda: clopper_pearson(1.0, 2), TypeError, "count must be an int"),
        (lambda: clopper_pearson(1, 2, level=1.0), ValueError, "level must lie"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
