"""Tests of ``fastdnn.functional`` against the plain-NumPy oracle ``fastdnn.reference``.

The oracle is evaluated in float64 (float32 inputs are up-cast first), so that
it is at least as accurate as the kernels; the kernels' results are then
compared with ``rtol`` 1e-6 (float32) or 1e-13 (float64). The small ``atol``
only absorbs the oracle's own cancellation near zero (``1 - a**2``,
``s * (1 - s)``), scaled by the magnitude of the inputs.

Every warning is an error in this module: the library promises to emit none.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

import fastdnn
from fastdnn import functional as F
from fastdnn import reference as R

pytestmark = pytest.mark.filterwarnings("error")

ALPHA = 0.05  # a non-default slope: a kernel that ignores ``alpha`` fails
DTYPES = [np.float32, np.float64]
ORDERS = ["C", "F"]
SIMD_SIZES = (1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 127, 129)
SHAPES = [(), (0,), (3, 0)] + [(n,) for n in SIMD_SIZES] + [(5, 7), (3, 17)]
RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}
ATOL = 1e-14
HYPOTHESIS = settings(max_examples=50, deadline=None)


# name -> (fastdnn function f(x, out=None), oracle on float64 arrays)
UNARY = {
    "sigmoid": (F.sigmoid, R.sigmoid),
    "tanh": (F.tanh, R.tanh),
    "relu": (F.relu, R.relu),
    "leaky_relu": (partial(F.leaky_relu, alpha=ALPHA), partial(R.leaky_relu, alpha=ALPHA)),
    "leaky_relu_default_alpha": (F.leaky_relu, R.leaky_relu),
    "linear": (F.linear, R.linear),
    "sigmoid_derivative_z": (partial(F.sigmoid_derivative, from_output=False),
                             R.sigmoid_derivative),
    "sigmoid_derivative_a": (partial(F.sigmoid_derivative, from_output=True),
                             lambda a: R.sigmoid_backward(np.ones_like(a), a)),
    "tanh_derivative_z": (partial(F.tanh_derivative, from_output=False), R.tanh_derivative),
    "tanh_derivative_a": (partial(F.tanh_derivative, from_output=True), lambda a: 1 - a ** 2),
    "relu_derivative_z": (partial(F.relu_derivative, from_output=False), R.relu_derivative),
    "relu_derivative_a": (partial(F.relu_derivative, from_output=True),
                          lambda a: (a > 0).astype(a.dtype)),
    "leaky_relu_derivative_z": (partial(F.leaky_relu_derivative, alpha=ALPHA, from_output=False),
                                partial(R.leaky_relu_derivative, alpha=ALPHA)),
    "leaky_relu_derivative_a": (partial(F.leaky_relu_derivative, alpha=ALPHA, from_output=True),
                                lambda a: np.where(a >= 0, 1.0, ALPHA)),
    "linear_derivative_z": (partial(F.linear_derivative, from_output=False), np.ones_like),
    "linear_derivative_a": (partial(F.linear_derivative, from_output=True), np.ones_like),
}

# name -> (fastdnn backward f(dA, a, out=None), oracle, derivative from the output a)
BINARY = {
    "sigmoid_backward": (F.sigmoid_backward, R.sigmoid_backward,
                         partial(F.sigmoid_derivative, from_output=True)),
    "tanh_backward": (F.tanh_backward, R.tanh_backward,
                      partial(F.tanh_derivative, from_output=True)),
    "relu_backward": (F.relu_backward, R.relu_backward,
                      partial(F.relu_derivative, from_output=True)),
    "leaky_relu_backward": (partial(F.leaky_relu_backward, alpha=ALPHA),
                            partial(R.leaky_relu_backward, alpha=ALPHA),
                            partial(F.leaky_relu_derivative, alpha=ALPHA, from_output=True)),
    "linear_backward": (F.linear_backward, R.linear_backward,
                        partial(F.linear_derivative, from_output=True)),
}

DERIVATIVES = [F.sigmoid_derivative, F.tanh_derivative, F.relu_derivative,
               F.leaky_relu_derivative, F.linear_derivative]


ALL_OPS = list(UNARY) + list(BINARY)
# every public function by name, softmax included
FAST = {name: ops[0] for name, ops in {**UNARY, **BINARY}.items()}
FAST.update(softmax=F.softmax, softmax_backward=F.softmax_backward)
DA = 0.75  # the upstream gradient used when a backward op is applied to one array


def _args(name, x):
    """(function, positional args) applying op ``name`` to ``x``; backward ops get dA = DA."""
    if name in UNARY or name == "softmax":
        return FAST[name], (x,)
    return FAST[name], (np.full(np.shape(x), DA, dtype=np.result_type(x)), x)


def _call(name, x, out=None):
    fast, args = _args(name, x)
    return fast(*args, out=out)


def _oracle(name):
    """The oracle of op ``name`` as a function of the one array ``_call`` varies."""
    if name in UNARY:
        return UNARY[name][1]
    oracle = BINARY[name][1]
    return lambda x: oracle(np.full(np.shape(x), DA), x)


# ----------------------------------------------------------------- helpers

def sample(shape, dtype=np.float64, order="C", lo=-6.0, hi=6.0, seed=0):
    """Random values in [lo, hi] with exact zeros sprinkled in (the ReLU kink)."""
    x = np.asarray(np.random.default_rng(seed).uniform(lo, hi, size=shape))
    x.reshape(-1)[1::4] = 0.0
    return np.array(x, dtype=dtype, order=order)


def expected(oracle, *args):
    """The oracle on float64 copies of ``args``, without warnings."""
    with np.errstate(all="ignore"):
        return np.asarray(oracle(*(np.asarray(a, dtype=np.float64) for a in args)))


def _max_abs(x):
    x = np.asarray(x)
    return float(np.max(np.abs(x), initial=0, where=np.isfinite(x)))


def assert_matches(got, want, dtype, *inputs):
    """``got`` equals the float64 oracle ``want`` to the precision of ``dtype``.

    ``atol`` covers the oracle's own rounding error near zero, which grows like
    the square of the inputs' magnitude (``dA * (1 - a**2)``).
    """
    scale = max([1.0] + [_max_abs(x) for x in inputs])
    np.testing.assert_allclose(got, want, rtol=RTOL[np.dtype(dtype)], atol=ATOL * scale ** 2,
                               equal_nan=True)


def assert_softmax_backward_matches(got, dA, a, axis, dtype):
    """``a * (dA - sum(dA * a))`` cancels: allow a few ulp of ``|a| * |dA|``."""
    want = expected(partial(R.softmax_backward, axis=axis), dA, a)
    atol = 8 * RTOL[np.dtype(dtype)] * _max_abs(a) * max(1.0, _max_abs(dA))
    np.testing.assert_allclose(got, want, rtol=RTOL[np.dtype(dtype)], atol=atol)


def backward_checked(name, dA, a, dtype):
    """Run backward op ``name`` (or softmax_backward on axis 0), check it against its oracle."""
    if name == "softmax_backward":
        got = F.softmax_backward(dA, a)
        assert_softmax_backward_matches(got, *np.broadcast_arrays(dA, a), 0, dtype)
    else:
        fast, oracle, _ = BINARY[name]
        got = fast(dA, a)
        assert_matches(got, expected(oracle, dA, a), dtype, dA, a)
    return got


def assert_result_like(got, like, shape=None, dtype=None):
    """Result dtype, shape, scalar-ness and memory order follow the input ``like``."""
    shape = like.shape if shape is None else shape
    dtype = like.dtype if dtype is None else np.dtype(dtype)
    assert got.dtype == dtype
    assert np.shape(got) == shape
    if shape == ():
        assert isinstance(got, np.generic) and not isinstance(got, np.ndarray)
        return
    assert isinstance(got, np.ndarray)
    if like.flags.c_contiguous:
        assert got.flags.c_contiguous
    if like.flags.f_contiguous:
        assert got.flags.f_contiguous


def misaligned(values):
    """A writeable, unaligned copy of the 1-D array ``values``."""
    values = np.asarray(values)
    n, size = values.size, values.dtype.itemsize
    buf = np.frombuffer(bytearray(size * n + 1), dtype=values.dtype, offset=1, count=n)
    buf[...] = values
    assert not buf.flags.aligned
    return buf


def dtype_id(dtype):
    return np.dtype(dtype).name


def shape_id(shape):
    return "x".join(map(str, shape)) or "scalar"


# ---------------------------------------------- values, dtype, shape, order

@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_reference(name, dtype, order, shape):
    fast, oracle = UNARY[name]
    z = sample(shape, dtype, order)
    got = fast(z)
    assert_result_like(got, z)
    assert_matches(got, expected(oracle, z), dtype, z)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", BINARY)
def test_backward_matches_reference(name, dtype, order, shape):
    fast, oracle, _ = BINARY[name]
    dA = sample(shape, dtype, order, seed=1)
    a = sample(shape, dtype, order, lo=-1.5, hi=1.5, seed=2)
    got = fast(dA, a)
    assert_result_like(got, a)
    assert_matches(got, expected(oracle, dA, a), dtype, dA, a)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ["sigmoid", "tanh_derivative_z", "relu_backward",
                                  "sigmoid_backward"])
def test_large_array_matches_reference(name, dtype):
    z = sample((10 ** 6,), dtype, lo=-20, hi=20, seed=3)
    got = _call(name, z)
    assert_result_like(got, z)
    assert_matches(got, expected(_oracle(name), z), dtype, z)


@pytest.mark.parametrize("shape", [(), (1,), (17,), (5, 7)], ids=shape_id)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", BINARY)
def test_backward_is_dA_times_derivative_from_output(name, dtype, shape):
    fast, _, derivative = BINARY[name]
    dA = sample(shape, dtype, seed=4)
    a = sample(shape, dtype, lo=-1.5, hi=1.5, seed=5)
    if a.size:
        a.reshape(-1)[-1] = np.nan
    np.testing.assert_array_equal(fast(dA, a), dA * derivative(a))


# ------------------------------------------------------------------ scalars

@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ALL_OPS)
def test_numpy_scalar_gives_numpy_scalar(name, dtype):
    got = _call(name, dtype(0.5))
    assert type(got) is dtype
    assert_matches(got, expected(_oracle(name), 0.5), dtype)


@pytest.mark.parametrize("name", ALL_OPS)
def test_zero_d_with_out_returns_out(name):
    out = np.empty((), dtype=np.float32)
    assert _call(name, np.float32(0.5), out=out) is out
    assert_matches(out, expected(_oracle(name), 0.5), np.float32)


def test_python_scalars_and_lists():
    assert F.sigmoid(0) == 0.5 and type(F.sigmoid(0)) is np.float64
    assert type(F.tanh(0.5)) is np.float64
    got = F.relu([1, -2])
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [1.0, 0.0])
    np.testing.assert_array_equal(F.leaky_relu((-100, 2), alpha=0.5), [-50.0, 2.0])
    np.testing.assert_array_equal(F.relu_derivative([[-1, 0, 2]]), [[0.0, 1.0, 1.0]])
    np.testing.assert_array_equal(F.relu_backward([1, 1], [0, 3]), [0.0, 1.0])
    assert F.sigmoid_backward(2.0, 0.5) == 0.5
    np.testing.assert_allclose(F.softmax([[0, 0], [0, 0]]), np.full((2, 2), 0.5))


# ---------------------------------------------------------------- dtypes

BAD_DTYPES = ["int32", "int64", "float16", "complex128", "bool", "object"]


@pytest.mark.parametrize("bad", BAD_DTYPES)
@pytest.mark.parametrize("name", list(UNARY) + ["softmax"])
def test_unary_rejects_dtype_by_name(name, bad):
    with pytest.raises(TypeError, match=bad):
        FAST[name](np.zeros(3, dtype=bad))


@pytest.mark.parametrize("bad", BAD_DTYPES)
@pytest.mark.parametrize("which", ["dA", "a"])
@pytest.mark.parametrize("name", list(BINARY) + ["softmax_backward"])
def test_backward_rejects_dtype_by_name(name, which, bad):
    args = {"dA": np.ones(3), "a": np.full(3, 0.5)}
    args[which] = np.zeros(3, dtype=bad)
    with pytest.raises(TypeError, match=bad):
        FAST[name](args["dA"], args["a"])


@pytest.mark.parametrize("dtype", [">f4", ">f8"])
@pytest.mark.parametrize("name", ALL_OPS)
def test_big_endian_input(name, dtype):
    z = sample((9,), dtype, seed=6)
    assert not z.dtype.isnative
    got = _call(name, z)
    assert got.dtype == z.dtype.newbyteorder("=")
    assert_matches(got, expected(_oracle(name), z), got.dtype, z)


@pytest.mark.parametrize("dtypes", [(np.float32, np.float64), (np.float64, np.float32)],
                         ids=["f32_dA", "f32_a"])
@pytest.mark.parametrize("name", list(BINARY) + ["softmax_backward"])
def test_backward_mixed_precision_is_float64(name, dtypes):
    dA = sample((4, 3), dtypes[0], seed=7)
    a = sample((4, 3), dtypes[1], lo=0.0, hi=1.0, seed=8)
    got = backward_checked(name, dA, a, np.float64)
    assert got.dtype == np.float64 == np.result_type(dA, a)


@pytest.mark.parametrize("name", BINARY)
def test_backward_python_float_dA_keeps_float32(name):
    a = np.array([0.25, 0.5], dtype=np.float32)
    assert BINARY[name][0](2.0, a).dtype == (2.0 * a).dtype == np.float32


# ------------------------------------------------------------------- out=

@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ALL_OPS)
def test_out_is_filled_and_returned(name, dtype, order):
    z = sample((5, 7), dtype, order, lo=-1.5, hi=1.5, seed=9)
    fast, args = _args(name, z)
    want = fast(*args)
    out = np.full((5, 7), np.nan, dtype=dtype, order=order)
    assert fast(*args, out=out) is out
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ALL_OPS)
def test_out_other_memory_order(name, dtype):
    z = sample((5, 7), dtype, "C", lo=-1.5, hi=1.5, seed=9)
    fast, args = _args(name, z)
    out = np.empty((5, 7), dtype=dtype, order="F")
    assert fast(*args, out=out) is out
    np.testing.assert_array_equal(out, fast(*args))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ALL_OPS)
def test_in_place(name, dtype):
    z = sample((33,), dtype, lo=-1.5, hi=1.5, seed=10)
    fast, args = _args(name, z)
    want = fast(*args)
    for i in range(len(args)):
        args_copy = tuple(x.copy() for x in args)
        assert fast(*args_copy, out=args_copy[i]) is args_copy[i]
        np.testing.assert_array_equal(args_copy[i], want)


@pytest.mark.parametrize("name", ALL_OPS)
def test_out_strided_view(name):
    z = sample((17,), np.float64, lo=-1.5, hi=1.5, seed=11)
    fast, args = _args(name, z)
    big = np.full(34, -7.0)
    assert fast(*args, out=big[::2]).base is big
    np.testing.assert_array_equal(big[::2], fast(*args))
    np.testing.assert_array_equal(big[1::2], -7.0)


OVERLAPS = {
    "shift_right": (slice(None, -1), slice(1, None)),
    "shift_left": (slice(1, None), slice(None, -1)),
    "reversed": (slice(None), slice(None, None, -1)),
}


OVERLAP_TARGETS = ([(name, "z") for name in list(UNARY) + ["softmax"]]
                   + [(name, which) for name in list(BINARY) + ["softmax_backward"]
                      for which in ("a", "dA")])


@pytest.mark.parametrize("overlap", OVERLAPS)
@pytest.mark.parametrize("name, which", OVERLAP_TARGETS, ids="-".join)
def test_out_partial_overlap(name, which, overlap):
    """``out`` sharing memory with an input gives the result of the input's copy."""
    buf = sample((65,), np.float64, lo=-1.5, hi=1.5, seed=12)
    src, dst = (buf[s] for s in OVERLAPS[overlap])
    other = sample(src.shape, lo=0.0, hi=1.0, seed=33)
    fast = FAST[name]
    args, pos = {"z": ([src], 0), "a": ([other, src], 1), "dA": ([src, other], 0)}[which]
    copies = list(args)
    copies[pos] = src.copy()
    want = fast(*copies)
    assert fast(*args, out=dst) is dst
    np.testing.assert_array_equal(dst, want)


