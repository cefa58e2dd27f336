"""The checks of Part II pass the package's functions and catch planted errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from derived.autograd import Value
from derived.check import CheckFailure
from derived.check._part2 import (
    check_backward_rules,
    check_log_softmax,
    check_soft_cross_entropy_grad,
    check_softmax,
    check_softmax_jacobian,
    check_softmax_vjp,
    check_two_layer_backward,
    check_value_backward,
)
from derived.losses import cross_entropy_grad
from derived.mlp import MLP
from derived.softmax import log_softmax, softmax, softmax_jacobian, softmax_vjp


def _not_written(*args: Any) -> Any:
    raise NotImplementedError


def _mlp_backward(X, W1, b1, W2, b2, y):
    """The package's two-layer backward pass: derived.mlp.MLP with the cross-entropy's gradient."""
    net = MLP([W1.shape[1], W1.shape[0], W2.shape[0]], "relu", rng=np.random.default_rng(0))
    for p, value in zip(net.params, (W1, b1, W2, b2), strict=True):
        p[...] = value
    return tuple(net.backward(cross_entropy_grad(net.forward(X), y)))


def _soft_cross_entropy_grad(Z, Q):
    """The package's pieces: -Q/N into the log-softmax's product v - (1^T v) softmax(Z)."""
    v = -Q / Z.shape[0]
    return v - v.sum(axis=1, keepdims=True) * softmax(Z)


_VALUE_OPS = {
    "add": Value.__add__,
    "sub": Value.__sub__,
    "mul": Value.__mul__,
    "div": Value.__truediv__,
    "pow": lambda x, p: x**p.data,  # p is a constant: Value(p) only carries it here
    "exp": Value.exp,
    "log": Value.log,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
}


def _value_rule(op):
    """The rule derived.autograd.Value applies: its cached local derivatives times out_grad."""

    def rule(*args):
        *inputs, _out, out_grad = args
        grads = [d * out_grad for d in op(*map(Value, inputs)).local_grads]
        return grads[0] if len(grads) == 1 else tuple(grads)

    return rule


def _value_rules(**replaced):
    """The package's rules, with some replaced by planted wrong ones."""
    return {name: _value_rule(op) for name, op in _VALUE_OPS.items()} | replaced


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_softmax(softmax).cases) == 9
    assert len(check_log_softmax(log_softmax).cases) == 7
    assert len(check_softmax_vjp(softmax_vjp).cases) == 7
    assert len(check_softmax_jacobian(softmax_jacobian).cases) == 6
    assert len(check_two_layer_backward(_mlp_backward).cases) == 6
    assert len(check_soft_cross_entropy_grad(_soft_cross_entropy_grad).cases) == 7
    assert len(check_backward_rules(_value_rules()).cases) == 10
    assert len(check_value_backward(Value.backward).cases) == 6


@pytest.mark.parametrize(
    "check",
    [check_softmax, check_log_softmax, check_softmax_vjp, check_softmax_jacobian,
     check_two_layer_backward, check_value_backward, check_soft_cross_entropy_grad,
     lambda f: check_backward_rules({op: f for op in _VALUE_OPS})],
)  # fmt: skip
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- log-softmax


def _log_of_softmax(z):
    """log(softmax(z)): the softmax of the smallest score underflows to 0, its log to -inf."""
    with np.errstate(divide="ignore"):
        return np.log(softmax(z))


