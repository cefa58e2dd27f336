r"""Threshold units, the logic gates they compute, and a ReLU network for XOR.

A threshold unit (perceptron) with weights :math:`w \in \mathbb{R}^n` and bias
:math:`b` outputs

.. math::

    f(x) = \operatorname{step}(w^\top x + b), \qquad
    \operatorname{step}(z) = \begin{cases} 1 & z \ge 0, \\ 0 & z < 0. \end{cases}

The convention is fixed once: a pre-activation of exactly 0 gives class 1. For
:math:`w \ne 0` the unit splits the space by the hyperplane :math:`w^\top x + b = 0`,
so it computes a Boolean function of :math:`x \in \{0, 1\}^n` exactly when the inputs of
class 1 and those of class 0 lie on opposite sides (class 1 possibly on the hyperplane).
With :math:`w = (1, 1)`: AND for :math:`-2 \le b < -1`, OR for :math:`-1 \le b < 0`.
No :math:`(w, b)` computes XOR, but the two-layer ReLU network

.. math::

    y = \operatorname{ReLU}(x_1 + x_2) - 2 \operatorname{ReLU}(x_1 + x_2 - 1)

does, exactly, on all four inputs. Whether some unit computes a given table is a
linear program (:func:`linearly_separable`); Rosenblatt's learning rule
(:func:`perceptron_learn`) finds such a unit when there is one.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog

from derived._validate import as_float_array, check_int

__all__ = [
    "GATES",
    "PerceptronRun",
    "gate_parameters",
    "linearly_separable",
    "perceptron_learn",
    "separates",
    "step",
    "threshold_functions",
    "threshold_labellings",
    "threshold_unit",
    "truth_table",
    "xor_forward",
    "xor_network",
]

Array = NDArray[np.float64]

#: Weights and bias of one threshold unit for each gate, with step(0) = 1.
GATES: dict[str, tuple[tuple[float, ...], float]] = {
    "AND": ((1.0, 1.0), -1.5),
    "OR": ((1.0, 1.0), -0.5),
    "NAND": ((-1.0, -1.0), 1.5),
    "NOR": ((-1.0, -1.0), 0.5),
    "NOT": ((-1.0,), 0.5),
}

_TABLES: dict[str, tuple[int, ...]] = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
    "NOT": (1, 0),
}


def _check_gate(name: object) -> str:
    if not isinstance(name, str) or name not in _TABLES:
        raise ValueError(f"name must be one of {sorted(_TABLES)}, got {name!r}")
    return name


def step(z: ArrayLike) -> Array:
    r"""Return the step function :math:`\mathbb{1}[z \ge 0]`, elementwise.

    Parameters
    ----------
    z : array_like, any shape
        Pre-activations, finite.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``z``
        1.0 where :math:`z \ge 0` (including :math:`z = 0`), else 0.0.

    Examples
    --------
    >>> step([-0.5, 0.0, 2.0]).tolist()
    [0.0, 1.0, 1.0]
    """
    out: Array = (as_float_array(z, "z") >= 0).astype(np.float64)
    return out


def threshold_unit(x: ArrayLike, w: ArrayLike, b: float) -> Array:
    r"""Evaluate the threshold unit :math:`\operatorname{step}(w^\top x + b)`.

    Parameters
    ----------
    x : array_like, shape (N, n) or (n,)
        Inputs, one per row.
    w : array_like, shape (n,)
        Weights.
    b : float
        Bias.

    Returns
    -------
    numpy.ndarray of float64, shape (N,) or ()
        0.0 or 1.0 for each input.

    Examples
    --------
    >>> threshold_unit([[0, 0], [0, 1], [1, 0], [1, 1]], [1, 1], -1.5).tolist()
    [0.0, 0.0, 0.0, 1.0]
    """
    X = as_float_array(x, "x", ndim=(1, 2))
    W = as_float_array(w, "w", ndim=1, allow_empty=False)
    bias = as_float_array(b, "b", ndim=0)
    if X.shape[-1] != W.shape[0]:
        raise ValueError(f"x must have {W.shape[0]} features to match w, got shape {X.shape}")
    return step(X @ W + bias)


def truth_table(name: str) -> tuple[Array, Array]:
    """Return the inputs and the target outputs of a Boolean gate.

    Parameters
    ----------
    name : {"AND", "OR", "NAND", "NOR", "XOR", "NOT"}
        The gate.

    Returns
    -------
    inputs : numpy.ndarray of float64, shape (4, 2) or (2, 1) for NOT
        All inputs in the order (0,0), (0,1), (1,0), (1,1).
    targets : numpy.ndarray of float64, shape (4,) or (2,)
        The gate's output for each input.

    Examples
    --------
    >>> truth_table("XOR")[1].tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    gate = _check_gate(name)
    targets = np.array(_TABLES[gate], dtype=np.float64)
    if gate == "NOT":
        return np.array([[0.0], [1.0]]), targets
    return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), targets


