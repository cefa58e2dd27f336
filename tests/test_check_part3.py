"""The checks of Part III pass the package's functions and catch planted errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from derived.check import CheckFailure
from derived.check._part3 import (
    check_adam_step,
    check_adamw_step,
    check_bce_with_logits,
    check_bce_with_logits_grad,
    check_cross_entropy,
    check_cross_entropy_grad,
    check_sgd_step,
    check_train_softmax_regression,
)
from derived.losses import bce_with_logits, bce_with_logits_grad, cross_entropy, cross_entropy_grad
from derived.optim import SGD, Adam, AdamW
from derived.softmax import softmax


def _not_written(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


# --------------------------------------------------------------------------- adapters


def _sgd_step(p, g, buf, lr, momentum, weight_decay):
    """One step of derived.optim.SGD, its momentum buffer set to buf."""
    opt = SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay)
    if momentum:
        opt.momentum_buffers[0] = buf.copy()  # b = mu * 0 + g on the first step: torch's b_1
    opt.step([g])
    return p, opt.momentum_buffers[0] if momentum else buf


def _adam_like(cls):
    def step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
        """One step of derived.optim.Adam (or AdamW) from the state (m, v) after t - 1 steps."""
        opt = cls([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
        opt.exp_avg[0][...] = m
        opt.exp_avg_sq[0][...] = v
        opt.t = t - 1
        opt.step([g])
        return p, opt.exp_avg[0], opt.exp_avg_sq[0]

    return step


_adam_step = _adam_like(Adam)
_adamw_step = _adam_like(AdamW)


def _train(X, labels, K, steps, lr):
    """Softmax regression trained by derived.optim.Adam from zero."""
    W, b = np.zeros((K, X.shape[1])), np.zeros(K)
    opt = Adam([W, b], lr=lr)
    for _ in range(steps):
        G = cross_entropy_grad(X @ W.T + b, labels)
        opt.step([G.T @ X, G.sum(axis=0)])
    return W, b


# --------------------------------------------------------------------------- the package


def test_the_package_passes_every_check():
    assert len(check_cross_entropy(cross_entropy).cases) == 7
    assert len(check_cross_entropy_grad(cross_entropy_grad).cases) == 7
    assert len(check_bce_with_logits(bce_with_logits).cases) == 6
    assert len(check_bce_with_logits_grad(bce_with_logits_grad).cases) == 6
    assert len(check_sgd_step(_sgd_step).cases) == 7
    assert len(check_adam_step(_adam_step).cases) == 8
    assert len(check_adamw_step(_adamw_step).cases) == 8
    assert len(check_train_softmax_regression(_train).cases) == 4


@pytest.mark.parametrize(
    "check",
    [check_cross_entropy, check_cross_entropy_grad, check_bce_with_logits,
     check_bce_with_logits_grad, check_sgd_step, check_adam_step, check_adamw_step,
     check_train_softmax_regression],
)  # fmt: skip
def test_a_stub_is_not_written_yet(check):
    with pytest.raises(CheckFailure, match="is not written yet"):
        check(_not_written)


# --------------------------------------------------------------------------- cross-entropy


def _ce(z, y, *, shift=True, mean=True, via_softmax=False):
    N = z.shape[0]
    if via_softmax:
        with np.errstate(divide="ignore"):
            logp = np.log(softmax(z))
    else:
        m = z.max(axis=1, keepdims=True) if shift else 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    total = -logp[np.arange(N), y].sum()
    return total / N if mean else total


def test_the_planted_cross_entropy_is_right_when_nothing_is_planted():
    check_cross_entropy(_ce)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (lambda z, y: _ce(z, y, shift=False), "case 6, 'logits near 1000"),
        (lambda z, y: _ce(z, y, via_softmax=True), "case 7, 'logits up to 2000 apart"),
        (lambda z, y: _ce(z, y, mean=False), "case 1, 'random logits, 5 examples"),
        (lambda z, y: -_ce(z, y), "case 1, 'random logits, 5 examples"),  # sign
        (lambda z, y: _ce(z.T, y), "case 1, 'random logits, 5 examples"),  # axes swapped
        (lambda z, y: _ce(z, y) * np.ones(z.shape[0]), "case 1, 'random logits"),  # per example
    ],
    ids=["no-max-shift", "log-of-softmax", "sum-not-mean", "sign", "axes-swapped",
         "not-a-number"],
)  # fmt: skip
def test_cross_entropy_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_cross_entropy(wrong)


def _ce_grad(z, y, *, mean=True, onehot=True, sign=1.0, shift=True):
    N, K = z.shape
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z - z.max(axis=1, keepdims=True) if shift else z)
        P = e / e.sum(axis=1, keepdims=True)
    G = P - np.eye(K)[y] if onehot else P
    return sign * G / (N if mean else 1)


def test_the_planted_cross_entropy_grad_is_right_when_nothing_is_planted():
    check_cross_entropy_grad(_ce_grad)


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"mean": False}, "case 1, 'random logits, 5 examples"),  # the 1/N missing
        ({"onehot": False}, "case 1, 'random logits, 5 examples"),  # softmax / N only
        ({"sign": -1.0}, "case 1, 'random logits, 5 examples"),  # Y - P
        ({"shift": False}, "case 6, 'logits near 1000"),
    ],
    ids=["no-1/N", "no-onehot", "sign", "no-max-shift"],
)
def test_cross_entropy_grad_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_cross_entropy_grad(lambda z, y: _ce_grad(z, y, **kwargs))


def test_cross_entropy_grad_catches_labels_along_the_wrong_axis():
    def columns(z, y):
        G = softmax(z)
        G[y, np.arange(len(y)) % z.shape[1]] -= 1.0  # rows and columns swapped
        return G / z.shape[0]

    with pytest.raises(CheckFailure, match="case 1, 'random logits, 5 examples"):
        check_cross_entropy_grad(columns)


# --------------------------------------------------------------------------- binary


def _naive_bce(z, y):
    """-y log sigma(z) - (1 - y) log(1 - sigma(z)), with sigma computed first."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
        return float(np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s)))


