/* Kernels for one floating type. Included by fdnn_ew_impl.h with
 *   T   the C type (float or double)
 *   TS  its suffix (f32 or f64)
 * once per type; no include guard on purpose.
 *
 * Each scalar op is an always-inline function; the loops around them are
 * plain counted loops the compiler vectorizes for the instruction set of the
 * including translation unit. NaN in gives the same NaN out, quieted where it goes
 * through arithmetic (but for the identity's derivative, 1 whatever its input).
 */

#define OP(name) FDNN_CAT(op_##name##_, TS)
#define KFN(name) FDNN_CAT(k_##name##_, TS)
#define EXPM1NEG FDNN_CAT(fdnn_expm1neg_, TS)
#define NAN_OR(x, value) ((x) != (x) ? (x) : (value))
/* x itself where it is NaN or a zero of either sign (one unordered-or-equal compare) */
#define ZERO_NAN_OR(x, value) (!((x) < 0 || (x) > 0) ? (x) : (value))

/* ---- activations ---- */

/* exp(-|z|) = (1 + q) s 2^-C (fdnn_expm1neg_scaled_*) with |z| clamped on the bits
   (fdnn_abs_min_*) where it and 4 times it round to 0: for the activations, which put the input's
   NaN back themselves (NAN_OR). Against fdnn_expneg_*'s float compares, which GCC turned into
   blends of every intermediate result, sigmoid went from 37 to 28 instructions per vector
   (float32, AVX2), 0.71 -> 0.555 ns per element on one core (float64 1.85 -> 1.61). */
FDNN_INLINE T OP(exp_negabs)(T z)
{
#if FDNN_TBYTES == 4
    const float a = fdnn_abs_min_f32(z, FDNN_F32_SCALED_MAX_BITS);
    float s, q = fdnn_expm1neg_scaled_f32(-a, &s);
    return ((1.0f + q) * s) * FDNN_F32_2M40;
#else
    const double a = fdnn_abs_min_f64(z, FDNN_F64_SCALED_MAX_BITS);
    double s, q = fdnn_expm1neg_scaled_f64(-a, &s);
    return ((1.0 + q) * s) * FDNN_F64_2M200;
#endif
}

FDNN_INLINE T OP(sigmoid)(T z, T alpha)
{
    (void)alpha;
    T e = OP(exp_negabs)(z); /* sigma(-|z|) = e / (1 + e), sigma(|z|) = 1 / (1 + e) */
    T num = z >= 0 ? (T)1 : e;
    return NAN_OR(z, num / ((T)1 + e));
}

FDNN_INLINE T OP(tanh)(T z, T alpha)
{
    (void)alpha;
    T em = EXPM1NEG((T)-2 * FDNN_ABS(z)); /* tanh|z| = -expm1(-2|z|) / (2 + expm1(-2|z|)) */
    T t = -em / ((T)2 + em);
    /* a NaN z goes through every step (EXPM1NEG's clamp keeps it) and comes out with its
       sign and payload, quieted, without NAN_OR's two instructions: float32 10^4 on one
       core 3.11-3.20 -> 2.82-2.94 us (NumPy's SVML tanh 2.94-2.97) */
    return FDNN_COPYSIGN(t, z);
}

FDNN_INLINE T OP(relu)(T z, T alpha)
{
    (void)alpha;
    return z <= 0 ? (T)0 : z;
}

FDNN_INLINE T OP(leaky_relu)(T z, T alpha)
{
    T neg = alpha == 0 ? (T)0 : alpha * z; /* alpha = 0 is ReLU: no 0 * -inf = NaN */
    return z >= 0 || z != z ? z : neg;
}

FDNN_INLINE T OP(linear)(T z, T alpha)
{
    (void)alpha;
    return z;
}

/* ---- derivatives on z ---- */

/* e / (1 + e)^2 for e in [0, 1], the denominator as 1 + e (2 + e): one multiply-add, rounded
   once (2 + e is rounded too, but e times its error is below a quarter ULP of the result),
   where 1 + e rounded and then squared doubled that error and needed a correction
   (Fast2Sum and a second division). On one core, 1e4 elements: d_sigmoid_z float32
   0.34 -> 0.28 ns/element, d_tanh_z 0.37 -> 0.30; max error (tests/test_accuracy.py)
   sigmoid_derivative float32 2.47 -> 2.27 ULP, float64 2.40 -> 2.20, tanh_derivative
   float32 2.75 (unchanged), float64 2.38 -> 2.19. */
FDNN_INLINE T OP(e_over_1pe_sq)(T e)
{
    return e / (e * ((T)2 + e) + (T)1);
}

FDNN_INLINE T OP(d_sigmoid_z)(T z, T alpha)
{
    (void)alpha;
    T e = OP(exp_negabs)(z); /* sigma(z) sigma(-z) = e / (1 + e)^2 */
    return NAN_OR(z, OP(e_over_1pe_sq)(e));
}

FDNN_INLINE T OP(d_tanh_z)(T z, T alpha)
{
    (void)alpha;
    T e = OP(exp_negabs)((T)2 * z); /* sech^2 z = 4e / (1 + e)^2 */
    return NAN_OR(z, (T)4 * OP(e_over_1pe_sq)(e));
}

FDNN_INLINE T OP(d_relu_z)(T z, T alpha)
{
    (void)alpha;
    return NAN_OR(z, z < 0 ? (T)0 : (T)1); /* the lecture's convention: 1 at z = 0 */
}

FDNN_INLINE T OP(d_leaky_relu_z)(T z, T alpha)
{
    return NAN_OR(z, z < 0 ? alpha : (T)1);
}

/* the identity's derivative is 1 whatever z is (also NaN: as np.ones_like, PyTorch's and
   Keras' gradients of the identity), so its backward step is a copy of dA */
FDNN_INLINE T OP(d_linear)(T z, T alpha)
{
    (void)z;
    (void)alpha;
    return (T)1;
}

/* ---- derivatives on the activation a = f(z) ---- */

FDNN_INLINE T OP(d_sigmoid_a)(T a, T alpha)
{
    (void)alpha;
    return a * ((T)1 - a);
}

FDNN_INLINE T OP(d_tanh_a)(T a, T alpha)
{
    (void)alpha;
    return ((T)1 - a) * ((T)1 + a); /* 1 - a^2 without cancellation near |a| = 1 */
}

FDNN_INLINE T OP(d_relu_a)(T a, T alpha)
{
    (void)alpha;
    return NAN_OR(a, a > 0 ? (T)1 : (T)0); /* a = 0 stands for every z <= 0 */
}

FDNN_INLINE T OP(d_leaky_relu_a)(T a, T alpha)
{
    /* alpha > 0: a = 0 only at z = 0, slope 1; alpha = 0: it is ReLU, slope 0. */
    T at_zero = alpha > 0 ? (T)1 : (T)0;
    T slope = a > 0 ? (T)1 : (a < 0 ? alpha : at_zero);
    return NAN_OR(a, slope);
}

/* ---- elu, selu, gelu, gelu_tanh, silu, softplus, softsign, hard_sigmoid, mish ----
 * Forward, derivative on z and (where the activation's list entry says so) on a. float32
 * gelu, gelu_tanh, silu, softplus and softsign (and their derivatives) compute in float
 * lanes on the float32 cores of fdnn_math.h, twice as many per vector, within 4 ULP. The
 * others built on exp, log1p and erfc compute in double (W) and round once: float32 results
 * are then correctly rounded but for a fraction of an ULP, and the double cores in
 * fdnn_math.h serve both types. Results that are products with exp(-|z|) (z sigma(z) for
 * z << 0) are formed as (z m ...) s with exp = m s (fdnn_expneg_split_f64), so that a
 * subnormal result is rounded once. */

#define W double /* with fabs, not FDNN_ABS (fabsf for float) */
#define SELU_SCALE 1.0507009873554804934
#define SELU_SA 1.7580993408473768599 /* SELU's scale * alpha */

FDNN_INLINE T OP(elu)(T z, T alpha)
{
    T q = EXPM1NEG(z < 0 ? z : (T)0);
    return z <= 0 ? alpha * q : z; /* a NaN z: itself */
}

FDNN_INLINE T OP(d_elu_z)(T z, T alpha)
{
    T e = OP(exp_negabs)(z); /* used where z <= 0 */
    return NAN_OR(z, z > 0 ? (T)1 : alpha * e); /* alpha exp(z), alpha at z = 0 (as PyTorch) */
}

FDNN_INLINE T OP(d_elu_a)(T a, T alpha)
{
    return a > 0 ? (T)1 : a + alpha; /* alpha exp(z) = a + alpha; a NaN a: itself */
}

FDNN_INLINE T OP(selu)(T z, T alpha)
{
    (void)alpha;
    T q = EXPM1NEG(z < 0 ? z : (T)0);
    return z <= 0 ? (T)SELU_SA * q : (T)SELU_SCALE * z; /* a NaN z: itself */
}

FDNN_INLINE T OP(d_selu_z)(T z, T alpha)
{
    (void)alpha;
    T e = OP(exp_negabs)(z); /* used where z <= 0 */
    return NAN_OR(z, z > 0 ? (T)SELU_SCALE : (T)SELU_SA * e);
}

FDNN_INLINE T OP(d_selu_a)(T a, T alpha)
{
    (void)alpha;
    return a > 0 ? (T)SELU_SCALE : a + (T)SELU_SA; /* a NaN a: itself */
}

/* softplus log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)) */
FDNN_INLINE T OP(softplus)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    float e = fdnn_expneg_f32(-FDNN_ABS(z));
    return NAN_OR(z, (z > 0 ? z : 0.0f) + fdnn_log1p01_f32(e));
#else
    W x = z;
    W e = fdnn_expneg_f64(-FDNN_ABS(z));
    W r = (x > 0 ? x : 0.0) + fdnn_log1p01_f64(e);
    return NAN_OR(z, (T)r);
#endif
}

FDNN_INLINE T OP(d_softplus_z)(T z, T alpha)
{
    return OP(sigmoid)(z, alpha);
}

FDNN_INLINE T OP(d_softplus_a)(T a, T alpha)
{
    (void)alpha;
    return NAN_OR(a, -EXPM1NEG(-a)); /* sigma(z) = 1 - exp(-a), a >= 0 */
}

FDNN_INLINE T OP(softsign)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    float x = z < -1e30f ? -1e30f : (z > 1e30f ? 1e30f : z); /* +-inf: +-1 */
    return NAN_OR(z, x / (1.0f + FDNN_ABS(x)));
#else
    W x = z, ax = FDNN_ABS(z);
    W r = ax < 1e300 ? x / (1.0 + ax) : (x > 0 ? 1.0 : -1.0);
    return NAN_OR(z, (T)r);
#endif
}

/* float32: 1 / (d + dl)^2 with 1 + |z| = d + dl (an error-free sum), r = 1 / d, as
   r (r - 2 dl r^2): the rounding of 1 + |z| no longer doubled by the square */
