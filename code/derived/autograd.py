r"""A scalar reverse-mode automatic differentiation engine.

A :class:`Value` holds a number and remembers how it was made: its *parents* (the
values it was computed from) and the *local derivatives*
:math:`\partial\,\text{self} / \partial\,\text{parent}`, evaluated during the forward pass
and cached on the node. :meth:`Value.backward` then applies the chain rule in reverse
topological order: with :math:`\bar v = \partial f / \partial v` (the *adjoint* of
:math:`v`),

.. math::

    \bar f = 1, \qquad
    \bar u \mathrel{+}= \bar v \, \frac{\partial v}{\partial u}
    \quad \text{for every edge } u \to v,

visiting each node only after every node that uses it, so that its adjoint is complete
before it is passed on. The ``+=`` is the multivariate chain rule: a value used twice
receives a contribution along each use.

The topological order is computed with an explicit stack, not recursion, so a graph
of :math:`10^5` nodes (a long chain) is fine; Python's recursion limit (about 1000 frames)
would stop a recursive walk.

:func:`derived.plotting.draw_graph` draws such a graph. The book's chapter
*Computation graphs and backpropagation* builds this engine step by step;
``tests/test_autograd.py`` checks it against ``torch.autograd`` in float64.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "Dual",
    "Value",
    "central_difference",
    "central_difference_errors",
    "checkpointed_chain_grad",
    "count_saved_tensors",
    "forward_tangent",
    "tanh_chain",
    "topological_order",
]

Number = int | float


def _as_number(x: object, name: str) -> float:
    """Return ``x`` as a float if it is a finite real number (not a bool), else raise."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


