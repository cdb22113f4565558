/* Branch-free, vectorizable exp and expm1 on (-inf, 0] for float and double.
 *
 * Every activation needs the exponential only at non-positive arguments
 * (sigmoid via exp(-|z|), tanh via expm1(-2|z|), softmax via exp(z - max)), so
 * these cores never overflow. Method: Cody-Waite reduction x = k ln2 + r with
 * |r| <= ln2/2, a polynomial for exp(r) (or expm1(r)), and 2^k built from bits.
 * 2^k is applied as two factors so results down to the smallest subnormal are
 * rounded once. Rounding to an integer uses the 1.5*2^(p-1) shifter trick and
 * the integer is read back from the bits: no float->int conversion, no libm.
 *
 * NaN inputs give NaN outputs (callers re-insert the input NaN if they care
 * about the payload). Accuracy: about 1 ULP.
 */
#ifndef FDNN_MATH_H
#define FDNN_MATH_H

#include "fdnn_common.h"

/* ---------------------------------------------------------------- float */

#define FDNN_F32_SHIFT 12582912.0f /* 1.5 * 2^23 */
#define FDNN_F32_SHIFT_BITS 0x4B400000u
#define FDNN_F32_LOG2E 1.44269504088896341f
#define FDNN_F32_LN2_HI 0.693359375f   /* 9 significant bits: k * LN2_HI exact */
#define FDNN_F32_LN2_LO -2.12194440e-4f

/* 2^k for integral k in [-126, 127]. */
FDNN_INLINE float fdnn_pow2i_f32(float k)
{
    uint32_t ki = fdnn_bits_f32(k + FDNN_F32_SHIFT) - FDNN_F32_SHIFT_BITS;
    return fdnn_from_bits_f32((ki + 127u) << 23);
}

FDNN_INLINE float fdnn_round_f32(float x)
{
    return (x + FDNN_F32_SHIFT) - FDNN_F32_SHIFT;
}

/* (exp(r) - 1 - r) / r^2 on |r| <= ln2/2: a degree-4 minimax fit (Lawson iterations on the
   relative error of exp), 0.05 ULP of float32 off; one multiply-add fewer than the degree-5
   Taylor polynomial it replaces (which was 10^-3 ULP off). */
FDNN_INLINE float fdnn_exp_tail_f32(float r)
{
    float p = 1.381496581842466e-3f;
    p = p * r + 8.368714409572847e-3f;
    p = p * r + 4.166838042380247e-2f;
    p = p * r + 1.666652064018347e-1f;
    p = p * r + 4.999999348504155e-1f;
    return p;
}

/* exp(x) for x <= 0; exact 0 below -104. 2^k is applied as 2^k1 2^k2 with k1 = max(k, -100):
   p 2^k1 is exact (normal), and a subnormal result is rounded once, by the product with
   2^k2 (k2 = k - k1 in [-50, 0]); two operations fewer than splitting k in halves. */
FDNN_INLINE float fdnn_expneg_f32(float x)
{
    x = x < -104.0f ? -104.0f : x;
    float k = fdnn_round_f32(x * FDNN_F32_LOG2E);
    float r = x - k * FDNN_F32_LN2_HI;
    r = r - k * FDNN_F32_LN2_LO;
    float p = 1.0f + (r + (r * r) * fdnn_exp_tail_f32(r));
    float k1 = k > -100.0f ? k : -100.0f;
    float k2 = k - k1;
    return (p * fdnn_pow2i_f32(k1)) * fdnn_pow2i_f32(k2);
}

/* expm1(x) for x <= 0; -1 below -20. */
FDNN_INLINE float fdnn_expm1neg_f32(float x)
{
    x = x < -20.0f ? -20.0f : x;
    float k = fdnn_round_f32(x * FDNN_F32_LOG2E);
    float r = x - k * FDNN_F32_LN2_HI;
    r = r - k * FDNN_F32_LN2_LO;
    float q = r + (r * r) * fdnn_exp_tail_f32(r); /* expm1(r) */
    float s = fdnn_pow2i_f32(k);
    return s * q + (s - 1.0f);
}

/* ------------------------------------ float32 cores of silu, softplus and their derivatives
 * The float32 silu, softplus and softsign compute in float lanes. silu and its derivative
 * are one quotient each on the scaled exponential below (3.1 and 3.3 ULP in
 * tests/test_accuracy.py): keeping every rounding error (error-free sums, FMA, a masked
 * Dekker product) and folding them into the numerator gave 1.6 and 2.2 ULP at twice the
 * time. softsign's derivative keeps the rounding of 1 + |z|, which its square doubles. */

