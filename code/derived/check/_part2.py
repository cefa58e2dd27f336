"""Checks for Part II, Differentiation: the softmax, its Jacobian, backpropagation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, torch

__all__ = [
    "check_log_softmax",
    "check_softmax",
    "check_softmax_jacobian",
    "check_softmax_vjp",
    "check_two_layer_backward",
]


def _softmax_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20261)
    return [
        ("random scores, one row of 5", rng.normal(size=5)),
        ("random scores, a batch of 3 rows of 4", rng.normal(size=(3, 4))),
        ("one class", np.array([2.5])),
        ("equal scores", np.zeros(4)),
        ("large scores (exp overflows without the max shift)", np.array([1000.0, 1001.0, 999.0])),
        ("very negative scores", np.array([-1000.0, -1002.0, -1001.0])),
    ]


def check_softmax(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(z)``, the softmax over the last axis of ``z``, against torch in float64.

    Cases: random rows and a batch, one class, equal scores, and scores near +-1000,
    where computing ``exp(z)`` before shifting by the maximum overflows.

    Parameters
    ----------
    impl : callable
        The student's softmax: a float64 array ``z`` of shape (..., K) to the array of
        the same shape whose rows are the softmax of the rows of ``z``.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose result is wrong, naming the case, ``z``, the expected
        and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.softmax import softmax
    >>> check_softmax(softmax)
    check_softmax passed all 6 cases: random scores, one row of 5; ...
    """
    c = Checker("check_softmax", impl, "softmax")
    t = torch()
    for label, z in _softmax_cases():
        c.case(label, z=z)
        got = c.call(z)
        expected = t.softmax(t.tensor(z, dtype=t.float64), dim=-1).numpy()
        c.close(got, expected, what="softmax", rtol=1e-9, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- log-softmax


def _log_softmax_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20262)
    return [
        ("random scores, one row of 5", rng.normal(size=5)),
        ("random scores, a batch of 3 rows of 4", rng.normal(size=(3, 4))),
        ("one class", np.array([-3.0])),
        ("equal scores", np.zeros(4)),
        ("large scores (exp overflows without the max shift)", np.array([1000.0, 1001.0, 999.0])),
        (
            "scores 1000 apart (the softmax underflows to 0, its log to -inf)",
            np.array([[0.0, 1000.0, -1000.0], [5.0, 4.0, -995.0]]),
        ),
    ]


