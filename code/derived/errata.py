r"""The errata: every error in the homework solutions this book grew from, with a check.

Each :class:`Erratum` records where an error came from (the seed), the chapter that
teaches the right version, and a *check*: a function that computes the wrong and the
right version and compares them with an independent oracle, returning an
:class:`ErratumCheck`. The oracle is always something other than the formula under test:
central finite differences in float64, brute-force enumeration or an exact counter, the
framework's own implementation (PyTorch), the original network, a value known exactly,
or recorded measurements (``derived/recorded/``). A check passes the book's standard
when the right version agrees with the oracle within the tolerance and the wrong
version does not.

The words of each erratum (the wrong statement, the right one, and the link to the
chapter's "Common mistake" box) are the Errata appendix's own text
(``book/appendix/errata.md``), in a section labelled ``errata-<id>`` that ends in a cell
running the check of :data:`ERRATA` ``[id]`` and printing its :func:`report`. The
appendix's summary runs :func:`check_all`, and the test suite runs the same checks, so
the appendix and the tests cannot drift apart.

Finite differences use :math:`h = 10^{-6}`; their truncation and rounding errors are
below :math:`10^{-8}` for the smooth functions here, so a tolerance of
:math:`10^{-6}` separates right from wrong with room to spare: every wrong version
misses by more than :math:`10^{-2}`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from derived.jacobians import numerical_jacobian
from derived.softmax import softmax

__all__ = [
    "DOUBLIFY_SEED_CPU_S",
    "DOUBLIFY_SEED_GPU_S",
    "ERRATA",
    "Erratum",
    "ErratumCheck",
    "check_all",
    "report",
]

Array = NDArray[np.float64]
FD_TOL = 1e-6


@dataclass(frozen=True)
class ErratumCheck:
    """The outcome of one erratum's check.

    Attributes
    ----------
    right_error : float
        Distance between the right version and the oracle.
    wrong_error : float
        Distance between the wrong version and the oracle.
    tolerance : float
        The largest distance that counts as agreement.
    measure : str
        What the distances measure (for the reader).
    """

    right_error: float
    wrong_error: float
    tolerance: float
    measure: str

    @property
    def right_passes(self) -> bool:
        """Whether the right version agrees with the oracle."""
        return self.right_error <= self.tolerance

    @property
    def wrong_fails(self) -> bool:
        """Whether the wrong version disagrees with the oracle."""
        return not self.wrong_error <= self.tolerance


@dataclass(frozen=True)
class Erratum:
    """One error of the seeds and its check.

    The prose (the wrong and the right statement, and the link to the chapter's "Common
    mistake" box) is the Errata page's own text, in the section labelled ``errata-<id>``.

    Attributes
    ----------
    id : str
        Short identifier; the Errata page labels its section ``errata-<id>``.
    seed : str
        Which homework solution (problem set) and question it comes from.
    chapter : int
        The chapter that teaches the right version (the order of :func:`check_all`).
    check : callable
        Computes both versions and compares them with an oracle.
    """

    id: str
    seed: str
    chapter: int
    check: Callable[[], ErratumCheck] = field(repr=False)


def _max_abs(a: Array, b: Array) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


_rng = np.random.default_rng  # every check seeds its own generator: reproducible


# --------------------------------------------------------------------------- chapter 1


def _check_or_threshold() -> ErratumCheck:
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    target = np.array([0, 1, 1, 1])
    w = np.array([1.0, 1.0])
    # The two readings of a pre-activation of exactly 0: class 1 (z >= 0) or class 0 (z > 0).
    conventions = (np.greater_equal, np.greater)

    def errors(b: float, kinder: bool = False) -> float:
        """Misclassified inputs under the worse reading (or the kinder one)."""
        z = inputs @ w + b
        counts = [int(np.sum(fires(z, 0.0).astype(int) != target)) for fires in conventions]
        return float(min(counts) if kinder else max(counts))

    # The seed states b = 1 and computes with b = -1 (two inputs land on z = 0) and -1.1.
    # b = -1 is right under the marks' rule z >= 0, so only b = 1 and b = -1.1 are tested:
    # each must misclassify an input even under the kinder reading.
    return ErratumCheck(
        right_error=errors(-0.5),
        wrong_error=min(errors(1.0, kinder=True), errors(-1.1, kinder=True)),
        tolerance=0.0,
        measure="misclassified inputs of OR (of 4); right b = -0.5 under the worse of the "
        "readings z >= 0 and z > 0, wrong: the fewer of b = 1 and b = -1.1, each under the kinder",
    )


# --------------------------------------------------------------------------- chapter 2


def _check_rank_equals_two() -> ErratumCheck:
    from derived.affine import numerical_rank  # the oracle: singular values, with a gap

    rng = _rng(2)
    right, wrong = [], []
    # The seed's shapes, W1 (2 x 10) and W2 (10 x 2), built with rank 1 or 2 by construction.
    for r1, r2 in itertools.product((1, 2), repeat=2):
        W1 = rng.normal(size=(2, r1)) @ rng.normal(size=(r1, 10))
        W2 = rng.normal(size=(10, r2)) @ rng.normal(size=(r2, 2))
        smaller = min(numerical_rank(W1), numerical_rank(W2))
        # Right: the minimum is at most 2 (an excess over 2 counts as an error) and it
        # bounds rank W2 W1 (an excess over the minimum counts as an error too).
        right.append(max(0, smaller - 2) + max(0, numerical_rank(W2 @ W1) - smaller))
        wrong.append(abs(2 - smaller))  # the seed: the minimum "= 2"
    return ErratumCheck(
        float(max(right)),
        float(max(wrong)),
        0.0,
        "W1 2 x 10 and W2 10 x 2 of rank 1 or 2, ranks by SVD (right: excess of "
        "min(rank W1, rank W2) over 2 plus excess of rank W2 W1 over that minimum; "
        "wrong: |2 - min(rank W1, rank W2)|)",
    )


# --------------------------------------------------------------------------- chapter 3


def _pieces_by_dense_slopes(w: Array, b: Array, v: Array) -> int:
    """Count linear pieces of x -> v . relu(w x + b) by evaluating slopes on a fine grid."""
    kinks = -b / w
    x = np.linspace(kinks.min() - 1, kinks.max() + 1, 200_001)
    y = np.maximum(np.outer(x, w) + b, 0.0) @ v
    slopes = np.diff(y) / np.diff(x)
    changes = np.abs(np.diff(slopes)) > 1e-6
    # a kink between grid points shows up as two consecutive changes: count runs
    starts = changes & ~np.concatenate([[False], changes[:-1]])
    return int(np.sum(starts)) + 1


def _check_pieces_base_case() -> ErratumCheck:
    rng = _rng(3)
    right, wrong = [], []
    for width in range(1, 7):
        w = rng.choice([-1.0, 1.0], size=width) * rng.uniform(0.5, 2.0, size=width)
        b = -w * np.linspace(-1.0, 1.0, width)  # kinks at distinct, separated points
        v = rng.choice([-1.0, 1.0], size=width) * rng.uniform(0.5, 2.0, size=width)
        pieces = _pieces_by_dense_slopes(w, b, v)
        right.append(abs((width + 1) - pieces))
        wrong.append(abs(2 * width - pieces))
    # Depth 2: the exact counter of derived.regions on random networks; the right bound
    # prod_d (W_d + 1) may never be exceeded (its excess counts as an error).
    from derived.regions import count_pieces, random_network

    for widths in [(2, 2), (3, 4), (5, 3), (6, 6)] * 5:
        weights, biases = random_network(widths, rng, bias_std=1.0)
        bound = int(np.prod(np.add(widths, 1)))
        right.append(max(0, count_pieces(weights, biases) - bound))
    return ErratumCheck(
        right_error=float(max(right)),
        wrong_error=float(max(wrong)),
        tolerance=0.0,
        measure="one hidden layer of width 1-6: |pieces predicted - pieces counted| "
        "(right W + 1, wrong 2W); right also: pieces of 20 random depth-2 networks "
        "(exact counter) above prod (W_d + 1)",
    )


# --------------------------------------------------------------------------- chapter 4


def _check_sigmoid_tanh_conversion() -> ErratumCheck:
    rng = _rng(4)
    W, b = rng.normal(size=(6, 3)), rng.normal(size=6)  # one sigmoid hidden layer
    V, c = rng.normal(size=(2, 6)), rng.normal(size=2)  # a linear output layer
    x = rng.normal(size=(50, 3))
    oracle = (1.0 / (1.0 + np.exp(-(x @ W.T + b)))) @ V.T + c  # the sigmoid network itself
    u = np.tanh(x @ (W / 2).T + b / 2)  # sigma(z) = (1 + tanh(z / 2)) / 2
    right = u @ (V / 2).T + (c + V.sum(axis=1) / 2)  # each output's own shift: V 1 / 2
    wrong = u @ (V / 2).T + (c + 0.5)  # the same constant shift for every output
    # The reverse direction, tanh hidden layer into sigmoid: shift -V' 1 against -1.
    t_oracle = np.tanh(x @ W.T + b) @ V.T + c
    s = 1.0 / (1.0 + np.exp(-(x @ (2 * W).T + 2 * b)))  # tanh(z) = 2 sigma(2z) - 1
    t_right = s @ (2 * V).T + (c - V.sum(axis=1))
    t_wrong = s @ (2 * V).T + (c - 1.0)
    return ErratumCheck(
        max(_max_abs(right, oracle), _max_abs(t_right, t_oracle)),
        min(_max_abs(wrong, oracle), _max_abs(t_wrong, t_oracle)),
        1e-12,
        "max |converted network's output - original's|, both directions (wrong: the closer)",
    )


# --------------------------------------------------------------------------- chapter 5


def _check_xwt_index() -> ErratumCheck:
    rng = _rng(5)
    X = rng.normal(size=(3, 4))
    W = rng.normal(size=(2, 4))
    oracle = numerical_jacobian(lambda M: X @ M.T, W)  # (3, 2, 2, 4): [i, j, k, l]
    eye = np.eye(2)
    right = np.einsum("il,jk->ijkl", X, eye)  # X_il 1[j = k]
    wrong = np.broadcast_to(  # X_il 1[i = k], the same for every j
        np.einsum("il,ik->ikl", X, np.eye(3, 2))[:, None, :, :], oracle.shape
    )
    return ErratumCheck(
        _max_abs(right, oracle), _max_abs(wrong, oracle), FD_TOL, "max |entry - finite difference|"
    )


# --------------------------------------------------------------------------- chapter 6


def _check_softmax_matrix_form() -> ErratumCheck:
    z = _rng(6).normal(size=4)
    s = softmax(z)
    oracle = numerical_jacobian(softmax, z)
    eye = np.eye(s.size)
    right = (
        np.diag(s) - np.outer(s, s),  # the right formula
        s[:, None] * (eye - s[None, :]),  # S (I - S^T), S broadcast as a column, S^T as a row
    )
    wrong = (
        np.outer(s, 1 - s),  # a matrix product with S a column, so I must be the row 1^T
        np.diag(s) @ (eye - np.diag(s)),  # a matrix product with S = diag(s)
        s * (eye - s),  # the literal broadcast of a 1-D s: both S and S^T as rows
    )
    return ErratumCheck(
        max(_max_abs(r, oracle) for r in right),
        min(_max_abs(w, oracle) for w in wrong),
        FD_TOL,
        "max |entry - finite difference| (right: the worse of diag(s) - s s^T and the "
        "column-row broadcast; wrong: the closest of the two matrix-product readings and "
        "the 1-D broadcast)",
    )


# --------------------------------------------------------------------------- chapter 7


def _check_dfdz_chain() -> ErratumCheck:
    from derived.autograd import central_difference

    x, y, z = 1.0, 3.0, 2.0
    h = 1e-6

    def f(zz: float) -> float:
        return float(np.log(x) + np.exp(y) * zz)

    oracle = central_difference(f, z, h)
    h2 = np.exp(y)
    df_dh3, df_dh2, dh3_dz = 1.0, z, h2  # f = h1 + h3, h3 = h2 z
    right = df_dh3 * dh3_dz
    wrong = df_dh2 * dh3_dz
    rel = abs(oracle)
    return ErratumCheck(
        abs(right - oracle) / rel, abs(wrong - oracle) / rel, FD_TOL, "relative error of df/dz"
    )


# --------------------------------------------------------------------------- chapter 8


def _check_mse_norm() -> ErratumCheck:
    rng = _rng(8)
    y_hat, y = rng.normal(size=5), rng.normal(size=5)

    def loss(p: Array) -> Array:
        return np.asarray(np.linalg.norm(p - y))

    oracle = numerical_jacobian(loss, y_hat)
    right = (y_hat - y) / np.linalg.norm(y_hat - y)
    wrong = 2 * (y_hat - y)  # the gradient of the squared norm
    return ErratumCheck(
        _max_abs(right, oracle), _max_abs(wrong, oracle), FD_TOL, "max |entry - finite difference|"
    )


def _check_bce_gradient() -> ErratumCheck:
    rng = _rng(9)
    K = 6
    y = np.array([1, 0, 1, 1, 0, 0], dtype=np.float64)
    y_tilde = rng.uniform(0.1, 0.9, size=K)

    def loss(p: Array) -> Array:
        return np.asarray(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    oracle = numerical_jacobian(loss, y_tilde)
    right = (y_tilde - y) / (K * y_tilde * (1 - y_tilde))
    n1 = y.sum()  # the seed's N_1: the number of entries of class one
    wrong = np.where(y == 1, -n1 / (K * y_tilde), (K - n1) / (K * (1 - y_tilde)))
    # Through a sigmoid output y~ = sigma(s): the gradient with respect to s is (y~ - y) / K.
    s = np.log(y_tilde / (1 - y_tilde))  # the logits of y~
    through = numerical_jacobian(lambda t: loss(1.0 / (1.0 + np.exp(-t))), s)
    return ErratumCheck(
        max(_max_abs(right, oracle), _max_abs((y_tilde - y) / K, through)),
        _max_abs(wrong, oracle),
        FD_TOL,
        "max |entry - finite difference| (right: with respect to y~ and, through a "
        "sigmoid, to its logits; wrong: with respect to y~)",
    )


# --------------------------------------------------------------------------- chapter 9


def _check_softmax_regression_gradient() -> ErratumCheck:
    rng = _rng(10)
    K, d = 4, 3
    x = rng.normal(size=d)
    b = rng.normal(size=K)
    y = np.eye(K)[2]
    W = rng.normal(size=(K, d))

    def loss(M: Array) -> Array:
        return np.asarray(-np.sum(y * np.log(softmax(M @ x + b))))

    oracle = numerical_jacobian(loss, W)
    y_hat = softmax(W @ x + b)
    right = np.outer(y_hat - y, x)
    wrong = -np.outer(y * (1 - y_hat), x)  # cross terms of the softmax Jacobian dropped
    # The solution's "wrong classes remain unchanged": its rows i != c are zero, the
    # oracle's are not.
    others = y == 0
    assert np.all(wrong[others] == 0)
    assert np.all(np.abs(oracle[others]) > FD_TOL)
    return ErratumCheck(
        _max_abs(right, oracle), _max_abs(wrong, oracle), FD_TOL, "max |entry - finite difference|"
    )


# --------------------------------------------------------------------------- chapter 10


def _check_init_constant() -> ErratumCheck:
    import torch  # the oracle: the network trained by autograd and torch.optim.SGD

    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):  # Linear draws a random start: keep the caller's
        net = torch.nn.Sequential(  # the solution's XOR network: 2 ReLU units, linear output
            torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1)
        ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    for _ in range(200):  # full-batch gradient descent; b2 - 1/2 shrinks by 0.6 a step
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        out = net(x).numpy().ravel()
        stuck = np.concatenate([p.numpy().ravel() for p in list(net.parameters())[:3]])

    def distance(output: float) -> float:  # W1, b1, W2 stay 0; every output equals `output`
        return max(_max_abs(stuck, np.zeros_like(stuck)), _max_abs(out, np.full(4, output)))

    return ErratumCheck(
        distance(0.5),  # b2 moves to the mean label
        distance(0.0),  # "stuck outputting 0"
        1e-12,
        "max |predicted - trained| over W1, b1, W2 and the four outputs, "
        "zero start, squared error, 200 steps of gradient descent (torch)",
    )


# --------------------------------------------------------------------------- chapter 11


def _check_adam_bias_correction() -> ErratumCheck:
    beta1, g = 0.9, 1.7  # a constant gradient: the corrected average must equal it exactly
    right, wrong = [], []
    # The seed's recursion s_{t+1} = beta1 s_t + (1 - beta1) g_t under both starts:
    # s_0 = 0 with first gradient g_0, or s_1 = 0 with first gradient g_1.
    for first in (0, 1):
        s, deriv, update, correct = 0.0, [], [], []
        for t in range(first, first + 11):
            s = beta1 * s + (1 - beta1) * g  # now s_{t+1}, an average of t + 1 - first gradients
            averaged = t + 1 - first
            correct.append(abs(s / (1 - beta1**averaged) - g) / g)
            update.append(abs(s / (1 - beta1 ** (t + 1)) - g) / g)  # the update's power
            # the derivation's power t; at t = 0 it divides by 1 - beta1^0 = 0
            deriv.append(abs(s / (1 - beta1**t) - g) / g if t > 0 else np.inf)
        right.append(max(correct))
        wrong.append(max(max(deriv), max(update)))  # the worse half under this start
    return ErratumCheck(
        float(max(right)),
        float(min(wrong)),
        1e-12,
        "relative error of the corrected first moment, constant gradient, 11 steps, "
        "starts s_0 = 0 and s_1 = 0 (right: the power = gradients averaged, worse start; "
        "wrong: the worse of derivation and update, over the starts the smaller)",
    )


def _check_adam_epsilon() -> ErratumCheck:
    import torch  # the oracle: torch.optim.Adam

    lr, beta1, beta2, eps = 1e-3, 0.9, 0.999, 1e-8
    grads = _rng(11).normal(scale=1e-4, size=(20, 5))  # small gradients: v_t of the order of eps
    w = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr, betas=(beta1, beta2), eps=eps)
    m, v = np.zeros(5), np.zeros(5)
    right_w, wrong_w = np.zeros(5), np.zeros(5)
    right, wrong = [], []
    for t, g in enumerate(grads, start=1):
        w.grad = torch.tensor(g)
        opt.step()
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        right_w = right_w - lr * m_hat / (np.sqrt(v_hat) + eps)  # eps outside the root
        wrong_w = wrong_w - lr * m_hat / np.sqrt(v_hat + eps)  # the seed: delta inside
        oracle = w.detach().numpy()
        right.append(_max_abs(right_w, oracle) / lr)
        wrong.append(_max_abs(wrong_w, oracle) / lr)
    return ErratumCheck(
        float(max(right)),
        float(max(wrong)),
        1e-10,
        "max |weights - torch.optim.Adam's| / learning rate over 20 steps, "
        "gradients of size 1e-4, eps = 1e-8",
    )


def _check_adam_second_moment() -> ErratumCheck:
    import torch  # the oracle: the second average kept by torch.optim.Adam

    # Gradients with a non-zero mean, where E[g^2] = mu^2 + sigma^2 and Var[g] = sigma^2
    # differ; each of the n entries of one parameter is an independent run of 10 steps.
    mu, sigma, beta2, steps, n = 1.0, 0.5, 0.999, 10, 200_000
    grads = _rng(4).normal(mu, sigma, size=(steps, n))
    w = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=1e-3, betas=(0.9, beta2))
    for g in grads:
        w.grad = torch.tensor(g)
        opt.step()
    r_hat = opt.state[w]["exp_avg_sq"].numpy() / (1 - beta2**steps)  # bias-corrected r
    oracle = float(np.mean(r_hat))  # E[r_hat], up to a Monte Carlo error of about 1e-3
    second_moment, variance = mu**2 + sigma**2, sigma**2  # right; the seed's "variance"
    return ErratumCheck(
        abs(second_moment - oracle) / oracle,
        abs(variance - oracle) / oracle,
        1e-2,
        "|claimed E[r_hat] - mean of torch.optim.Adam's bias-corrected second average| / that "
        "mean, gradients N(1, 0.5^2), 10 steps, 200000 independent entries (right: E[g^2]; "
        "wrong: Var[g])",
    )


# --------------------------------------------------------------------------- chapter 12


def _check_inverted_dropout() -> ErratumCheck:
    import torch  # the oracle: the framework's dropout, which is the inverted scheme

    p = 0.3
    x = torch.linspace(-2.0, 3.0, 50, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):  # a seed of its own; the caller's state is kept
        torch.manual_seed(12)
        train = torch.nn.functional.dropout(x, p, training=True).numpy()
    evaluate = torch.nn.functional.dropout(x, p, training=False).numpy()
    xs = x.numpy()
    kept = train != 0  # the mask torch drew (no entry of x is 0)
    # What each statement says "inverted dropout" does, in training and at evaluation.
    right = (kept * xs / (1 - p), xs)  # scale by 1/(1 - p) in training, nothing at evaluation
    wrong = (kept * xs, (1 - p) * xs)  # the seed's scheme: nothing in training, 1 - p at evaluation
    scale = float(np.max(np.abs(xs)))

    def distance(described: tuple[Array, Array]) -> float:
        return max(_max_abs(described[0], train), _max_abs(described[1], evaluate)) / scale

    return ErratumCheck(
        distance(right),
        distance(wrong),
        1e-12,
        "max |described output - torch.nn.functional.dropout| / max |x|, training and evaluation",
    )


# --------------------------------------------------------------------------- chapter 16


def _check_topk_rank() -> ErratumCheck:
    n_classes = 5
    right, wrong = 0, 0
    # Every strict ranking of the classes, by brute force: order[j] is the class in place j.
    for order in itertools.permutations(range(n_classes)):
        scores = np.empty(n_classes)
        scores[list(order)] = np.arange(n_classes, 0, -1)  # first place, highest score
        for label in range(n_classes):
            above = int(np.sum(scores > scores[label]))  # the seed's R: classes scoring higher
            for k in range(1, n_classes + 1):
                missed = label not in order[:k]  # the oracle: not among the k best classes
                right += (above >= k) != missed
                wrong += (above > k) != missed
    return ErratumCheck(
        float(right),
        float(wrong),
        0.0,
        f"(ranking, label, k) cases misjudged, of all {n_classes}! rankings of {n_classes} classes",
    )


# --------------------------------------------------------------------------- chapter 17


def _tsne_kl(P: Array, Y: Array) -> float:
    diff = Y[:, None, :] - Y[None, :, :]
    num = 1.0 / (1.0 + np.sum(diff**2, axis=-1))
    np.fill_diagonal(num, 0.0)
    Q = num / num.sum()
    mask = P > 0
    return float(np.sum(P[mask] * np.log(P[mask] / Q[mask])))


def _check_tsne_gradient() -> ErratumCheck:
    rng = _rng(17)
    n = 6
    A = rng.random((n, n))
    P = A + A.T
    np.fill_diagonal(P, 0.0)
    P /= P.sum()
    Y = rng.normal(size=(n, 2))
    oracle = numerical_jacobian(lambda M: np.asarray(_tsne_kl(P, M)), Y)
    diff = Y[:, None, :] - Y[None, :, :]
    num = 1.0 / (1.0 + np.sum(diff**2, axis=-1))
    np.fill_diagonal(num, 0.0)
    Q = num / num.sum()
    right = 4 * np.einsum("ij,ijk->ik", (P - Q) * num, diff)
    # The seed's formula, read literally with the affinities as the weights W_ij and an
    # all-ones upstream gradient (as in the convolution exercise it came from): sum_j W_ij.
    wrong = np.repeat(P.sum(axis=1, keepdims=True), 2, axis=1)
    return ErratumCheck(
        _max_abs(right, oracle), _max_abs(wrong, oracle), FD_TOL, "max |entry - finite difference|"
    )


# --------------------------------------------------------------------------- chapter 18

#: The times homework 003 reports for doublify "for N = 2^12", in seconds, on the CPU and
#: on the GPU; it says neither what N counts nor how it timed.
DOUBLIFY_SEED_CPU_S = 7.752e-3
DOUBLIFY_SEED_GPU_S = 1.714e-3

#: If N counts elements: what each statement says doubling 2^12 float32 values takes, in
#: seconds, as (low, high) bounds: (NumPy on a CPU, a GPU kernel with its launch).
_DOUBLIFY_SEED_TIMES = ((DOUBLIFY_SEED_CPU_S,) * 2, (DOUBLIFY_SEED_GPU_S,) * 2)  # as reported
_DOUBLIFY_RIGHT_TIMES = ((1e-7, 1e-5), (1e-5, 1e-4))  # below 10 us; tens of us


def _decades_outside(low: float, high: float, measured: float) -> float:
    """How many powers of ten ``measured`` lies outside ``[low, high]`` (0 inside)."""
    return float(max(0.0, np.log10(low / measured), np.log10(measured / high)))


def _check_doublify_timing() -> ErratumCheck:
    from derived.roofline import find_recorded_bench, load_bench, load_reference

    # Measured: NumPy on the CPU that built the book (recorded by python -m derived.bench)
    # and on the GPU machine's host; a GPU kernel launch on an H100 (reference file).
    rows = load_bench(find_recorded_bench("cpu.json"))["rows"]
    cpu = [r["median_s"] for r in rows if r["suite"] == "numpy_doublify" and r["size"] == 2**12]
    figures = load_reference()["figures"]
    cpu.append(figures["doublify_4096_numpy_s"]["value"])
    gpu = [figures[f"doublify_4096_gpu_{end}_s"]["value"] for end in ("min", "max")]
    if len(cpu) != 2:
        raise ValueError("cpu.json has no NumPy doublify row at 2**12")

    def gaps(claimed: tuple[tuple[float, float], tuple[float, float]]) -> list[list[float]]:
        """Powers of ten by which each measurement misses its stated time, per entry."""
        (cpu_low, cpu_high), (gpu_low, gpu_high) = claimed
        return [
            [_decades_outside(cpu_low, cpu_high, t) for t in cpu],
            [_decades_outside(gpu_low, gpu_high, t) for t in gpu],
        ]

    # Right: every measurement lies inside its stated range (the largest gap is 0).
    # Wrong: the smallest gap over both entries and all measurements, so a distance above
    # 1 says that each stated time is over ten times every measurement of its entry.
    right = max(max(entry) for entry in gaps(_DOUBLIFY_RIGHT_TIMES))
    wrong = min(min(entry) for entry in gaps(_DOUBLIFY_SEED_TIMES))
    return ErratumCheck(
        right,
        wrong,
        0.0,
        "if N counts elements: powers of ten between the stated times at 2^12 elements and "
        "the measured ones (right: largest gap; wrong: smallest gap over the CPU and GPU "
        "entries; NumPy recorded on two CPUs, GPU from an H100 reference)",
    )


# --------------------------------------------------------------------------- chapter 19


def _check_wann_weight_per_layer() -> ErratumCheck:
    from derived.wann import Topology, forward, sweep_accuracy, xor_data

    # The abs-then-cos topology of chapter 19: o_0 = |w (x_1 + x_2)|, o_1 = cos(pi w o_0).
    # The oracle is the paper's model, one weight w on every connection; the check builds
    # the same network layer by layer, so that each layer can carry its own weight.
    x, labels = xor_data()
    shared = Topology(2, 2, ("abs", "cos"), ((0, 3), (1, 3), (3, 4)))
    layer1 = Topology(2, 1, ("abs",), ((0, 3), (1, 3)))  # the inputs into |.|
    layer2 = Topology(1, 1, ("cos",), ((0, 2),))  # |.| into cos(pi .)
    first = np.linspace(-2.0, 2.0, 401)  # the first layer's weight, the oracle's shared one
    second = np.linspace(-10.0, 10.0, 2001)  # the second layer's weight, where it is free

    def per_layer(w1: float, w2: Array) -> Array:
        """Accuracy on XOR with weight w1 in layer 1 and each weight of w2 in layer 2."""
        o0 = forward(layer1, x, [w1])[0, :, 0]  # (N,)
        o1 = forward(layer2, o0[:, None], w2)[:, :, 0]  # (W2, N)
        correct = np.where(labels == 0, o0 > o1, o1 > o0)  # a tie is an error
        accuracy: Array = correct.mean(axis=1)
        return accuracy

    oracle = sweep_accuracy(shared, x, labels, first)
    # Right: one weight on every connection (the second layer's weight is the first's).
    right = np.array([per_layer(w1, np.array([w1]))[0] for w1 in first])
    # Wrong: a weight per layer; the second is chosen for the best accuracy.
    wrong = np.array([per_layer(w1, second).max() for w1 in first])
    return ErratumCheck(
        _max_abs(right, oracle),
        _max_abs(wrong, oracle),
        0.0,
        "largest gap in accuracy on XOR from the paper's shared-weight network, at 401 "
        "first-layer weights in [-2, 2] (right: the same weight on every connection; "
        "wrong: a weight per layer, the second the best of 2001 in [-10, 10])",
    )


#: Every erratum of the seeds, keyed by its id (its section on the Errata page is labelled
#: ``errata-<id>``), in the order of the chapters.
ERRATA: dict[str, Erratum] = {
    e.id: e
    for e in [
        Erratum("or-threshold", "homework 000, question 2", 1, _check_or_threshold),
        Erratum("rank-equals-two", "homework 003, question 6.2", 2, _check_rank_equals_two),
        Erratum("pieces-base-case", "homework 003, question 6.4", 3, _check_pieces_base_case),
        Erratum(
            "sigmoid-tanh-conversion",
            "homework 003, question 4.2",
            4,
            _check_sigmoid_tanh_conversion,
        ),
        Erratum("xwt-index", "homework 002, section 2", 5, _check_xwt_index),
        Erratum("softmax-matrix-form", "homework 000, question 1", 6, _check_softmax_matrix_form),
        Erratum("dfdz-chain", "homework 002, section 5", 7, _check_dfdz_chain),
        Erratum("mse-norm", "homework 001, question 1.1.1(b)–(d)", 8, _check_mse_norm),
        Erratum("bce-gradient", "homework 001, question 1.1.2(b)", 8, _check_bce_gradient),
        Erratum(
            "softmax-regression-gradient",
            "homework 004, section 2",
            9,
            _check_softmax_regression_gradient,
        ),
        Erratum("init-constant", "homework 002, section 4, question 3", 10, _check_init_constant),
        Erratum(
            "adam-bias-correction", "homework 003, question 4.4", 11, _check_adam_bias_correction
        ),
        Erratum("adam-epsilon", "homework 003, question 4.4", 11, _check_adam_epsilon),
        Erratum("adam-second-moment", "homework 003, question 4.4", 11, _check_adam_second_moment),
        Erratum(
            "inverted-dropout", "homework 002, section 1, question 5", 12, _check_inverted_dropout
        ),
        Erratum(
            "topk-rank",
            'homework 004, the unnumbered section "Top-k error" (between sections 6 and 8)',
            16,
            _check_topk_rank,
        ),
        Erratum("tsne-gradient", "homework 004, section 8", 17, _check_tsne_gradient),
        Erratum("doublify-timing", "homework 003, question 5.1", 18, _check_doublify_timing),
        Erratum(
            "wann-weight-per-layer",
            "homework 000, paper review, question 1",
            19,
            _check_wann_weight_per_layer,
        ),
    ]
}


def check_all() -> list[tuple[Erratum, ErratumCheck]]:
    """Run every erratum's check.

    Returns
    -------
    list of (Erratum, ErratumCheck)
        In the order of the chapters.

    Examples
    --------
    >>> results = check_all()
    >>> all(c.right_passes and c.wrong_fails for _, c in results)
    True
    """
    return [(e, e.check()) for e in sorted(ERRATA.values(), key=lambda e: e.chapter)]


def report(result: ErratumCheck) -> str:
    """Say in one line how far each version is from the oracle, and the verdict.

    Parameters
    ----------
    result : ErratumCheck
        The outcome of a check.

    Returns
    -------
    str
        The measure, then the two distances, the tolerance and the verdict.

    Examples
    --------
    >>> print(report(ErratumCheck(0.0, 1.0, 0.5, "distance")))
    distance:
      right 0, wrong 1 (tolerance 0.5): right passes, wrong fails
    """
    verdict = (
        f"right {'passes' if result.right_passes else 'FAILS'}, "
        f"wrong {'fails' if result.wrong_fails else 'PASSES'}"
    )
    return (
        f"{result.measure}:\n  right {result.right_error:.2g}, wrong {result.wrong_error:.2g} "
        f"(tolerance {result.tolerance:.2g}): {verdict}"
    )
