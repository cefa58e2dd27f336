"""Tests of derived.regions: exact piece counts against independent oracles.

Oracles: the network evaluated by torch in float64 (dense slopes on a grid, and the
slopes on either side of every claimed breakpoint), constructions whose counts are known
in closed form, and laws that hold for every network (rescaling and permuting hidden
units, the bound prod(W_d + 1)).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.check import check_count_pieces
from derived.regions import (
    best_fit,
    breakpoints,
    count_pieces,
    count_pieces_sampled,
    folded_network,
    network_output,
    pieces_bound,
    pieces_bound_loose,
    random_network,
    regions_by_crossings,
    sawtooth_network,
    zigzag_network,
)


def torch_output(weights, biases, x: np.ndarray) -> np.ndarray:
    """The network evaluated by torch in float64: the oracle for values."""
    h = torch.as_tensor(x, dtype=torch.float64)[:, None]
    layers = list(zip(weights, biases, strict=True))
    for W, b in layers[:-1]:
        h = torch.relu(torch.nn.functional.linear(h, torch.as_tensor(W), torch.as_tensor(b)))
    W, b = layers[-1]
    return torch.nn.functional.linear(h, torch.as_tensor(W), torch.as_tensor(b))[:, 0].numpy()


def dense_count(weights, biases, lo: float, hi: float, n: int = 200_001) -> int:
    """Count pieces on [lo, hi] from the slopes of torch's output on a uniform grid."""
    x = np.linspace(lo, hi, n)
    y = torch_output(weights, biases, x)
    slopes = np.diff(y) / np.diff(x)
    size = np.max(np.abs(slopes)) + 1.0
    change = np.abs(np.diff(slopes)) > 1e-7 * size
    # a kink strictly inside a grid cell changes the slope twice in a row: count runs
    starts = change & ~np.concatenate([[False], change[:-1]])
    return int(np.sum(starts)) + 1


def networks(max_depth: int = 4, max_width: int = 6) -> st.SearchStrategy:
    widths = st.lists(st.integers(1, max_width), min_size=1, max_size=max_depth)
    return st.tuples(widths, st.integers(0, 2**32 - 1)).map(
        lambda ws: random_network(ws[0], np.random.default_rng(ws[1]), bias_std=1.0)
    )


# --------------------------------------------------------------------------- constructions


@pytest.mark.parametrize("depth", [1, 2, 3, 5, 8, 12, 16, 20])
def test_sawtooth_has_two_to_the_depth_pieces_on_the_unit_interval(depth):
    weights, biases = sawtooth_network(depth)
    assert [w.shape for w in weights] == [(2, 1)] + [(2, 2)] * (depth - 1) + [(1, 2)]
    assert count_pieces(weights, biases, interval=(0.0, 1.0)) == 2**depth


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
def test_sawtooth_breakpoints_are_the_dyadic_points_and_values_alternate(depth):
    weights, biases = sawtooth_network(depth)
    bp = breakpoints(weights, biases, interval=(0.0, 1.0))
    np.testing.assert_array_equal(bp, np.arange(1, 2**depth) / 2**depth)
    values = torch_output(weights, biases, np.arange(2**depth + 1) / 2**depth)
    np.testing.assert_array_equal(values, np.arange(2**depth + 1) % 2)
    # on the whole line: 0 left of 0; right of 1 the output is 2 - 2x (depth 1) or 0
    assert count_pieces(weights, biases) == (3 if depth == 1 else 2**depth + 2)


@pytest.mark.parametrize(("width", "depth"), [(1, 3), (3, 1), (3, 3), (4, 2), (5, 3), (7, 2)])
def test_zigzag_has_width_to_the_depth_pieces(width, depth):
    weights, biases = zigzag_network(width, depth)
    assert count_pieces(weights, biases, interval=(0.0, 1.0)) == width**depth
    assert dense_count(weights, biases, 0.0, 1.0) == width**depth


