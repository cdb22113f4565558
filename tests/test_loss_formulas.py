"""The losses beyond the cross-entropies and mse, and the cross-entropies' from_logits and
label_smoothing: values and gradients against reference.py, PyTorch and finite
differences, in float32 and float64; stability at extreme inputs; targets; save and load."""
from __future__ import annotations

import numpy as np
import pytest

from fastdnn import losses, reference
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential
from fastdnn.saving import load_model

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-5, np.float64: 1e-11}

# (registry name, constructor arguments, what A holds)
CASES = [
    ("mae", {}, "real"), ("huber", {}, "real"), ("huber", {"delta": 0.3}, "real"),
    ("log_cosh", {}, "real"), ("poisson", {}, "rate"), ("poisson", {"log_input": True}, "real"),
    ("hinge", {}, "real"), ("squared_hinge", {}, "real"),
    ("binary_crossentropy", {"from_logits": True}, "real"),
    ("binary_crossentropy", {"label_smoothing": 0.2}, "prob"),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "real"),
    ("categorical_crossentropy", {"from_logits": True}, "real"),
    ("categorical_crossentropy", {"label_smoothing": 0.2}, "softmax"),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.3}, "real"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "real"),
    ("sparse_categorical_crossentropy", {}, "softmax"),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in a.items())}" for n, a, _ in CASES]


def make(name, args, holds, dtype=np.float64, n=3, m=9, seed=0):
    """(loss, A, Y) in the lecture layout (n, m), A away from kinks and clipping."""
    rng = np.random.default_rng(seed)
    loss = losses.get(name) if not args else losses.get({"name": name, **args})
    Z = rng.normal(size=(n, m)) * 2
    if holds == "rate":
        A = np.exp(Z / 2)
    elif holds == "prob":
        A = 1 / (1 + np.exp(-Z))
    elif holds == "softmax":
        A = np.exp(Z) / np.exp(Z).sum(axis=0)
    else:
        A = Z
    if "categorical" in name:
        y = rng.integers(0, n, size=m)
        Y = np.eye(n)[y].T
    elif name == "binary_crossentropy":
        Y = rng.integers(0, 2, size=(n, m)).astype(float)
    elif "hinge" in name:
        Y = rng.choice([-1.0, 1.0], size=(n, m))
        A = np.where(np.abs(1 - Y * A) < 0.05, A + 0.2, A)   # off the kink
    elif name == "poisson":
        Y = rng.poisson(2.0, size=(n, m)).astype(float)
    else:
        Y = rng.normal(size=(n, m))
        A = np.where(np.abs(A - Y) < 0.05, A + 0.2, A)
        if name == "huber":   # off the joins at |d| = delta
            d = np.abs(A - Y) - loss.delta
            A = np.where(np.abs(d) < 0.05, A + 0.2 * np.sign(A - Y), A)
    return loss, np.asfortranarray(A.astype(dtype)), np.asfortranarray(Y.astype(dtype))


def kernel_name(loss):
    return "categorical_crossentropy" if "categorical" in loss.name else loss.name


