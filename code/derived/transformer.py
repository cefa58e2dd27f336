r"""A one-block pre-LN transformer in NumPy, forward and backward, and its torch twin.

The model reads a sequence of ``L`` tokens from a vocabulary of ``V`` and predicts one
token per position:

.. math::

    X_0 &= E[\text{tokens}] + \Phi, \\
    X_1 &= X_0 + \operatorname{MHA}(\operatorname{LN}_1(X_0)), \\
    X_2 &= X_1 + \operatorname{relu}(\operatorname{LN}_2(X_1) W_1 + b_1) W_2 + b_2, \\
    Z &= \operatorname{LN}_f(X_2)\, W_\text{out} + b_\text{out},

with :math:`E` the token embedding, :math:`\Phi` the position codes (learned, sinusoidal or
none), MHA the multi-head self-attention of :mod:`derived.attention` and LN the layer
norm :math:`\operatorname{LN}(x) = \gamma \odot (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta`
over the features of each position. The loss is the mean cross-entropy over all
positions.

*Pre-LN* (each sub-layer normalises its input, the residual stream itself is left alone,
and one final norm comes before the read-out) rather than the *post-LN* of the original
transformer (a norm after each residual addition): the identity path from the embedding
to the final norm is then free of normalisations. Xiong et al. (2020) argue, by a
mean-field analysis at initialisation, that post-LN gives large expected gradients to the
parameters near the output, which is why it needs a learning-rate warm-up, and that
pre-LN does not, so pre-LN stacks can train without one.

:func:`backward` is written by hand, one line per forward line in reverse;
:func:`train` runs Adam (:class:`derived.optim.Adam`) on it. :func:`train_torch` is its
twin: the same model from ``torch.nn.functional`` pieces, differentiated by autograd
and trained by ``torch.optim.Adam`` in float64 on the same batches. The attention
chapter of the book shows the two loss curves agree step for step.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_generator, check_int, check_positive_finite
from derived.attention import (
    attention_backward,
    merge_heads,
    scaled_dot_product_attention,
    sinusoidal_positions,
    split_heads,
)
from derived.losses import cross_entropy, cross_entropy_grad
from derived.norm import layer_norm, layer_norm_backward
from derived.optim import Adam

__all__ = [
    "TransformerConfig",
    "accuracy",
    "backward",
    "forward",
    "init_params",
    "loss_and_grads",
    "reversal_batch",
    "train",
    "train_torch",
]

Array = NDArray[np.float64]
Params = dict[str, Array]
EPS = 1e-5  # layer-norm epsilon, torch's default


@dataclass(frozen=True)
class TransformerConfig:
    """The shape of the model.

    Attributes
    ----------
    vocab : int
        V, the number of token values.
    length : int
        L, the sequence length.
    d_model : int
        D, the width of the residual stream.
    n_heads : int
        H, a divisor of D.
    d_ff : int
        The hidden width of the MLP.
    positions : {"learned", "sinusoidal", "none"}
        How positions enter: a learned ``(L, D)`` table, fixed sinusoids, or not at all.
    is_causal : bool
        Whether position i attends only to positions <= i.
    """

    vocab: int = 10
    length: int = 8
    d_model: int = 32
    n_heads: int = 2
    d_ff: int = 64
    positions: str = "learned"
    is_causal: bool = False

    def __post_init__(self) -> None:
        """Check every field."""
        for name in ("vocab", "length", "d_model", "n_heads", "d_ff"):
            check_int(getattr(self, name), name, 1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")
        if self.positions not in ("learned", "sinusoidal", "none"):
            raise ValueError(
                f"positions must be 'learned', 'sinusoidal' or 'none', got {self.positions!r}"
            )
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model, got {self.d_model}")


def init_params(cfg: TransformerConfig, rng: np.random.Generator) -> Params:
    r"""Draw the parameters: weights :math:`\mathcal N(0, 1/n_\text{in})`, norms at identity.

    Parameters
    ----------
    cfg : TransformerConfig
        The model's shape.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    dict of str to numpy.ndarray
        ``embed (V, D)``, ``pos (L, D)`` (learned positions only), ``ln1_g, ln1_b``,
        ``wq, wk, wv, wo (D, D)``, ``ln2_g, ln2_b``, ``w1 (D, F)``, ``b1 (F,)``,
        ``w2 (F, D)``, ``b2 (D,)``, ``lnf_g, lnf_b``, ``w_out (D, V)``, ``b_out (V,)``.

    Examples
    --------
    >>> p = init_params(TransformerConfig(), np.random.default_rng(0))
    >>> p["wq"].shape, p["w_out"].shape
    ((32, 32), (32, 10))
    """
    gen = check_generator(rng)
    d, f, v = cfg.d_model, cfg.d_ff, cfg.vocab

    def normal(n_in: int, *shape: int) -> Array:
        return gen.normal(scale=1 / np.sqrt(n_in), size=shape)

    p: Params = {"embed": gen.normal(size=(v, d))}
    if cfg.positions == "learned":
        p["pos"] = gen.normal(size=(cfg.length, d))
    ones, zeros = np.ones(d), np.zeros(d)
    p |= {"ln1_g": ones.copy(), "ln1_b": zeros.copy()}
    p |= {name: normal(d, d, d) for name in ("wq", "wk", "wv", "wo")}
    p |= {"ln2_g": ones.copy(), "ln2_b": zeros.copy()}
    p |= {"w1": normal(d, d, f), "b1": np.zeros(f), "w2": normal(f, f, d), "b2": zeros.copy()}
    p |= {"lnf_g": ones.copy(), "lnf_b": zeros.copy()}
    p |= {"w_out": normal(d, d, v), "b_out": np.zeros(v)}
    return p


def _tokens(tokens: ArrayLike, cfg: TransformerConfig, name: str = "tokens") -> NDArray[np.intp]:
    """Validate a ``(B, L)`` array of integers in ``[0, V)``."""
    t = np.asarray(tokens)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"{name} must be integers, got dtype {t.dtype}")
    if t.ndim != 2 or t.shape[1] != cfg.length or t.shape[0] == 0:
        raise ValueError(f"{name} must have shape (B, {cfg.length}) with B >= 1, got {t.shape}")
    if t.min() < 0 or t.max() >= cfg.vocab:
        raise ValueError(f"{name} must lie in [0, {cfg.vocab - 1}], got [{t.min()}, {t.max()}]")
    return t.astype(np.intp)


@functools.cache
def _param_shapes(cfg: TransformerConfig) -> dict[str, tuple[int, ...]]:
    """Return the shapes ``init_params`` gives, drawn once per configuration."""
    return {k: w.shape for k, w in init_params(cfg, np.random.default_rng(0)).items()}


def _check_params(params: Any, cfg: TransformerConfig) -> Params:
    """Validate the parameter dictionary against ``init_params``' shapes."""
    want = _param_shapes(cfg)
    if not isinstance(params, dict) or set(params) != set(want):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must have the keys {sorted(want)}, got {got}")
    out = {k: as_float_array(params[k], f"params[{k!r}]") for k in want}
    for k, shape in want.items():
        if out[k].shape != shape:
            raise ValueError(f"params[{k!r}] must have shape {shape}, got {out[k].shape}")
    return out