def test_zigzag_of_width_two_is_the_sawtooth():
    for a, b in zip(zigzag_network(2, 4), sawtooth_network(4), strict=True):
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(("width", "depth"), [(2, 1), (2, 4), (3, 3), (4, 2), (5, 3), (8, 3)])
def test_folded_network_has_montufar_count_of_pieces(width, depth):
    weights, biases = folded_network(width, depth)
    assert [w.shape for w in weights] == [(width, 1)] + [(width, width)] * (depth - 1) + [
        (1, width)
    ]
    expected = width ** (depth - 1) * (width + 1)
    assert count_pieces(weights, biases, interval=(0.0, 1.0)) == expected
    assert dense_count(weights, biases, 0.0, 1.0) == expected
    assert count_pieces(weights, biases) <= pieces_bound([width] * depth)


def test_folded_network_without_the_left_unit_merges_at_every_turn():
    # orient the first kink of the last layer to the right: f is flat near u = 0
    weights, biases = folded_network(3, 3)
    weights[-2][0] *= -1.0
    biases[-2][0] *= -1.0
    n = count_pieces(weights, biases, interval=(0.0, 1.0))
    assert n < 3**2 * 4  # pieces merge across the turns where u = 0


def test_one_hidden_layer_with_separated_kinks_has_width_plus_one_pieces():
    # the seed's base case says 2W pieces; W separated kinks give W + 1
    rng = np.random.default_rng(3)
    for width in range(1, 9):
        w = rng.choice([-1.0, 1.0], size=width) * rng.uniform(0.5, 2.0, size=width)
        kinks = np.linspace(-1.0, 1.0, width)
        v = rng.choice([-1.0, 1.0], size=width) * rng.uniform(0.5, 2.0, size=width)
        weights, biases = [w[:, None], v[None, :]], [-w * kinks, np.zeros(1)]
        assert count_pieces(weights, biases) == width + 1
        np.testing.assert_allclose(breakpoints(weights, biases), kinks, rtol=0, atol=1e-15)
        assert dense_count(weights, biases, -2.0, 2.0) == width + 1


def test_the_xor_profile_from_homework_002():
    # relu(t) - 2 relu(t - 1) along the diagonal t = x1 + x2 of the XOR network
    weights, biases = [[[1.0], [1.0]], [[1.0, -2.0]]], [[0.0, -1.0], [0.0]]
    np.testing.assert_array_equal(breakpoints(weights, biases), [0.0, 1.0])
    assert count_pieces(weights, biases) == 3
    assert count_pieces(weights, biases, interval=(0.5, 3.0)) == 2
    assert count_pieces(weights, biases, interval=(2.0, 3.0)) == 1


def test_kinks_that_cancel_are_not_counted():
    # relu(x) - relu(-x) = x: two units with a kink at 0 whose slope changes cancel
    weights, biases = [[[1.0], [-1.0]], [[1.0, -1.0]]], [[0.0, 0.0], [0.0]]
    assert count_pieces(weights, biases) == 1
    # a unit with a zero outgoing weight adds no piece
    weights, biases = [[[1.0], [1.0]], [[1.0, 0.0]]], [[0.0, -1.0], [0.0]]
    assert breakpoints(weights, biases).tolist() == [0.0]


def test_dead_network_and_affine_network_have_one_piece():
    assert count_pieces([[[0.0]], [[1.0]]], [[-1.0], [0.0]]) == 1  # relu(-1) = 0
    assert count_pieces([[[2.0]]], [[1.0]]) == 1  # no hidden layer: affine


def test_deep_wide_random_network_is_counted_quickly():
    weights, biases = random_network([64] * 20, np.random.default_rng(0))
    n = count_pieces(weights, biases)
    assert 1 < n < 64 * 20 * 10


# --------------------------------------------------------------------------- oracles


def test_count_pieces_passes_its_check():
    # the brute-force oracle on random networks lives in derived.check (check_count_pieces)
    check_count_pieces(count_pieces)


