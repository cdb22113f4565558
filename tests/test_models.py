"""Sequential: training against the NumPy reference, seeds, batches, inputs, errors."""
import numpy as np
import pytest

import fastdnn
from fastdnn import reference
from fastdnn.callbacks import Callback
from fastdnn.layers import Dense, Dropout, Input, Normalizer
from fastdnn.models import Sequential
from fastdnn.optimizers import GD, RMSprop, Adam, Momentum

pytestmark = pytest.mark.usefixtures("one_blas_thread")

RTOL = {np.float32: 2e-5, np.float64: 1e-12}
# (loss, output activation, hidden activation)
PROBLEMS = [
    ("binary_crossentropy", "sigmoid", "relu"),
    ("categorical_crossentropy", "softmax", "tanh"),
    ("mse", "linear", "leaky_relu"),
    ("mse", "tanh", "sigmoid"),          # not fused: dA = A - Y goes through tanh'
]
OPTIMIZERS = {
    "gd": (lambda: GD(0.1), {}),
    "momentum": (lambda: Momentum(0.05, beta=0.9), {"beta": 0.9}),
    "rmsprop": (lambda: RMSprop(0.01, beta=0.999), {"beta": 0.999, "epsilon": 1e-8}),
    "adam": (lambda: Adam(0.01), {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
}


def make_data(loss, m=53, n=4, k=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n)).astype(dtype)
    if loss == "binary_crossentropy":
        y = (X[:, 0] + X[:, 1] > 0).astype(dtype)
        n_out = 1
    elif loss == "categorical_crossentropy":
        y = rng.integers(0, k, size=m)
        n_out = k
    else:
        y = np.tanh(X[:, :2] @ np.array([[0.5, -0.3], [0.2, 0.4]])).astype(dtype)
        n_out = 2
    return X, y, n_out


def targets(loss, y, n_out, dtype):
    if loss == "categorical_crossentropy":
        return np.eye(n_out, dtype=dtype)[y].T
    return np.asarray(y, dtype=dtype).reshape(len(y), -1).T.copy()


def build_model(hidden, output, n_out, n, dtype, lam=0.0, seed=0):
    model = Sequential([Input(n), Dense(5, activation=hidden, kernel_regularizer=lam or None),
                        Dense(n_out, activation=output, kernel_regularizer=lam or None)],
                       dtype=dtype, seed=seed)
    model.build()
    return model


def params_of(model):
    return [(l.W.copy(), l.b.copy()) for l in model.layers if isinstance(l, Dense)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"{p[0]}-{p[1]}")
@pytest.mark.parametrize("lam", [0.0, 0.3])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "layers"])
def test_fit_matches_reference_training(problem, opt, dtype, lam, compiled):
    loss, output, hidden = problem
    X, y, n_out = make_data(loss, dtype=dtype)
    model = build_model(hidden, output, n_out, X.shape[1], dtype, lam)
    make_opt, hyper = OPTIMIZERS[opt]
    model.compile(make_opt(), loss, compiled=compiled)
    start = params_of(model)
    history = model.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    lr = model.optimizer.learning_rate
    expected, costs = reference.train(X.T.copy(), targets(loss, y, n_out, dtype), start,
                                      [hidden, output], loss=loss, optimizer=opt,
                                      learning_rate=lr, epochs=3, batch_size=16, lam=lam,
                                      **hyper)
    for layer, (W, b) in zip([l for l in model.layers if isinstance(l, Dense)], expected):
        assert layer.W.dtype == dtype
        np.testing.assert_allclose(layer.W, W, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)
        np.testing.assert_allclose(layer.b, b, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)
    assert len(history.batch_loss) == 3 * 4            # ceil(53 / 16) batches per epoch
    np.testing.assert_allclose(history.batch_loss, costs, rtol=1e-4 if dtype == np.float32
                               else 1e-10)


