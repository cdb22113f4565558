"""Every loss in the compiled training loop: the same weights, costs and metrics as the
layer-by-layer path, both against reference.train (plain NumPy), with the output fused with
its loss (dZ = A - Y, smoothed targets too) or taking the loss's gradient through its
derivative."""
from __future__ import annotations

import numpy as np
import pytest

from fastdnn import _training, losses, reference
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential
from fastdnn.optimizers import GD, Adam

pytestmark = pytest.mark.usefixtures("one_blas_thread")

RTOL = {np.float32: 2e-4, np.float64: 1e-10}

# (loss config, output activation, target kind)
CASES = [
    ({"name": "mae"}, "linear", "real"),
    ({"name": "mae"}, "tanh", "real"),
    ({"name": "huber", "delta": 0.5}, "linear", "real"),
    ({"name": "log_cosh"}, "tanh", "real"),
    ({"name": "poisson"}, "sigmoid", "count"),
    ({"name": "poisson", "log_input": True}, "linear", "count"),
    ({"name": "hinge"}, "tanh", "binary"),
    ({"name": "squared_hinge"}, "linear", "binary"),
    ({"name": "binary_crossentropy", "from_logits": True}, "linear", "binary"),
    ({"name": "binary_crossentropy", "label_smoothing": 0.2}, "sigmoid", "binary"),
    ({"name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.1}, "linear",
     "binary"),
    ({"name": "categorical_crossentropy", "from_logits": True}, "linear", "classes"),
    ({"name": "categorical_crossentropy", "label_smoothing": 0.2}, "softmax", "classes"),
    ({"name": "categorical_crossentropy", "from_logits": True, "label_smoothing": 0.1},
     "linear", "classes"),
    ({"name": "sparse_categorical_crossentropy", "from_logits": True}, "linear", "classes"),
    ({"name": "sparse_categorical_crossentropy"}, "softmax", "classes"),
    ({"name": "binary_crossentropy"}, "linear", "binary"),   # BCE through a linear output
    ({"name": "mse"}, "sigmoid", "real"),
]
IDS = ["-".join(f"{v}" for v in c.values()) + f"-{o}" for c, o, _ in CASES]


def data(kind, m=60, n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    if kind == "real":
        return X, np.tanh(X[:, :2]), 2
    if kind == "count":
        return X, rng.poisson(np.exp(X[:, :1] / 2)).astype(float), 1
    if kind == "binary":
        return X, (X[:, :2] > 0).astype(float), 2
    return X, rng.integers(0, 3, size=m), 3


def build(output, n_out, dtype, seed=1):
    return Sequential([Input(4), Dense(5, activation="tanh"), Dense(n_out, activation=output)],
                      dtype=dtype, seed=seed)


def fit_engine(config, output, kind, dtype, engine, optimizer, epochs=3, batch_size=16):
    X, y, n_out = data(kind)
    model = build(output, n_out, dtype)
    model.compile(optimizer(), dict(config), ["mae"])
    if config["name"] == "binary_crossentropy" and output == "linear":
        # probabilities from a linear output: start inside (0, 1), small steps
        model.build(4)
        model.layers[-1].b[...] = 0.5
        model.layers[-1].W[...] *= 0.01
    h = model.fit(X, y, epochs=epochs, batch_size=batch_size, seed=3, verbose=0, engine=engine,
                  validation_split=0.2)
    assert h.engine == engine
    return model, h


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config, output, kind", CASES, ids=IDS)
def test_compiled_loop_equals_layer_path(config, output, kind, dtype):
    opt = (lambda: GD(0.01)) if (config["name"] == "binary_crossentropy"
                                  and output == "linear" and not config.get("from_logits")) \
        else (lambda: Adam(0.02))
    mc, hc = fit_engine(config, output, kind, dtype, "compiled", opt)
    ml, hl = fit_engine(config, output, kind, dtype, "python", opt)
    for a, b in zip(mc.get_weights(), ml.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype])
    np.testing.assert_allclose(hc.batch_loss, hl.batch_loss, rtol=RTOL[dtype])
    assert np.isfinite(hc.batch_loss).all()
    for key in hl.history:
        np.testing.assert_allclose(hc.history[key], hl.history[key], rtol=RTOL[dtype] * 10,
                                   err_msg=key)


@pytest.mark.parametrize("config, output, kind", CASES, ids=IDS)
def test_compiled_loop_equals_the_reference(config, output, kind):
    X, y, n_out = data(kind)
    model = build(output, n_out, np.float64)
    model.compile(GD(0.05) if not (config["name"] == "binary_crossentropy" and
                                   output == "linear" and not config.get("from_logits"))
                  else GD(0.001), dict(config))
    model.build(4)
    if config["name"] == "binary_crossentropy" and output == "linear" \
            and not config.get("from_logits"):
        model.layers[-1].b[...] = 0.5
        model.layers[-1].W[...] *= 0.01
    dense = [l for l in model.layers if isinstance(l, Dense)]
    params = [(l.W.copy(), l.b.copy().reshape(-1, 1)) for l in dense]
    Y = model.loss.prepare_targets(y, n_out, np.float64).T
    h = model.fit(X, y, epochs=2, batch_size=20, shuffle=False, verbose=0, engine="compiled")
    name = "categorical_crossentropy" if "categorical" in config["name"] else config["name"]
    args = {k: v for k, v in config.items() if k != "name"}
    want, costs = reference.train(X.T, Y, params, ["tanh", output], name, "gd",
                                  model.optimizer.learning_rate, epochs=2, batch_size=20,
                                  loss_args=args)
    np.testing.assert_allclose(h.batch_loss, costs, rtol=1e-9)
    for layer, (W, b) in zip(dense, want):
        np.testing.assert_allclose(layer.W, W, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.b.reshape(-1, 1), b, rtol=1e-9, atol=1e-12)


def test_what_the_loop_refuses():
    model = Sequential([Input(3), Dense(3, activation="softmax")])
    for loss in ("mae", losses.CategoricalCrossentropy(from_logits=True), "huber"):
        model.compile("adam", loss)
        reasons = _training.compiled_obstacles(model, np.zeros((2, 3)), [])
        assert reasons and "softmax output" in reasons[0], loss
    for loss, output in (("mae", "relu"), ("poisson", "sigmoid"), ("hinge", "tanh"),
                         (losses.BinaryCrossentropy(from_logits=True), "linear")):
        model = Sequential([Input(3), Dense(2, activation=output)])
        model.compile("adam", loss)
        assert _training.compiled_obstacles(model, np.zeros((2, 3)), []) == []
