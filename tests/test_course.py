"""Tests of the drop-in course API ``fastdnn.course`` against the classic NumPy
course functions in ``numpy_course.py`` (the oracle, next to this file).

Both are fed the same parameters; forward results must agree to rtol 1e-12,
gradients to rtol 1e-10 (their only differences are the order of sums and the
fused output ``dZ = AL - Y`` instead of ``dAL * s (1 - s)``).

Every warning is an error in this module: the library promises to emit none.
"""
from __future__ import annotations

import numpy as np
import pytest

from fastdnn import course as C

try:
    import numpy_course as NC  # tests/ is on sys.path in pytest's default import mode
except ImportError:  # --import-mode=importlib: load it from next to this file
    import importlib.util
    import pathlib

    _spec = importlib.util.spec_from_file_location(
        "numpy_course", pathlib.Path(__file__).with_name("numpy_course.py"))
    NC = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(NC)

pytestmark = [pytest.mark.filterwarnings("error"), pytest.mark.usefixtures("one_blas_thread")]

LAYER_DIMS = {
    "lecture": [2, 3, 5, 4, 2, 1],  # the lecture's worked example
    "30-16-8-1": [30, 16, 8, 1],
    "5-4-1": [5, 4, 1],
    "logistic": [4, 1],
}
SEEDS = [1, 2, 3]




def make_data(n_x, m, seed, order="C"):
    rng = np.random.default_rng(seed)
    X = np.array(rng.standard_normal((n_x, m)), order=order)
    Y = (rng.uniform(size=(1, m)) < 0.5).astype(np.float64)
    return X, Y


def copy_params(parameters):
    return {k: v.copy() for k, v in parameters.items()}


def assert_close(got, want, rtol, what=""):
    """allclose with an atol for entries that are sums cancelling to ~0."""
    want = np.asarray(want)
    atol = rtol * float(np.max(np.abs(want), initial=0.0)) * 1e-2
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


# ----------------------------------------------------------- the oracle

def test_numpy_course_is_importable_from_tests():
    """pytest puts tests/ on sys.path (rootdir-based import): ``import numpy_course``."""
    assert NC.__file__.endswith("numpy_course.py")
    assert NC.relu_backward(np.array([[1.0, 1.0]]), np.array([[0.0, 2.0]])).tolist() == [[0, 1]]


# -------------------------------------------------------- initialization

@pytest.mark.parametrize("dims", LAYER_DIMS.values(), ids=LAYER_DIMS)
def test_initialize_without_seed_uses_global_state(dims):
    np.random.seed(1)
    got = C.initialize_parameters_deep(dims)
    after_fast = np.random.rand()
    np.random.seed(1)
    want = NC.initialize_parameters_deep(dims)
    after_numpy = np.random.rand()
    assert list(got) == list(want)  # same keys, same order: W1, b1, W2, ...
    for key in want:
        assert got[key].dtype == np.float64
        assert got[key].shape == want[key].shape
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert after_fast == after_numpy  # the same number of draws was taken


@pytest.mark.parametrize("dims", LAYER_DIMS.values(), ids=LAYER_DIMS)
def test_initialize_with_seed_is_private_and_reproducible(dims):
    np.random.seed(12345)
    state = np.random.get_state()
    a = C.initialize_parameters_deep(dims, seed=7)
    b = C.initialize_parameters_deep(dims, seed=7)
    after = np.random.get_state()
    assert state[0] == after[0]
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2:] == after[2:]  # global state untouched
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    c = C.initialize_parameters_deep(dims, seed=8)
    assert not np.array_equal(a["W1"], c["W1"])
    # a private RandomState(seed) draws what np.random.seed(seed) would
    np.random.seed(7)
    want = NC.initialize_parameters_deep(dims)
    for key in want:
        np.testing.assert_array_equal(a[key], want[key])


