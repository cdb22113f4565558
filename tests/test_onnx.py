"""ONNX export (fastdnn.onnx): onnxruntime computes what predict does, for every layer and
activation in both dtypes; the file, the arguments and the errors; onnx stays optional."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastdnn
from fastdnn import activations
from fastdnn.layers import (Activation, BatchNormalization, Dense, Dropout, Input, Layer,
                            LayerNormalization, Normalizer)
from fastdnn.onnx import DEFAULT_OPSET, MIN_OPSET, export

TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}
ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", {"name": "leaky_relu", "alpha": 0.3},
               {"name": "leaky_relu", "alpha": 0.0}, "linear", "softmax"]
DTYPES = [np.float32, np.float64]


@pytest.fixture(scope="module")
def onnx():
    return pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def ort():
    return pytest.importorskip("onnxruntime")


def session(ort, data):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def random_model(seed, output_activation, dtype):
    """1 to 3 Dense layers of random widths and hidden activations, a Normalizer (adapted)
    every other seed, Dropout here and there, random biases."""
    rng = np.random.default_rng(seed)
    n_features = int(rng.integers(1, 9))
    layers = [Input(n_features)]
    if seed % 2 == 0:
        norm = Normalizer()
        norm.adapt(rng.normal(2.0, 3.0, size=(50, n_features)))
        layers.append(norm)
    n_dense = int(rng.integers(1, 4))
    for i in range(n_dense):
        last = i == n_dense - 1
        act = output_activation if last else ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
        layers.append(Dense(int(rng.integers(1, 10)), activation=act,
                            bias_initializer="random_normal"))
        if not last and rng.random() < 0.5:
            layers.append(Dropout(0.3))
    model = fastdnn.Sequential(layers, dtype=dtype, seed=seed)
    model.build()
    return model, rng


def assert_runs_like_predict(ort, model, data, rng, dtype=None):
    dtype = model.dtype.type if dtype is None else dtype
    sess = session(ort, data)
    for m in (1, 37):     # one session, two batch sizes: the batch dimension is symbolic
        X = (rng.normal(2.0, 3.0, size=(m, model.n_features))).astype(dtype)
        expected = model.predict(X)
        got = sess.run(["Y"], {"X": X})[0]
        assert got.dtype == dtype and got.shape == expected.shape == (m, model.n_outputs)
        scale = max(1.0, float(np.max(np.abs(expected))))
        tol = TOL[dtype]
        np.testing.assert_allclose(got, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: str(a).replace(" ", ""))
@pytest.mark.parametrize("seed", [0, 1])
def test_onnxruntime_computes_what_predict_does(ort, seed, activation, dtype):
    model, rng = random_model(seed * 100 + ACTIVATIONS.index(activation), activation, dtype)
    assert_runs_like_predict(ort, model, export(model), rng)


@pytest.mark.parametrize("axis", [1, None])
def test_softmax_over_other_axes(ort, axis):
    model = fastdnn.Sequential([Input(3), Dense(4, activation=activations.Softmax(axis=axis))],
                               dtype="float64", seed=0)
    model.build()
    assert_runs_like_predict(ort, model, export(model), np.random.default_rng(0))


def test_the_graph(onnx):
    norm = Normalizer()
    norm.adapt(np.arange(12.0).reshape(4, 3))
    model = fastdnn.Sequential([Input(3), norm, Dense(5, activation="leaky_relu"),
                                Dropout(0.5), Dense(2, activation="linear")], seed=0)
    model.build()
    proto = onnx.load_from_string(export(model, fold_normalizer=False))
    onnx.checker.check_model(proto, full_check=True)
    graph = proto.graph
    assert [n.op_type for n in graph.node] == ["Sub", "Mul", "Gemm", "LeakyRelu", "Gemm"]
    assert graph.node[2].attribute[0].name == "transB" and graph.node[2].attribute[0].i == 1
    assert graph.node[3].attribute[0].f == pytest.approx(0.01)
    assert graph.node[-1].output[0] == "Y"
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    assert list(inits) == ["normalizer_0/mean", "normalizer_0/inv_std", "dense_0/W",
                           "dense_0/b", "dense_1/W", "dense_1/b"]
    np.testing.assert_array_equal(inits["dense_0/W"], model.layers[2].W)   # (n_out, n_in)
    np.testing.assert_array_equal(inits["dense_1/b"], model.layers[4].b.ravel())
    np.testing.assert_array_equal(inits["normalizer_0/inv_std"], norm._inv_std.ravel())
    assert all(a.dtype == np.float32 for a in inits.values())

    def dims(value_info):
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    assert [i.name for i in graph.input] == ["X"] and dims(graph.input[0]) == ["N", 3]
    assert [o.name for o in graph.output] == ["Y"] and dims(graph.output[0]) == ["N", 2]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", DEFAULT_OPSET)]
    assert proto.ir_version <= 8       # onnxruntime 1.16 reads IR versions up to 9
    assert proto.producer_name == "fastdnn"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_the_normalizer_is_folded_into_the_next_dense(onnx, ort, dtype):
    rng = np.random.default_rng(5)
    norm = Normalizer()
    norm.adapt(rng.normal(2.0, 3.0, size=(200, 4)))
    model = fastdnn.Sequential([Input(4), norm, Dropout(0.2), Dense(6, activation="tanh"),
                                Dense(2, activation="softmax")], dtype=dtype, seed=0)
    model.build()
    data = export(model)
    graph = onnx.load_from_string(data).graph
    assert [n.op_type for n in graph.node] == ["Gemm", "Tanh", "Gemm", "Softmax"]
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    dense = model.layers[3]
    W = dense.W.astype(np.float64) * norm._inv_std.ravel()
    np.testing.assert_allclose(inits["dense_0/W"], W, rtol=TOL[dtype]["rtol"])
    np.testing.assert_allclose(inits["dense_0/b"], dense.b.ravel() - W @ norm.mean.ravel(),
                               rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"])
    assert_runs_like_predict(ort, model, data, rng)
    assert fastdnn.load_onnx(data).layers[0].__class__ is Dense


def test_a_normalizer_far_from_zero_is_kept_unless_asked(onnx, ort):
    """Means of 1000 standard deviations: folded, float32 would round W x and W mean,
    each ~1000 times the result, so "auto" keeps Sub and Mul; True folds anyway."""
    rng = np.random.default_rng(6)
    norm = Normalizer()
    norm.adapt(rng.normal(1000.0, 1.0, size=(200, 3)))
    model = fastdnn.Sequential([Input(3), norm, Dense(2)], seed=0)
    model.build()

    def ops(**kwargs):
        return [n.op_type for n in onnx.load_from_string(export(model, **kwargs)).graph.node]
    assert ops() == ["Sub", "Mul", "Gemm"]
    assert ops(fold_normalizer=True) == ["Gemm"]
    assert ops(fold_normalizer=False) == ["Sub", "Mul", "Gemm"]
    X = rng.normal(1000.0, 1.0, size=(64, 3)).astype(np.float32)
    expected = model.predict(X)
    kept = session(ort, export(model)).run(["Y"], {"X": X})[0]
    folded = session(ort, export(model, fold_normalizer=True)).run(["Y"], {"X": X})[0]
    assert np.max(np.abs(kept - expected)) < np.max(np.abs(folded - expected))
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="fold_normalizer"):
            export(model, fold_normalizer=bad)


def test_leaky_relu_alpha_stays_exact_in_float64(onnx):
    def ops(alpha, dtype):
        model = fastdnn.Sequential([Input(2), Dense(2, activation={"name": "leaky_relu",
                                                                    "alpha": alpha})],
                                   dtype=dtype, seed=0)
        model.build()
        return [n.op_type for n in onnx.load_from_string(export(model)).graph.node]

    assert ops(0.01, "float32") == ["Gemm", "LeakyRelu"]
    assert ops(0.25, "float64") == ["Gemm", "LeakyRelu"]    # a float32 number: exact
    assert ops(0.01, "float64") == ["Gemm", "PRelu"]        # float64 slope initializer
    assert ops(0.0, "float64") == ["Gemm", "Relu"]


def test_shape_preserving_models(ort):
    norm = Normalizer()
    norm.adapt(np.array([[1.0, 2.0], [3.0, 8.0]]))
    for layers in ([Input(2), norm], [Input(2), Dropout(0.5)]):
        model = fastdnn.Sequential(layers, seed=0)
        model.build()
        assert_runs_like_predict(ort, model, export(model), np.random.default_rng(1))


def test_other_dtype_opset_and_fixed_batch(onnx, ort):
    model, rng = random_model(7, "softmax", np.float64)
    # a float64 model exported as float32: its predictions to float32 accuracy
    sess = session(ort, export(model, dtype="float32"))
    X = rng.normal(size=(5, model.n_features))
    np.testing.assert_allclose(sess.run(["Y"], {"X": X.astype(np.float32)})[0],
                               model.predict(X), rtol=1e-5, atol=1e-6)
    assert_runs_like_predict(ort, model, export(model, opset=MIN_OPSET), rng)
    newest = onnx.defs.onnx_opset_version()
    assert onnx.load_from_string(export(model, opset=newest)).opset_import[0].version == newest
    proto = onnx.load_from_string(export(model, batch_dim=5))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 5
    Y = session(ort, proto.SerializeToString()).run(["Y"], {"X": X})[0]
    assert Y.shape == (5, model.n_outputs)


def test_export_to_a_file(onnx, ort, tmp_path):
    model, rng = random_model(4, "sigmoid", np.float32)
    path = tmp_path / "model.onnx"
    assert export(model, path) is None
    assert path.read_bytes() == export(model)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert_runs_like_predict(ort, model, str(path), rng)
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    assert export(model, str(path)) is None          # replaced, permissions kept
    assert path.read_bytes() == export(model)
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]    # no temporary file left


def test_errors(onnx):
    model, _ = random_model(3, "relu", np.float32)
    with pytest.raises(ValueError, match="no weights yet"):
        export(fastdnn.Sequential([Dense(2)]))
    with pytest.raises(TypeError, match="Sequential"):
        export(model.layers[-1])
    with pytest.raises(ValueError, match="opset"):
        export(model, opset=MIN_OPSET - 1)
    with pytest.raises(ValueError, match="opset"):
        export(model, opset=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(TypeError, match="opset"):
        export(model, opset="17")
    for bad in ("", "two words", 0):
        with pytest.raises(ValueError, match="batch_dim"):
            export(model, batch_dim=bad)
    for bad in (None, 1.5, True):
        with pytest.raises(TypeError, match="batch_dim"):
            export(model, batch_dim=bad)
    with pytest.raises(TypeError, match="dtype"):
        export(model, dtype="int32")
    with pytest.raises(TypeError, match="path"):
        export(model, 3)
    with pytest.raises(TypeError):
        export(model, None, 17)         # the options are keyword-only


class BentIdentity(activations.Activation):
    name = "bent_identity"

    def forward(self, z, out=None):
        return np.multiply(z, fastdnn.sigmoid(z), out=out)


class SharperSigmoid(activations.Sigmoid):
    def forward(self, z, out=None):
        return fastdnn.sigmoid(2 * np.asarray(z), out)


class PlainReLU(activations.ReLU):
    """A subclass that keeps ReLU's forward pass: exported as Relu."""

    def backward(self, dA, a, out=None):
        return super().backward(dA, a, out)