@pytest.mark.parametrize("batch_size, steps", [(None, 1), (1, 53), (10, 6), (53, 1), (500, 1)])
def test_batch_sizes_use_every_example(batch_size, steps):
    X, y, n_out = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile(GD(0.05), "binary_crossentropy")
    start = params_of(model)
    history = model.fit(X, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0)
    assert len(history.batch_loss) == 2 * steps
    B = None if batch_size is None else min(batch_size, 53)
    expected, _ = reference.train(X.T.copy(), y.reshape(1, -1), start, ["relu", "sigmoid"],
                                  loss="binary_crossentropy", optimizer="gd",
                                  learning_rate=0.05, epochs=2, batch_size=B)
    np.testing.assert_allclose(model.layers[1].W, expected[0][0], rtol=1e-12)


def test_shuffled_epochs_follow_a_permutation():
    """With shuffling, an epoch is the reference run over some permutation: the
    batch costs of an epoch match reference costs computed with fit's generator."""
    X, y, n_out = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile(GD(0.05), "binary_crossentropy")
    start = params_of(model)
    history = model.fit(X, y, epochs=2, batch_size=8, seed=7, verbose=0)
    rng = np.random.default_rng(np.random.SeedSequence(7).spawn(2)[1])
    perms = [rng.permutation(53) for _ in range(2)]
    expected, costs = reference.train(X.T.copy(), y.reshape(1, -1), start, ["relu", "sigmoid"],
                                      loss="binary_crossentropy", optimizer="gd",
                                      learning_rate=0.05, epochs=2, batch_size=8,
                                      permutations=lambda e: perms[e])
    np.testing.assert_allclose(history.batch_loss, costs, rtol=1e-10)
    np.testing.assert_allclose(model.layers[2].W, expected[1][0], rtol=1e-10)


def fresh_digitslike(seed):
    X, y, n_out = make_data("categorical_crossentropy", m=120, n=6, dtype=np.float32)
    model = Sequential([Dense(8, activation="relu"), Dropout(0.2),
                        Dense(n_out, activation="softmax")], seed=seed)
    model.compile(Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    return model, X, y


def test_same_seed_same_weights_and_history():
    runs = []
    for _ in range(2):
        model, X, y = fresh_digitslike(seed=3)
        h = model.fit(X, y, epochs=4, batch_size=16, seed=11, verbose=0)
        runs.append((model.get_weights(), h.history, np.array(h.batch_loss)))
    (w1, h1, b1), (w2, h2, b2) = runs
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert h1 == h2
    assert np.array_equal(b1, b2)
    model, X, y = fresh_digitslike(seed=4)
    model.fit(X, y, epochs=4, batch_size=16, seed=11, verbose=0)
    assert not np.array_equal(model.get_weights()[0], w1[0])


def test_fit_without_model_seed_is_seeded_by_fit_seed():
    def weights(seed):
        model = Sequential([Dense(3, activation="relu"), Dense(1, activation="sigmoid")])
        model.compile("gd", "binary_crossentropy")
        X, y, _ = make_data("binary_crossentropy")
        model.fit(X, y, epochs=1, verbose=0, seed=seed)
        return model.get_weights()[0]
    assert np.array_equal(weights(5), weights(5))
    assert not np.array_equal(weights(5), weights(6))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("xdtype", [np.float32, np.float64, np.int64])
def test_any_input_layout_and_dtype_trains_the_same(order, xdtype):
    X, y, n_out = make_data("binary_crossentropy", dtype=np.float64)
    X = np.round(X * 4)  # exact in every dtype
    ref = None
    for shuffle in (False, True):
        model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float32)
        model.compile(GD(0.05), "binary_crossentropy")
        model.fit(np.asarray(X, dtype=xdtype, order=order), y, epochs=2, batch_size=8,
                  shuffle=shuffle, seed=1, verbose=0)
        base = build_model("relu", "sigmoid", n_out, X.shape[1], np.float32)
        base.compile(GD(0.05), "binary_crossentropy")
        base.fit(X.astype(np.float32), y, epochs=2, batch_size=8, shuffle=shuffle, seed=1,
                 verbose=0)
        np.testing.assert_allclose(model.layers[1].W, base.layers[1].W, rtol=1e-6)