def _softplus_as_written(z, y):
    """softplus(z) - y z with softplus = log(1 + exp(z)): exp(800) overflows."""
    with np.errstate(over="ignore"):
        return float(np.mean(np.log1p(np.exp(z)) - y * z))


def _bce(z, y, *, mean=True, sign=1.0):
    loss = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))) - sign * y * z
    return float(np.mean(loss) if mean else np.sum(loss))


def test_the_planted_bce_is_right_when_nothing_is_planted():
    check_bce_with_logits(_bce)


@pytest.mark.parametrize(
    ("wrong", "case"),
    [
        (_naive_bce, "case 5, 'logits 800, -800, 750 and -30 on the side"),  # 0 * log 0 = NaN
        (_softplus_as_written, "case 5, 'logits 800, -800, 750 and -30 on the side"),  # inf - 800
        (lambda z, y: _bce(z, y, mean=False), "case 1, 'random logits, 6 labels"),
        (lambda z, y: _bce(z, y, sign=-1.0), "case 1, 'random logits, 6 labels"),
        (lambda z, y: _bce(z, 1.0 - y), "case 1, 'random logits, 6 labels"),  # labels flipped
    ],
    ids=["via-sigmoid", "softplus-overflows", "sum-not-mean", "sign-of-yz", "labels-flipped"],
)
def test_bce_with_logits_catches(wrong, case):
    with pytest.raises(CheckFailure, match=case):
        check_bce_with_logits(wrong)


def test_bce_with_logits_catches_a_sigmoid_that_rounds_to_one():
    """Right up to 700, but log(1 - sigma(z)) is -inf once sigma(800) rounds to 1."""

    def clipped(z, y):
        s = 1.0 / (1.0 + np.exp(-np.clip(z, -700.0, 700.0)))
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > 0, -y * np.log(s), 0.0) + np.where(
                y < 1, -(1 - y) * np.log1p(-s), 0.0
            )
        return float(np.mean(terms))

    with pytest.raises(CheckFailure, match="case 6, 'logits of size 800 against"):
        check_bce_with_logits(clipped)