class Doubler(Layer):
    def forward(self, A_prev, training=False):
        return 2 * A_prev


class OwnDense(Dense):
    def forward(self, A_prev, training=False):
        return super().forward(A_prev, training) + 1


def build(*layers):
    model = fastdnn.Sequential([Input(3), *layers], seed=0)
    model.build()
    return model


def test_what_has_no_onnx_equivalent_is_named(onnx, monkeypatch):
    monkeypatch.setitem(activations._REGISTRY, "bent_identity", BentIdentity)    # registered by name
    with pytest.raises(TypeError, match=r"layer 'hidden'.*BentIdentity \('bent_identity'\).*no ONNX"):
        export(build(Dense(2, activation=BentIdentity(), kernel_initializer="glorot_uniform",
                           name="hidden")))
    with pytest.raises(TypeError, match=r"Dense layer \(dense_1\).*BentIdentity"):
        export(build(Dense(4, activation="relu"), Dense(2, activation="bent_identity",
                                                           kernel_initializer="zeros")))
    with pytest.raises(TypeError, match="SharperSigmoid overrides Sigmoid.forward"):
        export(build(Dense(2, activation=SharperSigmoid())))
    ops = [n.op_type for n in onnx.load_from_string(
        export(build(Dense(2, activation=PlainReLU())))).graph.node]
    assert ops == ["Gemm", "Relu"]
    with pytest.raises(TypeError, match="Doubler"):
        export(build(Doubler()))
    with pytest.raises(TypeError, match="OwnDense overrides Dense.forward"):
        export(build(OwnDense(2)))


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_fastdnn_does_not_import_onnx():
    code = ("import sys, fastdnn, fastdnn.onnx\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('onnx', 'onnxruntime')))")
    assert _run(code) == "[]"


