"""The scikit-learn estimators exported to ONNX: onnxruntime predicts what they predict."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fastdnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def run(data, X):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    sess = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"X": X})))


def data(seed=0, m=120, n=5):
    rng = np.random.default_rng(seed)
    return rng.normal(3.0, 2.0, size=(m, n)), rng


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("target", ["multiclass", "binary", "strings", "multilabel"])
def test_classifier(target, normalize, dtype):
    X, rng = data()
    if target == "multiclass":
        y = (X[:, 0] > 3).astype(int) + (X[:, 1] > 4) + 2 * (X[:, 2] > 5)
    elif target == "binary":
        y = np.where(X[:, 0] + X[:, 1] > 6, 7, -2)
    elif target == "strings":
        y = np.array(["cat", "dog", "emu"])[(X[:, 0] > 3).astype(int) + (X[:, 1] > 4)]
    else:
        y = np.stack([X[:, 0] > 3, X[:, 1] > 2, X[:, 2] + X[:, 3] > 6], axis=1).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(8, 6), activation="tanh", max_iter=60,
                        random_state=0, normalize=normalize, dtype=dtype)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    Xt = X.astype(dtype)
    out = run(clf.export_onnx(), Xt)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(Xt), rtol=TOL[dtype],
                               atol=TOL[dtype])
    expected = clf.predict(Xt)
    assert out["label"].shape == expected.shape
    assert out["label"].tolist() == expected.tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", ["one output", "two outputs", "poisson", "normalized relu"])
def test_regressor(case, dtype, tmp_path):
    X, rng = data(1)
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(len(X))
    kwargs = {}
    if case == "two outputs":
        y = np.stack([y, X[:, 2] * X[:, 3]], axis=1)
    elif case == "poisson":
        y, kwargs = rng.poisson(np.exp(0.2 * X[:, 0])).astype(float), {"loss": "poisson"}
    elif case == "normalized relu":
        kwargs = {"normalize": True, "activation": "relu"}
    reg = MLPRegressor(hidden_layer_sizes=(7,), activation=kwargs.pop("activation", "tanh"),
                       solver="lbfgs", max_iter=50, random_state=0, dtype=dtype, **kwargs)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    path = tmp_path / "reg.onnx"
    assert reg.export_onnx(path) is None
    Xt = X.astype(dtype)
    got = run(path.read_bytes(), Xt)["variable"]
    expected = reg.predict(Xt)
    assert got.shape == (len(X), 1 if expected.ndim == 1 else expected.shape[1])
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=TOL[dtype],
                               atol=TOL[dtype] * max(1.0, float(np.abs(expected).max())))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_errors():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPRegressor().export_onnx()
    X, _ = data()
    reg = MLPRegressor(hidden_layer_sizes=(2,), solver="lbfgs", max_iter=5).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="fold_normalizer"):
        reg.export_onnx(fold_normalizer="sometimes")
    with pytest.raises(TypeError, match="path"):
        reg.export_onnx(3)
