"""Checks for Part IV, Structure and evaluation: convolution, pooling, top-k error, t-SNE."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from derived.check._core import Checker, CheckResult, torch

__all__ = [
    "check_conv2d",
    "check_conv2d_backward",
    "check_kl_gradient",
    "check_max_pool2d_backward",
    "check_topk_error",
]


# --------------------------------------------------------------------------- convolution

ConvCase = tuple[str, np.ndarray, np.ndarray, np.ndarray, int, int]


def _conv_cases() -> list[ConvCase]:
    rng = np.random.default_rng(20401)

    def draw(n: int, c: int, h: int, w: int, f: int, kh: int, kw: int) -> tuple[Any, ...]:
        return rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f)

    cases: list[ConvCase] = []
    x, w, b = draw(2, 3, 5, 6, 4, 3, 3)
    cases.append(
        ("random, 2 images of 3 x 5 x 6, 4 filters of 3 x 3, stride 1, no padding", x, w, b, 1, 0)
    )
    x, w, b = draw(2, 2, 6, 6, 3, 3, 3)
    cases.append(("stride 2 and padding 1", x, w, b, 2, 1))
    x, w, b = draw(1, 2, 7, 5, 2, 2, 3)
    cases.append(("a batch of one, a 2 x 3 kernel on a 7 x 5 image (not square)", x, w, b, 1, 0))
    x, w, b = draw(2, 1, 7, 8, 2, 3, 2)
    cases.append(("stride 3: the last row, and the columns between windows, unused", x, w, b, 3, 0))
    x, w, b = draw(3, 4, 4, 3, 5, 1, 1)
    cases.append(("a 1 x 1 kernel (a linear map of the channels at each pixel)", x, w, b, 1, 0))
    x, w, b = draw(1, 2, 3, 4, 2, 3, 4)
    cases.append(("a kernel as large as the image (one output pixel)", x, w, b, 1, 0))
    x, w, b = draw(2, 2, 3, 3, 3, 3, 3)
    cases.append(("padding 2 with a 3 x 3 kernel (output larger than the input)", x, w, b, 1, 2))
    x, w, b = draw(2, 2, 7, 7, 3, 3, 3)
    cases.append(
        (
            "padding 1 and stride 4 on a 7 x 7 image: input rows and columns 2 and 6 unread",
            x,
            w,
            b,
            4,
            1,
        )
    )
    return cases


def _torch_conv(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int
) -> tuple[Any, Any, Any, Any]:
    t = torch()
    xt, wt, bt = (t.tensor(a, dtype=t.float64, requires_grad=True) for a in (x, w, b))
    y = t.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
    return y, xt, wt, bt


def check_conv2d(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(x, w, b, stride, padding)``, a 2-D convolution layer (NCHW).

    As in deep-learning libraries, the "convolution" is a cross-correlation (the
    filter is not flipped):

    .. math::

        y_{nfuv} = b_f + \sum_{c,i,j} w_{fcij}\, \tilde x_{n,c,su+i,sv+j},

    with :math:`\tilde x` the input padded with ``padding`` zeros on every side and
    :math:`s` the stride. The oracle is ``torch.nn.functional.conv2d`` in float64.
    Cases: a random batch, stride 2 with padding 1, a batch of one with a kernel and an
    image that are not square, a stride that leaves rows and columns unused, a 1 x 1
    kernel, a kernel as large as the image, padding larger than the kernel's half, and
    padding with a stride that leaves rows and columns of the input itself (not only of
    the padding) unread.

    Parameters
    ----------
    impl : callable
        The student's convolution: ``x`` of shape (N, C, H, W), ``w`` of shape
        (F, C, kh, kw), ``b`` of shape (F,) (float64) and the integers ``stride`` and
        ``padding`` to ``y`` of shape (N, F, H_out, W_out) with
        :math:`H_{out} = \lfloor (H + 2p - k_h)/s \rfloor + 1` (and likewise for W).

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose output is wrong (or of the wrong shape), naming the
        case, its inputs, the expected and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.conv import conv2d
    >>> check_conv2d(conv2d)
    check_conv2d passed all 8 cases: random, 2 images of 3 x 5 x 6, ...
    """
    c = Checker("check_conv2d", impl, "conv2d")
    for label, x, w, b, stride, padding in _conv_cases():
        c.case(label, x=x, w=w, b=b, stride=stride, padding=padding)
        got = c.call(x, w, b, stride, padding)
        expected = _torch_conv(x, w, b, stride, padding)[0].detach().numpy()
        c.close(got, expected, what="output y", rtol=1e-9, atol=1e-11)
    return c.result()