def test_initialize_shapes_of_the_lecture_network():
    p = C.initialize_parameters_deep([2, 3, 5, 4, 2, 1], seed=3)
    assert sorted(p) == sorted([f"{k}{l}" for l in range(1, 6) for k in "Wb"])
    shapes = {k: v.shape for k, v in p.items()}
    assert shapes == {"W1": (3, 2), "b1": (3, 1), "W2": (5, 3), "b2": (5, 1), "W3": (4, 5),
                      "b3": (4, 1), "W4": (2, 4), "b4": (2, 1), "W5": (1, 2), "b5": (1, 1)}
    for l in range(1, 6):
        np.testing.assert_array_equal(p[f"b{l}"], 0.0)


@pytest.mark.parametrize("dims", [[2, 0, 1], [0, 3], [2, -1, 1], [2, 3.0, 1], [2, "3", 1],
                                  [2, None, 1], [2, True, 1], [2], []],
                         ids=["zero", "zero-input", "negative", "float", "str", "none", "bool",
                              "one-layer", "empty"])
def test_initialize_rejects_bad_layer_dims(dims):
    with pytest.raises(ValueError, match="layer_dims"):
        C.initialize_parameters_deep(dims)


def test_initialize_accepts_numpy_ints():
    p = C.initialize_parameters_deep(np.array([3, 2, 1]), seed=0)
    assert p["W1"].shape == (2, 3) and p["W2"].shape == (1, 2)


# --------------------------------------------------------- full model

@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dims", LAYER_DIMS.values(), ids=LAYER_DIMS)
def test_model_matches_numpy_course(dims, seed, order):
    L = len(dims) - 1
    X, Y = make_data(dims[0], 64, seed, order)
    params = C.initialize_parameters_deep(dims, seed=seed)
    params_np = copy_params(params)

    # forward
    AL, caches = C.L_model_forward(X, params)
    AL_np, caches_np = NC.L_model_forward(X, params_np)
    assert AL.shape == (1, 64) and AL.dtype == np.float64
    assert_close(AL, AL_np, 1e-12, "AL")

    # caches: a list of ((A_prev, W, b), activation_cache), one per layer
    assert isinstance(caches, list) and len(caches) == L
    for l, (cache, cache_np) in enumerate(zip(caches, caches_np)):
        assert isinstance(cache, tuple) and len(cache) == 2
        linear_cache, activation_cache = cache
        assert isinstance(linear_cache, tuple) and len(linear_cache) == 3
        for got, want, what in zip(linear_cache, cache_np[0], ("A_prev", "W", "b")):
            assert np.shape(got) == np.shape(want), f"layer {l + 1} {what}"
            assert_close(got, want, 1e-12, f"layer {l + 1} {what}")
        # fastdnn caches the activation A (the course caches Z): A = g(Z)
        Z_np = cache_np[1]
        A_np = NC.sigmoid(Z_np)[0] if l == L - 1 else NC.relu(Z_np)[0]
        assert_close(activation_cache, A_np, 1e-12, f"layer {l + 1} activation cache")
    np.testing.assert_array_equal(caches[0][0][0], X)
    for l in range(1, L):
        np.testing.assert_array_equal(caches[l][0][0], caches[l - 1][1])
    np.testing.assert_array_equal(caches[-1][1], AL)

    # cost
    cost = C.compute_cost(AL, Y)
    assert np.ndim(cost) == 0
    np.testing.assert_allclose(cost, NC.compute_cost(AL_np, Y), rtol=1e-12)

    # backward
    grads = C.L_model_backward(AL, Y, caches)
    grads_np = NC.L_model_backward(AL_np, Y, caches_np)
    keys = ({f"dA{l}" for l in range(L)} | {f"dW{l}" for l in range(1, L + 1)}
            | {f"db{l}" for l in range(1, L + 1)})
    assert set(grads) == keys == set(grads_np)
    for key in keys:
        assert grads[key].shape == grads_np[key].shape, key
        assert grads[key].dtype == np.float64, key
        assert_close(grads[key], grads_np[key], 1e-10, key)

    # update: new arrays in the same dict, the old arrays untouched
    old_W1 = params["W1"]
    old = copy_params(params)
    new = C.update_parameters(params, grads, 0.05)
    new_np = NC.update_parameters(params_np, grads_np, 0.05)
    assert new is params
    assert params["W1"] is not old_W1
    np.testing.assert_array_equal(old_W1, old["W1"])
    assert set(new) == set(new_np)
    for key in new_np:
        assert new[key].shape == new_np[key].shape
        assert_close(new[key], new_np[key], 1e-12, key)
        assert not np.array_equal(new[key], old[key]) or not grads["d" + key].any(), key