def test_memmap_input(tmp_path):
    X, y, n_out = make_data("binary_crossentropy", m=300, dtype=np.float32)
    mm = np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    ro = np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="r", shape=X.shape)
    results = []
    for data in (X, ro):
        model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float32)
        model.compile(Adam(0.01), "binary_crossentropy")
        model.fit(data, y, epochs=2, batch_size=32, seed=0, verbose=0)
        results.append(model.predict(data))
    np.testing.assert_array_equal(results[0], results[1])


def test_validation_logs_match_evaluate():
    X, y, n_out = make_data("categorical_crossentropy", m=100)
    model = build_model("relu", "softmax", n_out, X.shape[1], np.float64, lam=0.1)
    model.compile(Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(X, y, epochs=3, batch_size=10, validation_split=0.2, seed=0, verbose=0)
    assert len(h.batch_loss) == 3 * 8                  # 80 training rows
    loss, acc = model.evaluate(X[80:], y[80:])
    assert h.history["val_loss"][-1] == pytest.approx(loss, rel=1e-12)
    assert h.history["val_accuracy"][-1] == pytest.approx(acc)
    h2 = model.fit(X[:80], y[:80], epochs=1, validation_data=(X[80:], y[80:]), verbose=0)
    assert h2.history["val_loss"][0] == pytest.approx(model.evaluate(X[80:], y[80:])[0])
    assert set(h.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}


def test_epoch_loss_is_the_mean_batch_cost():
    X, y, n_out = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile(GD(0.05), "binary_crossentropy")
    h = model.fit(X, y, epochs=2, batch_size=20, shuffle=False, verbose=0)
    sizes = np.array([20, 20, 13])
    for e in range(2):
        batch = np.asarray(h.batch_loss[3 * e:3 * e + 3])
        assert h.history["loss"][e] == pytest.approx(np.dot(batch, sizes) / 53, rel=1e-12)


def test_predict_proba_classes_and_evaluate():
    X, y, _ = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", 1, X.shape[1], np.float64)
    model.compile(GD(0.5), "binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=30, batch_size=None, verbose=0)
    p = model.predict(X)
    assert p.shape == (53, 1)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, np.hstack([1 - p, p]))
    classes = model.predict_classes(X)
    np.testing.assert_array_equal(classes, (p[:, 0] >= 0.5).astype(int))
    loss, acc = model.evaluate(X, y)
    assert acc == pytest.approx(np.mean(classes == y))
    A = reference.network_forward(X.T, params_of(model), ["relu", "sigmoid"])[-1]
    assert loss == pytest.approx(reference.binary_crossentropy_cost(A, y.reshape(1, -1)))
    np.testing.assert_allclose(p[:, 0], A[0], rtol=1e-12)
    # chunked predict equals one-shot predict, to rounding (products of other sizes may
    # take other kernels or BLAS, which sum in another order)
    np.testing.assert_allclose(model.predict(X, batch_size=7), p, rtol=1e-13, atol=0)


def test_softmax_predict_classes_is_argmax():
    X, y, n_out = make_data("categorical_crossentropy")
    model = build_model("tanh", "softmax", n_out, X.shape[1], np.float64)
    model.compile("adam", "categorical_crossentropy")
    model.fit(X, y, epochs=2, verbose=0)
    P = model.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict_classes(X), np.argmax(P, axis=1))