def _positions(params: Params, cfg: TransformerConfig) -> Array | float:
    if cfg.positions == "learned":
        return params["pos"]
    if cfg.positions == "sinusoidal":
        return sinusoidal_positions(cfg.length, cfg.d_model)
    return 0.0


def forward(
    params: Params, tokens: ArrayLike, cfg: TransformerConfig
) -> tuple[Array, dict[str, Any]]:
    """Run the model on a batch of sequences.

    Parameters
    ----------
    params : dict
        As returned by :func:`init_params`.
    tokens : array_like of int, shape (B, L)
        Token values in ``[0, V)``.
    cfg : TransformerConfig
        The model's shape.

    Returns
    -------
    logits : numpy.ndarray of float64, shape (B, L, V)
        One score vector per position.
    cache : dict
        What :func:`backward` needs.

    Examples
    --------
    >>> cfg = TransformerConfig()
    >>> p = init_params(cfg, np.random.default_rng(0))
    >>> forward(p, np.zeros((3, 8), dtype=int), cfg)[0].shape
    (3, 8, 10)
    """
    p = _check_params(params, cfg)
    t = _tokens(tokens, cfg)
    h = cfg.n_heads
    x0 = p["embed"][t] + _positions(p, cfg)  # (B, L, D)
    a = layer_norm(x0, p["ln1_g"], p["ln1_b"], EPS)
    q, k, v = (split_heads(a @ p[w], h) for w in ("wq", "wk", "wv"))  # (B, H, L, dh)
    heads = scaled_dot_product_attention(q, k, v, is_causal=cfg.is_causal)  # (B, H, L, dh)
    o = merge_heads(heads)  # (B, L, D)
    x1 = x0 + o @ p["wo"]
    b = layer_norm(x1, p["ln2_g"], p["ln2_b"], EPS)
    pre = b @ p["w1"] + p["b1"]  # (B, L, F)
    hid = np.maximum(pre, 0.0)
    x2 = x1 + hid @ p["w2"] + p["b2"]
    f = layer_norm(x2, p["lnf_g"], p["lnf_b"], EPS)
    logits: Array = f @ p["w_out"] + p["b_out"]  # (B, L, V)
    cache = {"p": p, "t": t, "a": a, "q": q, "k": k, "v": v, "o": o, "b": b, "pre": pre}
    cache |= {"hid": hid, "f": f, "x0": x0, "x1": x1, "x2": x2}  # the norms' inputs
    return logits, cache


