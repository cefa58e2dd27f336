r"""Top-k error and accuracy of a classifier, through the rank of the true label.

A classifier gives each of :math:`N` examples a score :math:`s_{nc}` for every class
:math:`c = 0, \dots, K-1` (logits or probabilities: only their order matters). The
*rank* of the true label :math:`y_n` counts the classes that score higher,

.. math::

    r_n = 1 + \#\{c : s_{nc} > s_{n y_n}\},

so :math:`r_n = 1` when the true label has the highest score. The prediction is
correct at level :math:`k` if the true label is among the :math:`k` highest scores,
:math:`r_n \le k`, and

.. math::

    \text{top-}k\text{ error} = \frac1N \sum_n \mathbb 1[r_n > k], \qquad
    \text{top-}k\text{ accuracy} = 1 - \text{top-}k\text{ error}.

**Ties.** When other classes score *exactly* as high as the true label, "the
:math:`k` highest scores" is ambiguous. With :math:`g_n` classes strictly above and
:math:`e_n` other classes equal to the true label, a tie-breaking order puts the
true label anywhere from position :math:`g_n + 1` to :math:`g_n + e_n + 1`. Three
conventions are offered:

* ``"expected"`` (default): the tie is broken uniformly at random and the expected
  value is reported, :math:`P(\text{position} \le k) = \min(\max(k - g_n, 0), e_n + 1)
  / (e_n + 1)`. It is exact, needs no random numbers, and is the mean over all
  tie-breaking orders.
* ``"optimistic"``: ties are resolved in favour of the true label (position
  :math:`g_n + 1`, the rank :math:`r_n` above).
* ``"pessimistic"``: ties are resolved against it (position :math:`g_n + e_n + 1`).

Without ties the three agree. Libraries pick one order instead: the documentation of
``torch.topk`` leaves the order of equal values unspecified (torch 2.13 on a CPU puts
class 8 first in a row of ten equal scores when ``k = 1``), and scikit-learn's
``top_k_accuracy_score`` documents that the highest class index comes first. Either
rewards a constant classifier for whichever class the tie-breaking favours. The book's chapter
*Evaluating classifiers: top-k error* discusses the definition; ``tests/test_metrics.py`` checks it
against brute-force enumeration of tie-breaking orders, ``torch.topk`` and scikit-learn, and checks
what both libraries do on ties.

**Sampling uncertainty.** A test error is a count of mistakes among :math:`N`
examples. :func:`clopper_pearson` gives the exact (Clopper--Pearson) confidence
interval for the underlying error rate, treating the mistakes as a binomial count.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import beta

from derived._validate import check_int, scores_and_labels

__all__ = ["clopper_pearson", "label_rank", "topk_accuracy", "topk_error"]

Ties = Literal["expected", "optimistic", "pessimistic"]
TIES = ("expected", "optimistic", "pessimistic")


def _scores_labels(
    scores: ArrayLike, labels: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    return scores_and_labels(scores, labels, "scores")


def _counts(
    s: NDArray[np.float64], lab: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Per example: classes strictly above the true label, and other classes equal to it."""
    true = s[np.arange(s.shape[0]), lab][:, None]  # (N, 1)
    above = np.sum(s > true, axis=1)
    equal = np.sum(s == true, axis=1) - 1  # the true label itself is not a rival
    return above, equal


def label_rank(scores: ArrayLike, labels: ArrayLike) -> NDArray[np.intp]:
    r"""Rank of each true label: :math:`r_n = 1 + \#\{c : s_{nc} > s_{n y_n}\}`.

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Finite class scores, one row per example.
    labels : array_like of int, shape (N,)
        True classes in ``[0, K)``.

    Returns
    -------
    numpy.ndarray of int, shape (N,)
        1 for a true label with the highest score (ties count in its favour).

    Examples
    --------
    >>> label_rank([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0]], [2, 1]).tolist()
    [2, 1]
    """
    s, lab = _scores_labels(scores, labels)
    above, _ = _counts(s, lab)
    return above + 1


