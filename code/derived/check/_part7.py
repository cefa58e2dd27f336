"""Checks for Part VII, Attention: normalisation backward passes, attention's, the merge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, torch

__all__ = [
    "check_attention_backward",
    "check_batch_norm_backward",
    "check_layer_norm_backward",
    "check_merge_states",
]

_EPS = 1e-5
_RTOL, _ATOL = 1e-7, 1e-9


def _norm_oracle(
    kind: str, dy: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) of torch's layer or batch norm (training mode), by autograd."""
    t = torch()
    F = t.nn.functional
    xt = t.tensor(x, dtype=t.float64, requires_grad=True)
    gt = t.tensor(gamma, dtype=t.float64, requires_grad=True)
    bt = t.zeros_like(gt, requires_grad=True)
    if kind == "layer":
        y = F.layer_norm(xt, (x.shape[-1],), gt, bt, eps)
    else:
        y = F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    y.backward(t.tensor(dy, dtype=t.float64))
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


def _norm_check(
    name: str,
    func: str,
    kind: str,
    impl: Callable[..., Any],
    cases: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
) -> CheckResult:
    c = Checker(name, impl, func)
    for label, dy, x, gamma in cases:
        c.case(label, dy=dy, x=x, gamma=gamma, eps=_EPS)
        got = c.call(dy, x, gamma, _EPS)
        got = c.outputs(got, ("dx", "dgamma", "dbeta"), "gradients")
        expected = _norm_oracle(kind, dy, x, gamma, _EPS)
        for what, g, e in zip(("dx", "dgamma", "dbeta"), got, expected, strict=True):
            c.close(g, e, what=what, rtol=_RTOL, atol=_ATOL)
    return c.result()


def _layer_norm_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20267)
    const = np.full((2, 4), 3.0)
    return [
        ("random rows, 3 rows of 5 features", rng.normal(size=(3, 5)), rng.normal(size=(3, 5)),
         rng.normal(size=5)),
        ("a batch of one row of 4", rng.normal(size=(1, 4)), rng.normal(size=(1, 4)),
         rng.normal(size=4)),
        ("three axes, shape (2, 3, 4)", rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)),
         rng.normal(size=4)),
        ("constant rows (zero variance, only eps)", rng.normal(size=(2, 4)), const,
         rng.normal(size=4)),
        ("large offset and scale (x = 1000 + 50 * noise)", rng.normal(size=(4, 3)),
         1000.0 + 50.0 * rng.normal(size=(4, 3)), rng.normal(size=3)),
        ("two features, 6 rows", rng.normal(size=(6, 2)), rng.normal(size=(6, 2)),
         rng.normal(size=2)),
    ]  # fmt: skip


def check_layer_norm_backward(impl: Callable[..., Any]) -> CheckResult:
    """Check ``impl(dy, x, gamma, eps) -> (dx, dgamma, dbeta)``, layer norm's backward pass.

    The forward pass is ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` with the mean
    and the biased variance over the last axis of ``x``; ``dgamma`` and ``dbeta`` sum over
    every other axis. The oracle is torch's autograd through
    ``torch.nn.functional.layer_norm`` in float64.

    Parameters
    ----------
    impl : callable
        ``impl(dy, x, gamma, eps)`` with ``dy`` and ``x`` of shape ``(..., D)``, ``gamma``
        of shape ``(D,)`` and ``eps`` a float; returns ``(dx, dgamma, dbeta)`` shaped like
        ``x``, ``(D,)`` and ``(D,)``.

    Returns
    -------
    CheckResult
        The check's name and the cases it passed.

    Raises
    ------
    CheckFailure
        On the first case where a gradient differs from torch's (the message names the
        case, its inputs, expected and got, and the largest error), or ``impl`` raises.

    Examples
    --------
    >>> from derived.norm import layer_norm_backward
    >>> check_layer_norm_backward(layer_norm_backward)
    check_layer_norm_backward passed all 6 cases: random rows, 3 rows of 5 features; ...
    """
    return _norm_check(
        "check_layer_norm_backward",
        "layer_norm_backward",
        "layer",
        impl,
        _layer_norm_cases(),
    )