def _bad_outs():
    ro = np.empty(4)
    ro.flags.writeable = False
    return [
        pytest.param(np.empty(5), ValueError, id="wrong-shape"),
        pytest.param(np.empty((4, 1)), ValueError, id="wrong-ndim"),
        pytest.param(np.empty(4, dtype=np.float32), TypeError, id="wrong-dtype"),
        pytest.param(np.empty(4, dtype=np.int64), TypeError, id="int-dtype"),
        pytest.param(ro, ValueError, id="read-only"),
        pytest.param([0.0] * 4, TypeError, id="list"),
    ]


@pytest.mark.parametrize("out, error", _bad_outs())
@pytest.mark.parametrize("name", list(FAST))
def test_bad_out(name, out, error):
    with pytest.raises(error, match="out"):
        _call(name, np.linspace(-1, 1, 4), out=out)


# --------------------------------------------------- non-contiguous inputs

VIEWS = {
    "step2": lambda x: x[::2],
    "cols_step3": lambda x: x[:, ::3],
    "reversed": lambda x: x[::-1],
    "reversed_cols": lambda x: x[:, ::-1],
    "transpose": lambda x: x.T,
    "reversed_step2_T": lambda x: x[::-2, 1::2].T,
}


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("name", ALL_OPS)
def test_non_contiguous_input(name, view, dtype):
    z = VIEWS[view](sample((9, 11), dtype, lo=-1.5, hi=1.5, seed=13))
    got = _call(name, z)
    assert got.dtype == dtype and got.shape == z.shape
    assert_matches(got, expected(_oracle(name), z), dtype, z)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ALL_OPS)