FDNN_INLINE T OP(d_softsign_z)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    float a = FDNN_ABS(z);
    a = a < 0x1p100f ? a : 0x1p100f;
    float d = 1.0f + a, dl = a > 1.0f ? (a - d) + 1.0f : (1.0f - d) + a;
    float r = 1.0f / d;
    return NAN_OR(z, r * (r - 2.0f * dl * (r * r)));
#else
    W r = 1.0 / (1.0 + (W)FDNN_ABS(z));
    return NAN_OR(z, (T)(r * r));
#endif
}

FDNN_INLINE T OP(d_softsign_a)(T a, T alpha)
{
    (void)alpha;
    T d = (T)1 - FDNN_ABS(a); /* 1 / (1 + |z|) */
    return d * d;
}

/* Keras 3's hard sigmoid relu6(z + 3) / 6 */
FDNN_INLINE T OP(hard_sigmoid)(T z, T alpha)
{
    (void)alpha;
    T t = z + (T)3;
    t = t > 0 ? t : (T)0;
    t = t < 6 ? t : (T)6;
    return NAN_OR(z, t * ((T)1 / (T)6));
}

FDNN_INLINE T OP(d_hard_sigmoid_z)(T z, T alpha)
{
    (void)alpha;
    return NAN_OR(z, z > -3 && z < 3 ? (T)1 / (T)6 : (T)0);
}

FDNN_INLINE T OP(d_hard_sigmoid_a)(T a, T alpha)
{
    (void)alpha;
    return NAN_OR(a, a > 0 && a < 1 ? (T)1 / (T)6 : (T)0);
}

/* silu z sigma(z); e = exp(-|z|): z > 0: z / (1 + e); z < 0: z e / (1 + e), as
   (-|z| m / (1 + e)) 2^-40 with m = e 2^40 (fdnn_expm1neg_scaled_f32; float64 2^200), so
   that a subnormal result is rounded once */
FDNN_INLINE T OP(silu)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    const float a = fdnn_abs_min_f32(z, FDNN_F32_SCALED_MAX_BITS);
    float s, q = fdnn_expm1neg_scaled_f32(-a, &s);
    const float m = (1.0f + q) * s, t = 1.0f + m * FDNN_F32_2M40; /* m = e 2^40 */
    /* one quotient for both signs: the vector loop computes every branch */
    const float num = z > 0 ? z : a * m, scale = z > 0 ? 1.0f : -FDNN_F32_2M40;
    return ZERO_NAN_OR(z, (num / t) * scale);
#else
    /* as float32, with m = e 2^200 (fdnn_expm1neg_scaled_f64): 1.02 -> 0.77 ns per
       element on one core (Sapphire Rapids-class Xeon, 1e5; 2.79 ULP either way) against
       exp with its scale split off (fdnn_expneg_split_f64) */
    const double a = fdnn_abs_min_f64(z, FDNN_F64_SCALED_MAX_BITS);
    double s, q = fdnn_expm1neg_scaled_f64(-a, &s);
    const double m = (1.0 + q) * s, t = 1.0 + m * FDNN_F64_2M200;
    const double num = z > 0 ? (double)z : a * m, scale = z > 0 ? 1.0 : -FDNN_F64_2M200;
    return ZERO_NAN_OR(z, (T)((num / t) * scale));
#endif
}

/* 1 + e + c with the two sums error-free: the bracket of the float64 tanh-GELU derivative
   for z < 0, whose zero is its (c = -1.85 there) */
FDNN_INLINE W OP(one_plus_sum)(W e, W c, W c_lo)
{
    W q = 1.0 + c, bq = q - 1.0;
    W err = (1.0 - (q - bq)) + (c - bq);
    W r = q + e, br = r - q;
    err += (q - (r - br)) + (e - br);
    return r + (err + c_lo);
}

/* sigma(z) (1 + z sigma(-z)): z >= 0: 1/(1+e) + z e/(1+e)^2; z < 0: e (1 + e + z)/(1+e)^2,
   (1 + e)^2 as e (2 + e) + 1 (see e_over_1pe_sq).
   float32: e = (1 + q) s 2^-40 (fdnn_expm1neg_scaled_f32), one quotient N / (1 + e)^2 for
   both signs with N scaled by 2^40, so that a subnormal result is rounded once: z < 0:
   N = b s (1 + q), b = 1 - |z| + e; z >= 0: N = (1 + e + |z| e) 2^40. Around the zero at
   z = -1.28, where b cancels, the fit fdnn_d_silu_near_zero_f32. Within 3.4 ULP (3.6
   without FMA); 49 instructions per 8 elements on AVX2, where every part error-free to
   2^-30 (the previous form, 2.2 ULP) took 70 and twice the time. float64 the same way with
   2^-200 (fdnn_expm1neg_scaled_f64): 2.6 ULP, 1.7x faster than three quotients. */
FDNN_INLINE T OP(d_silu_z)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    const float a = fdnn_abs_min_f32(z, FDNN_F32_SCALED_MAX_BITS);
    float s, q = fdnn_expm1neg_scaled_f32(-a, &s);
    const float m = (1.0f + q) * s, e = m * FDNN_F32_2M40; /* m = e 2^40 */
    const float den = e * (2.0f + e) + 1.0f;
    const float bs = ((1.0f - a) + e) * s;
    const float num = z < 0 ? bs + bs * q : a * m + (m + FDNN_F32_2P40);
    const float far = (num / den) * FDNN_F32_2M40;
    const float r = fabsf(z + 1.28f) < 0.14f ? fdnn_d_silu_near_zero_f32(z) : far;
    return NAN_OR(z, r);
#else
    const double a = fdnn_abs_min_f64(z, FDNN_F64_SCALED_MAX_BITS);
    double s, q = fdnn_expm1neg_scaled_f64(-a, &s);
    const double m = (1.0 + q) * s, e = m * FDNN_F64_2M200; /* m = e 2^200 */
    const double den = e * (2.0 + e) + 1.0;
    const double bs = ((1.0 - a) + e) * s;
    const double num = z < 0 ? bs + bs * q : a * m + (m + FDNN_F64_2P200);
    return NAN_OR(z, (num / den) * FDNN_F64_2M200);
#endif
}

/* mish z tanh(softplus(z)); tanh(log(1 + exp(z))) = N / D with, e = exp(-|z|):
   z >= 0: N = 1 + 2e, D = N + 2e^2; z < 0: N = e (e + 2), D = N + 2 */
FDNN_INLINE T OP(mish)(T z, T alpha)
{
    (void)alpha;
    W x = z < -800 ? -800.0 : (W)z, s;
    W m = fdnn_expneg_split_f64(-fabs(x), &s), e = m * s;
    W n = x > 0 ? 1.0 + 2.0 * e : e * (e + 2.0);
    W d = x > 0 ? n + 2.0 * e * e : n + 2.0;
    W r = x > 0 ? x * n / d : (x * m * (e + 2.0) / d) * s;
    return NAN_OR(z, (T)r);
}

/* tanh(sp) + z sigma(z) (1 - tanh(sp)^2), 1 - (N/D)^2 = 4 (1 + e)^2 e^2 / D^2 (z >= 0),
   4 (1 + e)^2 / D^2 (z < 0) */
FDNN_INLINE T OP(d_mish_z)(T z, T alpha)
{
    (void)alpha;
    W x = copysign(fdnn_abs_min_f64((W)z, 0x4089000000000000ull), (W)z), s; /* 800 */
    W m = fdnn_expneg_split_f64(-fabs(x), &s), e = m * s;
    W n = x > 0 ? 1.0 + 2.0 * e : e * (e + 2.0);
    W d = x > 0 ? n + 2.0 * e * e : n + 2.0;
    /* z < 0: r = e B / D^2, B = (e + 2) D + 4 z (1 + e). Far out, B = 4 (1 + z) +
       e (6 + 4 z + e (4 + e)) and D^2 = 4 + e (8 + e (8 + e (4 + e))) leave e's rounding
       to the small terms (as (e + 2) D + 4 z (1 + e) over D D it reached 5.9 ULP at
       z = -2.3); nearer 0, where e is not small, e q (e + 2 + 4 z (1 + e) q), q = 1 / D,
       rounds least */
    W b = 4.0 * (1.0 + x) + e * ((6.0 + 4.0 * x) + e * (4.0 + e));
    W d2 = 4.0 + e * (8.0 + e * (8.0 + e * (4.0 + e))), q = 1.0 / d;
    W far = (m * b / d2) * s, near = e * q * ((e + 2.0) + 4.0 * x * (1.0 + e) * q);
    W r = x > 0 ? n / d + 4.0 * x * e * e * (1.0 + e) / (d * d) : (x < -0.6 ? far : near);
    return NAN_OR(z, (T)r);
}

/* The Gaussian CDF Phi(z) = *cdf * *sc and z phi(z) = *zpdf * *sc (sc = 1 unless the tail
   is below 2^-1000); |z| < 0.6: 1/2 + z Q(z^2); else from the tail 1/2 exp(-z^2/2) erfcx,
   the exponential's argument exact. zc: z clamped to [-40, 40]. */
FDNN_INLINE void OP(gauss)(W zc, W *cdf, W *zpdf, W *sc)
{
    W y = fabs(zc), es;
    W g = fdnn_exp_half_sq_f64(y, &es); /* exp(-y^2/2) = g es */
    W tail = 0.5 * g * fdnn_gauss_tailx_f64(y < 0.6 ? 0.6 : y); /* Phi(-y) / es */
    W small = 0.5 + zc * fdnn_gauss_series_f64(zc * zc);
    *cdf = y < 0.6 ? small : (zc < 0 ? tail : 1.0 - tail * es);
    *zpdf = zc * FDNN_INV_SQRT_2PI * g * (zc < 0 ? 1.0 : es);
    *sc = zc < 0 ? es : 1.0;
}

/* gelu z Phi(z), and its derivative Phi(z) + z phi(z). float32 computes in float lanes
   (fdnn_math.h): y Phi(-y) = exp(-y^2/2) R(y), y = |z|, the exponential's argument exact and
   its scale 2^-40 applied last (a subnormal result is rounded once); GELU is z - y Phi(-y)
   for z > 0, -y Phi(-y) otherwise, and for |z| < 0.75 the series 1/2 + z S(z^2) (one fit
   of Phi(-y) exp(y^2/2) over the whole range, degree 11, lost float32's relative accuracy
   where the tail's sum cancels: 9.6 ULP at z = -13); the derivative at z = -y as
   (y0 - y) exp(-y^2/2) D(y),
   its zero y0 factored out so that it keeps its relative accuracy where the sum cancels. */
