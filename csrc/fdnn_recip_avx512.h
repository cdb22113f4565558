/* float64 Adam's step p = keep p - lr m / (sqrt(v c2) + eps) with AVX-512's reciprocal
 * estimates instead of the divider. Included by fdnn_ew_avx512.c only (its target pragma
 * in force, <immintrin.h> included before it); fdnn_ew_type.h takes it for float64 when
 * FDNN_HAVE_ADAM_APPLY is defined.
 *
 * The square root and the division share one unit, which takes 12-16 cycles per vector of
 * 8 doubles for either. Here sqrt(x) = x y with y = 1/sqrt(x) from vrsqrt14 (14 bits) and
 * two Newton steps, and the quotient m r with r = 1/(sqrt(x) + eps) from vrcp14 and two
 * Newton steps (about 2^-52 each), then a last step on the quotient: within a few units
 * in the last place of the step (the optimizer tests compare with a float64 reference).
 * x = 0 gives sqrt 0 (the estimate's inf times 0 is NaN otherwise), x = inf gives inf, a
 * subnormal x takes the square root, NaN propagates; a denominator of 0, subnormal or inf
 * takes the division. One core, a block of
 * 20,000 parameters in L2: 1.55 -> 1.08 ns per parameter; 320,000 (from memory) 1.58
 * either way. float32 keeps the plain loop: its square root and division cost less than
 * the second pass over the block (0.47 -> 0.52 ns per parameter). */
#include <immintrin.h>

#define FDNN_HAVE_ADAM_APPLY 1

/* m / (sqrt(x) + eps), x >= 0 or NaN, eps >= 0 */
static inline __m512d fdnn_quot_sqrt_eps_pd(__m512d m, __m512d x, __m512d eps)
{
    const __m512d half = _mm512_set1_pd(0.5), three_halves = _mm512_set1_pd(1.5);
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d y = _mm512_rsqrt14_pd(x);
    const __m512d hx = _mm512_mul_pd(half, x);
    y = _mm512_mul_pd(y, _mm512_fnmadd_pd(hx, _mm512_mul_pd(y, y), three_halves));
    y = _mm512_mul_pd(y, _mm512_fnmadd_pd(hx, _mm512_mul_pd(y, y), three_halves));
    __m512d s = _mm512_mul_pd(x, y);
    /* x = 0 and x = inf: sqrt(x) = x (the product above is NaN there) */
    const __mmask8 edge = _mm512_fpclass_pd_mask(x, 0x06 | 0x08 | 0x10); /* +-0, +-inf */
    s = _mm512_mask_mov_pd(s, edge, x);
    /* a subnormal x, whose estimate squared overflows: the square root itself */
    const __mmask8 tiny = _mm512_fpclass_pd_mask(x, 0x20);
    if (tiny)
        s = _mm512_mask_sqrt_pd(s, tiny, x);
    const __m512d d = _mm512_add_pd(s, eps);
    __m512d r = _mm512_rcp14_pd(d);
    r = _mm512_fmadd_pd(r, _mm512_fnmadd_pd(d, r, one), r);
    r = _mm512_fmadd_pd(r, _mm512_fnmadd_pd(d, r, one), r);
    const __m512d q = _mm512_mul_pd(m, r);
    /* q + r (m - d q): the quotient's last correction */
    const __m512d out = _mm512_fmadd_pd(r, _mm512_fnmadd_pd(d, q, m), q);
    /* d = 0, subnormal or inf (a tiny eps with v = 0, or v = inf), where the estimate's
       steps overflow or make NaN */
    const __mmask8 odd = _mm512_fpclass_pd_mask(d, 0x06 | 0x08 | 0x20);
    return odd ? _mm512_mask_div_pd(out, odd, m, d) : out;
}

/* p[i] = keep p[i] - lr m[i] / (sqrt(v[i] c2) + eps), i < n */
static void fdnn_adam_apply_f64(double *p, const double *m, const double *v, ptrdiff_t n,
                                double lr, double c2, double eps, double keep)
{
    const __m512d vlr = _mm512_set1_pd(lr), vc2 = _mm512_set1_pd(c2);
    const __m512d veps = _mm512_set1_pd(eps), vkeep = _mm512_set1_pd(keep);
    for (ptrdiff_t i = 0; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - i)) - 1);
        const __m512d q = fdnn_quot_sqrt_eps_pd(_mm512_maskz_loadu_pd(k, m + i),
                                                _mm512_mul_pd(_mm512_maskz_loadu_pd(k, v + i), vc2),
                                                veps);
        const __m512d pi = _mm512_maskz_loadu_pd(k, p + i);
        _mm512_mask_storeu_pd(p + i, k, _mm512_fnmadd_pd(vlr, q, _mm512_mul_pd(vkeep, pi)));
    }
}