def _hits(scores: ArrayLike, labels: ArrayLike, k: int, ties: Ties) -> NDArray[np.float64]:
    """Per example, the (expected) indicator that the true label is in the top k."""
    s, lab = _scores_labels(scores, labels)
    if not 1 <= check_int(k, "k") <= s.shape[1]:
        raise ValueError(f"k must lie in [1, K] = [1, {s.shape[1]}], got {k}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    above, equal = _counts(s, lab)
    if ties == "optimistic":
        return (above < k).astype(np.float64)
    if ties == "pessimistic":
        return (above + equal < k).astype(np.float64)
    hit: NDArray[np.float64] = np.clip(k - above, 0, equal + 1) / (equal + 1)
    return hit  # the true label's position is uniform on above + 1, ..., above + equal + 1


def topk_accuracy(scores: ArrayLike, labels: ArrayLike, k: int, ties: Ties = "expected") -> float:
    r"""Fraction of examples whose true label is among the ``k`` highest scores.

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Finite class scores (logits or probabilities), one row per example.
    labels : array_like of int, shape (N,)
        True classes in ``[0, K)``.
    k : int
        How many of the highest-scoring classes count, ``1 <= k <= K``.
    ties : {"expected", "optimistic", "pessimistic"}, default "expected"
        How a true label tied with other classes is counted (see the module
        docstring): the mean over random tie-breaking, or ties resolved for or against it.

    Returns
    -------
    float
        In [0, 1]; non-decreasing in ``k``, and 1 at ``k = K``.

    Examples
    --------
    >>> scores = [[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]
    >>> topk_accuracy(scores, [1, 1, 0], 1), topk_accuracy(scores, [1, 1, 0], 2)
    (0.3333333333333333, 0.8333333333333334)
    >>> topk_accuracy(scores, [1, 1, 0], 2, ties="optimistic")
    1.0
    """
    return float(np.mean(_hits(scores, labels, k, ties)))


def topk_error(scores: ArrayLike, labels: ArrayLike, k: int, ties: Ties = "expected") -> float:
    r"""Fraction of examples whose true label is *not* among the ``k`` highest scores.

    .. math:: \frac1N \sum_n \mathbb 1[r_n > k] = 1 - \text{top-}k\text{ accuracy}

    with :math:`r_n` the rank of the true label of example ``n``. The formula holds as
    written when no class ties with the true label. With ties it is the
    ``"optimistic"`` convention (the rank counts only strictly larger scores); the
    default, ``"expected"``, returns instead the mean over a uniformly random order of
    the tied classes, :math:`\frac1N \sum_n (1 - \pi_n(k))` with
    :math:`\pi_n(k) = \min(\max(k - g_n, 0), e_n + 1) / (e_n + 1)`, where :math:`g_n`
    classes score above the true label and :math:`e_n` others equal it.

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Finite class scores (logits or probabilities), one row per example.
    labels : array_like of int, shape (N,)
        True classes in ``[0, K)``.
    k : int
        How many of the highest-scoring classes count, ``1 <= k <= K``.
    ties : {"expected", "optimistic", "pessimistic"}, default "expected"
        How ties with the true label are counted; see :func:`topk_accuracy`.

    Returns
    -------
    float
        In [0, 1]; non-increasing in ``k``, and 0 at ``k = K``.

    Examples
    --------
    >>> scores = [[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]
    >>> topk_error(scores, [1, 1, 0], 1), topk_error(scores, [1, 1, 0], 3)
    (0.6666666666666666, 0.0)
    """
    return float(np.mean(1.0 - _hits(scores, labels, k, ties)))


def clopper_pearson(count: int, n: int, level: float = 0.95) -> tuple[float, float]:
    r"""Exact confidence interval for a binomial proportion from ``count`` of ``n``.

    The Clopper--Pearson interval inverts two one-sided binomial tests: its ends are
    the quantiles :math:`B(\alpha/2;\, x, n - x + 1)` and
    :math:`B(1 - \alpha/2;\, x + 1, n - x)` of beta distributions, with
    :math:`\alpha = 1 - \text{level}`, and 0 (1) when ``count`` is 0 (``n``). It
    covers the true proportion with probability at least ``level`` for every
    proportion, so it is conservative.

    Parameters
    ----------
    count : int
        Number of events (for example, test images misclassified), ``0 <= count <= n``.
    n : int
        Number of trials, ``n >= 1``.
    level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``0 <= low <= count / n <= high <= 1``.

    Examples
    --------
    >>> low, high = clopper_pearson(6, 269)
    >>> round(low, 4), round(high, 4)
    (0.0082, 0.0479)
    """
    check_int(count, "count")
    check_int(n, "n")
    if n < 1 or not 0 <= count <= n:
        raise ValueError(f"need n >= 1 and 0 <= count <= n, got count={count}, n={n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    alpha = 1.0 - level
    low = 0.0 if count == 0 else float(beta.ppf(alpha / 2, count, n - count + 1))
    high = 1.0 if count == n else float(beta.ppf(1 - alpha / 2, count + 1, n - count))
    return low, high