def test_normalizer_layer_learns_train_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[5.0, -3.0], scale=[2.0, 0.1], size=(400, 2))
    norm = Normalizer()
    norm.adapt(X)
    model = Sequential([Input(2), norm, Dense(1)], dtype="float64", seed=0)
    model.build()
    model.set_weights([norm.mean, norm.variance, np.eye(1, 2), np.zeros((1, 1))])
    out = model.predict(X)[:, 0]
    expected = (X[:, 0] - X[:, 0].mean()) / np.sqrt(X[:, 0].var() + 1e-7)
    np.testing.assert_allclose(out, expected, rtol=1e-9)
    X_test = rng.normal(size=(5, 2))
    np.testing.assert_allclose(model.predict(X_test)[:, 0],
                               (X_test[:, 0] - X[:, 0].mean()) / np.sqrt(X[:, 0].var() + 1e-7),
                               rtol=1e-9)


def test_normalizer_is_not_trained():
    X, y, n_out = make_data("binary_crossentropy")
    norm = Normalizer()
    norm.adapt(X)
    model = Sequential([Input(X.shape[1]), norm, Dense(1, activation="sigmoid")],
                       dtype="float64", seed=0)
    model.compile("adam", "binary_crossentropy")
    mean = norm.mean if norm.built else None
    model.fit(X, y, epochs=2, verbose=0)
    np.testing.assert_allclose(norm.mean[:, 0], X.mean(axis=0), rtol=1e-12)
    assert mean is None or np.array_equal(mean, norm.mean)


def test_dropout_only_in_training():
    model = Sequential([Input(50), Dropout(0.5, seed=1), Dense(1, kernel_initializer="ones")],
                       dtype="float64", seed=0)
    model.build()
    X = np.ones((4, 50))
    np.testing.assert_allclose(model.predict(X), 50.0)   # identity at inference
    drop = model.layers[1]
    out = drop.forward(np.ones((50, 400)), training=True)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert 0.4 < np.mean(out == 0) < 0.6
    dA = np.full((50, 400), 3.0)
    np.testing.assert_array_equal(drop.backward(dA), np.where(out == 0, 0.0, 6.0))


def test_dense_default_initializers_follow_the_lecture():
    relu = Dense(400, activation="relu")
    tanh = Dense(400, activation="tanh")
    for layer in (relu, tanh):
        layer.build(1000, np.float64, np.random.default_rng(0))
    assert np.std(relu.W) == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    assert np.std(tanh.W) == pytest.approx(np.sqrt(1 / 1000), rel=0.02)
    assert not relu.b.any()


# ------------------------------------------------------------ errors, state unchanged