FDNN_INLINE T OP(gelu)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    const float y = fdnn_abs_min_f32(z, FDNN_GAUSS_F32_MAX_BITS);
    float s, q = fdnn_expm1_half_sq_f32(y, &s);
    const float p = fdnn_gauss_ytailx_f32(y);
    const float u = ((p + p * q) * s) * FDNN_F32_2M40; /* y Phi(-y) */
    const float near = z * (0.5f + z * fdnn_gauss_series_f32(z * z));
    /* a NaN z (y clamped to 14.75) comes out of z - u, sign and payload kept */
    return y < 0.75f ? near : (z <= 0 ? 0.0f : z) - u;
#else
    W x = copysign(fdnn_abs_min_f64((W)z, 0x4044000000000000ull), (W)z), cdf, zpdf, sc;
    OP(gauss)(x, &cdf, &zpdf, &sc);
    return z <= 40 ? (T)((x * cdf) * sc) : z; /* a NaN z: itself */
#endif
}

FDNN_INLINE T OP(d_gelu_z)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    const float y = fdnn_abs_min_f32(z, FDNN_GAUSS_F32_MAX_BITS);
    float s, q = fdnn_expm1_half_sq_f32(y, &s);
    const float p = fdnn_d_gelu_tailx_f32(y) * ((FDNN_D_GELU_Y0_HI - y) + FDNN_D_GELU_Y0_LO);
    const float g = ((p + p * q) * s) * FDNN_F32_2M40; /* Phi(-|z|) - |z| phi(z) */
    return NAN_OR(z, z < 0 ? g : 1.0f - g);
#else
    /* Phi and z phi share the factor exp(-z^2/2) in the tails and z near 0: one bracket
       each, rounded once, where the sum of the two rounded terms cancels around z0 */
    W x = copysign(fdnn_abs_min_f64((W)z, 0x4044000000000000ull), (W)z), y = fabs(x), es;
    W g = fdnn_exp_half_sq_f64(y, &es);
    W tx = 0.5 * fdnn_gauss_tailx_f64(y < 0.6 ? 0.6 : y);
    W small = FDNN_FMA_F64(x, FDNN_FMA_F64(FDNN_INV_SQRT_2PI, g, fdnn_gauss_series_f64(x * x)), 0.5);
    W left = g * FDNN_FMA_F64(FDNN_INV_SQRT_2PI, x, tx) * es;
    W right = FDNN_FMA_F64(g * FDNN_FMA_F64(FDNN_INV_SQRT_2PI, x, -tx), es, 1.0);
    return NAN_OR(z, (T)(y < 0.6 ? small : (x < 0 ? left : right)));
#endif
}

/* the tanh approximation z (1 + tanh u) / 2 = z sigma(2u), 2u = sqrt(8/pi) (z + 0.044715 z^3)
   as a double-double (s + lo): e = exp(-|2u|) = m sc exactly enough for any z */
FDNN_INLINE W OP(gelu_tanh_e)(W x, W *s2u, W *m, W *sc)
{
    W lo, s = fdnn_gelu_tanh_arg_f64(x, &lo);
    W mm = fdnn_expneg_split2_f64(-fabs(s), s > 0 ? -lo : lo, sc);
    *s2u = s;
    *m = mm;
    return mm * *sc;
}

/* float32: e = exp(-|2u|) = (1 + q) s 2^-40 (fdnn_expm1neg_scaled_f32); z sigma(2u) is
   z / (1 + e) for z >= 0, (z (1 + q) s / (1 + e)) 2^-40 for z < 0 */
FDNN_INLINE T OP(gelu_tanh)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    const float x = copysignf(fdnn_abs_min_f32(z, 0x41300000u), z); /* |x| <= 11 */
    float lo, q2, q2l, a = fdnn_gelu_tanh_arg_f32(x, &lo, &q2, &q2l);
    float s, q = fdnn_expm1neg_scaled_lo_f32(-fabsf(a), a > 0 ? -lo : lo, &s);
    const float e = ((1.0f + q) * s) * FDNN_F32_2M40;
    const float num = x < 0 ? (x + x * q) * s : x * FDNN_F32_2P40;
    const float v = (num / (1.0f + e)) * FDNN_F32_2M40;
    return z <= 11.0f ? v : z; /* a NaN z: itself */
#else
    W x = copysign(fdnn_abs_min_f64((W)z, 0x4044000000000000ull), (W)z), s2u, m, sc;
    W e = OP(gelu_tanh_e)(x, &s2u, &m, &sc);
    W r = x > 0 ? x / (1.0 + e) : (x * m / (1.0 + e)) * sc;
    return z <= 40 ? (T)r : z; /* a NaN z: itself */
#endif
}

/* sigma(2u) + z sigma'(2u) (2u)', (2u)' = a + 3 b z^2. float32: e (1 + e + c) / (1 + e)^2
   for z < 0, c = z (2u)' a float-float (1 + c is exact where the bracket cancels; e and c's
   low part are added to it in one rounding), and (1 + e + c e) / (1 + e)^2 for z >= 0;
   around the zero, a fit with the zero factored out */
FDNN_INLINE T OP(d_gelu_tanh_z)(T z, T alpha)
{
    (void)alpha;
#if FDNN_TBYTES == 4
    const float x = copysignf(fdnn_abs_min_f32(z, 0x41300000u), z); /* |x| <= 11 */
    float lo, q2, q2l, a = fdnn_gelu_tanh_arg_f32(x, &lo, &q2, &q2l);
    float s, q = fdnn_expm1neg_scaled_lo_f32(-fabsf(a), a > 0 ? -lo : lo, &s);
    const float e = ((1.0f + q) * s) * FDNN_F32_2M40;
    float tl, t = fdnn_two_prod_f32(FDNN_GELU_B3_HI_F32, q2, &tl);
    const float ds = FDNN_GELU_A_HI_F32 + t;
    const float dsl = ((FDNN_GELU_A_HI_F32 - ds) + t)
                      + ((tl + FDNN_GELU_B3_HI_F32 * q2l) + FDNN_GELU_A_LO_F32);
    float cl, c = fdnn_two_prod_f32(x, ds, &cl);
    cl += x * dsl;
    const float den = e * (2.0f + e) + 1.0f;
    const float b = ((1.0f + c) + (e + cl)) * s;
    const float num = x < 0 ? b + b * q : ((1.0f + e) + c * e) * FDNN_F32_2P40;
    const float far = (num / den) * FDNN_F32_2M40;
    const float near = fdnn_d_gelu_tanh_near_zero_f32(z);
    return NAN_OR(z, z > FDNN_D_GELU_TANH_Z0_HI - 0.4f && z < FDNN_D_GELU_TANH_Z0_HI + 0.6f
                         ? near : far);
#else
    W x = copysign(fdnn_abs_min_f64((W)z, 0x4044000000000000ull), (W)z), s2u, m, sc;
    W e = OP(gelu_tanh_e)(x, &s2u, &m, &sc);
    W ds = FDNN_GELU_A_HI + 3.0 * FDNN_GELU_B_HI * (x * x), c_lo;
    W c = fdnn_two_prod_f64(x, ds, &c_lo);
    W den = e * (2.0 + e) + 1.0;
    W r = x > 0 ? 1.0 / (1.0 + e) + x * ds * (e / den)
                : (m * OP(one_plus_sum)(e, c, c_lo) / den) * sc;
    return NAN_OR(z, (T)r);
#endif
}

#undef SELU_SA
#undef SELU_SCALE
#undef W

/* ---- loops ---- */

/* The costly kernels (fdnn_unary_costly) run FDNN_PF_BLOCK elements at a time and
   prefetch their input FDNN_PF_AHEAD bytes ahead, a line per 64 bytes: from L3 the
   hardware's prefetchers kept them waiting on it. Float32, us, plain -> blocks: 10^6 on
   two threads gelu 293-306 -> 265-274, silu_derivative 299-308 -> 236-242, sigmoid
   149-150 -> 136-141, tanh 143-147 -> 137-141; one thread gelu 627-667 -> 571-603,
   silu_derivative 602-623 -> 501-520; 10^7 sigmoid 1878-2100 -> 1504-1525; 10^5 (L2)
   0-2 % slower; float64 within noise. The block's loop stays one vectorized loop, not
   unrolled. The cheap kernels keep the plain loop (in blocks, float32 relu 10^5 took
   8.1 -> 8.8-9.4 us), and so do the backward steps: prefetching both inputs gained on
   two threads and lost on one (gelu_backward 10^6 604-642 -> 706-741). */
#ifndef FDNN_NO_UNROLL
#if defined(__clang__)
#define FDNN_NO_UNROLL _Pragma("clang loop unroll(disable)")
#elif defined(__GNUC__)
#define FDNN_NO_UNROLL _Pragma("GCC unroll 1")
#else
#define FDNN_NO_UNROLL
#endif
#endif
#define FDNN_PF_BLOCK 256
#define FDNN_PF_AHEAD 8192
/* the lines of the block FDNN_PF_AHEAD bytes past p */
#if defined(__GNUC__) || defined(__clang__)
#define FDNN_PF_LINES(p)                                                        \
    for (int l_ = 0; l_ < FDNN_PF_BLOCK; l_ += 64 / (int)sizeof(T))             \
        __builtin_prefetch((p) + FDNN_PF_AHEAD / (ptrdiff_t)sizeof(T) + l_, 0, 3)
