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

#endif
