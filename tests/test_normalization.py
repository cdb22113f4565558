"""BatchNormalization and LayerNormalization: the kernels against ``fastdnn.reference``,
PyTorch (forward, autograd backward, running statistics) and finite differences; the
layers in models (training, moving statistics at inference, save/load, summary, config)
and their argument checks."""
from __future__ import annotations

import time

import numpy as np
import pytest

import fastdnn
from fastdnn import Sequential, gradient_check
from fastdnn import reference as R
from fastdnn._kernels import _norm
from fastdnn.layers import (Activation, BatchNormalization, Dense, Dropout, Input,
                            LayerNormalization)

DTYPES = [np.float32, np.float64]
TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}
SHAPES = [(1, 1), (1, 5), (4, 1), (5, 7), (33, 64)]


def _data(n, m, dtype, seed=0, loc=3.0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.normal(loc, 2.0, (n, m))).astype(dtype, order="F")
    dY = np.asfortranarray(rng.normal(size=(n, m))).astype(dtype, order="F")
    gamma = rng.normal(1.0, 0.5, (n, 1)).astype(dtype)
    beta = rng.normal(size=(n, 1)).astype(dtype)
    return X, dY, gamma, beta


def _close(got, want, dtype, scale=1.0):
    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=tol,
                               atol=tol * scale)


def _built(layer, n, dtype):
    layer.build(n, dtype, np.random.default_rng(0))
    return layer