def test_missing_onnx_raises_an_import_error_naming_the_extra():
    code = ("import sys; sys.modules['onnx'] = None\n"
            "import fastdnn, fastdnn.onnx\n"
            "from fastdnn.layers import Dense\n"
            "model = fastdnn.Sequential([Dense(1)], seed=0); model.build(2)\n"
            "try:\n"
            "    fastdnn.onnx.export(model)\n"
            "except ImportError as exc:\n"
            "    print(type(exc).__name__, \"pip install 'fastdnn[onnx]'\" in str(exc))\n")
    assert _run(code) == "ImportError True"


# ------------------------------------------------------------------ the method and the reverse

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("normalize", [False, True])
def test_export_onnx_method_and_load_onnx_round_trip(dtype, normalize, tmp_path):
    pytest.importorskip("onnx")
    rng = np.random.default_rng(4)
    X = rng.normal(3.0, 2.0, size=(37, 6))
    layers = []
    if normalize:
        norm = Normalizer()
        norm.adapt(X)
        layers.append(norm)
    layers += [Dense(7, activation="tanh"), Dense(5, activation="leaky_relu"),
               Dense(4, activation="relu"), Dense(3, activation="softmax")]
    model = fastdnn.Sequential(layers, dtype=dtype, seed=2)
    model.build(6)
    path = tmp_path / "model.onnx"
    assert model.export_onnx(path) is None
    assert path.read_bytes() == model.export_onnx()
    again = fastdnn.load_onnx(path)
    assert again.dtype == model.dtype and again.n_features == 6
    assert [type(l).__name__ for l in again.layers] == ["Dense"] * 4   # Normalizer folded
    kept = fastdnn.load_onnx(model.export_onnx(fold_normalizer=False))
    assert [type(l).__name__ for l in kept.layers] == [type(l).__name__ for l in model.layers]
    np.testing.assert_allclose(kept.predict(X), model.predict(X),
                               rtol=1e-5 if dtype == "float32" else 1e-12)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(again.predict(X), model.predict(X), rtol=rtol, atol=rtol)
    # exported again, the graph is the same
    assert fastdnn.load_onnx(again.export_onnx()).get_weights()[-1].tolist() == \
        again.get_weights()[-1].tolist()