/* min(|z|, the float whose bits are max_bits) on the bits, NaN giving the maximum: a float
   compare for this clamp made the compiler blend every intermediate result of the kernels
   instead of their argument (gelu float32 75 -> 57 instructions per vector) */
FDNN_INLINE float fdnn_abs_min_f32(float z, uint32_t max_bits)
{
    const uint32_t y = fdnn_bits_f32(fabsf(z));
    return fdnn_from_bits_f32(y < max_bits ? y : max_bits);
}

/* x y = p + *e, p = x y rounded; |x|, |y| < 2^60. Without FMA, Dekker's product on halves
   of 12 bits cut by masks (as fdnn_two_prod_f64). */
FDNN_INLINE float fdnn_two_prod_f32(float x, float y, float *e)
{
    float p = x * y;
#if defined(FDNN_VBYTES) && FDNN_VBYTES >= 32
    *e = __builtin_fmaf(x, y, -p);
#else
    float xh = fdnn_from_bits_f32(fdnn_bits_f32(x) & 0xFFFFF000u), xl = x - xh;
    float yh = fdnn_from_bits_f32(fdnn_bits_f32(y) & 0xFFFFF000u), yl = y - yh;
    *e = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
#endif
    return p;
}

/* log1p(y) for y in [0, 1]: 1 + y = 2^k (1 + f) as fdnn_log1p01_f64 has it, 2 atanh(s) to
   s^9 (|s| < 0.172: the next term is below 2^-28 of the result), and the rounding c of 1 + y
   divided by 1 + f as c (1 - 2s (1 - s)), within 2 s^3 < 1.1% of c (c is below 2^-24 of the
   result) */
FDNN_INLINE float fdnn_log1p01_f32(float y)
{
    float u = 1.0f + y;
    int big = u > 1.41421356f;
    float f = big ? 0.5f * u - 1.0f : u - 1.0f;
    float k = big ? 1.0f : 0.0f;
    float c = (y - (u - 1.0f)) * (big ? 0.5f : 1.0f);
    float s = f / (2.0f + f), z = s * s;
    c = c * (1.0f - 2.0f * s * (1.0f - s));
    float R = 2.0f / 9;
    R = R * z + 2.0f / 7;
    R = R * z + 2.0f / 5;
    R = R * z + 2.0f / 3;
    R = R * z;
    float hfsq = 0.5f * f * f;
    return k * FDNN_F32_LN2_HI + ((f - (hfsq - s * (hfsq + R))) + (k * FDNN_F32_LN2_LO + c));
}

/* SiLU's derivative for z in [-1.42, -1.14], around its zero z0 = -1.2784646 + 1.2979e-8:
   (z - z0) q(z), q of degree 5 in u = z + 1.28 (scripts/fit_silu_zero.py, 4.2e-9 relative);
   z + 1.2784646 is exact (Sterbenz). */
FDNN_INLINE float fdnn_d_silu_near_zero_f32(float z)
{
    float u = z + 1.28f;
    float q = 0.00012040118599543348f;
    q = q * u + -0.006584154441952705f;
    q = q * u + -0.015182009898126125f;
    q = q * u + 0.018944669514894485f;
    q = q * u + 0.1465907245874405f;
    q = q * u + 0.21758657693862915f;
    return ((z - -1.2784646f) - 1.29792825e-08f) * q;
}

/* ---- float32 GELU, computed in float lanes ----
 * GELU z Phi(z), its derivative Phi(z) + z phi(z) and the tanh form z sigma(2u) with its
 * derivative. Arguments that a result is very sensitive to are float-floats: exp(-z^2/2)
 * for the Gaussian's tail, the tanh form's cubic 2u and, near the derivative's zero, its
 * z (2u)'. Polynomial fits: scripts/fit_gelu_f32.py. */

/* exp(x) = (1 + q) *s 2^-40 for x in [-115, 0], q the returned expm1 of the reduced
   argument and *s = 2^(k + 40) normal: a product with (1 + q) *s stays normal, and a
   subnormal result is rounded once, by the final product with 2^-40 */
#define FDNN_F32_2M40 9.094947017729282e-13f /* 2^-40 */
#define FDNN_F32_SCALED_MAX_BITS 0x42E60000u /* 115, the bits of the domain's end, for
                                                fdnn_abs_min_f32 */
