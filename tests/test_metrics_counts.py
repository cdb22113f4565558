"""AUC, Precision, Recall and TopKCategoricalAccuracy: against reference.py (Keras' formulas)
and scikit-learn, streamed over batches, in fit (both engines, validation), evaluate,
save/load."""
from __future__ import annotations

import numpy as np
import pytest

from fastdnn import metrics, reference
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential
from fastdnn.saving import load_model

DTYPES = [np.float32, np.float64]


def scores(n=3, m=200, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 2, size=(n, m)).astype(float)
    A = 1 / (1 + np.exp(-(2 * Y - 1 + rng.normal(size=(n, m)) * 1.5)))
    return A.astype(dtype), Y.astype(dtype)


def batches(A, Y, size=37):
    for s in range(0, A.shape[1], size):
        yield A[:, s:s + size], Y[:, s:s + size]


@pytest.mark.parametrize("dtype", DTYPES)
def test_precision_and_recall_equal_the_reference_and_sklearn(dtype):
    A, Y = scores(dtype=dtype)
    A[0, :3] = [0.5, np.nan, np.nan]   # on the threshold; NaN predictions are wrong
    Y[0, 1:3] = [1, 0]
    for threshold in (0.5, 0.3):
        tp, fp, fn = reference.confusion_counts(A, Y, threshold)
        p, r = metrics.Precision(threshold), metrics.Recall(threshold)
        for Ab, Yb in batches(A, Y):
            p.update_state(Ab, Yb)
            r.update_state(Ab, Yb)
        np.testing.assert_array_equal(p.counts, [tp, fp, fn])
        assert p.result() == pytest.approx(tp / (tp + fp), rel=1e-12)
        assert r.result() == pytest.approx(tp / (tp + fn), rel=1e-12)
    sk = pytest.importorskip("sklearn.metrics")
    A, Y = scores(dtype=dtype, seed=1)
    pred, true = (A > 0.5).ravel(), (Y > 0.5).ravel()
    assert metrics.Precision()(A, Y) == pytest.approx(sk.precision_score(true, pred))
    assert metrics.Recall()(A, Y) == pytest.approx(sk.recall_score(true, pred))


def test_precision_and_recall_without_positives_are_0():
    assert metrics.Precision()(np.array([[0.1, 0.2]]), np.array([[1, 0]])) == 0.0
    assert metrics.Recall()(np.array([[0.9, 0.2]]), np.array([[0, 0]])) == 0.0
    assert metrics.Precision().result() == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("curve, summation", [
    ("ROC", "interpolation"), ("ROC", "minoring"), ("ROC", "majoring"),
    ("PR", "interpolation"), ("PR", "minoring"), ("PR", "majoring")])
@pytest.mark.parametrize("num_thresholds", [2, 3, 50, 200])
def test_auc_equals_the_reference(curve, summation, num_thresholds, dtype):
    A, Y = scores(dtype=dtype, seed=2)
    A[0, :4] = [0.0, 1.0, 0.5, 1 / 3]      # on thresholds and the ends
    A[1, :2] = [-0.5, 1.5]                 # outside [0, 1]
    auc = metrics.AUC(num_thresholds, curve, summation)
    for Ab, Yb in batches(A, Y):
        auc.update_state(Ab, Yb)
    want = reference.auc(A.astype(np.float64), Y, num_thresholds, curve, summation)
    assert auc.result() == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert auc(A, Y) == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_auc_equals_sklearn_within_the_thresholds_spacing():
    sk = pytest.importorskip("sklearn.metrics")
    for seed in range(5):
        A, Y = scores(n=1, m=1000, seed=seed)
        auc = metrics.AUC()
        for Ab, Yb in batches(A, Y, 128):
            auc.update_state(Ab, Yb)
        assert auc.result() == pytest.approx(sk.roc_auc_score(Y.ravel(), A.ravel()), abs=2e-3)
        fine = metrics.AUC(num_thresholds=20001)(A, Y)
        assert fine == pytest.approx(sk.roc_auc_score(Y.ravel(), A.ravel()), abs=1e-5)
        pr = metrics.AUC(num_thresholds=2001, curve="PR")(A, Y)
        assert pr == pytest.approx(sk.average_precision_score(Y.ravel(), A.ravel()), abs=1e-2)