def test_misaligned_input(name, dtype):
    z = misaligned(sample((33,), dtype, lo=-1.5, hi=1.5, seed=14))
    got = _call(name, z)
    assert got.dtype == dtype and got.shape == z.shape
    assert_matches(got, expected(_oracle(name), z), dtype, z)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", ALL_OPS)
def test_misaligned_out_and_in_place(name, dtype):
    z = sample((33,), dtype, lo=-1.5, hi=1.5, seed=15)
    want = _call(name, z)
    buf = misaligned(z)
    assert _call(name, buf, out=buf) is buf
    np.testing.assert_array_equal(buf, want)


@pytest.mark.parametrize("layout", ["strided_dA", "C_dA_F_a", "F_dA_C_a", "misaligned_a"])
@pytest.mark.parametrize("name", list(BINARY) + ["softmax_backward"])
def test_backward_non_contiguous_and_mixed_order(name, layout):
    dA = sample((6, 8), seed=16)[::2, ::-1]
    a = sample((3, 8), lo=0.0, hi=1.0, seed=17)
    if layout == "C_dA_F_a":
        dA, a = np.ascontiguousarray(dA), np.asfortranarray(a)
    elif layout == "F_dA_C_a":
        dA = np.asfortranarray(dA)
    elif layout == "misaligned_a":
        a = misaligned(a.ravel()).reshape(3, 8)
    assert backward_checked(name, dA, a, np.float64).shape == (3, 8)


# ------------------------------------------------------------ broadcasting

BROADCASTS = [((3, 1), (3, 4)), ((), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)),
              ((1, 4), (3, 1)), ((3, 4), ()), ((2, 1, 4), (3, 1))]


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: f"{shape_id(s[0])}-{shape_id(s[1])}")
@pytest.mark.parametrize("name", list(BINARY) + ["softmax_backward"])
def test_backward_broadcasting(name, shapes, dtype):
    dA = sample(shapes[0], dtype, seed=18)
    a = sample(shapes[1], dtype, lo=0.0, hi=1.0, seed=19)
    got = backward_checked(name, dA, a, dtype)
    assert got.dtype == dtype and got.shape == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("name", BINARY)
def test_backward_python_float_dA_broadcasts(name):
    fast, oracle, _ = BINARY[name]
    a = sample((3, 4), lo=-1.5, hi=1.5, seed=20)
    got = fast(2.5, a)
    assert got.shape == (3, 4)
    assert_matches(got, expected(oracle, np.full((3, 4), 2.5), a), np.float64, a)


@pytest.mark.parametrize("name", list(BINARY) + ["softmax_backward"])
def test_backward_incompatible_shapes(name):
    with pytest.raises(ValueError, match=r"dA.*\(3, 2\).*a.*\(3, 4\)"):
        FAST[name](np.ones((3, 2)), np.ones((3, 4)))


# ---------------------------------------------------------- special values

NAN_DATA = [0.5, np.nan, -1.0, 0.0, 2.0, -3.0, 1.0, 0.25, -0.5, 4.0, 1e-3, -2.0, 3.0, 0.75,
            -0.25, 5.0, np.nan]  # a NaN in the scalar tail of 16-wide SIMD loops too


