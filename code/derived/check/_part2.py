"""Checks for Part II, Differentiation: the softmax, its Jacobian, backpropagation."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, sigmoid_float, torch

__all__ = [
    "check_backward_rules",
    "check_log_softmax",
    "check_softmax",
    "check_softmax_jacobian",
    "check_soft_cross_entropy_grad",
    "check_softmax_vjp",
    "check_two_layer_backward",
    "check_value_backward",
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
        (
            "scores 2000 apart (shifting by the minimum or the mean overflows)",
            np.array([-1000.0, 1000.0]),
        ),
        (
            "a batch whose rows lie 1000 apart (each row needs its own maximum)",
            np.array([[0.0, 1.0], [1000.0, 1001.0]]),
        ),
        (
            "random scores, a batch of shape (2, 3, 4) (the last axis is the class)",
            rng.normal(size=(2, 3, 4)),
        ),
    ]


def check_softmax(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``impl(z)``, the softmax over the last axis of ``z``, against torch in float64.

    Cases: random rows and a batch, one class, equal scores, scores near +-1000, where
    computing ``exp(z)`` before shifting by the maximum overflows, scores 2000 apart (a
    shift by the minimum or the mean overflows), a batch whose rows lie 1000 apart (a
    shift by the batch's maximum underflows the lower row to 0/0) and a 3-D batch of
    shape (2, 3, 4) (code that assumes at most two axes fails it).

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
    check_softmax passed all 9 cases: random scores, one row of 5; ...
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
        (
            "random scores, a batch of shape (2, 3, 4) (the last axis is the class)",
            rng.normal(size=(2, 3, 4)),
        ),
    ]


def check_log_softmax(impl: Callable[[np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(z)``, the log-softmax over the last axis of ``z``, against torch.

    The oracle is ``torch.log_softmax`` in float64. Cases: a random row and a batch,
    one class, equal scores, scores near 1000 (``exp(z)`` overflows unless shifted by
    the maximum) and scores 1000 apart, where the softmax of the smallest underflows
    to 0, so that ``log(softmax(z))`` is ``-inf`` while
    :math:`z_i - \operatorname{lse}(z)` is about -1000, and a 3-D batch of shape (2, 3, 4).

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
    check_log_softmax passed all 7 cases: random scores, one row of 5; ...
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
        The student's product: float64 arrays ``z`` and ``v`` of the same shape, (K,) for
        one row or (N, K) for a batch, to the array of that shape whose rows are
        :math:`J^\top v`, one per row.

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
    square, a dead hidden unit, pre-activations exactly 0 and large logits (up to about
    1400 in size, spread over up to about 2500 within a row). The gradients are compared
    from the output back, ``db2``, ``dW2``, ``db1``, ``dW1``, so that an error in
    :math:`\partial\ell/\partial Z` is reported on ``db2`` rather than on ``dW1``.

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
        pairs = list(zip(names, got, params, strict=True))
        for name, g, p in reversed(pairs):  # from the output back: db2, dW2, db1, dW1
            c.close(g, p.grad.numpy(), what=f"gradient {name}", rtol=1e-8, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- soft targets


def _soft_targets_cases() -> list[tuple[str, np.ndarray, np.ndarray, float | None]]:
    """(label, Z, Q, label smoothing or None): torch's oracle takes y and the smoothing."""
    rng = np.random.default_rng(20268)
    one_hot = np.eye(4)[[2, 0, 3]]
    y = np.array([1, 0, 3, 3, 2, 1])
    eps = 0.1
    unnormalised = np.array([[0.4, 0.8, 0.6, 0.2], [0.0, 0.0, 0.0, 0.0], [0.1, 0.1, 0.1, 0.2]])
    return [
        (
            "random logits, 4 examples of 5 classes, targets drawn on the simplex (rows sum to 1)",
            rng.normal(size=(4, 5)),
            rng.dirichlet(np.ones(5), size=4),
            None,
        ),
        (
            "one-hot targets of 3 examples of 4 classes (the gradient is (P - Y)/N)",
            rng.normal(size=(3, 4)),
            one_hot,
            None,
        ),
        (
            f"label smoothing {eps} of 6 examples of 4 classes, Q = (1 - eps) Y + eps/K "
            "(oracle: torch's label_smoothing)",
            rng.normal(size=(6, 4)),
            (1 - eps) * np.eye(4)[y] + eps / 4,
            eps,
        ),
        (
            "targets whose rows do not sum to 1 (sums 2, 0 and 0.5): weights, not probabilities",
            rng.normal(size=(3, 4)),
            unnormalised,
            None,
        ),
        ("a batch of one example", rng.normal(size=(1, 3)), np.array([[0.2, 0.5, 0.3]]), None),
        (
            "one class (the log-softmax is 0, so the gradient is 0 whatever Q is)",
            rng.normal(size=(2, 1)),
            np.array([[1.0], [0.3]]),
            None,
        ),
        (
            "large logits (exp overflows without the max shift)",
            np.array([[1000.0, 1001.0, 999.0], [-1000.0, 0.0, 1000.0]]),
            np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]]),
            None,
        ),
    ]