def _bce_grad(z, y, *, mean=True, sign=1.0, sigmoid="stable", wrt_p=False):
    with np.errstate(over="ignore", invalid="ignore"):
        if sigmoid == "stable":
            e = np.exp(-np.abs(z))
            s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        else:  # exp(z) / (1 + exp(z)): inf / inf at z = 800
            s = np.exp(z) / (1.0 + np.exp(z))
        g = (s - y) / (s * (1 - s)) if wrt_p else s - y
    return sign * g / (z.size if mean else 1)


def test_the_planted_bce_grad_is_right_when_nothing_is_planted():
    check_bce_with_logits_grad(_bce_grad)


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"mean": False}, "case 1, 'random logits, 6 labels"),  # the 1/n missing
        ({"sign": -1.0}, "case 1, 'random logits, 6 labels"),  # y - sigma(z)
        ({"wrt_p": True}, "case 1, 'random logits, 6 labels"),  # d loss / d p, not / d z
        ({"sigmoid": "exp-ratio"}, "case 5, 'logits 800, -800, 750 and -30 on the side"),
    ],
    ids=["no-1/n", "sign", "gradient-wrt-p", "sigmoid-overflows"],
)
def test_bce_with_logits_grad_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_bce_with_logits_grad(lambda z, y: _bce_grad(z, y, **kwargs))


def test_bce_with_logits_grad_catches_a_flattened_result():
    with pytest.raises(CheckFailure, match="case 2, 'random logits and soft targets(.|\n)*shape"):
        check_bce_with_logits_grad(lambda z, y: _bce_grad(z, y).ravel())


# --------------------------------------------------------------------------- SGD


_SGD_DECAY = "case 2, 'plain SGD \\(momentum 0\\) with weight decay 0.1"


def _sgd(p, g, buf, lr, momentum, weight_decay, *, dampen=False, coupled=True, nesterov=False,
         wd_sign=1.0):  # fmt: skip
    if coupled:
        g = g + wd_sign * weight_decay * p
    buf = momentum * buf + ((1 - momentum) * g if dampen else g)
    step = g + momentum * buf if nesterov else buf
    if not coupled:
        p = (1 - lr * weight_decay) * p
    return p - lr * step, buf


def test_the_planted_sgd_step_is_right_when_nothing_is_planted():
    check_sgd_step(_sgd)


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"dampen": True}, "case 3, 'momentum 0.9, 5 random steps(.|\n)*step 1 of 5"),
        ({"coupled": False}, "case 4, 'momentum 0.8 and weight decay 0.01(.|\n)*buf after step 1"),
        ({"nesterov": True}, "case 3, 'momentum 0.9, 5 random steps(.|\n)*step 1 of 5"),
        ({"wd_sign": -1.0}, _SGD_DECAY + "(.|\n)*step 1 of 3"),
    ],
    ids=["dampening", "decoupled-decay", "nesterov", "decay-sign"],
)
def test_sgd_step_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_sgd_step(lambda *a: _sgd(*a, **kwargs))


def test_sgd_step_catches_the_decay_forgotten_without_momentum():
    """The plain-SGD shortcut returns before the weight decay is added."""

    def shortcut(p, g, buf, lr, momentum, weight_decay):
        if momentum == 0:
            return p - lr * g, buf
        return _sgd(p, g, buf, lr, momentum, weight_decay)

    with pytest.raises(CheckFailure, match=_SGD_DECAY + "(.|\n)*p after step 1 of 3"):
        check_sgd_step(shortcut)


def test_sgd_step_catches_a_buffer_not_returned():
    """The buffer updated but the old one returned: right on step 1, wrong on step 2."""

    def stale(p, g, buf, lr, momentum, weight_decay):
        new_p, _ = _sgd(p, g, buf, lr, momentum, weight_decay)
        return new_p, buf

    with pytest.raises(CheckFailure, match="case 3, 'momentum 0.9(.|\n)*buf after step 1"):
        check_sgd_step(stale)
    with pytest.raises(CheckFailure, match="should return two arrays"):
        check_sgd_step(lambda *a: _sgd(*a)[0])


# --------------------------------------------------------------------------- Adam