def backward(cache: dict[str, Any], dlogits: ArrayLike, cfg: TransformerConfig) -> Params:
    """Gradients of a loss with respect to every parameter, given its logit gradient.

    Parameters
    ----------
    cache : dict
        From :func:`forward`.
    dlogits : array_like, shape (B, L, V)
        The gradient of the loss with respect to the logits.
    cfg : TransformerConfig
        The model's shape.

    Returns
    -------
    dict of str to numpy.ndarray
        One gradient per parameter, with the keys and shapes of the parameters.

    Examples
    --------
    >>> cfg = TransformerConfig()
    >>> p = init_params(cfg, np.random.default_rng(0))
    >>> logits, cache = forward(p, np.zeros((3, 8), dtype=int), cfg)
    >>> float(backward(cache, np.ones_like(logits), cfg)["b_out"][0])
    24.0
    """
    c = cache
    p = c["p"]
    dz = as_float_array(dlogits, "dlogits")
    if dz.shape != c["f"].shape[:-1] + (cfg.vocab,):
        raise ValueError(f"dlogits must have shape {c['f'].shape[:-1] + (cfg.vocab,)}")
    rows = (0, 1)
    g: Params = {"w_out": np.einsum("bld,blv->dv", c["f"], dz), "b_out": dz.sum(axis=rows)}
    df = dz @ p["w_out"].T  # (B, L, D)
    dx2, g["lnf_g"], g["lnf_b"] = layer_norm_backward(df, c["x2"], p["lnf_g"], EPS)
    g["w2"], g["b2"] = np.einsum("blf,bld->fd", c["hid"], dx2), dx2.sum(axis=rows)
    dpre = (dx2 @ p["w2"].T) * (c["pre"] > 0)  # relu'
    g["w1"], g["b1"] = np.einsum("bld,blf->df", c["b"], dpre), dpre.sum(axis=rows)
    db = dpre @ p["w1"].T
    dln2, g["ln2_g"], g["ln2_b"] = layer_norm_backward(db, c["x1"], p["ln2_g"], EPS)
    dx1 = dx2 + dln2  # the residual adds its gradient
    g["wo"] = np.einsum("bld,ble->de", c["o"], dx1)
    dheads = split_heads(dx1 @ p["wo"].T, cfg.n_heads)  # (B, H, L, dh)
    dq, dk, dv = attention_backward(dheads, c["q"], c["k"], c["v"], is_causal=cfg.is_causal)
    da = np.zeros_like(c["a"])
    for name, dh in (("wq", dq), ("wk", dk), ("wv", dv)):
        dm = merge_heads(dh)  # (B, L, D)
        g[name] = np.einsum("bld,ble->de", c["a"], dm)
        da += dm @ p[name].T
    dln1, g["ln1_g"], g["ln1_b"] = layer_norm_backward(da, c["x0"], p["ln1_g"], EPS)
    dx0 = dx1 + dln1
    if cfg.positions == "learned":
        g["pos"] = dx0.sum(axis=0)
    g["embed"] = np.zeros_like(p["embed"])
    np.add.at(g["embed"], c["t"], dx0)  # scatter-add: repeated tokens accumulate
    return {k: g[k] for k in p}