def check_soft_cross_entropy_grad(impl: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(Z, Q)``, the gradient of the mean cross-entropy against soft targets.

    For logits :math:`Z` of shape (N, K) and non-negative targets :math:`Q` of the same
    shape, the loss is

    .. math::

        \ell(Z) = -\frac1N \sum_{m=1}^N \sum_{k=1}^K Q_{mk} \log \operatorname{softmax}(Z_m)_k,

    ``torch.nn.functional.cross_entropy(Z, Q)`` with class probabilities as targets (torch
    asks for rows summing to 1 but does not check, and computes this for any Q >= 0), and
    its gradient is
    :math:`\partial\ell/\partial Z_m = \big((\mathbf 1^\top Q_m)\, P_m - Q_m\big)/N`
    with :math:`P_m = \operatorname{softmax}(Z_m)`. The oracle is torch autograd in
    float64; for the label-smoothing case it is ``cross_entropy(Z, y, label_smoothing=0.1)``
    on the class indices, independent of the ``Q`` handed to ``impl``. Cases: targets on the
    simplex, one-hot targets, label smoothing, rows that do not sum to 1 (where
    :math:`(P - Q)/N` is wrong), one example, one class and logits near :math:`\pm 1000`.

    Parameters
    ----------
    impl : callable
        The student's gradient: float64 arrays ``Z`` and ``Q`` of shape (N, K) to the
        float64 array :math:`\partial\ell/\partial Z` of shape (N, K).

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose gradient is wrong, naming the case, ``Z`` and ``Q``, the
        expected and the returned arrays and the largest error.

    Examples
    --------
    >>> import numpy as np
    >>> from derived.softmax import softmax
    >>> def soft_cross_entropy_grad(Z, Q):
    ...     return (Q.sum(axis=1, keepdims=True) * softmax(Z) - Q) / Z.shape[0]
    >>> check_soft_cross_entropy_grad(soft_cross_entropy_grad)
    check_soft_cross_entropy_grad passed all 7 cases: random logits, 4 examples of 5 ...
    """
    c = Checker("check_soft_cross_entropy_grad", impl, "soft_cross_entropy_grad")
    t = torch()
    for label, Z, Q, smoothing in _soft_targets_cases():
        c.case(label, Z=Z, Q=Q)
        got = c.call(Z, Q)
        zt = t.tensor(Z, dtype=t.float64, requires_grad=True)
        if smoothing is None:
            loss = t.nn.functional.cross_entropy(zt, t.tensor(Q, dtype=t.float64))
        else:
            y = t.tensor(np.argmax(Q, axis=1))
            loss = t.nn.functional.cross_entropy(zt, y, label_smoothing=smoothing)
        loss.backward()
        c.close(got, zt.grad.numpy(), what="gradient dl/dZ", rtol=1e-8, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- backward rules

# The operations whose rules a student writes, by the keys the check looks up.
_RULES = ("add", "sub", "mul", "div", "pow", "exp", "log", "tanh", "sigmoid", "relu")


_FORWARD: dict[str, Callable[..., float]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, p: a**p,
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "sigmoid": sigmoid_float,
    "relu": lambda a: max(a, 0.0),
}


class _Node:
    """A scalar of the check's own reverse-mode engine: the student supplies its rules.

    Operators and method names match those of derived.autograd.Value and of torch
    tensors, so that one expression builds the graph on all three.
    """

    __slots__ = ("const", "data", "grad", "op", "parents")

    def __init__(
        self, data: float, op: str = "", parents: tuple[_Node, ...] = (), const: float = 0.0
    ) -> None:
        self.data, self.op, self.parents, self.const = data, op, parents, const
        self.grad = 0.0

    @staticmethod
    def _lift(other: _Node | float) -> _Node:
        return other if isinstance(other, _Node) else _Node(float(other))

    def _apply(self, op: str, *others: _Node | float) -> _Node:
        parents = (self, *(self._lift(o) for o in others))
        return _Node(_FORWARD[op](*(p.data for p in parents)), op, parents)

    def __add__(self, other: _Node | float) -> _Node:
        return self._apply("add", other)

    def __radd__(self, other: float) -> _Node:
        return self._lift(other)._apply("add", self)

    def __sub__(self, other: _Node | float) -> _Node:
        return self._apply("sub", other)

    def __rsub__(self, other: float) -> _Node:
        return self._lift(other)._apply("sub", self)

    def __mul__(self, other: _Node | float) -> _Node:
        return self._apply("mul", other)

    def __rmul__(self, other: float) -> _Node:
        return self._lift(other)._apply("mul", self)

    def __truediv__(self, other: _Node | float) -> _Node:
        return self._apply("div", other)

    def __rtruediv__(self, other: float) -> _Node:
        return self._lift(other)._apply("div", self)

    def __pow__(self, p: float) -> _Node:
        return _Node(self.data**p, "pow", (self,), float(p))

    def exp(self) -> _Node:
        return self._apply("exp")

    def log(self) -> _Node:
        return self._apply("log")

    def tanh(self) -> _Node:
        return self._apply("tanh")

    def sigmoid(self) -> _Node:
        return self._apply("sigmoid")

    def relu(self) -> _Node:
        return self._apply("relu")


def _postorder(output: Any) -> list[Any]:
    """Every node ``output`` depends on, each after its parents (explicit stack, no recursion)."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(output, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


Graph = Callable[..., Any]


def _tanh_chain(x: Any, w: Any) -> Any:
    for _ in range(40):
        x = (w * x).tanh()
    return x


def _rules_cases() -> list[tuple[str, Graph, dict[str, float]]]:
    rng = np.random.default_rng(20266)

    def draw(*names: str, low: float = -2.0, high: float = 2.0) -> dict[str, float]:
        return {n: float(v) for n, v in zip(names, rng.uniform(low, high, len(names)), strict=True)}

    return [
        (
            "random x, y used twice: f = x * x + x * y - y",
            lambda x, y: x * x + x * y - y,
            draw("x", "y"),
        ),
        (
            "random x, y, a diamond through a = x * y: f = tanh(a) / exp(a) + sigmoid(a)",
            lambda x, y: (lambda a: a.tanh() / a.exp() + a.sigmoid())(x * y),
            draw("x", "y", low=-1.0, high=1.0),
        ),
        (
            "random positive x, y and any z: f = log(x * y) * z - z / (x + y)",
            lambda x, y, z: (x * y).log() * z - z / (x + y),
            {**draw("x", "y", low=0.5, high=2.0), **draw("z")},
        ),
        (
            "random x > 0: f = x ** 2 + x ** -1 + x ** 0.5 - x ** -1.5 (negative and fractional "
            "exponents)",
            lambda x: x**2 + x**-1 + x**0.5 - x**-1.5,
            draw("x", low=0.5, high=2.0),
        ),
        (
            "a negative base with integer exponents: f = x ** 3 * y + x ** -2",
            lambda x, y: x**3 * y + x**-2,
            {"x": -1.3, "y": 0.7},
        ),
        (
            "a deep chain of 40 steps x <- tanh(w * x), w used 40 times",
            _tanh_chain,
            {"x": 0.8, "w": 1.1},
        ),
        (
            "relu at 0 (its derivative there is 0, as in torch.relu) and on each side: "
            "f = relu(x) * y + relu(z) * y + relu(-z) * z + relu(x - x) * z",
            lambda x, y, z: x.relu() * y + z.relu() * y + (0.0 - z).relu() * z + (x - x).relu() * z,
            {"x": 0.0, "y": 1.5, "z": 0.6},
        ),
        (
            "far in the tails: f = sigmoid(x) + tanh(x) * y at x = -800 (exp(-x) overflows)",
            lambda x, y: x.sigmoid() + x.tanh() * y,
            {"x": -800.0, "y": 2.0},
        ),
        (
            "a worked example of the chapter: f = ln x + e^y z at (x, y, z) = (1, 3, 2)",
            lambda x, y, z: x.log() + y.exp() * z,
            {"x": 1.0, "y": 3.0, "z": 2.0},
        ),
        (
            "the quotient of the chapter: f = a / b, a = x^2 + sigmoid(y), "
            "b = 3x + y - sigmoid(x), at (1, 0)",
            lambda x, y: (x**2 + y.sigmoid()) / (3.0 * x + y - x.sigmoid()),
            {"x": 1.0, "y": 0.0},
        ),
    ]


def _torch_gradient(graph: Graph, leaves: dict[str, float]) -> np.ndarray:
    """df/d(leaf) for every leaf, by torch autograd in float64 (the same expression)."""
    t = torch()
    xs = [t.tensor(v, dtype=t.float64, requires_grad=True) for v in leaves.values()]
    graph(*xs).backward()
    return np.array([x.grad.item() if x.grad is not None else 0.0 for x in xs])


def _torch_rule(op: str, inputs: tuple[float, ...], const: float, out_grad: float) -> np.ndarray:
    """Return the adjoints of an operation's inputs given the output's (torch, float64)."""
    t = torch()
    xs = [t.tensor(v, dtype=t.float64, requires_grad=True) for v in inputs]
    fns: dict[str, Callable[..., Any]] = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "pow": lambda a: a**const,
        "exp": t.exp,
        "log": t.log,
        "tanh": t.tanh,
        "sigmoid": t.sigmoid,
        "relu": t.relu,
    }
    fns[op](*xs).backward(t.tensor(out_grad, dtype=t.float64))
    return np.array([x.grad.item() for x in xs])