def trained_model():
    X, y, n_out = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile(Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=1, verbose=0)
    return model, X, y


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"X": np.zeros((53, 5))}, ValueError, ["5 features", "expects 4"]),
    ({"y": np.zeros(52)}, ValueError, ["52 rows", "53"]),
    ({"batch_size": 0}, ValueError, ["batch_size"]),
    ({"batch_size": -3}, ValueError, ["batch_size"]),
    ({"batch_size": 2.5}, TypeError, ["batch_size"]),
    ({"epochs": -1}, ValueError, ["epochs"]),
    ({"X": np.zeros((53,))}, ValueError, ["2-D"]),
    ({"X": np.array([["a"] * 4] * 53)}, TypeError, ["dtype"]),
    ({"validation_split": 1.5}, ValueError, ["validation_split"]),
    ({"y": np.full(53, 2.0)}, ValueError, ["y"]),
    ({"verbose": 5}, ValueError, ["verbose"]),
    ({"validation_data": (np.zeros((3, 4)),)}, ValueError, ["validation_data"]),
])
def test_bad_fit_arguments_raise_and_change_nothing(kwargs, exc, words):
    model, X, y = trained_model()
    before = model.get_weights()
    iterations = model.optimizer.iterations
    args = {"X": X, "y": y, "epochs": 1, "verbose": 0}
    args.update(kwargs)
    with pytest.raises(exc) as info:
        model.fit(args.pop("X"), args.pop("y"), **args)
    for w in words:
        assert w in str(info.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == iterations


@pytest.mark.filterwarnings("ignore:training diverged:RuntimeWarning")  # NaN in, on purpose
def test_nan_in_X_is_rejected_unless_asked():
    model, X, y = trained_model()
    before = model.get_weights()
    X = X.copy()
    X[17, 2] = np.nan
    with pytest.raises(ValueError, match="NaN.*row 17"):
        model.fit(X, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.fit(X, y, epochs=1, verbose=0, check_finite=False, on_nan="continue")
    assert np.isnan(model.get_weights()[0]).any()   # NaN propagates, no crash


def test_predict_before_fit_and_fit_before_compile():
    model = Sequential([Dense(1)])
    with pytest.raises(RuntimeError, match="fit"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((2, 3)), np.zeros(2), verbose=0)
    model.build(3)
    with pytest.raises(ValueError, match="3"):
        model.predict(np.zeros((2, 4)))


@pytest.mark.parametrize("what, kwargs", [
    ("optimizer", {"optimizer": "lion"}),
    ("loss", {"loss": "kl_divergence"}),
    ("metric", {"metrics": ["f1"]}),
])
def test_unknown_names_list_known_ones(what, kwargs):
    model = Sequential([Dense(1, activation="sigmoid")])
    args = {"optimizer": "adam", "loss": "binary_crossentropy"}
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        model.compile(**args)
    assert "known" in str(info.value)
    with pytest.raises(ValueError, match="known.*relu"):
        Dense(3, activation="relu6")
    with pytest.raises(ValueError, match="known"):
        Dense(3, kernel_initializer="lecun")


def test_layer_and_model_construction_errors():
    with pytest.raises(ValueError, match="units"):
        Dense(0)
    with pytest.raises(TypeError, match="units"):
        Dense(2.0)
    with pytest.raises(ValueError, match="rate"):
        Dropout(1.0)
    with pytest.raises(TypeError, match="dtype"):
        Sequential([Dense(1)], dtype="int32")
    with pytest.raises(TypeError, match="Layer"):
        Sequential(["dense"])
    with pytest.raises(ValueError, match="Input"):
        Sequential([Dense(1), Input(3)])


def test_set_weights_checks_everything_first():
    model, X, y = trained_model()
    before = model.get_weights()
    bad = [w.copy() + 1 for w in before]
    bad[-1] = np.zeros((7, 1))
    with pytest.raises(ValueError, match="shape"):
        model.set_weights(bad)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match="expects 4"):
        model.set_weights(before[:3])


def test_summary_lists_shapes_and_counts():
    model = Sequential([Input(64), Dense(128, activation="relu"), Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "8,320" in text and "1,290" in text and "Total params: 9,610" in text
    assert "(None, 128)" in text and "relu" in text
    assert model.count_params() == 9610


# ------------------------------------------------------------ callbacks in fit

def test_early_stopping_restores_best_weights():
    from fastdnn.callbacks import EarlyStopping

    X, y, n_out = make_data("binary_crossentropy", m=80)
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile(GD(5.0), "binary_crossentropy")   # too large a step: loss bounces
    snapshots = []

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["loss"], self.model.get_weights()))

    stop = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    h = model.fit(X, y, epochs=40, batch_size=None, callbacks=[Keep(), stop], verbose=0)
    assert len(h.history["loss"]) < 40
    best = int(np.argmin(h.history["loss"]))
    assert all(np.array_equal(a, b) for a, b in zip(snapshots[best][1], model.get_weights()))


def test_learning_rate_schedules_reach_the_optimizer():
    from fastdnn.callbacks import LearningRateScheduler
    from fastdnn.schedules import InverseTimeDecay

    X, y, n_out = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile(GD(InverseTimeDecay(0.2, decay_rate=1.0)), "binary_crossentropy")
    h = model.fit(X, y, epochs=4, verbose=0)
    np.testing.assert_allclose(h.history["learning_rate"], [0.2 / (1 + e) for e in range(4)])
    model.compile(GD(0.1), "binary_crossentropy")
    h = model.fit(X, y, epochs=3, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.05, 0.025])


