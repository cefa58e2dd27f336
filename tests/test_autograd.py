"""Tests of derived.autograd: seed numbers, torch.autograd on random graphs, deep graphs."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.autograd import (
    Dual,
    Value,
    central_difference,
    central_difference_errors,
    checkpointed_chain_grad,
    count_saved_tensors,
    forward_tangent,
    tanh_chain,
    topological_order,
)
from derived.check import check_value_backward

matplotlib.use("Agg")


def tt(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


# --------------------------------------------------------------------------- the seed examples


def f_ln_exp(x, y, z):
    return x.log() + y.exp() * z


def f_ratio(x, y):
    a = x**2 + y.sigmoid()
    b = 3 * x + y - x.sigmoid()
    return a / b


def test_ln_exp_example_at_1_3_2():
    x, y, z = Value(1.0), Value(3.0), Value(2.0)
    f = f_ln_exp(x, y, z)
    f.backward()
    e3 = math.exp(3.0)
    assert f.data == pytest.approx(2 * e3, rel=1e-15)
    assert round(f.data, 3) == 40.171
    assert x.grad == 1.0
    assert y.grad == pytest.approx(2 * e3, rel=1e-15)
    assert z.grad == pytest.approx(e3, rel=1e-15)
    assert round(z.grad, 4) == 20.0855


def test_ratio_example_at_1_0():
    x, y = Value(1.0), Value(0.0)
    f = f_ratio(x, y)
    f.backward()
    assert round(x.grad, 4) == 0.0646
    assert round(y.grad, 3) == -0.181
    s1 = 1 / (1 + math.exp(-1.0))
    a, b = 1.5, 3 - s1
    assert x.grad == pytest.approx((2 * b - (3 - s1 * (1 - s1)) * a) / b**2, rel=1e-14)
    assert y.grad == pytest.approx((0.25 * b - a) / b**2, rel=1e-14)


def test_value_backward_passes_its_check():
    # torch's gradients at the chapter's points, the relu kink and the sigmoid's tails
    # live in derived.check (check_value_backward, check_backward_rules)
    check_value_backward(Value.backward)


def test_sgd_step_on_w1_plus_w2_times_w3():
    w = [Value(1.0), Value(2.3), Value(5.7)]
    loss = (w[0] + w[1]) * w[2]
    loss.backward()
    assert loss.data == pytest.approx(18.81, rel=1e-15)
    assert [v.grad for v in w] == pytest.approx([5.7, 5.7, 3.3], rel=1e-15)
    new = [Value(v.data - 0.01 * v.grad) for v in w]
    assert [v.data for v in new] == pytest.approx([0.943, 2.243, 5.667], rel=1e-15)
    new_loss = (new[0] + new[1]) * new[2]
    assert round(new_loss.data, 3) == 18.055
    # the same step with torch.optim.SGD
    wt = [tt(1.0), tt(2.3), tt(5.7)]
    opt = torch.optim.SGD(wt, lr=0.01)
    ((wt[0] + wt[1]) * wt[2]).backward()
    opt.step()
    assert new_loss.data == pytest.approx(((wt[0] + wt[1]) * wt[2]).item(), rel=1e-15)


# --------------------------------------------------------------------------- random graphs

UNARY = ["exp_tanh", "log_sig", "tanh", "sigmoid", "relu", "neg", "square", "cube"]
BINARY = ["add", "sub", "mul", "div", "radd", "rmul", "rsub", "rdiv"]


OPS = {
    "exp_tanh": lambda a, b, c: a.tanh().exp(),
    "log_sig": lambda a, b, c: a.sigmoid().log(),
    "tanh": lambda a, b, c: a.tanh(),
    "sigmoid": lambda a, b, c: a.sigmoid(),
    "relu": lambda a, b, c: a.relu(),
    "neg": lambda a, b, c: -a,
    "square": lambda a, b, c: a**2,
    "cube": lambda a, b, c: a**3,
    "add": lambda a, b, c: a + b,
    "sub": lambda a, b, c: a - b,
    "mul": lambda a, b, c: a * b,
    "div": lambda a, b, c: a / (1.5 + b.tanh()),  # denominator in [0.5, 2.5]
    "radd": lambda a, b, c: c + a,
    "rmul": lambda a, b, c: c * a,
    "rsub": lambda a, b, c: c - a,
    "rdiv": lambda a, b, c: c / (2 + a.sigmoid()),
}


def run_program(program, inputs):
    """Evaluate a random program on Values or on torch tensors (same method names)."""
    nodes = list(inputs)
    for op, i, j, c in program:
        nodes.append(OPS[op](nodes[i % len(nodes)], nodes[j % len(nodes)], c))
    return nodes[-1] + 0.5 * nodes[len(nodes) // 2]  # uses at least two nodes


programs = st.lists(
    st.tuples(
        st.sampled_from(UNARY + BINARY),
        st.integers(0, 50),
        st.integers(0, 50),
        st.floats(-2, 2),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(program=programs, xs=st.lists(st.floats(-2, 2), min_size=1, max_size=4))
def test_random_graphs_match_torch(program, xs):
    vals = [Value(x) for x in xs]
    out = run_program(program, vals)
    out.backward()
    ts = [tt(x) for x in xs]
    out_t = run_program(program, ts)
    out_t.backward()
    assert out.data == pytest.approx(out_t.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(vals, ts, strict=True):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, rel=1e-10, abs=1e-12)
        # forward mode, one sweep per input, gives the same partial derivative
        assert forward_tangent(out, {id(v): 1.0}) == pytest.approx(v.grad, rel=1e-10, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(a=st.floats(-3, 3), b=st.floats(0.1, 3), c=st.floats(-3, 3))
def test_operators_with_numbers_on_either_side(a, b, c):
    x = Value(a)
    assert (x + c).data == a + c
    assert (c + x).data == c + a
    assert (x - c).data == a - c
    assert (c - x).data == c - a
    assert (x * c).data == a * c
    assert (c * x).data == c * a
    assert (x / b).data == a / b
    assert (b**x).data == pytest.approx(b**a, rel=1e-15)
    y = Value(b)
    f = b**x + y**x + y**2.5 + c / y
    f.backward()
    xt, yt = tt(a), tt(b)
    (b**xt + yt**xt + yt**2.5 + c / yt).backward()
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12, abs=1e-12)
    assert y.grad == pytest.approx(yt.grad.item(), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- the graph walk


def test_reused_value_accumulates():
    x = Value(3.0)
    f = x * x + x  # x used three times
    f.backward()
    assert x.grad == 2 * 3.0 + 1


def test_backward_twice_gives_the_same_gradients():
    x, y = Value(0.3), Value(-1.2)
    f = (x * y).tanh() + x.exp()
    f.backward()
    first = (x.grad, y.grad)
    f.backward()
    assert (x.grad, y.grad) == first
    assert f.grad == 1.0


def test_deep_chain_of_twenty_thousand_nodes():
    x = Value(0.5)
    y = x
    for _ in range(10_000):
        y = y * 0.9999 + 0.0001  # four nodes per step: two constants, a product, a sum
    y.backward()
    assert len(topological_order(y)) == 4 * 10_000 + 1
    assert x.grad == pytest.approx(0.9999**10_000, rel=1e-10)


def test_wide_fan_out_and_deep_tanh_chain_match_torch():
    x, xt = Value(0.7), tt(0.7)
    y, yt = x, xt
    for _ in range(3000):
        y, yt = (y.tanh() + x) * 0.5, (yt.tanh() + xt) * 0.5
    y.backward()
    yt.backward()
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12)


def test_forward_tangent_is_a_directional_derivative():
    x, y = Value(0.4), Value(-0.9)
    f = (x * y).tanh() + x.exp() / (2 + y.sigmoid())
    f.backward()
    tangent = forward_tangent(f, {id(x): 0.3, id(y): -2.0})
    assert tangent == pytest.approx(0.3 * x.grad - 2.0 * y.grad, rel=1e-14)
    assert forward_tangent(f, {}) == 0.0


def test_forward_tangent_counts_one_multiply_add_per_edge():
    x, y = Value(0.4), Value(-0.9)
    f = (x * y).tanh() * x + 3 * y  # edges: 2 (x*y) + 1 (tanh) + 2 (*x) + 2 (3*y) + 2 (+)
    madds = [0]
    forward_tangent(f, {id(x): 1.0}, madds=madds)
    n_edges = sum(len(v.parents) for v in topological_order(f))
    assert madds == [n_edges] == [9]
    forward_tangent(f, {id(y): 1.0}, madds=madds)
    assert madds == [18]


@pytest.mark.parametrize(("depth", "k"), [(1, 1), (7, 1), (10, 3), (100, 10), (1000, 18), (5, 9)])
def test_checkpointed_chain_grad_matches_the_full_graph(depth, k):
    x = Value(0.3)
    full = tanh_chain(x, 1.1, depth)
    full.backward()
    grad, n_kept, largest = checkpointed_chain_grad(0.3, 1.1, depth, k)
    assert grad == pytest.approx(x.grad, rel=1e-12)
    assert n_kept == math.ceil(depth / k)
    assert largest == 3 * min(k, depth) + 1  # w, a product and a tanh per step, and the start


def test_checkpointed_chain_grad_rejects_bad_sizes():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        checkpointed_chain_grad(0.3, 1.1, 10, 0)
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        checkpointed_chain_grad(0.3, 1.1, 0, 3)
    with pytest.raises(ValueError, match="depth must be a non-negative integer"):
        tanh_chain(Value(0.3), 1.1, -1)


def test_dual_numbers_give_the_gradient_of_the_engine():
    point = (0.7, -0.4, 1.3)
    x, y, z = (Value(p) for p in point)
    f = (x.log() + y.exp() * z) * (x * y).tanh() + 2 * z
    f.backward()
    for i, v in enumerate((x, y, z)):
        a, b, c = (Dual(p, float(i == j)) for j, p in enumerate(point))
        d = (a.log() + b.exp() * c) * (a * b).tanh() + 2 * c
        assert d.a == pytest.approx(f.data, rel=1e-15)
        assert d.da == pytest.approx(v.grad, rel=1e-13)
    with pytest.raises(ValueError, match="log needs a positive number"):
        Dual(0.0, 1.0).log()


@pytest.mark.parametrize("depth", [1, 10, 100])
def test_count_saved_tensors_on_the_tanh_chain(depth):
    xt, wt = tt(0.3), tt(1.1)
    out, n_saved = count_saved_tensors(lambda: tanh_chain(xt, wt, depth))
    assert n_saved == 3 * depth  # both factors of each product, the output of each tanh
    out.backward()
    x = Value(0.3)
    w = Value(1.1)
    tanh_chain(x, w, depth).backward()
    assert w.grad == pytest.approx(wt.grad.item(), rel=1e-12)
    with torch.no_grad():
        assert count_saved_tensors(lambda: tanh_chain(xt, wt, depth))[1] == 0


def test_topological_order_puts_parents_first():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    h = x * y
    f = h + h.exp() + x
    order = topological_order(f)
    position = {id(v): k for k, v in enumerate(order)}
    assert len(order) == len({id(v) for v in order})
    for v in order:
        assert all(position[id(p)] < position[id(v)] for p in v.parents)
    assert order[-1] is f


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: Value(0.0).log(), ValueError, "log needs a positive number"),
        (lambda: Value(-2.0).log(), ValueError, "log needs a positive number"),
        (lambda: Value(1.0) / 0, ValueError, "division by zero"),
        (lambda: 1.0 / Value(0.0), ValueError, "division by zero"),
        (lambda: Value(0.0) ** -1, ValueError, "division by zero"),
        (lambda: Value(0.0) ** 0.5, ValueError, "infinite"),
        (lambda: Value(-2.0) ** 0.5, ValueError, "integer exponent"),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, "base > 0"),
        (lambda: Value(1000.0).exp(), ValueError, "overflows"),
        (lambda: Value(1e300) * 1e300, ValueError, "overflows"),
        (lambda: Value(10.0) ** 400, ValueError, "overflows"),
        (lambda: Value(float("nan")), ValueError, "data must be finite"),
        (lambda: Value("3"), TypeError, "data must be a real number"),
        (lambda: Value(True), TypeError, "data must be a real number"),
        (lambda: Value(1.0) + "a", TypeError, "operand must be a real number"),
        (lambda: topological_order(3.0), TypeError, "output must be a Value"),
    ],
)
def test_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_numpy_scalars_are_numbers():
    v = Value(np.float64(2.0)) * np.int64(3)
    assert v.data == 6.0
    assert type(v.data) is float


# --------------------------------------------------------------------------- drawing


def test_central_difference_is_second_order_with_the_exact_constant():
    # f = sin: f'''(x) = -cos(x), so D_h - f'(x) = -h^2 cos(x) / 6 + O(h^4)
    x = 0.7
    used, errors = central_difference_errors(math.sin, x, math.cos(x), [1e-2, 1e-3])
    for h, e in zip(used, errors, strict=True):
        assert math.isclose(e, h**2 * math.cos(x) / 6, rel_tol=1e-4)
    assert math.isclose(central_difference(math.sin, x, 1e-5), math.cos(x), rel_tol=1e-9)


def test_central_difference_exact_step_removes_the_rounding_of_x_plus_h():
    h = 1e-9  # 3 + h is not a float: the naive quotient divides by the wrong step
    used, _ = central_difference_errors(math.exp, 3.0, math.exp(3.0), [h])
    assert used[0] == (3.0 + h) - 3.0 != h
    exact = central_difference(lambda t: 5 * t, 3.0, h)
    naive = central_difference(lambda t: 5 * t, 3.0, h, exact_step=False)
    assert exact == 5.0 != naive  # a linear function: exact up to rounding of f only


@pytest.mark.parametrize(
    ("x", "h", "match"),
    [(1.0, 0.0, "h must be positive"), (1.0, 1e-20, "spacing"), (math.nan, 0.1, "x must be")],
)
def test_central_difference_rejects_bad_steps(x, h, match):
    with pytest.raises(ValueError, match=match):
        central_difference(math.exp, x, h)


def test_central_difference_errors_rejects_an_empty_sweep():
    with pytest.raises(ValueError, match="must not be empty"):
        central_difference_errors(math.exp, 1.0, math.e, [])


def test_the_exact_step_is_exact_for_positive_x_and_steps_up_to_x():
    """The docstring's claim: for 0 < h <= x, (x + h) - x and x - h' are exact (Sterbenz)."""
    from fractions import Fraction

    rng = np.random.default_rng(0)
    x = np.exp(rng.uniform(-20, 20, size=5000))
    h = x * rng.uniform(0, 1, size=5000)
    for xi, hi in zip(x.tolist(), h.tolist(), strict=True):
        step = (xi + hi) - xi
        assert Fraction(xi + hi) - Fraction(xi) == Fraction(step)
        assert Fraction(xi) - Fraction(step) == Fraction(xi - step)