#define FDNN_F32_2P40 1099511627776.0f
/* x = k ln2 + r: returns x - k ln2_hi, with *k and *s = 2^(k + 40) */
FDNN_INLINE float fdnn_exp_reduce_scaled_f32(float x, float *k, float *s)
{
    const float kt = x * FDNN_F32_LOG2E + FDNN_F32_SHIFT;
    *k = kt - FDNN_F32_SHIFT;
    *s = fdnn_from_bits_f32((fdnn_bits_f32(kt) - FDNN_F32_SHIFT_BITS + 167u) << 23);
    return x - *k * FDNN_F32_LN2_HI;
}

FDNN_INLINE float fdnn_expm1neg_scaled_f32(float x, float *s)
{
    float k, r = fdnn_exp_reduce_scaled_f32(x, &k, s);
    r = r - k * FDNN_F32_LN2_LO;
    return r + (r * r) * fdnn_exp_tail_f32(r);
}

/* the same for exp(x + lo), a float-float argument with |lo| < 2^-10 (a form of its own:
   an added lo = 0 stays in the code, x + 0 not being x at x = -0, one instruction per
   vector of every kernel on this exponential) */
FDNN_INLINE float fdnn_expm1neg_scaled_lo_f32(float x, float lo, float *s)
{
    float k, r = fdnn_exp_reduce_scaled_f32(x, &k, s);
    r = (r - k * FDNN_F32_LN2_LO) + lo;
    return r + (r * r) * fdnn_exp_tail_f32(r);
}

/* exp(-y^2/2) = (1 + q) *s 2^-40 as above for y in [0, 15], y^2 = h + l exact */
FDNN_INLINE float fdnn_expm1_half_sq_f32(float y, float *s)
{
    float l, h = fdnn_two_prod_f32(y, y, &l);
    return fdnn_expm1neg_scaled_lo_f32(-0.5f * h, -0.5f * l, s);
}

/* 14.75: beyond, z Phi(z) and Phi(z) + z phi(z) round to 0 at -z */
#define FDNN_GAUSS_F32_MAX_BITS 0x416C0000u


/* y Phi(-y) exp(y^2/2) = P(t) for y in [0.75, 14.75], t = (y - 3) / (y + 3), P of degree 10
   with a float-float constant term (scripts/fit_gelu_f32.py; 5e-9 relative) */
FDNN_INLINE float fdnn_gauss_ytailx_f32(float y)
{
    const float t = (y - 3.0f) / (y + 3.0f);
    float p = 9.93194043985568e-05f;
    p = p * t + -2.398099604761228e-05f;
    p = p * t + -0.0006443276070058346f;
    p = p * t + -1.8685359464143403e-05f;
    p = p * t + 0.003998770844191313f;
    p = p * t + -0.0017435740446671844f;
    p = p * t + -0.02886281907558441f;
    p = p * t + 0.09137724339962006f;
    p = p * t + -0.1396571397781372f;
    p = p * t + 0.10987585783004761f;
    p = p * t + -1.1646815956112277e-08f;
    return 0.3645418584346771f + p;
}

/* GELU's derivative at z = -y, Phi(-y) - y phi(y), over (y0 - y) exp(-y^2/2), y0 the
   derivative's zero, for y in [0, 14.75]: a degree-10 P(t) in the t above (5e-9) */
#define FDNN_D_GELU_Y0_HI 0.7517915368080139f
#define FDNN_D_GELU_Y0_LO -1.211444988769017e-08f
FDNN_INLINE float fdnn_d_gelu_tailx_f32(float y)
{
    const float t = (y - 2.0f) / (y + 2.0f);
    float p = -1.3731165381614119e-05f;
    p = p * t + -2.4576344003435224e-05f;
    p = p * t + 5.5114385759225115e-05f;
    p = p * t + 0.00021756868227384984f;
    p = p * t + 9.392038191435859e-05f;
    p = p * t + -0.0010425506625324488f;
    p = p * t + -0.0023388571571558714f;
    p = p * t + 0.00515854824334383f;
    p = p * t + 0.029664887115359306f;
    p = p * t + -0.13737647235393524f;
    p = p * t + -2.9559258152289658e-08f;
    return 0.5045492053031921f + p;
}