@settings(max_examples=40, deadline=None)
@given(networks())
def test_every_piece_is_affine_and_every_breakpoint_is_a_kink(net):
    weights, biases = net
    bp = breakpoints(weights, biases)
    ends = np.concatenate(
        [[bp[0] - 10.0] if bp.size else [-10.0], bp, [bp[-1] + 10.0] if bp.size else [10.0]]
    )
    # on each piece: torch's output at four points lies on one line
    u = np.array([0.05, 0.35, 0.6, 0.95])
    x = ends[:-1, None] + u * np.diff(ends)[:, None]  # (pieces, 4)
    y = torch_output(weights, biases, x.ravel()).reshape(x.shape)
    slope = (y[:, 3] - y[:, 0]) / (x[:, 3] - x[:, 0])
    line = y[:, 0, None] + slope[:, None] * (x - x[:, 0, None])
    size = np.max(np.abs(y), axis=1, keepdims=True) + 1.0
    assert np.all(np.abs(y - line) <= 1e-9 * size)
    # at each breakpoint the slopes on the two sides differ
    if bp.size:
        gap = np.min(np.diff(ends))
        h = gap / 4
        ys = torch_output(weights, biases, np.concatenate([bp - 2 * h, bp - h, bp + h, bp + 2 * h]))
        ys = ys.reshape(4, -1)
        left, right = (ys[1] - ys[0]) / h, (ys[3] - ys[2]) / h
        scale = np.abs(left) + np.abs(right)
        assert np.all(np.abs(left - right) > 1e-6 * scale)


@settings(max_examples=60, deadline=None)
@given(networks(max_depth=5, max_width=8))
def test_pieces_never_exceed_the_bound(net):
    weights, biases = net
    widths = [w.shape[0] for w in weights[:-1]]
    n = count_pieces(weights, biases)
    assert n <= pieces_bound(widths) <= pieces_bound_loose(widths)


@settings(max_examples=40, deadline=None)
@given(networks(), st.integers(0, 2**32 - 1))
def test_positive_rescaling_and_permuting_a_hidden_layer_change_nothing(net, seed):
    weights, biases = [list(x) for x in net]
    rng = np.random.default_rng(seed)
    d = int(rng.integers(0, len(weights) - 1)) if len(weights) > 1 else None
    if d is None:
        return
    c = rng.uniform(0.1, 10.0, size=weights[d].shape[0])
    perm = rng.permutation(weights[d].shape[0])
    w2, b2 = list(weights), list(biases)
    w2[d] = (weights[d] * c[:, None])[perm]  # unit i's incoming weights and bias times c_i
    b2[d] = (biases[d] * c)[perm]
    w2[d + 1] = (weights[d + 1] / c[None, :])[:, perm]  # its outgoing weights divided by c_i
    before, after = breakpoints(weights, biases), breakpoints(w2, b2)
    assert before.shape == after.shape
    np.testing.assert_allclose(after, before, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(networks(), st.floats(-3.0, 3.0), st.floats(0.01, 4.0))
def test_an_interval_keeps_exactly_the_breakpoints_inside_it(net, lo, length):
    weights, biases = net
    hi = lo + length
    whole = breakpoints(weights, biases)
    part = breakpoints(weights, biases, interval=(lo, hi))
    near_end = np.min(np.abs(whole[:, None] - [lo, hi]), axis=1) < 1e-8 if whole.size else whole
    inside = whole[(whole > lo) & (whole < hi)]
    if not np.any(near_end):
        np.testing.assert_allclose(part, inside, rtol=1e-9, atol=1e-12)
    assert count_pieces(weights, biases, interval=(lo, hi)) == part.size + 1


def test_network_output_matches_torch():
    weights, biases = random_network([5, 7, 3], np.random.default_rng(1), bias_std=1.0)
    x = np.linspace(-4.0, 4.0, 101)
    np.testing.assert_allclose(
        network_output(weights, biases, x), torch_output(weights, biases, x), rtol=1e-13, atol=1e-14
    )


def test_random_network_uses_he_variance_and_is_reproducible():
    a = random_network([400, 400], np.random.default_rng(5), bias_std=0.5)
    b = random_network([400, 400], np.random.default_rng(5), bias_std=0.5)
    for u, v in zip(a[0] + a[1], b[0] + b[1], strict=True):
        np.testing.assert_array_equal(u, v)
    assert abs(np.var(a[0][1]) / (2.0 / 400) - 1) < 0.02  # 160000 samples
    assert abs(np.std(a[1][1]) / 0.5 - 1) < 0.1


def test_bounds_closed_forms():
    assert pieces_bound([]) == 1
    assert pieces_bound([3, 5]) == 24
    assert pieces_bound_loose([3, 5]) == 60
    assert pieces_bound([64] * 20) == 65**20  # exact Python int
    assert pieces_bound_loose([2] * 4) == 2**4 * 2**4


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("weights", "biases", "match"),
    [
        ([], [], "weights must hold at least one layer"),
        ([[[1.0]]], [], r"biases must have one entry per layer of weights \(1\), got 0"),
        ([[1.0]], [[0.0]], r"weights\[0\] must have 2 dimension"),
        ([[[1.0, 2.0]], [[1.0]]], [[0.0], [0.0]], r"weights\[0\] must have shape \(width, 1\)"),
        (
            [[[1.0], [2.0]], [[1.0]]],
            [[0.0, 0.0], [0.0]],
            r"weights\[1\] must have shape \(width, 2\)",
        ),
        ([[[1.0], [2.0]], [[1.0, 1.0]]], [[0.0], [0.0]], r"biases\[0\] must have shape \(2,\)"),
        ([[[1.0], [2.0]]], [[0.0, 0.0]], r"weights\[0\] is the output layer .* shape \(1, 1\)"),
        ([[[np.nan]]], [[0.0]], r"weights\[0\] must be finite"),
        ([[[1.0]]], [[np.inf]], r"biases\[0\] must be finite"),
        ([[["a"]]], [[0.0]], r"weights\[0\] must contain real numbers"),
    ],
)
def test_inconsistent_networks_are_rejected(weights, biases, match):
    with pytest.raises((ValueError, TypeError), match=match):
        count_pieces(weights, biases)