def test_load_onnx_refuses_other_graphs():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    W = numpy_helper.from_array(np.ones((3, 2), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 2])], [W])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="MatMul"):
        fastdnn.load_onnx(proto.SerializeToString())
    with pytest.raises(TypeError, match="source"):
        fastdnn.load_onnx(3.5)
    assert isinstance(onnx.load_from_string(proto.SerializeToString()), onnx.ModelProto)


# ------------------------------------------------------------------ newer activations, norms

NEWER = ["elu", {"name": "elu", "alpha": 0.3}, "selu", "gelu", "gelu_tanh", "silu", "swish",
         "softplus", "softsign", "hard_sigmoid", "mish"]


def reference_evaluator(proto):
    """onnx's reference evaluator, its Erf in float64 (its own rounds erf to float32)."""
    import math

    from onnx.reference import ReferenceEvaluator
    from onnx.reference.ops._op import OpRunUnaryNum

    class Erf(OpRunUnaryNum):
        def _run(self, x):
            return (np.vectorize(math.erf, otypes=[x.dtype])(x),)

    return ReferenceEvaluator(proto, new_ops=[Erf])


def run_graph(ort, onnx, data, X):
    """The graph's Y for X: onnxruntime, or for a float64 graph computing erf (onnxruntime
    has no float64 Erf) onnx's reference evaluator."""
    proto = onnx.load_from_string(data)
    if X.dtype == np.float64 and "Erf" in {n.op_type for n in proto.graph.node}:
        return reference_evaluator(proto).run(["Y"], {"X": X})[0]
    return session(ort, data).run(["Y"], {"X": X})[0]


