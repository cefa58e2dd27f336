r"""First-order optimisers (SGD, momentum, Adam, AdamW) and proximal gradient descent.

Every optimiser holds a list of NumPy float arrays ``params`` and updates them *in place*
when ``step(grads)`` is given the gradients ``grads`` (a list of arrays of the same shapes),
with exactly the update rule of the ``torch.optim`` class of the same name. Write
:math:`g_t` for the gradient at step :math:`t = 1, 2, \dots`, :math:`\eta` for the learning
rate and :math:`\lambda` for the weight decay.

**SGD** with momentum :math:`\mu`, dampening :math:`d` and L2 weight decay:

.. math::

    g_t \leftarrow g_t + \lambda \theta_{t-1}, \quad
    b_1 = g_1, \quad b_t = \mu b_{t-1} + (1 - d) g_t, \quad
    \theta_t = \theta_{t-1} - \eta\, b_t

(plain SGD for :math:`\mu = 0`; Nesterov momentum uses :math:`g_t + \mu b_t` instead of
:math:`b_t`). **SGDW** (Loshchilov and Hutter's decoupled SGD) keeps the weight decay out
of the buffer: :math:`\theta_t = (1 - \eta\lambda)\,\theta_{t-1} - \eta\, b_t`, with
:math:`b_t` built from the plain gradient.

**Adam** keeps exponential moving averages of the gradient and of its square, both
started at zero, and divides out their bias towards zero:

.. math::

    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
    \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad
    \hat v_t = \frac{v_t}{1 - \beta_2^t},

.. math::

    \theta_t = \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.

With :math:`t` counted from 1, :math:`\mathbb E[m_t] = (1 - \beta_1^t)\,\mathbb E[g]` for
gradients of constant mean, which is why the correction divides by
:math:`1 - \beta_1^t` with the *same* :math:`t`. Adam's ``weight_decay`` adds
:math:`\lambda\theta_{t-1}` to the gradient (L2 regularisation, rescaled by
:math:`\sqrt{\hat v_t}` like the rest of the gradient); **AdamW** instead decays the
weights directly, :math:`\theta \leftarrow (1 - \eta\lambda)\,\theta`, before the Adam
update (decoupled weight decay).

**Proximal gradient descent** minimises :math:`f(x) + h(x)` with :math:`f` smooth and
:math:`h` convex but not differentiable, by a gradient step on :math:`f` followed by the
proximal operator of :math:`h`,

.. math::

    \operatorname{prox}_{\alpha h}(y) = \arg\min_x \tfrac{1}{2\alpha}\lVert x - y\rVert^2 + h(x).

For :math:`h = \lambda\lVert\cdot\rVert_1` the proximal operator is soft thresholding,
:math:`\operatorname{sign}(y)\max(|y| - \alpha\lambda, 0)`, and the method is ISTA for the
lasso :math:`\min_x \tfrac12\lVert Ax - b\rVert^2 + \lambda\lVert x\rVert_1`. FISTA takes
the same step at an extrapolated point, Nesterov's acceleration.

**AdaGrad** and **RMSProp**, Adam's ancestors, divide the gradient by the root of the sum,
respectively of an exponential moving average (with decay :math:`\alpha`), of the squared
gradients, without momentum and without bias correction:

.. math::

    s_t = s_{t-1} + g_t^2, \quad \theta_t = \theta_{t-1} - \eta\,\frac{g_t}{\sqrt{s_t} + \epsilon}
    \qquad\text{and}\qquad
    s_t = \alpha s_{t-1} + (1 - \alpha) g_t^2, \quad
    \theta_t = \theta_{t-1} - \eta\,\frac{g_t}{\sqrt{s_t} + \epsilon}.

The book's chapter *Optimisers* derives all of this; ``tests/test_optim.py`` checks every optimiser
that ``torch.optim`` has step for step against it in float64, SGDW against the loop written
out and against SGD, ISTA against the lasso's optimality
conditions and scikit-learn, and FISTA against Beck and Teboulle's bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from derived._validate import as_float_array, check_finite

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "IstaResult",
    "Optimizer",
    "RMSprop",
    "SGDW",
    "fista",
    "ista",
    "lasso_objective",
    "soft_threshold",
]

Array = NDArray[np.float64]


# --------------------------------------------------------------------------- checks


def _at_least_zero(value: Any, name: str) -> float:
    v = check_finite(value, name)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def _unit_interval(value: Any, name: str, *, closed: bool = False) -> float:
    """Return ``value`` if it lies in [0, 1) (or [0, 1] if ``closed``), else raise."""
    v = check_finite(value, name)
    if v < 0 or v > 1 or (v == 1 and not closed):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return v


def _betas(betas: Any) -> tuple[float, float]:
    if not isinstance(betas, Sequence | np.ndarray) or isinstance(betas, str) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return _unit_interval(betas[0], "betas[0]"), _unit_interval(betas[1], "betas[1]")


def _params(params: Any) -> list[Array]:
    """Check that ``params`` is a list of distinct float arrays that can be written in place."""
    if isinstance(params, np.ndarray) or not isinstance(params, Sequence):
        raise TypeError(
            f"params must be a list of NumPy arrays, got {type(params).__name__} "
            "(wrap a single array in a list)"
        )
    if len(params) == 0:
        raise ValueError("params must not be empty: there is nothing to optimise")
    out: list[Array] = []
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(
                f"params[{i}] must be a NumPy array (updated in place), got {type(p).__name__}"
            )
        if not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"params[{i}] must have a float dtype, got {p.dtype}")
        if not p.flags.writeable:
            raise ValueError(f"params[{i}] must be writeable: it is updated in place")
        if not np.all(np.isfinite(p)):
            raise ValueError(f"params[{i}] must be finite")
        if any(p is q for q in out):
            raise ValueError(f"params[{i}] appears twice in params")
        out.append(p)
    return out


class Optimizer:
    """The common part of the optimisers: the parameters, the learning rate, the step count.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place by :meth:`step`.
    lr : float
        Learning rate, >= 0. May be changed between steps (a schedule).

    Attributes
    ----------
    params : list of numpy.ndarray
        The arrays being optimised (the same objects that were passed in).
    lr : float
        The learning rate used by the next step.
    t : int
        The number of steps taken so far.

    Examples
    --------
    >>> w = np.array([1.0, -2.0])
    >>> opt = SGD([w], lr=0.5)
    >>> opt.step([np.array([2.0, 2.0])])
    >>> w.tolist(), opt.t
    ([0.0, -3.0], 1)
    """

    def __init__(self, params: Sequence[Array], lr: float) -> None:
        self.params: list[Array] = _params(params)
        self.lr: float = _at_least_zero(lr, "lr")
        self.t: int = 0

    def _grads(self, grads: Any) -> list[Array]:
        """Validate ``grads`` against ``params``: same length, same shapes, finite."""
        if isinstance(grads, np.ndarray) or not isinstance(grads, Sequence):
            raise TypeError(f"grads must be a list of arrays, got {type(grads).__name__}")
        if len(grads) != len(self.params):
            raise ValueError(
                f"grads must have one array per parameter ({len(self.params)}), got {len(grads)}"
            )
        out = []
        for i, (g, p) in enumerate(zip(grads, self.params, strict=True)):
            arr = as_float_array(g, f"grads[{i}]")
            if arr.shape != p.shape:
                raise ValueError(
                    f"grads[{i}] must have the shape of params[{i}], {p.shape}, got {arr.shape}"
                )
            out.append(arr)
        self.lr = _at_least_zero(self.lr, "lr")
        return out

    def step(self, grads: Sequence[ArrayLike]) -> None:
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of array_like
            One gradient per parameter, of the same shape.

        Returns
        -------
        None
        """
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, as ``torch.optim.SGD``.

    At step :math:`t`, with :math:`g_t` the gradient:

    .. math::

        g_t \leftarrow g_t + \lambda\theta_{t-1}, \quad
        b_t = \begin{cases} g_1 & t = 1 \\ \mu b_{t-1} + (1 - d) g_t & t > 1 \end{cases},
        \quad
        \theta_t = \theta_{t-1} - \eta \begin{cases} b_t \\ g_t + \mu b_t & \text{Nesterov}
        \end{cases}

    With :math:`\mu = 0` no buffer is kept and the step is :math:`-\eta g_t`.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float
        Learning rate :math:`\eta \ge 0`.
    momentum : float, default 0.0
        :math:`\mu \in [0, 1)`.
    dampening : float, default 0.0
        :math:`d \in [0, 1]`, the fraction of each new gradient left out of the buffer.
    weight_decay : float, default 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    nesterov : bool, default False
        Use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).

    Attributes
    ----------
    momentum_buffers : list of numpy.ndarray or None
        The buffers :math:`b_t` (``None`` before the first step or without momentum).

    Examples
    --------
    One step by hand: :math:`L = (w_1 + w_2) w_3` at :math:`w = (1, 2.3, 5.7)` has gradient
    :math:`(w_3, w_3, w_1 + w_2)`.

    >>> w = np.array([1.0, 2.3, 5.7])
    >>> SGD([w], lr=0.01).step([np.array([w[2], w[2], w[0] + w[1]])])
    >>> np.round(w, 3).tolist()
    [0.943, 2.243, 5.667]
    """

    _decoupled = False

    def __init__(
        self,
        params: Sequence[Array],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum: float = _unit_interval(momentum, "momentum")
        self.dampening: float = _unit_interval(dampening, "dampening", closed=True)
        self.weight_decay: float = _at_least_zero(weight_decay, "weight_decay")
        if not isinstance(nesterov, bool | np.bool_):
            raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")
        self.nesterov: bool = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening == 0, "
                f"got momentum={momentum!r}, dampening={dampening!r}"
            )
        self.momentum_buffers: list[Array | None] = [None] * len(self.params)

    def step(self, grads: Sequence[ArrayLike]) -> None:
        """Take one SGD step, updating ``params`` in place.

        Parameters
        ----------
        grads : list of array_like
            One gradient per parameter, of the same shape.

        Returns
        -------
        None

        Examples
        --------
        >>> w = np.zeros(2)
        >>> opt = SGD([w], lr=1.0, momentum=0.5)
        >>> for _ in range(3):
        ...     opt.step([np.ones(2)])
        >>> w.tolist()  # steps of 1, 1.5, 1.75
        [-4.25, -4.25]
        """
        gs = self._grads(grads)
        for i, (p, g) in enumerate(zip(self.params, gs, strict=True)):
            if self.weight_decay != 0:
                if self._decoupled:
                    p *= 1 - self.lr * self.weight_decay  # SGDW: decay the weights
                else:
                    g = g + self.weight_decay * p  # SGD: L2 term in the gradient
            if self.momentum != 0:
                buf = self.momentum_buffers[i]
                if buf is None:
                    buf = np.array(g, dtype=p.dtype)  # b_1 = g_1: no dampening on the first step
                    self.momentum_buffers[i] = buf
                else:
                    buf *= self.momentum
                    buf += (1 - self.dampening) * g
                g = g + self.momentum * buf if self.nesterov else buf
            p += -self.lr * g
        self.t += 1


class SGDW(SGD):
    r"""SGD with decoupled weight decay (SGDW, Algorithm 1 of Loshchilov and Hutter).

    :class:`SGD` adds :math:`\lambda\theta_{t-1}` to the gradient before it enters the
    momentum buffer, so with momentum each step's decay is carried on to later steps.
    SGDW keeps the buffer for the gradient alone and shrinks the weights outside it:

    .. math::

        b_t = \begin{cases} g_1 & t = 1 \\ \mu b_{t-1} + (1 - d) g_t & t > 1 \end{cases},
        \qquad
        \theta_t = (1 - \eta\lambda)\,\theta_{t-1} - \eta\, b_t

    (with Nesterov momentum, :math:`g_t + \mu b_t` in place of :math:`b_t`). The decay is
    written as in ``torch.optim.AdamW``: multiplied by the learning rate :math:`\eta`, so a
    schedule that changes ``lr`` between steps scales it too. The paper multiplies its decay
    :math:`\lambda_\text{LH}` by the schedule multiplier :math:`\eta_t` but not by its
    learning rate :math:`\alpha`, and puts :math:`\alpha\eta_t` inside the buffer; for a
    constant ``lr`` :math:`= \alpha\eta_t` the two agree when ``weight_decay``
    :math:`= \lambda_\text{LH}/\alpha`. Without decay SGDW takes exactly the steps of
    :class:`SGD`; without momentum it takes them up to rounding, since
    :math:`\theta - \eta(g + \lambda\theta) = (1 - \eta\lambda)\theta - \eta g`.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float
        Learning rate :math:`\eta \ge 0`. May be changed between steps (a schedule).
    momentum : float, default 0.0
        :math:`\mu \in [0, 1)`.
    dampening : float, default 0.0
        :math:`d \in [0, 1]`, the fraction of each new gradient left out of the buffer.
    weight_decay : float, default 0.0
        Decoupled decay :math:`\lambda \ge 0`.
    nesterov : bool, default False
        Use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).

    Attributes
    ----------
    momentum_buffers : list of numpy.ndarray or None
        The buffers :math:`b_t`, built from the gradients alone.

    Examples
    --------
    With a zero gradient only the decay acts; with a constant gradient the buffer holds
    the gradient alone, so the step is :math:`-\eta(1 + \mu)g` on top of the decay:

    >>> w = np.array([2.0])
    >>> opt = SGDW([w], lr=0.1, momentum=0.5, weight_decay=0.5)
    >>> opt.step([np.zeros(1)])
    >>> w.tolist()  # 2 * (1 - 0.1 * 0.5)
    [1.9]
    >>> w = np.array([2.0])
    >>> opt = SGDW([w], lr=0.1, momentum=0.5, weight_decay=0.5)
    >>> opt.step([np.ones(1)])
    >>> opt.step([np.ones(1)])
    >>> np.round(w, 6).tolist()  # 0.95 * (0.95 * 2 - 0.1) - 0.1 * 1.5
    [1.56]
    """

    _decoupled = True


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam`` (L2 weight decay added to the gradient).

    At step :math:`t = 1, 2, \dots`, with :math:`m_0 = v_0 = 0`:

    .. math::

        g_t &\leftarrow g_t + \lambda\theta_{t-1}, \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t}\,
            \frac{m_t}{\sqrt{v_t}/\sqrt{1 - \beta_2^t} + \epsilon}.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        Decay rates :math:`\beta_1, \beta_2 \in [0, 1)` of the two moving averages.
    eps : float, default 1e-8
        :math:`\epsilon \ge 0`, added to :math:`\sqrt{\hat v_t}`.
    weight_decay : float, default 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.

    Attributes
    ----------
    exp_avg, exp_avg_sq : list of numpy.ndarray
        The moving averages :math:`m_t` and :math:`v_t` (zeros before the first step).

    Examples
    --------
    The first step of Adam moves every coordinate by about ``lr``, whatever the gradient's
    size: :math:`\hat m_1 = g_1` and :math:`\sqrt{\hat v_1} = |g_1|`.

    >>> w = np.zeros(3)
    >>> Adam([w], lr=0.1).step([np.array([1e-3, 1.0, -1e3])])
    >>> np.round(w, 6).tolist()
    [-0.099999, -0.1, 0.1]
    """

    _decoupled = False

    def __init__(
        self,
        params: Sequence[Array],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.betas: tuple[float, float] = _betas(betas)
        self.eps: float = _at_least_zero(eps, "eps")
        self.weight_decay: float = _at_least_zero(weight_decay, "weight_decay")
        self.exp_avg: list[Array] = [np.zeros_like(p) for p in self.params]
        self.exp_avg_sq: list[Array] = [np.zeros_like(p) for p in self.params]

    def step(self, grads: Sequence[ArrayLike]) -> None:
        """Take one Adam step, updating ``params`` in place.

        Parameters
        ----------
        grads : list of array_like
            One gradient per parameter, of the same shape.

        Returns
        -------
        None

        Examples
        --------
        >>> w = np.ones(2)
        >>> opt = Adam([w], lr=0.01)
        >>> opt.step([np.array([3.0, -3.0])])
        >>> (w - 1).round(8).tolist(), opt.t
        ([-0.01, 0.01], 1)
        """
        gs = self._grads(grads)
        beta1, beta2 = self.betas
        self.t += 1
        t = self.t
        bias_correction1 = 1 - beta1**t
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        step_size = self.lr / bias_correction1
        for p, g, m, v in zip(self.params, gs, self.exp_avg, self.exp_avg_sq, strict=True):
            if self.weight_decay != 0:
                if self._decoupled:
                    p *= 1 - self.lr * self.weight_decay  # AdamW: decay the weights
                else:
                    g = g + self.weight_decay * p  # Adam: L2 term in the gradient
            _lerp(m, g, 1 - beta1)  # m_t = beta1 m_{t-1} + (1 - beta1) g_t
            v *= beta2
            v += (1 - beta2) * g * g  # v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
            denom = np.sqrt(v) / bias_correction2_sqrt + self.eps  # sqrt(v_hat) + eps
            p += -step_size * m / denom  # the 1/(1 - beta1^t) correction is in step_size


class AdamW(Adam):
    r"""AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay.

    Each step first shrinks the weights, :math:`\theta \leftarrow (1 - \eta\lambda)\theta`,
    then takes the Adam step of :class:`Adam` with ``weight_decay=0``. Unlike the L2
    term of :class:`Adam`, the decay is not divided by :math:`\sqrt{\hat v_t}`: every
    weight decays at the same relative rate :math:`\eta\lambda` per step.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        Decay rates :math:`\beta_1, \beta_2 \in [0, 1)`.
    eps : float, default 1e-8
        :math:`\epsilon \ge 0`.
    weight_decay : float, default 1e-2
        Decoupled decay :math:`\lambda \ge 0`.

    Examples
    --------
    With a zero gradient only the decay acts:

    >>> w = np.array([2.0])
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> opt.step([np.zeros(1)])
    >>> w.tolist()  # 2 * (1 - 0.1 * 0.5)
    [1.9]
    """

    _decoupled = True

    def __init__(
        self,
        params: Sequence[Array],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class _SquareAverage(Optimizer):
    """AdaGrad and RMSProp: the gradient divided by the root of accumulated squares."""

    def __init__(self, params: Sequence[Array], lr: float, eps: float, weight_decay: float) -> None:
        super().__init__(params, lr)
        self.eps: float = _at_least_zero(eps, "eps")
        self.weight_decay: float = _at_least_zero(weight_decay, "weight_decay")
        self.square_avg: list[Array] = [np.zeros_like(p) for p in self.params]

    def _accumulate(self, s: Array, g: Array) -> None:
        raise NotImplementedError

    def step(self, grads: Sequence[ArrayLike]) -> None:
        """Take one step, updating ``params`` in place.

        Parameters
        ----------
        grads : list of array_like
            One gradient per parameter, of the same shape.

        Returns
        -------
        None
        """
        gs = self._grads(grads)
        for p, g, s in zip(self.params, gs, self.square_avg, strict=True):
            if self.weight_decay != 0:
                g = g + self.weight_decay * p  # L2 term in the gradient
            self._accumulate(s, g)
            p += -self.lr * (g / (np.sqrt(s) + self.eps))
        self.t += 1


class Adagrad(_SquareAverage):
    r"""AdaGrad, as ``torch.optim.Adagrad`` (without ``lr_decay``).

    With :math:`s_0 = 0`: :math:`s_t = s_{t-1} + g_t^2` and
    :math:`\theta_t = \theta_{t-1} - \eta\, g_t / (\sqrt{s_t} + \epsilon)`. On a constant
    gradient the step is :math:`\eta/\sqrt t` in every coordinate.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float, default 1e-2
        Learning rate :math:`\eta \ge 0`.
    eps : float, default 1e-10
        :math:`\epsilon \ge 0`, added to :math:`\sqrt{s_t}`.
    weight_decay : float, default 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.

    Attributes
    ----------
    square_avg : list of numpy.ndarray
        The sums :math:`s_t` of squared gradients (torch's ``state_sum``).

    Examples
    --------
    >>> w = np.zeros(1)
    >>> opt = Adagrad([w], lr=1.0, eps=0.0)
    >>> for _ in range(4):
    ...     opt.step([np.array([5.0])])
    >>> round(float(-w[0]), 6)  # 1 + 1/sqrt(2) + 1/sqrt(3) + 1/2
    2.784457
    """

    def __init__(
        self,
        params: Sequence[Array],
        lr: float = 1e-2,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, eps, weight_decay)

    def _accumulate(self, s: Array, g: Array) -> None:
        s += g * g


class RMSprop(_SquareAverage):
    r"""RMSProp, as ``torch.optim.RMSprop`` (without momentum, not centred).

    With :math:`s_0 = 0`: :math:`s_t = \alpha s_{t-1} + (1 - \alpha) g_t^2` and
    :math:`\theta_t = \theta_{t-1} - \eta\, g_t / (\sqrt{s_t} + \epsilon)`. There is no bias
    correction, so the first steps are larger than :math:`\eta` by up to
    :math:`1/\sqrt{1 - \alpha}`.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float, default 1e-2
        Learning rate :math:`\eta \ge 0`.
    alpha : float, default 0.99
        Decay rate :math:`\alpha \in [0, 1)` of the moving average of squares.
    eps : float, default 1e-8
        :math:`\epsilon \ge 0`, added to :math:`\sqrt{s_t}`.
    weight_decay : float, default 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.

    Attributes
    ----------
    square_avg : list of numpy.ndarray
        The moving averages :math:`s_t` of squared gradients.

    Examples
    --------
    >>> w = np.zeros(1)
    >>> RMSprop([w], lr=0.01, alpha=0.99, eps=0.0).step([np.array([3.0])])
    >>> round(float(-w[0]), 6)  # 0.01 / sqrt(0.01)
    0.1
    """

    def __init__(
        self,
        params: Sequence[Array],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, eps, weight_decay)
        self.alpha: float = _unit_interval(alpha, "alpha")

    def _accumulate(self, s: Array, g: Array) -> None:
        s *= self.alpha
        s += (1 - self.alpha) * g * g


def _lerp(start: Array, end: Array, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded as torch's default lerp rounds.

    This is the rounding of torch's default (non-vectorised) kernel; its AVX2/AVX-512
    kernels fuse the multiply-add, so their last bit sometimes differs.
    """
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


# --------------------------------------------------------------------------- proximal


def soft_threshold(x: ArrayLike, t: ArrayLike) -> Array:
    r"""Soft thresholding, the proximal operator of :math:`t\lVert\cdot\rVert_1`.

    .. math::

        \operatorname{prox}_{t\lVert\cdot\rVert_1}(x)_i
        = \arg\min_{u}\ \tfrac12 (u - x_i)^2 + t_i |u|
        = \operatorname{sign}(x_i)\max(|x_i| - t_i, 0).

    Entries with :math:`|x_i| \le t_i` become exactly 0; the others move towards 0 by
    :math:`t_i`.

    Parameters
    ----------
    x : array_like, any shape
        The point, finite.
    t : float or array_like of the shape of ``x``
        Thresholds, >= 0 (no other broadcasting).

    Returns
    -------
    numpy.ndarray of float64, the shape of ``x``

    Examples
    --------
    >>> soft_threshold([-3.0, -0.5, 0.0, 0.5, 3.0], 1.0).tolist()
    [-2.0, 0.0, 0.0, 0.0, 2.0]
    """
    xa = as_float_array(x, "x")
    ta = as_float_array(t, "t")
    if ta.ndim != 0 and ta.shape != xa.shape:
        raise ValueError(f"t must be a number or have the shape of x, {xa.shape}, got {ta.shape}")
    if np.any(ta < 0):
        raise ValueError(f"t must be >= 0, got a minimum of {ta.min():g}")
    return np.where(np.abs(xa) > ta, xa - np.sign(xa) * ta, 0.0)  # +0.0, never -0.0


def _lasso_inputs(A: ArrayLike, b: ArrayLike, lam: Any) -> tuple[Array, Array, float]:
    Am = as_float_array(A, "A", ndim=2, allow_empty=False)
    bv = as_float_array(b, "b", ndim=1, allow_empty=False)
    if bv.shape[0] != Am.shape[0]:
        raise ValueError(f"b must have A's {Am.shape[0]} rows, got shape {bv.shape}")
    return Am, bv, _at_least_zero(lam, "lam")


def lasso_objective(A: ArrayLike, b: ArrayLike, lam: float, x: ArrayLike) -> float:
    r"""Evaluate the lasso objective at ``x``.

    .. math::

        F(x) = \tfrac12\lVert Ax - b\rVert_2^2 + \lambda\lVert x\rVert_1

    Parameters
    ----------
    A : array_like, shape (m, n)
        Design matrix.
    b : array_like, shape (m,)
        Targets.
    lam : float
        :math:`\lambda \ge 0`.
    x : array_like, shape (n,)
        Coefficients.

    Returns
    -------
    float

    Examples
    --------
    >>> lasso_objective(np.eye(2), [1.0, 2.0], 0.5, [1.0, 0.0])
    2.5
    """
    Am, bv, lam_ = _lasso_inputs(A, b, lam)
    xv = as_float_array(x, "x", ndim=1)
    if xv.shape != (Am.shape[1],):
        raise ValueError(f"x must have shape ({Am.shape[1]},) to match A, got {xv.shape}")
    r = Am @ xv - bv
    return float(0.5 * r @ r + lam_ * np.abs(xv).sum())


@dataclass(frozen=True)
class IstaResult:
    """What :func:`ista` returns.

    Attributes
    ----------
    x : numpy.ndarray of float64, shape (n,)
        The last iterate.
    objective : numpy.ndarray of float64, shape (n_iter + 1,)
        The lasso objective at the start and after every iteration.
    n_iter : int
        The number of iterations taken.
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    """

    x: Array
    objective: Array
    n_iter: int
    converged: bool


def ista(
    A: ArrayLike,
    b: ArrayLike,
    lam: float,
    *,
    step: float | None = None,
    x0: ArrayLike | None = None,
    max_iter: int = 10_000,
    tol: float = 1e-12,
) -> IstaResult:
    r"""Solve the lasso by ISTA (proximal gradient descent with soft thresholding).

    The lasso is :math:`\min_x \tfrac12\lVert Ax - b\rVert^2 + \lambda\lVert x\rVert_1`.

    Each iteration is a gradient step on the smooth part, then soft thresholding,

    .. math::

        x_{k+1} = \operatorname{soft}\big(x_k - \alpha A^\top(Ax_k - b),\ \alpha\lambda\big),

    with step :math:`\alpha = 1/L`, :math:`L = \lVert A\rVert_2^2` the Lipschitz constant of
    the smooth part's gradient (by default). For :math:`0 < \alpha \le 1/L` the objective
    decreases at every iteration and its gap to the minimum is
    :math:`O(1/k)`. Iteration stops when no coordinate moves by more than
    ``tol * max(1, max|x_k|)``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Design matrix.
    b : array_like, shape (m,)
        Targets.
    lam : float
        :math:`\lambda \ge 0`.
    step : float, optional
        :math:`\alpha` in :math:`(0, 1/L]`; default :math:`1/L`.
    x0 : array_like, shape (n,), optional
        Starting point; default zeros.
    max_iter : int, default 10000
        The most iterations, >= 1.
    tol : float, default 1e-12
        Relative stopping tolerance, >= 0.

    Returns
    -------
    IstaResult
        The last iterate, the objective history, the iteration count, and whether it
        converged.

    Examples
    --------
    With :math:`A = I` one step solves the problem: the answer is the soft threshold of
    :math:`b`.

    >>> res = ista(np.eye(3), np.array([3.0, -0.2, -1.5]), lam=1.0)
    >>> res.x.tolist(), res.converged
    ([2.0, 0.0, -0.5], True)
    """
    return _proximal_gradient(A, b, lam, step, x0, max_iter, tol, accelerate=False)


def fista(
    A: ArrayLike,
    b: ArrayLike,
    lam: float,
    *,
    step: float | None = None,
    x0: ArrayLike | None = None,
    max_iter: int = 10_000,
    tol: float = 1e-12,
) -> IstaResult:
    r"""Solve the lasso by FISTA, Beck and Teboulle's accelerated ISTA.

    The lasso is :math:`\min_x F(x) = \tfrac12\lVert Ax - b\rVert^2 + \lambda\lVert x\rVert_1`.
    FISTA takes the step of :func:`ista` at an extrapolated point :math:`y_k`:

    .. math::

        x_{k+1} = \operatorname{soft}\big(y_k - \alpha A^\top(Ay_k - b),\ \alpha\lambda\big),
        \quad t_{k+1} = \frac{1 + \sqrt{1 + 4t_k^2}}{2}, \quad
        y_{k+1} = x_{k+1} + \frac{t_k - 1}{t_{k+1}}\,(x_{k+1} - x_k),

    with :math:`y_0 = x_0` and :math:`t_0 = 1`. For :math:`\alpha = 1/L`,
    :math:`L = \lVert A\rVert_2^2`, Theorem 4.4 of Beck and Teboulle (2009) bounds
    :math:`F(x_k) - F^\star \le 2L\lVert x_0 - x^\star\rVert^2/(k + 1)^2`, against
    ISTA's :math:`O(1/k)`; unlike ISTA's, the objective need not decrease at every
    iteration. Iteration stops when no coordinate of :math:`x_k` moves by more than
    ``tol * max(1, max|x_k|)``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Design matrix.
    b : array_like, shape (m,)
        Targets.
    lam : float
        :math:`\lambda \ge 0`.
    step : float, optional
        :math:`\alpha` in :math:`(0, 1/L]`; default :math:`1/L`.
    x0 : array_like, shape (n,), optional
        Starting point; default zeros.
    max_iter : int, default 10000
        The most iterations, >= 1.
    tol : float, default 1e-12
        Relative stopping tolerance, >= 0.

    Returns
    -------
    IstaResult
        The last iterate :math:`x_k`, the objective at :math:`x_0, x_1, \dots`, the iteration
        count, and whether it converged.

    Examples
    --------
    With :math:`A = I` the first step already solves the problem, as for :func:`ista`:

    >>> res = fista(np.eye(3), np.array([3.0, -0.2, -1.5]), lam=1.0)
    >>> res.x.tolist(), res.converged
    ([2.0, 0.0, -0.5], True)
    """
    return _proximal_gradient(A, b, lam, step, x0, max_iter, tol, accelerate=True)


def _proximal_gradient(
    A: ArrayLike,
    b: ArrayLike,
    lam: float,
    step: float | None,
    x0: ArrayLike | None,
    max_iter: int,
    tol: float,
    *,
    accelerate: bool,
) -> IstaResult:
    """ISTA (``accelerate=False``) or FISTA (``accelerate=True``), inputs checked here."""
    Am, bv, lam_ = _lasso_inputs(A, b, lam)
    n = Am.shape[1]
    lipschitz = float(np.linalg.norm(Am, 2) ** 2)
    if step is None:
        if lipschitz == 0:
            raise ValueError("A is zero: the lasso has no smooth part to take a step on")
        alpha = 1.0 / lipschitz
    else:
        alpha = check_finite(step, "step")
        if not 0 < alpha <= 1.0 / lipschitz * (1 + 1e-12):
            raise ValueError(
                f"step must lie in (0, 1/L] = (0, {1 / lipschitz:.6g}] with L = ||A||_2^2, "
                f"got {step!r}"
            )
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
    tol_ = _at_least_zero(tol, "tol")
    if x0 is None:
        x = np.zeros(n)
    else:
        x = as_float_array(x0, "x0", ndim=1).copy()
        if x.shape != (n,):
            raise ValueError(f"x0 must have shape ({n},) to match A, got {x.shape}")
    Atb = Am.T @ bv
    AtA = Am.T @ Am  # (n, n): the gradient is AtA x - Atb
    objective = [lasso_objective(Am, bv, lam_, x)]
    converged = False
    k = 0
    y, t = x, 1.0  # FISTA's extrapolated point and its t_k (unused by ISTA)
    for k in range(1, int(max_iter) + 1):  # noqa: B007 - k is the iteration count
        point = y if accelerate else x
        x_new = soft_threshold(point - alpha * (AtA @ point - Atb), alpha * lam_)
        if accelerate:
            t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
            y = x_new + (t - 1) / t_new * (x_new - x)
            t = t_new
        change = float(np.max(np.abs(x_new - x)))
        x = x_new
        objective.append(lasso_objective(Am, bv, lam_, x))
        if change <= tol_ * max(1.0, float(np.max(np.abs(x)))):
            converged = True
            break
    return IstaResult(x=x, objective=np.array(objective), n_iter=k, converged=converged)
