"""The first layer's sparse products (fastdnn/_kernels/_sparse.pyx) against dense NumPy."""
import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")

import fastdnn  # noqa: E402
from fastdnn._kernels import _sparse  # noqa: E402


def _csr(rng, n, features, density, dtype, index):
    X = sp.random(n, features, density=density, random_state=rng, format="csr",
                  dtype=np.float64)
    X.data = (X.data * 4 - 2).astype(dtype)
    X.data[X.indptr[3]:X.indptr[4]] = 0
    X.eliminate_zeros()             # row 3 empty
    X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    return X


@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("units", [1, 5, 16, 33, 64])
def test_products_match_dense_on_any_thread_count(units, dtype, index, simd):
    """Z = X[rows] W and gW = s X[rows]^T dZ for shuffled rows with repeats and an empty
    one, on every SIMD path: the dense products to rounding, and the same bits on 1, 2 and
    3 threads."""
    rng = np.random.default_rng(units)
    X = _csr(rng, 120, 700, 0.03, dtype, index)
    rows = rng.integers(0, 120, size=90)
    rows[:3] = [3, 7, 7]
    W = rng.standard_normal((700, units)).astype(dtype)
    dZ = rng.standard_normal((90, units)).astype(dtype)
    dense = X.toarray().astype(np.float64)[rows]
    results = []
    try:
        for threads in (1, 2, 3):
            fastdnn.set_num_threads(threads)
            Z = np.full((90, units), np.nan, dtype)
            gW = np.full((700, units), np.nan, dtype)
            _sparse.csr_forward(X, rows, W, Z)
            _sparse.csr_grad(X, rows, dZ, 0.25, gW)
            results.append((Z, gW))
    finally:
        fastdnn.set_num_threads(None)
    for Z, gW in results[1:]:
        np.testing.assert_array_equal(Z, results[0][0])
        np.testing.assert_array_equal(gW, results[0][1])
    Z, gW = results[0]
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Z, dense @ W.astype(np.float64), **tol)
    np.testing.assert_array_equal(Z[0], 0)                      # the empty row
    np.testing.assert_allclose(gW, 0.25 * dense.T @ dZ.astype(np.float64), **tol)
    untouched = np.setdiff1d(np.arange(700), X[rows].indices)
    np.testing.assert_array_equal(gW[untouched], 0)             # every row written


def test_no_rows_and_no_entries():
    X = sp.csr_matrix((4, 6))
    W, Z = np.ones((6, 3)), np.empty((0, 3))
    _sparse.csr_forward(X, np.array([], np.int64), W, Z)
    gW = np.full((6, 3), np.nan)
    _sparse.csr_grad(X, np.array([], np.int64), np.empty((0, 3)), 1.0, gW)
    np.testing.assert_array_equal(gW, 0)
    Z = np.full((2, 3), np.nan)
    _sparse.csr_forward(X, np.array([0, 3]), W, Z)
    np.testing.assert_array_equal(Z, 0)


def test_bad_arguments_raise():
    X = sp.csr_matrix(np.eye(4))
    W = np.ones((4, 2))
    with pytest.raises(ValueError, match="W has shape"):
        _sparse.csr_forward(X, np.array([0]), np.ones((3, 2)), np.empty((1, 2)))
    with pytest.raises(TypeError, match="W must be"):
        _sparse.csr_forward(X, np.array([0]), np.ones((4, 2), np.int64), np.empty((1, 2)))
    with pytest.raises(TypeError, match="W must be"):
        _sparse.csr_forward(X, np.array([0]), np.ones((2, 4)).T, np.empty((1, 2)))
    with pytest.raises(ValueError, match="Z must be"):
        _sparse.csr_forward(X, np.array([0]), W, np.empty((1, 2), np.float32))
    with pytest.raises(ValueError, match="rows must be"):
        _sparse.csr_forward(X, np.array([4]), W, np.empty((1, 2)))
    with pytest.raises(ValueError, match="rows must be"):
        _sparse.csr_grad(X, np.array([-1]), np.empty((1, 2)), 1.0, np.empty((4, 2)))
    with pytest.raises(ValueError, match="dZ must be"):
        _sparse.csr_grad(X, np.array([0]), np.empty((2, 2)), 1.0, np.empty((4, 2)))
    with pytest.raises(TypeError, match="CSR"):
        _sparse.csr_forward(X.tocsc(), np.array([0]), W, np.empty((1, 2)))


