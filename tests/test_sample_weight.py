"""fit(sample_weight=, class_weight=), weighted validation data and evaluate(sample_weight=):
Keras' "sum_over_batch_size" loss, weighted metric means and the weighted gradient, on both
engines, against duplicated examples, the unweighted fit and PyTorch's reduction="none"."""
import numpy as np
import pytest

from fastdnn import Sequential, losses, metrics
from fastdnn.layers import Dense
from fastdnn.optimizers import GD

ENGINES = ["python", "compiled"]

# (output activation, loss, metrics, targets)
TASKS = {
    "binary": ("sigmoid", "binary_crossentropy", ["accuracy"]),
    "softmax": ("softmax", "categorical_crossentropy", ["accuracy"]),
    "regression": ("linear", "mse", ["mae", "mse"]),
    "multilabel": ("sigmoid", "binary_crossentropy", ["binary_accuracy"]),
}


def task_data(task, m=90, n=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    if task == "binary":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.float64)
    elif task == "softmax":
        y = np.argmax(X[:, :3] + 0.3 * rng.normal(size=(m, 3)), axis=1)
    elif task == "multilabel":
        y = (X[:, :2] > 0).astype(np.float64)
    else:
        y = np.stack([X[:, 0] - X[:, 1], X[:, 2]], axis=1)
    return X, y


def n_out(task):
    return {"binary": 1, "softmax": 3, "regression": 2, "multilabel": 2}[task]


def make(task, dtype="float64", optimizer="adam", seed=0, hidden="tanh"):
    act, loss, mets = TASKS[task]
    model = Sequential([Dense(6, hidden), Dense(n_out(task), act)], dtype=dtype, seed=seed)
    model.compile(optimizer, loss, metrics=mets)
    return model


def weights(m, seed=1):
    return np.random.default_rng(seed).uniform(0.0, 3.0, size=m)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("task", list(TASKS))
def test_weight_two_is_a_duplicated_example(task, engine):
    X, y = task_data(task)
    m = len(X)
    w = np.ones(m)
    w[[3, 17, 40]] = 2.0
    dup = np.concatenate([np.arange(m), [3, 17, 40]])
    lr = 0.3
    # full-batch GD: the weighted cost divides by m, the duplicated data by m + 3
    weighted = make(task, optimizer=GD(learning_rate=lr * m / (m + 3)))
    h_w = weighted.fit(X, y, epochs=1, batch_size=None, shuffle=False, verbose=0,
                       sample_weight=w, engine=engine)
    duplicated = make(task, optimizer=GD(learning_rate=lr))
    h_d = duplicated.fit(X[dup], y[dup], epochs=1, batch_size=None, shuffle=False, verbose=0,
                         engine=engine)
    assert h_w.engine == h_d.engine == engine
    for a, b in zip(weighted.get_weights(), duplicated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_w.history["loss"][0] * m, h_d.history["loss"][0] * (m + 3),
                               rtol=1e-12)
    for name in TASKS[task][2]:   # metrics: weighted means = means over the duplicated data
        np.testing.assert_allclose(h_w.history[name], h_d.history[name], rtol=1e-12)
    ev_w = weighted.evaluate(X, y, sample_weight=w, return_dict=True)
    ev_d = weighted.evaluate(X[dup], y[dup], return_dict=True)
    np.testing.assert_allclose(ev_w["loss"] * m, ev_d["loss"] * (m + 3), rtol=1e-12)
    for name in TASKS[task][2]:
        np.testing.assert_allclose(ev_w[name], ev_d[name], rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_all_ones_is_unweighted(task, engine, dtype):
    X, y = task_data(task)
    runs = []
    for w in (None, np.ones(len(X))):
        model = make(task, dtype=dtype)
        history = model.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=4, sample_weight=w,
                            validation_data=(X[:30], y[:30]) if w is None
                            else (X[:30], y[:30], np.ones(30)), engine=engine)
        runs.append((model.get_weights(), history.history))
    tol = 1e-12 if dtype == "float64" else 2e-6
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert runs[0][1].keys() == runs[1][1].keys()
    for key in runs[0][1]:
        np.testing.assert_allclose(runs[0][1][key], runs[1][1][key], rtol=tol)


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_equals_layer_path(task, optimizer, dtype):
    X, y = task_data(task)
    w = weights(len(X))
    w[5] = 0.0
    runs = []
    for engine in ENGINES:
        model = make(task, dtype=dtype, optimizer=optimizer)
        history = model.fit(X, y, epochs=4, batch_size=13, verbose=0, seed=2, sample_weight=w,
                            engine=engine)
        assert history.engine == engine
        runs.append((model.get_weights(), history.history, history.batch_loss))
    tol = 1e-10 if dtype == "float64" else 3e-5
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    np.testing.assert_allclose(runs[0][2], runs[1][2], rtol=tol)
    for key in runs[0][1]:
        np.testing.assert_allclose(runs[0][1][key], runs[1][1][key], rtol=tol, atol=tol)