def _unshifted_log_softmax(z):
    """z - log(sum(exp(z))) without the max shift: exp(1000) overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _lse_over_everything(z):
    """The log-sum-exp over the whole batch, not row by row."""
    m = z.max()
    return z - (m + np.log(np.exp(z - m).sum()))


def _log_softmax_axis_1(z):
    """Right for one row and for a matrix, but a batch is taken to have two axes: axis 1."""
    axis = 1 if z.ndim > 1 else 0
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_log_of_softmax, "case 6, 'scores 1000 apart"),
        (_unshifted_log_softmax, "case 5, 'large scores"),
        (_lse_over_everything, "case 2, 'random scores, a batch"),
        (lambda z: z + np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True))
         - z.max(-1, keepdims=True), "case 1, 'random scores, one row"),  # sign of lse flipped
        (_log_softmax_axis_1, "case 7, 'random scores, a batch of shape \\(2, 3, 4\\)"),
    ],
    ids=["log-of-softmax", "no-max-shift", "batch-lse", "sign", "axis-1-for-a-batch"],
)  # fmt: skip
def test_log_softmax_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_log_softmax(wrong)


# --------------------------------------------------------------------------- VJP


def _vjp_without_inner_product(z, v):
    """s * v: drops the -s s^T part of the Jacobian."""
    return softmax(z) * v


def _vjp_inner_product_over_batch(z, v):
    """<s, v> summed over the whole batch instead of row by row."""
    s = softmax(z)
    return s * (v - np.sum(s * v))


def _vjp_unshifted(z, v):
    """The softmax computed without the max shift."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        s = e / e.sum(axis=-1, keepdims=True)
    return s * (v - np.sum(s * v, axis=-1, keepdims=True))


def _vjp_sign(z, v):
    s = softmax(z)
    return s * (np.sum(s * v, axis=-1, keepdims=True) - v)


def _vjp_full_jacobian(z, v):
    """v @ J with J = diag(s) - s s^T: right for a row, wrong in shape for a batch."""
    s = softmax(z)
    return v @ (np.diag(s) - np.outer(s, s)) if s.ndim == 1 else v @ (s.T @ s)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_vjp_without_inner_product, "case 1, 'random z and v, one row"),
        (_vjp_inner_product_over_batch, "case 2, 'random z and v, a batch"),
        (_vjp_unshifted, "case 7, 'large scores"),
        (_vjp_sign, "case 1, 'random z and v, one row"),
        (_vjp_full_jacobian, "case 2, 'random z and v, a batch"),
    ],
    ids=["no-inner-product", "batch-inner-product", "no-max-shift", "sign", "batch-jacobian"],
)
def test_softmax_vjp_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_softmax_vjp(wrong)


def test_softmax_vjp_catches_a_row_only_implementation():
    """A product written for one row fails the batch of one (the inner product is a scalar)."""

    def one_row(z, v):
        s = softmax(z)
        return s * (v - s.ravel() @ v.ravel())

    with pytest.raises(CheckFailure, match="case 2, 'random z and v, a batch"):
        check_softmax_vjp(one_row)


# --------------------------------------------------------------------------- Jacobian


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        # the errata's readings of diag(s) - s s^T (code/derived/errata.py, chapter 6)
        (lambda z: np.outer(softmax(z), 1 - softmax(z)), "case 1, 'random scores, 5 classes"),
        (lambda z: np.diag(softmax(z)) @ (np.eye(z.size) - np.diag(softmax(z))),
         "case 1, 'random scores, 5 classes"),
        (lambda z: softmax(z) * (np.eye(z.size) - softmax(z)), "case 1, 'random scores, 5"),
        (lambda z: np.outer(softmax(z), softmax(z)) - np.diag(softmax(z)), "case 1, 'random"),
        (lambda z: np.diag(softmax(z)) - np.outer(softmax(z), softmax(z))[::-1],
         "case 1, 'random scores, 5 classes"),  # an index reversed
    ],
    ids=["outer-1-s", "diag-product", "1d-broadcast", "sign", "rows-reversed"],
)  # fmt: skip
def test_softmax_jacobian_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_softmax_jacobian(wrong)


def test_softmax_jacobian_catches_a_missing_max_shift():
    def unshifted(z):
        with np.errstate(over="ignore", invalid="ignore"):
            s = np.exp(z) / np.exp(z).sum()
        return np.diag(s) - np.outer(s, s)

    with pytest.raises(CheckFailure, match="case 6, 'large scores"):
        check_softmax_jacobian(unshifted)