def test_auc_nan_and_reset():
    auc = metrics.AUC()
    auc.update_state(np.array([[np.nan, 0.3]]), np.array([[1, 0]]))
    assert np.isnan(auc.result())
    auc.reset_state()
    auc.update_state(np.array([[0.9, 0.3]]), np.array([[1, 0]]))
    assert auc.result() == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_equals_the_reference(k, dtype):
    rng = np.random.default_rng(3)
    A = rng.integers(0, 4, size=(6, 300)).astype(dtype)   # many ties
    Y = np.eye(6)[rng.integers(0, 6, 300)].T
    A[2, 5] = np.nan
    m = metrics.TopKCategoricalAccuracy(k)
    for Ab, Yb in batches(A, Y):
        m.update_state(Ab, Yb)
    assert m.result() == pytest.approx(reference.top_k_hits(A, Y, k) / 300, rel=1e-12)
    if k == 1:   # no ties: top-1 is the categorical accuracy
        B = rng.normal(size=(6, 300))
        assert metrics.TopKCategoricalAccuracy(1)(B, Y) == metrics.CategoricalAccuracy()(B, Y)


@pytest.mark.parametrize("bad, exc", [
    (lambda: metrics.AUC(num_thresholds=1), ValueError),
    (lambda: metrics.AUC(curve="DET"), ValueError),
    (lambda: metrics.AUC(summation_method="simpson"), ValueError),
    (lambda: metrics.TopKCategoricalAccuracy(k=0), ValueError),
    (lambda: metrics.Precision(thresholds="0.5"), TypeError),
])
def test_bad_arguments(bad, exc):
    with pytest.raises(exc):
        bad()


@pytest.mark.parametrize("metric", [
    metrics.AUC(50, "PR", "majoring"), metrics.AUC(from_logits=True), metrics.Precision(0.3),
    metrics.Recall(),
    metrics.TopKCategoricalAccuracy(2)])
def test_config_round_trip(metric):
    config = metric.get_config()
    again = metrics.get(config)
    assert type(again) is type(metric) and again.get_config() == config
    assert metrics.get(metrics.serialize(metric)).get_config() == config