#else
#define FDNN_PF_LINES(p) ((void)(p))
#endif
#define FDNN_DEF_UNARY(CODE, name)                                              \
    static void KFN(name)(const T *x, T *y, ptrdiff_t n, T alpha)               \
    {                                                                           \
        ptrdiff_t i = 0;                                                        \
        if (fdnn_unary_costly(FDNN_##CODE))                                     \
            for (; i + FDNN_PF_BLOCK <= n; i += FDNN_PF_BLOCK) {                \
                FDNN_PF_LINES(x + i);                                           \
                FDNN_NO_UNROLL                                                  \
                FDNN_IVDEP                                                      \
                for (int k = 0; k < FDNN_PF_BLOCK; k++)                         \
                    y[i + k] = OP(name)(x[i + k], alpha);                       \
            }                                                                   \
        FDNN_IVDEP                                                              \
        for (; i < n; i++)                                                      \
            y[i] = OP(name)(x[i], alpha);                                       \
    }

#define FDNN_DEF_BACKWARD(name, deriv)                                          \
    static void KFN(bw_##name)(const T *dA, const T *a, T *y, ptrdiff_t n, T alpha) \
    {                                                                           \
        FDNN_IVDEP                                                              \
        for (ptrdiff_t i = 0; i < n; i++)                                       \
            y[i] = dA[i] * OP(deriv)(a[i], alpha);                              \
    }

#define FDNN_UNARY_X(CODE, name) FDNN_DEF_UNARY(CODE, name)
#define FDNN_BACKWARD_X(CODE, name, deriv, on) FDNN_DEF_BACKWARD(name, deriv)
FDNN_UNARY_OPS(FDNN_UNARY_X)
FDNN_ACTIVATIONS(FDNN_BACKWARD_X)
#undef FDNN_UNARY_X
#undef FDNN_BACKWARD_X

static void KFN(sgd_step)(const T *g, const T *a, T *y, ptrdiff_t n, T alpha)
{
    FDNN_IVDEP
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = a[i] - alpha * g[i];
}

/* ---- softmax over the middle axis of a C-contiguous (outer, n, inner) block ----
 *
 * Every layout takes the same three steps per slice: the max (a NaN anywhere in the slice
 * wins), e = exp(x - max) stored in y with its sum accumulated in double (a float32 softmax
 * over many classes keeps float32 accuracy: the sum's rounding stays far below the
 * result's), then y = e * (1 / sum), the reciprocal rounded to T and the product in T
 * (FDNN_SCALE). The layouts differ in what runs across vector lanes:
 *   - long contiguous rows (n > FDNN_SHORT_ROW): FDNN_RL lanes of partial maxima and sums
 *     along the row (a serial double sum ran at one element per add latency: 0.30x NumPy
 *     on a (10, 10^4) float64 axis-1 softmax);
 *   - many short rows (F-ordered (n_classes, m)): FDNN_ROW_BLOCK rows at a time through a
 *     transposed copy, every step across rows; per row the arithmetic and its order are
 *     those of the one-row call (sequential sum), bit for bit;
 *   - columns (C-ordered (n_classes, m), reduced over rows of stride ld): FDNN_SOFTMAX_COLS
 *     columns at a time, every step across columns;
 *   - a few columns of a contiguous slice (F-ordered (10, m) over its long axis 1: a slice
 *     of m rows of 10): the slice seen as one flat array whose column repeats with period
 *     ld, reduced in blocks of FDNN_PERIOD_ROWS rows (a whole number of vectors) against
 *     patterns of the per-column values (was 10-wide inner loops: float32 (10, 10^3) on one
 *     core 2.5 -> 0.57 ns/element; the long-row lanes: 1.43 -> 0.52). */

FDNN_INLINE T OP(nanmax)(T v, T m)
{
    return (v > m || v != v) ? v : m; /* a NaN anywhere in the slice wins */
}

/* A term e = exp(d) 2^C of a slice's sum, d = x - max <= 0 (or NaN), C = 40 for float32
   and 200 for float64 (fdnn_expm1neg_scaled_*): every term is then normal, and the sum's
   reciprocal, 2^-C / sum, takes the scale back exactly, so that a result is rounded once,
   by its product with the reciprocal, even where it is subnormal (fdnn_expneg_* rounded
   such a term to the subnormal grid, then the product again). Below the clamp, exp(d) /
   sum rounds to 0 either way. Normal results keep their bits; the second factor of 2^k
   that fdnn_expneg_* applies goes: 40 -> 31 instructions per vector of the float32 exp
   pass (AVX-512). One core, us: float32 (10, 10^5) over axis 1 594-622 -> 553-561,
   (10, 10^4) 45 -> 40-41, over axis 0 621-637 -> 567-587; float64 (10, 10^5) over axis 1
   1234-1263 -> 1032-1073. */
FDNN_INLINE T OP(softmax_term)(T d)
{
#if FDNN_TBYTES == 4
    float s, q = fdnn_expm1neg_scaled_f32(d < -104.0f ? -104.0f : d, &s);
    return (1.0f + q) * s;
#else
    double s, q = fdnn_expm1neg_scaled_f64(d < -746.0 ? -746.0 : d, &s);
    return (1.0 + q) * s;
#endif
}

#define FDNN_RL 32          /* lanes of the row reductions: 2 AVX-512 vectors of float32 */
#define FDNN_SHORT_ROW 32
#define FDNN_ROW_BLOCK 32
/* softmax_cols' column blocks: the block's e stays in L1 for the scale pass. C-ordered,
   over axis 0, two threads, ms, 4096 -> 512 columns: float32 (10, 10^6) 5.9-7.7 ->
   4.3-4.6 (PyTorch 4.4), (3, 10^6) 1.57 -> 1.20; float64 (10, 10^6) 15.9-17.3 -> 9.7-12.1
   (PyTorch 11.9), (100, 10^5) 16.7-16.9 -> 11.6-12.1; (1000, 1000) float64 1.17-1.37 ->
   1.40-1.45 (its blocks of 1000 rows fit no cache either way) */
#define FDNN_SOFTMAX_COLS 512
/* softmax_backward's column blocks: float32 (10, 10^5) over axis 0, 1 / 2 threads: 4096
   columns 448-482 / 224-229 us, 1024 409-415 / 206-208, 512 448-474 / 209, 256 443-453 /
   214 (the block's sums, A and dA stay in L1 and L2 for the second pass) */
#define FDNN_SOFTMAX_BW_COLS 1024

/* y = e * (1 / s), the reciprocal rounded to T: for float32 a float multiply, where one
   rounding in double (2 conversions per vector) cost 7-13 % more time at 10^6 elements and
   gained 0.6 ULP (tests/test_accuracy.py: at most 2.4 against 1.8) */
#if FDNN_TBYTES == 4
#define FDNN_SCALE(e, r) ((e) * (T)(r))
#else
#define FDNN_SCALE(e, r) ((e) * (r))
#endif

/* Sums of many terms: in double; for float64 data, whose terms are as wide as the
   accumulator, Kahan-compensated (s the sum, c its compensation), so that a 10^6-long
   axis sums to within a few ulps however many terms each lane takes. */
#if FDNN_TBYTES == 8
#define FDNN_KSUM(s, c, v)                                                      \
    do {                                                                        \
        const double y_ = (double)(v) - (c);                                    \
        const double t_ = (s) + y_;                                             \
        (c) = (t_ - (s)) - y_;                                                  \
        (s) = t_;                                                               \
    } while (0)
#define FDNN_KVAL(s, c) ((s) - (c))
#else
#define FDNN_KSUM(s, c, v) ((void)(c), (s) += (double)(v))
#define FDNN_KVAL(s, c) (s)
#endif

static T KFN(row_max)(const T *x, ptrdiff_t n)
{
    T m = x[0];
    ptrdiff_t i = 1;
    if (n >= 2 * FDNN_RL) {
        T acc[FDNN_RL];
        for (int k = 0; k < FDNN_RL; k++)
            acc[k] = x[k];
        for (i = FDNN_RL; i + FDNN_RL <= n; i += FDNN_RL)
            for (int k = 0; k < FDNN_RL; k++)
                acc[k] = OP(nanmax)(x[i + k], acc[k]);
        m = acc[0];
        for (int k = 1; k < FDNN_RL; k++)
            m = OP(nanmax)(acc[k], m);
    }
    for (; i < n; i++)
        m = OP(nanmax)(x[i], m);
    return m;
}

/* y = exp(x - m), returns the sum (in order for short rows, in lanes for long ones) */
static double KFN(row_exp_sum)(const T *x, T *y, ptrdiff_t n, T m)
{
    double s = 0, c = 0;
    ptrdiff_t i = 0;
    if (n > FDNN_SHORT_ROW) {
        double acc[FDNN_RL] = {0}, cc[FDNN_RL] = {0};
        for (; i + FDNN_RL <= n; i += FDNN_RL) {
            FDNN_IVDEP
            for (int k = 0; k < FDNN_RL; k++) {
                const T e = OP(softmax_term)(x[i + k] - m);
                y[i + k] = e;
                FDNN_KSUM(acc[k], cc[k], e);
            }
        }
        for (int k = 0; k < FDNN_RL; k++)
            FDNN_KSUM(s, c, acc[k] - cc[k]);
        for (; i < n; i++) {
            const T e = OP(softmax_term)(x[i] - m);
            y[i] = e;
            FDNN_KSUM(s, c, e);
        }
        return s - c;
    }
    for (; i < n; i++) { /* short rows: in order, as the blocks of rows sum them */
        const T e = OP(softmax_term)(x[i] - m);
        y[i] = e;
        FDNN_KSUM(s, c, e);
    }
    return FDNN_KVAL(s, c);
}

/* The row's element-wise store passes run the elements before y's first line apart
   (fdnn_line_head): float32 (10, 10^4) over axis 1 with the arrays 16 bytes past a line,
   one thread, us: softmax_backward 31.5-32.3 -> 26.3-28.4 (23-24 on a line), softmax
   55.9-57.4 -> 53.9-55.6 (52-53). Sums and maxima run over the whole row as before. */
static void KFN(row_scale)(T *y, ptrdiff_t n, double s)
{
    const double r = 1.0 / s;
    const ptrdiff_t h = fdnn_line_head(y, n, sizeof(T));
    for (ptrdiff_t i = 0; i < h; i++)
        y[i] = FDNN_SCALE(y[i], r);
    FDNN_IVDEP
    for (ptrdiff_t i = h; i < n; i++)
        y[i] = FDNN_SCALE(y[i], r);
}

/* Softmax over each of `outer` contiguous rows of n <= FDNN_SHORT_ROW values (an F-ordered
   (n_classes, m) output layer): FDNN_ROW_BLOCK rows at a time through a transposed copy, so
   that the max, exp and sums run across rows in whole vectors instead of along rows too
   short for them. Per row the arithmetic and its order are those of the one-row loop. */
FDNN_INLINE void OP(short_rows_block)(const T *xb, T *yb, const ptrdiff_t g, ptrdiff_t n)
{
    T t[FDNN_SHORT_ROW * FDNN_ROW_BLOCK], mx[FDNN_ROW_BLOCK];
    double s[FDNN_ROW_BLOCK];
#if FDNN_TBYTES == 8
    /* float64 sums compensated, as a long row's: 25 terms of which one is 1 and 24 are
       e^-7, summed in order, were 5.8 ulp off, every term rounding the same way */
    double c[FDNN_ROW_BLOCK];
#define FDNN_SR_ADD(j, e) FDNN_KSUM(s[j], c[j], e)
#define FDNN_SR_SUM(j) (s[j] - c[j])
#else
#define FDNN_SR_ADD(j, e) (s[j] += (e))
#define FDNN_SR_SUM(j) s[j]
#endif
    for (ptrdiff_t j = 0; j < g; j++)
        for (ptrdiff_t i = 0; i < n; i++)
            t[i * FDNN_ROW_BLOCK + j] = xb[j * n + i];
    for (ptrdiff_t j = 0; j < g; j++) {
        mx[j] = t[j];
        s[j] = 0;
#if FDNN_TBYTES == 8
        c[j] = 0;
#endif
    }
    for (ptrdiff_t i = 1; i < n; i++) {
        const T *ti = t + i * FDNN_ROW_BLOCK;
        for (ptrdiff_t j = 0; j < g; j++)
            mx[j] = OP(nanmax)(ti[j], mx[j]);
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        T *ti = t + i * FDNN_ROW_BLOCK;
        for (ptrdiff_t j = 0; j < g; j++) {
            const T e = OP(softmax_term)(ti[j] - mx[j]);
            ti[j] = e;
            FDNN_SR_ADD(j, e);
        }
    }
    for (ptrdiff_t j = 0; j < g; j++)
        s[j] = 1.0 / FDNN_SR_SUM(j);
    /* scaled on the way out, row by row of t: whole vectors across the block's rows, each
       value stored to its place in y (scaled in t first, then copied out row by row of y,
       GCC compiled the copy to scalar moves or to vectors depending on unrelated code in the
       file: float32 (10, 10^5) over axis 0 on one core took 112 or 135 us) */
    for (ptrdiff_t i = 0; i < n; i++) {
        const T *ti = t + i * FDNN_ROW_BLOCK;
        for (ptrdiff_t j = 0; j < g; j++)
            yb[j * n + i] = FDNN_SCALE(ti[j], s[j]);
    }
}
#undef FDNN_SR_ADD
#undef FDNN_SR_SUM

/* Softmax over each of `outer` contiguous rows of n <= FDNN_SHORT_ROW values (an F-ordered
   (n_classes, m) output layer): FDNN_ROW_BLOCK rows at a time through a transposed copy, so
   that the max, exp and sums run across rows in whole vectors instead of along rows too
   short for them. Per row the arithmetic and its order are those of the one-row loop.
   Whole blocks are compiled with their row count a constant (the loops across rows then
   unroll into whole vectors without remainder handling: float32, 10 classes, 1e4 values:
   1.6 -> 1.0 ns/element on one core, float64 2.0 -> 1.3). */
static void KFN(softmax_short_rows)(const T *x, T *y, ptrdiff_t outer, ptrdiff_t n)
{
    ptrdiff_t o0 = 0;
    for (; o0 + FDNN_ROW_BLOCK <= outer; o0 += FDNN_ROW_BLOCK)
        OP(short_rows_block)(x + o0 * n, y + o0 * n, FDNN_ROW_BLOCK, n);
    if (o0 < outer)
        OP(short_rows_block)(x + o0 * n, y + o0 * n, outer - o0, n);
}

/* softmax over the n rows (row stride ld) of each of w columns, FDNN_SOFTMAX_COLS columns
   at a time so that the block's passes (max, exp and sum, scale) run in cache */
static void KFN(softmax_cols)(const T *x, T *y, ptrdiff_t n, ptrdiff_t w, ptrdiff_t ld)
{
    T m[FDNN_SOFTMAX_COLS];
    double s[FDNN_SOFTMAX_COLS], c[FDNN_SOFTMAX_COLS];
    for (ptrdiff_t j0 = 0; j0 < w; j0 += FDNN_SOFTMAX_COLS) {
        const ptrdiff_t g = w - j0 < FDNN_SOFTMAX_COLS ? w - j0 : FDNN_SOFTMAX_COLS;
        const T *xo = x + j0;
        T *yo = y + j0;
        for (ptrdiff_t j = 0; j < g; j++) {
            m[j] = xo[j];
            s[j] = 0;
            c[j] = 0;
        }
        for (ptrdiff_t i = 1; i < n; i++) {
            const T *xr = xo + i * ld;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++)
                m[j] = OP(nanmax)(xr[j], m[j]);
        }
        for (ptrdiff_t i = 0; i < n; i++) {
            const T *xr = xo + i * ld;
            T *yr = yo + i * ld;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++) {
                const T e = OP(softmax_term)(xr[j] - m[j]);
                yr[j] = e;
                FDNN_KSUM(s[j], c[j], e);
            }
        }
        for (ptrdiff_t j = 0; j < g; j++)
            s[j] = 1.0 / (s[j] - c[j]);
        for (ptrdiff_t i = 0; i < n; i++) {
            T *yr = yo + i * ld;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++)
                yr[j] = FDNN_SCALE(yr[j], s[j]);
        }
    }
}

