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

from derived.mlp import MLP
from derived.optim import SGD
from derived.transformer import TransformerConfig as _TC
from derived.transformer import forward as _tf_forward
from derived.transformer import init_params as _tf_init
from derived.wann import Topology
from surface import FUNCTIONS

rng = np.random.default_rng(0)
_XOR_NET = Topology(2, 2, ("gauss", "gauss"), ((2, 3), (0, 4), (1, 4)))
_XOR_X = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
_TF_CFG = _TC(vocab=4, length=3, d_model=4, n_heads=2, d_ff=4)
_TF_PARAMS = _tf_init(_TF_CFG, np.random.default_rng(0))
_TF_CACHE = _tf_forward(_TF_PARAMS, np.zeros((2, 3), dtype=int), _TF_CFG)[1]

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
    "derived.jacobians.jacobian_elementwise": {"dphi": np.cos, "w": rng.normal(size=3)},
    "derived.jacobians.jacobian_xwt": {"X": rng.normal(size=(2, 3)), "W": rng.normal(size=(4, 3))},
    "derived.jacobians.numerical_jacobian": {"f": np.sin, "x": rng.normal(size=3)},
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
    "derived.losses.gaussian_nll": {
        "y_pred": rng.normal(size=(3, 2)),
        "y": rng.normal(size=(3, 2)),
        "var": rng.uniform(0.5, 2.0, size=(3, 2)),
    },
    "derived.losses.gaussian_nll_grad": {
        "y_pred": rng.normal(size=(3, 2)),
        "y": rng.normal(size=(3, 2)),
        "var": rng.uniform(0.5, 2.0, size=(3, 2)),
    },
    "derived.mlp.activate": {"s": rng.normal(size=(3, 2)), "name": "tanh"},
    "derived.mlp.activation_derivative": {"s": rng.normal(size=(3, 2)), "name": "tanh"},
    "derived.mlp.gradient_profile": {
        "net": MLP([2, 3, 3, 1], "tanh", rng=rng),
        "X": rng.normal(size=(4, 2)),
    },
    # chapter 1
    "derived.perceptron.step": {"z": rng.normal(size=(3, 2))},
    "derived.perceptron.threshold_unit": {"x": rng.normal(size=(4, 2)), "w": [1.0, 1.0], "b": -0.5},
    "derived.perceptron.separates": {
        "w": rng.normal(size=(5, 2)),
        "b": rng.normal(size=5),
        "inputs": [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        "targets": [0.0, 1.0, 1.0, 1.0],
    },
    "derived.perceptron.xor_forward": {"x": rng.normal(size=(4, 2))},
    "derived.perceptron.linearly_separable": {
        "inputs": [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        "targets": [0.0, 0.0, 0.0, 1.0],
    },
    "derived.perceptron.threshold_labellings": {"outputs": rng.normal(size=(5, 4))},
    "derived.perceptron.perceptron_learn": {
        "inputs": [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        "targets": [0.0, 0.0, 0.0, 1.0],
    },
    # chapter 4
    "derived.activations.sigmoid": {"x": rng.normal(size=(3, 2))},
    "derived.activations.leaky_relu": {"x": rng.normal(size=(3, 2))},
    "derived.activations.gelu": {"x": rng.normal(size=(3, 2))},
    "derived.activations.activation": {"x": rng.normal(size=(3, 2)), "name": "gelu"},
    "derived.activations.derivative": {"x": rng.normal(size=(3, 2)), "name": "gelu"},
    "derived.activations.sigmoid_to_tanh": {"params": [[[1.0]], [0.5], [[2.0]], [0.0]]},
    "derived.activations.tanh_to_sigmoid": {"params": [[[1.0]], [0.5], [[2.0]], [0.0]]},
    # chapter 2
    "derived.affine.compose_affine": {"params": [[[1.0]], [0.5], [[2.0]], [0.0]]},
    "derived.affine.fit_linear": {
        "C": np.diag([3.0, 2.0, 1.0]),
        "lr": 0.05,
        "steps": 3,
        "init_scale": 0.1,
        "rng": np.random.default_rng(0),
    },
    "derived.affine.fit_factorised": {
        "C": np.diag([3.0, 2.0, 1.0]),
        "k": 1,
        "lr": 0.05,
        "steps": 3,
        "init_scale": 0.1,
        "rng": np.random.default_rng(0),
    },
    # chapter 3 (width-1 layers, so that the list of layers is also a 3-d array)
    "derived.regions.count_pieces": {"weights": [[[2.0]], [[-1.0]]], "biases": [[0.5], [0.0]]},
    "derived.regions.breakpoints": {"weights": [[[2.0]], [[-1.0]]], "biases": [[0.5], [0.0]]},
    "derived.regions.count_pieces_sampled": {
        "x": np.linspace(-1.0, 1.0, 9),
        "y": np.abs(np.linspace(-1.0, 1.0, 9)),
    },
    "derived.regions.best_fit": {
        "x": np.linspace(0.0, 1.0, 5),
        "y": np.linspace(0.0, 1.0, 5) ** 2,
        "knots": [0.0, 0.5, 1.0],
    },
    "derived.regions.regions_by_crossings": {
        "A": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
        "b": [0.0, 0.0, -1.0],
    },
    "derived.regions.network_output": {
        "weights": [[[2.0]], [[-1.0]]],
        "biases": [[0.5], [0.0]],
        "x": rng.normal(size=5),
    },
    # chapter 12
    "derived.dropout.dropout": {"x": rng.normal(size=(3, 2)), "p": 0.5, "rng": rng},
    "derived.dropout.dropout_backward": {
        "dout": rng.normal(size=(3, 2)),
        "mask": rng.choice([0.0, 2.0], size=(3, 2)),
    },
    # chapter 11
    "derived.optim.soft_threshold": {"x": rng.normal(size=(3, 2)), "t": rng.random(size=(3, 2))},
    "derived.optim.lasso_objective": {
        "A": rng.normal(size=(5, 3)),
        "b": rng.normal(size=5),
        "lam": 0.1,
        "x": rng.normal(size=3),
    },
    "derived.optim.ista": {"A": rng.normal(size=(5, 3)), "b": rng.normal(size=5), "lam": 0.1},
    "derived.optim.fista": {"A": rng.normal(size=(5, 3)), "b": rng.normal(size=5), "lam": 0.1},
    # chapter 13
    "derived.train.accuracy": {"logits": rng.normal(size=(4, 3)), "labels": [0, 2, 1, 1]},
    "derived.train.confusion_matrix": {"y_true": [0, 2, 1], "y_pred": [0, 1, 1], "n_classes": 3},
    "derived.train.evaluate": {
        "model": MLP([3, 4, 2], rng=rng),
        "X": rng.normal(size=(5, 3)),
        "y": [0, 1, 1, 0, 1],
    },
    "derived.train.train_classifier": {
        "model": (_net := MLP([3, 4, 2], rng=rng)),
        "optimizer": SGD(_net.params, lr=0.1),
        "X_train": rng.normal(size=(6, 3)),
        "y_train": [0, 1, 1, 0, 1, 0],
        "X_val": rng.normal(size=(4, 3)),
        "y_val": [1, 0, 1, 0],
        "epochs": 1,
        "batch_size": 3,
        "rng": np.random.default_rng(0),
    },
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
    "derived.pooling.max_blur_pool2d": {"x": rng.normal(size=(2, 3, 4, 4))},
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
    "derived.pooling.adaptive_max_pool2d": {"x": rng.normal(size=(2, 3, 5, 5)), "output_size": 2},
    "derived.pooling.adaptive_max_pool2d_backward": {
        "dout": rng.normal(size=(2, 3, 2, 2)),
        "x": rng.normal(size=(2, 3, 5, 5)),
        "output_size": 2,
    },
    # chapter 19
    "derived.wann.apply_activation": {"s": rng.normal(size=(3, 2)), "name": "gauss"},
    "derived.wann.forward": {"topology": _XOR_NET, "x": _XOR_X, "weights": [-1.0, 0.5]},
    "derived.wann.sweep_accuracy": {
        "topology": _XOR_NET,
        "x": _XOR_X,
        "labels": [0, 1, 1, 0],
        "weights": [-1.0, 0.5],
    },
    "derived.wann.sweep_mse": {
        "topology": Topology(1, 1, ("abs",), ((0, 2),)),
        "x": rng.normal(size=(5, 1)),
        "y": rng.normal(size=5),
        "weights": [-1.0, 0.5],
    },
    "derived.wann.random_search": {
        "x": _XOR_X,
        "labels": [0, 1, 1, 0],
        "n_outputs": 2,
        "rng": np.random.default_rng(0),
        "n_candidates": 3,
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
    # chapter 4, the signal through depth
    "derived.signal.typical_rate": {"z": rng.normal(size=(3, 2)), "name": "tanh"},
    "derived.signal.per_layer_rate": {"norms": rng.uniform(1.0, 2.0, size=(3, 2))},
    "derived.signal.batch_coherence": {
        "delta": rng.normal(size=(3, 2)),
        "h": rng.normal(size=(3, 4)),
    },
    "derived.signal.coherence": {"a": rng.normal(size=(3, 2))},
    "derived.affine.numerical_rank": {"M": np.diag([3.0, 1.0, 0.0])},
    "derived.affine.drop_times": {
        "losses": np.array([1.0, 0.9, 0.5, 0.1]),
        "levels": np.array([0.6, 0.2]),
    },
    "derived.affine.growing_lengths": {
        "W1": rng.normal(size=(2, 3)),
        "W2": rng.normal(size=(3, 2)),
        "Q": np.eye(3)[:, :2],
    },
    "derived.affine.start_times": {
        "lengths": np.array([1e-3, 1e-4]),
        "lams": np.array([2.0, 1.0]),
        "lr": 0.01,
    },
    "derived.signal.hidden_errors": {
        "params": [rng.normal(size=(3, 2)), np.zeros(3), rng.normal(size=(1, 3)), np.zeros(1)],
        "X": rng.normal(size=(4, 2)),
        "name": "tanh",
    },
    "derived.signal.rate_against_gain": {
        "name": "tanh",
        "gains": np.array([0.5, 1.0]),
        "X": rng.normal(size=(4, 3)),
        "depth": 2,
    },
    "derived.attention.scaled_dot_product_attention": {
        "q": rng.normal(size=(2, 3, 4)),
        "k": rng.normal(size=(2, 5, 4)),
        "v": rng.normal(size=(2, 5, 6)),
        "attn_mask": rng.random((3, 5)) < 0.5,
    },
    "derived.attention.attention_weights": {
        "q": rng.normal(size=(2, 3, 4)),
        "k": rng.normal(size=(2, 5, 4)),
        "attn_mask": rng.random((3, 5)) < 0.5,
    },
    "derived.attention.attention_backward": {
        "dout": rng.normal(size=(2, 3, 6)),
        "q": rng.normal(size=(2, 3, 4)),
        "k": rng.normal(size=(2, 5, 4)),
        "v": rng.normal(size=(2, 5, 6)),
        "attn_mask": rng.random((3, 5)) < 0.5,
    },
    "derived.attention.split_heads": {"x": rng.normal(size=(3, 4)), "n_heads": 2},
    "derived.attention.merge_heads": {"x": rng.normal(size=(2, 3, 2))},
    "derived.attention.multi_head_attention": {
        "x": rng.normal(size=(3, 4)),
        "wq": rng.normal(size=(4, 4)),
        "wk": rng.normal(size=(4, 4)),
        "wv": rng.normal(size=(4, 4)),
        "wo": rng.normal(size=(4, 4)),
        "n_heads": 2,
    },
    "derived.transformer.forward": {
        "params": _TF_PARAMS,
        "tokens": rng.integers(4, size=(2, 3)),
        "cfg": _TF_CFG,
    },
    "derived.transformer.accuracy": {
        "params": _TF_PARAMS,
        "tokens": rng.integers(4, size=(2, 3)),
        "targets": rng.integers(4, size=(2, 3)),
        "cfg": _TF_CFG,
    },
    "derived.transformer.loss_and_grads": {
        "params": _TF_PARAMS,
        "tokens": rng.integers(4, size=(2, 3)),
        "targets": rng.integers(4, size=(2, 3)),
        "cfg": _TF_CFG,
    },
    "derived.transformer.backward": {
        "cache": _TF_CACHE,
        "dlogits": rng.normal(size=(2, 3, 4)),
        "cfg": _TF_CFG,
    },
    # normalisation layers
    "derived.norm.batch_norm": {
        "x": rng.normal(size=(4, 3)),
        "gamma": rng.normal(size=3),
        "beta": rng.normal(size=3),
    },
    "derived.norm.batch_norm_backward": {
        "dy": rng.normal(size=(4, 3)),
        "x": rng.normal(size=(4, 3)),
        "gamma": rng.normal(size=3),
    },
    "derived.norm.batch_norm_eval": {
        "x": rng.normal(size=(4, 3)),
        "running_mean": rng.normal(size=3),
        "running_var": rng.random(3) + 0.5,
        "gamma": rng.normal(size=3),
        "beta": rng.normal(size=3),
    },
    "derived.norm.batch_norm_running_update": {
        "running_mean": rng.normal(size=3),
        "running_var": rng.random(3) + 0.5,
        "x": rng.normal(size=(4, 3)),
    },
    "derived.norm.layer_norm": {
        "x": rng.normal(size=(4, 3)),
        "gamma": rng.normal(size=3),
        "beta": rng.normal(size=3),
    },
    "derived.norm.layer_norm_backward": {
        "dy": rng.normal(size=(4, 3)),
        "x": rng.normal(size=(4, 3)),
        "gamma": rng.normal(size=3),
    },
    "derived.norm.rms_norm": {"x": rng.normal(size=(4, 3)), "gamma": rng.normal(size=3)},
    "derived.norm.rms_norm_backward": {
        "dy": rng.normal(size=(4, 3)),
        "x": rng.normal(size=(4, 3)),
        "gamma": rng.normal(size=3),
    },
    "derived.norm.standardize": {"x": rng.normal(size=(4, 3))},
    "derived.norm.standardize_jacobian": {"x": rng.normal(size=3)},
    "derived.norm.mean_pairwise_cosine": {"h": rng.normal(size=(5, 3))},
    "derived.norm.relu_cosine_map": {"c": [-0.5, 0.0, 0.3, 1.0]},
    # the online softmax and attention block by block
    "derived.online_softmax.flash_attention_reference": {
        "q": rng.normal(size=(2, 3, 4)),
        "k": rng.normal(size=(2, 5, 4)),
        "v": rng.normal(size=(2, 5, 6)),
        "block_size": 2,
    },
    "derived.online_softmax.merge_states": {
        "m_a": rng.normal(size=3),
        "l_a": rng.random(3) + 0.5,
        "m_b": rng.normal(size=3),
        "l_b": rng.random(3) + 0.5,
    },
    "derived.online_softmax.online_softmax": {"x": rng.normal(size=(3, 5)), "block_size": 2},
    "derived.online_softmax.online_softmax_state": {"x": rng.normal(size=(3, 5)), "block_size": 2},
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
    ("derived.affine.numerical_rank", "M", "empty"): "an empty matrix has rank 0",
    ("derived.jacobians.numerical_jacobian", "x", "extra_dim"): "x may have any shape",
    ("derived.jacobians.numerical_jacobian", "x", "empty"): "a map of R^0 has an empty Jacobian",
    ("derived.affine.drop_times", "levels", "empty"): "no levels asked for, no times returned",
    **{
        (f"derived.jacobians.jacobian_{f}", "w", "empty"): "a map of R^0 has an empty Jacobian"
        for f in ("constant", "squared_norm", "identity", "elementwise_square", "elementwise")
    },
    ("derived.dropout.dropout", "x", "extra_dim"): "elementwise: any shape is legal",
    ("derived.dropout.dropout", "x", "empty"): "elementwise: an empty array is legal",
    **{
        (f"derived.activations.{f}", "x", kind): "elementwise: any shape is legal"
        for f in ("sigmoid", "leaky_relu", "gelu", "activation", "derivative")
        for kind in ("extra_dim", "empty")
    },
    ("derived.perceptron.step", "z", "extra_dim"): "elementwise: any shape is legal",
    ("derived.perceptron.step", "z", "empty"): "elementwise: any shape is legal",
    ("derived.perceptron.separates", "w", "empty"): "no candidates: an empty answer",
    ("derived.perceptron.separates", "b", "empty"): "checked with w of the same length",
    ("derived.perceptron.threshold_unit", "x", "empty"): "an empty batch of inputs is legal",
    ("derived.perceptron.xor_forward", "x", "empty"): "an empty batch of points is legal",
    **{
        (f"derived.mlp.{f}", "s", kind): "elementwise: any shape is legal"
        for f in ("activate", "activation_derivative")
        for kind in ("extra_dim", "empty")
    },
    ("derived.optim.soft_threshold", "x", "extra_dim"): "elementwise: any shape is legal",
    ("derived.optim.soft_threshold", "x", "empty"): "elementwise: any shape is legal",
    ("derived.optim.soft_threshold", "t", "empty"): "checked with an empty x of the same shape",
    ("derived.wann.apply_activation", "s", "extra_dim"): "elementwise: any shape is legal",
    ("derived.wann.apply_activation", "s", "empty"): "elementwise: any shape is legal",
    ("derived.tsne.squared_distances", "X", "empty"): "no points: an empty distance matrix",
    ("derived.attention.split_heads", "x", "extra_dim"): "any number of leading axes",
    ("derived.attention.merge_heads", "x", "extra_dim"): "any number of leading axes",
    ("derived.attention.multi_head_attention", "x", "extra_dim"): "any number of batch axes",
    ("derived.norm.layer_norm", "x", "extra_dim"): "any number of leading axes",
    ("derived.norm.rms_norm", "x", "extra_dim"): "any number of leading axes",
    ("derived.norm.standardize", "x", "extra_dim"): "any number of leading axes",
    ("derived.norm.standardize_jacobian", "x", "extra_dim"): "a batch of Jacobians, one per row",
    ("derived.norm.relu_cosine_map", "c", "extra_dim"): "elementwise, any shape",
    ("derived.norm.relu_cosine_map", "c", "empty"): "elementwise: empty in, empty out",
    ("derived.online_softmax.merge_states", "m_a", "extra_dim"): "elementwise, any shape",
    ("derived.online_softmax.merge_states", "l_a", "extra_dim"): "elementwise, any shape",
    ("derived.online_softmax.merge_states", "m_b", "extra_dim"): "elementwise, any shape",
    ("derived.online_softmax.merge_states", "l_b", "extra_dim"): "elementwise, any shape",
    ("derived.online_softmax.online_softmax", "x", "extra_dim"): "any number of leading axes",
    ("derived.online_softmax.online_softmax_state", "x", "extra_dim"): "any number of leading axes",
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


def _walkable(value: Any) -> bool:
    """Whether a valid argument is one array (a list of layers of mixed rank is not: its
    functions check each entry by name, tested in their own test files)."""
    try:
        return bool(np.ndim(value) > 0)
    except ValueError:
        return False


ARRAY_FUNCTIONS = [(n, f) for n, f in FUNCTIONS if array_parameters(f)]
CASES = [
    (name, func, param, kind)
    for name, func in ARRAY_FUNCTIONS
    if name in VALID
    for param in array_parameters(func)
    if param in VALID[name] and _walkable(VALID[name][param])
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