# --------------------------------------------------------------------------- two layers


def _backward(X, W1, b1, W2, b2, y, *, mean=True, sign=1.0, mask=np.greater, shift=True):
    S1 = X @ W1.T + b1
    A = np.maximum(S1, 0.0)
    Z = A @ W2.T + b2
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(Z - Z.max(axis=1, keepdims=True) if shift else Z)
        P = e / e.sum(axis=1, keepdims=True)
    Y = np.eye(W2.shape[0])[y]
    dZ = sign * (P - Y) / (X.shape[0] if mean else 1)
    dS1 = (dZ @ W2) * mask(S1, 0.0)
    return dS1.T @ X, dS1.sum(axis=0), dZ.T @ A, dZ.sum(axis=0)


def test_the_planted_backward_is_right_when_nothing_is_planted():
    check_two_layer_backward(_backward)


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"mean": False}, "case 1, 'a random batch"),  # the 1/N of the mean missing
        ({"sign": -1.0}, "case 1, 'a random batch"),  # Y - P instead of P - Y
        ({"mask": np.greater_equal}, "case 5, 'pre-activations exactly 0"),  # ReLU'(0) = 1
        ({"shift": False}, "case 6, 'large logits"),  # no max shift in the softmax
    ],
    ids=["no-1/N", "sign", "relu-prime-at-0", "no-max-shift"],
)
def test_two_layer_backward_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_two_layer_backward(lambda *a: _backward(*a, **kwargs))


def test_two_layer_backward_reports_an_output_error_on_db2():
    """The gradients are compared from the output back: a dZ bug names db2, not dW1."""
    with pytest.raises(CheckFailure, match="case 1, 'a random batch(.|\n)*the gradient db2"):
        check_two_layer_backward(lambda *a: _backward(*a, mean=False))


def test_two_layer_backward_catches_swapped_gradients_and_a_bad_return():
    def swapped(*a):
        dW1, db1, dW2, db2 = _backward(*a)
        return dW1, db1, dW2.T, db2  # dW2 transposed: the wrong shape

    with pytest.raises(CheckFailure, match="case 1, 'a random batch(.|\n)*dW2"):
        check_two_layer_backward(swapped)
    with pytest.raises(CheckFailure, match="should return four gradients"):
        check_two_layer_backward(lambda *a: _backward(*a)[:2])


# --------------------------------------------------------------------------- backward rules


def test_the_adapter_gives_the_package_rules():
    assert _value_rules()["mul"](2.0, 3.0, 6.0, 0.5) == (1.5, 1.0)
    assert _value_rules()["pow"](4.0, -0.5, 0.5, 2.0) == pytest.approx(-0.125)


def _seed_mul(a, b, out, out_grad):
    """The seeds' slip (errata dfdz-chain): b gets the adjoint of the other operand, not out's."""
    da = out_grad * b
    return da, da * a