def test_lecture_network_gradients_are_not_trivial():
    """The comparisons above are meaningful: seed 3 of the lecture net has live units."""
    X, Y = make_data(2, 64, 3)
    params = C.initialize_parameters_deep([2, 3, 5, 4, 2, 1], seed=3)
    AL, caches = C.L_model_forward(X, params)
    grads = C.L_model_backward(AL, Y, caches)
    assert np.ptp(AL) > 0
    for l in range(1, 6):
        assert np.abs(grads[f"dW{l}"]).max() > 0, l


def test_integer_labels_give_the_same_gradients():
    """Course data sets store Y as integers."""
    X, Y = make_data(5, 32, 4)
    params = C.initialize_parameters_deep([5, 4, 1], seed=4)
    AL, caches = C.L_model_forward(X, params)
    want = C.L_model_backward(AL, Y, caches)
    got = C.L_model_backward(AL, Y.astype(np.int64), caches)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    np.testing.assert_array_equal(C.compute_cost(AL, Y.astype(np.int64)), C.compute_cost(AL, Y))
    flat = C.L_model_backward(AL, Y.ravel(), caches)  # Y of shape (m,)
    for key in want:
        np.testing.assert_array_equal(flat[key], want[key], err_msg=key)


@pytest.mark.parametrize("AL, Y", [
    ([[0.8, 0.1, 0.5]], [[1.0, 0.0, 1.0]]),
    ([[0.999, 0.001]], [[0.0, 1.0]]),
    ([[0.5]], [[1.0]]),
])
def test_compute_cost_matches_numpy_course(AL, Y):
    AL, Y = np.array(AL), np.array(Y)
    got = C.compute_cost(AL, Y)
    np.testing.assert_allclose(got, NC.compute_cost(AL, Y), rtol=1e-14)
    assert np.ndim(got) == 0


@pytest.mark.parametrize("m", [1, 7, 1000, 100_000])
@pytest.mark.parametrize("al_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("y_dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
def test_compiled_cost_matches_numpy_course_value_and_dtype(m, al_dtype, y_dtype):
    rng = np.random.default_rng(m)
    AL = rng.uniform(1e-6, 1 - 1e-6, size=(1, m)).astype(al_dtype)
    Y = (rng.random((1, m)) > 0.4).astype(y_dtype)
    got, want = C.compute_cost(AL, Y), NC.compute_cost(AL, Y)
    assert got.dtype == want.dtype and np.ndim(got) == 0
    # NumPy takes float32 logs of a float32 AL whatever Y is; the compiled cost takes them
    # in double, so the two agree to float32's precision there
    rtol = 1e-12 if al_dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, want, rtol=rtol)
    np.testing.assert_allclose(C.compute_cost(AL, Y.ravel()), want, rtol=rtol)   # Y (m,)
    soft = rng.random((1, m)).astype(al_dtype)     # soft labels in [0, 1]
    np.testing.assert_allclose(C.compute_cost(AL, soft), NC.compute_cost(AL, soft), rtol=rtol)


def test_cost_of_labels_outside_0_1_is_the_numpy_course_codes():
    AL = np.array([[0.2, 0.7, 0.9]])
    for Y in (np.array([[0, 1, 2]], np.uint8), np.array([[0, 1, 2]]), np.array([[0, 1, 2.0]])):
        np.testing.assert_allclose(C.compute_cost(AL, Y), NC.compute_cost(AL, Y), rtol=1e-12)