@pytest.mark.parametrize("name, cls", [
    ("auc", metrics.AUC), ("AUC", metrics.AUC), ("precision", metrics.Precision),
    ("Precision", metrics.Precision), ("recall", metrics.Recall),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
    ("TopKCategoricalAccuracy", metrics.TopKCategoricalAccuracy),
    ("sparse_top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy)])
def test_registry_names(name, cls):
    assert type(metrics.get(name)) is cls


def classification(kind, m=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 4))
    if kind == "binary":
        return X, (X[:, 0] + 0.5 * rng.normal(size=m) > 0).astype(float), 1, "sigmoid", \
            "binary_crossentropy"
    return X, np.argmax(X[:, :3] + rng.normal(size=(m, 3)), axis=1), 6, "softmax", \
        "categorical_crossentropy"


METRICS = ["auc", "precision", "recall", metrics.AUC(curve="PR"),
           metrics.TopKCategoricalAccuracy(2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["binary", "classes"])
def test_fit_logs_equal_on_both_engines_and_equal_evaluate(kind, dtype):
    X, y, n_out, output, loss = classification(kind)
    runs = []
    for engine in ("compiled", "python"):
        model = Sequential([Input(4), Dense(6, activation="tanh"),
                            Dense(n_out, activation=output)], dtype=dtype, seed=0)
        model.compile("adam", loss, [metrics.get(metrics.serialize(m)) if not isinstance(m, str)
                                     else m for m in METRICS])
        h = model.fit(X, y, epochs=3, batch_size=16, seed=1, verbose=0, validation_split=0.25,
                      engine=engine)
        assert h.engine == engine
        runs.append((model, h))
    (mc, hc), (ml, hl) = runs
    names = ["auc", "precision", "recall", "auc", "top_k_categorical_accuracy"]
    assert set(hc.history) == set(hl.history) >= {n for n in names} | {"val_" + n for n in names}
    for key in hl.history:
        np.testing.assert_allclose(hc.history[key], hl.history[key],
                                   rtol=1e-4 if dtype == np.float32 else 1e-9, err_msg=key)
    # evaluate: the metrics over the predictions, as one batch
    Xv, yv = X[-30:], y[-30:]
    logs = mc.evaluate(Xv, yv, return_dict=True, verbose=0)
    P = mc.predict(Xv).T
    Yv = mc.loss.prepare_targets(yv, n_out, dtype).T
    assert logs["recall"] == pytest.approx(metrics.Recall()(P, Yv))
    assert logs["precision"] == pytest.approx(metrics.Precision()(P, Yv))
    assert logs["top_k_categorical_accuracy"] == pytest.approx(
        reference.top_k_hits(P, Yv, 2) / 30)


def test_the_compiled_loops_counts_are_those_of_the_predictions():
    # one epoch in one batch: the epoch's AUC is the AUC of the predictions before the step
    X, y, n_out, output, loss = classification("binary", m=203)
    model = Sequential([Input(4), Dense(1, activation=output)], seed=0)
    model.compile("adam", loss, ["auc", "precision"])
    model.build(4)
    P = model.predict(X).T
    h = model.fit(X, y, epochs=1, batch_size=None, shuffle=False, verbose=0, engine="compiled")
    assert h.history["auc"][0] == pytest.approx(reference.auc(P, y[None, :]), rel=1e-12)
    tp, fp, _ = reference.confusion_counts(P, y[None, :])
    assert h.history["precision"][0] == pytest.approx(tp / (tp + fp), rel=1e-12)


def test_a_model_saves_and_loads_its_metrics(tmp_path):
    X, y, n_out, output, loss = classification("binary")
    model = Sequential([Input(4), Dense(1, activation=output)], seed=0)
    model.compile("adam", loss, [metrics.AUC(64, "PR"), metrics.Precision(0.4)])
    model.fit(X, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert [m.get_config() for m in loaded.metrics] == [m.get_config() for m in model.metrics]
    assert loaded.evaluate(X, y, verbose=0) == pytest.approx(model.evaluate(X, y, verbose=0))


@pytest.mark.parametrize("monitor, mode", [
    ("val_auc", "max"), ("precision", "max"), ("val_recall", "max"),
    ("val_top_k_categorical_accuracy", "max"), ("val_loss", "min"), ("mae", "min")])
def test_monitors_know_which_way_the_metrics_improve(monitor, mode):
    from fastdnn.callbacks import EarlyStopping
    assert EarlyStopping(monitor=monitor).mode == mode


@pytest.mark.parametrize("dtype", DTYPES)
def test_auc_from_logits_counts_the_sigmoid(dtype):
    rng = np.random.default_rng(4)
    Z = (rng.normal(size=(2, 300)) * 3).astype(dtype)
    Z[0, :4] = [-1e30, 1e30, -800, 800]
    with np.errstate(over="ignore"):   # exp(1e30) = inf: the sigmoid is 0, as it should be
        P = 1 / (1 + np.exp(-Z.astype(np.float64)))
    Y = (rng.uniform(size=(2, 300)) < P).astype(dtype)
    P = P.astype(dtype)
    for curve in ("ROC", "PR"):
        got = metrics.AUC(curve=curve, from_logits=True)(Z, Y)
        assert np.isfinite(got)
        assert got == pytest.approx(metrics.AUC(curve=curve)(P, Y), rel=1e-12)


def test_auc_from_logits_in_fit_on_both_engines():
    X, y, n_out, output, loss = classification("binary")
    runs = []
    for engine in ("compiled", "python"):
        model = Sequential([Input(4), Dense(6, activation="tanh"), Dense(1, activation="linear")],
                           seed=0)
        model.compile("adam", {"name": "binary_crossentropy", "from_logits": True},
                      [metrics.AUC(from_logits=True)])
        runs.append(model.fit(X, y, epochs=3, batch_size=16, seed=1, verbose=0,
                              validation_split=0.25, engine=engine))
    for key in ("auc", "val_auc", "loss"):
        np.testing.assert_allclose(runs[0].history[key], runs[1].history[key], rtol=1e-9)