def check_log_softmax(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(z)``, the log-softmax over the last axis of ``z``, against torch.

    The oracle is ``torch.log_softmax`` in float64. Cases: a random row and a batch,
    one class, equal scores, scores near 1000 (``exp(z)`` overflows unless shifted by
    the maximum) and scores 1000 apart, where the softmax of the smallest underflows
    to 0, so that ``log(softmax(z))`` is ``-inf`` while
    :math:`z_i - \operatorname{lse}(z)` is about -1000.

    Parameters
    ----------
    impl : callable
        The student's log-softmax: a float64 array ``z`` of shape (..., K) to the array
        of the same shape whose rows are :math:`z - \log\sum_k e^{z_k}` of the rows of
        ``z``.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose result is wrong (or not finite), naming the case, ``z``,
        the expected and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.softmax import log_softmax
    >>> check_log_softmax(log_softmax)
    check_log_softmax passed all 6 cases: random scores, one row of 5; ...
    """
    c = Checker("check_log_softmax", impl, "log_softmax")
    t = torch()
    for label, z in _log_softmax_cases():
        c.case(label, z=z)
        got = c.call(z)
        expected = t.log_softmax(t.tensor(z, dtype=t.float64), dim=-1).numpy()
        c.close(got, expected, what="log-softmax", rtol=1e-9, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- VJP


def _vjp_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20263)
    return [
        ("random z and v, one row of 5", rng.normal(size=5), rng.normal(size=5)),
        (
            "random z and v, a batch of 3 rows of 4",
            rng.normal(size=(3, 4)),
            rng.normal(size=(3, 4)),
        ),
        ("a batch of one row", rng.normal(size=(1, 3)), rng.normal(size=(1, 3))),
        (
            "a batch of 2 rows of 5 (not square)",
            rng.normal(size=(2, 5)),
            rng.normal(size=(2, 5)),
        ),
        ("one class", np.array([0.7]), np.array([2.0])),
        ("a constant v (the product is zero)", rng.normal(size=4), np.full(4, 3.0)),
        (
            "large scores (exp overflows without the max shift)",
            np.array([1000.0, 1001.0, 999.0]),
            np.array([1.0, -2.0, 0.5]),
        ),
    ]


def check_softmax_vjp(impl: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(z, v)``, the vector-Jacobian product :math:`v^\top J` of the softmax.

    For each row :math:`z` of ``z`` and the matching row :math:`v` of ``v``, the result's
    row is :math:`J^\top v = s \odot (v - \langle s, v\rangle)`, with :math:`s` the
    softmax of :math:`z` and :math:`J` its Jacobian. The oracle is torch autograd in
    float64: the gradient of :math:`\sum_i v_i s_i` with respect to :math:`z`, row by row.
    Cases: a random row, a batch, a batch of one row, a batch that is not square, one
    class, a constant ``v`` (whose product is zero) and scores near 1000.

    Parameters
    ----------
    impl : callable
        The student's product: float64 arrays ``z`` and ``v`` of the same shape (..., K)
        to the array of that shape whose rows are :math:`J^\top v`, one per row.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose result is wrong, naming the case, ``z`` and ``v``, the
        expected and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.softmax import softmax_vjp
    >>> check_softmax_vjp(softmax_vjp)
    check_softmax_vjp passed all 7 cases: random z and v, one row of 5; ...
    """
    c = Checker("check_softmax_vjp", impl, "softmax_vjp")
    t = torch()
    for label, z, v in _vjp_cases():
        c.case(label, z=z, v=v)
        got = c.call(z, v)
        zt = t.tensor(z, dtype=t.float64, requires_grad=True)
        (t.softmax(zt, dim=-1) * t.tensor(v, dtype=t.float64)).sum().backward()
        c.close(got, zt.grad.numpy(), what="product J^T v", rtol=1e-8, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- Jacobian


def _jacobian_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20264)
    return [
        ("random scores, 5 classes", rng.normal(size=5)),
        ("random scores, 2 classes", rng.normal(size=2)),
        ("one class (the Jacobian is the 1 x 1 zero)", np.array([4.0])),
        ("equal scores", np.zeros(4)),
        ("scores of very different sizes", np.array([3.0, -1.0, 0.5, 2.0, -4.0, 1.0])),
        ("large scores (exp overflows without the max shift)", np.array([1000.0, 1001.0, 999.0])),
    ]


def check_softmax_jacobian(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(z)``, the Jacobian of the softmax at a 1-D ``z``, against torch.

    The Jacobian is in numerator layout: entry ``[i, j]`` is
    :math:`\partial s_i / \partial z_j = s_i(\delta_{ij} - s_j)`, the matrix
    :math:`\operatorname{diag}(s) - s s^\top`. The oracle is
    ``torch.autograd.functional.jacobian`` of the softmax in float64. Cases: 5 and 2
    random scores, one class, equal scores, scores of very different sizes and scores
    near 1000.

    Parameters
    ----------
    impl : callable
        The student's Jacobian: a float64 vector ``z`` of shape (K,) to a (K, K) array.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose matrix is wrong (or of the wrong shape), naming the case,
        ``z``, the expected and the returned matrices and the largest error.

    Examples
    --------
    >>> from derived.softmax import softmax_jacobian
    >>> check_softmax_jacobian(softmax_jacobian)
    check_softmax_jacobian passed all 6 cases: random scores, 5 classes; ...
    """
    c = Checker("check_softmax_jacobian", impl, "softmax_jacobian")
    t = torch()
    for label, z in _jacobian_cases():
        c.case(label, z=z)
        got = c.call(z)
        expected = t.autograd.functional.jacobian(
            lambda x: t.softmax(x, dim=-1), t.tensor(z, dtype=t.float64)
        ).numpy()
        c.close(got, expected, what="Jacobian", rtol=1e-8, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- two layers


Net = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _net(rng: np.random.Generator, N: int, n: int, D: int, K: int) -> Net:
    X = rng.normal(size=(N, n))
    W1, b1 = rng.normal(size=(D, n)) / np.sqrt(n), 0.1 * rng.normal(size=D)
    W2, b2 = rng.normal(size=(K, D)) / np.sqrt(D), 0.1 * rng.normal(size=K)
    y = rng.integers(0, K, size=N)
    return X, W1, b1, W2, b2, y


def _two_layer_cases() -> list[tuple[str, Net]]:
    rng = np.random.default_rng(20265)
    cases = [
        (
            "a random batch of 5 examples, 3 inputs, 4 hidden units, 3 classes",
            _net(rng, 5, 3, 4, 3),
        ),
        ("a batch of one example", _net(rng, 1, 3, 4, 3)),
        ("7 examples, 2 inputs, 6 hidden units, 4 classes", _net(rng, 7, 2, 6, 4)),
    ]
    X, W1, b1, W2, b2, y = _net(rng, 4, 3, 5, 3)
    b1 = b1.copy()
    b1[1] = -100.0  # unit 2 is off on every example: its gradients are zero
    cases.append(
        ("a dead hidden unit (its pre-activation < 0 on every example)", (X, W1, b1, W2, b2, y))
    )
    X, W1, b1, W2, b2, y = _net(rng, 3, 2, 3, 2)
    X[0] = 0.0
    b1 = np.array([0.0, 0.5, 0.0])  # example 1's units 1 and 3 sit exactly at the kink
    cases.append(("pre-activations exactly 0, at the kink of the ReLU", (X, W1, b1, W2, b2, y)))
    X, W1, b1, W2, b2, y = _net(rng, 4, 3, 4, 3)
    cases.append(
        ("large logits (exp overflows without the max shift)", (X, W1, b1, 2000.0 * W2, b2, y))
    )
    return cases


def check_two_layer_backward(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(X, W1, b1, W2, b2, y)``, the gradients of a two-layer ReLU network.

    The network and its loss, with the conventions of :class:`derived.mlp.MLP`
    (a weight matrix has one row per unit of its layer):

    .. math::

        A = \operatorname{ReLU}(X W_1^\top + b_1), \qquad Z = A W_2^\top + b_2, \qquad
        \ell = -\frac1N \sum_{m=1}^N \log \operatorname{softmax}(Z_m)_{y_m}.

    ``impl`` returns :math:`\partial\ell/\partial W_1, \partial\ell/\partial b_1,
    \partial\ell/\partial W_2, \partial\ell/\partial b_2`, each shaped like its
    parameter. The oracle is torch autograd in float64 (with ``torch.relu``, whose
    derivative at 0 is 0). Cases: a random batch, a batch of one, shapes that are not
    square, a dead hidden unit, pre-activations exactly 0 and logits near 1000.

    Parameters
    ----------
    impl : callable
        The student's backward pass: ``X`` (N, n), ``W1`` (D, n), ``b1`` (D,), ``W2``
        (K, D), ``b2`` (K,) float64 and integer labels ``y`` (N,) in ``[0, K)`` to the
        four gradients ``(dW1, db1, dW2, db2)``.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case with a wrong gradient (or not four of them), naming the case,
        its inputs, the gradient, the expected and the returned arrays and the largest
        error.

    Examples
    --------
    >>> import numpy as np
    >>> from derived.losses import cross_entropy_grad
    >>> def two_layer_backward(X, W1, b1, W2, b2, y):
    ...     S1 = X @ W1.T + b1
    ...     A = np.maximum(S1, 0.0)
    ...     dZ = cross_entropy_grad(A @ W2.T + b2, y)  # (softmax(Z) - Y) / N
    ...     dS1 = (dZ @ W2) * (S1 > 0)
    ...     return dS1.T @ X, dS1.sum(axis=0), dZ.T @ A, dZ.sum(axis=0)
    >>> check_two_layer_backward(two_layer_backward)
    check_two_layer_backward passed all 6 cases: a random batch of 5 examples, ...
    """
    c = Checker("check_two_layer_backward", impl, "two_layer_backward")
    t = torch()
    names = ("dW1", "db1", "dW2", "db2")
    for label, (X, W1, b1, W2, b2, y) in _two_layer_cases():
        c.case(label, X=X, W1=W1, b1=b1, W2=W2, b2=b2, y=y)
        got = c.call(X, W1, b1, W2, b2, y)
        got = c.outputs(got, names, "gradients")
        params = [t.tensor(p, dtype=t.float64, requires_grad=True) for p in (W1, b1, W2, b2)]
        hidden = t.relu(t.tensor(X, dtype=t.float64) @ params[0].T + params[1])
        logits = hidden @ params[2].T + params[3]
        t.nn.functional.cross_entropy(logits, t.tensor(y)).backward()
        for name, g, p in zip(names, got, params, strict=True):
            c.close(g, p.grad.numpy(), what=f"gradient {name}", rtol=1e-8, atol=1e-12)
    return c.result()