class Value:
    r"""A scalar node of a computation graph, with its value and its gradient.

    Parameters
    ----------
    data : float
        The value (a finite real number).
    label : str, default ""
        A name to show in drawings (``"x"``, ``"h1"``).

    Attributes
    ----------
    data : float
        The value computed in the forward pass.
    grad : float
        :math:`\partial f / \partial` ``self`` after ``f.backward()``; 0 before.
    parents : tuple of Value
        The values this one was computed from (empty for an input).
    local_grads : tuple of float
        The local derivatives ``d self / d parent``, cached by the forward pass.
    op : str
        The operation that made this value (``""`` for an input).

    Examples
    --------
    >>> x, y = Value(2.0), Value(3.0)
    >>> f = x * y + x
    >>> f.backward()
    >>> f.data, x.grad, y.grad
    (8.0, 4.0, 2.0)
    """

    __slots__ = ("data", "grad", "label", "local_grads", "op", "parents")

    def __init__(
        self,
        data: float,
        label: str = "",
        *,
        _parents: tuple[Value, ...] = (),
        _local_grads: tuple[float, ...] = (),
        _op: str = "",
    ) -> None:
        self.data: float = _as_number(data, "data")
        self.grad: float = 0.0
        self.label: str = label
        self.parents: tuple[Value, ...] = _parents
        self.local_grads: tuple[float, ...] = _local_grads
        self.op: str = _op

    def __repr__(self) -> str:
        name = f"{self.label}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ------------------------------------------------------------------ building
    @staticmethod
    def _lift(other: Value | Number) -> Value:
        return other if isinstance(other, Value) else Value(_as_number(other, "operand"))

    def _child(
        self, data: float, parents: tuple[Value, ...], grads: tuple[float, ...], op: str
    ) -> Value:
        if not math.isfinite(data):
            raise ValueError(f"{op} of {[p.data for p in parents]} overflows float64")
        return Value(data, _parents=parents, _local_grads=grads, _op=op)

    def __add__(self, other: Value | Number) -> Value:
        o = self._lift(other)
        return self._child(self.data + o.data, (self, o), (1.0, 1.0), "+")

    def __radd__(self, other: Number) -> Value:
        return self._lift(other) + self

    def __neg__(self) -> Value:
        return self._child(-self.data, (self,), (-1.0,), "neg")

    def __sub__(self, other: Value | Number) -> Value:
        o = self._lift(other)
        return self._child(self.data - o.data, (self, o), (1.0, -1.0), "-")

    def __rsub__(self, other: Number) -> Value:
        return self._lift(other) - self

    def __mul__(self, other: Value | Number) -> Value:
        o = self._lift(other)
        # d(ab)/da = b and d(ab)/db = a: the forward pass caches both factors
        return self._child(self.data * o.data, (self, o), (o.data, self.data), "*")

    def __rmul__(self, other: Number) -> Value:
        return self._lift(other) * self

    def __truediv__(self, other: Value | Number) -> Value:
        o = self._lift(other)
        if o.data == 0.0:
            raise ValueError(f"division by zero: {self.data!r} / 0")
        q = self.data / o.data
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -q/b
        return self._child(q, (self, o), (1.0 / o.data, -q / o.data), "/")

    def __rtruediv__(self, other: Number) -> Value:
        return self._lift(other) / self

    def __pow__(self, other: Value | Number) -> Value:
        a = self.data
        if isinstance(other, Value):
            if a <= 0.0:
                raise ValueError(f"a ** b with a Value exponent needs a base > 0, got {a!r}")
            try:
                p = a**other.data
            except OverflowError:
                raise ValueError(f"{a!r} ** {other.data!r} overflows float64") from None
            return self._child(p, (self, other), (other.data * p / a, p * math.log(a)), "**")
        b = _as_number(other, "exponent")
        if a == 0.0 and b < 0:
            raise ValueError(f"division by zero: 0 ** {b!r}")
        if a < 0.0 and not b.is_integer():
            raise ValueError(f"a negative base needs an integer exponent, got {a!r} ** {b!r}")
        try:
            p = a**b
            local = b * a ** (b - 1) if b != 0 else 0.0
        except OverflowError:
            raise ValueError(f"{a!r} ** {b!r} overflows float64") from None
        except ZeroDivisionError:  # 0 ** b with 0 < b < 1: the slope is infinite
            raise ValueError(f"the derivative of x ** {b!r} at x = 0 is infinite") from None
        return self._child(p, (self,), (local,), f"**{b:g}")

    def __rpow__(self, other: Number) -> Value:
        return self._lift(other) ** self

    # ------------------------------------------------------------------ functions
    def exp(self) -> Value:
        """Return :math:`e^x`, with local derivative :math:`e^x` (the output itself)."""
        if self.data > 709.78:
            raise ValueError(f"exp({self.data!r}) overflows float64")
        e = math.exp(self.data)
        return self._child(e, (self,), (e,), "exp")

    def log(self) -> Value:
        r"""Return :math:`\ln x` for :math:`x > 0`, with local derivative :math:`1/x`."""
        if self.data <= 0.0:
            raise ValueError(f"log needs a positive number, got {self.data!r}")
        return self._child(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self) -> Value:
        r"""Return :math:`\tanh x`, with local derivative :math:`1 - \tanh^2 x`."""
        t = math.tanh(self.data)
        return self._child(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self) -> Value:
        r"""Return :math:`\sigma(x) = 1/(1 + e^{-x})`, local derivative :math:`\sigma(1-\sigma)`."""
        e = math.exp(-abs(self.data))  # <= 1: never overflows
        s = 1.0 / (1.0 + e) if self.data >= 0 else e / (1.0 + e)
        return self._child(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self) -> Value:
        r"""Return :math:`\max(x, 0)`, with local derivative :math:`\mathbb 1[x > 0]`."""
        pos = self.data > 0
        return self._child(self.data if pos else 0.0, (self,), (1.0 if pos else 0.0,), "relu")

    # ------------------------------------------------------------------ backward
    def backward(self) -> None:
        r"""Set ``.grad`` of this value and of every value it depends on.

        After the call, ``v.grad`` is :math:`\partial\,\text{self} / \partial v` for every
        ancestor ``v`` (and ``self.grad == 1``). Gradients are recomputed from zero on every
        call (they do not accumulate across calls as in ``torch``); to differentiate a
        sum of losses, call ``backward`` on the sum.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):  # self first; every user of a node before the node
            for parent, local in zip(node.parents, node.local_grads, strict=True):
                parent.grad += local * node.grad


def topological_order(output: Value) -> list[Value]:
    """Return every value ``output`` depends on, each after all of its parents.

    Depth-first search with an explicit stack (no recursion, so any depth works). A node
    is appended once all of its parents have been appended; ``output`` comes last.

    Parameters
    ----------
    output : Value
        The root of the graph.

    Returns
    -------
    list of Value
        Each value exactly once, inputs first, ``output`` last.

    Examples
    --------
    >>> x = Value(1.0, "x")
    >>> [v.label or v.op for v in topological_order((x * x).exp())]
    ['x', '*', 'exp']
    """
    if not isinstance(output, Value):
        raise TypeError(f"output must be a Value, got {type(output).__name__}")
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))  # revisit after the parents below are finished
        stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


def forward_tangent(
    output: Value, tangents: dict[int, float], *, madds: list[int] | None = None
) -> float:
    r"""Forward mode on a recorded graph: the directional derivative of ``output``.

    With a tangent :math:`\dot x_i` for each input (``tangents[id(x_i)]``; inputs not
    listed get 0), visit the nodes in topological order and set
    :math:`\dot v_k = \sum_j (\partial g_k / \partial v_j)\, \dot v_j` over the parents
    :math:`v_j` of :math:`v_k`, using the local derivatives cached by the forward pass. One
    call is one forward sweep, one multiply-add per edge; it returns
    :math:`\dot f = \sum_i (\partial f / \partial x_i)\, \dot x_i`. A node without
    parents that is not listed (a constant) has tangent 0.

    Parameters
    ----------
    output : Value
        The root of the graph.
    tangents : dict of int to float
        ``id(x) -> dx`` for the inputs that move.
    madds : list of int, optional
        A counter: if given, ``madds[0]`` is increased by the number of multiply-adds the
        sweep performs (one per edge of the graph).

    Returns
    -------
    float
        The derivative of ``output`` along the given tangent.

    Examples
    --------
    >>> x, y = Value(2.0), Value(3.0)
    >>> f = x * y + x
    >>> forward_tangent(f, {id(x): 1.0}), forward_tangent(f, {id(y): 1.0})
    (4.0, 2.0)
    """
    dot: dict[int, float] = {}
    for node in topological_order(output):
        if node.parents:
            dot[id(node)] = sum(
                local * dot[id(p)] for p, local in zip(node.parents, node.local_grads, strict=True)
            )
            if madds is not None:
                madds[0] += len(node.parents)
        else:
            dot[id(node)] = float(tangents.get(id(node), 0.0))
    return dot[id(output)]


def central_difference(
    f: Callable[[float], float], x: float, h: float, *, exact_step: bool = True
) -> float:
    r"""Return the central difference :math:`(f(x + h) - f(x - h)) / (2h)`.

    With ``exact_step`` the step is first replaced by :math:`(x + h) - x`, the distance from
    ``x`` to the float nearest ``x + h``, so that the rounding of ``x + h`` does not enter the
    quotient. When :math:`x > 0` and :math:`0 < h \le x`, that subtraction is exact by
    Sterbenz's lemma and so is the later :math:`x - h`; for a negative ``x`` or a larger
    step they can round.

    Parameters
    ----------
    f : callable
        A real function of one real variable.
    x : float
        Where to differentiate.
    h : float
        The step, :math:`h > 0`.
    exact_step : bool, default True
        Whether to use the representable step :math:`(x + h) - x`.

    Returns
    -------
    float
        The estimate of :math:`f'(x)`, with error :math:`O(h^2)` plus rounding.

    Examples
    --------
    >>> round(central_difference(math.exp, 0.0, 1e-4), 8)
    1.0
    """
    x, h = _as_number(x, "x"), _as_number(h, "h")
    if h <= 0.0:
        raise ValueError(f"h must be positive, got {h!r}")
    if exact_step:
        h = (x + h) - x
        if h == 0.0:
            raise ValueError(f"h is below the spacing of floats at x = {x!r}")
    return (f(x + h) - f(x - h)) / (2 * h)


def central_difference_errors(
    f: Callable[[float], float],
    x: float,
    derivative: float,
    steps: Iterable[float],
    *,
    exact_step: bool = True,
) -> tuple[list[float], list[float]]:
    r"""Measure the error of :func:`central_difference` over a sweep of steps.

    Parameters
    ----------
    f : callable
        A real function of one real variable.
    x : float
        Where to differentiate.
    derivative : float
        The true :math:`f'(x)`.
    steps : iterable of float
        The steps :math:`h > 0` to try.
    exact_step : bool, default True
        Passed to :func:`central_difference`.

    Returns
    -------
    tuple of (list of float, list of float)
        The steps actually used (each :math:`(x + h) - x` if ``exact_step``) and the
        absolute errors :math:`\lvert D_h - f'(x) \rvert`.

    Examples
    --------
    >>> used, errors = central_difference_errors(math.exp, 0.0, 1.0, [0.1, 0.01])
    >>> [round(e / h**2, 3) for h, e in zip(used, errors)]  # h^2 f'''(0) / 6
    [0.167, 0.167]
    """
    x, derivative = _as_number(x, "x"), _as_number(derivative, "derivative")
    used: list[float] = []
    errors: list[float] = []
    for h in steps:
        d = central_difference(f, x, h, exact_step=exact_step)
        used.append((x + h) - x if exact_step else float(h))
        errors.append(abs(d - derivative))
    if not used:
        raise ValueError("steps must not be empty")
    return used, errors


T = TypeVar("T")


def tanh_chain(x: T, w: Any, depth: int) -> T:
    r"""Apply :math:`x \leftarrow \tanh(w x)` ``depth`` times.

    Works on anything with ``*`` and a ``.tanh()`` method: :class:`Value`, :class:`Dual`
    or a ``torch.Tensor``.

    Parameters
    ----------
    x : Value, Dual or torch.Tensor
        The start :math:`x_0` of the chain.
    w : float or the type of ``x``
        The weight :math:`w`.
    depth : int
        The number of steps (0 returns ``x``).

    Returns
    -------
    the type of ``x``
        :math:`x_{\text{depth}}`.

    Examples
    --------
    >>> round(tanh_chain(Value(0.3), 1.1, 2).data, 6)
    0.336706
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    for _ in range(depth):
        x = (w * x).tanh()
    return x