/* sqrt(8/pi), sqrt(8/pi) 0.044715 and 3 times that as float-floats */
#define FDNN_GELU_A_HI_F32 1.5957691669464111f
#define FDNN_GELU_A_LO_F32 -4.534068054340423e-08f
#define FDNN_GELU_B_HI_F32 0.07135481387376785f
#define FDNN_GELU_B_LO_F32 2.3988324659995897e-09f
#define FDNN_GELU_B3_HI_F32 0.21406444907188416f
#define FDNN_GELU_B3_LO_F32 -2.540834209696641e-10f

/* 2u = a z + b z^3 = hi + *lo for |z| <= 12: z (a + b z^2) with the products exact and
   the sum error-free, to about 2^-44 relative; z^2 = *q + *q_lo exactly */
FDNN_INLINE float fdnn_gelu_tanh_arg_f32(float z, float *lo, float *q, float *q_lo)
{
    float ql, qh = fdnn_two_prod_f32(z, z, &ql);
    float bl, bq = fdnn_two_prod_f32(FDNN_GELU_B_HI_F32, qh, &bl);
    bl += FDNN_GELU_B_HI_F32 * ql + FDNN_GELU_B_LO_F32 * qh;
    float g = FDNN_GELU_A_HI_F32 + bq, gb = g - FDNN_GELU_A_HI_F32;
    float gl = ((FDNN_GELU_A_HI_F32 - (g - gb)) + (bq - gb)) + (bl + FDNN_GELU_A_LO_F32);
    float sl, s = fdnn_two_prod_f32(z, g, &sl);
    *lo = sl + z * gl;
    *q = qh;
    *q_lo = ql;
    return s;
}

/* tanh-GELU's derivative for z - z0 in (-0.4, 0.6) around its zero z0: (z - z0) P(z + 0.75),
   P of degree 9 (4e-9 relative) */
#define FDNN_D_GELU_TANH_Z0_HI -0.7524614334106445f
#define FDNN_D_GELU_TANH_Z0_LO 1.1339627903339533e-08f
FDNN_INLINE float fdnn_d_gelu_tanh_near_zero_f32(float z)
{
    const float u = z + 0.75f;
    float p = 0.0003244153340347111f;
    p = p * u + -0.0008791817817837f;
    p = p * u + -0.002467710291966796f;
    p = p * u + 0.005214044824242592f;
    p = p * u + 0.019763536751270294f;
    p = p * u + -0.016376348212361336f;
    p = p * u + -0.11410712450742722f;
    p = p * u + -0.016624856740236282f;
    p = p * u + 0.38743868470191956f;
    p = p * u + 3.1325875227139477e-09f;
    p = 0.4313538372516632f + p;
    return ((z - FDNN_D_GELU_TANH_Z0_HI) - FDNN_D_GELU_TANH_Z0_LO) * p;
}

/* (Phi(z) - 1/2) / z for |z| < 0.75, w = z^2: the Taylor terms of erf to w^6 */
FDNN_INLINE float fdnn_gauss_series_f32(float w)
{
    float p = 6.659693667643296e-07f;
    p = p * w + -9.44465591601329e-06f;
    p = p * w + 0.00011543469008756801f;
    p = p * w + -0.0011873282492160797f;
    p = p * w + 0.009973556734621525f;
    p = p * w + -0.06649038195610046f;
    return p * w + 0.3989422917366028f;
}

/* --------------------------------------------------------------- double */

#define FDNN_F64_SHIFT 6755399441055744.0 /* 1.5 * 2^52 */
#define FDNN_F64_SHIFT_BITS 0x4338000000000000ull
#define FDNN_F64_LOG2E 1.44269504088896338700
#define FDNN_F64_LN2_HI 6.93147180369123816490e-01 /* 32 significant bits */
#define FDNN_F64_LN2_LO 1.90821492927058770002e-10

/* 2^k for integral k in [-1022, 1023]. */
FDNN_INLINE double fdnn_pow2i_f64(double k)
{
    uint64_t ki = fdnn_bits_f64(k + FDNN_F64_SHIFT) - FDNN_F64_SHIFT_BITS;
    return fdnn_from_bits_f64((ki + 1023u) << 52);
}

FDNN_INLINE double fdnn_round_f64(double x)
{
    return (x + FDNN_F64_SHIFT) - FDNN_F64_SHIFT;
}

/* (exp(r) - 1 - r) / r^2 on |r| <= ln2/2: a degree-9 minimax fit (Lawson iterations on
   the relative error of exp, in 40-digit arithmetic), 0.03 ULP of float64 off; two
   multiply-adds fewer than the degree-11 Taylor polynomial it replaces. */