@pytest.mark.parametrize(
    ("op", "wrong", "case"),
    [
        ("mul", lambda a, b, out, g: (g * a, g * b), "case 1, 'random x, y used twice"),
        ("mul", lambda a, b, out, g: (b, a), "case 2, 'random x, y, a diamond"),  # no out_grad
        ("mul", _seed_mul, "case 1, 'random x, y used twice"),
        ("add", lambda a, b, out, g: (g, 0.0), "case 1, 'random x, y used twice"),
        ("sub", lambda a, b, out, g: (g, g), "case 1, 'random x, y used twice"),
        ("div", lambda a, b, out, g: (g / b, g * a / b**2), "case 2, 'random x, y, a diamond"),
        ("div", lambda a, b, out, g: (g / b, -g / b**2), "case 2, 'random x, y, a diamond"),
        ("tanh", lambda x, out, g: g * (1 - x**2), "case 2, 'random x, y, a diamond"),
        ("tanh", lambda x, out, g: 1 - out**2, "case 2, 'random x, y, a diamond"),
        ("exp", lambda x, out, g: g * x, "case 2, 'random x, y, a diamond"),
        ("exp", lambda x, out, g: out, "case 2, 'random x, y, a diamond"),  # no out_grad
        ("sigmoid", lambda x, out, g: g * x * (1 - x), "case 2, 'random x, y, a diamond"),
        ("sigmoid", lambda x, out, g: g * math.exp(-x) / (1 + math.exp(-x)) ** 2,
         "case 8, 'far in the tails"),  # exp(800) overflows
        ("log", lambda x, out, g: g * out, "case 3, 'random positive x, y"),
        ("log", lambda x, out, g: -g / x, "case 3, 'random positive x, y"),
        ("pow", lambda x, p, out, g: g * x ** (p - 1), "case 4, 'random x > 0"),  # no factor p
        ("pow", lambda x, p, out, g: g * p * out, "case 4, 'random x > 0"),  # p x^p
        ("relu", lambda x, out, g: g * (x >= 0), "case 7, 'relu at 0"),  # slope 1 at 0
        ("relu", lambda x, out, g: g * out, "case 7, 'relu at 0"),  # relu(x) for its slope
    ],
    ids=["mul-swapped", "mul-no-out-grad", "mul-seeds-adjoint", "add-drops-b", "sub-sign",
         "div-sign", "div-no-a", "tanh-of-input", "tanh-no-out-grad", "exp-input",
         "exp-no-out-grad", "sigmoid-of-input", "sigmoid-overflow", "log-output", "log-sign",
         "pow-no-factor", "pow-no-decrement", "relu-slope-1-at-0", "relu-output"],
)  # fmt: skip
def test_backward_rules_catch(op, wrong, case):
    with pytest.raises(CheckFailure, match=case) as info:
        check_backward_rules(_value_rules(**{op: wrong}))
    assert "<lambda>" not in str(info.value)


def test_backward_rules_name_the_wrong_rule_and_its_arguments():
    def tanh_backward(x, out, out_grad):
        return out_grad * (1 - x**2)

    with pytest.raises(CheckFailure) as info:
        check_backward_rules(_value_rules(tanh=tanh_backward))
    message = str(info.value)
    assert "case 2, 'random x, y, a diamond" in message
    assert "the result of tanh_backward(x=" in message
    assert "out_grad=" in message


def test_backward_rules_need_every_rule_and_the_right_outputs():
    rules = _value_rules()
    del rules["relu"]
    with pytest.raises(CheckFailure, match="missing: relu"):
        check_backward_rules(rules)
    with pytest.raises(CheckFailure, match="needs a dict of rules"):
        check_backward_rules(_value_rule(Value.__mul__))  # type: ignore[arg-type]
    with pytest.raises(CheckFailure, match="should return two adjoints"):
        check_backward_rules(_value_rules(mul=lambda a, b, out, g: g * b))
    with pytest.raises(CheckFailure, match="should return dx, a number"):
        check_backward_rules(_value_rules(exp=lambda x, out, g: [g * out]))


def test_backward_rules_accept_a_pair_as_an_array():
    def mul_backward(a, b, out, out_grad):
        return np.array([out_grad * b, out_grad * a])

    assert len(check_backward_rules(_value_rules(mul=mul_backward)).cases) == 10


# --------------------------------------------------------------------------- backward pass