def gate_parameters(name: str) -> tuple[Array, float]:
    """Return weights and bias of a threshold unit that computes the gate ``name``.

    Parameters
    ----------
    name : {"AND", "OR", "NAND", "NOR", "NOT"}
        The gate (XOR has none: it is not linearly separable).

    Returns
    -------
    w : numpy.ndarray of float64, shape (2,) or (1,)
        Weights.
    b : float
        Bias; the unit outputs 1 iff ``w @ x + b >= 0``.

    Examples
    --------
    >>> w, b = gate_parameters("OR")
    >>> w.tolist(), b
    ([1.0, 1.0], -0.5)
    """
    gate = _check_gate(name)
    if gate not in GATES:
        raise ValueError(f"name={gate!r} has no threshold unit: it is not linearly separable")
    w, b = GATES[gate]
    return np.array(w), float(b)


def separates(
    w: ArrayLike, b: ArrayLike, inputs: ArrayLike, targets: ArrayLike
) -> NDArray[np.bool_]:
    r"""Test many candidate units at once: which fit every target with step(w.x + b).

    Parameters
    ----------
    w : array_like, shape (M, n)
        One candidate weight vector per row.
    b : array_like, shape (M,)
        The candidates' biases.
    inputs : array_like, shape (P, n)
        The inputs.
    targets : array_like, shape (P,)
        The wanted outputs, 0 or 1.

    Returns
    -------
    numpy.ndarray of bool, shape (M,)
        True where the candidate reproduces every target.

    Examples
    --------
    >>> x, t = truth_table("OR")
    >>> separates([[1, 1], [1, 1]], [-0.5, 1.0], x, t).tolist()
    [True, False]
    """
    W = as_float_array(w, "w", ndim=2)
    B = as_float_array(b, "b", ndim=1)
    X = as_float_array(inputs, "inputs", ndim=2, allow_empty=False)
    T = as_float_array(targets, "targets", ndim=1, allow_empty=False)
    if B.shape[0] != W.shape[0]:
        raise ValueError(f"b must have one bias per row of w ({W.shape[0]}), got {B.shape}")
    if W.shape[1] != X.shape[1]:
        raise ValueError(f"w must have {X.shape[1]} columns to match inputs, got {W.shape}")
    if T.shape[0] != X.shape[0]:
        raise ValueError(f"targets must have one entry per input ({X.shape[0]}), got {T.shape}")
    if not np.all((T == 0) | (T == 1)):
        raise ValueError("targets must be 0 or 1")
    out = step(W @ X.T + B[:, None])  # (M, P)
    result: NDArray[np.bool_] = np.all(out == T, axis=1)
    return result


def _inputs_and_targets(inputs: ArrayLike, targets: ArrayLike) -> tuple[Array, Array]:
    X = as_float_array(inputs, "inputs", ndim=2, allow_empty=False)
    T = as_float_array(targets, "targets", ndim=1, allow_empty=False)
    if T.shape[0] != X.shape[0]:
        raise ValueError(f"targets must have one entry per input ({X.shape[0]}), got {T.shape}")
    if not np.all((T == 0) | (T == 1)):
        raise ValueError("targets must be 0 or 1")
    return X, T