_T1 = "case 1, 'one step, t = 1, gradients of sizes 1e3"
_ZERO = "case 2, 'a zero gradient in 2 coordinates"
_TINY = "case 3, '10 steps of gradients of size 1e-6"
_ADAM4 = "case 4, '4 random steps, eps 1e-6, weight decay 0'"
_ADAMW4 = "case 4, '4 random steps, eps 1e-6, weight decay 0.01'"


def _adam(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay, *, correct=True, power=0,
          eps_inside=False, decoupled=False, decay_lr=True, correct_v=True):  # fmt: skip
    if decoupled:
        p = (1 - (lr if decay_lr else 1.0) * weight_decay) * p
    else:
        g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** (t + power)) if correct else m
    v_hat = v / (1 - beta2 ** (t + power)) if correct and correct_v else v
    denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    return p - lr * m_hat / denom, m, v


def test_the_planted_adam_steps_are_right_when_nothing_is_planted():
    check_adam_step(_adam)
    check_adamw_step(lambda *a: _adam(*a, decoupled=True))


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        # the seeds' errors (errata adam-bias-correction, adam-epsilon)
        ({"correct": False}, _T1 + "(.|\n)*p after step t = 1 of 1"),
        ({"power": 1}, _T1 + "(.|\n)*p after step t = 1 of 1"),
        ({"eps_inside": True}, _TINY + "(.|\n)*p after step t = 1 of 10"),
        # others
        ({"correct_v": False}, _T1 + "(.|\n)*p after step t = 1 of 1"),
        ({"decoupled": True}, "case 5, 'betas \\(0.8, 0.99\\) and weight decay 0.1(.|\n)*m after"),
    ],
    ids=["no-bias-correction", "correction-power-t+1", "eps-inside-root", "v-not-corrected",
         "adamw-for-adam"],
)  # fmt: skip
def test_adam_step_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_adam_step(lambda *a: _adam(*a, **kwargs))


def test_adam_step_catches_a_step_counted_from_0():
    """t - 1 in the correction: 1 - beta^0 = 0 on the first step, a division by zero."""

    def from_zero(p, g, m, v, t, *rest):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _adam(p, g, m, v, t, *rest, power=-1)

    with pytest.raises(CheckFailure, match=_T1 + "(.|\n)*t = 1 of 1(.|\n)*not finite"):
        check_adam_step(from_zero)


def test_adam_step_catches_no_eps():
    def no_eps(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _adam(p, g, m, v, t, lr, beta1, beta2, 0.0, weight_decay)

    with pytest.raises(CheckFailure, match=_ZERO + "(.|\n)*p after step t = 1 of 3 is not finite"):
        check_adam_step(no_eps)


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"decoupled": False}, _ADAMW4 + "(.|\n)*m after step t = 1 of 4"),
        ({"decoupled": True, "decay_lr": False}, _ADAMW4 + "(.|\n)*p after step t = 1 of 4"),
        ({"decoupled": True, "correct": False}, _T1 + "(.|\n)*p after step t = 1 of 1"),
        ({"decoupled": True, "eps_inside": True}, _TINY + "(.|\n)*p after step t = 1 of 10"),
    ],
    ids=["adam-l2-for-adamw", "decay-without-lr", "no-bias-correction", "eps-inside-root"],
)
def test_adamw_step_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_adamw_step(lambda *a: _adam(*a, **kwargs))


