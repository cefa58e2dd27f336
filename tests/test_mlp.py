"""Tests of derived.mlp against torch.nn.Linear and torch.autograd (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.losses import cross_entropy, cross_entropy_grad, mse, mse_grad
from derived.mlp import ACTIVATIONS, MLP, activate, activation_derivative, gradient_profile
from oracles import numerical_gradient

TORCH_ACT = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda s: s,
}


def torch_forward(params: list[torch.Tensor], X: torch.Tensor, act: str, out_act: str):
    a = X
    n_layers = len(params) // 2
    for layer in range(n_layers):
        W, b = params[2 * layer], params[2 * layer + 1]
        a = torch.nn.functional.linear(a, W, b)
        a = TORCH_ACT[out_act if layer == n_layers - 1 else act](a)
    return a


def torch_grads(net: MLP, X: np.ndarray, dout: np.ndarray, act: str, out_act: str):
    params = [torch.tensor(p, requires_grad=True) for p in net.params]
    Xt = torch.tensor(X, requires_grad=True)
    out = torch_forward(params, Xt, act, out_act)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [p.grad.numpy() for p in params], Xt.grad.numpy()


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("out_act", [None, "sigmoid", "tanh"])
def test_forward_backward_match_torch(act, out_act):
    rng = np.random.default_rng(0)
    net = MLP([5, 7, 6, 3], act, rng=rng, output_activation=out_act)
    X = rng.normal(size=(11, 5))
    dout = rng.normal(size=(11, 3))
    out = net.forward(X)
    grads = net.backward(dout)
    out_t, grads_t, dX_t = torch_grads(net, X, dout, act, out_act or "identity")
    np.testing.assert_allclose(out, out_t, rtol=1e-12, atol=1e-15)
    assert len(grads) == len(net.params)
    for g, gt, p in zip(grads, grads_t, net.params, strict=True):
        assert g.shape == p.shape
        np.testing.assert_allclose(g, gt, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(net.dX, dX_t, rtol=1e-10, atol=1e-14)
    assert net.grads is grads


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5),
    n=st.integers(1, 6),
    act=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_architecture_matches_torch(sizes, n, act, seed):
    rng = np.random.default_rng(seed)
    net = MLP(sizes, act, rng=rng)
    X = rng.normal(size=(n, sizes[0]))
    dout = rng.normal(size=(n, sizes[-1]))
    out = net.forward(X)
    grads = net.backward(dout)
    out_t, grads_t, dX_t = torch_grads(net, X, dout, act, "identity")
    np.testing.assert_allclose(out, out_t, rtol=1e-11, atol=1e-14)
    for g, gt in zip(grads, grads_t, strict=True):
        np.testing.assert_allclose(g, gt, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(net.dX, dX_t, rtol=1e-9, atol=1e-13)


def test_initialisation_like_torch_linear():
    rng = np.random.default_rng(1)
    net = MLP([400, 30, 2], rng=rng)
    W1, b1, W2, b2 = net.params
    assert [p.shape for p in net.params] == [(30, 400), (30,), (2, 30), (2,)]
    assert all(p.dtype == np.float64 for p in net.params)
    for p, fan_in in [(W1, 400), (b1, 400), (W2, 30), (b2, 30)]:
        assert np.abs(p).max() <= 1 / np.sqrt(fan_in)
    # uniform on [-c, c] has variance c^2 / 3; 12000 draws pin it to about 2%
    assert np.var(W1) == pytest.approx(1 / 400 / 3, rel=0.05)
    # torch.nn.Linear's default has the same bound
    layer = torch.nn.Linear(400, 30)
    assert layer.weight.abs().max().item() <= 1 / np.sqrt(400)
    # same seed, same network
    again = MLP([400, 30, 2], rng=np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(net.params, again.params, strict=True))
    assert net.parameters() is net.params


def test_in_place_updates_are_seen_by_the_next_forward():
    rng = np.random.default_rng(2)
    net = MLP([3, 4, 2], "tanh", rng=rng)
    X = rng.normal(size=(5, 3))
    before = net.forward(X)
    for p in net.parameters():
        p *= 0.0
    assert np.array_equal(net.forward(X), np.zeros((5, 2)))
    assert not np.array_equal(before, 0.0)


def test_sgd_steps_match_torch_optim():
    rng = np.random.default_rng(3)
    net = MLP([4, 8, 3], "relu", rng=rng)
    X = rng.normal(size=(16, 4))
    labels = rng.integers(0, 3, size=16)
    params_t = [torch.tensor(p, requires_grad=True) for p in net.params]
    opt = torch.optim.SGD(params_t, lr=0.1)
    for _ in range(5):
        logits = net.forward(X)
        loss = cross_entropy(logits, labels)
        for p, g in zip(net.params, net.backward(cross_entropy_grad(logits, labels)), strict=True):
            p -= 0.1 * g
        opt.zero_grad()
        loss_t = torch.nn.functional.cross_entropy(
            torch_forward(params_t, torch.tensor(X), "relu", "identity"), torch.tensor(labels)
        )
        loss_t.backward()
        opt.step()
        assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for p, pt in zip(net.params, params_t, strict=True):
        np.testing.assert_allclose(p, pt.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_single_example_is_a_batch_of_one():
    rng = np.random.default_rng(4)
    net = MLP([3, 5, 2], "sigmoid", rng=rng, output_activation="sigmoid")
    x, g = rng.normal(size=3), rng.normal(size=2)
    out1 = net.forward(x)
    grads1 = [a.copy() for a in net.backward(g)]
    dx1 = net.dX
    out2 = net.forward(x[None, :])
    grads2 = net.backward(g[None, :])
    assert out1.shape == (2,)
    assert dx1.shape == (3,)
    np.testing.assert_array_equal(out1, out2[0])
    np.testing.assert_array_equal(dx1, net.dX[0])
    for a, b in zip(grads1, grads2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_mse_regression_gradient_by_finite_differences():
    rng = np.random.default_rng(5)
    net = MLP([2, 3, 1], "tanh", rng=rng)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    grads = net.backward(mse_grad(net.forward(X), y))
    for p, g in zip(net.params, grads, strict=True):

        def loss(value: np.ndarray, p: np.ndarray = p) -> float:
            saved = p.copy()
            p[...] = value
            out = mse(net.forward(X), y)
            p[...] = saved
            return out

        # central differences: error O(h^2) plus rounding O(eps / h), about 1e-10
        np.testing.assert_allclose(g, numerical_gradient(loss, p.copy()), rtol=1e-6, atol=1e-9)


def test_relu_derivative_at_zero_is_zero_like_torch():
    s = torch.zeros(3, requires_grad=True, dtype=torch.float64)
    torch.relu(s).sum().backward()
    np.testing.assert_array_equal(activation_derivative(np.zeros(3), "relu"), s.grad.numpy())


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_and_derivatives_match_torch(name):
    s = np.linspace(-40, 40, 161)
    st_ = torch.tensor(s, requires_grad=True)
    out = TORCH_ACT[name](st_)
    out.sum().backward()
    np.testing.assert_allclose(activate(s, name), out.detach().numpy(), rtol=1e-14, atol=0)
    # 1 - tanh(s)^2 and a (1 - a) are computed to an absolute error of about eps
    np.testing.assert_allclose(
        activation_derivative(s, name), st_.grad.numpy(), rtol=1e-12, atol=1e-15
    )
    assert np.all(np.isfinite(activate(np.array([-1e4, 1e4]), name)))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"sizes": [3]}, ValueError, "at least 2 entries"),
        ({"sizes": [3, 0]}, ValueError, "positive ints"),
        ({"sizes": [3, 2.5]}, ValueError, "positive ints"),
        ({"sizes": "32"}, TypeError, "sequence of ints"),
        ({"sizes": [3, 2], "activation": "gelu"}, ValueError, "activation must be one of"),
        ({"sizes": [3, 2], "output_activation": "soft"}, ValueError, "output_activation must"),
        ({"sizes": [3, 2], "rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_constructor_errors(kwargs, exc, match):
    kwargs.setdefault("rng", np.random.default_rng(0))
    sizes = kwargs.pop("sizes")
    with pytest.raises(exc, match=match):
        MLP(sizes, **kwargs)


def test_sizes_may_be_a_numpy_array():
    net = MLP(np.array([3, 4, 2]), rng=np.random.default_rng(0))
    assert net.sizes == (3, 4, 2)
    assert net.n_layers == 2


def test_replaced_parameter_with_wrong_shape_is_reported():
    net = MLP([3, 4, 2], rng=np.random.default_rng(0))
    net.params[2] = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"params of layer 2 must have shapes \(2, 4\)"):
        net.forward(np.ones((1, 3)))


def test_forward_and_backward_errors():
    net = MLP([3, 2], rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="forward"):
        net.backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match="X must have 3 features"):
        net.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match="X must have 1 or 2 dimension"):
        net.forward(np.ones((4, 3, 1)))
    with pytest.raises(ValueError, match="X must be finite"):
        net.forward(np.full((1, 3), np.nan))
    net.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(4, 2\)"):
        net.backward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="name must be one of"):
        activate([1.0], "swish")


def test_deltas_are_per_example_errors_and_pre_activations_are_cached():
    """Row m of ``deltas[l]`` is the bias gradient of example m alone (a batch of one)."""
    rng = np.random.default_rng(5)
    net = MLP([3, 6, 4, 2], "tanh", rng=rng, output_activation="sigmoid")
    X, dout = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    net.forward(X)
    pre = net.pre_activations
    net.backward(dout)
    deltas = net.deltas
    assert pre is not None
    assert deltas is not None
    assert [d.shape for d in deltas] == [(7, 6), (7, 4), (7, 2)] == [s.shape for s in pre]
    np.testing.assert_allclose(pre[0], X @ net.params[0].T + net.params[1], rtol=1e-15)
    for m in range(7):
        net.forward(X[m])
        grads = net.backward(dout[m])
        assert net.deltas is not None
        assert net.pre_activations is not None
        for layer in range(3):
            np.testing.assert_allclose(net.deltas[layer], deltas[layer][m], rtol=1e-12)
            np.testing.assert_allclose(grads[2 * layer + 1], deltas[layer][m], rtol=1e-12)
            np.testing.assert_allclose(net.pre_activations[layer], pre[layer][m], rtol=1e-13)
    net.forward(X)
    assert net.deltas is None  # a new forward pass invalidates the old errors


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
def test_gradient_profile_matches_its_definitions(act):
    from derived.signal import batch_coherence, coherence, per_layer_rate

    rng = np.random.default_rng(4)
    net = MLP([6, 8, 8, 8, 2], act, rng=rng)
    X = rng.normal(size=(10, 6))
    before = [p.copy() for p in net.params]
    prof = gradient_profile(net, X)
    assert all(np.array_equal(p, q) for p, q in zip(net.params, before, strict=True))
    # the gradient of the mean output, by autograd
    params = [torch.tensor(p, requires_grad=True) for p in net.params]
    (torch_forward(params, torch.tensor(X), act, "identity").sum() / len(X)).backward()
    norms = [np.linalg.norm(p.grad.numpy()) for p in params[0::2]]
    np.testing.assert_allclose(prof["norms"], norms, rtol=1e-12)
    inputs = [X] + [activate(s, act) for s in net.pre_activations[:-1]]
    coh = [batch_coherence(d, a) for d, a in zip(net.deltas, inputs, strict=True)]
    np.testing.assert_allclose(prof["coherence"], coh, rtol=1e-12)
    np.testing.assert_allclose(prof["norms"], prof["coherence"] * prof["example_sums"], rtol=1e-12)
    rate = per_layer_rate([np.linalg.norm(d, axis=1) for d in net.deltas])
    assert prof["rate"] == pytest.approx(rate, rel=1e-12)
    rms = np.sqrt(np.mean([activation_derivative(s, act) ** 2 for s in net.pre_activations[:-1]]))
    assert prof["rms_derivative"] == pytest.approx(rms, rel=1e-12)
    np.testing.assert_allclose(
        prof["error_coherence"], [coherence(d) for d in net.deltas], rtol=1e-12
    )
    np.testing.assert_allclose(prof["input_coherence"], [coherence(a) for a in inputs], rtol=1e-12)
    f_prime = np.hstack([activation_derivative(s, act) for s in net.pre_activations[:-1]])
    spread = np.mean([np.std(column) for column in f_prime.T]) / np.mean(f_prime)
    assert prof["derivative_spread"] == pytest.approx(spread, rel=1e-12)
    errors = np.array([np.linalg.norm(d, axis=1) for d in net.deltas])
    np.testing.assert_allclose(prof["error_norms"], errors, rtol=1e-12)
    np.testing.assert_allclose(
        prof["input_norms"], [np.linalg.norm(a, axis=1) for a in inputs], rtol=1e-12
    )
    np.testing.assert_allclose(
        prof["example_sums"], np.sum(prof["error_norms"] * prof["input_norms"], axis=1), rtol=1e-12
    )


def test_gradient_profile_coherence_and_spread_limits():
    # identity activation: every example's error is the same linear image of the output's,
    # so the errors are perfectly aligned and f' does not vary at all
    net = MLP([3, 4, 4, 1], "identity", rng=np.random.default_rng(2))
    X = np.random.default_rng(3).normal(size=(20, 3))
    prof = gradient_profile(net, X)
    np.testing.assert_allclose(prof["error_coherence"], 1.0, rtol=1e-12)
    assert prof["derivative_spread"] == 0.0
    # inputs of the first layer: +x and -x cancel exactly
    pm = np.vstack([X[:1], -X[:1]])
    assert gradient_profile(net, pm)["input_coherence"][0] == pytest.approx(0.0, abs=1e-15)
    # ReLU units active for exactly half of two examples: f' in {0, 1}, std 1/2, mean 1/2
    relu = MLP([1, 2, 1], "relu", rng=np.random.default_rng(0))
    relu.params[0][...] = [[1.0], [-1.0]]
    relu.params[1][...] = 0.0
    relu.params[2][...] = 1.0
    prof = gradient_profile(relu, [[1.0], [-1.0]])
    assert prof["derivative_spread"] == pytest.approx(1.0, rel=1e-14)
    # the two errors, (1/2, 0) and (0, 1/2), are orthogonal: ||(1/2, 1/2)|| / 1
    assert prof["error_coherence"][0] == pytest.approx(1 / np.sqrt(2), rel=1e-14)


def test_gradient_profile_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="MLP"):
        gradient_profile("net", np.ones((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hidden layer"):
        gradient_profile(MLP([2, 1], rng=rng), np.ones((2, 2)))
    dead = MLP([2, 3, 1], "relu", rng=rng)
    dead.params[1][...] = -100.0  # every hidden unit off: the first layer's errors vanish
    with pytest.raises(ValueError, match="zero"):
        gradient_profile(dead, np.ones((2, 2)))