def linearly_separable(inputs: ArrayLike, targets: ArrayLike) -> bool:
    r"""Decide by linear programming whether some threshold unit fits every target.

    On finitely many inputs a unit that fits can be made to fit with a margin, so the
    question is whether the linear program

    .. math::

        w^\top x_i + b \ge 1 \text{ if } t_i = 1, \qquad
        w^\top x_i + b \le -1 \text{ if } t_i = 0

    is feasible. It is solved by SciPy's ``scipy.optimize.linprog`` with the HiGHS solver.

    Parameters
    ----------
    inputs : array_like, shape (P, n)
        The inputs, one per row, finite.
    targets : array_like, shape (P,)
        The wanted outputs, 0 or 1.

    Returns
    -------
    bool
        True if some :math:`(w, b)` has :math:`\operatorname{step}(w^\top x_i + b) = t_i`
        for every :math:`i`.

    Raises
    ------
    RuntimeError
        If the solver reports neither a solution nor infeasibility.

    Examples
    --------
    >>> linearly_separable(*truth_table("AND")), linearly_separable(*truth_table("XOR"))
    (True, False)
    """
    X, T = _inputs_and_targets(inputs, targets)
    sign = np.where(T == 1, 1.0, -1.0)
    augmented = np.hstack([X, np.ones((len(X), 1))])  # (P, n + 1): columns for w, then b
    # sign * (w.x + b) >= 1, written as -sign * (w.x + b) <= -1
    res = linprog(
        np.zeros(X.shape[1] + 1),
        A_ub=-sign[:, None] * augmented,
        b_ub=-np.ones(len(X)),
        bounds=[(None, None)] * (X.shape[1] + 1),
        method="highs",
    )
    if res.status not in (0, 2):  # 0: a solution was found, 2: infeasible
        raise RuntimeError(f"linprog ended with status {res.status}: {res.message}")
    return bool(res.status == 0)


def threshold_labellings(outputs: ArrayLike) -> set[tuple[int, ...]]:
    r"""Collect the labellings that thresholding each unit's outputs produces.

    For a unit with real outputs :math:`o_1, \dots, o_P` on :math:`P` inputs, the rules
    "class 1 iff :math:`o_i \ge \tau`" and ":math:`o_i > \tau`" give, as :math:`\tau`
    runs over the reals, the sets :math:`\{i : o_i \ge o_k\}` and
    :math:`\{i : o_i > o_k\}` and the empty set; the rules with :math:`\le` and
    :math:`<` give their complements.

    Parameters
    ----------
    outputs : array_like, shape (M, P)
        The outputs of :math:`M` units (rows) on the same :math:`P \le 20` inputs.

    Returns
    -------
    set of tuple of int
        Every labelling, as a tuple of :math:`P` zeros and ones, that some unit
        produces with some threshold and one of the four comparison rules.

    Examples
    --------
    >>> sorted(threshold_labellings([[0.0, 2.0]]))
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    >>> sorted(threshold_labellings([[1.0, 1.0]]))
    [(0, 0), (1, 1)]
    """
    o = as_float_array(outputs, "outputs", ndim=2, allow_empty=False)
    n_inputs = o.shape[1]
    if n_inputs > 20:
        raise ValueError(f"outputs must have at most 20 columns (inputs), got {n_inputs}")
    bits = 2 ** np.arange(n_inputs)  # a labelling as a number in [0, 2**P)
    codes = {0, 2**n_inputs - 1}
    for k in range(n_inputs):  # threshold at the output on input k
        codes |= set(np.unique((o >= o[:, k : k + 1]) @ bits).tolist())
        codes |= set(np.unique((o > o[:, k : k + 1]) @ bits).tolist())
    codes |= {2**n_inputs - 1 - c for c in codes}  # complements: the rules <= and <
    return {tuple(int(c >> i & 1) for i in range(n_inputs)) for c in codes}


