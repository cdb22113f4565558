"""Tests of the fused dense layer: ``dense_forward``, ``dense_backward``,
``dense_output_backward`` and ``sgd_update`` from ``fastdnn.functional``.

The oracle is the lecture's NumPy, evaluated in float64 on up-cast copies of
the inputs (``ref_forward``/``ref_backward`` below)::

    Z = W @ A_prev + b;  A = g(Z)
    dZ = dA * g'(Z)  (softmax: a * (dA - sum(dA * a, 0)));  dW = dZ @ A_prev.T / m
    db = dZ.sum(1, keepdims=True) / m;  dA_prev = W.T @ dZ

Results are compared with ``rtol`` 1e-5 (float32) or 1e-12 (float64) relative
to ``|want| + scale``, where ``scale`` is the element-wise magnitude of the
terms that were summed (``|W| @ |A_prev| + |b|`` for ``Z`` and so on): a sum of
terms that cancel can only be as exact as its largest terms.

Every warning is an error in this module: the library promises to emit none.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from fastdnn import activations
from fastdnn import functional as F

pytestmark = [pytest.mark.filterwarnings("error"), pytest.mark.usefixtures("one_blas_thread")]

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
LEAKY_ALPHA = 0.2  # a non-default slope: a kernel that ignores ``alpha`` fails

# parameter id -> the activation argument given to dense_forward
ACTIVATIONS = {
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "leaky_relu_0.2": activations.LeakyReLU(LEAKY_ALPHA),
    "linear": "linear",
    "softmax": "softmax",
}
# "T": A_prev is X.T of a C-ordered (m, n_prev) batch (F-ordered, no copy)
A_ORDERS = ["C", "F", "T"]
W_ORDERS = ["C", "F"]
MS = [1, 2, 7, 64, 1000]
SHAPES = [(1, 1), (3, 5), (64, 30)]




def dtype_id(dtype):
    return np.dtype(dtype).name


def shape_id(shape):
    return "x".join(map(str, shape))


# ----------------------------------------------------------------- oracle

def _act(activation):
    """(name, alpha) of an activation argument."""
    act = activations.get(activation)
    return act.name, float(getattr(act, "alpha", 0.01))


def ref_activation(name, Z, alpha=0.01):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(Z, 0)
    if name == "leaky_relu":
        return np.where(Z >= 0, Z, alpha * Z)
    if name == "linear":
        return Z.copy()
    if name == "softmax":
        e = np.exp(Z - Z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    raise AssertionError(name)


def ref_derivative(name, Z, alpha=0.01):
    """g'(Z) of an element-wise activation."""
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-Z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(Z) ** 2
    if name == "relu":
        return (Z > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(Z >= 0, 1.0, alpha)
    if name == "linear":
        return np.ones_like(Z)
    raise AssertionError(name)


def f64(x):
    return np.asarray(x, dtype=np.float64)


def ref_forward(A_prev, W, b, activation):
    """(Z, A) in float64."""
    name, alpha = _act(activation)
    with np.errstate(all="ignore"):
        Z = f64(W) @ f64(A_prev) + f64(b).reshape(-1, 1)
        return Z, ref_activation(name, Z, alpha)


def ref_dZ(dA, Z, A, activation, deriv=None):
    name, alpha = _act(activation)
    dA = f64(dA)
    if name == "softmax":
        return A * (dA - np.sum(dA * A, axis=0, keepdims=True))
    return dA * (ref_derivative(name, Z, alpha) if deriv is None else deriv)


def ref_linear_backward(dZ, A_prev, W, b_shape):
    """(dA_prev, dW, db) from dZ, in float64."""
    A_prev = f64(A_prev)
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m
    db = (dZ.sum(axis=1, keepdims=True) / m).reshape(b_shape)
    dA_prev = f64(W).T @ dZ
    return dA_prev, dW, db


# -------------------------------------------------------------- tolerances

def z_scale(A_prev, W, b):
    """|W| @ |A_prev| + |b|: the size of the terms summed into Z."""
    return np.abs(f64(W)) @ np.abs(f64(A_prev)) + np.abs(f64(b)).reshape(-1, 1)


def a_scale(name, A, zs):
    """How far A can move when Z moves by ``rtol * zs`` (g' <= 1 element-wise)."""
    if name == "softmax":
        return 2 * A * zs.max(axis=0, keepdims=True)
    return zs


def dz_scale(name, dA, A, zs):
    """Size of dZ's terms, including g' taken from a rounded A (g'' <= 1)."""
    dA = np.abs(f64(dA))
    if name == "softmax":
        return (A * (dA + np.sum(dA * A, axis=0, keepdims=True))
                * (2 + 2 * zs.max(axis=0, keepdims=True)))
    return dA * (1 + zs)


def assert_close(got, want, scale, dtype, what="", factor=1.0):
    """|got - want| <= rtol * (|want| + scale) element-wise (NaN == NaN)."""
    rtol = RTOL[np.dtype(dtype)] * factor
    got64, want = f64(got), f64(want)
    assert got64.shape == want.shape, f"{what}: shape {got64.shape} != {want.shape}"
    tol = rtol * (np.abs(want) + np.broadcast_to(scale, want.shape))
    with np.errstate(invalid="ignore"):
        ok = (np.abs(got64 - want) <= tol) | (np.isnan(got64) & np.isnan(want))
    if not ok.all():
        i = np.unravel_index(np.argmin(ok), ok.shape)
        raise AssertionError(
            f"{what}: {np.count_nonzero(~ok)} of {ok.size} elements differ; first at {i}: "
            f"got {got64[i]!r}, want {want[i]!r}, tolerance {tol[i]!r}")


def kink_derivative(name, alpha, Z, zs, A_got, dtype):
    """g'(Z) for relu/leaky_relu where sign(Z) is decided at the precision of ``dtype``.

    Where |Z| is below the rounding error of its sum the sign of the computed Z
    is not determined by the inputs; there the derivative is taken from the
    kernel's own A (the documented rule: 1 where A > 0 / A >= 0).
    """
    if name not in ("relu", "leaky_relu"):
        return None
    d = ref_derivative(name, Z, alpha)
    unsure = np.abs(Z) <= 4 * RTOL[np.dtype(dtype)] * zs
    A_got = f64(A_got)
    from_a = (A_got > 0).astype(float) if name == "relu" else np.where(A_got >= 0, 1.0, alpha)
    return np.where(unsure, from_a, d)


# -------------------------------------------------------------------- data

def make_array(values, dtype, order):
    """``values`` as ``dtype`` in memory order C, F, or "T" (transpose of a C array)."""
    if order == "T":
        return np.ascontiguousarray(np.asarray(values).T, dtype=dtype).T
    return np.array(values, dtype=dtype, order=order)


def make_layer(n_l, n_prev, m, dtype, a_order="C", w_order="C", b_shape="col", seed=0):
    """(A_prev, W, b, dA) with Z of order 1 and no exact zeros in Z."""
    rng = np.random.default_rng(seed)
    A_prev = make_array(rng.uniform(-1.0, 1.0, (n_prev, m)), dtype, a_order)
    W = make_array(rng.standard_normal((n_l, n_prev)) * (2 / np.sqrt(n_prev)), dtype, w_order)
    b_values = rng.uniform(-0.5, 0.5, (n_l, 1))
    if b_shape == "col":
        b = b_values.astype(dtype)
    elif b_shape == "flat":
        b = b_values.reshape(n_l).astype(dtype)
    elif b_shape == "strided":  # a non-contiguous (n_l, 1) view
        b = np.repeat(b_values, 3, axis=1).astype(dtype)[:, 1:2]
    else:
        raise AssertionError(b_shape)
    dA = make_array(rng.standard_normal((n_l, m)), dtype, w_order)
    return A_prev, W, b, dA


def expected_order_is_f(A_prev):
    return A_prev.flags.f_contiguous and not A_prev.flags.c_contiguous


def check_layer(activation, dtype, A_prev, W, b, dA, factor=1.0):
    """Run dense_forward and dense_backward; compare everything with the oracle."""
    name, alpha = _act(activation)
    saved = [x.copy() for x in (A_prev, W, b, dA)]
    n_l, m = W.shape[0], A_prev.shape[1]

    A, cache = F.dense_forward(A_prev, W, b, activation)
    assert isinstance(cache, F.DenseCache)
    assert cache.A is A
    assert A.dtype == np.dtype(dtype) and A.shape == (n_l, m)
    if expected_order_is_f(A_prev):
        assert A.flags.f_contiguous
    else:
        assert A.flags.c_contiguous
    Z, A_want = ref_forward(A_prev, W, b, activation)
    zs = z_scale(A_prev, W, b)
    assert_close(A, A_want, a_scale(name, A_want, zs), dtype, "A", factor)

    dA_prev, dW, db = F.dense_backward(dA, cache)
    deriv = kink_derivative(name, alpha, Z, zs, A, dtype)
    dZ = ref_dZ(dA, Z, A_want, activation, deriv)
    dzs = dz_scale(name, dA, A_want, zs)
    want = ref_linear_backward(dZ, A_prev, W, b.shape)
    scales = ref_linear_backward(dzs, np.abs(f64(A_prev)), np.abs(f64(W)), b.shape)
    for got, w, s, what, like in zip((dA_prev, dW, db), want, scales,
                                     ("dA_prev", "dW", "db"), (A_prev, W, b)):
        assert isinstance(got, np.ndarray), what
        assert got.dtype == np.dtype(dtype), what
        assert got.shape == like.shape, what
        assert_close(got, w, s, dtype, what, factor)
    for x, before in zip((A_prev, W, b, dA), saved):
        np.testing.assert_array_equal(x, before)  # inputs are not modified
    return A, cache, (dA_prev, dW, db)


# ---------------------------------------------------- forward and backward

@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("m", MS)
@pytest.mark.parametrize("w_order", W_ORDERS)
@pytest.mark.parametrize("a_order", A_ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_matches_reference(activation, dtype, a_order, w_order, m, shape):
    n_l, n_prev = shape
    seed = zlib.crc32(repr((activation, a_order, w_order, m, shape)).encode())
    A_prev, W, b, dA = make_layer(n_l, n_prev, m, dtype, a_order, w_order, seed=seed)
    check_layer(ACTIVATIONS[activation], dtype, A_prev, W, b, dA)


@pytest.mark.parametrize("a_order", A_ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_big_layer_matches_reference(activation, dtype, a_order):
    A_prev, W, b, dA = make_layer(256, 784, 128, dtype, a_order, "C", seed=7)
    check_layer(ACTIVATIONS[activation], dtype, A_prev, W, b, dA)


def test_transposed_batch_is_not_copied_into_c_order():
    """Precondition of the "T" cases: X.T of a C batch is F-ordered only."""
    A_prev = make_array(np.ones((5, 7)), np.float64, "T")
    assert A_prev.flags.f_contiguous and not A_prev.flags.c_contiguous
    A, _ = F.dense_forward(A_prev, np.ones((3, 5)), np.zeros((3, 1)), "relu")
    assert A.flags.f_contiguous and not A.flags.c_contiguous


@pytest.mark.parametrize("b_shape", ["col", "flat", "strided"])
@pytest.mark.parametrize("a_order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_bias_shapes(activation, dtype, a_order, b_shape):
    A_prev, W, b, dA = make_layer(3, 5, 7, dtype, a_order, "C", b_shape, seed=3)
    assert b.shape == ((3,) if b_shape == "flat" else (3, 1))
    _, _, (_, _, db) = check_layer(ACTIVATIONS[activation], dtype, A_prev, W, b, dA)
    assert db.shape == b.shape


@pytest.mark.parametrize("a_order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_bias_is_added_per_unit(dtype, a_order):
    """Each unit (row) gets its own bias, in both memory orders."""
    A_prev = make_array(np.zeros((2, 4)), dtype, a_order)
    W = np.ones((3, 2), dtype=dtype)
    for b in (np.array([[1.0], [2.0], [3.0]], dtype=dtype), np.array([1.0, 2.0, 3.0], dtype=dtype)):
        A, _ = F.dense_forward(A_prev, W, b, "linear")
        np.testing.assert_array_equal(A, np.repeat([[1.0], [2.0], [3.0]], 4, axis=1))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_need_dA_prev_false(activation, dtype):
    A_prev, W, b, dA = make_layer(4, 6, 9, dtype, seed=11)
    act = ACTIVATIONS[activation]
    _, cache = F.dense_forward(A_prev, W, b, act)
    dA_prev, dW, db = F.dense_backward(dA, cache)
    none, dW2, db2 = F.dense_backward(dA, cache, need_dA_prev=False)
    assert dA_prev is not None
    assert none is None
    np.testing.assert_array_equal(dW2, dW)
    np.testing.assert_array_equal(db2, db)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_leaky_relu_alpha_is_used(dtype):
    """The slope below zero is the activation's alpha, forward and backward."""
    A_prev = np.array([[-1.0, 2.0]], dtype=dtype)
    W = np.ones((1, 1), dtype=dtype)
    b = np.zeros((1, 1), dtype=dtype)
    A, cache = F.dense_forward(A_prev, W, b, activations.LeakyReLU(LEAKY_ALPHA))
    np.testing.assert_allclose(A, [[-LEAKY_ALPHA, 2.0]], rtol=1e-6)
    dA_prev, _, _ = F.dense_backward(np.ones((1, 2), dtype=dtype), cache)
    np.testing.assert_allclose(dA_prev, [[LEAKY_ALPHA, 1.0]], rtol=1e-6)


def test_softmax_columns_sum_to_one():
    A_prev, W, b, _ = make_layer(10, 5, 33, np.float64, "F", seed=5)
    A, _ = F.dense_forward(A_prev, W, b, "softmax")
    np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=1e-14)
    assert (A > 0).all()


@pytest.mark.parametrize("a_order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_large_m(dtype, a_order):
    A_prev, W, b, dA = make_layer(4, 3, 10**5, dtype, a_order, "C", seed=13)
    # float32: db and dW are sums of 10**5 terms (error ~ sqrt(m) eps); allow 10x
    factor = 10.0 if dtype == np.float32 else 1.0
    for act in ("relu", "sigmoid", "softmax"):
        check_layer(act, dtype, A_prev, W, b, dA, factor)


def misaligned(values):
    """A writeable, unaligned copy of ``values`` (C order)."""
    values = np.ascontiguousarray(values)
    buf = np.frombuffer(bytearray(values.nbytes + 1), dtype=values.dtype, offset=1,
                        count=values.size).reshape(values.shape)
    buf[...] = values
    assert not buf.flags.aligned
    return buf


@pytest.mark.parametrize("layout", ["strided", "reversed", "misaligned", "big-endian"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "softmax"])
def test_non_contiguous_and_foreign_inputs(activation, dtype, layout):
    """Views and unaligned or byte-swapped arrays give the results of their copies."""
    A_prev, W, b, dA = make_layer(4, 6, 9, dtype, seed=59)
    if layout == "strided":
        A_prev = np.repeat(A_prev, 2, axis=1)[:, ::2]
        W = np.repeat(W, 3, axis=0)[::3]
    elif layout == "reversed":
        A_prev = np.ascontiguousarray(A_prev[::-1, ::-1])[::-1, ::-1]
        W = np.ascontiguousarray(W[:, ::-1])[:, ::-1]
    elif layout == "misaligned":
        A_prev, W, b, dA = map(misaligned, (A_prev, W, b, dA))
    else:
        A_prev, W, b, dA = (x.astype(x.dtype.newbyteorder(">")) for x in (A_prev, W, b, dA))
    assert not (A_prev.flags.c_contiguous and A_prev.flags.aligned and A_prev.dtype.isnative)
    check_layer(activation, dtype, A_prev, W, b, dA)


@pytest.mark.parametrize("activation", ["relu", "softmax"])
def test_empty_batch(activation):
    """m = 0 examples: empty outputs of the right shapes, finite gradients, no warnings."""
    A, cache = F.dense_forward(np.ones((3, 0)), np.ones((2, 3)), np.zeros((2, 1)), activation)
    assert A.shape == (2, 0)
    dA_prev, dW, db = F.dense_backward(np.ones((2, 0)), cache)
    assert dA_prev.shape == (3, 0) and dW.shape == (2, 3) and db.shape == (2, 1)
    assert np.isfinite(dW).all() and np.isfinite(db).all()


# ------------------------------------------------------------------- out=

@pytest.mark.parametrize("out_order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("activation", ["relu", "softmax"])
def test_out_is_filled_and_returned(activation, dtype, out_order):
    A_prev, W, b, _ = make_layer(4, 6, 9, dtype, "C", seed=17)
    out = np.full((4, 9), np.nan, dtype=dtype, order=out_order)
    A, cache = F.dense_forward(A_prev, W, b, activation, out=out)
    assert A is out
    assert cache.A is out
    want, _ = F.dense_forward(A_prev, W, b, activation)
    np.testing.assert_allclose(out, want, rtol=RTOL[np.dtype(dtype)])


@pytest.mark.parametrize("out, error", [
    (np.empty((4, 8)), ValueError),
    (np.empty((9, 4)), ValueError),
    (np.empty((4, 9), dtype=np.float32), TypeError),
    (np.empty((4, 9), dtype=np.int64), TypeError),
    (np.empty((4, 18))[:, ::2], ValueError),
    ([[0.0] * 9] * 4, TypeError),
], ids=["cols", "transposed", "float32", "int64", "strided", "list"])
def test_bad_out(out, error):
    A_prev, W, b, _ = make_layer(4, 6, 9, np.float64, seed=19)
    with pytest.raises(error, match="out"):
        F.dense_forward(A_prev, W, b, "relu", out=out)


def test_readonly_out():
    A_prev, W, b, _ = make_layer(4, 6, 9, np.float64, seed=19)
    out = np.empty((4, 9))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        F.dense_forward(A_prev, W, b, "relu", out=out)


@pytest.mark.parametrize("which", ["same", "partial", "W", "b"])
def test_out_overlapping_inputs(which):
    buf = np.zeros(200)
    A_prev = buf[:20].reshape(4, 5)
    A_prev[...] = np.arange(20).reshape(4, 5) / 20
    W = np.eye(4)
    b = np.zeros((4, 1))
    if which == "same":
        out = A_prev
    elif which == "partial":
        out = buf[10:30].reshape(4, 5)
    elif which == "W":
        W = buf[100:116].reshape(4, 4)
        W[...] = np.eye(4)
        out = buf[104:124].reshape(4, 5)
    else:
        b = buf[150:154].reshape(4, 1)
        out = buf[140:160].reshape(4, 5)
    before = A_prev.copy()
    with pytest.raises(ValueError, match="out"):
        F.dense_forward(A_prev, W, b, "linear", out=out)
    np.testing.assert_array_equal(A_prev, before)


# --------------------------------------------------------- fused output

def one_hot(labels, n):
    Y = np.zeros((n, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def targets(name, n_l, m, rng):
    if name == "sigmoid":
        return (rng.uniform(size=(n_l, m)) < 0.5).astype(np.float64)
    if name == "softmax":
        return one_hot(rng.integers(0, n_l, m), n_l)
    return rng.standard_normal((n_l, m))


def loss_dA(name, A, Y):
    """dL/dA of the loss that goes with output ``name``, in float64."""
    A, Y = f64(A), f64(Y)
    if name == "sigmoid":
        return -(Y / A - (1 - Y) / (1 - A))
    if name == "softmax":
        return -Y / A
    return A - Y


@pytest.mark.parametrize("a_order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("shape", [(1, 5), (3, 5), (10, 30)], ids=shape_id)
@pytest.mark.parametrize("name", ["sigmoid", "softmax", "linear"])
def test_output_backward_is_A_minus_Y(name, shape, dtype, a_order):
    n_l, n_prev = shape
    if name == "softmax" and n_l == 1:
        pytest.skip("a one-class softmax is constant")
    m = 64
    rng = np.random.default_rng(23)
    A_prev, W, b, _ = make_layer(n_l, n_prev, m, dtype, a_order, "F", seed=29)
    Y = make_array(targets(name, n_l, m, rng), dtype, a_order)
    A, cache = F.dense_forward(A_prev, W, b, name)
    dA_prev, dW, db = F.dense_output_backward(Y, cache)
    _, A_want = ref_forward(A_prev, W, b, name)
    zs = z_scale(A_prev, W, b)
    dZ = A_want - f64(Y)
    dzs = a_scale(name, A_want, zs) + np.abs(f64(Y))
    want = ref_linear_backward(dZ, A_prev, W, b.shape)
    scales = ref_linear_backward(dzs, np.abs(f64(A_prev)), np.abs(f64(W)), b.shape)
    for got, w, s, what, like in zip((dA_prev, dW, db), want, scales,
                                     ("dA_prev", "dW", "db"), (A_prev, W, b)):
        assert got.dtype == np.dtype(dtype) and got.shape == like.shape, what
        assert_close(got, w, s, dtype, what)
    none, dW2, db2 = F.dense_output_backward(Y, cache, need_dA_prev=False)
    assert none is None
    np.testing.assert_array_equal(dW2, dW)
    np.testing.assert_array_equal(db2, db)


@pytest.mark.parametrize("name", ["sigmoid", "softmax", "linear"])
def test_output_backward_equals_loss_gradient(name):
    """A - Y is the loss's dA pushed through g': same as dense_backward(dL/dA)."""
    rng = np.random.default_rng(31)
    A_prev, W, b, _ = make_layer(4, 6, 50, np.float64, seed=37)
    Y = targets(name, 4, 50, rng)
    A, cache = F.dense_forward(A_prev, W, b, name)
    fused = F.dense_output_backward(Y, cache)
    chained = F.dense_backward(loss_dA(name, A, Y), cache)
    for got, want in zip(fused, chained):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
def test_output_backward_rejects_other_activations(activation):
    A_prev, W, b, _ = make_layer(2, 3, 4, np.float64, seed=41)
    _, cache = F.dense_forward(A_prev, W, b, activation)
    with pytest.raises(ValueError, match=activation):
        F.dense_output_backward(np.zeros((2, 4)), cache)
    with pytest.raises(ValueError, match="layer 3"):
        F.dense_output_backward(np.zeros((2, 4)), cache, layer=3)


@pytest.mark.parametrize("dtype, z", [(np.float32, 200.0), (np.float64, 1000.0)],
                         ids=["float32", "float64"])
def test_saturated_sigmoid_output_has_finite_gradients(dtype, z):
    A_prev = np.array([[z, -z, z, -z]], dtype=dtype)
    W = np.ones((1, 1), dtype=dtype)
    b = np.zeros((1, 1), dtype=dtype)
    Y = np.array([[1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    A, cache = F.dense_forward(A_prev, W, b, "sigmoid")
    np.testing.assert_array_equal(A, [[1.0, 0.0, 1.0, 0.0]])  # exactly saturated
    dA_prev, dW, db = F.dense_output_backward(Y, cache)
    for g in (dA_prev, dW, db):
        assert np.isfinite(g).all()
    dZ = np.array([[0.0, 0.0, 1.0, -1.0]])
    np.testing.assert_array_equal(dA_prev, dZ)
    np.testing.assert_allclose(dW, [[(z + z) / 4]], rtol=1e-6)
    np.testing.assert_allclose(db, [[0.0]], atol=0)


def test_saturated_softmax_output_has_finite_gradients():
    A_prev = np.array([[300.0, -300.0]], dtype=np.float32)
    W = np.array([[1.0], [-1.0]], dtype=np.float32)
    b = np.zeros((2, 1), dtype=np.float32)
    Y = np.array([[0.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    A, cache = F.dense_forward(A_prev, W, b, "softmax")
    np.testing.assert_array_equal(A, [[1.0, 0.0], [0.0, 1.0]])
    dA_prev, dW, db = F.dense_output_backward(Y, cache)
    assert all(np.isfinite(g).all() for g in (dA_prev, dW, db))
    np.testing.assert_allclose(db, [[0.5], [-0.5]])


# ---------------------------------------------- gradient check (float64)

NET = [4, 5, 3]  # n_x and the hidden sizes; the output size depends on the case
HIDDEN = {
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu_0.2": activations.LeakyReLU(LEAKY_ALPHA),
    "linear": "linear",
}
# id -> (output activation, loss): "dA" is J = (1/m) sum(dA_out * A_L)
OUTPUTS = {
    "tanh-dA": ("tanh", "dA"),
    "softmax-dA": ("softmax", "dA"),
    "sigmoid-bce": ("sigmoid", "bce"),
    "softmax-cce": ("softmax", "cce"),
    "linear-mse": ("linear", "mse"),
}
M_CHECK = 6


def make_network(hidden, output, seed):
    """(X, params, dA_out, Y) where no kinked layer has |Z| < 1e-3."""
    kinked = _act(hidden)[0] in ("relu", "leaky_relu")
    n_out = 3
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        dims = NET + [n_out]
        X = rng.uniform(-1.0, 1.0, (dims[0], M_CHECK))
        params = [(rng.standard_normal((dims[l], dims[l - 1])) * 1.5 / np.sqrt(dims[l - 1]),
                   rng.uniform(-0.3, 0.3, (dims[l], 1))) for l in range(1, len(dims))]
        dA_out = rng.standard_normal((n_out, M_CHECK))
        Y = targets(output, n_out, M_CHECK, rng)
        if not kinked:
            return X, params, dA_out, Y
        A, ok = X, True
        for W, b in params[:-1]:
            Z, A = ref_forward(A, W, b, hidden)
            ok &= bool(np.abs(Z).min() > 1e-3)
        if ok:
            return X, params, dA_out, Y
    raise AssertionError("no seed keeps the kinked layers away from Z = 0")


def net_forward(X, params, hidden, output):
    caches, A = [], X
    for l, (W, b) in enumerate(params):
        A, cache = F.dense_forward(A, W, b, output if l == len(params) - 1 else hidden,
                                   layer=l + 1)
        caches.append(cache)
    return A, caches


def net_cost(AL, loss, dA_out, Y):
    m = AL.shape[1]
    if loss == "dA":
        return np.sum(dA_out * AL) / m
    if loss == "bce":
        return -np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m
    if loss == "cce":
        return -np.sum(Y * np.log(AL)) / m
    return np.sum(0.5 * (AL - Y) ** 2) / m


def net_backward(AL, caches, loss, dA_out, Y):
    """[(dW, db)] per layer and dX, from fastdnn."""
    grads = [None] * len(caches)
    if loss == "dA":
        dA, dW, db = F.dense_backward(dA_out, caches[-1], layer=len(caches))
    else:
        dA, dW, db = F.dense_output_backward(Y, caches[-1], layer=len(caches))
    grads[-1] = (dW, db)
    for l in range(len(caches) - 2, -1, -1):
        dA, dW, db = F.dense_backward(dA, caches[l], layer=l + 1)
        grads[l] = (dW, db)
    return grads, dA


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradient_check(hidden, output):
    hidden_act = HIDDEN[hidden]
    out_act, loss = OUTPUTS[output]
    X, params, dA_out, Y = make_network(hidden_act, out_act, seed=100)

    def J(ps, X=X):
        return net_cost(net_forward(X, ps, hidden_act, out_act)[0], loss, dA_out, Y)

    AL, caches = net_forward(X, params, hidden_act, out_act)
    grads, dX = net_backward(AL, caches, loss, dA_out, Y)
    eps = 1e-6

    def numeric(x, f):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + eps
            plus = f()
            x[i] = old - eps
            minus = f()
            x[i] = old
            g[i] = (plus - minus) / (2 * eps)
        return g

    def rel_diff(g, approx):
        return np.linalg.norm(g - approx) / (np.linalg.norm(g) + np.linalg.norm(approx))

    for l, ((W, b), (dW, db)) in enumerate(zip(params, grads)):
        for what, p, g in (("W", W, dW), ("b", b, db)):
            approx = numeric(p, lambda: J(params))
            assert np.linalg.norm(approx) > 1e-6, f"{what}{l + 1}: vanishing test gradient"
            assert rel_diff(g, approx) < 1e-7, f"{what}{l + 1}: {g} vs {approx}"
    # dA_prev of the first layer is the gradient of m * J with respect to X
    approx = numeric(X, lambda: J(params)) * M_CHECK
    assert rel_diff(dX, approx) < 1e-7


# ------------------------------------------------------ PyTorch autograd

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_activation(torch, activation, Z):
    name, alpha = _act(activation)
    if name == "sigmoid":
        return torch.sigmoid(Z)
    if name == "tanh":
        return torch.tanh(Z)
    if name == "relu":
        return torch.relu(Z)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(Z, negative_slope=alpha)
    if name == "softmax":
        return torch.softmax(Z, dim=0)
    return Z


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_matches_torch_autograd(torch, hidden, output):
    hidden_act = HIDDEN[hidden]
    out_act, loss = OUTPUTS[output]
    X, params, dA_out, Y = make_network(hidden_act, out_act, seed=300)
    m = X.shape[1]

    AL, caches = net_forward(X, params, hidden_act, out_act)
    grads, _ = net_backward(AL, caches, loss, dA_out, Y)
    # every layer's dA_prev, recomputed from the caches
    dA_prevs = [None] * len(caches)
    if loss == "dA":
        dA = F.dense_backward(dA_out, caches[-1])[0]
    else:
        dA = F.dense_output_backward(Y, caches[-1])[0]
    dA_prevs[-1] = dA
    for l in range(len(caches) - 2, -1, -1):
        dA = F.dense_backward(dA, caches[l])[0]
        dA_prevs[l] = dA

    tX = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    tparams = [(torch.tensor(W, dtype=torch.float64, requires_grad=True),
                torch.tensor(b, dtype=torch.float64, requires_grad=True)) for W, b in params]
    A, inputs = tX, []
    for l, (W, b) in enumerate(tparams):
        A.retain_grad()
        inputs.append(A)
        A = torch_activation(torch, out_act if l == len(tparams) - 1 else hidden_act, W @ A + b)
    tY = torch.tensor(Y, dtype=torch.float64)
    if loss == "dA":
        J = torch.sum(torch.tensor(dA_out, dtype=torch.float64) * A) / m
    elif loss == "bce":
        J = -torch.sum(tY * torch.log(A) + (1 - tY) * torch.log(1 - A)) / m
    elif loss == "cce":
        J = -torch.sum(tY * torch.log(A)) / m
    else:
        J = torch.sum(0.5 * (A - tY) ** 2) / m
    J.backward()

    np.testing.assert_allclose(AL, A.detach().numpy(), rtol=1e-12)
    for l, ((W, b), (dW, db)) in enumerate(zip(tparams, grads)):
        np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=f"dW{l + 1}")
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=f"db{l + 1}")
        # the lecture's dA_prev is per example: m times the gradient of the mean cost
        np.testing.assert_allclose(dA_prevs[l], inputs[l].grad.numpy() * m, rtol=1e-10,
                                   atol=1e-14, err_msg=f"dA{l}")


# ------------------------------------------------------------------- NaN

@pytest.mark.parametrize("a_order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_nan_in_A_prev_propagates_to_its_column(activation, dtype, a_order):
    A_prev, W, b, dA = make_layer(4, 5, 6, dtype, a_order, "C", seed=43)
    A_prev[2, 3] = np.nan
    act = ACTIVATIONS[activation]
    A, cache = F.dense_forward(A_prev, W, b, act)
    assert np.isnan(A[:, 3]).all()
    good = [j for j in range(6) if j != 3]
    _, A_want = ref_forward(A_prev[:, good], W, b, act)
    np.testing.assert_allclose(A[:, good], A_want, rtol=RTOL[np.dtype(dtype)] * 10,
                               atol=RTOL[np.dtype(dtype)])
    dA_prev, dW, db = F.dense_backward(dA, cache)  # no crash, no warning
    assert np.isfinite(dA_prev[:, good]).all()
    assert dW.shape == W.shape and db.shape == b.shape


# ---------------------------------------------------------------- errors

def test_shape_mismatch_names_shapes_and_layer():
    with pytest.raises(ValueError) as info:
        F.dense_forward(np.ones((4, 7)), np.ones((3, 5)), np.zeros((3, 1)), "relu", layer=3)
    msg = str(info.value)
    assert "(3, 5)" in msg and "(4, 7)" in msg and "layer 3" in msg
    with pytest.raises(ValueError) as info:
        F.dense_forward(np.ones((4, 7)), np.ones((3, 5)), np.zeros((3, 1)), "relu")
    assert "layer" not in str(info.value)


@pytest.mark.parametrize("b", [np.zeros((4, 1)), np.zeros((1, 3)), np.zeros((3, 2)),
                               np.zeros(4), np.zeros((3, 1, 1)), np.zeros(())],
                         ids=["rows", "row", "cols", "flat", "3d", "scalar"])
def test_bad_bias_shape(b):
    with pytest.raises(ValueError, match="b"):
        F.dense_forward(np.ones((5, 7)), np.ones((3, 5)), b, "relu")


@pytest.mark.parametrize("which", ["A_prev", "W", "b"])
def test_dtype_mismatch(which):
    arrays = {"A_prev": np.ones((5, 7), np.float32), "W": np.ones((3, 5), np.float32),
              "b": np.zeros((3, 1), np.float32)}
    arrays[which] = arrays[which].astype(np.float64)
    with pytest.raises(TypeError, match="dtype"):
        F.dense_forward(arrays["A_prev"], arrays["W"], arrays["b"], "relu")


@pytest.mark.parametrize("which", ["A_prev", "W", "b"])
@pytest.mark.parametrize("bad", [np.int64, np.int32, np.bool_, np.complex128, np.float16])
def test_non_float_dtypes(which, bad):
    arrays = {"A_prev": np.ones((5, 7)), "W": np.ones((3, 5)), "b": np.zeros((3, 1))}
    arrays[which] = arrays[which].astype(bad)
    with pytest.raises(TypeError, match=which):
        F.dense_forward(arrays["A_prev"], arrays["W"], arrays["b"], "relu")


@pytest.mark.parametrize("A_prev", [np.ones(5), np.ones((5, 7, 1)), np.float64(1.0)],
                         ids=["1d", "3d", "scalar"])
def test_A_prev_must_be_2d(A_prev):
    with pytest.raises(ValueError, match="A_prev"):
        F.dense_forward(A_prev, np.ones((3, 5)), np.zeros((3, 1)), "relu")


def test_W_must_be_2d():
    with pytest.raises(ValueError, match="W"):
        F.dense_forward(np.ones((5, 7)), np.ones(5), np.zeros((1, 1)), "relu")


def test_unknown_activation():
    with pytest.raises(ValueError, match="bent_identity"):
        F.dense_forward(np.ones((5, 7)), np.ones((3, 5)), np.zeros((3, 1)), "bent_identity")


@pytest.mark.parametrize("dA_shape", [(3, 6), (7, 3), (3,), (21,), (3, 7, 1)])
def test_dA_shape_must_match_A(dA_shape):
    _, cache = F.dense_forward(np.ones((5, 7)), np.ones((3, 5)), np.zeros((3, 1)), "relu")
    with pytest.raises(ValueError, match="dA"):
        F.dense_backward(np.ones(dA_shape), cache)


def test_Y_shape_must_match_A():
    _, cache = F.dense_forward(np.ones((5, 7)), np.ones((1, 5)), np.zeros((1, 1)), "sigmoid")
    with pytest.raises(ValueError, match="Y"):
        F.dense_output_backward(np.ones((1, 6)), cache)


def test_dA_dtype_must_match():
    _, cache = F.dense_forward(np.ones((5, 7), np.float32), np.ones((3, 5), np.float32),
                               np.zeros((3, 1), np.float32), "relu")
    with pytest.raises(TypeError, match="dtype"):
        F.dense_backward(np.ones((3, 7)), cache)
    with pytest.raises(TypeError, match="dA"):
        F.dense_backward(np.ones((3, 7), dtype=np.int64), cache)


@pytest.mark.parametrize("cache", [
    None, {"A_prev": 1}, [np.ones((5, 7)), np.ones((3, 5)), np.zeros((3, 1)),
                          np.ones((3, 7)), activations.get("relu")],
    (np.ones((5, 7)), np.ones((3, 5)), np.zeros((3, 1))),
    ((np.ones((5, 7)), np.ones((3, 5)), np.zeros((3, 1))), np.ones((3, 7))),
], ids=["none", "dict", "list", "3-tuple", "course-cache"])
@pytest.mark.parametrize("func", [F.dense_backward, F.dense_output_backward],
                         ids=["backward", "output_backward"])
def test_cache_must_be_a_dense_cache(func, cache):
    with pytest.raises(TypeError, match="cache"):
        func(np.ones((3, 7)), cache)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_dense_cache_with_activation_name(activation):
    """A DenseCache built by hand with the activation's name works like the real one."""
    A_prev, W, b, dA = make_layer(3, 5, 7, np.float64, seed=47)
    A, cache = F.dense_forward(A_prev, W, b, activation)
    by_name = F.DenseCache(A_prev, W, b, A, activation)
    for got, want in zip(F.dense_backward(dA, by_name), F.dense_backward(dA, cache)):
        np.testing.assert_array_equal(got, want)
    Y = (dA > 0).astype(np.float64)
    if activation == "sigmoid":
        for got, want in zip(F.dense_output_backward(Y, by_name),
                             F.dense_output_backward(Y, cache)):
            np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------ sgd_update

@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 30), (7,)], ids=shape_id)
def test_sgd_update(shape, dtype, order):
    rng = np.random.default_rng(53)
    p = np.array(rng.standard_normal(shape), dtype=dtype, order=order)
    g = np.array(rng.standard_normal(shape), dtype=dtype, order=order)
    p0 = p.copy()
    lr = 0.0375
    new = F.sgd_update(p, g, lr)
    assert new is not p
    assert new.dtype == np.dtype(dtype) and new.shape == p.shape
    np.testing.assert_array_equal(p, p0)  # not modified without out=
    want = f64(p) - lr * f64(g)
    eps = np.finfo(dtype).eps
    # one rounding of lr * g and one of the difference (or one, fused)
    np.testing.assert_allclose(new, want, rtol=2 * eps, atol=2 * eps * np.abs(lr * f64(g)).max())

    out = F.sgd_update(p, g, lr, out=p)
    assert out is p
    np.testing.assert_array_equal(p, new)


@pytest.mark.parametrize("lr", [1, np.float32(0.5), np.float64(0.25), 0.0])
def test_sgd_update_accepts_real_numbers(lr):
    p, g = np.ones((2, 2)), np.full((2, 2), 2.0)
    np.testing.assert_allclose(F.sgd_update(p, g, lr), 1.0 - float(lr) * 2.0)


@pytest.mark.parametrize("lr, error", [
    ("0.1", TypeError), (None, TypeError), (True, TypeError), (np.array([0.1]), TypeError),
    (float("nan"), ValueError), (float("inf"), ValueError), (-float("inf"), ValueError),
])
def test_sgd_update_bad_learning_rate(lr, error):
    p = np.ones((2, 2))
    with pytest.raises(error, match="learning_rate"):
        F.sgd_update(p, np.ones((2, 2)), lr)
    np.testing.assert_array_equal(p, 1.0)


def test_sgd_update_errors():
    with pytest.raises(TypeError):
        F.sgd_update(np.ones((2, 2), np.int64), np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError):
        F.sgd_update(np.ones((2, 2)), np.ones((3, 2)), 0.1)
    with pytest.raises((TypeError, ValueError)):
        F.sgd_update(np.ones((2, 2)), np.ones((2, 2)), 0.1, out=np.ones((2, 2), np.float32))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n_l, n_prev, m", [(4096, 8, 3), (1, 4096, 5), (4096, 1, 1)])
def test_extreme_layer_widths(n_l, n_prev, m, order):
    """n_l up to 4096 and one-unit layers, through BLAS and the direct small loops."""
    A_prev, W, b, dA = make_layer(n_l, n_prev, m, np.float64, a_order=order, seed=5)
    A, cache = F.dense_forward(A_prev, W, b, "tanh")
    Z, A_ref = ref_forward(A_prev, W, b, "tanh")
    np.testing.assert_allclose(A, A_ref, rtol=1e-12, atol=1e-14)
    got = F.dense_backward(dA, cache)
    want = ref_linear_backward(ref_dZ(dA, Z, A_ref, "tanh"), A_prev, W, b.shape)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