@pytest.mark.parametrize("a, y", [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0),
                                  (np.nan, 1.0), (0.5, np.nan), (1.5, 1.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_cost_keeps_numpys_nan_and_inf(a, y, dtype):
    """0 log 0 is NaN and log 0 is -inf, in the compiled cost as in the NumPy course code."""
    AL = np.array([[0.3, a, 0.6]], dtype)
    Y = np.array([[1.0, y, 0.0]], dtype)
    with np.errstate(all="ignore"):
        want = NC.compute_cost(AL, Y)
    got = C.compute_cost(AL, Y)
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == want or np.isclose(got, want, rtol=1e-6)


# -------------------------------------------------------------- training

def blobs(m, seed):
    """Two Gaussian blobs in the plane, labels alternating 0/1."""
    rng = np.random.RandomState(seed)
    Y = (np.arange(m) % 2).astype(np.float64).reshape(1, m)
    X = rng.randn(2, m) + np.where(Y == 1, 1.5, -1.5)
    return X, Y


def test_training_the_lecture_network_step_for_step():
    """Plain gradient descent on [2, 3, 5, 4, 2, 1]: fastdnn and the course agree every step."""
    X, Y = blobs(300, 3)
    learning_rate, iterations = 0.3, 1500
    params = C.initialize_parameters_deep([2, 3, 5, 4, 2, 1], seed=3)
    params_np = copy_params(params)
    costs, costs_np = [], []
    for _ in range(iterations):
        AL, caches = C.L_model_forward(X, params)
        costs.append(float(C.compute_cost(AL, Y)))
        grads = C.L_model_backward(AL, Y, caches)
        params = C.update_parameters(params, grads, learning_rate)

        AL_np, caches_np = NC.L_model_forward(X, params_np)
        costs_np.append(float(NC.compute_cost(AL_np, Y)))
        grads_np = NC.L_model_backward(AL_np, Y, caches_np)
        params_np = NC.update_parameters(params_np, grads_np, learning_rate)

    # the problem really trains with the course code
    assert costs_np[-1] < 0.7 * costs_np[0]
    np.testing.assert_allclose(costs, costs_np, rtol=1e-8)
    assert costs[-1] < 0.1 * costs[0]
    accuracy = np.mean((C.L_model_forward(X, params)[0] > 0.5) == Y)
    assert accuracy > 0.95
    for key in params_np:
        np.testing.assert_allclose(params[key], params_np[key], rtol=1e-7,
                                   atol=1e-9 * np.abs(params_np[key]).max(), err_msg=key)


# ---------------------------------------------------- single-layer steps

ACTIVATIONS = ["sigmoid", "relu"]


def layer_data(order, seed=0):
    rng = np.random.default_rng(seed)
    A_prev = np.array(rng.standard_normal((5, 9)), order=order)
    W = rng.standard_normal((4, 5)) / np.sqrt(5)
    b = rng.standard_normal((4, 1)) * 0.1
    dA = rng.standard_normal((4, 9))
    return A_prev, W, b, dA


@pytest.mark.parametrize("order", ["C", "F"])
def test_linear_forward(order):
    A_prev, W, b, _ = layer_data(order)
    Z, cache = C.linear_forward(A_prev, W, b)
    Z_np, cache_np = NC.linear_forward(A_prev, W, b)
    assert_close(Z, Z_np, 1e-12, "Z")
    assert isinstance(cache, tuple) and len(cache) == 3
    for got, want in zip(cache, cache_np):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_linear_activation_forward(activation, order):
    A_prev, W, b, _ = layer_data(order, 1)
    A, cache = C.linear_activation_forward(A_prev, W, b, activation)
    A_np, cache_np = NC.linear_activation_forward(A_prev, W, b, activation)
    assert_close(A, A_np, 1e-12, "A")
    (linear_cache, activation_cache) = cache
    for got, want in zip(linear_cache, cache_np[0]):
        np.testing.assert_array_equal(got, want)
    assert_close(activation_cache, A_np, 1e-12, "activation cache holds A")


def assert_gradients_close(got, want):
    """(dA_prev, dW, db) of fastdnn.course against the NumPy course code."""
    for g, w, what in zip(got, want, ("dA_prev", "dW", "db")):
        assert g.shape == w.shape, what
        assert_close(g, w, 1e-12, what)


@pytest.mark.parametrize("order", ["C", "F"])
def test_linear_backward(order):
    A_prev, W, b, dZ = layer_data(order, 2)
    cache = (A_prev, W, b)
    got = C.linear_backward(dZ, cache)
    want = NC.linear_backward(dZ, cache)
    assert_gradients_close(got, want)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_linear_activation_backward(activation, order):
    A_prev, W, b, dA = layer_data(order, 3)
    _, cache = C.linear_activation_forward(A_prev, W, b, activation)
    _, cache_np = NC.linear_activation_forward(A_prev, W, b, activation)
    got = C.linear_activation_backward(dA, cache, activation)
    want = NC.linear_activation_backward(dA, cache_np, activation)
    assert_gradients_close(got, want)
    if activation == "relu":  # the mask matters: some units are off
        assert (cache_np[1] <= 0).any() and (cache_np[1] > 0).any()


# ---------------------------------------------------------------- errors

def _params():
    return C.initialize_parameters_deep([3, 2, 1], seed=0)


@pytest.mark.parametrize("drop", [["W2"], ["b1"], ["W1", "b1"], ["W1", "b1", "W2", "b2"]])
def test_missing_parameters(drop):
    params = _params()
    for key in drop:
        del params[key]
    X = np.ones((3, 4))
    with pytest.raises(ValueError, match="W1"):
        C.L_model_forward(X, params)
    grads = {"dW1": np.zeros((2, 3)), "db1": np.zeros((2, 1)), "dW2": np.zeros((1, 2)),
             "db2": np.zeros((1, 1))}
    with pytest.raises(ValueError):
        C.update_parameters(params, grads, 0.1)


def test_misnumbered_parameters():
    p = _params()
    params = {"W1": p["W1"], "b1": p["b1"], "W3": p["W2"], "b3": p["b2"]}
    with pytest.raises(ValueError):
        C.L_model_forward(np.ones((3, 4)), params)


def test_missing_gradients():
    params = _params()
    X, Y = make_data(3, 4, 0)
    AL, caches = C.L_model_forward(X, params)
    grads = C.L_model_backward(AL, Y, caches)
    del grads["db2"]
    with pytest.raises(ValueError, match="db2"):
        C.update_parameters(params, grads, 0.1)


@pytest.mark.parametrize("activation", ["swish", "Sigmoid", "", None])
def test_unknown_activation(activation):
    A_prev, W, b, dA = layer_data("C")
    with pytest.raises(ValueError, match="activation"):
        C.linear_activation_forward(A_prev, W, b, activation)
    _, cache = C.linear_activation_forward(A_prev, W, b, "relu")
    with pytest.raises(ValueError, match="activation"):
        C.linear_activation_backward(dA, cache, activation)


@pytest.mark.parametrize("Y_shape", [(1, 5), (1, 7), (2, 6), (5,)])
def test_Y_of_wrong_size(Y_shape):
    params = _params()
    X, _ = make_data(3, 6, 0)
    AL, caches = C.L_model_forward(X, params)
    with pytest.raises(ValueError, match="Y"):
        C.L_model_backward(AL, np.zeros(Y_shape), caches)
    with pytest.raises(ValueError):
        C.compute_cost(AL, np.zeros(Y_shape))


def test_empty_caches():
    with pytest.raises(ValueError, match="caches"):
        C.L_model_backward(np.full((1, 3), 0.5), np.zeros((1, 3)), [])


def test_X_of_wrong_size():
    params = _params()
    with pytest.raises(ValueError, match="layer 1"):
        C.L_model_forward(np.ones((4, 6)), params)


@pytest.mark.parametrize("lr", ["0.1", None, True])
def test_update_parameters_bad_learning_rate(lr):
    params = _params()
    grads = {"dW1": np.zeros((2, 3)), "db1": np.zeros((2, 1)), "dW2": np.zeros((1, 2)),
             "db2": np.zeros((1, 1))}
    with pytest.raises(TypeError, match="learning_rate"):
        C.update_parameters(params, grads, lr)