# ------------------------------------------------------------------ kernels vs reference

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_kernels_match_reference(shape, dtype):
    n, m = shape
    X, dY, gamma, beta = _data(n, m, dtype)
    layer = _built(BatchNormalization(momentum=0.8), n, dtype)
    layer.gamma[...], layer.beta[...] = gamma, beta
    Y = layer.forward(X, training=True)
    x, g, b = (a.astype(np.float64) for a in (X, gamma, beta))
    want, mu, var = R.batch_norm(x, g, b, 1e-3)
    _close(Y, want, dtype, 10)
    _close(layer.moving_mean, 0.2 * mu, dtype, 10)
    _close(layer.moving_variance, 0.8 + 0.2 * var, dtype, 10)
    dX = layer.backward(dY)
    want_dX, want_dg, want_db = R.batch_norm_backward(dY.astype(np.float64), x, g, 1e-3)
    _close(dX, want_dX, dtype, 30)
    _close(layer.dgamma, want_dg, dtype, 10)
    _close(layer.dbeta, want_db, dtype, 10)
    # inference: the moving statistics
    Yi = layer.forward(X, training=False)
    mm, mv = (a.astype(np.float64) for a in (layer.moving_mean, layer.moving_variance))
    _close(Yi, g * (x - mm) / np.sqrt(mv + 1e-3) + b, dtype, 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_kernels_on_every_path_and_thread_count(simd, dtype):
    # large enough for the thread team, which splits the 100 features (not a multiple of
    # the 16-feature chunks): every thread count gives the same bits, close to reference
    n, m = 100, 400
    X, dY, gamma, beta = _data(n, m, dtype, seed=3)
    mm, mv = np.full((n, 1), 0.5, dtype), np.full((n, 1), 2.0, dtype)
    results = []
    for threads in (1, 2):
        fastdnn.set_num_threads(threads)
        try:
            # (past any back-off of the team after late threads, which lasts <= 20 ms:
            # two threads split these calls)
            time.sleep(0.03)
            layer = _built(BatchNormalization(), n, dtype)
            layer.gamma[...], layer.beta[...] = gamma, beta
            Y = layer.forward(X, training=True).copy()
            dX = layer.backward(dY).copy()
            layer.moving_mean[...], layer.moving_variance[...] = mm, mv
            Yi = layer.forward(X, training=False).copy()
            mean, var, inv_std = np.empty(n), np.empty(n), np.empty(n)
            out = np.empty_like(X)
            _norm.batch_norm_train(X, gamma, beta, 1e-3, out, mean, var, inv_std)
            dg, dbeta, db = (np.empty((n, 1), dtype) for _ in range(3))
            dXk = np.empty_like(X)
            _norm.batch_norm_backward(dY, X, gamma, mean, inv_std, dXk, dg, dbeta, 1 / m,
                                      db=db)
            results.append((Y, dX, layer.dgamma.copy(), layer.dbeta.copy(), Yi, var,
                            dXk, db))
        finally:
            fastdnn.set_num_threads(None)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    Y, dX, dgamma, dbeta, Yi, var, dXk, db = results[0]
    x, g, b = (a.astype(np.float64) for a in (X, gamma, beta))
    want_Y, _, want_var = R.batch_norm(x, g, b, 1e-3)
    _close(Y, want_Y, dtype, 10)
    _close(var, want_var.ravel(), dtype, 10)
    _close(Yi, g * (x - mm) / np.sqrt(mv.astype(np.float64) + 1e-3) + b, dtype, 10)
    want = R.batch_norm_backward(dY.astype(np.float64), x, g, 1e-3)
    for got, w, scale in zip((dX, dgamma, dbeta), want, (30, 10, 10)):
        _close(got, w, dtype, scale)
    np.testing.assert_array_equal(dXk, dX)
    # db, the gradient of a bias before the normalization: the sums of dX (about 0)
    dXd = dXk.astype(np.float64)
    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(db.ravel(), dXd.sum(axis=1) / m, rtol=0,
                               atol=tol * np.abs(dXd).sum(axis=1).max() / m)


def test_batch_norm_bias_gradient_needs_dX():
    X, dY, gamma, _ = _data(4, 3, np.float64)
    stats = np.zeros(4), np.ones(4)
    with pytest.raises(ValueError, match="db needs dX"):
        _norm.batch_norm_backward(dY, X, gamma, *stats, None, np.empty(4), np.empty(4), 1.0,
                                  db=np.empty(4))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_kernels_match_reference(shape, dtype):
    n, m = shape
    X, dY, gamma, beta = _data(n, m, dtype)
    layer = _built(LayerNormalization(), n, dtype)
    layer.gamma[...], layer.beta[...] = gamma, beta
    Y = layer.forward(X, training=True)
    x, g, b = (a.astype(np.float64) for a in (X, gamma, beta))
    _close(Y, R.layer_norm(x, g, b, 1e-3), dtype, 10)
    _close(layer.forward(X, training=False), R.layer_norm(x, g, b, 1e-3), dtype, 10)
    dX = layer.backward(dY)
    want = R.layer_norm_backward(dY.astype(np.float64), x, g, 1e-3)
    for got, w in zip((dX, layer.dgamma, layer.dbeta), want):
        _close(got, w, dtype, 30)


@pytest.mark.parametrize("dtype", DTYPES)
def test_statistics_survive_a_large_mean(dtype):
    # one-pass statistics around a shift: no cancellation for data far from 0
    n, m = 50, 60
    X, _, _, _ = _data(n, m, dtype, loc=1e4 if dtype == np.float32 else 1e8)
    x = X.astype(np.float64)
    mean, var, inv = np.empty(n), np.empty(n), np.empty(n)
    ones, zeros = np.ones(n, dtype), np.zeros(n, dtype)
    _norm.batch_norm_train(X, ones, zeros, 1e-3, np.empty_like(X), mean, var, inv)
    np.testing.assert_allclose(var, x.var(axis=1), rtol=1e-10)
    np.testing.assert_allclose(mean, x.mean(axis=1), rtol=1e-14)
    mu, r = np.empty(m), np.empty(m)
    _norm.layer_norm_forward(X, ones, zeros, 1e-3, np.empty_like(X), mu, r)
    np.testing.assert_allclose(1 / r ** 2 - 1e-3, x.var(axis=0), rtol=1e-8)


def test_nan_propagates():
    X, dY, _, _ = _data(3, 6, np.float64)
    X[1, 2] = np.nan
    bn = _built(BatchNormalization(), 3, np.float64)
    Y = bn.forward(X, training=True)
    assert np.isnan(Y[1]).all() and np.isfinite(Y[[0, 2]]).all()
    assert np.isnan(bn.moving_variance[1, 0]) and np.isfinite(bn.moving_variance[[0, 2]]).all()
    ln = _built(LayerNormalization(), 3, np.float64)
    Y = ln.forward(X, training=True)
    assert np.isnan(Y[:, 2]).all() and np.isfinite(np.delete(Y, 2, axis=1)).all()


# ------------------------------------------------------------------ PyTorch

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 2), (5, 7), (40, 128)])
def test_batch_norm_matches_torch(shape, dtype):
    torch = pytest.importorskip("torch")
    n, m = shape
    X, dY, gamma, beta = _data(n, m, dtype)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    momentum = 0.9
    layer = _built(BatchNormalization(momentum=momentum, epsilon=1e-3), n, dtype)
    layer.gamma[...], layer.beta[...] = gamma, beta
    tbn = torch.nn.BatchNorm1d(n, eps=1e-3, momentum=1 - momentum, dtype=tdt)
    with torch.no_grad():
        tbn.weight.copy_(torch.from_numpy(gamma.ravel()))
        tbn.bias.copy_(torch.from_numpy(beta.ravel()))
    # torch's layout is (m, n): our X transposed
    tx = torch.from_numpy(np.ascontiguousarray(X.T)).requires_grad_(True)
    ty = tbn(tx)
    (ty * torch.from_numpy(np.ascontiguousarray(dY.T))).sum().backward()
    Y = layer.forward(X, training=True)
    dX = layer.backward(dY)
    _close(Y, ty.detach().numpy().T, dtype, 10)
    _close(dX, tx.grad.numpy().T, dtype, 30)
    # dY is d(sum of the losses): torch's parameter gradients are m times ours
    _close(layer.dgamma * m, tbn.weight.grad.numpy()[:, None], dtype, 10 * m)
    _close(layer.dbeta * m, tbn.bias.grad.numpy()[:, None], dtype, 10 * m)
    _close(layer.moving_mean, tbn.running_mean.numpy()[:, None], dtype, 10)
    # torch's running variance takes the unbiased variance, Keras' (ours) the biased one
    var = X.astype(np.float64).var(axis=1)
    if m > 1:
        unbiased = momentum + (1 - momentum) * var * m / (m - 1)
        _close(tbn.running_var.numpy(), unbiased, dtype, 10)
    _close(layer.moving_variance.ravel(), momentum + (1 - momentum) * var, dtype, 10)
    # inference against torch's eval mode with the same moving statistics
    with torch.no_grad():
        tbn.running_var.copy_(torch.from_numpy(layer.moving_variance.ravel()))
        tbn.eval()
        want = tbn(torch.from_numpy(np.ascontiguousarray(X.T))).numpy().T
    _close(layer.forward(X), want, dtype, 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (5, 7), (128, 40)])