def test_bad_arguments_are_rejected():
    net = sawtooth_network(2)
    with pytest.raises(TypeError, match="weights must be a sequence of arrays"):
        count_pieces(3.0, net[1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"interval must satisfy lo < hi, got \(1.0, 0.0\)"):
        count_pieces(*net, interval=(1.0, 0.0))
    with pytest.raises(ValueError, match="interval must be a pair"):
        breakpoints(*net, interval=(0.0, 1.0, 2.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="interval must be a pair"):
        breakpoints(*net, interval=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        sawtooth_network(0)
    with pytest.raises(TypeError, match="depth must be an int"):
        sawtooth_network(2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="width must be >= 1"):
        zigzag_network(0, 2)
    with pytest.raises(ValueError, match="width must be >= 2"):
        folded_network(1, 2)
    with pytest.raises(ValueError, match="widths must be positive ints"):
        pieces_bound([2, 0])
    with pytest.raises(TypeError, match="widths must be a sequence of ints"):
        pieces_bound_loose(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        random_network([2], 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bias_std must be finite and >= 0"):
        random_network([2], np.random.default_rng(0), bias_std=-1.0)
    with pytest.raises(ValueError, match="x must have 1 dimension"):
        network_output(*net, [[0.0]])


# --------------------------------------------------------------------------- bias scale


@pytest.mark.parametrize("seed", range(10))
def test_the_count_does_not_depend_on_the_bias_scale(seed):
    # N(x; A, s b) = s N(x / s; A, b): scaling every bias by s scales the breakpoints by s
    weights, biases = random_network([8, 8, 8], np.random.default_rng(seed), bias_std=1.0)
    base = breakpoints(weights, biases)
    for s in (1e-12, 1e-8, 1e-6, 1.0, 1e6, 1e12):
        scaled = [s * b for b in biases]
        assert count_pieces(weights, scaled) == base.size + 1
        np.testing.assert_allclose(breakpoints(weights, scaled), s * base, rtol=1e-9)
        inside = base[(base > -1.0) & (base < 2.0)]
        np.testing.assert_allclose(
            breakpoints(weights, scaled, interval=(-s, 2.0 * s)), s * inside, rtol=1e-9
        )


def test_zero_hidden_biases_leave_at_most_a_kink_at_zero():
    weights, biases = random_network([4, 4], np.random.default_rng(2), bias_std=1.0)
    zero = [0.0 * b for b in biases[:-1]] + [np.array([5.0])]
    bp = breakpoints(weights, zero)
    assert bp.size <= 1
    assert np.all(bp == 0.0)


# --------------------------------------------------------------------------- sampled count


def test_sampled_count_agrees_with_the_exact_count_on_separated_kinks():
    weights, biases = sawtooth_network(4)
    x = np.linspace(-1.0, 2.0, 30_001)  # kinks on the grid (k / 16) and off it (none here)
    y = torch_output(weights, biases, x)
    assert count_pieces_sampled(x, y) == count_pieces(weights, biases, interval=(-1.0, 2.0))
    x = np.linspace(-1.0, 2.0, 29_999)  # kinks strictly inside cells: two changes per kink
    y = torch_output(weights, biases, x)
    assert count_pieces_sampled(x, y) == count_pieces(weights, biases, interval=(-1.0, 2.0))
    assert count_pieces_sampled(x, 3.0 * x + 1.0) == 1


def test_sampled_count_is_exact_for_kinks_more_than_three_spacings_apart():
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 1.0, 1001)  # spacing 1e-3
    h = x[1] - x[0]
    for _ in range(200):
        first = rng.uniform(0.2, 0.5)
        kinks = first + np.cumsum(rng.uniform(3.0001, 4.0, size=3)) * h  # gaps in (3h, 4h]
        kinks = np.r_[first, kinks]
        jumps = rng.choice([-1.0, 1.0], size=4) * rng.uniform(0.5, 2.0, size=4)
        y = np.maximum(x[:, None] - kinks, 0.0) @ jumps
        assert count_pieces_sampled(x, y) == 5
    # closer kinks can merge: one inside cell i, the next inside cell i + 2
    kinks = np.array([0.5005, 0.5025])  # 2 spacings apart
    y = np.maximum(x[:, None] - kinks, 0.0) @ np.array([1.0, 1.0])
    assert count_pieces_sampled(x, y) == 2  # three pieces, counted as two


def test_sampled_count_needs_slope_changes_above_twice_the_tolerance():
    # the tolerance is about 2e-7 here; a kink mid-cell splits 3e-7 into two 1.5e-7 steps
    x = np.linspace(0.0, 1.0, 11)
    assert count_pieces_sampled(x, x + 3e-7 * np.maximum(x - 0.55, 0.0)) == 1  # unseen
    assert count_pieces_sampled(x, x + 5e-7 * np.maximum(x - 0.55, 0.0)) == 2  # > 2 tol
    assert count_pieces_sampled(x, x + 3e-7 * np.maximum(x - 0.5, 0.0)) == 2  # on the grid


def test_sampled_count_is_not_fooled_by_rounding_in_large_values():
    # slopes from values near 1e6 on a grid of spacing 1e-5 carry rounding of about
    # 2^-52 * 1e6 / 1e-5 ~ 2e-5, far above rtol * (max |slope| + 1) = 2e-7
    x = np.linspace(-1.0, 1.0, 200_001)
    for offset in (0.0, 1e6, 1e9):
        assert count_pieces_sampled(x, np.abs(x - 0.3) + offset) == 2
        assert count_pieces_sampled(x, 2.0 * x + offset) == 1


def test_sampled_count_rejects_bad_grids():
    with pytest.raises(ValueError, match="x must hold at least 3 points"):
        count_pieces_sampled([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="y must have the shape of x"):
        count_pieces_sampled([0.0, 1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="x must be strictly increasing"):
        count_pieces_sampled([0.0, 2.0, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="rtol must be finite and > 0"):
        count_pieces_sampled([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], rtol=0.0)


def test_breakpoints_are_merged_relative_to_their_own_scale():
    # a huge bias elsewhere in the layer must not merge two close kinks near the origin
    for far in (1e3, 1e6, 1e12):
        weights = [np.ones((3, 1)), np.array([[1.0, -2.0, 1.0]])]
        biases = [np.array([1e-4, -1e-4, far]), np.zeros(1)]
        np.testing.assert_allclose(breakpoints(weights, biases), [-far, -1e-4, 1e-4], rtol=1e-12)
        assert count_pieces(weights, biases, interval=(-1.0, 1.0)) == 3
    # a kink that cancels exactly still leaves no breakpoint, at any scale
    for s in (1e-9, 1.0, 1e9):
        weights = [np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])]
        assert count_pieces(weights, [np.array([s, -s]), np.zeros(1)]) == 1


# --------------------------------------------------------------------------- best fit


def test_best_line_for_a_parabola_is_half_a_unit_below_the_chord():
    x = np.linspace(-1.0, 1.0, 2001)
    error, values = best_fit(x, x**2, [-1.0, 1.0])
    assert error == pytest.approx(0.5, abs=1e-9)  # m h^2 / 16 with m = 2, h = 2
    np.testing.assert_allclose(values, [0.5, 0.5], atol=1e-9)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_best_fit_of_a_parabola_on_equal_pieces_is_h_squared_over_8(k):
    # the chord on each piece shifted down by h^2 / 8 errs by h^2 / 8 at the knots and the
    # midpoints with alternating signs; no line does better on a single piece
    knots = np.linspace(-1.0, 1.0, k + 1)
    x = np.linspace(-1.0, 1.0, 200 * k + 1)  # holds every knot and midpoint
    h = 2.0 / k
    error, values = best_fit(x, x**2, knots)
    assert error == pytest.approx(h**2 / 8, rel=1e-8)
    np.testing.assert_allclose(values, knots**2 - h**2 / 8, atol=1e-8)


def test_best_fit_of_a_convex_function_by_one_line_is_half_the_chord_gap():
    # for convex f the best line is the chord lowered by half its largest gap to f
    x = np.linspace(0.0, 2.0, 4001)
    chord = 1.0 + (np.e**2 - 1.0) / 2.0 * x
    error, _ = best_fit(x, np.exp(x), [0.0, 2.0])
    assert error == pytest.approx((chord - np.exp(x)).max() / 2, rel=1e-9)


def test_best_fit_lies_between_the_bounds_and_attains_its_error():
    rng = np.random.default_rng(1)
    x = np.linspace(0.0, 2.0, 2001)
    for k in (1, 2, 4, 8):
        for _ in range(3):
            knots = np.r_[0.0, np.sort(rng.uniform(0.0, 2.0, k - 1)), 2.0]
            error, values = best_fit(x, np.exp(x), knots)
            fit = np.interp(x, knots, values)
            assert np.abs(fit - np.exp(x)).max() == pytest.approx(error, rel=1e-12)
            interp = np.abs(np.interp(x, knots, np.exp(knots)) - np.exp(x)).max()
            assert 4.0 / (16 * k**2) <= error <= interp  # m L^2/(16 k^2), m = 1, L = 2


def test_best_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="knots must be strictly increasing"):
        best_fit([0.0, 0.5], [0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="knots must be strictly increasing"):
        best_fit([0.0, 0.5], [0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="x must lie in"):
        best_fit([0.0, 1.5], [0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="y must have the shape of x"):
        best_fit([0.0, 0.5], [0.0], [0.0, 1.0])


# --------------------------------------------------------------------------- two inputs


@pytest.mark.parametrize("width", [2, 3, 5, 8, 12])
def test_regions_by_crossings_match_the_arrangement_formula(width):
    rng = np.random.default_rng(width)
    for _ in range(5):
        A, b = rng.normal(size=(width, 2)), rng.normal(size=width)
        assert regions_by_crossings(A, b) == 1 + width + width * (width - 1) // 2


def test_regions_by_crossings_match_a_dense_sample_of_patterns():
    # well-spread normals keep every region wide enough for a grid to hit it
    rng = np.random.default_rng(3)
    for width in (3, 4, 5):
        angle = np.pi * (np.arange(width) + rng.uniform(0.2, 0.8, size=width)) / width
        A = np.column_stack([np.cos(angle), np.sin(angle)])
        b = rng.uniform(-1.0, 1.0, size=width)
        crossings = [
            np.linalg.solve(A[[i, j]], -b[[i, j]])
            for i in range(width)
            for j in range(i + 1, width)
        ]
        half = 1.2 * np.abs(crossings).max()  # a window holding every crossing
        g = np.linspace(-half, half, 1601)
        X = np.stack(np.meshgrid(g, g)).reshape(2, -1)
        sampled = len(np.unique(A @ X + b[:, None] > 0, axis=1).T)
        assert sampled == regions_by_crossings(A, b)


def test_regions_by_crossings_reject_parallel_and_concurrent_lines():
    with pytest.raises(ValueError, match="parallel"):
        regions_by_crossings([[1.0, 0.0], [2.0, 0.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="three lines through one point"):
        regions_by_crossings([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="A must have shape"):
        regions_by_crossings([[1.0, 0.0]], [0.0])
    with pytest.raises(ValueError, match="eps must be finite and > 0"):
        regions_by_crossings([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], eps=0.0)
