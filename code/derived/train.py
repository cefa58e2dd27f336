r"""Training a classifier end to end: mini-batches, the training loop, its history.

One *epoch* visits every training example once, in a fresh random order, in mini-batches
of ``batch_size`` examples (the last batch may be smaller). For each batch
:math:`(X_B, y_B)` the loop runs the five steps of a training step: the forward pass gives
logits :math:`Z = f_\theta(X_B)`; the loss is the mean cross-entropy

.. math::

    \ell(\theta) = -\frac{1}{|B|} \sum_{n \in B} \log \operatorname{softmax}(z_n)_{y_n};

the backward pass starts from :math:`\partial\ell/\partial Z = (\operatorname{softmax}(Z) -
Y)/|B|` and returns :math:`\partial\ell/\partial\theta`; and the optimiser updates
:math:`\theta` in place. After every epoch the loop measures the loss and the *accuracy*
(the fraction of examples whose largest logit is the true class) on the whole training
and validation sets, with the parameters fixed, and records them in a :class:`History`,
which is what the learning curves plot.

Randomness enters only through the ``rng`` that orders the batches, so a run is
reproducible, and the same order can be replayed in another framework
(:func:`minibatches`). The optional progress display rewrites one line, in a terminal
or in a notebook, and is off by default so that a built book shows no progress noise.
The book's chapter *Training a network end to end* trains the digits with it;
``tests/test_train.py`` checks it against the same loop written in ``torch``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_generator
from derived.losses import cross_entropy, cross_entropy_grad

__all__ = [
    "History",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "minibatches",
    "train_classifier",
]

Array = NDArray[np.float64]


class Model(Protocol):
    """What the loop needs from a model: ``forward``, ``backward`` and ``params``."""

    params: list[Array]

    def forward(self, X: ArrayLike) -> Array: ...  # noqa: D102

    def backward(self, dout: ArrayLike) -> list[Array]: ...  # noqa: D102


class Stepper(Protocol):
    """What the loop needs from an optimiser: ``step(grads)``."""

    def step(self, grads: Sequence[ArrayLike]) -> None: ...  # noqa: D102


@dataclass
class History:
    """The record of a training run, one entry per epoch (``step_loss``: per step).

    Attributes
    ----------
    train_loss, train_acc, val_loss, val_acc : list of float
        Mean cross-entropy and accuracy on the full training and validation sets, after
        each epoch.
    step_loss : list of float
        The mini-batch loss at every optimisation step, before that step's update.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self.train_loss)


def _labels(y: ArrayLike, name: str, n: int | None = None) -> NDArray[np.intp]:
    arr = np.asarray(y)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must contain integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold non-negative integer labels")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have one label per example ({n}), got {arr.shape[0]}")
    return arr.astype(np.intp)