/* A term of softmax_backward's sum: for float32 the product rounded to float (within
   2^-24 of it; the sum of those errors is at most 2^-24 sum|dA a| <= 2^-24 max|dA| when the
   a sum to 1, as much as rounding the sum to float), then widened: one conversion per
   product instead of two (float32 (10, 10^5) over axis 1, one core: 276-280 -> 229-230 us,
   PyTorch 240); float64's exact product in double. */
#if FDNN_TBYTES == 4
#define FDNN_DOTP(g, a) ((double)((g) * (a)))
/* Along a long row, four products (one from each of 4 strided runs) summed in float as a
   tree, then widened: one conversion per four products, each term within 3 * 2^-24 of its
   part of the sum (bound 3u sum|dA a| + u|s| in tests/test_functional.py). float32
   (10, 10^4) over axis 1, us, one / two threads: 23.5-25.5 / 13.1-15.2 -> 18.4-21.5 /
   11.2-12.0 (PyTorch 21-22 / 13, its sum in float along the row); two products per
   conversion 20.6-23.3 / 11.5-12.5. */
#define FDNN_DOTP4(g, a)                                                        \
    ((double)(((g)[0] * (a)[0] + (g)[FDNN_RL] * (a)[FDNN_RL])                   \
              + ((g)[2 * FDNN_RL] * (a)[2 * FDNN_RL] + (g)[3 * FDNN_RL] * (a)[3 * FDNN_RL])))
#else
#define FDNN_DOTP(g, a) ((g) * (a))
#endif

/* A contiguous slice of n rows of p <= FDNN_PERIOD values (fdnn_kernels.h), reduced over
   its rows (column j of the slice: the elements k with k % p == j), in the passes that
   fdnn_dispatch.c runs on segments of rows on its threads and combines in between. Blocks of
   FDNN_PERIOD_ROWS rows (p times that: a multiple of every vector width) run flat against
   per-column patterns. in and out hold one value per column; sums are compensated within
   the slice (FDNN_KSUM) and returned as one double each. */
#define FDNN_PERIOD_ROWS 16
#define FDNN_PB (FDNN_PERIOD * FDNN_PERIOD_ROWS)
/* a block's pattern of per-column values v(j), without a division per element */
#define FDNN_PATTERN(pat, v)                                                    \
    for (ptrdiff_t k = 0; k < blk; k += p)                                      \
        for (ptrdiff_t j = 0; j < p; j++)                                       \
            (pat)[k + j] = (v)
static void KFN(softmax_period_pass)(int pass, const T *x, const T *g, T *y, ptrdiff_t n,
                                     ptrdiff_t p, const double *in, double *out)
{
    const ptrdiff_t blk = p * FDNN_PERIOD_ROWS, nb = n / FDNN_PERIOD_ROWS;
    const ptrdiff_t end = nb * blk, tail = n * p - end;
    T pat[FDNN_PB];
    double sacc[FDNN_PB], cacc[FDNN_PB];
    if (pass == FDNN_SMP_MAX) {
        T m[FDNN_PERIOD];
        for (ptrdiff_t k = 0; k < blk; k++)
            pat[k] = x[k < n * p ? k : k % p]; /* n < FDNN_PERIOD_ROWS: the first row again */
        for (ptrdiff_t b = 1; b < nb; b++) {
            const T *xb = x + b * blk;
            FDNN_IVDEP
            for (ptrdiff_t k = 0; k < blk; k++)
                pat[k] = OP(nanmax)(xb[k], pat[k]);
        }
        for (ptrdiff_t k = 0; k < tail; k++)
            pat[k] = OP(nanmax)(x[end + k], pat[k]);
        for (ptrdiff_t j = 0; j < p; j++)
            m[j] = pat[j];
        for (ptrdiff_t k = p; k < blk; k += p)
            for (ptrdiff_t j = 0; j < p; j++)
                m[j] = OP(nanmax)(pat[k + j], m[j]);
        for (ptrdiff_t j = 0; j < p; j++)
            out[j] = m[j];
        return;
    }
    if (pass == FDNN_SMP_SCALE) { /* in: the reciprocals of the sums */
        FDNN_PATTERN(sacc, in[j]);
        for (ptrdiff_t b = 0; b < nb; b++) {
            T *yb = y + b * blk;
            FDNN_IVDEP
            for (ptrdiff_t k = 0; k < blk; k++)
                yb[k] = FDNN_SCALE(yb[k], sacc[k]);
        }
        for (ptrdiff_t k = 0; k < tail; k++)
            y[end + k] = FDNN_SCALE(y[end + k], sacc[k]);
        return;
    }
    if (pass == FDNN_SMP_BW) { /* x the softmax a, g its dA, in the sums of dA a */
        FDNN_PATTERN(pat, (T)in[j]);
        for (ptrdiff_t b = 0; b < nb; b++) {
            const T *gb = g + b * blk, *ab = x + b * blk;
            T *yb = y + b * blk;
            FDNN_IVDEP
            for (ptrdiff_t k = 0; k < blk; k++)
                yb[k] = ab[k] * (gb[k] - pat[k]);
        }
        for (ptrdiff_t k = 0; k < tail; k++)
            y[end + k] = x[end + k] * (g[end + k] - pat[k]);
        return;
    }
    for (ptrdiff_t k = 0; k < blk; k++)
        sacc[k] = cacc[k] = 0;
    if (pass == FDNN_SMP_EXP) { /* in: the maxima */
        FDNN_PATTERN(pat, (T)in[j]);
        for (ptrdiff_t b = 0; b < nb; b++) {
            const T *xb = x + b * blk;
            T *yb = y + b * blk;
            FDNN_IVDEP
            for (ptrdiff_t k = 0; k < blk; k++) {
                const T e = OP(softmax_term)(xb[k] - pat[k]);
                yb[k] = e;
                FDNN_KSUM(sacc[k], cacc[k], e);
            }
        }
        for (ptrdiff_t k = 0; k < tail; k++) {
            const T e = OP(softmax_term)(x[end + k] - pat[k]);
            y[end + k] = e;
            FDNN_KSUM(sacc[k], cacc[k], e);
        }
    } else { /* FDNN_SMP_DOT: the sums of dA a */
        for (ptrdiff_t b = 0; b < nb; b++) {
            const T *gb = g + b * blk, *ab = x + b * blk;
            for (ptrdiff_t k = 0; k < blk; k++)
                FDNN_KSUM(sacc[k], cacc[k], FDNN_DOTP(gb[k], ab[k]));
        }
        for (ptrdiff_t k = 0; k < tail; k++)
            FDNN_KSUM(sacc[k], cacc[k], FDNN_DOTP(g[end + k], x[end + k]));
    }
    double s[FDNN_PERIOD], c[FDNN_PERIOD];
    for (ptrdiff_t j = 0; j < p; j++)
        s[j] = c[j] = 0;
    for (ptrdiff_t k = 0; k < blk; k += p)
        for (ptrdiff_t j = 0; j < p; j++)
            FDNN_KSUM(s[j], c[j], sacc[k + j] - cacc[k + j]);
    for (ptrdiff_t j = 0; j < p; j++)
        out[j] = s[j] - c[j];
}