def _number(c: Checker, value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        c.fail_now(f"{c.func} should return {what}, a number; got {type(value).__name__} {value!r}")
    raise AssertionError("unreachable")  # pragma: no cover


def _rule_name(rules: Mapping[str, Any], op: str) -> str:
    name = getattr(rules[op], "__name__", "")
    return name if name.isidentifier() else f"the rule for {op}"


def check_backward_rules(rules: Mapping[str, Callable[..., Any]]) -> CheckResult:
    r"""Check the local backward rules of a scalar engine, in small graphs, against torch.

    Each rule maps an operation's inputs, its output and the output's adjoint
    :math:`\bar v` to the inputs' shares of the adjoint, :math:`\bar v\,\partial v /
    \partial u` for each input :math:`u` (the local rules of :class:`derived.autograd.Value`,
    times :math:`\bar v`). The check runs its own reverse-mode engine (a depth-first
    topological order, :math:`\bar f = 1`, and ``+=`` over every use of a node) with these
    rules on small graphs, and compares the gradient of every input with torch autograd of
    the same expression in float64. Every call of a rule is also compared with torch's
    adjoints of that one operation, so that a failure names the rule, its arguments and the
    graph. Cases: a node used twice, a diamond, logarithm and division, powers with
    negative and fractional exponents, a negative base, a chain of 40 tanh steps, ReLU at
    0 (slope 0, as ``torch.relu``), sigmoid and tanh at -800, and the chapter's graphs
    :math:`\ln x + e^y z` and its quotient of sigmoids.

    Parameters
    ----------
    rules : mapping of str to callable
        One rule per operation, under the keys ``"add"``, ``"sub"``, ``"mul"``, ``"div"``
        (each ``rule(a, b, out, out_grad) -> (da, db)``, a tuple, list or array of two
        numbers), ``"pow"`` (``rule(x, p, out,
        out_grad) -> dx`` for :math:`x^p` with a constant ``p``), ``"exp"``, ``"log"``,
        ``"tanh"``, ``"sigmoid"`` and ``"relu"`` (each ``rule(x, out, out_grad) -> dx``).
        All arguments are floats; ``out`` is the operation's result and ``out_grad`` the
        adjoint of that result.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        If a rule is missing, or at the first case where a rule returns a wrong adjoint
        (naming the rule, its arguments and the graph) or an input's gradient is wrong.

    Examples
    --------
    >>> from derived.autograd import Value
    >>> def from_value(op):  # the package's cached local derivatives, times out_grad
    ...     def rule(*args):
    ...         *inputs, out, out_grad = args
    ...         grads = [d * out_grad for d in op(*map(Value, inputs)).local_grads]
    ...         return grads[0] if len(grads) == 1 else tuple(grads)
    ...     return rule
    >>> ops = {"add": Value.__add__, "sub": Value.__sub__, "mul": Value.__mul__,
    ...        "div": Value.__truediv__, "pow": lambda x, p: x**p.data, "exp": Value.exp,
    ...        "log": Value.log, "tanh": Value.tanh, "sigmoid": Value.sigmoid,
    ...        "relu": Value.relu}
    >>> check_backward_rules({name: from_value(op) for name, op in ops.items()})
    check_backward_rules passed all 10 cases: random x, y used twice: ...
    """
    c = Checker(
        "check_backward_rules",
        lambda op, *args: rules[op](*args),
        "your rule",
        student=tuple(rules.values()) if isinstance(rules, Mapping) else (rules,),
    )
    if not isinstance(rules, Mapping):
        c.fail_now(
            "check_backward_rules needs a dict of rules, "
            f"{{'add': add_backward, 'mul': mul_backward, ...}}; got {type(rules).__name__}"
        )
    missing = [op for op in _RULES if not callable(rules.get(op))]
    c.require(
        not missing,
        f"check_backward_rules needs a rule (a function) for each of {', '.join(_RULES)}; "
        f"missing: {', '.join(missing)}",
    )
    for label, graph, leaves in _rules_cases():
        c.case(label, **leaves)
        inputs = [_Node(v) for v in leaves.values()]
        out = graph(*inputs)
        order = _postorder(out)
        out.grad = 1.0
        for k, node in enumerate(reversed(order), start=1):
            if not node.parents:
                continue
            args = tuple(p.data for p in node.parents)
            if node.op == "pow":
                args = (*args, node.const)
            c.func = _rule_name(rules, node.op)
            got = c.call(node.op, *args, node.data, node.grad)
            names = ("da", "db") if len(node.parents) == 2 else ("dx",)
            if len(names) == 2 and isinstance(got, np.ndarray) and got.shape == (2,):
                got = tuple(got)  # np.array([da, db]) is a pair too
            got = c.outputs(got, names, "adjoints") if len(names) == 2 else (got,)
            shares = [_number(c, g, n) for g, n in zip(got, names, strict=True)]
            arg_names = ("a", "b") if len(names) == 2 else ("x", "p")[: len(args)]
            where = ", ".join(f"{n}={v:.6g}" for n, v in zip(arg_names, args, strict=True))
            expected = _torch_rule(node.op, args[: len(node.parents)], node.const, node.grad)
            c.close(
                shares if len(shares) == 2 else shares[0],
                expected if len(shares) == 2 else expected[0],
                what=(
                    f"result of {c.func}({where}, out={node.data:.6g}, out_grad="
                    f"{node.grad:.6g}) (node {k} of {len(order)}, counted from the output)"
                ),
                rtol=1e-9,
                atol=1e-12,
            )
            for parent, share in zip(node.parents, shares, strict=True):
                parent.grad += share
        c.close(
            [x.grad for x in inputs],
            _torch_gradient(graph, leaves),
            what=f"gradient (df/d{', df/d'.join(leaves)})",
            rtol=1e-9,
            atol=1e-12,
        )
    return c.result()


# --------------------------------------------------------------------------- backward pass


def _value_backward_cases() -> list[tuple[str, Graph, dict[str, float], int]]:
    rng = np.random.default_rng(20267)
    x, y = (float(v) for v in rng.uniform(-1.5, 1.5, 2))
    a, b = (float(v) for v in rng.uniform(-1.0, 1.0, 2))
    return [
        (
            "random x, y, x used three times: f = x * x * y + tanh(x * y)",
            lambda x, y: x * x * y + (x * y).tanh(),
            {"x": x, "y": y},
            1,
        ),
        (
            "random x, y, a diamond through a = x * y: f = exp(a) * sigmoid(a) - a",
            lambda x, y: (lambda a: a.exp() * a.sigmoid() - a)(x * y),
            {"x": a, "y": b},
            1,
        ),
        (
            "g = a + exp(a ** 2), a = 3x, at x = 0.5: the adjoint of a is complete only after "
            "the long path through exp",
            lambda x: (lambda a: a + (a**2).exp())(3.0 * x),
            {"x": 0.5},
            1,
        ),
        ("the output is the input: f = x", lambda x: x, {"x": 1.7}, 1),
        (
            "backward called twice on the same graph f = x * y + x (each call starts from 0)",
            lambda x, y: x * y + x,
            {"x": 0.4, "y": -2.0},
            2,
        ),
        (
            "a chain of 2000 steps x <- tanh(w * x), deeper than the recursion limit of Python",
            lambda x, w: _deep_chain(x, w, 2000),
            {"x": 0.8, "w": 1.1},
            1,
        ),
    ]


def _deep_chain(x: Any, w: Any, depth: int) -> Any:
    for _ in range(depth):
        x = (w * x).tanh()
    return x


class ValueCopy:
    """A copy of one ``Value`` node for the student's backward pass.

    It has the node's data, parents, local derivatives, ``op``, ``label`` and ``grad``; its
    ``backward`` method refuses (raises ``RuntimeError``), so the pass must be written.
    """

    __slots__ = ("data", "grad", "label", "local_grads", "op", "parents")

    def __init__(self, value: Any, parents: tuple[ValueCopy, ...]) -> None:
        self.data, self.op, self.label = value.data, value.op, value.label
        self.local_grads = tuple(value.local_grads)
        self.parents = parents
        self.grad = 0.0

    def backward(self) -> None:
        raise RuntimeError(
            "inside check_value_backward a node has no backward method to call: "
            "write the pass yourself"
        )

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


def _copy_graph(output: Any, inputs: list[Any]) -> tuple[ValueCopy, list[ValueCopy]]:
    """Return the graph of ``output`` as :class:`ValueCopy` nodes (copied without recursion)."""
    copies: dict[int, ValueCopy] = {}
    stack = [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if id(node) in copies:
            continue
        if parents_done:
            copies[id(node)] = ValueCopy(node, tuple(copies[id(p)] for p in node.parents))
        else:
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in copies)
    return copies[id(output)], [copies[id(x)] for x in inputs]


def _adjoints(output: ValueCopy) -> tuple[list[ValueCopy], list[float]]:
    """Every node of the copied graph (parents first) and its adjoint, d output / d node."""
    order: list[ValueCopy] = _postorder(output)
    adjoint = {id(node): 0.0 for node in order}
    adjoint[id(output)] = 1.0
    for node in reversed(order):
        for parent, local in zip(node.parents, node.local_grads, strict=True):
            adjoint[id(parent)] += local * adjoint[id(node)]
    return order, [adjoint[id(node)] for node in order]


def _node_name(node: ValueCopy) -> str:
    """Name the node as a reader finds it in the graph: an input by name, else its operation."""
    if not node.parents:
        return f"the input {node.label!r}" if node.label else f"the constant {node.data:.6g}"
    label = f" labelled {node.label!r}" if node.label else ""
    return f"the output of the operation {node.op!r}{label}"


def _node_at(nodes: list[ValueCopy], index: tuple[int, ...]) -> str:
    """Name entry ``index`` of the node gradients as the failure message shows it."""
    return f"node {index[0] + 1} of {len(nodes)}, {_node_name(nodes[index[0]])}"


def check_value_backward(backward: Callable[[Any], Any]) -> CheckResult:
    r"""Check ``backward(output)``, the backward pass over a graph of ``Value`` nodes.

    The graphs are built with :class:`derived.autograd.Value`, whose forward pass caches
    on each node its ``parents`` and the ``local_grads`` :math:`\partial v / \partial u`,
    and handed to ``backward`` as copies with those attributes, ``data`` and ``grad``, but
    without the engine (the method ``backward`` fails the check, and
    :func:`derived.autograd.topological_order` refuses them): the pass must be the
    student's own. The package's own ``Value.backward`` is run on the ``Value`` graph.
    ``backward(output)`` must set ``.grad`` of every node the output depends on to
    :math:`\partial\,\text{output} / \partial\,\text{node}`: zero every adjoint, set
    :math:`\bar f = 1`, and visit the nodes in reverse topological order, adding
    :math:`\bar v\, \partial v / \partial u` to the adjoint of each parent :math:`u` with
    ``+=``. The oracle is torch autograd of the same expression in float64, compared on
    every input. Cases: a node used three times, a diamond, the chapter's
    :math:`a + e^{a^2}` (where a breadth-first walk passes on an incomplete adjoint), an
    output that is its own input, two calls on one graph (gradients start from zero on
    each call, unlike torch) and a chain of 2000 steps (a recursive walk exceeds Python's
    recursion limit).

    Parameters
    ----------
    backward : callable
        The student's backward pass: a :class:`derived.autograd.Value` ``output`` to
        ``None``, setting ``.grad`` on ``output`` and every node it depends on.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case where a node's gradient is wrong (or the function raises),
        naming the case, the graph, the inputs, the node furthest off (its position, and
        its operation or its name) and the expected and returned gradients.

    Examples
    --------
    >>> from derived.autograd import Value
    >>> check_value_backward(Value.backward)
    check_value_backward passed all 6 cases: random x, y, x used three times: ...
    """
    from derived.autograd import Value

    c = Checker("check_value_backward", backward, "backward")
    own = (getattr(backward, "__module__", None) or "").split(".")[0] == "derived"
    for label, graph, leaves, calls in _value_backward_cases():
        c.case(label, **leaves)
        values = [Value(v, n) for n, v in leaves.items()]
        out, inputs = graph(*values), list[Any](values)
        if not own:  # a student's pass gets copies, without the engine's backward
            out, inputs = _copy_graph(out, values)
        for _ in range(calls):
            c.call(out)
        if not own:
            nodes, expected = _adjoints(out)
            c.close(
                [node.grad for node in nodes],
                expected,
                what="gradient of every node (in the order parents first, the output last)",
                rtol=1e-9,
                atol=1e-12,
                name_index=partial(_node_at, nodes),
            )
        c.close(
            [x.grad for x in inputs],
            _torch_gradient(graph, leaves),
            what=f"gradient (df/d{', df/d'.join(leaves)})",
            rtol=1e-9,
            atol=1e-12,
        )
    return c.result()