def threshold_functions(n: int) -> set[tuple[int, ...]]:
    r"""Return every Boolean function of ``n`` inputs that one threshold unit computes.

    A table lists the outputs on the inputs in the order of
    ``itertools.product([0, 1], repeat=n)`` (the last input varies fastest). Fixing one
    input :math:`x_j = v` of a unit :math:`\operatorname{step}(w^\top x + b)` leaves a
    unit on the other inputs (bias :math:`b + w_j v`), so every restriction of a
    threshold function is one. The candidates for ``n`` inputs are therefore the pairs
    of threshold functions of ``n - 1`` inputs (the tables for :math:`x_n = 0` and
    :math:`x_n = 1`), kept only if fixing any other input also leaves threshold
    functions. A least-squares fit of the :math:`\pm 1` targets certifies most of those
    that are threshold functions at once; :func:`linearly_separable` decides the rest.

    Parameters
    ----------
    n : int
        Number of inputs, 0 to 4 (for 5 inputs the linear programs take minutes).

    Returns
    -------
    set of tuple of int
        The tables, each a tuple of :math:`2^n` zeros and ones.

    Examples
    --------
    >>> [len(threshold_functions(n)) for n in range(4)]
    [2, 4, 14, 104]
    """
    if not 0 <= check_int(n, "n", 0) <= 4:
        raise ValueError(f"n must be between 0 and 4, got {n}")
    if n == 0:
        return {(0,), (1,)}
    smaller = np.array(sorted(threshold_functions(n - 1)), dtype=np.int64)  # (K, 2**(n-1))
    k = len(smaller)
    tables = np.empty((k, k, 2**n), dtype=np.int64)
    tables[:, :, 0::2] = smaller[:, None, :]  # x_n = 0
    tables[:, :, 1::2] = smaller[None, :, :]  # x_n = 1
    tables = tables.reshape(k * k, 2**n)
    bits = 2 ** np.arange(2 ** (n - 1))
    known = smaller @ bits
    cube = tables.reshape((k * k,) + (2,) * n)
    keep = np.ones(k * k, dtype=bool)
    for j in range(n - 1):  # fixing x_n gives the pair itself
        for v in (0, 1):
            restriction = np.take(cube, v, axis=1 + j).reshape(k * k, -1)
            keep &= np.isin(restriction @ bits, known)
    tables = tables[keep]
    inputs = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    augmented = np.hstack([inputs, np.ones((2**n, 1))])
    fit = augmented @ (np.linalg.pinv(augmented) @ (2.0 * tables.T - 1.0))  # (2**n, m)
    certified = np.all((fit > 0) == (tables.T == 1), axis=0) & np.all(fit != 0, axis=0)
    return {
        tuple(int(t) for t in table)
        for table, sure in zip(tables, certified, strict=True)
        if sure or linearly_separable(inputs, table)
    }


class PerceptronRun(NamedTuple):
    """The result of :func:`perceptron_learn`."""

    #: Final weights, shape (n,).
    w: Array
    #: Final bias.
    b: float
    #: Number of updates (mistakes) in each epoch; the last is 0 if the rule converged.
    mistakes: NDArray[np.int64]
    #: ``(w, b)`` before each epoch and after the last, shape (epochs + 1, n + 1).
    history: Array
    #: ``(w, b)`` at the start and after each update, shape (updates + 1, n + 1).
    updates: Array