def _batch_norm_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20268)
    const = rng.normal(size=(5, 3))
    const[:, 1] = -2.0
    return [
        ("random batch, 6 examples of 3 channels", rng.normal(size=(6, 3)),
         rng.normal(size=(6, 3)), rng.normal(size=3)),
        ("images, shape (3, 2, 2, 3)", rng.normal(size=(3, 2, 2, 3)),
         rng.normal(size=(3, 2, 2, 3)), rng.normal(size=2)),
        ("a batch of two examples of 4 channels", rng.normal(size=(2, 4)),
         rng.normal(size=(2, 4)), rng.normal(size=4)),
        ("a constant channel (zero variance, only eps)", rng.normal(size=(5, 3)), const,
         rng.normal(size=3)),
        ("one channel, 7 examples", rng.normal(size=(7, 1)), rng.normal(size=(7, 1)),
         rng.normal(size=1)),
        ("large offset and scale (x = -500 + 30 * noise)", rng.normal(size=(4, 5)),
         -500.0 + 30.0 * rng.normal(size=(4, 5)), rng.normal(size=5)),
    ]  # fmt: skip


def check_batch_norm_backward(impl: Callable[..., Any]) -> CheckResult:
    """Check ``impl(dy, x, gamma, eps) -> (dx, dgamma, dbeta)``, batch norm's backward pass.

    Training mode: each channel (axis 1) is standardised with the mean and the biased
    variance of the current batch, over every axis but 1, so every example's gradient
    depends on the whole batch. The oracle is torch's autograd through
    ``torch.nn.functional.batch_norm(..., training=True)`` in float64.

    Parameters
    ----------
    impl : callable
        ``impl(dy, x, gamma, eps)`` with ``dy`` and ``x`` of shape ``(N, C)`` or
        ``(N, C, H, W)``, ``gamma`` of shape ``(C,)`` and ``eps`` a float; returns
        ``(dx, dgamma, dbeta)`` shaped like ``x``, ``(C,)`` and ``(C,)``.

    Returns
    -------
    CheckResult
        The check's name and the cases it passed.

    Raises
    ------
    CheckFailure
        On the first case where a gradient differs from torch's, or ``impl`` raises.

    Examples
    --------
    >>> from derived.norm import batch_norm_backward
    >>> check_batch_norm_backward(batch_norm_backward)
    check_batch_norm_backward passed all 6 cases: random batch, 6 examples of 3 channels; ...
    """
    return _norm_check(
        "check_batch_norm_backward",
        "batch_norm_backward",
        "batch",
        impl,
        _batch_norm_cases(),
    )


def _attention_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20269)

    def draw(
        lq: int, lk: int, d: int, dv: int, batch: tuple[int, ...] = (), scale: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        q = scale * rng.normal(size=(*batch, lq, d))
        k = scale * rng.normal(size=(*batch, lk, d))
        return q, k, rng.normal(size=(*batch, lk, dv)), rng.normal(size=(*batch, lq, dv))

    qz, kz, vz, gz = draw(3, 4, 2, 3)
    return [
        ("random, 3 queries, 5 keys, d = 4, dv = 2", *draw(3, 5, 4, 2)),
        ("a batch of 2 heads, 4 queries, 3 keys, d = 3, dv = 5", *draw(4, 3, 3, 5, (2,))),
        ("one query", *draw(1, 4, 3, 2)),
        ("one key (the weights are all 1)", *draw(3, 1, 2, 2)),
        ("equal scores (q = 0, uniform weights)", 0.0 * qz, kz, vz, gz),
        ("large scores near 1000 (exp overflows without the max shift)",
         *draw(2, 3, 4, 2, scale=25.0)),
    ]  # fmt: skip


def check_attention_backward(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(q, k, v, dout) -> (dq, dk, dv)``, the backward pass of attention.

    The forward pass is :math:`O = \operatorname{softmax}(Q K^\top / \sqrt d)\,V`, the
    softmax over each row (over the keys), :math:`d` the last axis of ``q``; ``dout`` is
    :math:`\partial L/\partial O`. The oracle is torch's autograd through
    ``torch.nn.functional.scaled_dot_product_attention`` in float64.

    Parameters
    ----------
    impl : callable
        ``impl(q, k, v, dout)`` with ``q`` of shape ``(..., Lq, d)``, ``k`` of shape
        ``(..., Lk, d)``, ``v`` of shape ``(..., Lk, dv)`` and ``dout`` of shape
        ``(..., Lq, dv)``; returns ``(dq, dk, dv)`` shaped like ``q``, ``k`` and ``v``.

    Returns
    -------
    CheckResult
        The check's name and the cases it passed.

    Raises
    ------
    CheckFailure
        On the first case where a gradient differs from torch's, or ``impl`` raises.

    Examples
    --------
    The package's :func:`derived.attention.attention_backward` takes ``dout`` first:

    >>> from derived.attention import attention_backward
    >>> check_attention_backward(lambda q, k, v, dout: attention_backward(dout, q, k, v))
    check_attention_backward passed all 6 cases: random, 3 queries, 5 keys, d = 4, dv = 2; ...
    """
    c = Checker("check_attention_backward", impl, "attention_backward")
    t = torch()
    for label, q, k, v, dout in _attention_cases():
        c.case(label, q=q, k=k, v=v, dout=dout)
        got = c.call(q, k, v, dout)
        got = c.outputs(got, ("dq", "dk", "dv"), "gradients")
        qt, kt, vt = (t.tensor(a, dtype=t.float64, requires_grad=True) for a in (q, k, v))
        out = t.nn.functional.scaled_dot_product_attention(qt, kt, vt)
        out.backward(t.tensor(dout, dtype=t.float64))
        for what, g, e in zip(("dq", "dk", "dv"), got, (qt.grad, kt.grad, vt.grad), strict=True):
            c.close(g, e.numpy(), what=what, rtol=_RTOL, atol=_ATOL)
    return c.result()


def _state(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the state (max, sum of exp(x - max)) of each row of ``x``, by brute force."""
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], -np.inf), np.zeros(x.shape[:-1])
    m = x.max(axis=-1)
    return m, np.exp(x - m[..., None]).sum(axis=-1)