def loss_and_grads(
    params: Params, tokens: ArrayLike, targets: ArrayLike, cfg: TransformerConfig
) -> tuple[float, Params]:
    """Mean cross-entropy over all positions, and its gradient for every parameter.

    Parameters
    ----------
    params : dict
        As returned by :func:`init_params`.
    tokens, targets : array_like of int, shape (B, L)
        Inputs and the token wanted at each position.
    cfg : TransformerConfig
        The model's shape.

    Returns
    -------
    loss : float
    grads : dict of str to numpy.ndarray

    Examples
    --------
    >>> cfg = TransformerConfig()
    >>> p = init_params(cfg, np.random.default_rng(0))
    >>> x = np.zeros((3, 8), dtype=int)
    >>> loss, grads = loss_and_grads(p, x, x, cfg)
    >>> loss > 0, sorted(grads) == sorted(p)
    (True, True)
    """
    y = _tokens(targets, cfg, "targets")
    logits, cache = forward(params, tokens, cfg)
    if y.shape != logits.shape[:2]:
        raise ValueError(f"targets must have the shape of tokens {logits.shape[:2]}, got {y.shape}")
    flat, labels = logits.reshape(-1, cfg.vocab), y.reshape(-1)  # (B*L, V), (B*L,)
    dlogits = cross_entropy_grad(flat, labels).reshape(logits.shape)
    return cross_entropy(flat, labels), backward(cache, dlogits, cfg)