def perceptron_learn(inputs: ArrayLike, targets: ArrayLike, max_epochs: int = 100) -> PerceptronRun:
    r"""Run Rosenblatt's perceptron learning rule from :math:`w = 0`, :math:`b = 0`.

    The inputs are visited in order, once per epoch. On input :math:`x_i` the unit
    outputs :math:`\hat y = \operatorname{step}(w^\top x_i + b)` and updates

    .. math::

        w \leftarrow w + (t_i - \hat y)\, x_i, \qquad b \leftarrow b + (t_i - \hat y),

    which changes nothing when :math:`\hat y = t_i`. The run stops after the first epoch
    without a mistake, or after ``max_epochs`` epochs.

    Parameters
    ----------
    inputs : array_like, shape (P, n)
        The inputs, one per row, finite.
    targets : array_like, shape (P,)
        The wanted outputs, 0 or 1.
    max_epochs : int, default 100
        The most passes over the inputs, at least 1.

    Returns
    -------
    PerceptronRun
        Final ``w`` and ``b``, the mistakes per epoch, and ``(w, b)`` before each epoch.

    Examples
    --------
    >>> run = perceptron_learn(*truth_table("AND"))
    >>> run.w.tolist(), run.b, run.mistakes.tolist()
    ([2.0, 1.0], -3.0, [2, 3, 3, 2, 1, 0])
    """
    X, T = _inputs_and_targets(inputs, targets)
    max_epochs = check_int(max_epochs, "max_epochs", 1)
    augmented = np.hstack([X, np.ones((len(X), 1))])  # (P, n + 1)
    v = np.zeros(X.shape[1] + 1)  # (w, b)
    history, steps, mistakes = [v.copy()], [v.copy()], []
    for _ in range(int(max_epochs)):
        count = 0
        for x, t in zip(augmented, T, strict=True):
            error = t - float(x @ v >= 0)  # +1, -1, or 0 when the unit is right
            if error != 0:
                v += error * x
                steps.append(v.copy())
                count += 1
        history.append(v.copy())
        mistakes.append(count)
        if count == 0:
            break
    return PerceptronRun(
        v[:-1].copy(), float(v[-1]), np.array(mistakes), np.array(history), np.array(steps)
    )


def xor_network() -> tuple[Array, Array, Array, Array]:
    r"""Return the weights of a two-layer ReLU network that computes XOR exactly.

    :math:`W_1 = \begin{pmatrix}1 & 1\\ 1 & 1\end{pmatrix}`, :math:`b_1 = (0, -1)`,
    :math:`W_2 = (1, -2)`, :math:`b_2 = 0`, so that
    :math:`y = \operatorname{ReLU}(x_1 + x_2) - 2\operatorname{ReLU}(x_1 + x_2 - 1)`.

    Returns
    -------
    W1 : numpy.ndarray of float64, shape (2, 2)
    b1 : numpy.ndarray of float64, shape (2,)
    W2 : numpy.ndarray of float64, shape (1, 2)
    b2 : numpy.ndarray of float64, shape (1,)

    Examples
    --------
    >>> [p.shape for p in xor_network()]
    [(2, 2), (2,), (1, 2), (1,)]
    """
    return (
        np.array([[1.0, 1.0], [1.0, 1.0]]),
        np.array([0.0, -1.0]),
        np.array([[1.0, -2.0]]),
        np.array([0.0]),
    )


def xor_forward(x: ArrayLike) -> Array:
    r"""Evaluate the XOR network of :func:`xor_network` at points of the plane.

    Parameters
    ----------
    x : array_like, shape (N, 2) or (2,)
        Points :math:`(x_1, x_2)`, any real values.

    Returns
    -------
    numpy.ndarray of float64, shape (N,) or ()
        :math:`\operatorname{ReLU}(x_1 + x_2) - 2\operatorname{ReLU}(x_1 + x_2 - 1)`.

    Examples
    --------
    >>> xor_forward([[0, 0], [0, 1], [1, 0], [1, 1]]).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    X = as_float_array(x, "x", ndim=(1, 2))
    if X.shape[-1] != 2:
        raise ValueError(f"x must have 2 features (shape (N, 2)), got shape {X.shape}")
    W1, b1, W2, b2 = xor_network()
    h = np.maximum(X @ W1.T + b1, 0.0)  # (N, 2) hidden layer
    out: Array = (h @ W2.T + b2)[..., 0]
    return out