/* the passes over one whole slice */
static void KFN(softmax_period)(const T *x, T *y, ptrdiff_t n, ptrdiff_t p)
{
    double m[FDNN_PERIOD], s[FDNN_PERIOD];
    KFN(softmax_period_pass)(FDNN_SMP_MAX, x, NULL, y, n, p, NULL, m);
    KFN(softmax_period_pass)(FDNN_SMP_EXP, x, NULL, y, n, p, m, s);
    for (ptrdiff_t j = 0; j < p; j++)
        s[j] = 1.0 / s[j];
    KFN(softmax_period_pass)(FDNN_SMP_SCALE, x, NULL, y, n, p, s, NULL);
}

/* x, y seen as C-contiguous (outer, n, ld) with the reduction over n; only the first inner
   columns of each of the n rows are computed (the others belong to another call) */
static void KFN(softmax)(const T *x, T *y, ptrdiff_t outer, ptrdiff_t n, ptrdiff_t inner,
                         ptrdiff_t ld)
{
    if (ld == 1 && n <= FDNN_SHORT_ROW && outer > 1) {
        KFN(softmax_short_rows)(x, y, outer, n);
        return;
    }
    for (ptrdiff_t o = 0; o < outer; o++) {
        const T *xo = x + o * n * ld;
        T *yo = y + o * n * ld;
        if (ld == 1) {
            const T m = KFN(row_max)(xo, n);
            KFN(row_scale)(yo, n, KFN(row_exp_sum)(xo, yo, n, m));
        } else if (inner == ld && ld <= FDNN_PERIOD && n >= FDNN_PERIOD_ROWS) {
            KFN(softmax_period)(xo, yo, n, ld);
        } else {
            KFN(softmax_cols)(xo, yo, n, inner, ld);
        }
    }
}

/* dZ = a * (dA - sum(dA * a)) over the softmax axis; the sum accumulates in double.
   Arrays as for softmax: (outer, n, ld), the first inner columns; long rows in lanes, many
   short rows FDNN_ROW_BLOCK at a time (their sums in interleaved chains), a few columns of a
   contiguous slice as a flat array of period ld, other columns in blocks of columns. */
static double KFN(row_dot)(const T *g, const T *a, ptrdiff_t n)
{
    double s = 0, c = 0;
    ptrdiff_t i = 0;
    if (n > FDNN_SHORT_ROW) {
        double acc[FDNN_RL] = {0}, cc[FDNN_RL] = {0};
#if FDNN_TBYTES == 4
        for (; i + 4 * FDNN_RL <= n; i += 4 * FDNN_RL)
            for (int k = 0; k < FDNN_RL; k++)
                acc[k] += FDNN_DOTP4(g + i + k, a + i + k);
#endif
        for (; i + FDNN_RL <= n; i += FDNN_RL)
            for (int k = 0; k < FDNN_RL; k++)
                FDNN_KSUM(acc[k], cc[k], FDNN_DOTP(g[i + k], a[i + k]));
        for (int k = 0; k < FDNN_RL; k++)
            FDNN_KSUM(s, c, acc[k] - cc[k]);
        for (; i < n; i++)
            FDNN_KSUM(s, c, FDNN_DOTP(g[i], a[i]));
#if FDNN_TBYTES == 4
        /* four products past the float range (an a that is no softmax): each widened */
        if (!isfinite(s - c) && n >= 4 * FDNN_RL) {
            s = 0;
            for (i = 0; i < n; i++)
                s += FDNN_DOTP(g[i], a[i]);
        }
#endif
        return s - c;
    }
    for (; i < n; i++)
        s += FDNN_DOTP(g[i], a[i]);
    return s;
}

static void KFN(softmax_bw_period)(const T *g, const T *a, T *y, ptrdiff_t n, ptrdiff_t p)
{
    double st[FDNN_PERIOD];
    KFN(softmax_period_pass)(FDNN_SMP_DOT, a, g, NULL, n, p, NULL, st);
    KFN(softmax_period_pass)(FDNN_SMP_BW, a, g, y, n, p, st, NULL);
}

/* many short rows: one row at a time (its sum in order, as the one-row call); interleaving
   rows' sums through strided loads measured 2x slower (gathers) */
static void KFN(softmax_bw_short_rows)(const T *g, const T *a, T *y, ptrdiff_t outer,
                                       ptrdiff_t n)
{
    for (ptrdiff_t o = 0; o < outer; o++) {
        const T *go = g + o * n, *ao = a + o * n;
        T *yo = y + o * n;
        double s = 0;
        for (ptrdiff_t i = 0; i < n; i++)
            s += FDNN_DOTP(go[i], ao[i]);
        const T st = (T)s;
        FDNN_IVDEP
        for (ptrdiff_t i = 0; i < n; i++)
            yo[i] = ao[i] * (go[i] - st);
    }
}

static void KFN(softmax_bw)(const T *dA, const T *a, T *y, ptrdiff_t outer, ptrdiff_t n,
                            ptrdiff_t inner, ptrdiff_t ld)
{
    if (ld == 1 && n <= FDNN_SHORT_ROW && outer > 1) {
        KFN(softmax_bw_short_rows)(dA, a, y, outer, n);
        return;
    }
    for (ptrdiff_t o = 0; o < outer; o++) {
        const T *go = dA + o * n * ld, *ao = a + o * n * ld;
        T *yo = y + o * n * ld;
        if (ld == 1) {
            const T st = (T)KFN(row_dot)(go, ao, n);
            const ptrdiff_t h = fdnn_line_head(yo, n, sizeof(T));
            for (ptrdiff_t i = 0; i < h; i++)
                yo[i] = ao[i] * (go[i] - st);
            FDNN_IVDEP
            for (ptrdiff_t i = h; i < n; i++)
                yo[i] = ao[i] * (go[i] - st);
            continue;
        }
        if (inner == ld && ld <= FDNN_PERIOD && n >= FDNN_PERIOD_ROWS) {
            KFN(softmax_bw_period)(go, ao, yo, n, ld);
            continue;
        }
        double s[FDNN_SOFTMAX_BW_COLS], c[FDNN_SOFTMAX_BW_COLS];
        T st[FDNN_SOFTMAX_BW_COLS];
        for (ptrdiff_t j0 = 0; j0 < inner; j0 += FDNN_SOFTMAX_BW_COLS) {
            const ptrdiff_t g = inner - j0 < FDNN_SOFTMAX_BW_COLS ? inner - j0 : FDNN_SOFTMAX_BW_COLS;
            for (ptrdiff_t j = 0; j < g; j++)
                s[j] = c[j] = 0;
            /* a short axis sums in plain double, as row_dot's short rows (float64 (10, 10^5)
               over axis 0, 2 threads: 37 -> 27-33 us) */
            if (n <= FDNN_SHORT_ROW)
                for (ptrdiff_t i = 0; i < n; i++) {
                    const T *gr = go + i * ld + j0, *ar = ao + i * ld + j0;
                    for (ptrdiff_t j = 0; j < g; j++)
                        s[j] += FDNN_DOTP(gr[j], ar[j]);
                }
            else
                for (ptrdiff_t i = 0; i < n; i++) {
                    const T *gr = go + i * ld + j0, *ar = ao + i * ld + j0;
                    for (ptrdiff_t j = 0; j < g; j++)
                        FDNN_KSUM(s[j], c[j], FDNN_DOTP(gr[j], ar[j]));
                }
            for (ptrdiff_t j = 0; j < g; j++)
                st[j] = (T)(s[j] - c[j]);
            for (ptrdiff_t i = 0; i < n; i++) {
                const T *gr = go + i * ld + j0, *ar = ao + i * ld + j0;
                T *yr = yo + i * ld + j0;
                FDNN_IVDEP
                for (ptrdiff_t j = 0; j < g; j++)
                    yr[j] = ar[j] * (gr[j] - st[j]);
            }
        }
    }
}
#undef FDNN_SCALE
#undef FDNN_PB
#undef FDNN_PATTERN
#undef FDNN_KSUM
#undef FDNN_KVAL
#undef FDNN_DOTP
#undef FDNN_DOTP4

/* ---- dense-layer passes over a contiguous block of `lines` x `len` ----
 * Lecture layout (n_l, m): C order has one line per unit (bias per line),
 * F order one line per example (bias per element of the line). */

/* sum of a line, in FDNN_LANES independent partial sums the compiler vectorizes;
   lines shorter than this are processed as one block */
#define FDNN_LANES 16

/* Short lines (len <= 8 a constant after inlining): Z[r, :] += b and db += sum of
   the rows, with the loop over the line unrolled and the sums in registers. */
FDNN_INLINE void FDNN_CAT(add_rows_n_, TS)(const int n, T *Z, ptrdiff_t lines, const T *b)
{
    T bb[8];
    for (int i = 0; i < n; i++)
        bb[i] = b[i];
    for (ptrdiff_t r = 0; r < lines; r++)
        for (int i = 0; i < n; i++)
            Z[r * n + i] += bb[i];
}

FDNN_INLINE void FDNN_CAT(sum_rows_n_, TS)(const int n, const T *y, ptrdiff_t lines, T *db)
{
    T acc[8] = {0};
    for (ptrdiff_t r = 0; r < lines; r++)
        for (int i = 0; i < n; i++)
            acc[i] += y[r * n + i];
    for (int i = 0; i < n; i++)
        db[i] += acc[i];
}

#define FDNN_SHORT_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)

static void FDNN_CAT(add_rows_, TS)(T *Z, ptrdiff_t lines, ptrdiff_t len, const T *b)
{
    switch (len) {
#define FDNN_ADD_CASE(n) case n: FDNN_CAT(add_rows_n_, TS)(n, Z, lines, b); return;
        FDNN_SHORT_CASES(FDNN_ADD_CASE)
#undef FDNN_ADD_CASE
    default:
        for (ptrdiff_t r = 0; r < lines; r++)
            for (ptrdiff_t i = 0; i < len; i++)
                Z[r * len + i] += b[i];
    }
}

static void FDNN_CAT(sum_rows_, TS)(const T *y, ptrdiff_t lines, ptrdiff_t len, T *db)
{
    switch (len) {
#define FDNN_SUM_CASE(n) case n: FDNN_CAT(sum_rows_n_, TS)(n, y, lines, db); return;
        FDNN_SHORT_CASES(FDNN_SUM_CASE)
#undef FDNN_SUM_CASE
    default:
        for (ptrdiff_t r = 0; r < lines; r++)
            for (ptrdiff_t i = 0; i < len; i++)
                db[i] += y[r * len + i];
    }
}

#undef FDNN_SHORT_CASES

