"""Tests of derived.train: the loop against the same loop in torch (float64), the metrics
against scikit-learn and brute force, and every error path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from derived.dropout import DropoutMLP
from derived.mlp import MLP
from derived.optim import SGD, AdamW
from derived.train import (
    History,
    accuracy,
    confusion_matrix,
    evaluate,
    minibatches,
    train_classifier,
)


def toy_data(seed=0, n=60, d=5, k=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.argmax(X[:, :k] + 0.3 * rng.normal(size=(n, k)), axis=1)
    return X, y


def torch_twin(net: MLP) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i in range(net.n_layers):
        layers.append(torch.nn.Linear(net.sizes[i], net.sizes[i + 1], dtype=torch.float64))
        if i < net.n_layers - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p_t, p in zip(model.parameters(), net.params, strict=True):
            p_t.copy_(torch.from_numpy(p))
    return model


def test_training_matches_torch_step_for_step():
    X, y = toy_data()
    net = MLP([5, 16, 12, 3], "relu", rng=np.random.default_rng(1))
    model = torch_twin(net)
    hist = train_classifier(
        net,
        AdamW(net.params, lr=0.01),
        X,
        y,
        X[:20],
        y[:20],
        epochs=4,
        batch_size=16,
        rng=np.random.default_rng(2),
    )
    opt_t = torch.optim.AdamW(model.parameters(), lr=0.01)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    order_rng = np.random.default_rng(2)  # replay the same batch order
    losses = []
    for _ in range(4):
        for idx in minibatches(len(y), 16, order_rng):
            opt_t.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X_t[idx]), y_t[idx])
            loss.backward()
            opt_t.step()
            losses.append(loss.item())
    assert len(hist.step_loss) == len(losses) == 4 * 4
    np.testing.assert_allclose(hist.step_loss, losses, rtol=1e-12)
    for p, p_t in zip(net.params, model.parameters(), strict=True):
        np.testing.assert_allclose(p, p_t.detach().numpy(), rtol=1e-11, atol=1e-13)
    with torch.no_grad():
        logits_t = model(X_t)
    loss_t = torch.nn.functional.cross_entropy(logits_t, y_t).item()
    assert hist.train_loss[-1] == pytest.approx(loss_t, rel=1e-12)
    acc_t = (logits_t.argmax(1) == y_t).double().mean().item()
    assert hist.train_acc[-1] == acc_t


def test_history_shapes_and_learning():
    X, y = toy_data(3, n=90)
    net = MLP([5, 16, 3], rng=np.random.default_rng(4))
    hist = train_classifier(
        net,
        AdamW(net.params, lr=0.02),
        X,
        y,
        X,
        y,
        epochs=15,
        batch_size=10,
        rng=np.random.default_rng(5),
    )
    assert isinstance(hist, History)
    assert hist.epochs == 15
    assert len(hist.val_acc) == len(hist.val_loss) == len(hist.train_acc) == 15
    assert len(hist.step_loss) == 15 * 9
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.train_acc[-1] >= 0.9
    assert (hist.train_loss, hist.train_acc) == (hist.val_loss, hist.val_acc)  # same data


def test_runs_are_reproducible():
    X, y = toy_data(6)

    def run():
        net = MLP([5, 8, 3], rng=np.random.default_rng(7))
        return train_classifier(
            net,
            SGD(net.params, lr=0.1, momentum=0.9),
            X,
            y,
            X,
            y,
            epochs=3,
            batch_size=7,
            rng=np.random.default_rng(8),
        )

    assert run() == run()


def test_progress_is_quiet_unless_asked(capsys):
    X, y = toy_data(9, n=20)
    for progress in (False, True):
        net = MLP([5, 4, 3], rng=np.random.default_rng(0))
        train_classifier(
            net,
            SGD(net.params, lr=0.1),
            X,
            y,
            X,
            y,
            epochs=2,
            batch_size=5,
            rng=np.random.default_rng(0),
            progress=progress,
        )
        out, err = capsys.readouterr()
        assert out == ""
        if progress:
            assert "\repoch 1/2" in err
            assert "\repoch 2/2" in err
            assert err.endswith("\n")
        else:
            assert err == ""


def test_evaluate_matches_torch_and_leaves_params_alone():
    X, y = toy_data(10)
    net = MLP([5, 6, 3], rng=np.random.default_rng(11))
    before = [p.copy() for p in net.params]
    loss, acc = evaluate(net, X, y)
    with torch.no_grad():
        logits = torch_twin(net)(torch.from_numpy(X))
    assert loss == pytest.approx(
        torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).item(), rel=1e-13
    )
    assert acc == (logits.argmax(1).numpy() == y).mean()
    assert all(np.array_equal(a, b) for a, b in zip(before, net.params, strict=True))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1),
        )
    )
)
def test_confusion_matrix_matches_scikit_learn(case):
    metrics = pytest.importorskip("sklearn.metrics")
    k, pairs = case
    t, p = np.array(pairs).T
    ours = confusion_matrix(t, p, k)
    np.testing.assert_array_equal(ours, metrics.confusion_matrix(t, p, labels=range(k)))
    assert ours.sum() == len(pairs)
    np.testing.assert_array_equal(ours.sum(axis=1), np.bincount(t, minlength=k))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**16))
def test_minibatches_partition_the_examples(n, batch_size, seed):
    batches = minibatches(n, batch_size, np.random.default_rng(seed))
    assert len(batches) == -(-n // batch_size)
    assert all(b.size == batch_size for b in batches[:-1])
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))


def test_accuracy_by_brute_force():
    rng = np.random.default_rng(12)
    Z = rng.normal(size=(50, 4))
    y = rng.integers(0, 4, size=50)
    hits = sum(
        int(max(range(4), key=lambda j, row=row: row[j]) == label)
        for row, label in zip(Z, y, strict=True)
    )
    assert accuracy(Z, y) == hits / 50
    assert accuracy([[1.0, 1.0]], [0]) == 1.0  # ties go to the first largest


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: accuracy([[1.0, 2.0]], [2]), ValueError, "labels must be below"),
        (lambda: accuracy([[1.0, 2.0]], [0, 1]), ValueError, r"one label per example \(1\)"),
        (lambda: accuracy([[1.0, 2.0]], [0.5]), ValueError, "non-negative integer labels"),
        (lambda: accuracy([[1.0, 2.0]], [-1]), ValueError, "non-negative integer labels"),
        (lambda: accuracy([[1.0, 2.0]], ["a"]), TypeError, "labels must contain integer"),
        (lambda: confusion_matrix([0, 3], [0, 1], 3), ValueError, "below n_classes=3"),
        (lambda: confusion_matrix([0], [0], 0), ValueError, "n_classes must be an int >= 1"),
        (lambda: confusion_matrix([0, 1], [0], 2), ValueError, "y_pred must have one label"),
        (lambda: minibatches(0, 3, np.random.default_rng()), ValueError, "n must be an int"),
        (lambda: minibatches(5, 0, np.random.default_rng()), ValueError, "batch_size must be"),
        (lambda: minibatches(5, 2, 0), TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_metric_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_train_classifier_errors():
    X, y = toy_data(13, n=10)
    net = MLP([5, 4, 3], rng=np.random.default_rng(0))
    opt = SGD(net.params, lr=0.1)
    kw = {"batch_size": 4, "rng": np.random.default_rng(0)}
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        train_classifier(net, opt, X, y, X, y, epochs=0, **kw)
    with pytest.raises(ValueError, match="X_val must have the 5 features"):
        train_classifier(net, opt, X, y, X[:, :4], y, epochs=1, **kw)
    with pytest.raises(ValueError, match=r"y_train must have one label per example \(10\)"):
        train_classifier(net, opt, X, y[:9], X, y, epochs=1, **kw)
    with pytest.raises(ValueError, match="y_val must have 1 dimension"):
        train_classifier(net, opt, X, y, X, y[:, None], epochs=1, **kw)


def test_progress_in_a_notebook_updates_one_display(monkeypatch, capsys):
    import IPython
    import IPython.display

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(obj.data)

    class Shell:
        kernel = object()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id: Handle())
    X, y = toy_data(14, n=12)
    net = MLP([5, 4, 3], rng=np.random.default_rng(0))
    train_classifier(
        net,
        SGD(net.params, lr=0.1),
        X,
        y,
        X,
        y,
        epochs=3,
        batch_size=4,
        rng=np.random.default_rng(0),
        progress=True,
    )
    assert [line.split()[1] for line in shown] == ["1/3", "2/3", "3/3"]
    assert capsys.readouterr() == ("", "")


def test_a_model_with_dropout_trains_with_it_and_is_evaluated_without_it():
    X, y = toy_data(3)
    net = DropoutMLP([5, 16, 3], 0.5, rng=np.random.default_rng(0))
    seen: list[bool] = []
    forward = net.forward

    def spy(X_in):
        seen.append(net.training)
        return forward(X_in)

    net.forward = spy  # type: ignore[method-assign]
    net.training = False  # the loop switches it on for the steps
    history = train_classifier(
        net,
        SGD(net.params, lr=0.1),
        X,
        y,
        X,
        y,
        epochs=2,
        batch_size=20,
        rng=np.random.default_rng(1),
    )
    steps = 3  # 60 examples in batches of 20, per epoch
    assert seen == ([True] * steps + [False, False]) * 2
    assert net.training  # left in training mode
    net.forward = forward  # type: ignore[method-assign]
    loss, acc = evaluate(net, X, y)  # deterministic: dropout is off
    assert (loss, acc) == evaluate(net, X, y)
    assert loss == history.train_loss[-1]
    assert net.training
