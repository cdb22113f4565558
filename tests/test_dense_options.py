"""Dense(use_bias=False), Dense(input_shape=/input_dim=) and model(X): the layer path, the
compiled loop, predict, save/load, ONNX and the summary agree with a layer without b, and
with PyTorch's nn.Linear(bias=False)."""
import numpy as np
import pytest

import fastdnn
from fastdnn import Sequential, reference
from fastdnn.layers import Dense, Dropout, Input

ACTS = {"relu": reference.relu, "tanh": reference.tanh, "sigmoid": reference.sigmoid,
        "linear": lambda z: z}


def data(m=120, n=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = (X[:, 0] - X[:, 1] + 0.3 * X[:, 2] > 0).astype(np.float64)
    return X, y


def model_without_bias(dtype="float64", widths=(7, 5), seed=0, n=6):
    layers = [Dense(widths[0], "relu", use_bias=False, input_shape=(n,)),
              Dense(widths[1], "tanh"), Dense(1, "sigmoid", use_bias=False)]
    return Sequential(layers, dtype=dtype, seed=seed)


def test_no_b_anywhere():
    model = model_without_bias()
    model.build()
    first, hidden, last = model.layers
    assert first.b is None and first.db is None and last.b is None
    assert [w.shape for w in model.get_weights()] == [(7, 6), (5, 7), (5, 1), (1, 5)]
    assert first.params == [first.W] and first.grads == [first.dW]
    assert len(first.decays(10)) == 1 and len(hidden.decays(10)) == 2
    assert model.count_params() == 7 * 6 + 5 * 7 + 5 + 5
    assert Dense(3, use_bias=False).get_config()["use_bias"] is False


def test_count_and_summary_before_and_after_build():
    model = model_without_bias()
    unbuilt = model.count_params()
    lines = []
    model.summary(print_fn=lines.append)
    model.build()
    assert unbuilt == model.count_params() == 87
    assert lines[-1] == "Total params: 87"
    assert any(line.split()[-1] == "42" for line in lines)   # 7 * 6, no bias


def test_forward_is_g_of_W_X():
    X, _ = data()
    model = model_without_bias()
    model.build()
    A = X.T
    for layer in model.layers:
        Z = layer.W @ A + (0 if layer.b is None else layer.b)
        A = ACTS[layer.activation.name](Z)
    np.testing.assert_allclose(model.predict(X), A.T, rtol=1e-12, atol=1e-14)
    # the layer path's forward (no compiled plan) gives the same
    A2 = X.T.copy(order="F")
    for layer in model.layers:
        A2 = layer.forward(A2)
    np.testing.assert_allclose(A2.T, A.T, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("widths,batch", [((7, 5), 16), ((300, 200), 96)])
def test_compiled_loop_equals_layer_path(optimizer, widths, batch):
    # the wide case runs the packed products (fused epilogues) with no bias
    X, y = data(m=250, n=40 if widths[0] > 100 else 6)
    weights = []
    for engine in ("python", "compiled"):
        model = model_without_bias(widths=widths, n=X.shape[1])
        model.compile(optimizer, "binary_crossentropy", metrics=["accuracy"])
        history = model.fit(X, y, epochs=3, batch_size=batch, verbose=0, seed=1, engine=engine)
        assert history.engine == engine
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert len(weights[0]) == 4


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_one_step_matches_pytorch(engine):
    torch = pytest.importorskip("torch")
    X, y = data(m=32)
    model = model_without_bias()
    model.compile(fastdnn.optimizers.GD(learning_rate=0.5), "binary_crossentropy")
    model.build()
    start = model.get_weights()
    model.fit(X, y, epochs=1, batch_size=32, shuffle=False, verbose=0, engine=engine)

    l1 = torch.nn.Linear(6, 7, bias=False, dtype=torch.float64)
    l2 = torch.nn.Linear(7, 5, dtype=torch.float64)
    l3 = torch.nn.Linear(5, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        l1.weight.copy_(torch.from_numpy(start[0]))
        l2.weight.copy_(torch.from_numpy(start[1]))
        l2.bias.copy_(torch.from_numpy(start[2].ravel()))
        l3.weight.copy_(torch.from_numpy(start[3]))
    net = torch.nn.Sequential(l1, torch.nn.ReLU(), l2, torch.nn.Tanh(), l3, torch.nn.Sigmoid())
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    loss = torch.nn.functional.binary_cross_entropy(net(torch.from_numpy(X)),
                                                    torch.from_numpy(y).reshape(-1, 1))
    loss.backward()
    opt.step()
    expected = [l1.weight, l2.weight, l2.bias.reshape(-1, 1), l3.weight]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_save_load_same_predictions(tmp_path):
    X, y = data()
    model = model_without_bias(dtype="float32")
    model.compile("adam", "binary_crossentropy")
    model.fit(X, y, epochs=2, verbose=0, seed=0)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = fastdnn.load_model(path)
    assert [l.use_bias for l in loaded.layers] == [False, True, False]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # training goes on from the loaded optimizer state in both models alike
    model.fit(X, y, epochs=1, verbose=0, seed=3)
    loaded.fit(X, y, epochs=1, verbose=0, seed=3)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-5, atol=1e-6)


def test_onnx_gemm_without_c():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from fastdnn.onnx import load_onnx
    X, _ = data()
    model = model_without_bias()
    model.build()
    proto = onnx.load_from_string(model.export_onnx())
    gemms = [node for node in proto.graph.node if node.op_type == "Gemm"]
    assert [len(node.input) for node in gemms] == [2, 3, 2]
    assert not any(init.name.endswith("/b") and init.name.startswith("dense_0")
                   for init in proto.graph.initializer)
    session = ort.InferenceSession(model.export_onnx(), providers=["CPUExecutionProvider"])
    out = session.run(["Y"], {"X": X})[0]
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-12, atol=1e-13)
    back = load_onnx(model.export_onnx())
    assert [l.use_bias for l in back.layers] == [False, True, False]
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_input_shape_and_input_dim_declare_the_features():
    for first in (Dense(3, input_shape=(4,)), Dense(3, input_dim=4),
                  Dense(3, input_shape=[4], input_dim=4)):
        model = Sequential([first, Dense(1)], seed=0)
        assert model.n_features == 4
        assert model.count_params() == 3 * 5 + 4
        model.build()
        assert model.layers[0].W.shape == (3, 4)
    same = Sequential([Input(4), Dense(3), Dense(1)], seed=0)
    same.build()
    model = Sequential([Dense(3, input_shape=(4,)), Dense(1)], seed=0)
    model.build()
    for a, b in zip(model.get_weights(), same.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert Sequential([Input(4), Dense(3, input_dim=4)]).n_features == 4
    with pytest.raises(ValueError, match="the model expects 4"):
        model.predict(np.zeros((2, 5)))
    config = Sequential.from_config(model.get_config())
    assert config.n_features == 4


@pytest.mark.parametrize("kwargs,error,match", [
    ({"input_shape": (4, 2)}, ValueError, "input_shape must be a tuple"),
    ({"input_shape": 4}, ValueError, "input_shape must be a tuple"),
    ({"input_shape": (0,)}, ValueError, "input_shape"),
    ({"input_shape": ("4",)}, TypeError, "input_shape"),
    ({"input_shape": (4,), "input_dim": 5}, ValueError, "disagree"),
    ({"use_bias": "no"}, TypeError, "use_bias must be a bool"),
])
def test_bad_dense_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        Dense(3, **kwargs)


def test_input_dim_against_input_layer():
    with pytest.raises(ValueError, match="input_dim=5"):
        Sequential([Input(4), Dense(3, input_dim=5)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_call_is_predict(dtype):
    X, _ = data()
    model = Sequential([Dense(4, "relu", input_dim=6), Dropout(0.5), Dense(2, "softmax")],
                       dtype=dtype, seed=0)
    model.build()
    out = model(X)
    assert isinstance(out, np.ndarray) and out.dtype == dtype and out.shape == (120, 2)
    np.testing.assert_array_equal(out, model.predict(X))
    np.testing.assert_array_equal(model(X[:1]), model.predict(X[:1]))
    before = model.get_weights()
    dropped = model(X, training=True)     # dropout active: not the inference outputs
    assert dropped.shape == out.shape and not np.allclose(dropped, out)
    np.testing.assert_allclose(dropped.sum(axis=1), 1.0, rtol=1e-5)
    again = model(X, training=True)
    assert again is not dropped and not np.shares_memory(again, dropped)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="training must be a bool"):
        model(X, training="yes")


def test_call_training_without_dropout_is_predict():
    X, _ = data()
    model = model_without_bias()
    model.build()
    np.testing.assert_allclose(model(X, training=True), model.predict(X), rtol=1e-12)


def test_call_unbuilt():
    with pytest.raises(RuntimeError, match="call fit"):
        Sequential([Dense(1)])(np.zeros((1, 2)))


def test_no_bias_with_normalizer_l2_and_weights_both_engines():
    from fastdnn.layers import Normalizer
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = rng.integers(0, 3, 200)
    w = rng.uniform(0, 2, 200)
    runs = []
    for engine in ("python", "compiled"):
        norm = Normalizer()
        norm.adapt(X)
        model = Sequential([norm, Dense(16, "relu", use_bias=False, kernel_regularizer=0.1),
                            Dense(3, "softmax", use_bias=False, kernel_regularizer=0.2)],
                           seed=0, dtype="float64")
        model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(X, y, epochs=3, batch_size=17, verbose=0, seed=0, engine=engine,
                            sample_weight=w)
        assert history.engine == engine
        runs.append((model.get_weights(), history.history))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for key in runs[0][1]:
        np.testing.assert_allclose(runs[0][1][key], runs[1][1][key], rtol=1e-12)
