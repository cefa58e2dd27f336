"""A walk over the public API with bad input: every array argument is tried with NaN,
infinity, strings, the wrong number of dimensions and emptiness, and every function must
answer with a ValueError or TypeError that names the argument, never a silent result.

VALID holds one valid call per public function that takes arrays; the test that every
such function is listed makes a new function join the walk. EXEMPT lists the (function,
argument, kind) combinations where the "bad" input is in fact legal, with the reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from test_api_contract import FUNCTIONS

rng = np.random.default_rng(0)

# A valid call for each public function taking array arguments: name -> kwargs.
VALID: dict[str, dict[str, Any]] = {
    "derived.softmax.softmax": {"z": rng.normal(size=(3, 4))},
    "derived.softmax.log_softmax": {"z": rng.normal(size=(3, 4))},
    "derived.softmax.logsumexp": {"z": rng.normal(size=(3, 4))},
    "derived.softmax.softmax_jacobian": {"z": rng.normal(size=(3, 4))},
    "derived.softmax.softmax_vjp": {"z": rng.normal(size=(3, 4)), "v": rng.normal(size=(3, 4))},
    # chapter 5
    "derived.jacobians.jacobian_constant": {"w": rng.normal(size=3)},
    "derived.jacobians.jacobian_squared_norm": {"w": rng.normal(size=3)},
    "derived.jacobians.jacobian_dot": {"w": rng.normal(size=3), "x": rng.normal(size=3)},
    "derived.jacobians.jacobian_matvec": {"X": rng.normal(size=(2, 3)), "w": rng.normal(size=3)},
    "derived.jacobians.jacobian_identity": {"w": rng.normal(size=3)},
    "derived.jacobians.jacobian_elementwise_square": {"w": rng.normal(size=3)},
    "derived.jacobians.jacobian_xwt": {"X": rng.normal(size=(2, 3)), "W": rng.normal(size=(4, 3))},
    "derived.jacobians.xwt_vjp": {
        "X": rng.normal(size=(2, 3)),
        "W": rng.normal(size=(4, 3)),
        "G": rng.normal(size=(2, 4)),
    },
    # chapters 8 and 9
    "derived.losses.cross_entropy": {"logits": rng.normal(size=(3, 4)), "labels": [0, 3, 1]},
    "derived.losses.cross_entropy_grad": {"logits": rng.normal(size=(3, 4)), "labels": [0, 3, 1]},
    "derived.losses.mse": {"y_pred": rng.normal(size=(3, 2)), "y": rng.normal(size=(3, 2))},
    "derived.losses.mse_grad": {"y_pred": rng.normal(size=(3, 2)), "y": rng.normal(size=(3, 2))},
    "derived.losses.bce": {"p": [0.2, 0.7, 0.9], "y": [0.0, 1.0, 1.0]},
    "derived.losses.bce_grad": {"p": [0.2, 0.7, 0.9], "y": [0.0, 1.0, 1.0]},
    "derived.losses.bce_with_logits": {"z": [-1.0, 0.5, 3.0], "y": [0.0, 1.0, 1.0]},
    "derived.losses.bce_with_logits_grad": {"z": [-1.0, 0.5, 3.0], "y": [0.0, 1.0, 1.0]},
    "derived.mlp.activate": {"s": rng.normal(size=(3, 2)), "name": "tanh"},
    "derived.mlp.activation_derivative": {"s": rng.normal(size=(3, 2)), "name": "tanh"},
    # chapter 14
    "derived.conv.conv2d": {
        "x": rng.normal(size=(2, 3, 6, 6)),
        "w": rng.normal(size=(4, 3, 3, 3)),
        "b": rng.normal(size=4),
    },
    "derived.conv.conv2d_backward": {
        "dout": rng.normal(size=(2, 4, 4, 4)),
        "x": rng.normal(size=(2, 3, 6, 6)),
        "w": rng.normal(size=(4, 3, 3, 3)),
    },
    "derived.conv.im2col": {"x": rng.normal(size=(2, 3, 6, 6)), "kernel_size": 3},
    # chapter 15
    "derived.pooling.max_pool2d": {"x": rng.normal(size=(2, 3, 4, 4)), "kernel_size": 2},
    "derived.pooling.avg_pool2d": {"x": rng.normal(size=(2, 3, 4, 4)), "kernel_size": 2},
    "derived.pooling.max_pool2d_backward": {
        "dout": rng.normal(size=(2, 3, 2, 2)),
        "x": rng.normal(size=(2, 3, 4, 4)),
        "kernel_size": 2,
    },
    "derived.pooling.avg_pool2d_backward": {
        "dout": rng.normal(size=(2, 3, 2, 2)),
        "x": rng.normal(size=(2, 3, 4, 4)),
        "kernel_size": 2,
    },
    "derived.pooling.adaptive_avg_pool2d": {"x": rng.normal(size=(2, 3, 5, 5)), "output_size": 2},
    "derived.pooling.adaptive_avg_pool2d_backward": {
        "dout": rng.normal(size=(2, 3, 2, 2)),
        "x": rng.normal(size=(2, 3, 5, 5)),
        "output_size": 2,
    },
    # chapter 16
    "derived.metrics.label_rank": {"scores": rng.normal(size=(3, 4)), "labels": [0, 3, 1]},
    "derived.metrics.topk_accuracy": {
        "scores": rng.normal(size=(3, 4)),
        "labels": [0, 3, 1],
        "k": 2,
    },
    "derived.metrics.topk_error": {"scores": rng.normal(size=(3, 4)), "labels": [0, 3, 1], "k": 2},
    # chapter 17
    "derived.tsne.squared_distances": {"X": rng.normal(size=(6, 3))},
    "derived.tsne.conditional_probabilities": {
        "D": np.abs(rng.normal(size=(6, 6))),
        "perplexity": 2.0,
    },
    "derived.tsne.joint_probabilities": {"X": rng.normal(size=(6, 3)), "perplexity": 2.0},
    "derived.tsne.map_affinities": {"Y": rng.normal(size=(6, 2))},
    "derived.tsne.kl_divergence": {
        "P": np.full((4, 4), 1 / 12) - np.eye(4) / 12,
        "Y": rng.normal(size=(4, 2)),
    },
    "derived.tsne.kl_gradient": {
        "P": np.full((4, 4), 1 / 12) - np.eye(4) / 12,
        "Y": rng.normal(size=(4, 2)),
    },
    "derived.tsne.optimize_embedding": {
        "P": np.full((4, 4), 1 / 12) - np.eye(4) / 12,
        "Y0": rng.normal(size=(4, 2)),
        "n_iter": 3,
    },
    "derived.tsne.tsne": {"X": rng.normal(size=(6, 3)), "perplexity": 2.0, "n_iter": 3},
}

# (function, argument, kind) -> why that input is legal for it.
EXEMPT: dict[tuple[str, str, str], str] = {
    ("derived.softmax.softmax", "z", "extra_dim"): "softmax works along any axis of any array",
    ("derived.softmax.log_softmax", "z", "extra_dim"): "works along any axis of any array",
    ("derived.softmax.logsumexp", "z", "extra_dim"): "reduces one axis of any array",
    ("derived.softmax.softmax", "z", "empty"): "an empty batch of rows is legal",
    ("derived.softmax.log_softmax", "z", "empty"): "an empty batch of rows is legal",
    ("derived.softmax.softmax_jacobian", "z", "empty"): "an empty batch of rows is legal",
    ("derived.softmax.softmax_vjp", "z", "empty"): "checked with v of the same shape",
    ("derived.softmax.softmax_vjp", "v", "empty"): "checked with z of the same shape",
    **{
        (f"derived.jacobians.jacobian_{f}", "w", "empty"): "a map of R^0 has an empty Jacobian"
        for f in ("constant", "squared_norm", "identity", "elementwise_square")
    },
    **{
        (f"derived.mlp.{f}", "s", kind): "elementwise: any shape is legal"
        for f in ("activate", "activation_derivative")
        for kind in ("extra_dim", "empty")
    },
    ("derived.tsne.squared_distances", "X", "empty"): "no points: an empty distance matrix",
}

KINDS: dict[str, Callable[[np.ndarray], Any]] = {
    "nan": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a),
    "inf": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a),
    "strings": lambda a: np.full(a.shape, "x"),
    "extra_dim": lambda a: a[np.newaxis, ...],
    "empty": lambda a: np.zeros((0,) * a.ndim),
}


def array_parameters(func: Callable[..., Any]) -> list[str]:
    hints = func.__annotations__
    return [
        p
        for p in inspect.signature(func).parameters
        if any(t in str(hints.get(p, "")) for t in ("ArrayLike", "NDArray"))
    ]


ARRAY_FUNCTIONS = [(n, f) for n, f in FUNCTIONS if array_parameters(f)]
CASES = [
    (name, func, param, kind)
    for name, func in ARRAY_FUNCTIONS
    if name in VALID
    for param in array_parameters(func)
    if param in VALID[name] and np.ndim(VALID[name][param]) > 0
    for kind in KINDS
    if (name, param, kind) not in EXEMPT
]


def test_every_array_function_has_a_valid_call():
    missing = [name for name, _ in ARRAY_FUNCTIONS if name not in VALID]
    assert missing == [], f"add a valid call to VALID for: {missing}"


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_calls_are_valid(name):
    func = dict(FUNCTIONS)[name]
    func(**VALID[name])


@pytest.mark.parametrize(
    ("name", "func", "param", "kind"), CASES, ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CASES]
)
def test_bad_input_is_rejected_with_the_argument_named(name, func, param, kind):
    kwargs = dict(VALID[name])
    kwargs[param] = KINDS[kind](np.asarray(kwargs[param], dtype=np.float64))
    with pytest.raises((ValueError, TypeError)) as info:
        func(**kwargs)
    assert param in str(info.value), f"message does not name {param!r}: {info.value}"
