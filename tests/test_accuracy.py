"""Accuracy of the element-wise kernels in ULP against a higher-precision reference.

float32 results are compared with float64 computations on the same inputs,
float64 results with long double ones (x86-64: 64-bit mantissa). The sweep
has 10**6 points across [-100, 100], 2*10**5 log-spaced magnitudes down to
1e-30 and the edge values; float32 activations also get dense sweeps of consecutive
float32 values (test_max_ulp_dense_f32). Every forward and derivative form must stay within
4 ULP on every SIMD path this CPU runs (for the float64 derivatives of silu, mish, gelu
and gelu_tanh near their zero, see ZERO_CROSSING).
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


# ---------------------------------------------------------------- the newer activations
# References in the higher precision of HIGHER (NumPy's long double for float64), or with
# mpmath at 40 digits where that is not enough: erf, and the tanh-GELU whose argument
# 2u = sqrt(8/pi) (z + 0.044715 z^3) is needed to |2u| times the working precision.
SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"


def _ld(dtype_hi, text):
    return dtype_hi(text) if dtype_hi is np.longdouble else dtype_hi(float(text))


def _sigmoid_hi(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _ref_elu(x, alpha=1.0):
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))


def _ref_d_elu(x, alpha=1.0):
    return np.where(x > 0, 1, x.dtype.type(alpha) * np.exp(np.minimum(x, 0)))


def _ref_selu(x):
    hi = x.dtype.type
    return _ld(hi, SELU_SCALE) * _ref_elu(x, _ld(hi, SELU_ALPHA))


def _ref_d_selu(x):
    hi = x.dtype.type
    return _ld(hi, SELU_SCALE) * _ref_d_elu(x, _ld(hi, SELU_ALPHA))


def _ref_softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _ref_softsign(x):
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(x), np.sign(x), x / (1 + np.abs(x)))


def _ref_silu(x):
    return np.where(np.isneginf(x), 0, np.nan_to_num(x) * _sigmoid_hi(x))


def _ref_d_silu(x):
    s, c = _sigmoid_hi(x), _sigmoid_hi(-x)     # sigma(z), 1 - sigma(z)
    return np.where(np.isinf(x), x > 0, s * (1 + np.nan_to_num(x) * c))


def _ref_mish(x):
    t = np.tanh(_ref_softplus(x))
    return np.where(np.isneginf(x), 0, x * t)


def _ref_d_mish(x):
    e = np.exp(-np.abs(x))
    # 1 - tanh(softplus)^2 without cancellation: 4 (1+e)^2 e^2 / D^2 (z >= 0), 4 (1+e)^2 / D^2
    n = np.where(x >= 0, 1 + 2 * e, e * (e + 2))
    d = np.where(x >= 0, n + 2 * e * e, n + 2)
    one_minus_t2 = np.where(x >= 0, 4 * (1 + e) ** 2 * e * e, 4 * (1 + e) ** 2) / d ** 2
    r = n / d + np.nan_to_num(x) * _sigmoid_hi(x) * one_minus_t2
    return np.where(np.isinf(x), x > 0, r)


def _mp(fn):
    """fn(mpf) -> mpf at 40 digits, applied element-wise; the result in x's dtype (float64,
    or long double as the sum of two doubles)."""
    import mpmath

    def apply(x):
        with mpmath.workdps(40):
            # beyond 1e4 the functions are at their limits (mpmath's erfc overflows there)
            vals = [fn(mpmath.mpf(float(v))) if abs(v) < 1e4 else None for v in x]
            big = mpmath.mpf(np.finfo(np.float64).max)
            vals = [v if v is None or abs(v) <= big else mpmath.mpf("inf") * mpmath.sign(v)
                    for v in vals]
            hi = np.array([float(v) if v is not None else np.nan for v in vals])
            lo = np.array([float(v - float(v)) if v is not None and mpmath.isfinite(v) else 0.0
                           for v in vals])
        return hi.astype(x.dtype) + lo.astype(x.dtype)
    return apply


def _mp_gelu(z):
    import mpmath
    return z * mpmath.erfc(-z / mpmath.sqrt(2)) / 2


def _mp_d_gelu(z):
    import mpmath
    return mpmath.erfc(-z / mpmath.sqrt(2)) / 2 + z * mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)


def _mp_s(z):
    import mpmath
    return mpmath.sqrt(8 / mpmath.pi) * (z + mpmath.mpf("0.044715") * z ** 3)


def _mp_gelu_tanh(z):
    import mpmath
    return z / (1 + mpmath.exp(-_mp_s(z)))


def _mp_d_gelu_tanh(z):
    import mpmath
    s = _mp_s(z)
    sig = 1 / (1 + mpmath.exp(-s))
    ds = mpmath.sqrt(8 / mpmath.pi) * (1 + 3 * mpmath.mpf("0.044715") * z * z)
    return sig + z * sig * (1 - sig) * ds


def _with_limits(mp_fn, at_minus_inf, at_plus_inf):
    run = _mp(mp_fn)

    def ref(x):
        out = run(x)
        out[x <= -1e4] = at_minus_inf
        out[x >= 1e4] = x[x >= 1e4] if at_plus_inf == "x" else at_plus_inf
        return out
    return ref


def mp_sweep(dtype):
    """Fewer points for the mpmath references: 10**4 uniform in [-50, 50], 5 10**3 in
    [-3, 3], 10**3 where float32 results approach underflow ([-16, -12]), 500 within 0.002
    of each derivative's zero (ZERO_CROSSING), log-spaced magnitudes down to 1e-30 and the
    edge values."""
    rng = np.random.default_rng(54321)
    mags = np.logspace(-30, 2, 2_000)
    edges = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 0.6, -0.6, 10.0, -10.0, 20.0, -20.0,
                      15.5, -15.5, 38.0, -38.0, 40.0, -40.0, 100.0, -100.0, np.inf, -np.inf,
                      float(np.finfo(dtype).max), -float(np.finfo(dtype).max)])
    zeros = [rng.uniform(z0 - 0.002, z0 + 0.002, 500) for z0, _ in ZERO_CROSSING.values()]
    x = np.concatenate([rng.uniform(-50, 50, 10_000), rng.uniform(-3, 3, 5_000),
                        rng.uniform(-16, -12, 1_000), *zeros, mags, -mags, edges])
    return x.astype(dtype)


def _interval(lo, hi_):
    def gen(dtype):
        rng = np.random.default_rng(11)
        a = np.concatenate([rng.uniform(lo, hi_, 1_000_000), [lo, hi_, 0.0, 0.5]])
        return a.astype(dtype)
    return gen


SELU_SA = float(np.longdouble(SELU_SCALE) * np.longdouble(SELU_ALPHA))


def _ref_d_selu_a(a):
    """scale where a > 0, else a + scale * alpha with that constant rounded to the target
    precision, as the kernel (and any implementation in it) has it: near a = -scale alpha,
    the result is the difference of a and the constant."""
    target = np.float32 if a.dtype == np.float64 else np.float64
    return np.where(a > 0, _ld(a.dtype.type, SELU_SCALE), a + a.dtype.type(target(SELU_SA)))


NEW_CASES = {
    "elu": (F.elu, _ref_elu, sweep),
    "elu_derivative": (F.elu_derivative, _ref_d_elu, sweep),
    "elu_derivative(from_output)": (
        lambda a: F.elu_derivative(a, from_output=True), lambda a: np.where(a > 0, 1, a + 1),
        _interval(-1.0, 50.0)),
    "selu": (F.selu, _ref_selu, sweep),
    "selu_derivative": (F.selu_derivative, _ref_d_selu, sweep),
    "selu_derivative(from_output)": (
        lambda a: F.selu_derivative(a, from_output=True),
        _ref_d_selu_a, _interval(-SELU_SA, 50.0)),
    "softplus": (F.softplus, _ref_softplus, sweep),
    "softplus_derivative": (F.softplus_derivative, _sigmoid_hi, sweep),
    "softplus_derivative(from_output)": (
        lambda a: F.softplus_derivative(a, from_output=True), lambda a: -np.expm1(-a),
        _interval(0.0, 50.0)),
    "softsign": (F.softsign, _ref_softsign, sweep),
    "softsign_derivative": (F.softsign_derivative, lambda x: 1 / (1 + np.abs(x)) ** 2, sweep),
    "softsign_derivative(from_output)": (
        lambda a: F.softsign_derivative(a, from_output=True), lambda a: (1 - np.abs(a)) ** 2,
        _interval(-1.0, 1.0)),
    "hard_sigmoid": (F.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6, sweep),
    "hard_sigmoid_derivative": (
        F.hard_sigmoid_derivative,
        lambda x: np.where((x > -3) & (x < 3), 1 / x.dtype.type(6), 0), sweep),
    "hard_sigmoid_derivative(from_output)": (
        lambda a: F.hard_sigmoid_derivative(a, from_output=True),
        lambda a: np.where((a > 0) & (a < 1), 1 / a.dtype.type(6), 0), _interval(0.0, 1.0)),
    "silu": (F.silu, _ref_silu, sweep),
    "silu_derivative": (F.silu_derivative, _ref_d_silu, sweep),
    "mish": (F.mish, _ref_mish, sweep),
    "mish_derivative": (F.mish_derivative, _ref_d_mish, sweep),
    "gelu": (F.gelu, _with_limits(_mp_gelu, 0.0, "x"), mp_sweep),
    "gelu_derivative": (F.gelu_derivative, _with_limits(_mp_d_gelu, 0.0, 1.0), mp_sweep),
    "gelu_tanh": (F.gelu_tanh, _with_limits(_mp_gelu_tanh, 0.0, "x"), mp_sweep),
    "gelu_tanh_derivative": (F.gelu_tanh_derivative, _with_limits(_mp_d_gelu_tanh, 0.0, 1.0),
                             mp_sweep),
}

# Derivatives with a zero inside their domain: near it an O(1) sum cancels to a small
# result, which double precision cannot give to a few ULP of itself. Within the window
# (z0 - w, z0 + w) around the zero z0, float64 is also measured in ULP of the sum's scale,
# 2^-3 (an absolute error in units of 2^-55), and the smaller of the two counts; float32
# computes in double and is measured as everything else. The windows are where the
# relative count exceeded 4 (mish's bracket cancels over a wider range than the others').
ZERO_CROSSING = {"silu_derivative": (-1.2784645427610738, 0.5),
                 "mish_derivative": (-1.1924312145, 1.0),
                 "gelu_derivative": (-0.7517915247, 0.6),
                 "gelu_tanh_derivative": (-0.7524614221, 0.5)}
SCALE_NEAR_ZERO = 2.0 ** -3

_REF_CACHE = {}


def _reference(name, dtype):
    key = (name, np.dtype(dtype).name)
    if key not in _REF_CACHE:
        _, ref_fn, inputs = NEW_CASES[name]
        x = inputs(dtype)
        hi = HIGHER[dtype]
        with np.errstate(all="ignore"):
            ref = ref_fn(x.astype(hi))
            # beyond the largest finite value plus half an ULP the rounded result is inf
            big = hi(np.finfo(dtype).max) * (1 + hi(2.0) ** -(MANTISSA[dtype] + 1))
            ref = np.where(np.abs(ref) >= big, np.copysign(hi(np.inf), ref), ref)
        _REF_CACHE[key] = (x, ref)
    return _REF_CACHE[key]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(NEW_CASES))
def test_max_ulp_newer(name, dtype, simd):
    fn = NEW_CASES[name][0]
    x, ref = _reference(name, dtype)
    got = fn(x)
    assert got.dtype == dtype
    err = ulp_error(got, ref, dtype)
    if name in ZERO_CROSSING and dtype is np.float64:
        hi = HIGHER[dtype]
        z0, w = ZERO_CROSSING[name]
        near = np.abs(x - z0) < w
        with np.errstate(invalid="ignore"):
            err_abs = (np.abs(got.astype(hi) - ref)
                       / hi(SCALE_NEAR_ZERO * 2.0 ** (1 - MANTISSA[dtype]))).astype(np.float64)
        err = np.where(near & (err > err_abs), err_abs, err)
    worst = int(np.argmax(err))
    ULP_REPORT[(name, np.dtype(dtype).name, simd)] = float(err[worst])
    assert err[worst] <= MAX_ULP, (
        f"{name}({x[worst]!r}) = {got[worst]!r}, reference {ref[worst]!r}: {err[worst]:.2f} ULP")


# ---------------------------------------------------------------- dense float32 sweeps
# Every step-th float32 of lo <= |z| <= hi (both signs), where the function is not trivially
# 0, z or a constant, and the edge values: the float32 kernels that compute in float lanes
# (gelu, gelu_tanh, silu, softplus, softsign) have their largest errors at isolated points
# that a random sweep misses; the others compute in double and round once, and are sampled
# more sparsely. The reference is the same function in float64, accurate to a few float64
# ULP (within the ZERO_CROSSING windows, to a few units of 2^-55), far below a float32 ULP.
GELU_STEP, LANES_STEP, DOUBLE_STEP = 13, 29, 101
DENSE = {
    "gelu": (F.gelu, 2.0 ** -6, 16.0, GELU_STEP),
    "gelu_derivative": (F.gelu_derivative, 2.0 ** -6, 16.0, GELU_STEP),
    "gelu_tanh": (F.gelu_tanh, 2.0 ** -6, 12.0, GELU_STEP),
    "gelu_tanh_derivative": (F.gelu_tanh_derivative, 2.0 ** -6, 12.0, GELU_STEP),
    "elu": (F.elu, 2.0 ** -6, 20.0, DOUBLE_STEP),
    "elu_derivative": (F.elu_derivative, 2.0 ** -6, 104.0, DOUBLE_STEP),
    "selu": (F.selu, 2.0 ** -6, 20.0, DOUBLE_STEP),
    "selu_derivative": (F.selu_derivative, 2.0 ** -6, 104.0, DOUBLE_STEP),
    "silu": (F.silu, 2.0 ** -6, 104.0, LANES_STEP),
    "silu_derivative": (F.silu_derivative, 2.0 ** -6, 104.0, LANES_STEP),
    "silu_derivative near its zero": (F.silu_derivative, 1.14, 1.42, 7),
    "softplus": (F.softplus, 2.0 ** -6, 104.0, LANES_STEP),
    "softplus_derivative": (F.softplus_derivative, 2.0 ** -6, 104.0, DOUBLE_STEP),
    "softsign": (F.softsign, 2.0 ** -6, 2.0 ** 12, LANES_STEP),
    "softsign_derivative": (F.softsign_derivative, 2.0 ** -6, 2.0 ** 12, LANES_STEP),
    "hard_sigmoid": (F.hard_sigmoid, 2.0 ** -6, 4.0, DOUBLE_STEP),
    "mish": (F.mish, 2.0 ** -6, 104.0, DOUBLE_STEP),
    "mish_derivative": (F.mish_derivative, 2.0 ** -6, 104.0, DOUBLE_STEP),
}


def dense_f32(lo, hi, step):
    """Every step-th float32 of lo <= |z| <= hi: consecutive bit patterns, both signs."""
    a, b = np.array([lo, hi], dtype=np.float32).view(np.uint32)
    mags = np.arange(a, b + 1, step, dtype=np.uint32).view(np.float32)
    return np.concatenate([-mags[::-1], mags, EDGES])


EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.4e38, -3.4e38, 1e-45, -1e-45, 88.0,
                  -88.0, 104.0, -104.0, 120.0, -120.0, 1e30, -1e30], np.float32)


@pytest.mark.parametrize("name", list(DENSE))
def test_max_ulp_dense_f32(name, simd):
    fn, lo, hi, step = DENSE[name]
    x = dense_f32(lo, hi, step)
    got = fn(x)
    assert got.dtype == np.float32
    ref = fn(x.astype(np.float64))
    # beyond float32's largest finite value plus half an ULP the rounded result is inf
    big = np.finfo(np.float32).max * (1 + 2.0 ** -25)
    ref = np.where(np.abs(ref) >= big, np.copysign(np.inf, ref), ref)
    err = ulp_error(got, ref, np.float32)
    worst = int(np.argmax(err))
    ULP_REPORT[(name + " (dense)", "float32", simd)] = float(err[worst])
    assert err[worst] <= MAX_ULP, (
        f"{name}({x[worst]!r}) = {got[worst]!r}: {err[worst]:.2f} ULP")


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("axis", [0, 1])
def test_max_ulp_softmax_f32(axis, order, simd):
    """float32 softmax against exp and the normalizing sum taken in long double from the same
    float32 z - max (that subtraction's rounding, which exp carries into its result, is
    the input's, as in any float32 softmax): the kernel's own error (exp, sum, scale)."""
    rng = np.random.default_rng(7)
    worst = 0.0
    # (n, 10) over axis 0 in C order: the periodic-slice path (n = 9000: in segments of
    # rows); + 100: exp overflows without the max subtracted
    for n, scale, other, offset in ((3, 8.0, 400, 0.0), (10, 2.0, 400, 0.0),
                                    (25, 0.5, 400, 100.0), (100, 8.0, 400, 0.0),
                                    (1000, 2.0, 400, 0.0), (1000, 2.0, 10, 100.0),
                                    (64, 8.0, 3, 0.0), (9000, 4.0, 10, 50.0)):
        shape = (n, other) if axis == 0 else (other, n)
        z = np.asarray(rng.standard_normal(shape) * scale + offset, np.float32, order=order)
        got = F.softmax(z, axis)
        zm = (z - z.max(axis=axis, keepdims=True)).astype(np.longdouble)
        e = np.exp(zm)
        err = ulp_error(got, e / e.sum(axis=axis, keepdims=True), np.float32)
        worst = max(worst, float(err.max()))
    ULP_REPORT[(f"softmax axis={axis} {order}", "float32", simd)] = worst
    assert worst <= MAX_ULP