FDNN_INLINE double fdnn_exp_tail_f64(double r)
{
    double p = 2.5000474893007433476e-8;
    p = p * r + 2.7630233934701678912e-7;
    p = p * r + 2.7557585146706200534e-6;
    p = p * r + 2.4801493146437148437e-5;
    p = p * r + 1.9841269507709733070e-4;
    p = p * r + 1.3888888943572078853e-3;
    p = p * r + 8.3333333334942078557e-3;
    p = p * r + 4.1666666666530463666e-2;
    p = p * r + 1.6666666666666411899e-1;
    p = p * r + 5.0000000000000105721e-1;
    return p;
}

/* exp(x) for x <= 0; exact 0 below -746. */
FDNN_INLINE double fdnn_expneg_f64(double x)
{
    x = x < -746.0 ? -746.0 : x;
    double k = fdnn_round_f64(x * FDNN_F64_LOG2E);
    double r = x - k * FDNN_F64_LN2_HI;
    r = r - k * FDNN_F64_LN2_LO;
    double p = 1.0 + (r + (r * r) * fdnn_exp_tail_f64(r));
    double k1 = k > -1000.0 ? k : -1000.0; /* as in float32: k2 = k - k1 in [-76, 0] */
    double k2 = k - k1;
    return (p * fdnn_pow2i_f64(k1)) * fdnn_pow2i_f64(k2);
}

/* expm1(x) for x <= 0; -1 below -40. */
FDNN_INLINE double fdnn_expm1neg_f64(double x)
{
    x = x < -40.0 ? -40.0 : x;
    double k = fdnn_round_f64(x * FDNN_F64_LOG2E);
    double r = x - k * FDNN_F64_LN2_HI;
    r = r - k * FDNN_F64_LN2_LO;
    double q = r + (r * r) * fdnn_exp_tail_f64(r);
    double s = fdnn_pow2i_f64(k);
    return s * q + (s - 1.0);
}

/* ------------------------------------------- double building blocks of the newer activations
 * The float32 kernels of these activations compute in double and round once, so one set of
 * cores serves both types. Arguments that a result is very sensitive to are kept exact
 * (splits into a high part of 26 bits, whose products are exact, and a small remainder):
 * exp(-y^2/2) for the Gaussian tail and the tanh-GELU's cubic, whose rounding would
 * otherwise cost |argument| ULP of exp's result. Bit masks, not Veltkamp's multiply, make
 * the splits, so contracting products into FMAs (AVX2) cannot change them. */

/* x with its 27 low mantissa bits cleared: 26 significant bits, |x - hi| < 2^-25 |x|,
   truncated toward zero */
FDNN_INLINE double fdnn_hi26_f64(double x)
{
    return fdnn_from_bits_f64(fdnn_bits_f64(x) & 0xFFFFFFFFF8000000ull);
}

/* x y = p + *e, p = x y rounded; |x|, |y| < 2^500. With FMA (the AVX2 and AVX-512 paths)
   e = fma(x, y, -p); without, Dekker's product on masked halves. The explicit fma also
   keeps the compiler from contracting p's other uses (p + d into fma(x, y, d)), which
   would break the error-free sums that p enters. */
FDNN_INLINE double fdnn_two_prod_f64(double x, double y, double *e)
{
    double p = x * y;
#if defined(FDNN_VBYTES) && FDNN_VBYTES >= 32
    *e = __builtin_fma(x, y, -p);
#else
    double xh = fdnn_hi26_f64(x), xl = x - xh, yh = fdnn_hi26_f64(y), yl = y - yh;
    *e = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
#endif
    return p;
}

/* exp(x + lo) = m * (*s) for x <= 0 and |lo| < 2^-10 (lo is added to the reduced
   argument: the argument is then a double-double): m = p 2^k1 is normal and *s = 2^k2 a
   power of two <= 1
   (1 unless exp(x) is below 2^-1000): a product with a value of magnitude >= 1 taken
   with m and then *s rounds a subnormal result once, as fdnn_expneg_f64 does; exp(-760)
   for x below -760. */