def reversal_batch(
    n: int, cfg: TransformerConfig, rng: np.random.Generator
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Draw ``n`` random sequences and their reversals, the task the model learns.

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    cfg : TransformerConfig
        Gives the length L and the vocabulary V.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    tokens, targets : numpy.ndarray of int, shape (n, L)
        ``targets[:, i] == tokens[:, L - 1 - i]``.

    Examples
    --------
    >>> x, y = reversal_batch(2, TransformerConfig(length=4), np.random.default_rng(0))
    >>> bool(np.all(y == x[:, ::-1]))
    True
    """
    m = check_int(n, "n", 1)
    x = check_generator(rng).integers(cfg.vocab, size=(m, cfg.length)).astype(np.intp)
    return x, x[:, ::-1].copy()


def accuracy(
    params: Params, tokens: ArrayLike, targets: ArrayLike, cfg: TransformerConfig
) -> float:
    """Fraction of positions whose most likely token is the target.

    Parameters
    ----------
    params : dict
        As returned by :func:`init_params`.
    tokens, targets : array_like of int, shape (B, L)
        Inputs and the token wanted at each position.
    cfg : TransformerConfig
        The model's shape.

    Returns
    -------
    float
        In ``[0, 1]``.

    Examples
    --------
    >>> cfg = TransformerConfig()
    >>> p = init_params(cfg, np.random.default_rng(0))
    >>> x, y = reversal_batch(4, cfg, np.random.default_rng(1))
    >>> 0.0 <= accuracy(p, x, y, cfg) <= 1.0
    True
    """
    y = _tokens(targets, cfg, "targets")
    logits, _ = forward(params, tokens, cfg)
    return float(np.mean(np.argmax(logits, axis=-1) == y))


Batches = Sequence[tuple[ArrayLike, ArrayLike]]


def train(
    params: Params, batches: Batches, cfg: TransformerConfig, lr: float = 1e-2
) -> list[float]:
    """Train ``params`` in place with Adam, one step per batch; return the losses.

    Parameters
    ----------
    params : dict
        As returned by :func:`init_params`; updated in place.
    batches : sequence of (tokens, targets)
        One batch per step.
    cfg : TransformerConfig
        The model's shape.
    lr : float, default 1e-2
        Adam's learning rate (betas 0.9, 0.999; eps 1e-8, torch's defaults).

    Returns
    -------
    list of float
        The loss of each batch, before its step.

    Examples
    --------
    >>> cfg = TransformerConfig()
    >>> p = init_params(cfg, np.random.default_rng(0))
    >>> x, y = reversal_batch(8, cfg, np.random.default_rng(1))
    >>> losses = train(p, [(x, y)] * 5, cfg)
    >>> losses[-1] < losses[0]
    True
    """
    check_positive_finite(lr, "lr")
    p = _check_params(params, cfg)
    keys = list(p)
    opt = Adam([params[k] for k in keys], lr=lr)  # the caller's arrays, updated in place
    losses = []
    for tokens, targets in batches:
        loss, grads = loss_and_grads(params, tokens, targets, cfg)
        opt.step([grads[k] for k in keys])
        losses.append(loss)
    return losses


def train_torch(
    params: Params, batches: Batches, cfg: TransformerConfig, lr: float = 1e-2
) -> tuple[list[float], Params]:
    """Train the torch twin of :func:`train`: the same model and Adam, from torch, in float64.

    The model is written with ``torch.nn.functional`` (``layer_norm``,
    ``scaled_dot_product_attention``, ``relu``, ``cross_entropy``), differentiated by
    autograd and stepped by ``torch.optim.Adam``; ``params`` is copied, not changed.

    Parameters
    ----------
    params : dict
        As returned by :func:`init_params`.
    batches : sequence of (tokens, targets)
        One batch per step.
    cfg : TransformerConfig
        The model's shape.
    lr : float, default 1e-2
        Adam's learning rate (torch's other defaults).

    Returns
    -------
    losses : list of float
        The loss of each batch, before its step.
    params : dict of str to numpy.ndarray
        The trained parameters.

    Examples
    --------
    >>> cfg = TransformerConfig()
    >>> p = init_params(cfg, np.random.default_rng(0))
    >>> x, y = reversal_batch(8, cfg, np.random.default_rng(1))
    >>> abs(train_torch(p, [(x, y)], cfg)[0][0] - train(p, [(x, y)], cfg)[0]) < 1e-12
    True
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    check_positive_finite(lr, "lr")
    p = _check_params(params, cfg)
    w = {k: torch.tensor(a, dtype=torch.float64, requires_grad=True) for k, a in p.items()}
    pos = torch.tensor(np.broadcast_to(_positions(p, cfg), (cfg.length, cfg.d_model)).copy())
    opt = torch.optim.Adam(list(w.values()), lr=lr)
    d, h = cfg.d_model, cfg.n_heads

    def heads(z: Any) -> Any:  # (B, L, D) -> (B, H, L, dh)
        return z.unflatten(-1, (h, d // h)).transpose(1, 2)

    losses = []
    for tokens, targets in batches:
        t = torch.from_numpy(_tokens(tokens, cfg)).long()
        y = torch.from_numpy(_tokens(targets, cfg, "targets")).long()
        x0 = w["embed"][t] + (w["pos"] if "pos" in w else pos)
        a = F.layer_norm(x0, (d,), w["ln1_g"], w["ln1_b"], EPS)
        att = F.scaled_dot_product_attention(
            heads(a @ w["wq"]), heads(a @ w["wk"]), heads(a @ w["wv"]), is_causal=cfg.is_causal
        )  # (B, H, L, dh)
        x1 = x0 + att.transpose(1, 2).flatten(-2) @ w["wo"]
        b = F.layer_norm(x1, (d,), w["ln2_g"], w["ln2_b"], EPS)
        x2 = x1 + F.relu(b @ w["w1"] + w["b1"]) @ w["w2"] + w["b2"]
        f = F.layer_norm(x2, (d,), w["lnf_g"], w["lnf_b"], EPS)
        logits = f @ w["w_out"] + w["b_out"]
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses, {k: v.detach().numpy().copy() for k, v in w.items()}