def test_layer_norm_matches_torch(shape, dtype):
    torch = pytest.importorskip("torch")
    n, m = shape
    X, dY, gamma, beta = _data(n, m, dtype, seed=1)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    layer = _built(LayerNormalization(epsilon=1e-3), n, dtype)
    layer.gamma[...], layer.beta[...] = gamma, beta
    tln = torch.nn.LayerNorm(n, eps=1e-3, dtype=tdt)
    with torch.no_grad():
        tln.weight.copy_(torch.from_numpy(gamma.ravel()))
        tln.bias.copy_(torch.from_numpy(beta.ravel()))
    tx = torch.from_numpy(np.ascontiguousarray(X.T)).requires_grad_(True)
    ty = tln(tx)
    (ty * torch.from_numpy(np.ascontiguousarray(dY.T))).sum().backward()
    _close(layer.forward(X, training=True), ty.detach().numpy().T, dtype, 10)
    _close(layer.backward(dY), tx.grad.numpy().T, dtype, 30)
    _close(layer.dgamma * m, tln.weight.grad.numpy()[:, None], dtype, 10 * m)
    _close(layer.dbeta * m, tln.bias.grad.numpy()[:, None], dtype, 10 * m)


# ------------------------------------------------------------------ finite differences

@pytest.mark.parametrize("cls", [BatchNormalization, LayerNormalization])
def test_layer_gradients_match_finite_differences(cls):
    n, m = 4, 6
    X, dY, gamma, beta = _data(n, m, np.float64, seed=3)
    layer = _built(cls(), n, np.float64)
    R_ = dY   # cost = sum(Y * R_) / m: dY = R_ is d(sum of the losses)/dY

    def cost(p):
        layer.gamma[...], layer.beta[...] = p["gamma"], p["beta"]
        Y = layer.forward(np.asfortranarray(p["X"]), training=True)
        return float(np.sum(Y * R_) / m)

    params = {"X": X.copy(), "gamma": gamma, "beta": beta}
    cost(params)
    dX = layer.backward(R_) / m   # dX of the mean cost
    grads = {"X": dX, "gamma": layer.dgamma.copy(), "beta": layer.dbeta.copy()}
    assert gradient_check(cost, params, grads, epsilon=1e-6) < 1e-7