# the identity's derivative does not depend on its input: 1 everywhere, NaN included
CONSTANT_IN_INPUT = [name for name in ALL_OPS if name.startswith("linear_")]


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", [n for n in ALL_OPS if n not in CONSTANT_IN_INPUT])
def test_nan_propagates_from_input(name, dtype):
    z = np.array(NAN_DATA, dtype=dtype)
    got = _call(name, z)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(z))
    assert np.isnan(_call(name, dtype(np.nan)))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", CONSTANT_IN_INPUT)
def test_linear_derivative_ignores_nan_in_its_input(simd, name, dtype):
    # as np.ones_like and PyTorch's and Keras' gradients of the identity: ones, and dA
    # passed through unchanged (a NaN upstream still reaches dA itself)
    for n in (len(NAN_DATA), 1000):
        z = np.resize(np.array(NAN_DATA, dtype=dtype), n)
        got = _call(name, z)
        want = np.ones_like(z) if name in UNARY else np.full_like(z, DA)
        np.testing.assert_array_equal(got, want)
    assert _call(name, dtype(np.nan)) == (1 if name in UNARY else DA)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("name", BINARY)
def test_nan_propagates_from_dA(name, dtype):
    dA = np.array(NAN_DATA, dtype=dtype)
    a = np.linspace(-1, 1, dA.size, dtype=dtype)
    np.testing.assert_array_equal(np.isnan(BINARY[name][0](dA, a)), np.isnan(dA))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("func, z, want", [
    (F.sigmoid, -np.inf, 0.0), (F.sigmoid, np.inf, 1.0),
    (F.sigmoid, -1000.0, 0.0), (F.sigmoid, 1000.0, 1.0),
    (F.tanh, -np.inf, -1.0), (F.tanh, np.inf, 1.0), (F.tanh, -1000.0, -1.0),
    (F.relu, -np.inf, 0.0), (F.relu, np.inf, np.inf),
    (F.leaky_relu, np.inf, np.inf), (F.leaky_relu, -np.inf, -np.inf),
    (F.sigmoid_derivative, np.inf, 0.0), (F.sigmoid_derivative, -np.inf, 0.0),
    (F.tanh_derivative, np.inf, 0.0), (F.tanh_derivative, -1000.0, 0.0),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_limits(func, z, want, dtype):
    got = func(dtype(z))
    assert got == want and got.dtype == dtype
    got = func(np.full(17, z, dtype=dtype))
    np.testing.assert_array_equal(got, np.full(17, want, dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_tanh_keeps_sign_of_zero(dtype):
    got = F.tanh(np.array([-0.0, 0.0] * 9, dtype=dtype))
    np.testing.assert_array_equal(np.signbit(got), [True, False] * 9)
    assert np.signbit(F.tanh(dtype(-0.0)))


_NAN_THROUGH = {
    "tanh": F.tanh, "gelu": F.gelu, "gelu_tanh": partial(F.gelu, approximate=True),
    "elu": F.elu, "selu": F.selu,
    "elu_derivative(a)": partial(F.elu_derivative, from_output=True),
    "selu_derivative(a)": partial(F.selu_derivative, from_output=True),
}


@pytest.mark.parametrize("name", sorted(_NAN_THROUGH))
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_a_quiet_nan_comes_back_as_it_is(simd, dtype, name):
    """The functions that let a NaN through their arithmetic or their last select instead
    of putting it back: a quiet NaN's sign and payload come back, in the vector loop and
    its scalar tail, between finite values and infinities."""
    uint = np.uint32 if dtype == np.float32 else np.uint64
    top = 0x7FC00000 if dtype == np.float32 else 0x7FF8000000000000
    sign = 0x80000000 if dtype == np.float32 else 0x8000000000000000
    nans = np.array([top, top | sign, top | 0x12345, top | sign | 0x1], dtype=uint)
    z = np.linspace(-30, 30, 37).astype(dtype)
    z[[0, 9, 18]] = [np.inf, -np.inf, 0.5]
    for at in (1, 5, 17, 33, 36):
        x = z.copy()
        x[at] = nans[at % 4].view(dtype)
        got = _NAN_THROUGH[name](x)
        assert got.view(uint)[at] == nans[at % 4]
        keep = np.arange(x.size) != at
        np.testing.assert_array_equal(got[keep], _NAN_THROUGH[name](z)[keep])


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_silu_keeps_sign_of_zero(simd, dtype):
    """silu(z) = z sigma(z): +0 and -0 come back as they are, on every SIMD path (the
    vector loop and its scalar tail)."""
    got = F.silu(np.array([-0.0, 0.0] * 9, dtype=dtype))
    np.testing.assert_array_equal(np.signbit(got), [True, False] * 9)
    np.testing.assert_array_equal(got, 0.0)
    assert np.signbit(F.silu(dtype(-0.0))) and not np.signbit(F.silu(dtype(0.0)))


def test_sigmoid_float32_underflows_gradually():
    got = F.sigmoid(np.float32(-100.0))
    want = np.float32(np.exp(-100.0))
    tiny = np.finfo(np.float32).smallest_subnormal
    assert 0 < got < np.finfo(np.float32).tiny
    assert abs(float(got) - float(want)) <= 4 * float(tiny)


@pytest.mark.parametrize("x", [np.float32(1e-40), np.float32(-1e-40),
                               np.float64(1e-310), np.float64(-1e-310)], ids=str)
def test_denormal_inputs(x):
    assert x != 0 and abs(x) < np.finfo(type(x)).tiny
    for xs in (x, np.full(17, x)):
        np.testing.assert_array_equal(F.tanh(xs), xs)
        np.testing.assert_array_equal(F.linear(xs), xs)
        np.testing.assert_array_equal(F.sigmoid(xs), np.full_like(xs, 0.5))
        np.testing.assert_array_equal(F.sigmoid_derivative(xs), np.full_like(xs, 0.25))
        np.testing.assert_array_equal(F.tanh_derivative(xs), np.full_like(xs, 1.0))
        np.testing.assert_array_equal(F.relu(xs), xs if x > 0 else np.zeros_like(xs))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("func, x, want", [
    (F.sigmoid_derivative, 0.0, 0.25),
    (F.tanh_derivative, 0.0, 1.0),
    (F.relu_derivative, 0.0, 1.0), (F.relu_derivative, -1.0, 0.0), (F.relu_derivative, 2.0, 1.0),
    (F.leaky_relu_derivative, -1.0, 0.01), (F.leaky_relu_derivative, 0.0, 1.0),
    (F.leaky_relu_derivative, 3.0, 1.0), (F.linear_derivative, -7.0, 1.0),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_derivative_lecture_points(func, x, want, dtype):
    assert func(dtype(x)) == dtype(want)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_sigmoid_derivative_is_small_in_the_tails(dtype):
    got = F.sigmoid_derivative(np.array([-10.0, 10.0], dtype=dtype))
    assert np.all((got > 0) & (got < 5e-5))
    np.testing.assert_allclose(got, np.exp(-10.0) / (1 + np.exp(-10.0)) ** 2,
                               rtol=RTOL[np.dtype(dtype)])


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("func, a, want", [
    pytest.param(F.relu_derivative, [0.0, 1e-3, 2.0], [0.0, 1.0, 1.0], id="relu"),
    pytest.param(F.leaky_relu_derivative, [-0.5, 0.0, 2.0], [0.01, 1.0, 1.0], id="leaky"),
    pytest.param(F.sigmoid_derivative, [0.5, 0.0, 1.0], [0.25, 0.0, 0.0], id="sigmoid"),
    pytest.param(F.tanh_derivative, [0.0, 1.0, -1.0], [1.0, 0.0, 0.0], id="tanh"),
])
def test_derivative_from_output_points(func, a, want, dtype):
    got = func(np.array(a, dtype=dtype), from_output=True)
    np.testing.assert_array_equal(got, np.array(want, dtype=dtype))


def test_leaky_relu_with_zero_alpha_is_relu():
    """alpha = 0: a = 0 stands for every z <= 0, so the slope there is ReLU's 0."""
    z = sample((17,), seed=34)
    a = F.leaky_relu(z, alpha=0.0)
    np.testing.assert_array_equal(a, F.relu(z))
    np.testing.assert_array_equal(F.leaky_relu_derivative(z, alpha=0.0), F.relu_derivative(z))
    np.testing.assert_array_equal(F.leaky_relu_derivative(a, alpha=0.0, from_output=True),
                                  F.relu_derivative(a, from_output=True))
    dA = sample((17,), seed=35)
    np.testing.assert_array_equal(F.leaky_relu_backward(dA, a, alpha=0.0), F.relu_backward(dA, a))


# ------------------------------------------------------ argument validation

ALPHA_FUNCS = {
    "leaky_relu": lambda alpha: F.leaky_relu(np.ones(3), alpha=alpha),
    "leaky_relu_derivative": lambda alpha: F.leaky_relu_derivative(np.ones(3), alpha=alpha),
    "leaky_relu_derivative_a": lambda alpha: F.leaky_relu_derivative(np.ones(3), alpha,
                                                                     from_output=True),
    "leaky_relu_backward": lambda alpha: F.leaky_relu_backward(np.ones(3), np.ones(3),
                                                               alpha=alpha),
}


@pytest.mark.parametrize("alpha, error", [(-0.1, ValueError), (np.nan, ValueError),
                                          (np.inf, ValueError), (-np.inf, ValueError),
                                          ("0.1", TypeError)], ids=str)
@pytest.mark.parametrize("func", ALPHA_FUNCS)
def test_alpha_validation(func, alpha, error):
    with pytest.raises(error, match="alpha"):
        ALPHA_FUNCS[func](alpha)


@pytest.mark.parametrize("func", ALPHA_FUNCS)
def test_alpha_zero_and_numpy_alpha_accepted(func):
    assert np.all(np.isfinite(ALPHA_FUNCS[func](0.0)))
    assert np.all(np.isfinite(ALPHA_FUNCS[func](np.float32(0.2))))


@pytest.mark.parametrize("func", DERIVATIVES, ids=lambda f: f.__name__)
def test_from_output_must_be_bool(func):
    with pytest.raises(TypeError, match="from_output"):
        func(np.ones(3), from_output="yes")


# ------------------------------------------------------------------ softmax

SOFTMAX_CASES = [((5, 7), 0), ((5, 7), 1), ((5, 7), -1), ((5, 7), None), ((2, 3, 4), 0),
                 ((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), None), ((1,), 0), ((129,), 0),
                 ((3, 33), -2)]


def _softmax_id(case):
    return f"{shape_id(case[0])}-axis{case[1]}"


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=_softmax_id)
def test_softmax_matches_reference(case, dtype, order):
    shape, axis = case
    z = sample(shape, dtype, order, seed=21)
    got = F.softmax(z, axis=axis)
    assert_result_like(got, z)
    assert_matches(got, expected(partial(R.softmax, axis=axis), z), dtype)
    np.testing.assert_allclose(np.sum(got, axis=axis, dtype=np.float64), 1.0,
                               rtol=10 * RTOL[np.dtype(dtype)])


def test_softmax_default_axis_is_columns():
    z = sample((4, 6), seed=22)
    np.testing.assert_array_equal(F.softmax(z), F.softmax(z, axis=0))
    np.testing.assert_allclose(F.softmax(z).sum(axis=0), np.ones(6), rtol=1e-13)


@pytest.mark.parametrize("view", ["transpose", "cols_step3", "reversed"])
def test_softmax_non_contiguous(view):
    z = VIEWS[view](sample((9, 11), seed=23))
    assert_matches(F.softmax(z), expected(R.softmax, z), np.float64)
    z = misaligned(sample((33,), np.float32, seed=23))
    assert_matches(F.softmax(z), expected(R.softmax, z), np.float32)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_softmax_large_values_are_stable(dtype):
    z = np.array([[1000.0, -1000.0], [1001.0, -1001.0]], dtype=dtype)
    lo, hi = np.exp(-1.0) / (1 + np.exp(-1.0)), 1 / (1 + np.exp(-1.0))
    assert_matches(F.softmax(z), [[lo, hi], [hi, lo]], dtype)
    assert_matches(F.softmax(z.T, axis=1), [[lo, hi], [hi, lo]], dtype)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_nan_stays_in_its_slice(axis, order):
    z = np.asarray(sample((4, 5), seed=24), order=order)
    z[2, 3] = np.nan
    got = F.softmax(z, axis=axis)
    in_slice = np.zeros((4, 5), dtype=bool)
    in_slice[(slice(None), 3) if axis == 0 else (2, slice(None))] = True
    np.testing.assert_array_equal(np.isnan(got), in_slice)
    assert_matches(got[~in_slice], expected(partial(R.softmax, axis=axis), z)[~in_slice],
                   np.float64)


@pytest.mark.parametrize("axis", [2, -3, 5])
@pytest.mark.parametrize("func", [F.softmax, lambda z, axis: F.softmax_backward(z, z, axis)],
                         ids=["softmax", "softmax_backward"])
def test_softmax_axis_out_of_range(func, axis):
    with pytest.raises(np.exceptions.AxisError):
        func(np.ones((2, 3)), axis=axis)
    with pytest.raises(ValueError):
        func(np.ones((2, 3)), axis=axis)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("axis", [0, 1, None])
def test_softmax_out_and_in_place(axis, order):
    z = np.asarray(sample((5, 7), seed=25), order=order)
    want = F.softmax(z, axis=axis)
    out = np.empty_like(z)
    assert F.softmax(z, axis=axis, out=out) is out
    np.testing.assert_array_equal(out, want)
    strided = np.zeros((5, 14))
    F.softmax(z, axis=axis, out=strided[:, ::2])
    np.testing.assert_array_equal(strided[:, ::2], want)
    assert F.softmax(z, axis=axis, out=z) is z
    np.testing.assert_array_equal(z, want)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=_softmax_id)
def test_softmax_backward_matches_reference(case, dtype, order):
    shape, axis = case
    a = F.softmax(sample(shape, dtype, order, seed=26), axis=axis)
    dA = sample(shape, dtype, order, seed=27)
    got = F.softmax_backward(dA, a, axis=axis)
    assert_result_like(got, a)
    assert_softmax_backward_matches(got, dA, a, axis, dtype)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_softmax_backward_out_and_in_place(axis):
    a = F.softmax(sample((4, 6), seed=28), axis=axis)
    dA = sample((4, 6), seed=29)
    want = F.softmax_backward(dA, a, axis=axis)
    for target in ("dA", "a"):
        args = {"dA": dA.copy(), "a": a.copy()}
        assert F.softmax_backward(args["dA"], args["a"], axis=axis, out=args[target]) \
            is args[target]
        np.testing.assert_array_equal(args[target], want)


@pytest.mark.parametrize("case", [((5,), 0), ((4, 3), 0), ((4, 3), 1), ((2, 3, 4), 1),
                                  ((3, 4), None)], ids=_softmax_id)
def test_softmax_backward_finite_differences(case):
    shape, axis = case
    z = sample(shape, seed=30, lo=-2, hi=2)
    dA = sample(shape, seed=31)
    got = F.softmax_backward(dA, F.softmax(z, axis=axis), axis=axis)
    h = 1e-6
    numeric = np.empty(shape)
    for i in np.ndindex(shape):
        step = np.zeros(shape)
        step[i] = h
        loss = [np.sum(dA * F.softmax(z + s * step, axis=axis)) for s in (1, -1)]
        numeric[i] = (loss[0] - loss[1]) / (2 * h)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------ threads

@pytest.fixture
def default_threads():
    yield
    fastdnn.set_num_threads(None)


def _openmp():
    from fastdnn._kernels import _elementwise
    return _elementwise.openmp_enabled()


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu_backward"])
def test_thread_count_does_not_change_results(name, default_threads):
    z = sample((10 ** 6,), np.float32, seed=32)
    results = []
    for n in (1, 2):
        fastdnn.set_num_threads(n)
        assert fastdnn.get_num_threads() == (n if _openmp() else 1)
        results.append(_call(name, z))
    assert np.array_equal(results[0], results[1])
    assert_matches(results[1], expected(_oracle(name), z), np.float32, z)


@pytest.mark.parametrize("threads", [2, 3, 7])
@pytest.mark.parametrize("n", [7 * 4 * 4096 + 1, 10 ** 6 + 3])
def test_every_chunk_is_done_once_on_any_team(threads, n, default_threads):
    """Each thread takes its own run of chunks, then the others' remaining ones: with
    more threads than cores most runs are finished by other threads. In place on negative
    values, leaky_relu done twice on a chunk would scale it by 0.01 twice."""
    fastdnn.set_num_threads(threads)
    z = -1.0 - sample((n,), np.float64, seed=33, lo=0, hi=1)
    for _ in range(20):
        x = z.copy()
        assert F.leaky_relu(x, out=x) is x
        np.testing.assert_array_equal(x, 0.01 * z)


@pytest.mark.parametrize("n, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                      ("2", TypeError), (True, TypeError)], ids=str)
def test_set_num_threads_validation(n, error, default_threads):
    with pytest.raises(error):
        fastdnn.set_num_threads(n)


def test_set_num_threads_none_restores_default(default_threads):
    default = fastdnn.get_num_threads()
    fastdnn.set_num_threads(3)
    assert fastdnn.get_num_threads() == (3 if _openmp() else 1)    # a build without OpenMP
    fastdnn.set_num_threads(None)
    assert fastdnn.get_num_threads() == default >= 1


# --------------------------------------------------------------- hypothesis

@st.composite
def float_arrays(draw, count=1, finite=True, min_side=0):
    """``count`` arrays of mutually broadcastable shapes and independent float dtypes."""
    shapes = draw(mutually_broadcastable_shapes(num_shapes=count, max_dims=3, min_side=min_side,
                                                max_side=6)).input_shapes
    result = []
    for shape in shapes:
        dtype = draw(st.sampled_from(DTYPES))
        width = np.dtype(dtype).itemsize * 8
        elements = st.floats(-50, 50, width=width)
        if not finite:
            elements = st.one_of(elements, st.sampled_from([np.nan, np.inf, -np.inf]))
        result.append(draw(arrays(dtype, shape, elements=elements)))
    return result


@pytest.mark.parametrize("name", UNARY)
@HYPOTHESIS
@given(data=float_arrays())
def test_unary_property(name, data):
    (z,) = data
    fast, oracle = UNARY[name]
    got = fast(z)
    assert got.dtype == z.dtype and np.shape(got) == z.shape
    assert_matches(got, expected(oracle, z), z.dtype, z)


@pytest.mark.parametrize("name", BINARY)
@HYPOTHESIS
@given(data=float_arrays(count=2))
def test_backward_property(name, data):
    dA, a = data
    fast, oracle, derivative = BINARY[name]
    got = fast(dA, a)
    dtype = np.result_type(dA, a)
    assert got.dtype == dtype and np.shape(got) == np.broadcast_shapes(dA.shape, a.shape)
    assert_matches(got, expected(oracle, dA, a), dtype, dA, a)
    if dA.dtype == a.dtype and dA.shape == a.shape:
        np.testing.assert_array_equal(got, dA * derivative(a))


@pytest.mark.parametrize("name", ALL_OPS)
@HYPOTHESIS
@given(data=float_arrays(count=2, finite=False))
def test_nan_and_inf_property(name, data):
    """NaN in gives NaN out; inf behaves like the oracle wherever no NaN is involved."""
    dA, x = data
    if name in UNARY:
        inputs, got = (x,), UNARY[name][0](x)
    else:
        inputs, got = (dA, x), BINARY[name][0](dA, x)
    nan_in = np.zeros(np.shape(got), dtype=bool)
    # (the identity's derivative takes nothing from x: ones, or dA as it is)
    for arg in inputs[:-1] if name in CONSTANT_IN_INPUT else inputs:
        nan_in |= np.isnan(arg)
    assert np.all(np.isnan(got)[nan_in])
    oracle = UNARY[name][1] if name in UNARY else BINARY[name][1]
    want = np.broadcast_to(expected(oracle, *inputs), np.shape(got))
    assert_matches(np.asarray(got)[~nan_in], want[~nan_in], np.result_type(*inputs))


@HYPOTHESIS
@given(data=st.data(), axis_seed=st.integers(0, 3))
def test_softmax_property(data, axis_seed):
    (z,) = data.draw(float_arrays(finite=False, min_side=1))
    axis = None if axis_seed >= z.ndim else axis_seed
    got = F.softmax(z, axis=axis)
    assert got.dtype == z.dtype and np.shape(got) == z.shape
    want = expected(partial(R.softmax, axis=axis), z)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert_matches(got, want, z.dtype)
    if np.isfinite(z).all():
        dA = data.draw(arrays(z.dtype, z.shape, elements=st.floats(-50, 50, width=z.itemsize * 8)))
        a = got
        got = F.softmax_backward(dA, a, axis=axis)
        assert got.dtype == z.dtype and np.shape(got) == z.shape
        assert_softmax_backward_matches(got, dA, a, axis, z.dtype)


def test_leaky_relu_zero_alpha_at_minus_inf_is_zero_like_relu():
    z = np.array([-np.inf, -1.0, 2.0])
    np.testing.assert_array_equal(F.leaky_relu(z, alpha=0.0), F.relu(z))


def test_numpy_float64_scalar_promotes_like_numpy():
    a = np.ones(3, np.float32)
    assert F.sigmoid_backward(np.float64(2.0), a).dtype == (np.float64(2.0) * a).dtype


def test_permuted_input_gives_c_ordered_result():
    z = np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1)
    got = F.tanh(z)
    assert got.flags.c_contiguous
    np.testing.assert_allclose(got, np.tanh(z), rtol=1e-15)


@pytest.mark.parametrize("axis", [None, 0, 2])
def test_float32_softmax_sum_keeps_float32_accuracy(axis):
    """Many small terms added to one large one: the normalizing sum must not lose
    float32 precision term by term (found by hypothesis: 1.2e-6 relative error)."""
    z = np.zeros((5, 1, 5), np.float32)
    z[0, 0, 0] = 7.0
    big = np.zeros((4000, 3), np.float32)
    big[0] = 9.0
    for x, ax in ((z, axis), (big, 0 if axis is not None else None)):
        got = F.softmax(x, axis=ax)
        want = R.softmax(x.astype(np.float64), axis=ax)
        np.testing.assert_allclose(got, want, rtol=4e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("name", list(BINARY) + ["sgd_update"])
def test_in_place_on_a(name, dtype, order):
    """``out=a`` (the training step's in-place update): same numbers as on a copy; a
    ``dA`` that partly overlaps ``a`` reads its values from before the write; a read-only
    ``a`` is refused and left as it was."""
    fast = (lambda dA, a, out=None: F.sgd_update(a, dA, 0.1, out=out)) if name == "sgd_update" \
        else FAST[name]
    a = sample((6, 5), dtype, order, lo=0.0, hi=1.0, seed=3)
    dA = sample((6, 5), dtype, order, seed=4)
    want = fast(dA, a.copy())
    assert fast(dA, a, out=a) is a
    np.testing.assert_array_equal(a, want)
    buf = sample((31,), dtype, lo=0.0, hi=1.0, seed=5)
    a, dA = buf[1:], buf[:-1]                  # dA is a, shifted by one element
    want = fast(dA.copy(), a.copy())
    fast(dA, a, out=a)
    np.testing.assert_array_equal(a, want)
    ro = sample((4,), dtype, lo=0.0, hi=1.0, seed=6)
    ro.flags.writeable = False
    kept = ro.copy()
    with pytest.raises(ValueError, match="out|param|read-only|writeable"):
        fast(np.ones(4, dtype), ro, out=ro)
    np.testing.assert_array_equal(ro, kept)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_short_rows_in_blocks_equals_one_row_at_a_time(simd, dtype):
    """An F-ordered (n_classes, m) softmax runs rows of <= 32 values a block of rows at a
    time; each column is bit for bit what the one-column call gives, NaN and inf included."""
    rng = np.random.default_rng(5)
    for n in (1, 2, 5, 10, 17, 32, 33):
        for m in (2, 31, 32, 33, 70):
            Z = (rng.standard_normal((n, m)) * 20).astype(dtype)
            Z.flat[::13] = np.inf
            Z.flat[::17] = np.nan
            Z = np.asfortranarray(Z)
            A = F.softmax(Z, axis=0)
            for j in range(m):
                np.testing.assert_array_equal(A[:, j:j + 1], F.softmax(Z[:, j:j + 1], axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_many_short_rows_is_the_same_on_any_thread_count(dtype):
    """Rows are handed to the threads in chunks: the result is bit for bit the
    single-threaded one, and within the accuracy bound of the reference."""
    from fastdnn import reference as R

    rng = np.random.default_rng(9)
    Z = np.asfortranarray((rng.standard_normal((10, 30001)) * 5).astype(dtype))
    Z[3, 17] = np.nan
    fastdnn.set_num_threads(1)
    try:
        one = F.softmax(Z, axis=0)
    finally:
        fastdnn.set_num_threads(None)
    fastdnn.set_num_threads(2)
    try:
        two = F.softmax(Z, axis=0)
    finally:
        fastdnn.set_num_threads(None)
    np.testing.assert_array_equal(one, two)
    want = R.softmax(Z.astype(np.float64), axis=0)
    np.testing.assert_allclose(two, want, rtol=64 * np.finfo(dtype).eps, atol=1e-300)


def _softmax_longdouble(z, axis):
    ld = np.asarray(z, dtype=np.longdouble)
    e = np.exp(ld - ld.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an extended long double")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["row", "C axis 1", "F axis 1"])
def test_softmax_of_a_million_long_axis_against_long_double(dtype, layout):
    """The sum over a 10**6-long axis (accumulated in double lanes) leaves the result as
    accurate as its inputs allow: within (2 + |z - max|) eps relative, the rounding of
    z - max in the input precision being the only error that grows with |z - max|."""
    rng = np.random.default_rng(11)
    z = (rng.standard_normal(10**6) * 4).astype(dtype)
    axis = 0
    if layout != "row":
        z = z.reshape(2, -1) if layout == "C axis 1" else np.asfortranarray(z.reshape(10, -1))
        axis = 1
    got = F.softmax(z, axis=axis)
    ref = _softmax_longdouble(z, axis)
    ld = np.asarray(z, dtype=np.longdouble)
    bound = np.finfo(dtype).eps * (2 + np.abs(ld - ld.max(axis=axis, keepdims=True)))
    rel = np.abs(got.astype(np.longdouble) - ref) / ref
    assert float(np.max(rel / bound)) <= 1.0
    total = np.asarray(got, dtype=np.longdouble).sum(axis=axis)
    np.testing.assert_allclose(total.astype(np.float64), 1.0, rtol=8 * np.finfo(dtype).eps)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an extended long double")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["row", "C axis 0", "F axis 0", "C axis 1", "F axis 1"])
def test_softmax_of_one_seven_among_zeros(dtype, layout):
    """25 values, one 7 and the rest 0 (a case float32 sums rounded badly): softmax within
    2 ulp of the long double value in every layout, 2 columns or rows of it at once."""
    z = np.zeros((25, 2), dtype)
    z[11] = 7
    axis = 0
    if layout.endswith("axis 1"):
        z, axis = z.T.copy(), 1
    z = np.asfortranarray(z) if layout.startswith("F") else np.ascontiguousarray(z)
    if layout == "row":
        z, axis = z[:, 0].copy(), 0
    got = F.softmax(z, axis=axis)
    want = _softmax_longdouble(z, axis)
    ulps = np.abs(got - want) / np.spacing(want.astype(dtype))
    assert float(np.max(ulps)) <= 2.0


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an extended long double")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["row", "C axis 0", "F axis 0", "C axis 1", "F axis 1"])
def test_softmax_down_to_the_subnormals_and_below(simd, dtype, layout):
    """Slices of k zeros and one z - max from where exp(z - max) / k leaves the normal range
    to where it rounds to 0: each result within 2 ulp of the long double value, one where
    it is subnormal, and 0 below, in every layout and slice length, on every SIMD path."""
    tiny = np.finfo(dtype).smallest_subnormal
    lo = -108.0 if dtype == np.float32 else -750.0
    hi = np.log(np.finfo(dtype).tiny) + 1
    d = np.linspace(lo, hi, 3001).astype(dtype)
    for k in (1, 2, 3, 7, 40):
        z = np.zeros((k + 1, d.size), dtype)
        z[k] = d
        want = np.exp(d.astype(np.longdouble)) / (k + np.exp(d.astype(np.longdouble)))
        axis = 0
        if layout.endswith("axis 1"):
            z, axis = z.T.copy(), 1
        z = np.asfortranarray(z) if layout.startswith("F") else np.ascontiguousarray(z)
        if layout == "row":
            got = np.array([F.softmax(z[:, j].copy(), axis=0)[k] for j in range(0, d.size, 7)])
            w = want[::7]
        else:
            got = F.softmax(z, axis=axis)
            got, w = (got[k] if axis == 0 else got[:, k]), want
        ulps = np.abs(got.astype(np.longdouble) - w) / np.spacing(w.astype(dtype))
        assert float(ulps.max()) <= 2.0, (k, float(ulps.max()))
        assert float(ulps[w < np.finfo(dtype).tiny].max()) <= 1.0, k
        assert np.all(got[w < tiny / 2 * 0.99] == 0)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an extended long double")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["row", "C axis 1", "F axis 1", "C axis 0"])
def test_softmax_backward_of_a_million_long_axis_against_long_double(dtype, layout):
    """s = sum(dA * a) over a 10**6-long axis: float64 rounds each product at most once,
    float32 sums the products four at a time in float (a tree: three roundings per term)
    before the double sum, so s is within k u sum|dA a| + u |s| of the exact sum (u = eps / 2,
    k = 1 for float64, 3 for float32), and a * (dA - s), rounded twice, within
    a (k u sum|dA a| + u |s|) + 2 u |dA - s| a. A float32 sum over the axis (PyTorch's)
    misses it by far."""
    rng = np.random.default_rng(13)
    shape, axis = {"row": ((10**6,), 0), "C axis 1": ((2, 5 * 10**5), 1),
                   "F axis 1": ((10, 10**5), 1), "C axis 0": ((10**6, 2), 0)}[layout]
    z = (rng.standard_normal(shape) * 4).astype(dtype)
    dA = (rng.standard_normal(shape) + 3).astype(dtype)
    if layout == "F axis 1":
        z, dA = np.asfortranarray(z), np.asfortranarray(dA)
    a = F.softmax(z, axis=axis)
    got = F.softmax_backward(dA, a, axis=axis)
    A, G = np.asarray(a, np.longdouble), np.asarray(dA, np.longdouble)
    s = (G * A).sum(axis=axis, keepdims=True)
    want = A * (G - s)
    u, k = np.finfo(dtype).eps / 2, 3 if dtype == np.float32 else 1
    bound = A * (k * u * np.abs(G * A).sum(axis=axis, keepdims=True) + u * np.abs(s)) \
        + 2 * u * np.abs(G - s) * A
    err = np.abs(np.asarray(got, np.longdouble) - want)
    assert float(np.max(err / (1.01 * bound + np.finfo(dtype).tiny))) <= 1.0


def test_softmax_backward_of_products_near_the_float_range():
    """float32 rows sum four products in float first: where an a that is no softmax makes
    those overflow (runs of +2e38 and -2e38 that cancel exactly), the row is summed again
    with each product widened, and the result is the exact one, not NaN."""
    n = 1024
    a = np.full((3, n), 2.0, np.float32)
    dA = np.where((np.arange(n) // 128) % 2 == 0, 1e38, -1e38).astype(np.float32)
    dA = np.broadcast_to(dA, a.shape).copy()
    got = F.softmax_backward(dA, a, axis=1)
    np.testing.assert_array_equal(got, a * dA)     # sum(dA * a) = 0 exactly
    dA[1, 5] = np.nan
    got = F.softmax_backward(dA, a, axis=1)
    assert np.isnan(got[1]).all() and not np.isnan(got[[0, 2]]).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [1, 2, 3, 7, 10, 16, 17])
@pytest.mark.parametrize("n", [15, 16, 17, 50])
def test_softmax_over_the_long_axis_of_few_columns(dtype, p, n):
    """An F-ordered (p, n) array over axis 1 (a slice of n rows of p contiguous values, run
    as one flat array of period p): the reference's values, NaN staying in its column,
    and its backward step."""
    rng = np.random.default_rng(p * 100 + n)
    z = np.asfortranarray((rng.standard_normal((p, n)) * 5).astype(dtype))
    if p > 2:
        z[1, n // 2] = np.nan
    got = F.softmax(z, axis=1)
    want = R.softmax(z.astype(np.float64), axis=1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=64 * np.finfo(dtype).eps, atol=1e-300)
    a = F.softmax(np.nan_to_num(z), axis=1)
    dA = np.asfortranarray(rng.standard_normal((p, n)).astype(dtype))
    assert_softmax_backward_matches(F.softmax_backward(dA, a, axis=1), dA, a, 1, dtype)
    # the same layout inside a C-ordered (3, n, p) array reduced over axis 1: three slices
    z3 = (rng.standard_normal((3, n, p)) * 5).astype(dtype)
    got3 = F.softmax(z3, axis=1)
    np.testing.assert_allclose(got3, R.softmax(z3.astype(np.float64), axis=1),
                               rtol=64 * np.finfo(dtype).eps, atol=1e-300)
    dA3 = rng.standard_normal((3, n, p)).astype(dtype)
    assert_softmax_backward_matches(F.softmax_backward(dA3, got3, axis=1), dA3, got3, 1, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p, n, outer", [(10, 10**5, 1), (16, 12289, 1), (2, 8200, 3),
                                         (3, 4095, 1)])
def test_softmax_of_f_ordered_long_rows_on_threads(dtype, p, n, outer, default_threads):
    """A slice of n rows of p values reduced over its rows (F-ordered (p, n) over axis 1, or
    C-ordered (outer, n, p) over axis 1), which runs in segments of rows that the threads
    share (its column chunks for the threads were once 0 columns wide: SIGFPE): the same
    bits on 1, 2 and 3 threads, a NaN kept to its column, and the long double values."""
    rng = np.random.default_rng(12 + p)
    shape = (p, n) if outer == 1 else (outer, n, p)
    z = rng.standard_normal(shape).astype(dtype)
    dA = rng.standard_normal(shape).astype(dtype)
    if outer == 1:
        z, dA = np.asfortranarray(z), np.asfortranarray(dA)
    zn = z.copy(order="K")
    nan_at = (1, n // 3) if outer == 1 else (outer - 1, n // 3, 1)
    zn[nan_at] = np.nan
    results = []
    for threads in (1, 2, 3):
        fastdnn.set_num_threads(threads)
        a = F.softmax(z, axis=1)
        results.append((a, F.softmax_backward(dA, a, axis=1), F.softmax(zn, axis=1)))
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_array_equal(got, want)
    a, dZ, an = results[0]
    np.testing.assert_allclose(a, _softmax_longdouble(z, 1).astype(np.float64),
                               rtol=16 * np.finfo(dtype).eps, atol=1e-300)
    assert_softmax_backward_matches(dZ, dA, a, 1, dtype)
    column = np.zeros(shape, bool)
    if outer == 1:
        column[1, :] = True
    else:
        column[outer - 1, :, 1] = True
    assert np.isnan(an[column]).all()
    np.testing.assert_array_equal(an[~column], a[~column])