def assert_graph_computes_predict(ort, onnx, model, data, rng):
    X = rng.normal(0.0, 3.0, size=(37, model.n_features)).astype(model.dtype)
    expected = model.predict(X)
    got = run_graph(ort, onnx, data, X)
    assert got.dtype == model.dtype and got.shape == expected.shape
    tol = TOL[model.dtype.type]
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)


def trained_statistics(layer, rng):
    """Moving statistics, gamma and beta far from their initial 0 and 1."""
    n = layer.moving_mean.shape[0]
    layer.moving_mean[:] = rng.normal(0.0, 2.0, size=(n, 1))
    layer.moving_variance[:] = rng.uniform(0.2, 3.0, size=(n, 1))
    layer.gamma[:] = rng.normal(1.0, 0.5, size=(n, 1))
    layer.beta[:] = rng.normal(0.0, 0.5, size=(n, 1))


def activation_model(activation, dtype, seed=0):
    """The activation in a Dense and as an Activation layer after a LayerNormalization."""
    model = fastdnn.Sequential([
        Input(4), Dense(6, activation=activation, bias_initializer="random_normal"),
        LayerNormalization(), Activation(activation), Dense(3)], dtype=dtype, seed=seed)
    model.build()
    return model


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("opset", [MIN_OPSET, 16, DEFAULT_OPSET, 18, 20])
@pytest.mark.parametrize("activation", NEWER, ids=lambda a: str(a).replace(" ", ""))
def test_newer_activations_compute_what_predict_does(onnx, ort, activation, opset, dtype):
    model = activation_model(activation, dtype)
    data = export(model, opset=opset)
    rng = np.random.default_rng(opset)
    assert_graph_computes_predict(ort, onnx, model, data, rng)
    again = fastdnn.load_onnx(data)
    assert [type(l).__name__ for l in again.layers] == \
        ["Dense", "LayerNormalization", "Activation", "Dense"]
    assert again.layers[0].activation.name == model.layers[1].activation.name
    assert again.layers[2].activation.name == model.layers[3].activation.name
    X = rng.normal(0.0, 3.0, size=(20, 4)).astype(dtype)
    np.testing.assert_allclose(again.predict(X), model.predict(X), **TOL[np.dtype(dtype).type])


def ops_of(onnx, data):
    return [n.op_type for n in onnx.load_from_string(data).graph.node]


def attributes(onnx, data, op):
    node = next(n for n in onnx.load_from_string(data).graph.node if n.op_type == op)
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


@pytest.mark.parametrize("activation, opset, float32_ops, float64_ops", [
    ({"name": "elu", "alpha": 0.3}, 17, ["Elu"], ["Exp", "Sub", "Mul", "Greater", "Where"]),
    ("selu", 17, ["Selu"], ["Exp", "Sub", "Mul", "Mul", "Greater", "Where"]),
    ("gelu", 20, ["Gelu"], ["Div", "Erf", "Add", "Mul", "Mul"]),
    ("gelu", 17, ["Div", "Erf", "Add", "Mul", "Mul"], ["Div", "Erf", "Add", "Mul", "Mul"]),
    ("gelu_tanh", 20, ["Gelu"], ["Pow", "Mul", "Add", "Mul", "Tanh", "Add", "Mul", "Mul"]),
    ("gelu_tanh", 17, ["Pow", "Mul", "Add", "Mul", "Tanh", "Add", "Mul", "Mul"],
     ["Pow", "Mul", "Add", "Mul", "Tanh", "Add", "Mul", "Mul"]),
    ("silu", 17, ["Sigmoid", "Mul"], ["Sigmoid", "Mul"]),
    ("softplus", 17, ["Softplus"], ["Abs", "Neg", "Exp", "Add", "Log", "Relu", "Add"]),
    ("softsign", 17, ["Softsign"], ["Abs", "Add", "Div"]),
    ("hard_sigmoid", 17, ["HardSigmoid"], ["Add", "Clip", "Div"]),
    ("mish", 18, ["Mish"], ["Abs", "Neg", "Exp", "Add", "Log", "Relu", "Add", "Tanh", "Mul"]),
    ("mish", 13, ["Softplus", "Tanh", "Mul"],
     ["Abs", "Neg", "Exp", "Add", "Log", "Relu", "Add", "Tanh", "Mul"]),
])
def test_the_nodes_of_each_activation(onnx, activation, opset, float32_ops, float64_ops):
    for dtype, ops in (("float32", float32_ops), ("float64", float64_ops)):
        model = fastdnn.Sequential([Input(2), Dense(2, activation=activation)], dtype=dtype,
                                   seed=0)
        model.build()
        assert ops_of(onnx, export(model, opset=opset)) == ["Gemm"] + ops, dtype