def checkpointed_chain_grad(x0: float, w: float, depth: int, k: int) -> tuple[float, int, int]:
    r"""Return :math:`\partial x_D / \partial x_0` of the tanh chain, by checkpointing.

    The forward pass :math:`x_{t+1} = \tanh(w x_t)` runs on plain floats and keeps only
    :math:`x_0, x_k, x_{2k}, \dots`. The backward pass takes the segments from the last to
    the first, rebuilds the graph of one segment from its checkpoint, differentiates it
    with :meth:`Value.backward` and multiplies the segment derivatives (the chain rule).

    Parameters
    ----------
    x0, w : float
        The start and the weight of the chain.
    depth : int
        The number :math:`D \ge 1` of tanh steps.
    k : int
        The segment length, :math:`1 \le k`.

    Returns
    -------
    tuple of (float, int, int)
        The derivative, the number of checkpoints kept, and the number of nodes of the
        largest segment graph held at once.

    Examples
    --------
    >>> x = Value(0.3)
    >>> full = tanh_chain(x, 1.1, 10)
    >>> full.backward()
    >>> grad, n_kept, largest = checkpointed_chain_grad(0.3, 1.1, 10, 3)
    >>> math.isclose(grad, x.grad, rel_tol=1e-12), n_kept, largest
    (True, 4, 10)
    """
    for name, n in (("depth", depth), ("k", k)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    x0, w = _as_number(x0, "x0"), _as_number(w, "w")
    checkpoints, v = [x0], x0
    for t in range(1, depth):  # forward pass, keeping x_t for t = k, 2k, ... < depth
        v = math.tanh(w * v)
        if t % k == 0:
            checkpoints.append(v)
    grad, largest = 1.0, 0
    for c in reversed(range(len(checkpoints))):  # the segments, last first
        start = Value(checkpoints[c])
        segment = tanh_chain(start, w, min(k, depth - c * k))
        segment.backward()
        grad *= start.grad
        largest = max(largest, len(topological_order(segment)))
    return grad, len(checkpoints), largest


class Dual:
    r"""A dual number :math:`a + \dot a\,\epsilon` with :math:`\epsilon^2 = 0`: forward mode.

    Each operation maps (value, tangent) of its operands to (value, tangent) of its
    result, :math:`g(a + \dot a \epsilon) = g(a) + g'(a)\,\dot a\,\epsilon`, so evaluating a
    function on ``Dual(x, dx)`` carries its directional derivative along ``dx``. Nothing
    is recorded: memory is that of the evaluation itself.

    Examples
    --------
    >>> x = Dual(2.0, 1.0)
    >>> f = x * x + 3 * x
    >>> f.a, f.da
    (10.0, 7.0)
    """

    __slots__ = ("a", "da")

    def __init__(self, a: float, da: float = 0.0) -> None:
        self.a: float = _as_number(a, "a")
        self.da: float = _as_number(da, "da")

    def __repr__(self) -> str:
        return f"Dual({self.a!r}, {self.da!r})"

    @staticmethod
    def _lift(other: Dual | Number) -> Dual:
        return other if isinstance(other, Dual) else Dual(_as_number(other, "operand"))

    def __add__(self, other: Dual | Number) -> Dual:
        o = self._lift(other)
        return Dual(self.a + o.a, self.da + o.da)

    def __radd__(self, other: Number) -> Dual:
        return self + other

    def __mul__(self, other: Dual | Number) -> Dual:
        o = self._lift(other)
        return Dual(self.a * o.a, self.a * o.da + self.da * o.a)  # the product rule

    def __rmul__(self, other: Number) -> Dual:
        return self * other

    def exp(self) -> Dual:
        r"""Return :math:`e^{a} + e^{a}\,\dot a\,\epsilon`."""
        e = math.exp(self.a)
        return Dual(e, e * self.da)

    def log(self) -> Dual:
        r"""Return :math:`\ln a + (\dot a / a)\,\epsilon` for :math:`a > 0`."""
        if self.a <= 0.0:
            raise ValueError(f"log needs a positive number, got {self.a!r}")
        return Dual(math.log(self.a), self.da / self.a)

    def tanh(self) -> Dual:
        r"""Return :math:`\tanh a + (1 - \tanh^2 a)\,\dot a\,\epsilon`."""
        t = math.tanh(self.a)
        return Dual(t, (1.0 - t * t) * self.da)


def count_saved_tensors(fn: Callable[[], T]) -> tuple[T, int]:
    """Run ``fn()`` and count the tensors ``torch.autograd`` saves for a backward pass.

    Every tensor that an operation stores for its backward rule passes through the pack
    hook of :func:`torch.autograd.graph.saved_tensors_hooks`; under ``torch.no_grad()``
    nothing is saved.

    Parameters
    ----------
    fn : callable
        A function of no arguments that runs torch operations (usually a closure).

    Returns
    -------
    tuple
        ``fn()``'s result and the number of saved tensors.

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor(2.0, requires_grad=True)
    >>> count_saved_tensors(lambda: (a * a).exp())[1]  # both factors, and exp's output
    3
    """
    import torch  # imported here: importing derived must stay cheap

    saved: list[object] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, len(saved)