FDNN_INLINE double fdnn_expneg_split2_f64(double x, double lo, double *s)
{
    x = x < -760.0 ? -760.0 : x; /* products with factors up to 2^10 still underflow to 0 */
    double k = fdnn_round_f64(x * FDNN_F64_LOG2E);
    double r = x - k * FDNN_F64_LN2_HI;
    r = (r - k * FDNN_F64_LN2_LO) + lo;
    double p = 1.0 + (r + (r * r) * fdnn_exp_tail_f64(r));
    double k1 = k > -1000.0 ? k : -1000.0;
    *s = fdnn_pow2i_f64(k - k1);
    return p * fdnn_pow2i_f64(k1);
}

FDNN_INLINE double fdnn_expneg_split_f64(double x, double *s)
{
    return fdnn_expneg_split2_f64(x, 0.0, s);
}

/* min(|z|, the double whose bits are max_bits) on the bits, as fdnn_abs_min_f32 */
FDNN_INLINE double fdnn_abs_min_f64(double z, uint64_t max_bits)
{
    const uint64_t y = fdnn_bits_f64(fabs(z));
    return fdnn_from_bits_f64(y < max_bits ? y : max_bits);
}

/* exp(x) = (1 + q) *s 2^-200 for x in [-800, 0], q the returned expm1 of the reduced
   argument and *s = 2^(k + 200) normal, as fdnn_expm1neg_scaled_f32 has it: a product
   with (1 + q) *s stays normal, and a subnormal result is rounded once, by the final
   product with 2^-200 */
#define FDNN_F64_2M200 6.2230152778611417e-61 /* 2^-200 */
#define FDNN_F64_2P200 1.6069380442589903e+60
#define FDNN_F64_SCALED_MAX_BITS 0x4089000000000000ull /* 800, as FDNN_F32_SCALED_MAX_BITS */
FDNN_INLINE double fdnn_expm1neg_scaled_f64(double x, double *s)
{
    const double kt = x * FDNN_F64_LOG2E + FDNN_F64_SHIFT, k = kt - FDNN_F64_SHIFT;
    double r = x - k * FDNN_F64_LN2_HI;
    r = r - k * FDNN_F64_LN2_LO;
    *s = fdnn_from_bits_f64((fdnn_bits_f64(kt) - FDNN_F64_SHIFT_BITS + 1223u) << 52);
    return r + (r * r) * fdnn_exp_tail_f64(r);
}

/* log1p(y) for y in [0, 1]: 1 + y = 2^k (1 + f), f in [sqrt2/2 - 1, sqrt2 - 1] exact, plus
   the rounding of 1 + y as c / (1 + y); log(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2))) with
   s = f / (2 + f) and 2 atanh(s) = 2s + s R(s^2) (its Taylor series, |s| < 0.172: 11 terms
   to 2^-60). About 1 ULP. */
FDNN_INLINE double fdnn_log1p01_f64(double y)
{
    double u = 1.0 + y;
    int big = u > 1.4142135623730951;
    double f = big ? 0.5 * u - 1.0 : u - 1.0;
    double k = big ? 1.0 : 0.0;
    double c = (y - (u - 1.0)) / u;
    double s = f / (2.0 + f), z = s * s;
    double R = 2.0 / 23;
    R = R * z + 2.0 / 21;
    R = R * z + 2.0 / 19;
    R = R * z + 2.0 / 17;
    R = R * z + 2.0 / 15;
    R = R * z + 2.0 / 13;
    R = R * z + 2.0 / 11;
    R = R * z + 2.0 / 9;
    R = R * z + 2.0 / 7;
    R = R * z + 2.0 / 5;
    R = R * z + 2.0 / 3;
    R = R * z;
    double hfsq = 0.5 * f * f;
    return k * FDNN_F64_LN2_HI + ((f - (hfsq - s * (hfsq + R))) + (k * FDNN_F64_LN2_LO + c));
}

/* exp(-y^2/2) = m * (*s) for y in [0, 40], the argument exact: y = h + l with h of 26 bits,
   y^2 = h^2 (exact) + l (y + h), l (y + h) >= 0 and below 2^-24 y^2. */
FDNN_INLINE double fdnn_exp_half_sq_f64(double y, double *s)
{
    double h = fdnn_hi26_f64(y), l = y - h;
    return fdnn_expneg_split2_f64(-0.5 * (h * h), -0.5 * (l * (y + h)), s);
}