def ref_args(loss):
    return {k: v for k, v in loss.get_config().items() if k != "name"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, holds", CASES, ids=IDS)
def test_cost_and_gradient_equal_the_reference(name, args, holds, dtype):
    loss, A, Y = make(name, args, holds, dtype)
    A64, Y64 = A.astype(np.float64), Y.astype(np.float64)
    key = kernel_name(loss)
    want = reference.COSTS[key](A64, Y64, **ref_args(loss))
    assert loss.cost(A, Y) == pytest.approx(want, rel=RTOL[dtype])
    G = loss.gradient(A, Y)
    assert G.dtype == dtype and G.shape == A.shape
    np.testing.assert_allclose(G, reference.LOSS_GRADIENTS[key](A64, Y64, **ref_args(loss)),
                               rtol=RTOL[dtype] * 10, atol=RTOL[dtype])
    # either memory order
    assert loss.cost(np.ascontiguousarray(A), np.ascontiguousarray(Y)) == pytest.approx(
        want, rel=RTOL[dtype])
    np.testing.assert_allclose(loss.gradient(np.ascontiguousarray(A), Y), G, rtol=1e-6)


@pytest.mark.parametrize("name, args, holds", CASES, ids=IDS)
def test_gradient_is_the_cost_derivative(name, args, holds):
    loss, A, Y = make(name, args, holds, n=3, m=4, seed=1)
    m, h = A.shape[1], 1e-6
    G = loss.gradient(A, Y)
    num = np.empty_like(A)
    for idx in np.ndindex(A.shape):
        Ap, Am = A.copy(order="F"), A.copy(order="F")
        Ap[idx] += h
        Am[idx] -= h
        num[idx] = (loss.cost(Ap, Y) - loss.cost(Am, Y)) * m / (2 * h)
    np.testing.assert_allclose(G, num, rtol=1e-6, atol=1e-7)


def torch_cost(name, args, A, Y):
    """The loss in PyTorch (A requires grad), (n, m) layout, summed over units, mean over m."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    m = A.shape[1]
    s = args.get("label_smoothing", 0.0)
    if name == "mae":
        return F.l1_loss(A, Y, reduction="sum") / m
    if name == "huber":
        return F.huber_loss(A, Y, reduction="sum", delta=args.get("delta", 1.0)) / m
    if name == "log_cosh":
        return torch.log(torch.cosh(A - Y)).sum() / m
    if name == "poisson":
        return F.poisson_nll_loss(A, Y, log_input=args.get("log_input", False), full=False,
                                  eps=1e-7, reduction="sum") / m
    if name == "hinge":
        return torch.clamp(1 - Y * A, min=0).sum() / m
    if name == "squared_hinge":
        return (torch.clamp(1 - Y * A, min=0) ** 2).sum() / m
    if name == "binary_crossentropy":
        Ys = Y * (1 - s) + s / 2
        if args.get("from_logits"):
            return F.binary_cross_entropy_with_logits(A, Ys, reduction="sum") / m
        return F.binary_cross_entropy(A, Ys, reduction="sum") / m
    labels = Y.argmax(dim=0)
    if args.get("from_logits"):
        return F.cross_entropy(A.T, labels, label_smoothing=s, reduction="sum") / m
    Ys = Y * (1 - s) + s / Y.shape[0]
    return -(Ys * torch.log(A)).sum() / m   # probabilities: no torch function takes them


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, holds", CASES, ids=IDS)
def test_cost_and_gradient_equal_pytorch(name, args, holds, dtype):
    torch = pytest.importorskip("torch")
    loss, A, Y = make(name, args, holds, dtype, seed=2)
    At = torch.tensor(A, requires_grad=True)
    J = torch_cost(kernel_name(loss), args, At, torch.tensor(Y))
    J.backward()
    m = A.shape[1]
    assert loss.cost(A, Y) == pytest.approx(J.item(), rel=RTOL[dtype] * 5)
    np.testing.assert_allclose(loss.gradient(A, Y) / m, At.grad.numpy(),
                               rtol=RTOL[dtype] * 50, atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_inputs_stay_finite(dtype):
    big = np.array([[-1e30, -800.0, -100.0, 0.0, 100.0, 800.0, 1e30]], dtype)
    big = big.astype(dtype)
    y01 = np.array([[0, 1, 0, 1, 0, 1, 1]], dtype)
    for loss in (losses.BinaryCrossentropy(from_logits=True),
                 losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)):
        assert np.isfinite(loss.cost(big, y01)), loss
        G = loss.gradient(big, y01)
        assert np.isfinite(G).all() and (np.abs(G) <= 1).all(), loss
    Z = np.array([[-1e30, 1e4, 0.0], [1e30, -1e4, 0.0], [0.0, 1e4, 1e-30]], dtype)
    onehot = np.eye(3, dtype=dtype)
    for loss in (losses.CategoricalCrossentropy(from_logits=True),
                 losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)):
        J = loss.cost(np.asfortranarray(Z), onehot)
        assert np.isfinite(J), loss
        G = loss.gradient(np.asfortranarray(Z), onehot)
        assert np.isfinite(G).all() and np.allclose(G.sum(axis=0), 0, atol=1e-6), loss
    # log cosh of a huge error is |d| - log 2, no cosh overflow; its gradient tanh(d)
    lc = losses.LogCosh()
    assert lc.cost(np.array([[1e30, -1e30]], dtype), np.zeros((1, 2), dtype)) == pytest.approx(
        1e30)
    np.testing.assert_array_equal(lc.gradient(np.array([[1e30, -1e30]], dtype),
                                              np.zeros((1, 2), dtype)), [[1, -1]])
    # poisson: a rate of 0 costs -y log 1e-7; a log-rate of -1e30 costs y * 1e30 (finite)
    p = losses.Poisson()
    assert p.cost(np.zeros((1, 2), dtype), np.array([[0.0, 2.0]], dtype)) == pytest.approx(
        -np.log(dtype(1e-7)), rel=1e-6)
    assert np.isfinite(p.gradient(np.zeros((1, 1), dtype), np.ones((1, 1), dtype))).all()
    pl = losses.Poisson(log_input=True)
    assert np.isfinite(pl.cost(np.array([[-1e30, -800.0]], dtype), np.ones((1, 2), dtype)))
    # probabilities at 0 and 1 are clipped, with smoothing too
    bce = losses.BinaryCrossentropy(label_smoothing=0.1)
    A01 = np.array([[0.0, 1.0, 0.0, 1.0]], dtype)
    assert np.isfinite(bce.cost(A01, np.array([[1, 0, 0, 1]], dtype)))
    assert np.isfinite(bce.gradient(A01, np.array([[1, 0, 0, 1]], dtype))).all()


@pytest.mark.parametrize("name, args, holds", CASES, ids=IDS)
def test_nan_propagates(name, args, holds):
    loss, A, Y = make(name, args, holds)
    A[1, 2] = np.nan
    assert np.isnan(loss.cost(A, Y))
    G = loss.gradient(A, Y)
    assert np.isnan(G[1, 2])


def test_cross_entropies_from_logits_equal_the_probability_forms():
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(4, 20))
    Y = np.eye(4)[rng.integers(0, 4, 20)].T
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    for s in (0.0, 0.25):
        a = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=s).cost(Z, Y)
        b = losses.CategoricalCrossentropy(label_smoothing=s).cost(P, Y)
        assert a == pytest.approx(b, rel=1e-12)
        a = losses.BinaryCrossentropy(from_logits=True, label_smoothing=s).cost(Z, Y)
        b = losses.BinaryCrossentropy(label_smoothing=s).cost(1 / (1 + np.exp(-Z)), Y)
        assert a == pytest.approx(b, rel=1e-12)


def test_fused_targets_are_the_smoothed_labels():
    Y = np.asfortranarray(np.eye(4)[[0, 2, 3]].T)
    T = losses.CategoricalCrossentropy(label_smoothing=0.2)._fused_targets(Y)
    np.testing.assert_allclose(T, Y * 0.8 + 0.05)
    T = losses.BinaryCrossentropy(label_smoothing=0.2)._fused_targets(Y)
    np.testing.assert_allclose(T, Y * 0.8 + 0.1)
    assert losses.CategoricalCrossentropy()._fused_targets(Y) is Y


def test_targets():
    assert losses.Hinge().prepare_targets([0, 1, 1], 1, np.float64).ravel().tolist() == [-1, 1, 1]
    assert losses.SquaredHinge().prepare_targets([-1, 1], 1, np.float64).ravel().tolist() == [-1, 1]
    with pytest.raises(ValueError, match="non-negative"):
        losses.Poisson().prepare_targets([1.0, -1.0], 1)
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.SparseCategoricalCrossentropy().prepare_targets(np.eye(3), 3)
    Y = losses.SparseCategoricalCrossentropy().prepare_targets([2, 0], 3, np.float64)
    np.testing.assert_array_equal(Y, np.eye(3)[[2, 0]])
    with pytest.raises(ValueError, match=r"shape \(m, 2\)"):
        losses.Huber().prepare_targets([1.0, 2.0], 2)


@pytest.mark.parametrize("make_bad, exc, match", [
    (lambda: losses.Huber(0.0), ValueError, "delta"),
    (lambda: losses.Huber("1"), TypeError, "delta"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: losses.CategoricalCrossentropy(from_logits=1), TypeError, "from_logits"),
    (lambda: losses.Poisson(log_input="yes"), TypeError, "log_input"),
    (lambda: losses.get({"name": "huber", "delta": -1}), ValueError, "delta"),
    (lambda: losses.get({"name": "sparse_categorical_crossentropy", "label_smoothing": 0.1}),
     ValueError, "sparse"),
])
def test_bad_parameters(make_bad, exc, match):
    with pytest.raises(exc, match=match):
        make_bad()


@pytest.mark.parametrize("alias, cls", [
    ("mae", losses.MeanAbsoluteError), ("mean_absolute_error", losses.MeanAbsoluteError),
    ("MAE", losses.MeanAbsoluteError), ("MeanAbsoluteError", losses.MeanAbsoluteError),
    ("huber", losses.Huber), ("Huber", losses.Huber), ("log_cosh", losses.LogCosh),
    ("logcosh", losses.LogCosh), ("LogCosh", losses.LogCosh), ("poisson", losses.Poisson),
    ("hinge", losses.Hinge), ("squared_hinge", losses.SquaredHinge),
    ("SquaredHinge", losses.SquaredHinge),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    (losses.huber, losses.Huber), (losses.log_cosh, losses.LogCosh), (losses.mae,
                                                                      losses.MeanAbsoluteError),
])
def test_registry_names(alias, cls):
    assert type(losses.get(alias)) is cls


@pytest.mark.parametrize("name, args, holds", CASES, ids=IDS)
def test_config_round_trip(name, args, holds):
    loss = losses.get({"name": name, **args})
    config = loss.get_config()
    assert {k: config[k] for k in args} == args
    assert losses.get(config) == loss and type(loss).from_config(config) == loss
    assert losses.get(losses.serialize(loss)) == loss
    assert eval(repr(loss), vars(losses)) == loss


def test_functions_in_the_user_layout():
    y, p = np.array([0.0, 2.0, -1.0]), np.array([0.5, 0.0, 1.0])
    assert losses.mae(y, p) == pytest.approx(np.abs(p - y).mean())
    assert losses.huber(y, p, delta=0.5) == pytest.approx(
        reference.huber_cost(p[None], y[None], 0.5))
    assert losses.log_cosh(y, p) == pytest.approx(np.log(np.cosh(p - y)).mean())
    assert losses.poisson([1.0, 2.0], [1.0, 0.5]) == pytest.approx(
        np.mean([1 - np.log(1 + 1e-7), 0.5 - 2 * np.log(0.5 + 1e-7)]))
    assert losses.sparse_categorical_crossentropy([1], [[0.0, 0.0, 0.0]], from_logits=True) == \
        pytest.approx(np.log(3))


@pytest.mark.parametrize("name, args, holds, output", [
    ("huber", {"delta": 0.5}, "real", "linear"), ("log_cosh", {}, "real", "tanh"),
    ("mae", {}, "real", "linear"), ("poisson", {"log_input": True}, "real", "linear"),
    ("poisson", {}, "rate", "sigmoid"), ("hinge", {}, "real", "tanh"),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "real",
     "linear"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "real", "linear"),
])
def test_a_model_saves_and_loads_its_loss(tmp_path, name, args, holds, output):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    if "categorical" in name:
        y, n_out = rng.integers(0, 3, size=40), 3
    elif name == "hinge":
        y, n_out = (X[:, 0] > 0).astype(float), 1
    elif name == "poisson":
        y, n_out = rng.poisson(0.5, size=40).astype(float), 1
    else:
        y, n_out = X[:, :1] * 2, 1
    model = Sequential([Input(3), Dense(5, activation="tanh"),
                        Dense(n_out, activation=output)], seed=0)
    model.compile("adam", {"name": name, **args})
    model.fit(X, y, epochs=3, batch_size=8, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.loss == model.loss
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y, verbose=0) == pytest.approx(model.evaluate(X, y, verbose=0))


@pytest.mark.parametrize("n_out, loss, link", [
    (1, losses.BinaryCrossentropy(from_logits=True), lambda Z: 1 / (1 + np.exp(-Z))),
    (3, losses.CategoricalCrossentropy(from_logits=True),
     lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)),
])
def test_predict_proba_of_a_logits_model(n_out, loss, link):
    model = Sequential([Input(2), Dense(n_out, activation="linear")], seed=0)
    model.compile("adam", loss)
    model.build(2)
    X = np.random.default_rng(0).normal(size=(5, 2))
    P = link(model.predict(X))
    want = np.hstack([1 - P, P]) if n_out == 1 else P
    np.testing.assert_allclose(model.predict_proba(X), want, rtol=1e-6)
    np.testing.assert_array_equal(model.predict_classes(X),
                                  (P[:, 0] >= 0.5) if n_out == 1 else P.argmax(axis=1))