def test_schedule_matches_reference_training():
    from fastdnn.schedules import InverseTimeDecay

    X, y, n_out = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile(GD(InverseTimeDecay(0.3, decay_rate=0.5)), "binary_crossentropy")
    start = params_of(model)
    model.fit(X, y, epochs=3, batch_size=10, shuffle=False, verbose=0)
    expected, _ = reference.train(X.T.copy(), y.reshape(1, -1), start, ["relu", "sigmoid"],
                                  loss="binary_crossentropy", optimizer="gd",
                                  learning_rate=lambda e: 0.3 / (1 + 0.5 * e), epochs=3,
                                  batch_size=10)
    np.testing.assert_allclose(model.layers[1].W, expected[0][0], rtol=1e-12)


def test_verbose_output(capsys):
    X, y, n_out = make_data("binary_crossentropy")
    model = build_model("relu", "sigmoid", n_out, X.shape[1], np.float64)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, verbose=2, validation_split=0.2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "val_loss" in out
    model.fit(X, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_top_level_names():
    assert fastdnn.Sequential is Sequential
    assert callable(fastdnn.load_model)
    for mod in ("layers", "models", "optimizers", "losses", "initializers", "callbacks",
                "schedules", "metrics", "preprocessing", "regularizers"):
        assert hasattr(fastdnn, mod)


def test_rebuilding_keeps_the_normalizer_statistics():
    X = np.random.default_rng(0).normal(loc=5.0, size=(50, 3))
    norm = Normalizer()
    norm.adapt(X)
    model = Sequential([Input(3), norm, Dense(1)], dtype="float64", seed=0)
    model.build()
    model.build()
    np.testing.assert_allclose(norm.mean[:, 0], X.mean(axis=0), rtol=1e-12)
    again = Sequential([Input(3), norm, Dense(2)], dtype="float64", seed=0)
    again.build()
    np.testing.assert_allclose(norm.variance[:, 0], X.var(axis=0), rtol=1e-12)


def test_layer_path_skips_the_gradient_nobody_needs(monkeypatch):
    X, y, _ = make_data("binary_crossentropy")
    norm = Normalizer()
    norm.adapt(X)
    model = Sequential([Input(X.shape[1]), norm, Dense(3, activation="relu"),
                        Dense(1, activation="sigmoid")], dtype="float64", seed=0)
    model.compile("gd", "binary_crossentropy", compiled=False)
    asked = []
    dense = model.layers[2]
    original = dense.backward

    def spy(dA, need_dA_prev=True, **kw):
        asked.append(need_dA_prev)
        return original(dA, need_dA_prev, **kw)
    monkeypatch.setattr(dense, "backward", spy)
    model.fit(X, y, epochs=1, batch_size=20, verbose=0)
    assert asked == [False, False, False]


@pytest.mark.parametrize("loss, output, n_out", [("binary_crossentropy", "sigmoid", 1),
                                                  ("categorical_crossentropy", "softmax", 3)])
def test_target_errors_name_the_argument_and_its_examples(loss, output, n_out):
    """A scalar y, a bad y_val and a y_val of the wrong length are reported against the
    arguments they concern (y_val and X_val, not y and X)."""
    model = Sequential([Input(3), Dense(4, activation="relu"), Dense(n_out, activation=output)])
    model.compile("adam", loss)
    X = np.random.default_rng(0).random((10, 3))
    y = np.zeros(10)
    with pytest.raises(TypeError, match=r"^y must be an array with one target per example of X,"
                                        r" got float 1\.0"):
        model.fit(X, 1.0, epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"^y_val must be an array .* of X_val"):
        model.fit(X, y, validation_data=(X, 1.0), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"^y_val has 10 rows but X_val has 5"):
        model.fit(X, y, validation_data=(X[:5], y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"y_val holds"):
        model.fit(X, y, validation_data=(X, np.full(10, 5.0)), epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"^y_val must hold real numbers"):
        model.fit(X, y, validation_data=(X, np.array(["a"] * 10)), epochs=1, verbose=0)
    assert not model.built or model.optimizer.iterations == 0


def test_a_layer_is_built_only_once_its_weights_exist():
    """Another thread's predict during a first fit must see an unbuilt model (a clear
    RuntimeError), never a layer marked built without its W."""
    seen = []

    def watching_init(shape, dtype=np.float32, rng=None):
        seen.append((first.built, model.built))
        return np.zeros(shape, dtype=dtype)

    first = Dense(4, activation="relu", kernel_initializer=watching_init)
    model = Sequential([Input(3), first, Dense(1, activation="sigmoid")])
    model.build()
    assert seen == [(False, False)]
    assert first.built and model.built and first.W.shape == (4, 3)
    model.compile("adam", "binary_crossentropy")
    predicted = []

    def predicting_init(shape, dtype=np.float32, rng=None):
        with pytest.raises(RuntimeError, match="no weights yet"):
            model.predict(np.zeros((2, 3)))
        predicted.append(True)
        return np.zeros(shape, dtype=dtype)

    first.kernel_initializer = predicting_init
    model.build(3)
    assert predicted == [True] and model.built


def test_values_beyond_the_model_dtype_are_refused_before_they_become_inf():
    """A float64 X holding values float32 cannot (they would be cast to inf and every weight
    would turn NaN) is refused by fit, validation data, predict, evaluate and the
    scikit-learn estimators, naming the argument and the first row; NaN-free float64
    models take the same X."""
    rng = np.random.default_rng(0)
    X = rng.random((10, 3))
    X[4, 1] = -1e39
    y = (rng.random(10) > 0.5).astype(float)
    model = Sequential([Input(3), Dense(4, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    model.build()
    before = [w.copy() for w in model.get_weights()]
    message = r"has values beyond float32's range \(first in row 4: -1e\+39\)"
    with pytest.raises(ValueError, match="^X " + message):
        model.fit(X, y, epochs=1, verbose=0, check_finite=False)
    with pytest.raises(ValueError, match="^X_val " + message):
        model.fit(X[:4], y[:4], validation_data=(X, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^X " + message):
        model.predict(X)
    with pytest.raises(ValueError, match="^X " + message):
        model.evaluate(X, y, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    wide = Sequential([Input(3), Dense(4, activation="relu"), Dense(1, activation="sigmoid")],
                      dtype="float64")
    wide.compile("adam", "binary_crossentropy")
    wide.fit(X, y, epochs=1, verbose=0)
    assert np.isfinite(wide.predict(X)).all()
    pytest.importorskip("sklearn")
    from fastdnn.sklearn import MLPClassifier
    with pytest.raises(ValueError, match=message):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype="float32").fit(X, y.astype(int))


def _diverging(compiled, optimizer=None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * 10
    y = (X[:, 0] > 0).astype(float)
    model = Sequential([Input(5), Dense(16, activation="relu"), Dense(1, activation="linear")],
                       seed=0)
    model.compile(optimizer or GD(10.0), "mse", compiled=compiled)
    return model, X, y


@pytest.mark.parametrize("compiled", [True, False])
def test_divergence_stops_at_the_first_non_finite_step(compiled):
    """A learning rate too large for the data: fit stops at the mini-batch whose loss is not
    finite, before its update, warns (once, at the user's call) naming the epoch and step,
    and keeps the last finite weights -- those of the steps History lists."""
    model, X, y = _diverging(compiled)
    with pytest.warns(RuntimeWarning, match=r"training diverged in epoch \d+ at its step \d+ "
                                            r"of 4: the loss became (inf|nan)") as record:
        history = model.fit(X, y, epochs=5, batch_size=50, shuffle=False, verbose=0)
    diverged = [w for w in record if "diverged" in str(w.message)]
    assert len(diverged) == 1 and diverged[0].filename == __file__
    steps = model.optimizer.iterations
    assert history.batch_loss.size == steps and np.isfinite(history.batch_loss).all()
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # the same steps, one by one and uninterrupted, give the same weights
    reference, _, _ = _diverging(compiled)
    per_epoch = 4
    for e in range(steps // per_epoch):
        reference.fit(X, y, epochs=1, batch_size=50, shuffle=False, verbose=0)
    rest = steps % per_epoch
    if rest:
        reference.fit(X[:50 * rest], y[:50 * rest], epochs=1, batch_size=50, shuffle=False,
                      verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    # one step more diverges
    with pytest.warns(RuntimeWarning, match="diverged"):
        model.fit(X, y, epochs=1, batch_size=50, shuffle=False, verbose=0)
    assert model.optimizer.iterations == steps


@pytest.mark.parametrize("compiled", [True, False])
def test_divergence_raises_when_asked(compiled):
    model, X, y = _diverging(compiled)
    with pytest.raises(FloatingPointError, match=r"training diverged in epoch"):
        model.fit(X, y, epochs=5, batch_size=50, verbose=0, on_nan="raise")
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert model.history.batch_loss.size == model.optimizer.iterations


@pytest.mark.parametrize("compiled", [True, False])
def test_divergence_with_weights_no_longer_finite_restores_the_start(compiled):
    """An update that overflows the weights while the loss was still finite: the next
    step's loss is not finite, and the weights go back to those fit started from."""
    model, X, y = _diverging(compiled, GD(1e38))
    model.build()
    start = [w.copy() for w in model.get_weights()]
    with pytest.warns(RuntimeWarning, match="no longer finite"):
        model.fit(X, y, epochs=3, batch_size=50, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), start):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("compiled", [True, False])
def test_divergence_continue_trains_on_with_one_warning(compiled):
    model, X, y = _diverging(compiled)
    with pytest.warns(RuntimeWarning, match=r"training diverged in epoch 1: the loss became "
                                            r"(inf|nan) at its step \d of 4") as record:
        history = model.fit(X, y, epochs=3, batch_size=50, verbose=0, on_nan="continue")
    assert not np.isfinite(history.history["loss"][0])
    assert len([w for w in record if "diverged" in str(w.message)]) == 1
    assert model.optimizer.iterations == 12


def test_on_nan_is_checked():
    model, X, y = _diverging(True)
    with pytest.raises(ValueError, match="on_nan"):
        model.fit(X, y, on_nan="stop", verbose=0)


@pytest.mark.parametrize("compiled", [True, False])
def test_a_calm_fit_does_not_warn(compiled):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * 10
    y = (X[:, 0] > 0).astype(float)
    calm = Sequential([Input(5), Dense(16, activation="relu"), Dense(1)], seed=0)
    calm.compile(GD(1e-3), "mse", compiled=compiled)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        calm.fit(X, y, epochs=2, batch_size=50, verbose=0)


@pytest.mark.parametrize("shape", [(None, 5), (7, 5), (5,), [None, 5]])
def test_build_takes_a_keras_input_shape(shape):
    """model.build((None, n)) builds as model.build(n) does, the same weights."""
    a, b = Sequential([Dense(3)], seed=2), Sequential([Dense(3)], seed=2)
    a.build(shape)
    b.build(5)
    np.testing.assert_array_equal(a.layers[0].W, b.layers[0].W)
    assert a.n_features == 5


@pytest.mark.parametrize("shape, error", [((None, 4, 5), ValueError), ((), ValueError),
                                          ((None, None), TypeError), ((None, 0), ValueError)])
def test_build_refuses_other_input_shapes(shape, error):
    with pytest.raises(error, match="n_features"):
        Sequential([Dense(3)]).build(shape)