def test_adamw_step_catches_the_decay_after_the_adam_step():
    """(1 - lr lambda)(p - lr u) instead of (1 - lr lambda) p - lr u: off by lr^2 lambda u."""

    def decay_last(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p, m, v = _adam(p, g, m, v, t, lr, beta1, beta2, eps, 0.0)
        return (1 - lr * weight_decay) * p, m, v

    with pytest.raises(CheckFailure, match=_ADAMW4 + "(.|\n)*p after step t = 1 of 4"):
        check_adamw_step(decay_last)


def _classic_eps(form):
    def step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        if form == "squared":  # sqrt(v_hat + eps^2)
            return p - lr * m_hat / np.sqrt(v_hat + eps**2), m, v
        # Kingma and Ba's efficient form: eps added to sqrt(v), not to sqrt(v_hat)
        lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        return p - lr_t * m / (np.sqrt(v) + eps), m, v

    return step


@pytest.mark.parametrize("form", ["squared", "eps-hat"])
def test_adam_step_catches_the_other_eps_forms_on_the_tiny_gradients(form):
    """Each fails on the case built for it, with a difference visible in 6 digits."""
    with pytest.raises(CheckFailure, match=_TINY + "(.|\n)*p after step t = 1 of 10") as info:
        check_adam_step(_classic_eps(form))
    lines = str(info.value).splitlines()
    expected = next(x for x in lines if x.strip().startswith("expected"))
    got = next(x for x in lines if x.strip().startswith("got "))
    assert expected.split(":", 1)[1] != got.split(":", 1)[1]


def test_adam_step_catches_bias_corrected_averages_returned():
    def corrected(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p, m, v = _adam(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay)
        return p, m / (1 - beta1**t), v / (1 - beta2**t)

    with pytest.raises(CheckFailure, match=_T1 + "(.|\n)*m after step t = 1 of 1"):
        check_adam_step(corrected)


def test_a_float32_loss_gets_the_float64_hint():
    with pytest.raises(CheckFailure, match="case 2(.|\n)*float32: compute in float64"):
        check_cross_entropy(lambda z, y: np.float32(cross_entropy(z, y)))


def test_the_sgd_buffer_is_passed_back_as_float64_without_momentum():
    seen = []

    def as_list(p, g, buf, lr, momentum, weight_decay):
        seen.append(type(buf))
        p, buf = _sgd(p, g, buf, lr, momentum, weight_decay)
        return p, list(np.ravel(buf)) if momentum == 0 else buf

    check_sgd_step(as_list)  # the list is not compared at momentum 0, but converted
    assert all(t is np.ndarray for t in seen)


def test_the_case_labels_state_true_numbers():
    """The numbers in the labels of the edge cases are those of their data."""
    from derived.check._part3 import (
        _adam_cases,
        _bce_cases,
        _cross_entropy_cases,
        _training_cases,
    )

    label, z, y = _cross_entropy_cases()[6]
    assert "losses about 2000 and 1000" in label
    z_max = z.max(axis=1)
    losses = z_max + np.log(np.exp(z - z_max[:, None]).sum(axis=1)) - z[np.arange(2), y]
    assert np.allclose(losses, [2000, 1000], rtol=1e-3)
    with np.errstate(over="ignore"):
        label, z, _ = _bce_cases()[4]
        sigma = 1 / (1 + np.exp(-z))
    assert "rounds to 1 at 800 and 750, to 0 at -800" in label
    assert list(sigma[:3]) == [1.0, 0.0, 1.0]
    assert 0 < sigma[3] < 1e-12  # -30 does not round
    assert "the loss is 2.3e-14, all from the -30" in label
    assert f"{np.log1p(np.exp(-30.0)) / 4:.1e}" == "2.3e-14"  # the other three terms are 0
    label, p0, grads, hyper = _adam_cases(0.0)[0]  # one step at t = 1, huge gradients
    assert "each coordinate moves by lr, within 1e-12" in label
    g = grads[0]
    moved = hyper["lr"] * g / (np.abs(g) + hyper["eps"])  # m_hat = g, sqrt(v_hat) = |g|
    assert np.abs(np.abs(moved) - hyper["lr"]).max() <= 1e-12 * (1 + 1e-4)  # lr eps / 1e3
    label, X, labels, K, steps, lr = _training_cases()[1]
    assert "each weight moves by about lr" in label
    assert steps == 1
    W, b = _train(X, labels, K, steps, lr)
    assert np.allclose(np.abs(W), lr, rtol=1e-6)
    assert np.allclose(np.abs(b), lr, rtol=1e-6)
    for decay in (0.0, 0.01):  # the tiny gradients of Adam's and AdamW's case 3
        label, _, grads, hyper = _adam_cases(decay)[2]
        assert "about 7e-7 to 2e-6, 70 to 200 eps" in label
        t = np.arange(1, 11)[:, None]
        weights = hyper["beta2"] ** (t - np.arange(1, 11)) * (np.arange(1, 11) <= t)
        v_hat = (1 - hyper["beta2"]) * weights @ grads**2 / (1 - hyper["beta2"] ** t)
        root = np.sqrt(v_hat) / hyper["eps"]
        assert 65 < root.min() < 75
        assert 195 < root.max() < 205
        assert v_hat.max() < 1e-11


_EDGE = "case 5, 'logits 800, -800, 750 and -30 on the side"


def test_bce_with_logits_catches_a_softplus_cut_to_zero():
    """softplus(z) = 0 below -20: off by 9.4e-14 at -30, the whole of case 5's loss."""

    def cut(z, y):
        softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        return float(np.mean(np.where(z < -20, 0.0, softplus) - y * z))

    with pytest.raises(CheckFailure, match=_EDGE + "(.|\n)*the loss is wrong"):
        check_bce_with_logits(cut)


def test_bce_with_logits_catches_an_overflow_in_a_branch_thrown_away():
    """np.where evaluates both branches: log1p(exp(z)) overflows at 800 though not used there."""

    def branches(z, y):
        softplus = np.where(z > 0, z + np.log1p(np.exp(-z)), np.log1p(np.exp(z)))
        return float(np.mean(softplus - y * z))

    assert np.isclose(branches(np.array([1.0, -2.0]), np.array([1.0, 0.0])),
                      _bce(np.array([1.0, -2.0]), np.array([1.0, 0.0])))  # fmt: skip
    with pytest.raises(CheckFailure, match=_EDGE + "(.|\n)*FloatingPointError: overflow"):
        check_bce_with_logits(branches)


def test_bce_with_logits_catches_log_of_one_plus_for_log1p():
    """log(1 + e) for log1p(e): 1 + e^-30 rounds, the loss of case 5 is 1e-3 off."""
    with pytest.raises(CheckFailure, match=_EDGE + "(.|\n)*the loss is wrong"):
        check_bce_with_logits(lambda z, y: float(np.mean(
            np.maximum(z, 0.0) + np.log(1.0 + np.exp(-np.abs(z))) - y * z)))  # fmt: skip
    check_bce_with_logits(lambda z, y: float(np.mean(np.logaddexp(0.0, z) - y * z)))


def test_the_bce_oracles_agree_with_torch_but_at_the_logit_minus_30():
    """torch's loss loses digits at the logit -30 (the docstring's numbers), its gradient not."""
    import torch

    from derived.check._part3 import _bce_cases, _bce_exact, _bce_grad_exact

    for i, (_, z, y) in enumerate(_bce_cases()):
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            zt, torch.tensor(y, dtype=torch.float64)
        )
        loss.backward()
        assert np.allclose(zt.grad.numpy(), _bce_grad_exact(z, y), rtol=1e-9, atol=0)
        if i != 4:  # torch's loss of case 5 is the one that is off
            assert np.isclose(loss.item(), _bce_exact(z, y), rtol=1e-9, atol=0)
    z, y = _bce_cases()[4][1:]
    zt = torch.tensor(z, dtype=torch.float64)
    off = torch.nn.functional.binary_cross_entropy_with_logits(
        zt, torch.tensor(y, dtype=torch.float64)
    ).item()
    exact = math.log1p(math.exp(-30.0)) / 4
    assert _bce_exact(z, y) == pytest.approx(exact, rel=1e-15)
    assert f"{exact:.4e}" == "2.3394e-14"
    assert f"{off:.4e}" == "2.3093e-14"
    assert round(abs(off / exact - 1), 3) == 0.013


def test_bce_with_logits_grad_catches_a_sigmoid_through_tanh():
    """(1 + tanh(z/2)) / 2 cancels at z = -30: about 4 digits of 9.4e-14 are left."""
    e = math.exp(-30.0)
    assert 1e-4 < abs(0.5 * (1 + np.tanh(-15.0)) / (e / (1 + e)) - 1) < 1e-3
    with pytest.raises(CheckFailure, match=_EDGE + "(.|\n)*the gradient is wrong"):
        check_bce_with_logits_grad(lambda z, y: (0.5 * (1 + np.tanh(z / 2)) - y) / z.size)


def test_bce_with_logits_grad_catches_a_sigmoid_cut_to_zero():
    def cut(z, y):
        return np.where(z < -20, 0.0, _bce_grad(z, y) * z.size + y) / z.size - y / z.size

    with pytest.raises(CheckFailure, match=_EDGE + "(.|\n)*the gradient is wrong"):
        check_bce_with_logits_grad(cut)


def test_bce_with_logits_grad_catches_a_sigmoid_that_overflows():
    """1 / (1 + exp(-z)) is right everywhere, but exp(800) overflows on the way (at -800)."""

    def naive(z, y):
        return (1.0 / (1.0 + np.exp(-z)) - y) / z.size

    with np.errstate(over="ignore"):
        assert np.allclose(naive(np.array([-800.0, 3.0]), np.zeros(2)),
                           _bce_grad(np.array([-800.0, 3.0]), np.zeros(2)))  # fmt: skip
    with pytest.raises(CheckFailure, match=_EDGE + "(.|\n)*FloatingPointError: overflow"):
        check_bce_with_logits_grad(naive)


# --------------------------------------------------------------------------- training


def _train_planted(X, labels, K, steps, lr, *, mean=True, bias=True, t_twice=False, extra=0,
                   shared_t0=False):  # fmt: skip
    """A student's training from adam_step and cross_entropy_grad, with one error planted."""
    W, b = np.zeros((K, X.shape[1])), np.zeros(K)
    mW, vW, mb, vb = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)
    t = 0
    for _ in range(steps + extra):
        G = cross_entropy_grad(X @ W.T + b, labels) * (1 if mean else len(labels))
        t += 1
        W, mW, vW = _adam(W, G.T @ X, mW, vW, t, lr, 0.9, 0.999, 1e-8, 0.0)
        t += 1 if t_twice else 0  # one counter advanced by each parameter's step
        if bias:
            b, mb, vb = _adam(b, G.sum(axis=0), mb, vb, t, lr, 0.9, 0.999, 1e-8, 0.0)
    return W, b