def _order(output):
    """Every node of the graph of ``output``, parents first (a student's own search)."""
    order, seen, stack = [], set(), [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


def _value_backward(output, *, accumulate=True, reset=True, seed=1.0, reverse=True):
    order = _order(output)
    if reset:
        for v in order:
            v.grad = 0.0
    output.grad = seed
    for v in reversed(order) if reverse else order:
        for parent, local in zip(v.parents, v.local_grads, strict=True):
            if accumulate:
                parent.grad += local * v.grad
            else:
                parent.grad = local * v.grad


def _backward_breadth_first(output):
    """The chapter's wrong order: nodes by their distance from the output."""
    for v in _order(output):
        v.grad = 0.0
    output.grad = 1.0
    queue, seen = [output], {id(output)}
    for v in queue:
        for parent, local in zip(v.parents, v.local_grads, strict=True):
            parent.grad += local * v.grad
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)


def _backward_recursive(output):
    """Right, but a recursive depth-first search: one Python frame per level."""
    order, seen = [], set()

    def visit(v):
        if id(v) not in seen:
            seen.add(id(v))
            for p in v.parents:
                visit(p)
            order.append(v)

    visit(output)
    for v in order:
        v.grad = 0.0
    output.grad = 1.0
    for v in reversed(order):
        for parent, local in zip(v.parents, v.local_grads, strict=True):
            parent.grad += local * v.grad


def test_the_planted_backward_pass_is_right_when_nothing_is_planted():
    check_value_backward(_value_backward)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda f: _value_backward(f, accumulate=False), "case 1, 'random x, y, x used three"),
        (lambda f: _value_backward(f, reset=False), "case 5, 'backward called twice"),
        (lambda f: _value_backward(f, seed=0.0), "case 1, 'random x, y, x used three times"),
        (lambda f: _value_backward(f, reverse=False), "case 1, 'random x, y, x used three times"),
        (_backward_breadth_first, "case 2, 'random x, y, a diamond"),  # a before exp(a)
        (_backward_recursive, "case 6, 'a chain of 2000 steps(.|\n)*RecursionError"),
        (lambda f: f.backward(), "case 1(.|\n)*no backward method to call"),
        (lambda f: Value.backward(f), "case 1(.|\n)*output must be a Value"),
    ],
    ids=["assign-not-accumulate", "no-reset", "no-seed", "parents-first", "breadth-first",
         "recursive", "calls-the-method", "calls-the-engine"],
)  # fmt: skip
def test_value_backward_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_value_backward(wrong)


def test_value_backward_catches_breadth_first_on_the_chapter_graph():
    """Right on the first two cases, breadth-first from then on: a + exp(a^2) still fails."""
    calls = []

    def late_breadth_first(output):
        calls.append(output)
        (_value_backward if len(calls) <= 2 else _backward_breadth_first)(output)

    with pytest.raises(CheckFailure, match="case 3, 'g = a \\+ exp"):
        check_value_backward(late_breadth_first)


def _min_shift_softmax(z):
    """Shifted by the minimum: every exponent is at least 0, so a spread of 1000 overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z - z.min(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


def _mean_shift_softmax(z):
    """Centred on the row's mean: scores 2000 apart still overflow exp."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z - z.mean(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


def _batch_max_softmax(z):
    """Shifted by the batch's maximum, not each row's: a row far below it underflows to 0/0."""
    with np.errstate(invalid="ignore"):
        e = np.exp(z - z.max())
        return e / e.sum(axis=-1, keepdims=True)


def _axis_1_softmax(z):
    """Right for one row and for a matrix, but a batch is taken to have two axes: axis 1."""
    axis = 1 if z.ndim > 1 else 0
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_min_shift_softmax, "case 7, 'scores 2000 apart"),
        (_mean_shift_softmax, "case 7, 'scores 2000 apart"),
        (_batch_max_softmax, "case 8, 'a batch whose rows lie 1000 apart"),
        (_axis_1_softmax, "case 9, 'random scores, a batch of shape \\(2, 3, 4\\)"),
    ],
    ids=["shift-by-min", "shift-by-mean", "shift-by-batch-max", "axis-1-for-a-batch"],
)
def test_softmax_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_softmax(wrong)