/* erfc(y / sqrt2) exp(y^2 / 2) for y in [0.6, 40]: (y + 3/4) times it is a degree-21
   polynomial in t = (Z - Zm) / Zh, Z = (y - 4) / (y + 4) (Chebyshev fit in 50-digit
   arithmetic, scripts/fit_gauss_tail.py; 1.4e-17 absolute on values in [0.81, 0.93]).
   With the factor y + 4 the polynomial ranged over [0.88, 3.0] and its alternating terms
   cancelled near t = 1, so that Horner's rounding cost up to 3.8 units of 2^-53. */
FDNN_INLINE double fdnn_gauss_tailx_f64(double y)
{
    double t = ((y - 4.0) / (y + 4.0) - 0.039525691699604743083) * 1.2842639593908629442;
    double p = 2.1819459927110363e-11;
    p = p * t + 2.0271507737209634e-10;
    p = p * t + -3.6498986456211877e-11;
    p = p * t + -2.5259798911152799e-9;
    p = p * t + -2.1351688711458252e-9;
    p = p * t + 2.0033651250579312e-8;
    p = p * t + 3.3613976559747468e-8;
    p = p * t + -1.4800808068385006e-7;
    p = p * t + -3.6246601071988317e-7;
    p = p * t + 1.2579852404470063e-6;
    p = p * t + 3.3955542453433871e-6;
    p = p * t + -1.3900184054561564e-5;
    p = p * t + -2.4975138331901824e-5;
    p = p * t + 0.0001907271907168063;
    p = p * t + -7.5027036873965278e-5;
    p = p * t + -0.0023271139738658277;
    p = p * t + 0.010780109068158605;
    p = p * t + -0.026519715440516158;
    p = p * t + 0.038262758495371013;
    p = p * t + -0.014478646645752605;
    p = p * t + -0.086036823539323994;
    p = p * t + 0.89257623281112038;
    return p / (y + 0.75);
}

/* (Phi(z) - 1/2) / z as a series in w = z^2, |z| < 0.6: Taylor terms of erf to w^12 */
FDNN_INLINE double fdnn_gauss_series_f64(double w)
{
    double q = -2.121761474217046e-13;
    q = q * w + 5.1124347902563106e-12;
    q = q * w + -1.1301171641619213e-10;
    q = q * w + 2.2735298243728065e-09;
    q = q * w + -4.122667414862689e-08;
    q = q * w + 6.659693516316651e-07;
    q = q * w + -9.444656259503615e-06;
    q = q * w + 0.00011543468761615529;
    q = q * w + -0.0011873282154804543;
    q = q * w + 0.009973557010035817;
    q = q * w + -0.06649038006690544;
    q = q * w + 0.3989422804014327;
    return q;
}

#define FDNN_INV_SQRT_2PI 0.3989422804014327
/* x y + z with one rounding where the path has FMA, two otherwise: written out where a
   sum cancels, so that the compiler's scalar loop tails contract it as the vector body
   does (GCC did not: gelu's float64 derivative differed in 600 of 4096 elements near its
   zero between the two) */
#if defined(FDNN_VBYTES) && FDNN_VBYTES >= 32
#define FDNN_FMA_F64(x, y, z) __builtin_fma((x), (y), (z))
#else
#define FDNN_FMA_F64(x, y, z) ((x) * (y) + (z))
#endif
/* sqrt(8/pi) and sqrt(8/pi) 0.044715 as double-doubles: the tanh-GELU's 2u = a z + b z^3 */
#define FDNN_GELU_A_HI 1.5957691216057308
#define FDNN_GELU_A_LO -9.96930880911092e-17
#define FDNN_GELU_B_HI 0.07135481627260025
#define FDNN_GELU_B_LO -6.175149918155315e-19

/* 2u = a z + b z^3 = hi + *lo for |z| <= 40, to about 2^-100 relative */
FDNN_INLINE double fdnn_gelu_tanh_arg_f64(double z, double *lo)
{
    double qe, ce, de, fe;
    double q = fdnn_two_prod_f64(z, z, &qe);
    double c = fdnn_two_prod_f64(z, q, &ce);
    ce += z * qe;
    double d = fdnn_two_prod_f64(FDNN_GELU_B_HI, c, &de);
    de += FDNN_GELU_B_HI * ce + FDNN_GELU_B_LO * c;
    double f = fdnn_two_prod_f64(FDNN_GELU_A_HI, z, &fe);
    fe += FDNN_GELU_A_LO * z;
    double s = f + d, t = s - f;
    *lo = ((f - (s - t)) + (d - t)) + (fe + de);
    return s;
}

#endif