#define FDNN_BIAS_CASE(code, name)                                              \
    case code:                                                                  \
        if (b == NULL) {                                                        \
            FDNN_IVDEP                                                          \
            for (ptrdiff_t i = 0; i < lines * len; i++)                         \
                Z[i] = OP(name)(Z[i], alpha);                                   \
        } else if (bias_per_line) {                                             \
            for (ptrdiff_t r = 0; r < lines; r++) {                             \
                T *zr = Z + r * len;                                            \
                const T c = b[r];                                               \
                for (ptrdiff_t i = 0; i < len; i++)                             \
                    zr[i] = OP(name)(zr[i] + c, alpha);                         \
            }                                                                   \
        } else if (len < FDNN_LANES) {                                          \
            /* short lines: add the bias, then one vector pass over the block */ \
            FDNN_CAT(add_rows_, TS)(Z, lines, len, b);                          \
            FDNN_IVDEP                                                          \
            for (ptrdiff_t i = 0; i < lines * len; i++)                         \
                Z[i] = OP(name)(Z[i], alpha);                                   \
        } else {                                                                \
            for (ptrdiff_t r = 0; r < lines; r++) {                             \
                T *zr = Z + r * len;                                            \
                for (ptrdiff_t i = 0; i < len; i++)                             \
                    zr[i] = OP(name)(zr[i] + b[i], alpha);                      \
            }                                                                   \
        }                                                                       \
        break;

/* Z = g(Z + b) in place (b NULL: Z = g(Z)). */
static void KFN(bias_act)(int act, T *Z, ptrdiff_t lines, ptrdiff_t len, const T *b,
                          int bias_per_line, T alpha)
{
#define FDNN_BIAS_X(CODE, name, deriv, on) FDNN_BIAS_CASE(FDNN_##CODE, name)
    switch (act) {
        FDNN_ACTIVATIONS(FDNN_BIAS_X)
    default:
        break;
    }
#undef FDNN_BIAS_X
}

FDNN_INLINE T OP(d_output_sub)(T y, T a) { return a - y; }

#define FDNN_BW_CASE(code, expr)                                                \
    case code:                                                                  \
        if (db != NULL && !db_per_line && len < FDNN_LANES) {                   \
            /* short lines: one vector pass over the block, then the sums */    \
            const T *g = dA, *x = a;                                            \
            T *y = dZ;                                                          \
            FDNN_IVDEP                                                          \
            for (ptrdiff_t i = 0; i < lines * len; i++)                         \
                y[i] = expr;                                                    \
            FDNN_CAT(sum_rows_, TS)(y, lines, len, db);                         \
            break;                                                              \
        }                                                                       \
        for (ptrdiff_t r = 0; r < lines; r++) {                                 \
            const T *g = dA + r * len, *x = a + r * len;                        \
            T *y = dZ + r * len;                                                \
            if (db == NULL) {                                                   \
                FDNN_IVDEP                                                      \
                for (ptrdiff_t i = 0; i < len; i++)                             \
                    y[i] = expr;                                                \
            } else if (db_per_line) {                                           \
                T acc[FDNN_LANES] = {0};                                        \
                ptrdiff_t i = 0;                                                \
                for (; i + FDNN_LANES <= len; i += FDNN_LANES)                  \
                    for (int k_ = 0; k_ < FDNN_LANES; k_++) {                   \
                        ptrdiff_t j_ = i + k_;                                  \
                        { ptrdiff_t i = j_; y[i] = expr; acc[k_] += y[i]; }     \
                    }                                                           \
                T s = 0;                                                        \
                for (; i < len; i++) {                                          \
                    y[i] = expr;                                                \
                    s += y[i];                                                  \
                }                                                               \
                for (int k_ = 0; k_ < FDNN_LANES; k_++)                         \
                    s += acc[k_];                                               \
                db[r] = scale * s;                                              \
            } else {                                                            \
                FDNN_IVDEP                                                      \
                for (ptrdiff_t i = 0; i < len; i++) {                           \
                    y[i] = expr;                                                \
                    db[i] += y[i];                                              \
                }                                                               \
            }                                                                   \
        }                                                                       \
        break;

/* dZ = dA * g'(a) (or a - Y for the loss-fused output: dA holds Y) and,
   if db is given, db = scale * sum of dZ over examples, in the same pass. */
static void KFN(act_backward)(int op, const T *dA, const T *a, T *dZ, ptrdiff_t lines,
                              ptrdiff_t len, T *db, int db_per_line, T scale, T alpha)
{
    if (db != NULL && !db_per_line)
        for (ptrdiff_t i = 0; i < len; i++)
            db[i] = 0;
#define FDNN_BW_X(CODE, name, deriv, on) FDNN_BW_CASE(FDNN_BW_##CODE, g[i] * OP(deriv)(x[i], alpha))
    switch (op) {
        FDNN_ACTIVATIONS(FDNN_BW_X)
        FDNN_BW_CASE(FDNN_BW_OUTPUT_SUB, OP(d_output_sub)(g[i], x[i]))
    default:
        break;
    }
#undef FDNN_BW_X
    if (db != NULL && !db_per_line)
        for (ptrdiff_t i = 0; i < len; i++)
            db[i] *= scale;
}

#undef FDNN_BIAS_CASE
#undef FDNN_BW_CASE

/* ---- batch normalization ----
   n features of m examples, F-ordered: feature i of example j at x[i + j ld]. Each
   feature's statistics are over its examples only, so a thread given a range of features
   needs nothing from the others. Features go in blocks of FDNN_BN_BLOCK, whose sums and
   parameters stay in L1 while the examples stream by. */
#define FDNN_BN_BLOCK 256

/* mean, var (biased) and 1/sqrt(var + eps) of each feature, summed in double around the
   first example's value: one pass, without the cancellation of the plain sum of squares */
static void KFN(bn_stats)(const T *x, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld, double eps,
                          double *restrict mean, double *restrict var, double *restrict inv_std)
{
    for (ptrdiff_t i = 0; i < n; i++)
        mean[i] = var[i] = 0;
    for (ptrdiff_t i0 = 0; i0 < n; i0 += FDNN_BN_BLOCK) {
        const ptrdiff_t nb = n - i0 < FDNN_BN_BLOCK ? n - i0 : FDNN_BN_BLOCK;
        const T *restrict x0 = x + i0;
        double *restrict s1 = mean + i0, *restrict s2 = var + i0;
        for (ptrdiff_t j = 1; j < m; j++) {
            const T *restrict xj = x0 + j * ld;
            for (ptrdiff_t i = 0; i < nb; i++) {
                const double d = (double)xj[i] - (double)x0[i];
                s1[i] += d;
                s2[i] += d * d;
            }
        }
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        const double s1 = mean[i], s2 = var[i];
        const double v = (s2 - s1 * (s1 / (double)m)) / (double)m;
        mean[i] = (double)x[i] + s1 / (double)m;
        var[i] = v < 0 ? 0.0 : v; /* NaN stays NaN */
        inv_std[i] = 1.0 / sqrt(var[i] + eps);
    }
}

/* y = gamma (x - mean) inv_std + beta; y == x allowed */
static void KFN(bn_apply)(const T *x, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld,
                          const double *mean, const double *inv_std, const T *gamma,
                          const T *beta, T *y)
{
    T mu[FDNN_BN_BLOCK], r[FDNN_BN_BLOCK];
    for (ptrdiff_t i0 = 0; i0 < n; i0 += FDNN_BN_BLOCK) {
        const ptrdiff_t nb = n - i0 < FDNN_BN_BLOCK ? n - i0 : FDNN_BN_BLOCK;
        const T *restrict g = gamma + i0, *restrict be = beta + i0;
        for (ptrdiff_t i = 0; i < nb; i++) {
            mu[i] = (T)mean[i0 + i];
            r[i] = (T)inv_std[i0 + i];
        }
        for (ptrdiff_t j = 0; j < m; j++) {
            const T *xj = x + i0 + j * ld;
            T *yj = y + i0 + j * ld;
            FDNN_IVDEP
            for (ptrdiff_t i = 0; i < nb; i++)
                yj[i] = g[i] * ((xj[i] - mu[i]) * r[i]) + be[i];
        }
    }
}

/* dgamma = scale sum(dy xh), dbeta = scale sum(dy) over the examples, xh = (x - mean)
   inv_std; dx (not NULL; dx == dy allowed) = gamma inv_std (dy - mean(dy) - xh mean(dy xh))
   and db (not NULL) = scale sum(dx). sdy, sdyx: n doubles of work. */
static void KFN(bn_backward)(const T *dy, const T *x, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld,
                             const double *mean, const double *inv_std, const T *gamma,
                             T *dx, T *dgamma, T *dbeta, T *db, double scale,
                             double *restrict sdy, double *restrict sdyx)
{
    T mu[FDNN_BN_BLOCK], r[FDNN_BN_BLOCK], a[FDNN_BN_BLOCK], c[FDNN_BN_BLOCK], k[FDNN_BN_BLOCK];
    for (ptrdiff_t i0 = 0; i0 < n; i0 += FDNN_BN_BLOCK) {
        const ptrdiff_t nb = n - i0 < FDNN_BN_BLOCK ? n - i0 : FDNN_BN_BLOCK;
        double *restrict s1 = sdy + i0, *restrict s2 = sdyx + i0;
        for (ptrdiff_t i = 0; i < nb; i++) {
            mu[i] = (T)mean[i0 + i];
            r[i] = (T)inv_std[i0 + i];
            s1[i] = s2[i] = 0;
        }
        for (ptrdiff_t j = 0; j < m; j++) {
            const T *restrict xj = x + i0 + j * ld, *restrict dyj = dy + i0 + j * ld;
            for (ptrdiff_t i = 0; i < nb; i++) {
                const T xh = (xj[i] - mu[i]) * r[i];
                s1[i] += (double)dyj[i];
                s2[i] += (double)dyj[i] * (double)xh;
            }
        }
        for (ptrdiff_t i = 0; i < nb; i++) {
            dgamma[i0 + i] = (T)(s2[i] * scale);
            dbeta[i0 + i] = (T)(s1[i] * scale);
        }
        if (dx == NULL)
            continue;
        for (ptrdiff_t i = 0; i < nb; i++) {
            a[i] = (T)(s1[i] / (double)m);
            c[i] = (T)(s2[i] / (double)m);
            k[i] = gamma[i0 + i] * r[i];
            s1[i] = 0; /* now the sums of dx */
        }
        for (ptrdiff_t j = 0; j < m; j++) {
            const T *xj = x + i0 + j * ld, *dyj = dy + i0 + j * ld;
            T *dxj = dx + i0 + j * ld;
            if (db == NULL) {
                FDNN_IVDEP
                for (ptrdiff_t i = 0; i < nb; i++) {
                    const T xh = (xj[i] - mu[i]) * r[i];
                    dxj[i] = k[i] * (dyj[i] - a[i] - xh * c[i]);
                }
            } else {
                FDNN_IVDEP
                for (ptrdiff_t i = 0; i < nb; i++) {
                    const T xh = (xj[i] - mu[i]) * r[i];
                    const T v = k[i] * (dyj[i] - a[i] - xh * c[i]);
                    dxj[i] = v;
                    s1[i] += (double)v;
                }
            }
        }
        if (db != NULL)
            for (ptrdiff_t i = 0; i < nb; i++)
                db[i0 + i] = (T)(s1[i] * scale);
    }
}