def test_the_float32_attributes_are_fastdnn_s_constants(onnx):
    def data(activation, opset=DEFAULT_OPSET):
        model = fastdnn.Sequential([Input(2), Dense(2, activation=activation)], seed=0)
        model.build()
        return export(model, opset=opset)

    assert attributes(onnx, data({"name": "elu", "alpha": 0.3}), "Elu")["alpha"] == \
        pytest.approx(0.3, rel=1e-7)
    selu = attributes(onnx, data("selu"), "Selu")
    assert selu["alpha"] == pytest.approx(1.6732632423543772, rel=1e-7)
    assert selu["gamma"] == pytest.approx(1.0507009873554805, rel=1e-7)
    hard = attributes(onnx, data("hard_sigmoid"), "HardSigmoid")
    assert hard["alpha"] == pytest.approx(1 / 6, rel=1e-7) and hard["beta"] == 0.5
    assert attributes(onnx, data("gelu", 20), "Gelu")["approximate"] == b"none"
    assert attributes(onnx, data("gelu_tanh", 20), "Gelu")["approximate"] == b"tanh"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("opset", [MIN_OPSET, DEFAULT_OPSET, 18])
@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False)])
def test_batch_normalization(onnx, ort, dtype, opset, center, scale):
    """After a linear Dense and before its Activation, or after a Dense's activation; the
    moving statistics far from 0 and 1, epsilon large enough to matter."""
    rng = np.random.default_rng(3)
    model = fastdnn.Sequential([
        Input(5), Dense(7, bias_initializer="random_normal"),
        BatchNormalization(epsilon=0.3, center=center, scale=scale), Activation("relu"),
        Dense(4, activation="tanh"), BatchNormalization(), Dense(2)], dtype=dtype, seed=1)
    model.build()
    for layer in (model.layers[2], model.layers[5]):
        trained_statistics(layer, rng)
    data = export(model, opset=opset)
    assert ops_of(onnx, data) == ["Gemm", "BatchNormalization", "Relu", "Gemm", "Tanh",
                                  "BatchNormalization", "Gemm"]
    assert_graph_computes_predict(ort, onnx, model, data, rng)
    again = fastdnn.load_onnx(data)
    assert [type(l).__name__ for l in again.layers] == [
        "Dense", "BatchNormalization", "Activation", "Dense", "BatchNormalization", "Dense"]
    X = rng.normal(0.0, 3.0, size=(20, 5)).astype(dtype)
    np.testing.assert_allclose(again.predict(X), model.predict(X), **TOL[np.dtype(dtype).type])


def test_batch_normalization_after_fit(onnx, ort):
    rng = np.random.default_rng(8)
    X = rng.normal(4.0, 2.0, size=(200, 3))
    Y = (X[:, :1] > 4.0).astype(float)
    model = fastdnn.Sequential([Input(3), Dense(5), BatchNormalization(momentum=0.5),
                                Activation("gelu"), Dense(1, activation="sigmoid")],
                               dtype="float64", seed=0)
    model.compile(loss="binary_crossentropy", optimizer="adam")
    model.fit(X, Y, epochs=3, batch_size=32, verbose=0)
    bn = model.layers[2]
    assert np.all(np.abs(bn.moving_mean) > 1e-3)
    assert_graph_computes_predict(ort, onnx, model, export(model), rng)