def check_conv2d_backward(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(dout, x, w, stride, padding)``, the backward pass of a convolution.

    For the layer of :func:`check_conv2d` and an upstream gradient
    :math:`g = \partial L / \partial y`, ``impl`` returns

    .. math::

        \frac{\partial L}{\partial x}, \qquad
        \frac{\partial L}{\partial w_{fcij}} = \sum_{n,u,v} g_{nfuv}\,
        \tilde x_{n,c,su+i,sv+j}, \qquad
        \frac{\partial L}{\partial b_f} = \sum_{n,u,v} g_{nfuv},

    each shaped like its parameter. The oracle is torch autograd of
    :math:`\sum g \odot y` through ``torch.nn.functional.conv2d`` in float64. Cases:
    those of :func:`check_conv2d` (where a stride leaves input pixels unused, their
    gradient is 0), with a random ``dout``.

    Parameters
    ----------
    impl : callable
        The student's backward pass: ``dout`` (N, F, H_out, W_out), ``x`` (N, C, H, W),
        ``w`` (F, C, kh, kw) float64 and the integers ``stride`` and ``padding`` to the
        three gradients ``(dx, dw, db)``.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case with a wrong gradient (or not three of them), naming the case,
        its inputs, the gradient, the expected and the returned arrays and the largest
        error.

    Examples
    --------
    >>> from derived.conv import conv2d_backward
    >>> check_conv2d_backward(conv2d_backward)
    check_conv2d_backward passed all 8 cases: random, 2 images of 3 x 5 x 6, ...
    """
    c = Checker("check_conv2d_backward", impl, "conv2d_backward")
    rng = np.random.default_rng(20402)
    for label, x, w, b, stride, padding in _conv_cases():
        y, xt, wt, bt = _torch_conv(x, w, b, stride, padding)
        dout = rng.normal(size=tuple(y.shape))
        c.case(label, dout=dout, x=x, w=w, stride=stride, padding=padding)
        got = c.call(dout, x, w, stride, padding)
        got = c.outputs(got, ("dx", "dw", "db"), "gradients")
        (y * torch().tensor(dout)).sum().backward()
        for name, g, p in zip(("dx", "dw", "db"), got, (xt, wt, bt), strict=True):
            c.close(g, p.grad.numpy(), what=f"gradient {name}", rtol=1e-9, atol=1e-11)
    return c.result()


# --------------------------------------------------------------------------- max pooling

PoolCase = tuple[str, np.ndarray, int, int]


def _pool_cases() -> list[PoolCase]:
    rng = np.random.default_rng(20403)
    ties = rng.integers(0, 3, size=(2, 2, 5, 5)).astype(np.float64)  # many equal values
    plateau = np.zeros((1, 1, 4, 5))
    plateau[0, 0, 1:3, 1:4] = 1.0  # a 2 x 3 block of equal maxima
    return [
        (
            "random, 2 x 3 channels of 4 x 6, 2 x 2 windows, stride 2",
            rng.normal(size=(2, 3, 4, 6)),
            2,
            2,
        ),
        (
            "overlapping 3 x 3 windows, stride 1 (gradients add up)",
            rng.normal(size=(2, 2, 5, 6)),
            3,
            1,
        ),
        (
            "overlapping 3 x 3 windows, stride 2, on a 7 x 5 image",
            rng.normal(size=(1, 2, 7, 5)),
            3,
            2,
        ),
        (
            "stride 2 on a 5 x 7 image (the last row and column in no window)",
            rng.normal(size=(1, 1, 5, 7)),
            2,
            2,
        ),
        ("a batch of one, one window covering the image", rng.normal(size=(1, 1, 3, 3)), 3, 3),
        ("ties: values in {0, 1, 2}, overlapping 3 x 3 windows, stride 1", ties, 3, 1),
        (
            "ties: a constant image, overlapping 2 x 2 windows, stride 1",
            np.full((1, 2, 3, 4), 0.5),
            2,
            1,
        ),
        ("ties: a plateau of equal maxima, 2 x 2 windows, stride 1", plateau, 2, 1),
    ]


def check_max_pool2d_backward(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(dout, x, kernel_size, stride)``, the backward pass of max pooling.

    Max pooling (NCHW, square ``kernel_size`` x ``kernel_size`` windows moved by
    ``stride``, no padding) outputs each window's maximum. Its gradient sends each
    window's upstream gradient :math:`g_{nc uv}` to the position of the window's maximum
    in ``x``; where windows overlap, the contributions add up. **Ties:** when several
    elements of a window equal its maximum, the whole of :math:`g_{ncuv}` goes to the
    *first* of them in row-major order within the window (the rule of PyTorch's CPU
    kernel, which keeps the first maximum it meets scanning the window row by row). The
    oracle is torch autograd through ``torch.nn.functional.max_pool2d`` on the CPU in
    float64. Cases: random windows that tile the image, overlapping windows, a stride
    that leaves pixels in no window (their gradient is 0), one window covering the
    image, and three kinds of ties (small integers, a constant image, a plateau), with
    overlapping windows.

    Parameters
    ----------
    impl : callable
        The student's backward pass: ``dout`` (N, C, H_out, W_out) and ``x``
        (N, C, H, W) float64 and the integers ``kernel_size`` and ``stride`` to ``dx``
        of shape (N, C, H, W), with :math:`H_{out} = \lfloor (H - k)/s \rfloor + 1`.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose gradient is wrong, naming the case, its inputs, the
        expected and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.pooling import max_pool2d_backward
    >>> check_max_pool2d_backward(max_pool2d_backward)
    check_max_pool2d_backward passed all 8 cases: random, 2 x 3 channels of 4 x 6, ...
    """
    c = Checker("check_max_pool2d_backward", impl, "max_pool2d_backward")
    t = torch()
    rng = np.random.default_rng(20404)
    for label, x, k, s in _pool_cases():
        xt = t.tensor(x, dtype=t.float64, requires_grad=True)  # on the CPU: its rule for ties
        y = t.nn.functional.max_pool2d(xt, k, s)
        dout = rng.normal(size=tuple(y.shape))
        c.case(label, dout=dout, x=x, kernel_size=k, stride=s)
        got = c.call(dout, x, k, s)
        (y * t.tensor(dout)).sum().backward()
        c.close(got, xt.grad.numpy(), what="gradient dx", rtol=1e-12, atol=1e-14)
    return c.result()


# --------------------------------------------------------------------------- top-k error

TopkCase = tuple[str, np.ndarray, np.ndarray, int]


def _topk_cases() -> list[TopkCase]:
    rng = np.random.default_rng(20405)
    ints = rng.integers(0, 3, size=(6, 5)).astype(np.float64)  # ties above and below labels
    return [
        (
            "random scores, 8 examples, 5 classes, k = 1",
            rng.normal(size=(8, 5)),
            rng.integers(0, 5, size=8),
            1,
        ),
        (
            "random scores, 10 examples, 6 classes, k = 3",
            rng.normal(size=(10, 6)),
            rng.integers(0, 6, size=10),
            3,
        ),
        (
            "one example, the true label third of 4, k = 2",
            np.array([[0.3, 0.1, 0.5, 0.9]]),
            np.array([0]),
            2,
        ),
        ("k = K (no error possible)", rng.normal(size=(4, 3)), rng.integers(0, 3, size=4), 3),
        ("ties: every class scores the same, k = 2", np.zeros((3, 5)), np.array([0, 2, 4]), 2),
        ("ties: scores in {0, 1, 2}, k = 2", ints, rng.integers(0, 5, size=6), 2),
        (
            "ties: the true label's tied block straddles the cut, k = 1",
            np.array([[1.0, 2.0, 2.0, 0.0], [3.0, 3.0, 3.0, 3.0], [5.0, 1.0, 5.0, 4.0]]),
            np.array([1, 3, 0]),
            1,
        ),
        (
            "ties: one class above the label and two tied with it, k = 2 (one slot left)",
            np.array([[3.0, 1.0, 1.0, 1.0, 0.0]]),
            np.array([1]),
            2,
        ),
    ]


def _topk_error_brute_force(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean over examples of the fraction of tie-breaking orders that leave the label out."""
    errors = []
    for s, y in zip(scores, labels, strict=True):
        orders = [
            p for p in itertools.permutations(range(len(s))) if np.all(np.diff(s[list(p)]) <= 0)
        ]
        errors.append(np.mean([y not in p[:k] for p in orders]))  # p: classes, best first
    return float(np.mean(errors))


def check_topk_error(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(scores, labels, k)``, the top-k error, against brute force.

    An example counts as an error when its true label is not among the ``k`` classes
    with the highest scores. **Ties** (the convention of this check): when classes score
    exactly the same, the order among them is taken uniformly at random and the
    *expected* error is returned. With :math:`g_n` classes scoring strictly above the
    true label and :math:`e_n` other classes scoring the same, example :math:`n` counts

    .. math::

        1 - \frac{\min(\max(k - g_n, 0),\, e_n + 1)}{e_n + 1},

    which is 0 or 1 without ties, and the result is the mean over the :math:`N`
    examples. The oracle is brute force: for each example it lists every order of the
    classes that sorts the scores from high to low (every way of breaking its ties) and
    takes the fraction in which the label is not among the first ``k``. Cases: random
    scores (k = 1 and k = 3), one example, k = K, and three kinds of ties.

    Parameters
    ----------
    impl : callable
        The student's top-k error: ``scores`` (N, K) float64, integer ``labels`` (N,)
        in ``[0, K)`` and an integer ``k`` in ``[1, K]`` to a number in [0, 1].

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose error is wrong, naming the case, its inputs, the
        expected and the returned values.

    Examples
    --------
    >>> from derived.metrics import topk_error
    >>> check_topk_error(topk_error)
    check_topk_error passed all 8 cases: random scores, 8 examples, 5 classes, k = 1; ...
    """
    c = Checker("check_topk_error", impl, "topk_error")
    for label, scores, labels, k in _topk_cases():
        c.case(label, scores=scores, labels=labels, k=k)
        got = c.call(scores, labels, k)
        c.require(
            np.ndim(got) == 0,
            f"topk_error should return one number, got {type(got).__name__} {got!r}"[:400],
        )
        expected = _topk_error_brute_force(scores, labels, k)
        c.close(got, expected, what="top-k error", rtol=1e-12, atol=1e-12)
    return c.result()


# --------------------------------------------------------------------------- t-SNE

TsneCase = tuple[str, np.ndarray, np.ndarray]


def _joint(rng: np.random.Generator, n: int, zeros: float = 0.0) -> np.ndarray:
    """Draw a joint affinity matrix: symmetric, non-negative, zero diagonal, sum 1."""
    A = rng.random((n, n))
    A[rng.random((n, n)) < zeros] = 0.0
    P = A + A.T
    np.fill_diagonal(P, 0.0)
    return np.asarray(P / P.sum())


def _tsne_cases() -> list[TsneCase]:
    rng = np.random.default_rng(20406)
    coincident = rng.normal(size=(5, 2))
    coincident[3] = coincident[1]
    return [
        ("random P and Y, 6 points in 2-D", _joint(rng, 6), rng.normal(size=(6, 2))),
        ("random P and Y, 5 points in 3-D", _joint(rng, 5), rng.normal(size=(5, 3))),
        ("8 points on a line (1-D map)", _joint(rng, 8), rng.normal(size=(8, 1))),
        (
            "two points (Q = P: the gradient is 0)",
            np.array([[0.0, 0.5], [0.5, 0.0]]),
            np.array([[0.0, 0.0], [1.0, 2.0]]),
        ),
        (
            "P with many zeros (pairs that are not neighbours)",
            _joint(rng, 7, zeros=0.6),
            rng.normal(size=(7, 2)),
        ),
        ("two coincident map points", _joint(rng, 5), coincident),
        ("a spread-out map (distances near 100)", _joint(rng, 6), 50.0 * rng.normal(size=(6, 2))),
    ]


def check_kl_gradient(impl: Callable[..., Any]) -> CheckResult:
    r"""Check ``impl(P, Y)``, the gradient of the t-SNE objective, against torch autograd.

    With the Student-t kernel :math:`w_{ij} = (1 + \lVert y_i - y_j\rVert^2)^{-1}` for
    :math:`i \ne j`, :math:`q_{ij} = w_{ij} / \sum_{k \ne l} w_{kl}` and the objective
    :math:`C = \sum_{i \ne j} p_{ij} \log(p_{ij} / q_{ij})`, the gradient is

    .. math::

        \frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij})\, w_{ij}\,
        (y_i - y_j).

    The oracle is torch autograd in float64 of
    :math:`\sum_{ij} p_{ij} \log(1 + \lVert y_i - y_j\rVert^2) + \log \sum_{k \ne l}
    w_{kl}`, which differs from :math:`C` by a constant as :math:`\sum p_{ij} = 1`.
    Cases: random ``P`` and ``Y`` in 2-D and 3-D, a 1-D map, two points, a ``P`` with
    many zeros, two coincident map points and a spread-out map.

    Parameters
    ----------
    impl : callable
        The student's gradient: ``P`` of shape (N, N) (symmetric, non-negative, zero
        diagonal, summing to 1) and the map ``Y`` of shape (N, d), both float64, to the
        gradient of shape (N, d), row :math:`i` being :math:`\partial C / \partial y_i`.

    Returns
    -------
    CheckResult
        The cases that passed.

    Raises
    ------
    CheckFailure
        At the first case whose gradient is wrong, naming the case, ``P`` and ``Y``, the
        expected and the returned arrays and the largest error.

    Examples
    --------
    >>> from derived.tsne import kl_gradient
    >>> check_kl_gradient(kl_gradient)
    check_kl_gradient passed all 7 cases: random P and Y, 6 points in 2-D; ...
    """
    c = Checker("check_kl_gradient", impl, "kl_gradient")
    t = torch()
    for label, P, Y in _tsne_cases():
        c.case(label, P=P, Y=Y)
        got = c.call(P, Y)
        Yt = t.tensor(Y, dtype=t.float64, requires_grad=True)
        sq = ((Yt[:, None, :] - Yt[None, :, :]) ** 2).sum(dim=-1)  # (N, N)
        off = 1.0 - t.eye(len(Y), dtype=t.float64)
        objective = (t.tensor(P) * t.log1p(sq)).sum() + t.log((off / (1.0 + sq)).sum())
        objective.backward()
        expected = Yt.grad.numpy()
        scale = float(np.abs(expected).max())
        c.close(got, expected, what="gradient", rtol=1e-8, atol=1e-12 + 1e-10 * scale)
    return c.result()
