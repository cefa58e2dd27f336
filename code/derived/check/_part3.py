"""Checks for Part III, Learning: the losses, their gradients, and the optimisers' steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, sigmoid_float, torch

__all__ = [
    "check_adam_step",
    "check_adamw_step",
    "check_bce_with_logits",
    "check_bce_with_logits_grad",
    "check_cross_entropy",
    "check_cross_entropy_grad",
    "check_sgd_step",
    "check_train_softmax_regression",
]


def _number(c: Checker, value: Any, what: str) -> Any:
    """``value`` if it is one number, or fail saying that ``what`` should be one number.

    A NumPy scalar or 0-d array comes back as itself (its dtype kept, so that
    :meth:`Checker.close` can say to compute in float64 when it is float32); anything
    else as a Python float.
    """
    try:
        number = float(value)
        if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:
            return value
        return number
    except (TypeError, ValueError):
        c.fail_now(
            f"{c.func} should return {what}, one number; got {type(value).__name__} {value!r}"[:400]
        )
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- cross-entropy


def _cross_entropy_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20301)
    return [
        (
            "random logits, 5 examples and 4 classes",
            rng.normal(size=(5, 4)),
            rng.integers(0, 4, size=5),
        ),
        (
            "random logits, 3 examples and 7 classes (more classes than examples)",
            2.0 * rng.normal(size=(3, 7)),
            np.array([6, 0, 3]),
        ),
        ("one example (N = 1)", rng.normal(size=(1, 5)), np.array([2])),
        ("one class (K = 1, the loss is 0)", rng.normal(size=(4, 1)), np.zeros(4, dtype=int)),
        ("equal logits (the loss is log K)", np.zeros((2, 3)), np.array([0, 2])),
        (
            "logits near 1000 (exp overflows without the max shift of the log-sum-exp)",
            np.array([[1000.0, 1001.0, 999.0], [998.0, 1000.0, 1003.0]]),
            np.array([0, 2]),
        ),
        (
            "logits up to 2000 apart, the label on the smallest (its softmax underflows to 0; "
            "losses about 2000 and 1000)",
            np.array([[0.0, 1000.0, -1000.0], [5.0, -995.0, 4.0]]),
            np.array([2, 1]),
        ),
    ]


def check_cross_entropy(impl: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(logits, labels)``, the mean cross-entropy, against torch in float64.

    The loss is :math:`\frac1N \sum_n \big(\operatorname{lse}(z_n) - z_{n, c_n}\big)`, with
    :math:`\operatorname{lse}` the log-sum-exp of a row and :math:`c_n` the label of
    example :math:`n`. The oracle is ``torch.nn.functional.cross_entropy`` in float64.
    Cases: two random batches (one with more classes than examples), one example, one
    class (the loss is 0), equal logits (the loss is :math:`\log K`), logits near 1000
    (``exp`` overflows without the max shift) and logits up to 2000 apart with the label
    on the smallest, where :math:`\log(\operatorname{softmax})` is :math:`-\infty` but
    the losses of the two rows are about 2000 and 1000.

    Parameters
    ----------
    impl : callable
        The student's loss: float64 logits of shape (N, K) and integer labels of shape
        (N,) in ``[0, K)`` to the mean loss, one number.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose loss is wrong (or not finite, or not a number), naming
        the case, the logits and labels, the expected and the returned loss.

    Examples
    --------
    >>> from derived.losses import cross_entropy
    >>> check_cross_entropy(cross_entropy)
    check_cross_entropy passed all 7 cases: random logits, 5 examples and 4 classes; ...
    """
    c = Checker("check_cross_entropy", impl, "cross_entropy")
    t = torch()
    for label, z, y in _cross_entropy_cases():
        c.case(label, logits=z, labels=y)
        got = _number(c, c.call(z, y), "the mean loss")
        expected = t.nn.functional.cross_entropy(t.tensor(z, dtype=t.float64), t.tensor(y))
        c.close(got, expected.item(), what="loss", rtol=1e-9, atol=1e-12)
    return c.result()