@pytest.mark.parametrize("where", ["before", "after"])
def test_model_gradients_match_finite_differences(where):
    """A whole network's gradients from the layer path, against finite differences of
    its training-mode cost (batch statistics)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(9, 3))
    y = (rng.random(9) > 0.5).astype(np.float64)
    norm = [BatchNormalization(momentum=0.5), LayerNormalization()]
    if where == "before":
        layers = [Input(3), Dense(5), norm[0], Activation("tanh"), Dense(4),
                  norm[1], Activation("relu"), Dense(1, activation="sigmoid")]
    else:
        layers = [Input(3), Dense(5, activation="tanh"), norm[0], Dense(4, activation="tanh"),
                  norm[1], Dense(1, activation="sigmoid")]
    model = Sequential(layers, dtype="float64", seed=0)
    model.compile("sgd", "binary_crossentropy")
    model.build()
    compute = model._compute_layers
    for layer in norm:   # non-trivial gamma and beta
        layer.gamma[...] = rng.normal(1, 0.3, layer.gamma.shape)
        layer.beta[...] = rng.normal(0, 0.3, layer.beta.shape)
    names = [(i, w) for i, l in enumerate(compute) for w in l.trainable_weights_names]
    Y = y[None, :]

    def cost(p):
        for i, w in names:
            getattr(compute[i], w)[...] = p[f"{i}_{w}"]
        A = X.T
        for layer in compute:
            A = layer.forward(A, training=True)
        return float(R.binary_crossentropy_cost(A, Y))

    params = {f"{i}_{w}": getattr(compute[i], w).copy() for i, w in names}
    cost(params)
    A = compute[-1]._A
    G = model.loss.gradient(A, Y)
    for layer in reversed(compute):
        G = layer.backward(np.asfortranarray(G))
    grads = {f"{i}_{w}": g.copy() for i, l in enumerate(compute)
             for w, g in zip(l.trainable_weights_names, l.grads)}
    assert gradient_check(cost, params, grads, epsilon=1e-6) < 1e-7


# ------------------------------------------------------------------ models

def _problem(dtype=np.float32, m=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(5.0, 3.0, size=(m, 4)).astype(dtype)
    y = ((X[:, 0] - 5) * (X[:, 1] - 5) > 0).astype(dtype)
    return X, y


def _model(dtype="float32", **bn):
    return Sequential([Input(4), Dense(16), BatchNormalization(**bn), Activation("relu"),
                       Dense(8), LayerNormalization(), Activation("tanh"),
                       Dense(1, activation="sigmoid")], dtype=dtype, seed=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_learns_and_updates_moving_statistics(dtype):
    X, y = _problem(dtype)
    model = _model(dtype)
    model.compile(fastdnn.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    model.build()
    bn = model.layers[2]
    gamma0 = bn.gamma.copy()
    history = model.fit(X, y, epochs=30, batch_size=32, verbose=0, seed=0, engine="python")
    loss = history.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert not np.array_equal(bn.gamma, gamma0)        # trained by the optimizer
    assert model.evaluate(X, y, return_dict=True)["accuracy"] > 0.85


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_moving_statistics_follow_the_batches(engine):
    X, y = _problem(np.float64, m=206)
    model = Sequential([Input(4), BatchNormalization(momentum=0.9),
                        Dense(1, activation="sigmoid")], dtype="float64", seed=0)
    model.compile("sgd", "binary_crossentropy")
    model.fit(X, y, epochs=2, batch_size=50, shuffle=False, verbose=0, engine=engine)
    mean, var = np.zeros(4), np.ones(4)
    for _ in range(2):
        for s in range(0, 206, 50):
            batch = X[s:s + 50]
            mean = 0.9 * mean + 0.1 * batch.mean(axis=0)
            var = 0.9 * var + 0.1 * batch.var(axis=0)
    bn = model.layers[1]
    np.testing.assert_allclose(bn.moving_mean.ravel(), mean, rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance.ravel(), var, rtol=1e-12)


def test_predict_uses_the_moving_statistics():
    X, y = _problem(np.float64)
    model = Sequential([Input(4), BatchNormalization(momentum=0.0)], dtype="float64")
    model.build()
    bn = model.layers[1]
    bn.forward(X[:100].T, training=True)      # momentum 0: the moving statistics are these
    out = model.predict(X)
    x = X.T
    want = (x - x[:, :100].mean(1, keepdims=True)) / np.sqrt(
        x[:, :100].var(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, want.T, rtol=1e-12, atol=1e-12)
    # a single example predicts as it does within a batch
    np.testing.assert_allclose(model.predict(X[:1]), out[:1], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_keeps_weights_and_moving_statistics(tmp_path, dtype):
    X, y = _problem(dtype)
    model = _model(dtype, center=False, momentum=0.9)
    model.compile("adam", "binary_crossentropy")
    model.fit(X, y, epochs=2, batch_size=64, verbose=0, seed=0)
    path = tmp_path / "m.npz"
    model.save(path)
    again = fastdnn.load_model(path)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    for a, b in zip(model.layers, again.layers):
        assert type(a) is type(b) and a.get_config() == b.get_config()
        for w in a.weights_names:
            np.testing.assert_array_equal(getattr(a, w), getattr(b, w))
    assert again.layers[2].weights_names == ("gamma", "moving_mean", "moving_variance")
    # both continue training identically (optimizer state of gamma/beta included)
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, seed=1)
    again.fit(X, y, epochs=1, batch_size=64, verbose=0, seed=1)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def test_weights_and_counts():
    model = _model()
    model.build()
    bn, ln = model.layers[2], model.layers[5]
    assert type(ln) is LayerNormalization
    assert [w.shape for w in bn.get_weights()] == [(16, 1)] * 4
    assert len(bn.params) == 2 and len(ln.params) == 2 and len(ln.get_weights()) == 2
    unbuilt = _model().count_params()
    assert unbuilt == model.count_params() == 80 + 64 + 136 + 16 + 9
    lines = []
    model.summary(print_fn=lines.append)
    assert any("BatchNormalization" in line and "64" in line for line in lines)
    assert any("LayerNormalization" in line and "16" in line for line in lines)
    no_params = BatchNormalization(center=False, scale=False)
    assert no_params.trainable_weights_names == ()
    assert Sequential([Input(3), no_params]).count_params() == 6


def test_config_round_trip():
    for layer in (BatchNormalization(momentum=0.9, epsilon=1e-5, center=False,
                                     gamma_initializer="zeros", name="bn"),
                  LayerNormalization(epsilon=1e-6, scale=False), Activation("tanh")):
        again = fastdnn.layers.get(fastdnn.layers.serialize(layer))
        assert type(again) is type(layer) and again.get_config() == layer.get_config()


def test_dropout_between_and_gamma_initializer():
    model = Sequential([Input(3), Dense(4), Dropout(0.5, seed=0),
                        BatchNormalization(gamma_initializer="zeros"), Dense(1)], seed=0)
    model.build()
    assert not model.layers[3].gamma.any()
    model.compile("sgd", "mse")
    X, y = _problem(np.float32)
    model.fit(X[:, :3], y, epochs=1, verbose=0)
    assert model.layers[3].gamma.any()


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"momentum": 1.5}, ValueError, "momentum"),
    ({"momentum": "x"}, TypeError, "momentum"),
    ({"epsilon": 0.0}, ValueError, "epsilon"),
    ({"epsilon": -1.0}, ValueError, "epsilon"),
    ({"center": 1}, TypeError, "center"),
    ({"scale": "yes"}, TypeError, "scale"),
    ({"axis": 0}, ValueError, "axis"),
    ({"axis": 1.0}, TypeError, "axis"),
    ({"gamma_initializer": "nope"}, ValueError, "nope"),
    ({"moving_variance_initializer": 3}, TypeError, "initializer"),
])
def test_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        BatchNormalization(**kwargs)
    if "moving" not in str(kwargs) and "momentum" not in kwargs:
        with pytest.raises(exc, match=word):
            LayerNormalization(**kwargs)


def test_bad_activation_and_backward_before_forward():
    with pytest.raises(TypeError, match="activation"):
        Activation(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Activation("nope")
    layer = _built(BatchNormalization(), 2, np.float64)
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.ones((2, 3)))


def test_kernel_argument_checks():
    X = np.ones((3, 4), order="F")
    ones, out = np.ones(3), np.empty((3, 4), order="F")
    stats = [np.empty(3) for _ in range(3)]
    with pytest.raises(TypeError, match="gamma"):
        _norm.batch_norm_train(X, ones.astype(np.float32), ones, 1e-3, out, *stats)
    with pytest.raises(ValueError, match="Y"):
        _norm.batch_norm_train(X, ones, ones, 1e-3, np.empty((3, 4)), *stats)
    with pytest.raises(ValueError, match="mean"):
        _norm.layer_norm_forward(X, ones, ones, 1e-3, out, np.empty(3), np.empty(4))


# ------------------------------------------------------------------ the compiled loop

def _stack(kind, units, center=True, scale=True, out="sigmoid", first=None):
    norm = (lambda: BatchNormalization(momentum=0.8, center=center, scale=scale)) \
        if kind == "batch" else (lambda: LayerNormalization(center=center, scale=scale))
    layers = [Input(6)] + ([first] if first is not None else [])
    layers += [Dense(units), norm(), Activation("relu"),
               Dense(units // 2), norm(), Activation("tanh"),
               Dense(units // 4, activation="leaky_relu"),
               Dense(3 if out == "softmax" else 1), norm(), Activation(out)]
    return layers


def _train_both(make, loss, optimizer, dtype, X, y, **fit):
    """Weights, optimizer states and predictions after the same fit on both engines.

    The bias of a Dense before a batch normalization has a gradient of 0 but for rounding,
    which the adaptive optimizers rescale to steps of about their rate: it is left out
    (checked to stay within those steps), and so is the moving mean it shifts."""
    weights, states, outputs = {}, {}, {}
    for engine in ("python", "compiled"):
        model = Sequential(make(), dtype=dtype, seed=0)
        model.compile(optimizer, loss)
        history = model.fit(X, y, verbose=0, seed=0, engine=engine, **fit)
        assert history.engine == engine
        layers = model._compute_layers
        bound = 0.01 * model.optimizer.iterations
        weights[engine], states[engine] = [], {}
        state = model.optimizer.get_state()
        count = 0
        for prev, layer, after in zip([None] + layers, layers, layers[1:] + [None]):
            left_out = set()
            if type(layer) is Dense and type(after) is BatchNormalization:
                left_out = {"b"}
            if type(layer) is BatchNormalization and type(prev) is Dense:
                left_out = {"moving_mean"}
            for name, w in zip(layer.weights_names, layer.get_weights()):
                if name in left_out:
                    assert np.abs(w).max() <= bound + (np.abs(prev.W).sum() * 10
                                                       if name == "moving_mean" else 0)
                else:
                    weights[engine].append(w)
            for name in layer.trainable_weights_names:
                if name not in left_out:
                    states[engine].update({k: v for k, v in state.items()
                                           if k.endswith(f"/{count}")})
                count += 1
        outputs[engine] = model.predict(X)
    # (float32: the left-out bias's noise, against the moving mean's, reaches the outputs)
    tol = 1e-2 if dtype == "float32" else 1e-9
    np.testing.assert_allclose(outputs["compiled"], outputs["python"], rtol=tol, atol=tol)
    return weights, states


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["batch", "layer"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("units", [8, 128, 256])
def test_compiled_loop_matches_the_layer_path(dtype, kind, optimizer, units):
    # 128 units with batches of 64: the products run packed, with their fused epilogues;
    # 256: the first batch normalization splits its features over the thread team
    rng = np.random.default_rng(5)
    X = rng.normal(2.0, 3.0, size=(200, 6))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.float64)
    weights, states = _train_both(lambda: _stack(kind, units), "binary_crossentropy",
                                  optimizer, dtype, X, y, epochs=3, batch_size=64)
    tol = 2e-3 if dtype == "float32" else 1e-9
    for a, b in zip(weights["python"], weights["compiled"]):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    for key, value in states["python"].items():
        np.testing.assert_allclose(states["compiled"][key], value, rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", ["batch", "layer"])
@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_compiled_loop_without_gamma_or_beta(kind, center, scale):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(100, 6))
    y = rng.normal(size=(100,))
    make = lambda: _stack(kind, 16, center, scale, out="linear",  # noqa: E731
                          first=fastdnn.layers.Normalizer())
    weights, _ = _train_both(make, "mse", "adam", "float64", X, y, epochs=2, batch_size=16)
    assert len(weights["python"]) == len(weights["compiled"])
    for a, b in zip(weights["python"], weights["compiled"]):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("units", [192, 200])
def test_compiled_loop_gelu_after_a_batch_normalization(dtype, units):
    # GELU's backward reads its input, the normalization's output: in the compiled loop
    # the two backward passes are one, over the thread team at this size (200 features:
    # the last chunk shorter than the others)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(256, 6))
    y = rng.integers(0, 3, 256)
    make = lambda: [Input(6), Dense(units), BatchNormalization(), Activation("gelu"),  # noqa: E731
                    Dense(3, activation="softmax")]
    weights, _ = _train_both(make, "categorical_crossentropy", "adam", dtype, X, y, epochs=2,
                             batch_size=128)
    tol = 2e-3 if dtype == "float32" else 1e-9
    for a, b in zip(weights["python"], weights["compiled"]):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


def test_compiled_loop_softmax_output_after_a_normalization():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(90, 6))
    y = rng.integers(0, 3, 90)
    weights, _ = _train_both(lambda: _stack("batch", 16, out="softmax"),
                             "categorical_crossentropy", "adam", "float64", X, y, epochs=2,
                             batch_size=30)
    for a, b in zip(weights["python"], weights["compiled"]):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9)


def test_auto_takes_the_compiled_loop_and_predicts_with_moving_statistics():
    X, y = _problem(np.float32)
    model = _model()
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=2, batch_size=32, verbose=0, seed=0)
    assert history.engine == "compiled"
    # predict: inference mode, the layers one after the other with the moving statistics
    A = X.T
    for layer in model._compute_layers:
        A = layer.forward(A)
    np.testing.assert_array_equal(model.predict(X), A.T)


@pytest.mark.parametrize("layers, words", [
    (lambda: [Input(4), Dense(8, activation="relu"), BatchNormalization(), Dense(1)],
     ["layer 2 (BatchNormalization)", "relu"]),
    (lambda: [Input(4), LayerNormalization(), Dense(1)], ["layer 1 (LayerNormalization)"]),
    (lambda: [Input(4), Dense(8), BatchNormalization(), BatchNormalization(), Dense(1)],
     ["layer 3 (BatchNormalization)"]),
    (lambda: [Input(4), Dense(8, activation="tanh"), Activation("relu"), Dense(1)],
     ["layer 2 (Activation)"]),
])
def test_compiled_obstacles_name_the_layer(layers, words):
    X, y = _problem(np.float32)
    model = Sequential(layers(), seed=0)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError) as info:
        model.fit(X, y, epochs=1, verbose=0, engine="compiled")
    for word in words:
        assert word in str(info.value)
    # auto falls back to the layer path and trains there
    before = model.get_weights()
    history = model.fit(X, y, epochs=1, verbose=0)
    assert history.engine == "python"
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_pickle_and_copy_keep_the_statistics():
    import copy
    import pickle

    X, y = _problem(np.float32)
    model = _model()
    model.compile("adam", "binary_crossentropy")
    model.fit(X, y, epochs=1, batch_size=32, verbose=0, seed=0)
    for again in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(again.predict(X), model.predict(X))
        again.fit(X, y, epochs=1, batch_size=32, verbose=0, seed=1)
        assert not np.array_equal(again.layers[2].moving_mean, model.layers[2].moving_mean)


def test_a_batch_of_one_example():
    # batch statistics of one example: the variance is 0, the output is beta
    layer = _built(BatchNormalization(), 3, np.float64)
    layer.beta[...] = [[1.0], [2.0], [3.0]]
    Y = layer.forward(np.array([[5.0], [-1.0], [0.5]]), training=True)
    np.testing.assert_array_equal(Y, layer.beta)
    dX = layer.backward(np.ones((3, 1)))
    np.testing.assert_array_equal(dX, np.zeros((3, 1)))


def test_activation_fused_output_gradient():
    layer = _built(Activation("sigmoid"), 2, np.float64)
    Z = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -2.0]])
    A = layer.forward(Z, training=True)
    Y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(layer.backward(Y, fused_output=True), A - Y, rtol=1e-15)
    w = np.array([0.5, 2.0, 1.0])
    np.testing.assert_allclose(layer.backward(Y, fused_output=True, sample_weight=w),
                               (A - Y) * w, rtol=1e-15)
    # unfused: the binary cross-entropy's dA through the sigmoid's derivative is A - Y too
    dA = -(Y / A - (1 - Y) / (1 - A))
    np.testing.assert_allclose(layer.backward(dA), A - Y, rtol=1e-12, atol=1e-15)
