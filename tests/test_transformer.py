"""Tests of derived.transformer: hand-written gradients against torch autograd (float64),
the NumPy training run against its torch twin step for step, and the reversal task."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from derived.attention import sinusoidal_positions
from derived.transformer import (
    TransformerConfig,
    accuracy,
    forward,
    init_params,
    loss_and_grads,
    reversal_batch,
    train,
    train_torch,
)
from oracles import n64, t64

CONFIGS = [
    TransformerConfig(vocab=7, length=5, d_model=12, n_heads=3, d_ff=10),
    TransformerConfig(vocab=5, length=6, d_model=8, n_heads=2, d_ff=16, positions="sinusoidal"),
    TransformerConfig(vocab=6, length=4, d_model=8, n_heads=1, d_ff=8, positions="none"),
    TransformerConfig(vocab=6, length=5, d_model=8, n_heads=4, d_ff=8, is_causal=True),
]


def torch_loss(params, tokens, targets, cfg):
    """An independent torch float64 model: explicit softmax attention, manual layer norm."""
    w = {k: t64(a, requires_grad=True) for k, a in params.items()}
    d, h = cfg.d_model, cfg.n_heads
    dh = d // h

    def ln(x, g, b):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return g * (x - mu) / torch.sqrt(var + 1e-5) + b

    pos = {"learned": lambda: w["pos"], "none": lambda: 0.0}.get(
        cfg.positions, lambda: t64(sinusoidal_positions(cfg.length, d))
    )()
    x0 = w["embed"][torch.as_tensor(tokens)] + pos
    a = ln(x0, w["ln1_g"], w["ln1_b"])
    q, k, v = (
        torch.stack([(a @ w[n])[..., i * dh : (i + 1) * dh] for i in range(h)], 1)
        for n in ("wq", "wk", "wv")
    )  # (B, H, L, dh)
    s = q @ k.transpose(-1, -2) / np.sqrt(dh)
    if cfg.is_causal:
        s = s.masked_fill(~torch.ones(cfg.length, cfg.length).tril().bool(), -torch.inf)
    heads = torch.softmax(s, -1) @ v  # (B, H, L, dh)
    o = torch.cat([heads[:, i] for i in range(h)], -1)  # (B, L, D)
    x1 = x0 + o @ w["wo"]
    b = ln(x1, w["ln2_g"], w["ln2_b"])
    x2 = x1 + torch.clamp(b @ w["w1"] + w["b1"], min=0) @ w["w2"] + w["b2"]
    logits = ln(x2, w["lnf_g"], w["lnf_b"]) @ w["w_out"] + w["b_out"]
    loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), torch.as_tensor(targets).reshape(-1))
    loss.backward()
    return float(loss.detach()), {k: n64(t.grad) for k, t in w.items()}


@pytest.mark.parametrize("cfg", CONFIGS, ids=["learned", "sinusoidal", "none", "causal"])
def test_gradients_match_torch_autograd(cfg):
    rng = np.random.default_rng(0)
    params = init_params(cfg, rng)
    tokens = rng.integers(cfg.vocab, size=(3, cfg.length))
    targets = rng.integers(cfg.vocab, size=(3, cfg.length))
    tokens[0, :2] = 1  # a repeated token: its embedding gradient must accumulate
    loss, grads = loss_and_grads(params, tokens, targets, cfg)
    loss_t, grads_t = torch_loss(params, tokens, targets, cfg)
    assert loss == pytest.approx(loss_t, rel=1e-12)
    assert set(grads) == set(params)
    for name in params:
        np.testing.assert_allclose(grads[name], grads_t[name], rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cfg", CONFIGS, ids=["learned", "sinusoidal", "none", "causal"])
def test_training_matches_torch_twin_step_for_step(cfg):
    rng = np.random.default_rng(1)
    params = init_params(cfg, rng)
    batches = [reversal_batch(16, cfg, rng) for _ in range(25)]
    twin_losses, twin_params = train_torch(params, batches, cfg, lr=1e-2)
    losses = train(params, batches, cfg, lr=1e-2)
    np.testing.assert_allclose(losses, twin_losses, rtol=1e-10, atol=1e-12)
    for name in params:
        np.testing.assert_allclose(params[name], twin_params[name], rtol=1e-9, atol=1e-10)


def test_learns_to_reverse():
    cfg = TransformerConfig()
    rng = np.random.default_rng(21)
    params = init_params(cfg, rng)
    losses = train(params, [reversal_batch(64, cfg, rng) for _ in range(150)], cfg)
    x, y = reversal_batch(500, cfg, np.random.default_rng(2))
    assert losses[-1] < 0.05 * losses[0]
    assert accuracy(params, x, y, cfg) >= 0.99


def test_without_positions_the_model_is_permutation_equivariant():
    cfg = TransformerConfig(positions="none")
    rng = np.random.default_rng(3)
    params = init_params(cfg, rng)
    x = rng.integers(cfg.vocab, size=(4, cfg.length))
    perm = rng.permutation(cfg.length)
    logits, _ = forward(params, x, cfg)
    permuted, _ = forward(params, x[:, perm], cfg)
    np.testing.assert_allclose(permuted, logits[:, perm], rtol=1e-12, atol=1e-13)


def test_reversal_batch():
    cfg = TransformerConfig(length=5, vocab=3)
    x, y = reversal_batch(10, cfg, np.random.default_rng(0))
    assert x.shape == y.shape == (10, 5)
    assert np.all(y == x[:, ::-1])
    assert x.min() >= 0
    assert x.max() < 3


def test_bad_input():
    with pytest.raises(ValueError, match="must be a multiple of n_heads"):
        TransformerConfig(d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="positions must be"):
        TransformerConfig(positions="rotary")
    with pytest.raises(ValueError, match="d_model must be >= 1"):
        TransformerConfig(d_model=0)
    cfg = TransformerConfig()
    p = init_params(cfg, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"tokens must have shape \(B, 8\)"):
        forward(p, np.zeros((2, 7), dtype=int), cfg)
    with pytest.raises(ValueError, match=r"tokens must lie in \[0, 9\]"):
        forward(p, np.full((2, 8), 10), cfg)
    with pytest.raises(TypeError, match="tokens must be integers"):
        forward(p, np.zeros((2, 8)), cfg)
    with pytest.raises(ValueError, match="params must have the keys"):
        forward({k: a for k, a in p.items() if k != "wq"}, np.zeros((2, 8), dtype=int), cfg)
    with pytest.raises(ValueError, match=r"params\['wq'\] must have shape"):
        forward(p | {"wq": np.eye(3)}, np.zeros((2, 8), dtype=int), cfg)
    with pytest.raises(ValueError, match="targets must have the shape of tokens"):
        loss_and_grads(p, np.zeros((2, 8), dtype=int), np.zeros((3, 8), dtype=int), cfg)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        train(p, [], cfg, lr=-1.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init_params(cfg, 0)
