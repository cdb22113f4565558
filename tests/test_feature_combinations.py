"""Features that meet in the compiled loop and the exporters: each pair agrees with the
layer-by-layer path (or with onnxruntime) as each feature alone does."""
import numpy as np
import pytest

import fastdnn
from fastdnn import Sequential
from fastdnn.layers import Activation, BatchNormalization, Dense, Input, Normalizer


def _data(m=256, n=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(2.0, 3.0, size=(m, n))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(m) > 0).astype(np.float64)
    return X, y, rng


def _fit_both(make, X, y, **kwargs):
    models = []
    for engine in ("python", "compiled"):
        model = make()
        history = model.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0,
                            engine=engine, **kwargs)
        assert history.engine == engine
        models.append((model, history))
    return models


@pytest.mark.parametrize("metric", ["auc", "precision", "recall", "binary_accuracy"])
def test_weighted_metrics_agree_between_engines(metric):
    X, y, rng = _data()
    w = rng.uniform(0.0, 3.0, size=len(y))

    def make():
        model = Sequential([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")],
                           dtype="float64", seed=1)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[metric])
        return model
    (a, ha), (b, hb) = _fit_both(make, X, y, sample_weight=w)
    key = next(k for k in ha.history if k != "loss")
    np.testing.assert_allclose(hb.history[key], ha.history[key], rtol=1e-9)
    np.testing.assert_allclose(hb.history["loss"], ha.history["loss"], rtol=1e-9)
    # and the weights count: doubling one class's weights changes the metric
    unweighted = make().fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    assert unweighted.history[key] != ha.history[key]


@pytest.mark.parametrize("clip", [{"global_clipnorm": 0.05}, {"clipnorm": 0.02},
                                  {"clipvalue": 0.01}])
def test_batch_normalization_under_clipping_agrees_between_engines(clip):
    X, y, _ = _data()

    def make():
        model = Sequential([Dense(16), BatchNormalization(), Activation("relu"),
                            Dense(1, activation="sigmoid")], dtype="float64", seed=2)
        model.compile(optimizer=fastdnn.optimizers.SGD(learning_rate=0.5, momentum=0.9, **clip),
                      loss="binary_crossentropy")
        return model
    (a, _), (b, _) = _fit_both(make, X, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-7, atol=1e-9)


def test_clipping_with_layers_without_bias_agrees_between_engines():
    X, y, _ = _data()

    def make():
        model = Sequential([Dense(12, activation="relu", use_bias=False),
                            Dense(1, activation="sigmoid")], dtype="float64", seed=3)
        model.compile(optimizer=fastdnn.optimizers.Adam(global_clipnorm=0.1),
                      loss="binary_crossentropy")
        return model
    (a, _), (b, _) = _fit_both(make, X, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-9, atol=1e-12)


def test_a_normalizer_folds_into_a_dense_without_bias():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    X, _, _ = _data(m=64, n=4)
    norm = Normalizer()
    norm.adapt(X)
    model = Sequential([Input(4), norm, Dense(3, activation="tanh", use_bias=False)],
                       dtype="float64", seed=4)
    model.build()
    data = model.export_onnx()
    import onnx
    assert [n.op_type for n in onnx.load_from_string(data).graph.node] == ["Gemm", "Tanh"]
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(["Y"], {"X": X})[0], model.predict(X), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("activation", ["gelu", "silu", "mish", "elu"])
@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_normalization_then_an_activation_of_z_agrees_between_engines(activation, norm):
    """g'(x) of gelu, silu and mish needs g's input: after a normalization that is the
    normalized product, which the compiled loop keeps apart from the product itself."""
    from fastdnn.layers import LayerNormalization

    X, y, _ = _data()

    def make():
        layer = BatchNormalization() if norm == "batch" else LayerNormalization()
        model = Sequential([Dense(16), layer, Activation(activation),
                            Dense(1, activation="sigmoid")], dtype="float64", seed=5)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model
    (a, ha), (b, hb) = _fit_both(make, X, y)
    np.testing.assert_allclose(hb.history["loss"], ha.history["loss"], rtol=1e-9)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_a_diverged_batch_leaves_the_moving_statistics(engine):
    """on_nan stops before the update of a batch whose cost is not finite: a batch
    normalization's moving statistics are those of the steps taken, too."""
    X, y, _ = _data(m=128)
    X[64:96, 0] = np.nan                       # the third batch of 32

    def make():
        model = Sequential([Dense(8), BatchNormalization(), Activation("tanh"),
                            Dense(1, activation="sigmoid")], dtype="float64", seed=6)
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        return model
    model = make()
    with pytest.warns(RuntimeWarning):
        model.fit(X, y, epochs=1, batch_size=32, shuffle=False, verbose=0, engine=engine,
                  check_finite=False, on_nan="warn")
    reference = make()
    reference.fit(X[:64], y[:64], epochs=1, batch_size=32, shuffle=False, verbose=0,
                  engine=engine)
    bn, ref = model.layers[1], reference.layers[1]
    assert np.isfinite(bn.moving_mean).all()
    np.testing.assert_allclose(bn.moving_mean, ref.moving_mean, rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, ref.moving_variance, rtol=1e-12)