def check_cross_entropy_grad(impl: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(logits, labels)``, the gradient of the mean cross-entropy, against torch.

    The gradient with respect to the logits is :math:`\frac1N(\operatorname{softmax}(Z) -
    Y)`, with :math:`Y` the one-hot matrix of the labels. The oracle is torch autograd of
    ``torch.nn.functional.cross_entropy`` in float64. The cases are those of
    :func:`check_cross_entropy`: two random batches, one example, one class (the
    gradient is 0), equal logits, logits near 1000 and logits up to 2000 apart.

    Parameters
    ----------
    impl : callable
        The student's gradient: float64 logits of shape (N, K) and integer labels of shape
        (N,) in ``[0, K)`` to the (N, K) array of the derivatives of the mean loss.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose gradient is wrong (or of the wrong shape), naming the
        case, the logits and labels, the expected and the returned arrays and the
        largest error.

    Examples
    --------
    >>> from derived.losses import cross_entropy_grad
    >>> check_cross_entropy_grad(cross_entropy_grad)
    check_cross_entropy_grad passed all 7 cases: random logits, 5 examples and 4 classes; ...
    """
    c = Checker("check_cross_entropy_grad", impl, "cross_entropy_grad")
    t = torch()
    for label, z, y in _cross_entropy_cases():
        c.case(label, logits=z, labels=y)
        got = c.call(z, y)
        zt = t.tensor(z, dtype=t.float64, requires_grad=True)
        t.nn.functional.cross_entropy(zt, t.tensor(y)).backward()
        c.close(got, zt.grad.numpy(), what="gradient", rtol=1e-9, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- binary


def _bce_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20302)
    return [
        (
            "random logits, 6 labels 0 or 1",
            rng.normal(scale=2.0, size=6),
            np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
        ),
        (
            "random logits and soft targets in [0, 1], shape (3, 4)",
            rng.normal(scale=2.0, size=(3, 4)),
            rng.uniform(0.0, 1.0, size=(3, 4)),
        ),
        ("one logit", np.array([0.7]), np.array([1.0])),
        ("logits 0 (the loss is log 2)", np.zeros(3), np.array([0.0, 1.0, 0.5])),
        (
            "logits 800, -800, 750 and -30 on the side of their labels (sigmoid rounds to 1 at 800 "
            "and 750, to 0 at -800; the loss is 2.3e-14, all from the -30)",
            np.array([800.0, -800.0, 750.0, -30.0]),
            np.array([1.0, 0.0, 1.0, 0.0]),
        ),
        (
            "logits of size 800 against their labels and a logit 2 with target 0.5 "
            "(log(sigmoid(z)) underflows to -inf, exp(z) overflows)",
            np.array([800.0, -800.0, 2.0]),
            np.array([0.0, 1.0, 0.5]),
        ),
    ]


def _bce_exact(z: np.ndarray, y: np.ndarray) -> float:
    """Return the mean loss, each term with math.log1p, summed with math.fsum."""
    terms = [
        max(zi, 0.0) - yi * zi + math.log1p(math.exp(-abs(zi)))
        for zi, yi in zip(np.ravel(z).tolist(), np.ravel(y).tolist(), strict=True)
    ]
    return math.fsum(terms) / len(terms)


def _bce_grad_exact(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the gradient of the mean loss, sigma from e^{-|z|} <= 1."""
    flat = [
        (sigmoid_float(zi) - yi) / np.size(z)
        for zi, yi in zip(np.ravel(z).tolist(), np.ravel(y).tolist(), strict=True)
    ]
    return np.array(flat).reshape(np.shape(z))


def check_bce_with_logits(impl: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(z, y)``, the mean binary cross-entropy of logits.

    The loss is :math:`\frac1n \sum_i \big[\operatorname{softplus}(z_i) - y_i z_i\big]`,
    the mean of :math:`-y_i\log\sigma(z_i) - (1 - y_i)\log(1 - \sigma(z_i))` over all
    entries. The oracle is computed in the check, entry by entry with ``math``:
    :math:`\max(z_i, 0) - y_i z_i` plus ``math.log1p(math.exp(-abs(z_i)))``, summed with
    ``math.fsum``, so that it keeps every digit of a loss as small as
    :math:`2.3 \times 10^{-14}`. (``torch.nn.functional.binary_cross_entropy_with_logits``
    agrees with it to 9 digits on every case but the fifth, where it loses digits that
    ``log1p`` keeps: :math:`2.3093 \times 10^{-14}` for :math:`2.3394 \times 10^{-14}`.)
    Cases: random logits with labels 0 or 1, soft targets in a (3, 4) array, one
    logit, logits 0 (the loss is :math:`\log 2`), logits 800, -800, 750 and -30 on the
    side of their labels (:math:`\sigma` rounds to 1 at 800 and 750 and to 0 at -800, so
    the unused term is :math:`0 \cdot \log 0`) and logits 800 and -800 against their
    labels with a logit 2 of target 0.5 (the loss of the first two is 800, but
    :math:`\log\sigma(z)` is :math:`-\infty` and :math:`e^{z}` overflows). ``impl`` runs
    under ``np.errstate(over="raise")``: an exponential that overflows fails the case,
    even in a branch of ``np.where`` whose value is thrown away. Every loss is compared
    to 9 digits with no absolute tolerance, so in the fifth case a softplus cut to 0
    below -20 fails, and so does :math:`\log(1 + e^{-|z|})` written without ``log1p``
    (at -30 it is :math:`10^{-3}` off in relative terms).

    Parameters
    ----------
    impl : callable
        The student's loss: float64 logits ``z`` of any shape and targets ``y`` of the
        same shape, in ``[0, 1]``, to the mean loss, one number.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose loss is wrong (or not finite, or not a number), naming
        the case, ``z`` and ``y``, the expected and the returned loss.

    Examples
    --------
    >>> from derived.losses import bce_with_logits
    >>> check_bce_with_logits(bce_with_logits)
    check_bce_with_logits passed all 6 cases: random logits, 6 labels 0 or 1; ...
    """
    c = Checker("check_bce_with_logits", impl, "bce_with_logits")
    for label, z, y in _bce_cases():
        c.case(label, z=z, y=y)
        with np.errstate(over="raise"):  # an overflow, even in a branch thrown away, fails
            got = _number(c, c.call(z, y), "the mean loss")
        # no absolute tolerance: the loss of case 5 is 2.3e-14, all from log1p(e^-30)
        c.close(got, _bce_exact(z, y), what="loss", rtol=1e-9, atol=0.0)
    return c.result()


def check_bce_with_logits_grad(impl: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``impl(z, y)``, the gradient of the mean binary cross-entropy.

    The gradient with respect to the logits is :math:`\frac1n(\sigma(z) - y)`. The oracle
    is computed in the check, entry by entry with ``math``: :math:`\sigma(z) = 1/(1 + e)`
    for :math:`z \ge 0` and :math:`e/(1 + e)` for :math:`z < 0`, with
    :math:`e = e^{-|z|}`, each to a few units in the last place (torch autograd of
    ``binary_cross_entropy_with_logits`` agrees with it to 9 digits on every case, though
    torch's loss itself does not on the fifth). The cases are those of
    :func:`check_bce_with_logits`. ``impl`` runs under ``np.errstate(over="raise")``, so
    that a sigmoid whose exponential overflows fails with ``FloatingPointError``, even
    when its value would be right: :math:`1/(1 + e^{-z})` at :math:`z = -800`,
    :math:`e^z/(1 + e^z)` at 800 and 750. Every entry is compared to 9 digits with no
    absolute tolerance, so that at the logit -30, where the gradient is
    :math:`2.3 \times 10^{-14}`, a sigmoid cut to 0 fails, and so does one written as
    :math:`\frac12(1 + \tanh(z/2))`, which keeps only about 4 digits there (cancellation).

    Parameters
    ----------
    impl : callable
        The student's gradient: float64 logits ``z`` of any shape and targets ``y`` of the
        same shape, in ``[0, 1]``, to the array of the shape of ``z`` of the derivatives
        of the mean loss.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose gradient is wrong (or of the wrong shape), naming the
        case, ``z`` and ``y``, the expected and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.losses import bce_with_logits_grad
    >>> check_bce_with_logits_grad(bce_with_logits_grad)
    check_bce_with_logits_grad passed all 6 cases: random logits, 6 labels 0 or 1; ...
    """
    c = Checker("check_bce_with_logits_grad", impl, "bce_with_logits_grad")
    for label, z, y in _bce_cases():
        c.case(label, z=z, y=y)
        with np.errstate(over="raise"):  # an overflow, even in a branch thrown away, fails
            got = c.call(z, y)
        # no absolute tolerance: at the logit -30 of case 5 the gradient is 2.3e-14
        c.close(got, _bce_grad_exact(z, y), what="gradient", rtol=1e-9, atol=0.0)
    return c.result()


# --------------------------------------------------------------------------- optimisers


def _torch_run(
    optimiser: str, p0: np.ndarray, grads: np.ndarray, **hyper: Any
) -> list[tuple[np.ndarray, ...]]:
    """After each step of ``torch.optim.<optimiser>`` in float64: the parameters and state."""
    t = torch()
    p = t.tensor(p0, dtype=t.float64, requires_grad=True)
    kwargs = dict(hyper)
    if "beta1" in kwargs:
        kwargs["betas"] = (kwargs.pop("beta1"), kwargs.pop("beta2"))
    opt = getattr(t.optim, optimiser)([p], **kwargs)
    states = []
    for g in grads:
        p.grad = t.tensor(g, dtype=t.float64)
        opt.step()
        state = opt.state[p]
        extra: tuple[np.ndarray, ...]
        if optimiser == "SGD":
            buf = state.get("momentum_buffer")
            extra = (buf.detach().numpy().copy(),) if buf is not None else ()
        else:
            extra = (state["exp_avg"].numpy().copy(), state["exp_avg_sq"].numpy().copy())
        states.append((p.detach().numpy().copy(), *extra))
    return states


def _sgd_cases() -> list[tuple[str, np.ndarray, np.ndarray, dict[str, float]]]:
    rng = np.random.default_rng(20303)
    return [
        (
            "plain SGD (momentum 0), 3 random steps",
            rng.normal(size=4),
            rng.normal(size=(3, 4)),
            {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0},
        ),
        (
            "plain SGD (momentum 0) with weight decay 0.1, 3 random steps",
            np.random.default_rng(20306).normal(size=4),
            np.random.default_rng(20307).normal(size=(3, 4)),
            {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.1},
        ),
        (
            "momentum 0.9, 5 random steps",
            rng.normal(size=4),
            rng.normal(size=(5, 4)),
            {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.0},
        ),
        (
            "momentum 0.8 and weight decay 0.01 on a (2, 3) matrix, 4 random steps",
            rng.normal(size=(2, 3)),
            rng.normal(size=(4, 2, 3)),
            {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01},
        ),
        (
            "a constant gradient, momentum 0.5, 10 steps (the step tends to lr g / (1 - 0.5))",
            np.array([1.0, -2.0]),
            np.tile(np.array([1.0, 0.5]), (10, 1)),
            {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.0},
        ),
        (
            "a zero gradient and weight decay 0.5 (only the decay acts)",
            np.array([2.0, -1.0, 0.5]),
            np.zeros((3, 3)),
            {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.5},
        ),
        (
            "a large weight decay, 10, with momentum 0.9, 3 random steps",
            rng.normal(size=3),
            rng.normal(size=(3, 3)),
            {"lr": 0.05, "momentum": 0.9, "weight_decay": 10.0},
        ),
    ]


def check_sgd_step(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(p, g, buf, lr, momentum, weight_decay)``, one SGD step, against torch.

    One step of stochastic gradient descent with momentum :math:`\mu` and L2 weight
    decay :math:`\lambda`, as ``torch.optim.SGD`` (without dampening):

    .. math::

        g \leftarrow g + \lambda p, \qquad b \leftarrow \mu b + g, \qquad
        p \leftarrow p - \eta\, b,

    with the buffer started at :math:`b_0 = 0`, so that :math:`b_1 = g_1`. The check
    runs several consecutive steps, feeding each step the ``p`` and ``buf`` the previous
    one returned, and compares ``p`` after every step (and ``buf``, where
    :math:`\mu > 0`) with ``torch.optim.SGD`` in float64. Cases: plain SGD, plain SGD with
    weight decay, momentum 0.9,
    momentum with weight decay on a matrix, a constant gradient for 10 steps, a zero
    gradient with weight decay, and a large weight decay.

    Parameters
    ----------
    impl : callable
        The student's step: float64 arrays ``p`` (the parameters), ``g`` (their gradient)
        and ``buf`` (the momentum buffer, zeros before the first step), all of one shape,
        and the numbers ``lr``, ``momentum`` and ``weight_decay``, to the pair
        ``(p, buf)`` after the step.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case and step where ``p`` or ``buf`` is wrong (or not two arrays come
        back), naming the case, its inputs, the step, the expected and returned arrays.

    Examples
    --------
    >>> import numpy as np
    >>> def sgd_step(p, g, buf, lr, momentum, weight_decay):
    ...     g = g + weight_decay * p
    ...     buf = momentum * buf + g
    ...     return p - lr * buf, buf
    >>> check_sgd_step(sgd_step)
    check_sgd_step passed all 7 cases: plain SGD (momentum 0), 3 random steps; ...
    """
    c = Checker("check_sgd_step", impl, "sgd_step")
    for label, p0, grads, hyper in _sgd_cases():
        c.case(label, p=p0, grads=grads, **hyper)
        expected = _torch_run("SGD", p0, grads, **hyper)
        p, buf = p0.copy(), np.zeros_like(p0)
        steps = len(grads)
        for k, (g, exp) in enumerate(zip(grads, expected, strict=True), start=1):
            args = (hyper["lr"], hyper["momentum"], hyper["weight_decay"])
            got = c.outputs(c.call(p, g, buf, *args), ("p", "buf"), "arrays")
            p = c.close(got[0], exp[0], what=f"p after step {k} of {steps}", rtol=1e-9, atol=1e-12)
            if hyper["momentum"] > 0:
                buf = c.close(
                    got[1], exp[1], what=f"buf after step {k} of {steps}", rtol=1e-9, atol=1e-12
                )
            else:
                # not compared (without momentum torch keeps no buffer), but converted as above
                try:
                    buf = np.asarray(got[1], dtype=np.float64)
                except (TypeError, ValueError):
                    buf = got[1]
    return c.result()


AdamCase = tuple[str, np.ndarray, np.ndarray, dict[str, float]]


def _adam_cases(decay: float) -> list[AdamCase]:
    """Adam's and AdamW's cases; ``decay`` is the weight decay of the random cases.

    The cases built for the classic errors come first, so that each fails on its own case
    with a visible difference: the bias correction missing or with the wrong power (one
    step at t = 1, gradients so large that every form of eps is invisible), no eps (0/0 in
    the coordinates without gradient), and eps inside the root, squared or scaled as in
    the paper's efficient form (tiny gradients).
    """
    rng = np.random.default_rng(20304 if decay == 0 else 20305)
    base = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    random1 = (rng.normal(size=5), rng.normal(size=(4, 5)))
    random2 = (rng.normal(size=(3, 4)), rng.normal(size=(3, 3, 4)))
    large = (rng.normal(size=3), rng.normal(size=(3, 3)))
    tiny_rng = np.random.default_rng(20311)  # the same tiny gradients for Adam and AdamW
    tiny = (tiny_rng.normal(size=3), 1e-6 * tiny_rng.normal(size=(10, 3)))
    return [
        (
            "one step, t = 1, gradients of sizes 1e3, 1e4 and 1e5 (with the bias correction "
            "each coordinate moves by lr, within 1e-12)",
            np.array([0.5, -0.5, 1.0]),
            np.array([[1e3, -1e4, 1e5]]),
            {**base, "lr": 0.1, "weight_decay": 0.0},
        ),
        (
            "a zero gradient in 2 coordinates (0/0 without eps)",
            np.array([1.0, 2.0, -1.0, 0.5]),
            np.array([[0.0, 1.0, 0.0, -2.0], [0.0, 0.5, 0.0, 1.0], [0.0, -1.0, 0.0, 3.0]]),
            {**base, "lr": 1e-3, "weight_decay": 0.0},
        ),
        (
            "10 steps of gradients of size 1e-6 (sqrt(v_hat) is about 7e-7 to 2e-6, 70 to 200 "
            "eps: eps inside the root, squared or rescaled shows)",
            *tiny,
            {**base, "lr": 1e-3, "weight_decay": 0.0},
        ),
        (
            f"4 random steps, eps 1e-6, weight decay {decay:g}",
            *random1,
            {**base, "eps": 1e-6, "weight_decay": decay},
        ),
        (
            "betas (0.8, 0.99) and weight decay 0.1 on a (3, 4) matrix, 3 random steps",
            *random2,
            {**base, "lr": 0.05, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1},
        ),
        (
            "a zero gradient and weight decay 0.5",
            np.array([2.0, -1.0]),
            np.zeros((3, 2)),
            {**base, "lr": 0.1, "weight_decay": 0.5},
        ),
        (
            "a large weight decay, 5, 3 random steps",
            *large,
            {**base, "lr": 0.05, "weight_decay": 5.0},
        ),
        (
            "25 steps of a constant gradient (the bias correction at t = 1 to 25)",
            np.array([1.0, -1.0]),
            np.tile(np.array([0.3, -2.0]), (25, 1)),
            {**base, "lr": 0.01, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0},
        ),
    ]


def _check_adam(c: Checker, optimiser: str, cases: list[AdamCase]) -> CheckResult:
    for label, p0, grads, hyper in cases:
        c.case(label, p=p0, grads=grads, **hyper)
        expected = _torch_run(optimiser, p0, grads, **hyper)
        p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
        steps = len(grads)
        for k, (g, exp) in enumerate(zip(grads, expected, strict=True), start=1):
            args = tuple(hyper[n] for n in ("lr", "beta1", "beta2", "eps", "weight_decay"))
            got = c.outputs(c.call(p, g, m, v, k, *args), ("p", "m", "v"), "arrays")
            m = c.close(
                got[1], exp[1], what=f"m after step t = {k} of {steps}", rtol=1e-9, atol=1e-20
            )
            v = c.close(
                got[2], exp[2], what=f"v after step t = {k} of {steps}", rtol=1e-9, atol=1e-30
            )
            p = c.close(
                got[0], exp[0], what=f"p after step t = {k} of {steps}", rtol=1e-9, atol=1e-12
            )
    return c.result()


def check_adam_step(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay)``, one Adam step.

    One step of Adam with L2 weight decay, as ``torch.optim.Adam``: the decay is added to
    the gradient, which then enters both moving averages,

    .. math::

        g &\leftarrow g + \lambda p, \qquad
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \\
        p &\leftarrow p - \eta\, \frac{m / (1 - \beta_1^t)}
            {\sqrt{v / (1 - \beta_2^t)} + \epsilon},

    with :math:`m_0 = v_0 = 0` and :math:`t = 1, 2, \dots` the number of this step. The
    check runs several consecutive steps, feeding each the ``p``, ``m`` and ``v`` the
    previous one returned, and compares all three after every step with
    ``torch.optim.Adam`` in float64, ``m`` and ``v`` first (so that a wrong ``p`` with
    the right ``m`` and ``v`` points at the update itself). The cases built for the
    classic errors come first, each error failing on its own: one step at :math:`t = 1`
    with gradients of size :math:`10^3` to :math:`10^5` (where the bias correction
    matters most and :math:`\epsilon`, in any of its forms, does not show), coordinates
    whose gradient is always zero (0/0 without :math:`\epsilon`), gradients of size
    :math:`10^{-6}` (where :math:`\sqrt{\hat v}` is only about 70 to 200
    :math:`\epsilon` and :math:`\hat v` is below :math:`10^{-11}`, so that
    :math:`\epsilon` inside the root, squared, or rescaled as in the paper's efficient
    form shows); then random steps without and with weight decay (on a matrix, with other betas), a
    zero gradient with weight decay, a large weight decay and 25 steps of a constant gradient.

    Parameters
    ----------
    impl : callable
        The student's step: float64 arrays ``p``, ``g``, ``m`` and ``v`` of one shape (the
        parameters, their gradient, and the two moving averages, zeros before the first
        step), the step number ``t`` (an int, 1 on the first step) and the numbers
        ``lr``, ``beta1``, ``beta2``, ``eps`` and ``weight_decay``, to the triple
        ``(p, m, v)`` after the step, with ``m`` and ``v`` not bias-corrected.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case and step where ``p``, ``m`` or ``v`` is wrong (or not three
        arrays come back), naming the case, its inputs, the step, the expected and
        returned arrays.

    Examples
    --------
    >>> import numpy as np
    >>> def adam_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    ...     g = g + weight_decay * p
    ...     m = beta1 * m + (1 - beta1) * g
    ...     v = beta2 * v + (1 - beta2) * g * g
    ...     m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    ...     return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    >>> check_adam_step(adam_step)
    check_adam_step passed all 8 cases: one step, t = 1, gradients of sizes 1e3, 1e4 and 1e5 ...
    """
    return _check_adam(Checker("check_adam_step", impl, "adam_step"), "Adam", _adam_cases(0.0))


def check_adamw_step(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay)``, one AdamW step.

    One step of Adam with decoupled weight decay, as ``torch.optim.AdamW``: the weights
    shrink by the factor :math:`1 - \eta\lambda`, and the Adam step, built from the plain
    gradient, follows,

    .. math::

        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \\
        p &\leftarrow (1 - \eta\lambda)\, p - \eta\, \frac{m / (1 - \beta_1^t)}
            {\sqrt{v / (1 - \beta_2^t)} + \epsilon}.

    The check runs several consecutive steps and compares ``p``, ``m`` and ``v`` after
    every step with ``torch.optim.AdamW`` in float64. Cases: those of
    :func:`check_adam_step`, with weight decay 0.01 in the first random one.

    Parameters
    ----------
    impl : callable
        The student's step, with the arguments and results of the one of
        :func:`check_adam_step`.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case and step where ``p``, ``m`` or ``v`` is wrong (or not three
        arrays come back), naming the case, its inputs, the step, the expected and
        returned arrays.

    Examples
    --------
    >>> import numpy as np
    >>> def adamw_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    ...     m = beta1 * m + (1 - beta1) * g
    ...     v = beta2 * v + (1 - beta2) * g * g
    ...     m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    ...     return (1 - lr * weight_decay) * p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    >>> check_adamw_step(adamw_step)
    check_adamw_step passed all 8 cases: one step, t = 1, gradients of sizes 1e3, 1e4 and 1e5 ...
    """
    return _check_adam(Checker("check_adamw_step", impl, "adamw_step"), "AdamW", _adam_cases(0.01))


# --------------------------------------------------------------------------- training


def _training_cases() -> list[tuple[str, np.ndarray, np.ndarray, int, int, float]]:
    rng = np.random.default_rng(20308)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    sizes = [13, 9, 8]  # none 1/3 of 30: no gradient of b is 0 at the start
    blobs = np.repeat(centres, sizes, axis=0) + 0.8 * rng.normal(size=(30, 2))
    blob_labels = np.repeat(np.arange(3), sizes)
    return [
        (
            "3 blobs of 13, 9 and 8 points in 2-D, 3 classes, 50 steps of lr 0.1",
            blobs,
            blob_labels,
            3,
            50,
            0.1,
        ),
        (
            "the same blobs, one step, t = 1, of lr 0.1 from zero (each weight moves by about lr)",
            blobs,
            blob_labels,
            3,
            1,
            0.1,
        ),
        (
            "7 examples of 5 features, 4 classes of which class 3 has no example, 20 steps "
            "of lr 0.05",
            rng.normal(size=(7, 5)),
            np.array([0, 1, 2, 0, 1, 2, 0]),
            4,
            20,
            0.05,
        ),
        (
            "2 classes, 12 examples of 3 features, one of them 1000 times the others, 30 "
            "steps of lr 0.01",
            rng.normal(size=(12, 3)) * np.array([1.0, 1.0, 1000.0]),
            np.array([0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0]),
            2,
            30,
            0.01,
        ),
    ]


def _torch_training(
    X: np.ndarray, labels: np.ndarray, K: int, steps: int, lr: float
) -> tuple[np.ndarray, np.ndarray]:
    t = torch()
    W = t.zeros((K, X.shape[1]), dtype=t.float64, requires_grad=True)
    b = t.zeros(K, dtype=t.float64, requires_grad=True)
    opt = t.optim.Adam([W, b], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    Xt, yt = t.tensor(X, dtype=t.float64), t.tensor(labels)
    for _ in range(steps):
        opt.zero_grad()
        t.nn.functional.cross_entropy(Xt @ W.T + b, yt).backward()
        opt.step()
    return W.detach().numpy().copy(), b.detach().numpy().copy()


def _scale_hint(got: Any, expected: np.ndarray) -> str:
    """Return a hint when ``got`` is off by 1e-9 to 1e-5 in relative terms, else ""."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    if arr.shape != expected.shape or not np.isfinite(arr).all():
        return ""
    err = float(np.abs(arr - expected).max() / max(float(np.abs(expected).max()), 1e-300))
    if not 1e-9 < err < 1e-5:
        return ""
    return (
        f" (its relative error is only {err:.1g}: after Adam, an error this small usually "
        "means a gradient off by a constant factor, such as a forgotten 1/N, which Adam "
        "sees only through eps)"
    )


def check_train_softmax_regression(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(X, labels, K, steps, lr)``, softmax regression trained by Adam.

    The model is :math:`Z = X W^\top + b` (``torch.nn.Linear``'s convention), with
    :math:`W` of shape (K, D) and :math:`b` of shape (K,), both started at zero; the loss
    is the mean cross-entropy of the rows of :math:`Z` against ``labels``; the training
    is ``steps`` full-batch steps of Adam with learning rate ``lr``, betas (0.9, 0.999),
    :math:`\epsilon = 10^{-8}` and no weight decay, one Adam state for :math:`W` and one
    for :math:`b`. The oracle is the same training with ``torch.optim.Adam`` in float64.
    Cases: three blobs in 2-D for 50 steps, one step from zero, a class with no example,
    and a feature 1000 times the size of the others. In no case is a class's share of
    the examples :math:`1/K`: the gradient of its bias at zero would then be 0 up to
    rounding, some :math:`10^{-16}`; :math:`\epsilon` dominates Adam's denominator there,
    and the first step is :math:`\eta|g|/\epsilon \approx 10^{-8}\eta`, far above the
    absolute tolerance :math:`10^{-12}` and different in each rounding. A relative error
    between :math:`10^{-9}` and :math:`10^{-5}` gets a hint in the message: after Adam,
    an error that small usually means a gradient off by a constant factor (a mean
    for a sum, a forgotten :math:`1/N`), which Adam sees only through :math:`\epsilon`.

    Parameters
    ----------
    impl : callable
        The student's training: float64 inputs ``X`` of shape (N, D), integer labels of
        shape (N,) in ``[0, K)``, the number of classes ``K``, the number of steps and
        the learning rate, to the pair ``(W, b)`` after the last step.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case where ``W`` or ``b`` is wrong (or of the wrong shape, or not
        two arrays come back), naming the case, its inputs and the two arrays.

    Examples
    --------
    >>> from derived.losses import cross_entropy_grad
    >>> from derived.optim import Adam
    >>> def train_softmax_regression(X, labels, K, steps, lr):
    ...     W, b = np.zeros((K, X.shape[1])), np.zeros(K)
    ...     opt = Adam([W, b], lr=lr)
    ...     for _ in range(steps):
    ...         G = cross_entropy_grad(X @ W.T + b, labels)
    ...         opt.step([G.T @ X, G.sum(axis=0)])
    ...     return W, b
    >>> check_train_softmax_regression(train_softmax_regression)
    check_train_softmax_regression passed all 4 cases: 3 blobs of 13, 9 and 8 points in 2-D, ...
    """
    c = Checker("check_train_softmax_regression", impl, "train_softmax_regression")
    for label, X, labels, K, steps, lr in _training_cases():
        c.case(label, X=X, labels=labels, K=K, steps=steps, lr=lr)
        got = c.outputs(c.call(X, labels, K, steps, lr), ("W", "b"), "arrays")
        W, b = _torch_training(X, labels, K, steps, lr)
        for name, mine, theirs in (("W", got[0], W), ("b", got[1], b)):
            c.close(mine, theirs, what=f"{name} after {steps} steps{_scale_hint(mine, theirs)}",
                    rtol=1e-9, atol=1e-12)  # fmt: skip
    return c.result()