def test_the_planted_training_is_right_when_nothing_is_planted():
    check_train_softmax_regression(_train_planted)


_BLOBS = "case 1, '3 blobs of 13, 9 and 8 points"
_ONE = "case 2, 'the same blobs, one step"


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        ({"bias": False}, _BLOBS + "(.|\n)*the W after 50 steps is wrong"),
        ({"t_twice": True}, _BLOBS + "(.|\n)*the W after 50 steps is wrong"),
        ({"extra": 1}, _BLOBS + "(.|\n)*the W after 50 steps is wrong"),
        ({"extra": -1}, _BLOBS + "(.|\n)*the W after 50 steps is wrong"),
    ],
    ids=["bias-not-trained", "t-advanced-twice", "one-step-too-many", "one-step-too-few"],
)
def test_train_softmax_regression_catches(kwargs, case):
    with pytest.raises(CheckFailure, match=case):
        check_train_softmax_regression(lambda *a: _train_planted(*a, **kwargs))


def test_train_softmax_regression_catches_the_mean_forgotten():
    """Adam divides out the scale of the gradient, all but eps: the sum is off by 1e-8 lr."""
    with pytest.raises(CheckFailure, match=_BLOBS + "(.|\n)*the W after 50 steps(.|\n)*"
                       "off by a constant factor(.|\n)* is wrong"):  # fmt: skip
        check_train_softmax_regression(lambda *a: _train_planted(*a, mean=False))
    with pytest.raises(CheckFailure, match=_BLOBS) as failed:
        check_train_softmax_regression(lambda *a: _train_planted(*a, bias=False))
    assert "constant factor" not in str(failed.value)  # a large error gets no such hint


def test_train_softmax_regression_catches_the_gradient_transposed():
    """X.T @ G is (D, K): W - lr * update does not broadcast, or has the wrong shape."""

    def transposed(X, labels, K, steps, lr):
        W, b = np.zeros((K, X.shape[1])), np.zeros(K)
        opt = Adam([W.T.copy(), b], lr=lr)
        for _ in range(steps):
            G = cross_entropy_grad(X @ W.T + b, labels)
            opt.step([X.T @ G, G.sum(axis=0)])
            W = opt.params[0]
        return W, b

    with pytest.raises(CheckFailure, match=_BLOBS):
        check_train_softmax_regression(transposed)
