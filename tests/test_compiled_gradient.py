"""L-BFGS's evaluations in the compiled loop (``Plan.gradient``) against the layer path."""
import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")

from fastdnn._kernels import _network  # noqa: E402
from fastdnn.sklearn import MLPClassifier, MLPRegressor, _lbfgs  # noqa: E402
from fastdnn.sklearn._compiled import CompiledGradient  # noqa: E402
from fastdnn.sklearn._losses import binary_log_loss, log_loss, squared_error  # noqa: E402
from fastdnn.sklearn._network import Network  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_blas_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

RTOL = {np.float32: 1e-4, np.float64: 1e-11}
# output: (outputs, scikit-learn loss)
OUTPUTS = {"identity": (3, squared_error), "logistic": (1, binary_log_loss),
           "softmax": (4, log_loss)}


def _problem(out, dtype, m=700, n=12, weighted=False, seed=0):
    rng = np.random.default_rng(seed)
    n_out, loss = OUTPUTS[out]
    X = rng.normal(size=(m, n)).astype(dtype)
    if out == "identity":
        Y = rng.normal(size=(m, n_out))
    elif out == "logistic":
        Y = (rng.random((m, 1)) < 0.4).astype(float)
    else:
        Y = np.eye(n_out)[rng.integers(0, n_out, size=m)]
    w = rng.uniform(0.2, 3.0, size=m).astype(dtype) if weighted else None
    return X, Y.astype(dtype), w, loss


def _net(out, dtype, hidden=(24, 16)):
    net = Network([12, *hidden, OUTPUTS[out][0]], "tanh", out, dtype)
    net.flat[:] = np.random.default_rng(1).normal(size=net.size) * 0.3
    return net


@pytest.mark.parametrize("split", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("out", list(OUTPUTS))
def test_compiled_gradient_is_the_layer_paths(out, dtype, weighted, split):
    X, Y, w, loss = _problem(out, dtype, weighted=weighted)
    net = _net(out, dtype)
    total = float(X.shape[0] if w is None else w.sum())
    expected = net.loss_grad(X, Y, w, total, 0.0, loss)
    expected_grad = net.grad.copy()
    before = net.flat.copy()
    compiled = CompiledGradient(net, X, Y, w)
    limit = _network.column_step_limit(None if split else 0)
    try:
        value = compiled(total)
    finally:
        _network.column_step_limit(limit)
    assert (compiled.plan.steps_split_by_columns > 0) == split
    np.testing.assert_array_equal(net.flat, before)          # nothing updated
    assert value == pytest.approx(expected, rel=RTOL[dtype])
    scale = np.abs(expected_grad).max()
    np.testing.assert_allclose(compiled.grad, expected_grad, rtol=RTOL[dtype],
                               atol=RTOL[dtype] * scale)


def test_an_evaluation_follows_the_buffer_and_repeats_exactly():
    X, Y, _, loss = _problem("softmax", np.float64)
    net = _net("softmax", np.float64)
    compiled = CompiledGradient(net, X, Y, None)
    first, grad = compiled(700.0), compiled.grad.copy()
    assert compiled(700.0) == first
    np.testing.assert_array_equal(compiled.grad, grad)
    net.flat *= 0.5                                  # a new iterate, in place
    assert compiled(700.0) == pytest.approx(net.loss_grad(X, Y, None, 700, 0.0, loss),
                                            rel=1e-12)


def test_plan_gradient_checks_the_batch_size():
    X, Y, _, _ = _problem("identity", np.float64, m=50)
    compiled = CompiledGradient(_net("identity", np.float64), X, Y, None)
    for m in (0, 51):
        with pytest.raises(ValueError, match="m must be in"):
            compiled.plan.gradient(X, Y, m)


def _fit(est, X, y, compiled, monkeypatch):
    if not compiled:
        monkeypatch.setattr(_lbfgs, "_compiled_gradient", lambda *args: (None, "forced"))
    est.fit(X, y)
    monkeypatch.undo()
    return est


@pytest.mark.parametrize("make", [
    lambda: MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=15, alpha=1e-3,
                         random_state=0),
    lambda: MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=15, alpha=1e-2,
                          random_state=0),
])
def test_lbfgs_fits_as_on_the_layer_path(make, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = X[:, :2] @ [1.0, -2.0] + 0.1 * rng.normal(size=400)
    if isinstance(make(), MLPClassifier):
        y = np.digitize(y, [-1.0, 1.0])               # three classes
    else:
        y = np.c_[y, -y]                              # two outputs
    compiled = _fit(make(), X, y, True, monkeypatch)
    layers = _fit(make(), X, y, False, monkeypatch)
    assert compiled._training_engine == "compiled"
    assert layers._training_engine == "python (forced)"
    assert compiled.n_iter_ == layers.n_iter_
    for a, b in zip(compiled.coefs_ + compiled.intercepts_, layers.coefs_ + layers.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(compiled.loss_, layers.loss_, rtol=1e-9)


def test_lbfgs_on_sparse_x_takes_the_layer_path():
    rng = np.random.default_rng(0)
    X = sp.random(200, 30, density=0.1, random_state=0, format="csr")
    est = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5)
    est.fit(X, rng.normal(size=200))
    assert est._training_engine == "python (X is sparse)"