/* ---- small matrix products ---- */
#include "fdnn_gemm_type.h"
#include "fdnn_gemm_packed.h"

/* ---- sparse rows by a dense matrix ---- */
#include "fdnn_sparse_type.h"

/* ---- optimizer steps ---- */
/* BODY updates p[i] (and the state) from the gradient gi; one loop without the L2 term,
   one with it, so the vectorizer sees a plain loop in each; and the same two with a norm
   clip's scale and a value clip (NaN passes the clip unchanged) */
/* values of a block of Adam's step (three arrays of it stay in L1) */
#define FDNN_ADAM_BLOCK 512
#define FDNN_OPT_LOOP(BODY)                                                             \
    do {                                                                                \
        if (gscale == 1 && !(clip > 0)) {                                               \
            if (decay == 0) {                                                           \
                for (ptrdiff_t i = 0; i < n; i++) {                                     \
                    const T gi = g[i];                                                  \
                    BODY;                                                               \
                }                                                                       \
            } else {                                                                    \
                for (ptrdiff_t i = 0; i < n; i++) {                                     \
                    const T gi = g[i] + decay * p[i];                                   \
                    BODY;                                                               \
                }                                                                       \
            }                                                                           \
        } else {                                                                        \
            const T clip_ = clip > 0 ? clip : (T)INFINITY;                              \
            if (decay == 0) {                                                           \
                for (ptrdiff_t i = 0; i < n; i++) {                                     \
                    const T xi_ = gscale * g[i];                                        \
                    const T gi = xi_ > clip_ ? clip_ : (xi_ < -clip_ ? -clip_ : xi_);   \
                    BODY;                                                               \
                }                                                                       \
            } else {                                                                    \
                for (ptrdiff_t i = 0; i < n; i++) {                                     \
                    const T xi_ = gscale * g[i] + decay * p[i];                         \
                    const T gi = xi_ > clip_ ? clip_ : (xi_ < -clip_ ? -clip_ : xi_);   \
                    BODY;                                                               \
                }                                                                       \
            }                                                                           \
        }                                                                               \
    } while (0)

static void KFN(optim)(int op, T *p, const T *g, T *s1, T *s2, ptrdiff_t n, const T *c)
{
    const T lr = c[FDNN_OC_LR], decay = c[FDNN_OC_DECAY], eps = c[FDNN_OC_EPS];
    const T beta1 = c[FDNN_OC_BETA1], omb1 = c[FDNN_OC_OMB1];
    const T beta2 = c[FDNN_OC_BETA2], omb2 = c[FDNN_OC_OMB2], inv_c2 = c[FDNN_OC_INV_C2];
    const T gscale = c[FDNN_OC_GSCALE], clip = c[FDNN_OC_CLIP];
    switch (op) {
    case FDNN_OPT_GD: /* (callers fold plain gradient descent into their own loops) */
        FDNN_OPT_LOOP(p[i] = p[i] - lr * gi);
        break;
    case FDNN_OPT_MOMENTUM:
        FDNN_OPT_LOOP(const T vi = beta1 * s1[i] + omb1 * gi; s1[i] = vi; p[i] = p[i] - lr * vi);
        break;
    case FDNN_OPT_RMSPROP:
        FDNN_OPT_LOOP(const T si = beta1 * s1[i] + omb1 * gi * gi; s1[i] = si;
                      p[i] = p[i] - lr * gi / (FDNN_SQRT(si) + eps));
        break;
#if defined(FDNN_HAVE_ADAM_APPLY) && FDNN_TBYTES == 8
    case FDNN_OPT_ADAM:
    case FDNN_OPT_ADAMW: {
        /* the moments a block at a time, then the step on the block from L1 without the
           divider (fdnn_recip_avx512.h) */
        const T keep = op == FDNN_OPT_ADAMW ? c[FDNN_OC_KEEP] : (T)1;
        T *const p_ = p, *const s1_ = s1, *const s2_ = s2;
        const T *const g_ = g;
        const ptrdiff_t n_ = n;
        for (ptrdiff_t at = 0; at < n_; at += FDNN_ADAM_BLOCK) {
            T *p = p_ + at, *s1 = s1_ + at, *s2 = s2_ + at;
            const T *g = g_ + at;
            const ptrdiff_t n = n_ - at < FDNN_ADAM_BLOCK ? n_ - at : FDNN_ADAM_BLOCK;
            FDNN_OPT_LOOP(const T mi = beta1 * s1[i] + omb1 * gi;
                          const T vi = beta2 * s2[i] + omb2 * gi * gi; s1[i] = mi; s2[i] = vi);
            FDNN_CAT(fdnn_adam_apply_, TS)(p, s1, s2, n, lr, inv_c2, eps, keep);
        }
        break;
    }
#else
    case FDNN_OPT_ADAM:
        FDNN_OPT_LOOP(const T mi = beta1 * s1[i] + omb1 * gi;
                      const T vi = beta2 * s2[i] + omb2 * gi * gi; s1[i] = mi; s2[i] = vi;
                      p[i] = p[i] - lr * mi / (FDNN_SQRT(vi * inv_c2) + eps));
        break;
    case FDNN_OPT_ADAMW: {
        const T keep = c[FDNN_OC_KEEP];
        FDNN_OPT_LOOP(const T mi = beta1 * s1[i] + omb1 * gi;
                      const T vi = beta2 * s2[i] + omb2 * gi * gi; s1[i] = mi; s2[i] = vi;
                      p[i] = keep * p[i] - lr * mi / (FDNN_SQRT(vi * inv_c2) + eps));
        break;
    }
#endif
    case FDNN_OPT_NADAM: {
        const T lr_m = c[FDNN_OC_LR_M];
        FDNN_OPT_LOOP(const T mi = beta1 * s1[i] + omb1 * gi;
                      const T vi = beta2 * s2[i] + omb2 * gi * gi; s1[i] = mi; s2[i] = vi;
                      const T di = FDNN_SQRT(vi * inv_c2) + eps;
                      p[i] = p[i] - lr * gi / di - lr_m * mi / di);
        break;
    }
    case FDNN_OPT_ADAGRAD:
        FDNN_OPT_LOOP(const T si = s1[i] + gi * gi; s1[i] = si;
                      p[i] = p[i] - lr * gi / (FDNN_SQRT(si) + eps));
        break;
    case FDNN_OPT_ADAMAX:
        /* u = max(beta2 u, |g| + eps), NaN from either side */
        FDNN_OPT_LOOP(const T mi = beta1 * s1[i] + omb1 * gi; const T bu = beta2 * s2[i];
                      const T ai = FDNN_ABS(gi) + eps;
                      const T ui = (bu > ai || bu != bu) ? bu : ai; s1[i] = mi; s2[i] = ui;
                      p[i] = p[i] - lr * mi / ui);
        break;
    case FDNN_OPT_SGD: /* b = momentum b + g; p -= lr b, or lr (g + momentum b) */
        if (c[FDNN_OC_NESTEROV] != 0)
            FDNN_OPT_LOOP(const T bi = beta1 * s1[i] + gi; s1[i] = bi;
                          p[i] = p[i] - lr * (gi + beta1 * bi));
        else
            FDNN_OPT_LOOP(const T bi = beta1 * s1[i] + gi; s1[i] = bi; p[i] = p[i] - lr * bi);
        break;
    default:
        break;
    }
}
#undef FDNN_OPT_LOOP
#undef FDNN_ADAM_BLOCK

/* sum of x[i]^2 in double: 32 running sums (the FMA's latency times its ports, in the
   widest vectors), then added pairwise */
static double KFN(sq_sum)(const T *x, ptrdiff_t n)
{
    enum { S = 32 };
    double s[S] = {0};
    double t = 0;
    ptrdiff_t i = 0;
    for (; i + S <= n; i += S)
        for (int q = 0; q < S; q++) {
            const double v = (double)x[i + q];
            s[q] += v * v;
        }
    for (; i < n; i++) {
        const double v = (double)x[i];
        t += v * v;
    }
    for (int w = S / 2; w > 0; w /= 2)
        for (int q = 0; q < w; q++)
            s[q] += s[q + w];
    return s[0] + t;
}

static void FDNN_CAT(fill_, TS)(fdnn_kernel_table *t)
{
    FDNN_CAT(fdnn_unary_, FDNN_CAT(TS, _t)) *u = t->FDNN_CAT(unary_, TS);
    FDNN_CAT(fdnn_binary_, FDNN_CAT(TS, _t)) *b = t->FDNN_CAT(binary_, TS);
#define FDNN_FILL_U(CODE, name) u[FDNN_##CODE] = KFN(name);
#define FDNN_FILL_BW(CODE, name, deriv, on) b[FDNN_BW_##CODE] = KFN(bw_##name);
#define FDNN_FILL_B(CODE, name) b[FDNN_##CODE] = KFN(name);
    FDNN_UNARY_OPS(FDNN_FILL_U)
    FDNN_ACTIVATIONS(FDNN_FILL_BW)
    FDNN_OTHER_BINARY_OPS(FDNN_FILL_B)
#undef FDNN_FILL_U
#undef FDNN_FILL_BW
#undef FDNN_FILL_B
    t->FDNN_CAT(softmax_, TS) = KFN(softmax);
    t->FDNN_CAT(softmax_bw_, TS) = KFN(softmax_bw);
    t->FDNN_CAT(softmax_period_, TS) = KFN(softmax_period_pass);
    t->FDNN_CAT(bias_act_, TS) = KFN(bias_act);
    t->FDNN_CAT(act_backward_, TS) = KFN(act_backward);
    t->FDNN_CAT(bn_stats_, TS) = KFN(bn_stats);
    t->FDNN_CAT(bn_apply_, TS) = KFN(bn_apply);
    t->FDNN_CAT(bn_backward_, TS) = KFN(bn_backward);
    t->FDNN_CAT(gemm_nn_, TS) = KFN(gemm_nn);
    t->FDNN_CAT(gemm_nt_, TS) = KFN(gemm_nt);
    FDNN_CAT(pk_fill_, TS)(t);
    t->FDNN_CAT(optim_, TS) = KFN(optim);
    t->FDNN_CAT(sq_sum_, TS) = KFN(sq_sum);
    t->FDNN_CAT(csr_mm_, TS) = KFN(csr_mm);
    t->FDNN_CAT(csr_mtm_, TS) = KFN(csr_mtm);
    t->FDNN_CAT(csr_grouped_, TS) = KFN(csr_grouped);
}

#undef FDNN_DEF_UNARY
#undef FDNN_DEF_BACKWARD
#undef NAN_OR
#undef ZERO_NAN_OR
#undef EXPM1NEG
#undef FDNN_BN_BLOCK
#undef KFN
#undef OP