def accuracy(logits: ArrayLike, labels: ArrayLike) -> float:
    r"""Return the fraction of rows whose largest logit is at the true label.

    .. math::

        \operatorname{acc} = \frac{1}{N} \sum_{n=1}^{N} \mathbb 1\big[\arg\max_k z_{nk} = y_n\big]

    (ties go to the first largest logit, as in ``numpy.argmax``).

    Parameters
    ----------
    logits : array_like, shape (N, K)
        Scores, one row per example.
    labels : array_like of int, shape (N,)
        True classes in ``0 .. K-1``.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> accuracy([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]], [0, 1, 1])
    0.6666666666666666
    """
    Z = as_float_array(logits, "logits", ndim=2, allow_empty=False)
    y = _labels(labels, "labels", Z.shape[0])
    if y.max() >= Z.shape[1]:
        raise ValueError(f"labels must be below the number of classes {Z.shape[1]}")
    return float(np.mean(np.argmax(Z, axis=1) == y))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray[np.int64]:
    """Count how often class ``i`` is predicted as class ``j``.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted classes in ``0 .. n_classes-1``.
    n_classes : int
        The number of classes K, >= 1.

    Returns
    -------
    numpy.ndarray of int64, shape (K, K)
        Entry ``(i, j)`` counts the examples of class ``i`` predicted as ``j``; the
        diagonal holds the correct predictions and every row sums to the class's size.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3).tolist()
    [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be an int >= 1, got {n_classes!r}")
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred", t.shape[0])
    if max(t.max(), p.max()) >= n_classes:
        raise ValueError(f"labels must be below n_classes={n_classes}")
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def evaluate(model: Model, X: ArrayLike, y: ArrayLike) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(X, y)``, parameters unchanged.

    A model with a ``training`` attribute (such as :class:`derived.dropout.DropoutMLP`) is
    evaluated with ``training = False``, and the attribute is restored afterwards.

    Parameters
    ----------
    model : derived.mlp.MLP or any object with ``forward``
        Maps a batch of shape (N, n_in) to logits of shape (N, K).
    X : array_like, shape (N, n_in)
        Inputs.
    y : array_like of int, shape (N,)
        Labels.

    Returns
    -------
    (float, float)
        The loss and the accuracy.

    Examples
    --------
    >>> from derived.mlp import MLP
    >>> net = MLP([2, 3], rng=np.random.default_rng(0))
    >>> loss, acc = evaluate(net, np.zeros((4, 2)), [0, 1, 2, 0])
    >>> round(loss, 4) > 0, 0 <= acc <= 1
    (True, True)
    """
    Xa = as_float_array(X, "X", ndim=2, allow_empty=False)
    ya = _labels(y, "y", Xa.shape[0])
    mode = getattr(model, "training", None)
    if mode is not None:  # a model with a training switch (dropout) is evaluated with it off
        setattr(model, "training", False)  # noqa: B010 (not part of the Model protocol)
    try:
        logits = model.forward(Xa)
    finally:
        if mode is not None:
            setattr(model, "training", mode)  # noqa: B010
    return cross_entropy(logits, ya), accuracy(logits, ya)


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> list[NDArray[np.intp]]:
    """Index arrays of one epoch: a random permutation of ``range(n)`` cut into batches.

    Parameters
    ----------
    n : int
        The number of examples, >= 1.
    batch_size : int
        The batch size, >= 1; the last batch holds the ``n % batch_size`` left over, if any.
    rng : numpy.random.Generator
        The source of the permutation.

    Returns
    -------
    list of numpy.ndarray of int
        ``ceil(n / batch_size)`` disjoint index arrays covering ``range(n)``.

    Examples
    --------
    >>> [b.size for b in minibatches(10, 4, np.random.default_rng(0))]
    [4, 4, 2]
    """
    for value, name in ((n, "n"), (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    check_generator(rng)
    order = rng.permutation(int(n))
    return [order[i : i + batch_size] for i in range(0, int(n), int(batch_size))]


class _Progress:
    """One line of progress, rewritten in place in a notebook or a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.handle: Any = None
        self._pretty: Any = None
        if enabled:
            try:  # a notebook kernel: update one display in place
                from IPython import get_ipython
                from IPython.display import Pretty, display

                shell = get_ipython()
                if shell is not None and getattr(shell, "kernel", None) is not None:
                    self._pretty = Pretty
                    self.handle = display(Pretty(""), display_id=True)  # type: ignore[no-untyped-call]
            except ImportError:  # pragma: no cover - IPython ships with the book's tools
                self.handle = None

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        if self.handle is not None:
            self.handle.update(self._pretty(text))
        else:
            sys.stderr.write("\r" + text)
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.handle is None:
            sys.stderr.write("\n")
            sys.stderr.flush()


def train_classifier(
    model: Model,
    optimizer: Stepper,
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_val: ArrayLike,
    y_val: ArrayLike,
    *,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    progress: bool = False,
) -> History:
    """Train ``model`` with mini-batch cross-entropy and record the learning curves.

    Each epoch draws a batch order with :func:`minibatches`; for each batch it runs the
    forward pass, the loss, the backward pass and ``optimizer.step``; after the epoch it
    evaluates the training and validation sets with :func:`evaluate`. A model with a
    ``training`` attribute takes its steps with ``training = True`` and is evaluated with
    it off; it is left in training mode.

    Parameters
    ----------
    model : derived.mlp.MLP or any object with ``forward``, ``backward``, ``params``
        Maps inputs to logits; updated in place through ``optimizer``.
    optimizer : derived.optim.SGD, Adam, AdamW, or any object with ``step(grads)``
        Built on ``model.params``.
    X_train, X_val : array_like, shape (N, n_in)
        Training and validation inputs.
    y_train, y_val : array_like of int, shape (N,)
        Their labels.
    epochs : int
        The number of passes over the training set, >= 1.
    batch_size : int
        Examples per mini-batch, >= 1.
    rng : numpy.random.Generator
        The source of every batch order.
    progress : bool, default False
        Show one line of progress (epoch, losses, accuracies), updated in place.

    Returns
    -------
    History
        Per-epoch losses and accuracies, and the loss of every step.

    Examples
    --------
    >>> from derived.mlp import MLP
    >>> from derived.optim import AdamW
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> net = MLP([2, 8, 2], rng=rng)
    >>> hist = train_classifier(net, AdamW(net.params, lr=0.05), X, y, X, y,
    ...                         epochs=20, batch_size=8, rng=rng)
    >>> hist.epochs, hist.train_acc[-1] > 0.9
    (20, True)
    """
    Xt = as_float_array(X_train, "X_train", ndim=2, allow_empty=False)
    yt = _labels(y_train, "y_train", Xt.shape[0])
    Xv = as_float_array(X_val, "X_val", ndim=2, allow_empty=False)
    yv = _labels(y_val, "y_val", Xv.shape[0])
    if Xv.shape[1] != Xt.shape[1]:
        raise ValueError(
            f"X_val must have the {Xt.shape[1]} features of X_train, got shape {Xv.shape}"
        )
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    history = History()
    bar = _Progress(bool(progress))
    for epoch in range(1, int(epochs) + 1):
        if hasattr(model, "training"):
            setattr(model, "training", True)  # noqa: B010  the steps train; evaluate() switches it off and back
        for idx in minibatches(Xt.shape[0], batch_size, rng):
            logits = model.forward(Xt[idx])  # (B, K)
            history.step_loss.append(cross_entropy(logits, yt[idx]))
            grads = model.backward(cross_entropy_grad(logits, yt[idx]))
            optimizer.step(grads)
        for X, y, loss_list, acc_list in (
            (Xt, yt, history.train_loss, history.train_acc),
            (Xv, yv, history.val_loss, history.val_acc),
        ):
            loss, acc = evaluate(model, X, y)
            loss_list.append(loss)
            acc_list.append(acc)
        bar.update(
            f"epoch {epoch}/{epochs}  train loss {history.train_loss[-1]:.4f} "
            f"acc {history.train_acc[-1]:.3f}  val loss {history.val_loss[-1]:.4f} "
            f"acc {history.val_acc[-1]:.3f}"
        )
    bar.close()
    return history