def test_compiled_equals_layer_path_wide():
    # layers large enough for the packed products and their fused epilogues
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 64))
    y = np.argmax(X[:, :4], axis=1)
    w = weights(300)
    out = {}
    for eng in ENGINES:
        model = Sequential([Dense(200, "relu"), Dense(150, "tanh"), Dense(4, "softmax")],
                           dtype="float64", seed=0)
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(X, y, epochs=2, batch_size=100, verbose=0, seed=0, sample_weight=w,
                  engine=eng)
        out[eng] = model.get_weights()
    for a, b in zip(out["python"], out["compiled"]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def _torch_loss(torch, task, Z, Y):
    """Per-example losses (reduction="none"), summed over the output units as fastdnn's."""
    F = torch.nn.functional
    if task in ("binary", "multilabel"):
        return F.binary_cross_entropy(torch.sigmoid(Z), Y, reduction="none").sum(dim=1)
    if task == "softmax":
        return -(Y * F.log_softmax(Z, dim=1)).sum(dim=1)
    return 0.5 * F.mse_loss(Z, Y, reduction="none").sum(dim=1)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("task", list(TASKS))
def test_against_pytorch_reduction_none(task, engine):
    torch = pytest.importorskip("torch")
    X, y = task_data(task, m=40)
    w = weights(40)
    model = make(task, optimizer=GD(learning_rate=0.2))
    model.build(X.shape[1])
    W1, b1, W2, b2 = [torch.tensor(a, requires_grad=True) for a in model.get_weights()]
    Y = model._check_y(y, len(X))
    history = model.fit(X, y, epochs=1, batch_size=None, shuffle=False, verbose=0,
                        sample_weight=w, engine=engine)

    H = torch.tanh(torch.from_numpy(X) @ W1.T + b1.T)
    Z = H @ W2.T + b2.T
    per_example = _torch_loss(torch, task, Z, torch.from_numpy(Y))
    loss = (per_example * torch.from_numpy(w)).sum() / len(X)   # sum_over_batch_size
    loss.backward()
    np.testing.assert_allclose(history.history["loss"][0], loss.item(), rtol=1e-12)
    with torch.no_grad():
        expected = [p - 0.2 * p.grad for p in (W1, b1, W2, b2)]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
    # evaluate: the same loss on the weights the step left
    model2 = make(task)
    model2.build(X.shape[1])
    model2.set_weights([e.numpy() for e in expected])
    H = torch.tanh(torch.from_numpy(X) @ expected[0].T + expected[1].T)
    after = _torch_loss(torch, task, H @ expected[2].T + expected[3].T, torch.from_numpy(Y))
    np.testing.assert_allclose(
        model2.evaluate(X, y, sample_weight=w, return_dict=True)["loss"],
        float((after * torch.from_numpy(w)).sum() / len(X)), rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_class_weight_is_sample_weight_of_the_class(engine):
    for task, cw in (("binary", {0: 0.5, 1: 3.0}), ("softmax", {0: 2.0, 2: 0.25})):
        X, y = task_data(task)
        labels = y.astype(int)
        w = np.array([cw.get(int(c), 1.0) for c in labels])
        a, b = make(task), make(task)
        ha = a.fit(X, y, epochs=2, batch_size=16, seed=0, verbose=0, class_weight=cw,
                   engine=engine)
        hb = b.fit(X, y, epochs=2, batch_size=16, seed=0, verbose=0, sample_weight=w,
                   engine=engine)
        for p, q in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(p, q)
        assert ha.history == hb.history
    # one-hot targets: the class is the argmax
    X, y = task_data("softmax")
    onehot = np.eye(3)[y]
    a, b = make("softmax"), make("softmax")
    a.fit(X, y, epochs=1, seed=0, verbose=0, class_weight={1: 4.0}, engine=engine)
    b.fit(X, onehot, epochs=1, seed=0, verbose=0, class_weight={1: 4.0}, engine=engine)
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(p, q)


def test_class_weight_leaves_validation_unweighted():
    X, y = task_data("binary")
    model = make("binary")
    history = model.fit(X, y, epochs=1, verbose=0, seed=0, validation_split=0.3,
                        class_weight={0: 0.1, 1: 5.0})
    n_val = int(len(X) * 0.3)
    expected = model.evaluate(X[-n_val:], y[-n_val:], return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-12)


def test_validation_data_with_weights():
    X, y = task_data("binary")
    w_val = weights(30, seed=7)
    model = make("binary")
    history = model.fit(X, y, epochs=2, verbose=0, seed=0,
                        validation_data=(X[:30], y[:30], w_val))
    expected = model.evaluate(X[:30], y[:30], sample_weight=w_val, return_dict=True)
    unweighted = model.evaluate(X[:30], y[:30], return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(expected["accuracy"])
    assert expected["loss"] != pytest.approx(unweighted["loss"])
    # None as the third element: unweighted
    model2 = make("binary")
    h2 = model2.fit(X, y, epochs=1, verbose=0, seed=0, validation_data=(X[:30], y[:30], None))
    assert h2.history["val_loss"][0] == pytest.approx(
        model2.evaluate(X[:30], y[:30], return_dict=True)["loss"], rel=1e-12)


def test_validation_split_splits_the_weights():
    X, y = task_data("regression")
    w = weights(len(X))
    model = make("regression")
    history = model.fit(X, y, epochs=1, verbose=0, seed=0, sample_weight=w,
                        validation_split=0.2)
    n_val = int(len(X) * 0.2)
    expected = model.evaluate(X[-n_val:], y[-n_val:], sample_weight=w[-n_val:],
                              return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["val_mae"][0] == pytest.approx(expected["mae"], rel=1e-12)


def test_evaluate_weighted_by_hand():
    X, y = task_data("binary")
    w = weights(len(X))
    model = make("binary")
    model.build(X.shape[1])
    P = model.predict(X)[:, 0]
    losses_ = -(y * np.log(P) + (1 - y) * np.log1p(-P))
    hits = ((P > 0.5) == (y > 0.5)).astype(float)
    got = model.evaluate(X, y, sample_weight=w, return_dict=True, batch_size=7)
    assert got["loss"] == pytest.approx(np.sum(w * losses_) / len(X), rel=1e-12)
    assert got["accuracy"] == pytest.approx(np.sum(w * hits) / np.sum(w), rel=1e-12)
    assert model.evaluate(X, y, sample_weight=w) == pytest.approx([got["loss"], got["accuracy"]],
                                                                  rel=1e-14)


def test_loss_call_and_metric_update_state_with_weights():
    rng = np.random.default_rng(0)
    P = rng.uniform(0.05, 0.95, size=(8, 2))
    Y = (rng.uniform(size=(8, 2)) > 0.5).astype(float)
    w = rng.uniform(0, 2, size=8)
    bce = losses.get("binary_crossentropy")
    per = -(Y * np.log(P) + (1 - Y) * np.log1p(-P)).sum(axis=1)
    assert bce(Y, P, sample_weight=w) == pytest.approx(np.sum(w * per) / 8, rel=1e-12)
    assert bce(Y, P, sample_weight=np.ones(8)) == pytest.approx(bce(Y, P), rel=1e-14)
    acc = metrics.get("binary_accuracy")
    acc.update_state(P.T, Y.T, sample_weight=w)
    per_acc = ((P > 0.5) == (Y > 0.5)).mean(axis=1)
    assert acc.result() == pytest.approx(np.sum(w * per_acc) / np.sum(w), rel=1e-12)

    class Hits(metrics.BinaryAccuracy):   # new maths in _batch: the weighted values follow it
        def _batch(self, A, Y):
            return float(np.count_nonzero(A > 0.9)), A.size
    hits = Hits()
    hits.update_state(P.T, Y.T, sample_weight=w)
    assert hits.result() == pytest.approx(np.sum(w * (P > 0.9).mean(axis=1)) / np.sum(w))


@pytest.mark.parametrize("bad,error,match", [
    (np.ones(89), ValueError, "sample_weight has 89 weights but X has 90"),
    (np.ones((90, 2)), ValueError, r"sample_weight must have shape \(90,\)"),
    (-np.ones(90), ValueError, "sample_weight must hold finite numbers >= 0"),
    (np.r_[np.ones(89), np.nan], ValueError, "sample_weight must hold finite.*example 89"),
    (np.r_[np.inf, np.ones(89)], ValueError, "sample_weight must hold finite.*example 0"),
    (np.array(["a"] * 90), TypeError, "sample_weight must hold real numbers"),
    (3.0, ValueError, "sample_weight must have shape"),
])
def test_bad_sample_weight(bad, error, match):
    X, y = task_data("binary")
    model = make("binary")
    with pytest.raises(error, match=match):
        model.fit(X, y, verbose=0, sample_weight=bad)
    assert not model.built   # nothing happened
    model.build(X.shape[1])
    with pytest.raises(error, match=match):
        model.evaluate(X, y, sample_weight=bad)


@pytest.mark.parametrize("cw,error,match", [
    ({0: 1.0, 2: 1.0}, ValueError, "class_weight has class 2, but the model's classes are 0 to 1"),
    ({-1: 1.0}, ValueError, "class_weight has class -1"),
    ({"0": 1.0}, TypeError, "class_weight keys must be int"),
    ({0.0: 1.0}, TypeError, "class_weight keys must be int"),
    ({0: -1.0}, ValueError, r"class_weight\[0\] must be a finite number >= 0"),
    ({0: np.nan}, ValueError, r"class_weight\[0\] must be a finite number"),
    ([1.0, 2.0], TypeError, "class_weight must be a dict"),
])
def test_bad_class_weight(cw, error, match):
    X, y = task_data("binary")
    with pytest.raises(error, match=match):
        make("binary").fit(X, y, verbose=0, class_weight=cw)


def test_class_weight_with_sample_weight_refused():
    X, y = task_data("binary")
    with pytest.raises(ValueError, match="sample_weight or class_weight, not both"):
        make("binary").fit(X, y, verbose=0, class_weight={0: 1.0},
                           sample_weight=np.ones(len(X)))


def test_bad_validation_weights():
    X, y = task_data("binary")
    with pytest.raises(ValueError, match="sample_weight_val has 3 weights but X_val has 30"):
        make("binary").fit(X, y, verbose=0, validation_data=(X[:30], y[:30], np.ones(3)))
    with pytest.raises(ValueError, match="validation_data must be a tuple"):
        make("binary").fit(X, y, verbose=0, validation_data=(X[:30], y[:30], None, None))


# (loss, output activation, hidden activation): fused outputs, and tanh after mse, whose
# dA = (A - Y) w goes through tanh'
PROBLEMS = [("binary_crossentropy", "sigmoid", "relu"),
            ("categorical_crossentropy", "softmax", "tanh"),
            ("mse", "linear", "leaky_relu"),
            ("mse", "tanh", "sigmoid")]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"{p[0]}-{p[1]}")
@pytest.mark.parametrize("optimizer", ["gd", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_reference_training(problem, optimizer, engine, dtype):
    from fastdnn import reference
    from fastdnn.layers import Input
    from fastdnn.optimizers import Adam
    loss, output, hidden = problem
    rng = np.random.default_rng(5)
    X = rng.normal(size=(53, 4)).astype(dtype)
    if loss == "binary_crossentropy":
        y, n_out = (X[:, 0] + X[:, 1] > 0).astype(dtype), 1
        Y = y.reshape(1, -1)
    elif loss == "categorical_crossentropy":
        y, n_out = rng.integers(0, 3, size=53), 3
        Y = np.eye(3, dtype=dtype)[y].T
    else:
        y, n_out = np.tanh(X[:, :2] * 0.7).astype(dtype), 2
        Y = y.T.copy()
    w = rng.uniform(0.0, 2.5, size=53).astype(dtype)
    model = Sequential([Input(4), Dense(5, hidden, kernel_regularizer=0.3),
                        Dense(n_out, output, kernel_regularizer=0.3)], dtype=dtype, seed=0)
    model.compile(GD(0.1) if optimizer == "gd" else Adam(0.01), loss)
    model.build()
    start = [(l.W.copy(), l.b.copy()) for l in model.layers[1:]]
    history = model.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0,
                        sample_weight=w, engine=engine)
    assert history.engine == engine
    hyper = {} if optimizer == "gd" else {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    expected, costs = reference.train(X.T.copy(), Y, start, [hidden, output], loss=loss,
                                      optimizer=optimizer, learning_rate=0.1 if optimizer == "gd"
                                      else 0.01, epochs=3, batch_size=16, lam=0.3,
                                      sample_weight=w, **hyper)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for layer, (W, b) in zip(model.layers[1:], expected):
        np.testing.assert_allclose(layer.W, W, rtol=tol, atol=tol * 10)
        np.testing.assert_allclose(layer.b, b, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(history.batch_loss, costs, rtol=1e-4 if dtype == np.float32
                               else 1e-10)
