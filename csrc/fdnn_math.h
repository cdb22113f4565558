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
 * The float32 silu, softplus and softsign compute in float lanes. Where a result is a
 * quotient of a few rounded terms, their rounding errors are kept (error-free sums, FMA or
 * a masked Dekker product) and folded into the numerator, so that the result is rounded
 * about twice instead of five times. */

/* a b + c, rounded once where FMA exists (AVX2, AVX-512); twice on the portable path, where
   fmaf would be a library call */
FDNN_INLINE float fdnn_fma_f32(float a, float b, float c)
{
#if defined(FDNN_VBYTES) && FDNN_VBYTES >= 32
    return __builtin_fmaf(a, b, c);
#else
    return a * b + c;
#endif
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

/* exp(x) = (m + *lo) * (*s) for x <= 0, clamped at -120, to about 2^-30 relative: m = p 2^k1
   (k1 = max(k, -100)) is normal and *s = 2^k2 <= 1, as fdnn_expneg_f32 splits 2^k, so that
   products with m and then *s round a subnormal result once; *lo holds the roundings of
   the reduced argument r and of 1 + expm1(r). */
FDNN_INLINE float fdnn_expneg_split_f32(float x, float *s, float *lo)
{
    x = x < -120.0f ? -120.0f : x;
    float k = fdnn_round_f32(x * FDNN_F32_LOG2E);
    float rh = x - k * FDNN_F32_LN2_HI;
    float c = k * FDNN_F32_LN2_LO;
    float r = rh - c;
    float dr = (rh - r) - c;
    float q = r + (r * r) * fdnn_exp_tail_f32(r);
    float p = 1.0f + q;
    float pl = ((1.0f - p) + q) + p * dr;
    float k1 = k > -100.0f ? k : -100.0f;
    float t = fdnn_pow2i_f32(k1);
    *s = fdnn_pow2i_f32(k - k1);
    *lo = pl * t;
    return p * t;
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

/* ---- the Gaussian's cores for float32 GELU: relative errors below 1e-9 before the one
   rounding to float (a float32 ULP is 6e-8), with about half the terms of the cores above,
   in Estrin's scheme (chains of log2(n) multiply-adds) ---- */

/* exp(x) for x in [-130, 0]: Taylor terms to r^8 after Cody-Waite reduction (2e-10) */
FDNN_INLINE double fdnn_expneg_short_f64(double x)
{
    const double k = fdnn_round_f64(x * FDNN_F64_LOG2E);
    double r = x - k * FDNN_F64_LN2_HI;
    r = r - k * FDNN_F64_LN2_LO;
    const double e0_0 = 0.5 + 0.16666666666666666 * r;
    const double e0_1 = 0.041666666666666664 + 0.008333333333333333 * r;
    const double e0_2 = 0.001388888888888889 + 0.0001984126984126984 * r;
    const double r2 = r * r;
    const double e1_0 = e0_0 + e0_1 * r2;
    const double e1_1 = e0_2 + 2.48015873015873e-05 * r2;
    const double r4 = r2 * r2;
    const double e2_0 = e1_0 + e1_1 * r4;
    return (1.0 + (r + (r * r) * e2_0)) * fdnn_pow2i_f64(k);
}

/* erfc(y / sqrt2) exp(y^2 / 2) for y in [0.6, 15.5] (beyond, z Phi(-z) rounds to 0 in
   float32): (y + 4) times it is a degree-10 fit in fdnn_gauss_tailx_f64's t (least squares on
   400 Chebyshev nodes of t in [-1, 0.678] against mpmath; 5.9e-10 relative) */
#define FDNN_GAUSS_SHORT_MAX 15.5
FDNN_INLINE double fdnn_gauss_tailx_short_f64(double y)
{
    const double t = ((y - 4.0) / (y + 4.0) - 0.039525691699604743083) * 1.2842639593908629442;
    const double e0_0 = 1.4637020829635374 + -0.9003636149162567 * t;
    const double e0_1 = 0.4433080514300121 + -0.16721420114492377 * t;
    const double e0_2 = 0.04325207375585206 + -0.004758332117243143 * t;
    const double e0_3 = -0.0013514638459445091 + 0.0005755280650301124 * t;
    const double e0_4 = 2.153043374151055e-05 + -4.440917892666365e-05 * t;
    const double t2 = t * t;
    const double e1_0 = e0_0 + e0_1 * t2;
    const double e1_1 = e0_2 + e0_3 * t2;
    const double e1_2 = e0_4 + -3.834462855870962e-06 * t2;
    const double t4 = t2 * t2;
    const double e2_0 = e1_0 + e1_1 * t4;
    const double t8 = t4 * t4;
    const double e3_0 = e2_0 + e1_2 * t8;
    return e3_0 / (y + 4.0);
}

/* (Phi(z) - 1/2) / z for |z| < 0.6, w = z^2: Taylor terms of erf to w^6 (1e-10) */
FDNN_INLINE double fdnn_gauss_series_short_f64(double w)
{
    const double e0_0 = 0.3989422804014327 + -0.06649038006690544 * w;
    const double e0_1 = 0.009973557010035817 + -0.0011873282154804543 * w;
    const double e0_2 = 0.00011543468761615529 + -9.444656259503615e-06 * w;
    const double w2 = w * w;
    const double e1_0 = e0_0 + e0_1 * w2;
    const double e1_1 = e0_2 + 6.659693516316651e-07 * w2;
    const double w4 = w2 * w2;
    const double e2_0 = e1_0 + e1_1 * w4;
    return e2_0;
}

/* Phi(x) for |x| <= 15.5 from the short cores, and *g = exp(-x^2/2) (x^2 exact for a
   float32 x) */
FDNN_INLINE double fdnn_gauss_short_f64(double x, double *g)
{
    const double y = fabs(x);
    *g = fdnn_expneg_short_f64(-0.5 * (y * y));
    const double tail = 0.5 * *g * fdnn_gauss_tailx_short_f64(y < 0.6 ? 0.6 : y); /* Phi(-y) */
    return y < 0.6 ? 0.5 + x * fdnn_gauss_series_short_f64(x * x)
                   : (x < 0 ? tail : 1.0 - tail);
}

/* GELU's derivative Phi(z) + z phi(z) for z in [-1, -0.5], around its zero z0 (a
   double-double): (z - z0) q(z), q a degree-8 fit in u = z + 0.75 (least squares on 300
   Chebyshev nodes against mpmath; 7.8e-12 relative), so that the result keeps its
   relative accuracy where the sum cancels. z - z0's high part is exact (Sterbenz) for the
   float32 z this serves. */
FDNN_INLINE double fdnn_d_gelu_near_zero_f64(double z)
{
    const double u = z + 0.75;
    const double e0_0 = 0.43218955538070586 + 0.3882186744635384 * u;
    const double e0_1 = -0.018812705563656246 + -0.11411344229671411 * u;
    const double e0_2 = -0.014597315804846588 + 0.019469092532200392 * u;
    const double e0_3 = 0.004510350896775915 + -0.0022239230054435554 * u;
    const double u2 = u * u;
    const double e1_0 = e0_0 + e0_1 * u2;
    const double e1_1 = e0_2 + e0_3 * u2;
    const double u4 = u2 * u2;
    const double e2_0 = e1_0 + e1_1 * u4;
    const double u8 = u4 * u4;
    const double e3_0 = e2_0 + -0.0007285059639001244 * u8;
    return ((z - -0.7517915246935645) - 1.4956759177009883e-17) * e3_0;
}

#define FDNN_INV_SQRT_2PI 0.3989422804014327
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
