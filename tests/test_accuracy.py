"""Accuracy of the element-wise kernels in ULP against a higher-precision reference.

float32 results are compared with float64 computations on the same inputs,
float64 results with long double ones (x86-64: 64-bit mantissa). The sweep
has 10**6 points across [-100, 100], 2*10**5 log-spaced magnitudes down to
1e-30 and the edge values. Every forward and derivative form must stay within
4 ULP on every SIMD path this CPU runs.
"""
import numpy as np
import pytest

from fastdnn import functional as F

from conftest import ULP_REPORT

MAX_ULP = 4.0
HIGHER = {np.float32: np.float64, np.float64: np.longdouble}
MANTISSA = {np.float32: 24, np.float64: 53}
MIN_EXP = {np.float32: -149, np.float64: -1074}

pytestmark = pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 60, reason="needs an extended long double for float64 references")


def ulp_error(got, ref, dtype):
    """|got - ref| in units of the last place of ``dtype`` at ``ref`` (ref in higher precision)."""
    hi = ref.dtype.type
    got = got.astype(hi)
    err = np.zeros(ref.shape, dtype=np.float64)
    both_nan = np.isnan(got) & np.isnan(ref)
    same_inf = np.isinf(ref) & (got == ref)
    special = both_nan | same_inf
    _, e = np.frexp(np.where(special | np.isinf(ref) | np.isnan(ref), hi(1), ref))
    ulp = np.ldexp(hi(1), np.maximum(e - MANTISSA[dtype], MIN_EXP[dtype]))
    with np.errstate(invalid="ignore"):
        err = np.where(special, 0.0, (np.abs(got - ref) / ulp).astype(np.float64))
    err[~special & (np.isnan(ref) | np.isinf(ref) | np.isnan(got))] = np.inf
    return err


def sweep(dtype):
    """10**6 uniform points in [-100, 100], small magnitudes and edge values."""
    rng = np.random.default_rng(12345)
    tiny = np.finfo(dtype).smallest_subnormal
    mags = np.logspace(-30, 2, 100_000)
    edges = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 10.0, -10.0, 20.0, -20.0, 88.0, -88.0,
                      100.0, -100.0, 700.0, -700.0, 1000.0, -1000.0, np.inf, -np.inf,
                      float(np.finfo(dtype).tiny), float(tiny), -float(tiny),
                      float(np.finfo(dtype).max), -float(np.finfo(dtype).max)])
    x = np.concatenate([rng.uniform(-100, 100, 1_000_000), mags, -mags, edges])
    return x.astype(dtype)


def unit_interval(dtype, lo):
    """Activations a as a cached forward pass produces them: 10**6 points in [lo, 1]."""
    rng = np.random.default_rng(7)
    a = np.concatenate([rng.uniform(lo, 1, 1_000_000), [lo, 0.0, 1.0, 0.5, -0.5]])
    return a.astype(dtype)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _d_sigmoid(x):
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2


def _d_tanh(x):
    e = np.exp(-2 * np.abs(x))
    return 4 * e / (1 + e) ** 2


# name -> (fastdnn call, reference in higher precision, input generator)
CASES = {
    "sigmoid": (F.sigmoid, _sigmoid, sweep),
    "tanh": (F.tanh, np.tanh, sweep),
    "relu": (F.relu, lambda x: np.maximum(x, 0), sweep),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x >= 0, x, x * np.float64(0.01).astype(x.dtype)), sweep),
    "sigmoid_derivative": (F.sigmoid_derivative, _d_sigmoid, sweep),
    "tanh_derivative": (F.tanh_derivative, _d_tanh, sweep),
    "sigmoid_derivative(from_output)": (
        lambda a: F.sigmoid_derivative(a, from_output=True), lambda a: a * (1 - a),
        lambda dt: unit_interval(dt, 0.0)),
    "tanh_derivative(from_output)": (
        lambda a: F.tanh_derivative(a, from_output=True), lambda a: (1 - a) * (1 + a),
        lambda dt: unit_interval(dt, -1.0)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_max_ulp(name, dtype, simd):
    fn, ref_fn, inputs = CASES[name]
    x = inputs(dtype)
    got = fn(x)
    assert got.dtype == dtype
    hi = HIGHER[dtype]
    with np.errstate(all="ignore"):
        if name == "leaky_relu":
            # alpha * z is rounded once in the target precision, as NumPy would.
            ref = np.where(x >= 0, x, x * dtype(0.01)).astype(hi)
        else:
            ref = ref_fn(x.astype(hi))
    err = ulp_error(got, ref, dtype)
    worst = int(np.argmax(err))
    ULP_REPORT[(name, np.dtype(dtype).name, simd)] = float(err[worst])
    assert err[worst] <= MAX_ULP, (
        f"{name}({x[worst]!r}) = {got[worst]!r}, reference {ref[worst]!r}: {err[worst]:.2f} ULP")