def test_a_stub_called_by_the_checked_function_is_named():
    """The function not yet written is named, also when the checked function calls it."""

    def shifted_exp(z):
        raise NotImplementedError()

    def softmax_with_helper(z):
        e = shifted_exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    with pytest.raises(CheckFailure, match="shifted_exp is not written yet"):
        check_softmax(softmax_with_helper)


def test_a_not_implemented_error_from_a_library_is_not_a_stub():
    """A library's NotImplementedError is the student's error with its message, not a stub."""
    import torch

    def through_an_empty_module(z):
        return torch.nn.Module()(torch.as_tensor(z)).numpy()

    with pytest.raises(CheckFailure) as info:
        check_softmax(through_an_empty_module)
    assert "not written yet" not in str(info.value)
    assert 'raised NotImplementedError: Module [Module] is missing the required "forward"' in str(
        info.value
    )


def _leaves_only_backward(output):
    """Right gradients, but kept in a dict: only the inputs' .grad are written."""
    order = _order(output)
    adjoint = {id(v): 0.0 for v in order}
    adjoint[id(output)] = 1.0
    for v in reversed(order):
        for parent, local in zip(v.parents, v.local_grads, strict=True):
            adjoint[id(parent)] += local * adjoint[id(v)]
    for v in order:
        if not v.parents:
            v.grad = adjoint[id(v)]


def test_value_backward_wants_every_nodes_grad():
    with pytest.raises(CheckFailure, match="case 1(.|\n)*gradient of every node"):
        check_value_backward(_leaves_only_backward)


def _one_node_off(output):
    """Right, except that the adjoint of every tanh node is doubled after the pass."""
    _value_backward(output)
    for v in _order(output):
        if v.op == "tanh":
            v.grad *= 2.0


def test_value_backward_names_the_worst_node():
    with pytest.raises(
        CheckFailure,
        match="case 1(.|\n)*the worst is node 4 of 7, the output of the operation 'tanh'",
    ) as info:
        check_value_backward(_one_node_off)
    assert "gradient of every node" in str(info.value)
    with pytest.raises(
        CheckFailure, match="the worst is node 5 of 7, the output of the operation '\\*'"
    ):
        check_value_backward(_leaves_only_backward)  # only the inputs' .grad written


# --------------------------------------------------------------------------- soft targets


def _soft_ce_one_hot_formula(Z, Q):
    """(P - Q)/N: right only when every row of Q sums to 1."""
    return (softmax(Z) - Q) / Z.shape[0]


def _soft_ce_total_weight(Z, Q):
    """The weight 1^T Q summed over the whole batch instead of per row."""
    return (Q.sum() * softmax(Z) - Q) / Z.shape[0]


def _soft_ce_unshifted(Z, Q):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(Z)
        P = e / e.sum(axis=1, keepdims=True)
    return (Q.sum(axis=1, keepdims=True) * P - Q) / Z.shape[0]


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_soft_ce_one_hot_formula, "case 4, 'targets whose rows do not sum to 1"),
        (_soft_ce_total_weight, "case 1, 'random logits, 4 examples"),
        (_soft_ce_unshifted, "case 7, 'large logits"),
        (lambda Z, Q: Q.sum(1, keepdims=True) * softmax(Z) - Q, "case 1, 'random logits"),  # no 1/N
        (lambda Z, Q: (Q - Q.sum(1, keepdims=True) * softmax(Z)) / len(Z), "case 1, 'random"),
        (lambda Z, Q: (Q.sum(1, keepdims=True) * softmax(Z) - Q) / Z.shape[1],  # 1/K, not 1/N
         "case 1, 'random logits, 4 examples of 5 classes"),
    ],
    ids=["p-minus-q", "batch-weight", "no-max-shift", "no-1/N", "sign", "1/K"],
)  # fmt: skip
def test_soft_cross_entropy_grad_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_soft_cross_entropy_grad(wrong)