def test_the_batch_normalization_node(onnx):
    rng = np.random.default_rng(4)
    for dtype, epsilon in (("float32", 1e-3), ("float64", 2.0 ** -10), ("float64", 1e-3)):
        model = fastdnn.Sequential([Input(3), BatchNormalization(epsilon=epsilon)],
                                   dtype=dtype, seed=0)
        model.build()
        bn = model.layers[1]
        trained_statistics(bn, rng)
        proto = onnx.load_from_string(export(model))
        inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
        assert list(inits) == ["batch_normalization_0/gamma", "batch_normalization_0/beta",
                               "batch_normalization_0/moving_mean",
                               "batch_normalization_0/moving_variance"]
        eps32 = float(np.float32(epsilon))
        assert attributes(onnx, proto.SerializeToString(), "BatchNormalization") == \
            {"epsilon": pytest.approx(eps32, rel=1e-12)}
        np.testing.assert_array_equal(inits["batch_normalization_0/moving_mean"],
                                      bn.moving_mean.ravel())
        # float64: variance + epsilon as the model adds them, with the attribute's float32
        np.testing.assert_allclose(inits["batch_normalization_0/moving_variance"] + eps32,
                                   bn.moving_variance.ravel() + epsilon, rtol=1e-15)
        again = fastdnn.load_onnx(proto)
        assert again.layers[0].epsilon == eps32


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("opset", [MIN_OPSET, 16, DEFAULT_OPSET, 18])
@pytest.mark.parametrize("epsilon", [1e-3, 0.25])
def test_layer_normalization(onnx, ort, dtype, opset, epsilon):
    """Features far apart in scale and a large epsilon: a wrong epsilon or axis shows."""
    rng = np.random.default_rng(5)
    model = fastdnn.Sequential([Input(6), Dense(5, activation="relu"),
                                LayerNormalization(epsilon=epsilon), Dense(2)],
                               dtype=dtype, seed=0)
    model.build()
    ln = model.layers[2]
    ln.gamma[:] = rng.normal(1.0, 0.5, size=(5, 1))
    ln.beta[:] = rng.normal(0.0, 0.5, size=(5, 1))
    data = export(model, opset=opset)
    node = opset >= 17 and (dtype == np.float32 or epsilon == 0.25)
    ops = ops_of(onnx, data)
    assert ("LayerNormalization" in ops) == node
    assert_graph_computes_predict(ort, onnx, model, data, rng)
    again = fastdnn.load_onnx(data)
    assert [type(l).__name__ for l in again.layers] == ["Dense", "LayerNormalization", "Dense"]
    assert again.layers[1].epsilon == pytest.approx(epsilon, rel=1e-7)
    X = rng.normal(0.0, 3.0, size=(20, 6)).astype(dtype)
    np.testing.assert_allclose(again.predict(X), model.predict(X), **TOL[np.dtype(dtype).type])


def test_a_wrong_mapping_would_show(onnx, ort):
    """The tolerance of these tests sees a float32 epsilon or SELU constant in float64, and
    a LayerNormalization's epsilon off by a small factor in float32."""
    rng = np.random.default_rng(6)
    model = fastdnn.Sequential([Input(4), Dense(5), LayerNormalization(epsilon=0.5)],
                               dtype="float32", seed=0)
    model.build()
    data = export(model)
    proto = onnx.load_from_string(data)
    node = next(n for n in proto.graph.node if n.op_type == "LayerNormalization")
    node.attribute[1].f = 0.5 * 1.01
    with pytest.raises(AssertionError):
        assert_graph_computes_predict(ort, onnx, model, proto.SerializeToString(), rng)
    selu = fastdnn.Sequential([Input(2), Dense(3, activation="selu")], dtype="float64", seed=0)
    selu.build()
    g = onnx.load_from_string(export(selu, dtype="float32"))    # float32 attributes
    g.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    g.graph.output[0].type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    for t in g.graph.initializer:
        t.CopyFrom(onnx.numpy_helper.from_array(
            onnx.numpy_helper.to_array(t).astype(np.float64), t.name))
    from onnx.reference import ReferenceEvaluator
    X = rng.normal(size=(30, 2))
    got = ReferenceEvaluator(g).run(["Y"], {"X": X})[0]
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(got, selu.predict(X), **TOL[np.float64])


def test_load_onnx_refuses_activations_that_are_not_fastdnn_s(onnx):
    from onnx import TensorProto, helper, numpy_helper
    W = numpy_helper.from_array(np.ones((2, 2), np.float32), "W")
    for node in (helper.make_node("Selu", ["Z"], ["Y"], alpha=1.5),
                 helper.make_node("HardSigmoid", ["Z"], ["Y"]),     # alpha 0.2 by default
                 helper.make_node("Gelu", ["Z"], ["Y"], approximate="fast")):
        graph = helper.make_graph(
            [helper.make_node("Gemm", ["X", "W"], ["Z"], transB=1), node], "g",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 2])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 2])], [W])
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        with pytest.raises(ValueError, match=node.op_type):
            fastdnn.load_onnx(proto)