def _merge_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20270)
    tie = rng.normal(size=(3, 4))
    tie_b = rng.normal(size=(3, 2)) - 5.0
    tie_b[:, 0] = tie.max(axis=-1)
    return [
        ("random sets of 3 and 5 numbers", rng.normal(size=3), rng.normal(size=5)),
        ("a batch of 4 rows, the larger maximum on either side",
         rng.normal(size=(4, 3)) * 3.0, rng.normal(size=(4, 6)) * 3.0),
        ("equal maxima on both sides", tie, tie_b),
        ("maxima far apart (1000 and -1000: exp(m) overflows)",
         np.array([1000.0, 999.0]), np.array([-1000.0, -1001.5, -999.0])),
        ("the second state is empty (-inf, 0)", rng.normal(size=4), np.zeros(0)),
        ("both states empty", np.zeros(0), np.zeros(0)),
    ]  # fmt: skip


def check_merge_states(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(m_a, l_a, m_b, l_b) -> (m, l)``, the merge of two online-softmax states.

    A state of numbers :math:`x_j` is :math:`m = \max_j x_j` and
    :math:`\ell = \sum_j e^{x_j - m}`; the empty state is :math:`(-\infty, 0)`. The merge
    must return the state of the union of the two sets of numbers. The oracle is brute
    force: the state of the union, computed from its numbers directly.

    Parameters
    ----------
    impl : callable
        ``impl(m_a, l_a, m_b, l_b)`` on arrays of the same shape (maxima finite or
        ``-inf``, sums ``>= 0``); returns ``(m, l)`` of that shape.

    Returns
    -------
    CheckResult
        The check's name and the cases it passed.

    Raises
    ------
    CheckFailure
        On the first case where ``m`` or ``l`` differs from the union's state (including
        a NaN or inf where the state is finite), or ``impl`` raises.

    Examples
    --------
    >>> from derived.online_softmax import merge_states
    >>> check_merge_states(merge_states)
    check_merge_states passed all 6 cases: random sets of 3 and 5 numbers; ...
    """
    c = Checker("check_merge_states", impl, "merge_states")
    for label, xa, xb in _merge_cases():
        (ma, la), (mb, lb) = _state(xa), _state(xb)
        m, ell = _state(np.concatenate([xa, xb], axis=-1))
        c.case(label, x_a=xa, x_b=xb, m_a=ma, l_a=la, m_b=mb, l_b=lb)
        got = c.call(ma, la, mb, lb)
        got = c.outputs(got, ("m", "l"), "arrays")
        c.close(got[0], m, what="maximum m", rtol=0.0, atol=0.0)  # -inf where both are empty
        c.close(got[1], ell, what="sum l", rtol=1e-12, atol=1e-12)
    return c.result()