# (code, state arrays): gd, momentum, rmsprop, adam, nadam, sgd with Nesterov momentum
_STEPS = [(0, 0), (1, 1), (2, 1), (3, 2), (5, 2), (8, 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("units", [1, 7, 64, 2500])
@pytest.mark.parametrize("op, nslots", _STEPS)
def test_rows_gradient_step_is_the_step_over_the_formed_gradient(op, nslots, units, dtype,
                                                                  simd):
    """An optimizer's step from a RowsGradient (the gradient formed a block of rows at a
    time inside the step) equals csr_grad followed by the step over the whole gradient:
    bit for bit but for plain gradient descent (another loop: to rounding), the same bits
    on 1, 2 and 3 threads; its L2 term and the rows no entry falls in included."""
    from fastdnn._kernels import _optim
    rng = np.random.default_rng(op * 100 + units)
    features = 300 if units > 100 else 1500   # blocks of several rows, and of part of a row
    X = _csr(rng, 80, features, 0.02, dtype, np.int32)
    rows = rng.integers(0, 80, size=40)
    rows[:2] = [3, 9]
    dZ = rng.standard_normal((40, units)).astype(dtype)
    W0 = rng.standard_normal((features, units)).astype(dtype)
    names = ("m", "v")[:nslots]
    start = [np.full_like(W0.T, 0.01) for _ in range(nslots)]
    kw = dict(beta1=0.9, beta2=0.999, epsilon=1e-7, momentum_decay=0.004, nesterov=True)
    W = W0.copy()
    slots = tuple([s.copy()] for s in start)
    for t in (1, 2):
        gW = np.empty_like(W)
        _sparse.csr_grad(X, rows, dZ, 0.05, gW)
        _optim.update(op, [W.T], [gW.T], slots, names, [1e-3], 0.01, t=t, **kw)
    results = []
    try:
        for threads in (1, 2, 3):
            fastdnn.set_num_threads(threads)
            W2, slots2 = W0.copy(), tuple([s.copy()] for s in start)
            g = _sparse.RowsGradient()
            for t in (1, 2):
                g.set(X, rows, dZ, 0.05)
                _optim.update(op, [W2.T], [g], slots2, names, [1e-3], 0.01, t=t, **kw)
            results.append((W2, slots2))
    finally:
        fastdnn.set_num_threads(None)
    for W2, slots2 in results:
        np.testing.assert_array_equal(W2, results[0][0])
        if op == 0:
            eps = np.finfo(dtype).eps     # (p - lr g cancels on some elements)
            np.testing.assert_allclose(W2, W, rtol=4 * eps, atol=4 * eps * np.abs(W).max())
        else:
            np.testing.assert_array_equal(W2, W)
        for a, b in zip(slots2, slots):
            np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(results[0][0], W0)


def test_rows_gradient_refusals():
    from fastdnn._kernels import _optim
    X = sp.csr_matrix(np.eye(4))
    W = np.zeros((4, 3))
    g = _sparse.RowsGradient()
    with pytest.raises(ValueError, match="not set"):
        _optim.update(0, [W], [g], (), (), None, 0.1)
    g.set(X, np.array([0, 2]), np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match=r"C-ordered \(4, 3\) array .* shape \(3, 4\)"):
        _optim.update(0, [np.zeros((3, 4))], [g], (), (), None, 0.1)
    with pytest.raises(TypeError, match="dtype"):
        _optim.update(0, [W.astype(np.float32)], [g], (), (), None, 0.1)
    with pytest.raises(ValueError, match="cannot clip its norm"):
        _optim.update(0, [W], [g], (), (), None, 0.1, clipnorm=1.0)
    assert not W.any()                    # nothing updated by a refused step
    with pytest.raises(ValueError, match="rows"):
        g.set(X, np.array([0, 2]), np.ones((3, 3)), 1.0)
    with pytest.raises(TypeError, match="C-contiguous"):
        g.set(X, np.array([0, 2]), np.ones((3, 2)).T, 1.0)
    _optim.update(0, [W], [g], (), (), None, 0.1)   # rows 0 and 2 of X: features 0 and 2
    np.testing.assert_array_equal(W, -0.1 * np.array([[1.0] * 3, [0] * 3, [1.0] * 3, [0] * 3]))
