/* Kernels for one floating type. Included by fdnn_ew_impl.h with
 *   T   the C type (float or double)
 *   TS  its suffix (f32 or f64)
 * once per type; no include guard on purpose.
 *
 * Each scalar op is an always-inline function; the loops around them are
 * plain counted loops the compiler vectorizes for the instruction set of the
 * including translation unit. NaN in gives the same NaN out.
 */

#define OP(name) FDNN_CAT(op_##name##_, TS)
#define KFN(name) FDNN_CAT(k_##name##_, TS)
#define EXPNEG FDNN_CAT(fdnn_expneg_, TS)
#define EXPM1NEG FDNN_CAT(fdnn_expm1neg_, TS)
#define NAN_OR(x, value) ((x) != (x) ? (x) : (value))

/* ---- activations ---- */

FDNN_INLINE T OP(sigmoid)(T z, T alpha)
{
    (void)alpha;
    T e = EXPNEG(-FDNN_ABS(z)); /* sigma(-|z|) = e / (1 + e), sigma(|z|) = 1 / (1 + e) */
    T num = z >= 0 ? (T)1 : e;
    return NAN_OR(z, num / ((T)1 + e));
}

FDNN_INLINE T OP(tanh)(T z, T alpha)
{
    (void)alpha;
    T em = EXPM1NEG((T)-2 * FDNN_ABS(z)); /* tanh|z| = -expm1(-2|z|) / (2 + expm1(-2|z|)) */
    T t = -em / ((T)2 + em);
    return NAN_OR(z, FDNN_COPYSIGN(t, z));
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

/* e / (1 + e)^2 for e in [0, 1]. d = 1 + e is rounded; its exact error
   d_err = (1 - d) + e (Fast2Sum) corrects the quotient to first order,
   which removes about one ULP from the result. */
FDNN_INLINE T OP(e_over_1pe_sq)(T e)
{
    T d = (T)1 + e;
    T d_err = ((T)1 - d) + e;
    T q = e / (d * d);
    return q - q * (((T)2 * d_err) / d);
}

FDNN_INLINE T OP(d_sigmoid_z)(T z, T alpha)
{
    (void)alpha;
    T e = EXPNEG(-FDNN_ABS(z)); /* sigma(z) sigma(-z) = e / (1 + e)^2 */
    return NAN_OR(z, OP(e_over_1pe_sq)(e));
}

FDNN_INLINE T OP(d_tanh_z)(T z, T alpha)
{
    (void)alpha;
    T e = EXPNEG((T)-2 * FDNN_ABS(z)); /* sech^2 z = 4e / (1 + e)^2 */
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

FDNN_INLINE T OP(d_linear)(T z, T alpha)
{
    (void)alpha;
    return NAN_OR(z, (T)1);
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

/* ---- loops ---- */

#define FDNN_DEF_UNARY(name)                                                    \
    static void KFN(name)(const T *x, T *y, ptrdiff_t n, T alpha)               \
    {                                                                           \
        FDNN_IVDEP                                                              \
        for (ptrdiff_t i = 0; i < n; i++)                                       \
            y[i] = OP(name)(x[i], alpha);                                       \
    }

#define FDNN_DEF_BACKWARD(name, deriv)                                          \
    static void KFN(bw_##name)(const T *dA, const T *a, T *y, ptrdiff_t n, T alpha) \
    {                                                                           \
        FDNN_IVDEP                                                              \
        for (ptrdiff_t i = 0; i < n; i++)                                       \
            y[i] = dA[i] * OP(deriv)(a[i], alpha);                              \
    }

#define FDNN_UNARY_X(CODE, name) FDNN_DEF_UNARY(name)
#define FDNN_BACKWARD_X(CODE, name, deriv) FDNN_DEF_BACKWARD(name, deriv)
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

/* ---- softmax over the middle axis of a C-contiguous (outer, n, inner) block ---- */

FDNN_INLINE T OP(nanmax)(T v, T m)
{
    return (v > m || v != v) ? v : m; /* a NaN anywhere in the slice wins */
}

/* Softmax over each of `outer` contiguous rows of n <= FDNN_SHORT_ROW values (an F-ordered
   (n_classes, m) output layer): FDNN_ROW_BLOCK rows at a time through a transposed copy, so
   that the max, exp and sums run across rows in whole vectors instead of along rows too
   short for them. Per row the arithmetic and its order are those of the one-row loop. */
#define FDNN_SHORT_ROW 32
#define FDNN_ROW_BLOCK 32
static void KFN(softmax_short_rows)(const T *x, T *y, ptrdiff_t outer, ptrdiff_t n)
{
    T t[FDNN_SHORT_ROW * FDNN_ROW_BLOCK], mx[FDNN_ROW_BLOCK];
    double s[FDNN_ROW_BLOCK];
    for (ptrdiff_t o0 = 0; o0 < outer; o0 += FDNN_ROW_BLOCK) {
        const ptrdiff_t g = outer - o0 < FDNN_ROW_BLOCK ? outer - o0 : FDNN_ROW_BLOCK;
        const T *xb = x + o0 * n;
        T *yb = y + o0 * n;
        for (ptrdiff_t j = 0; j < g; j++)
            for (ptrdiff_t i = 0; i < n; i++)
                t[i * FDNN_ROW_BLOCK + j] = xb[j * n + i];
        for (ptrdiff_t j = 0; j < g; j++) {
            mx[j] = t[j];
            s[j] = 0;
        }
        for (ptrdiff_t i = 1; i < n; i++) {
            const T *ti = t + i * FDNN_ROW_BLOCK;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++)
                mx[j] = OP(nanmax)(ti[j], mx[j]);
        }
        for (ptrdiff_t i = 0; i < n; i++) {
            T *ti = t + i * FDNN_ROW_BLOCK;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++) {
                const T e = EXPNEG(ti[j] - mx[j]);
                ti[j] = e;
                s[j] += e;
            }
        }
        for (ptrdiff_t i = 0; i < n; i++) {
            T *ti = t + i * FDNN_ROW_BLOCK;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++)
                ti[j] = (T)(ti[j] / s[j]);
        }
        for (ptrdiff_t j = 0; j < g; j++)
            for (ptrdiff_t i = 0; i < n; i++)
                yb[j * n + i] = t[i * FDNN_ROW_BLOCK + j];
    }
}

/* softmax over the n rows (row stride ld) of each of w columns, FDNN_SOFTMAX_COLS columns
   at a time so that the block's passes (max, exp and sum, divide) run in cache */
#define FDNN_SOFTMAX_COLS 256
static void KFN(softmax_cols)(const T *x, T *y, ptrdiff_t n, ptrdiff_t w, ptrdiff_t ld)
{
    double m[FDNN_SOFTMAX_COLS], s[FDNN_SOFTMAX_COLS]; /* m holds T values exactly */
    for (ptrdiff_t j0 = 0; j0 < w; j0 += FDNN_SOFTMAX_COLS) {
        const ptrdiff_t g = w - j0 < FDNN_SOFTMAX_COLS ? w - j0 : FDNN_SOFTMAX_COLS;
        const T *xo = x + j0;
        T *yo = y + j0;
        for (ptrdiff_t j = 0; j < g; j++) {
            m[j] = xo[j];
            s[j] = 0;
        }
        for (ptrdiff_t i = 1; i < n; i++) {
            const T *xr = xo + i * ld;
            for (ptrdiff_t j = 0; j < g; j++)
                m[j] = (T)OP(nanmax)(xr[j], (T)m[j]);
        }
        for (ptrdiff_t i = 0; i < n; i++) {
            const T *xr = xo + i * ld;
            T *yr = yo + i * ld;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++) {
                T e = EXPNEG(xr[j] - (T)m[j]);
                yr[j] = e;
                s[j] += e;
            }
        }
#if FDNN_TBYTES == 4
        /* a double reciprocal, then products: still within one float32 rounding */
        for (ptrdiff_t j = 0; j < g; j++)
            s[j] = 1.0 / s[j];
        for (ptrdiff_t i = 0; i < n; i++) {
            T *yr = yo + i * ld;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++)
                yr[j] = (T)(yr[j] * s[j]);
        }
#else
        for (ptrdiff_t i = 0; i < n; i++) {
            T *yr = yo + i * ld;
            FDNN_IVDEP
            for (ptrdiff_t j = 0; j < g; j++)
                yr[j] = (T)(yr[j] / s[j]);
        }
#endif
    }
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
            T m = xo[0];
            double s = 0;
            for (ptrdiff_t i = 1; i < n; i++)
                m = OP(nanmax)(xo[i], m);
            FDNN_IVDEP
            for (ptrdiff_t i = 0; i < n; i++)
                yo[i] = EXPNEG(xo[i] - m);
            for (ptrdiff_t i = 0; i < n; i++)
                s += yo[i];
            FDNN_IVDEP
            for (ptrdiff_t i = 0; i < n; i++)
                yo[i] = (T)(yo[i] / s);
            continue;
        }
        KFN(softmax_cols)(xo, yo, n, inner, ld);
    }
}

/* dZ = a * (dA - sum(dA * a)) over the softmax axis; the sum accumulates in double.
   Arrays as for softmax: (outer, n, ld), the first inner columns, in blocks of columns. */
static void KFN(softmax_bw)(const T *dA, const T *a, T *y, ptrdiff_t outer, ptrdiff_t n,
                            ptrdiff_t inner, ptrdiff_t ld)
{
    for (ptrdiff_t o = 0; o < outer; o++) {
        const T *go = dA + o * n * ld, *ao = a + o * n * ld;
        T *yo = y + o * n * ld;
        if (ld == 1) {
            double s = 0;
            for (ptrdiff_t i = 0; i < n; i++)
                s += (double)go[i] * ao[i];
            const T st = (T)s;
            FDNN_IVDEP
            for (ptrdiff_t i = 0; i < n; i++)
                yo[i] = ao[i] * (go[i] - st);
            continue;
        }
        double s[FDNN_SOFTMAX_COLS];
        T st[FDNN_SOFTMAX_COLS];
        for (ptrdiff_t j0 = 0; j0 < inner; j0 += FDNN_SOFTMAX_COLS) {
            const ptrdiff_t g = inner - j0 < FDNN_SOFTMAX_COLS ? inner - j0 : FDNN_SOFTMAX_COLS;
            for (ptrdiff_t j = 0; j < g; j++)
                s[j] = 0;
            for (ptrdiff_t i = 0; i < n; i++) {
                const T *gr = go + i * ld + j0, *ar = ao + i * ld + j0;
                for (ptrdiff_t j = 0; j < g; j++)
                    s[j] += (double)gr[j] * ar[j];
            }
            for (ptrdiff_t j = 0; j < g; j++)
                st[j] = (T)s[j];
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
#define FDNN_BIAS_X(CODE, name, deriv) FDNN_BIAS_CASE(FDNN_##CODE, name)
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
#define FDNN_BW_X(CODE, name, deriv) FDNN_BW_CASE(FDNN_BW_##CODE, g[i] * OP(deriv)(x[i], alpha))
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

/* ---- small matrix products ---- */
#include "fdnn_gemm_type.h"
#include "fdnn_gemm_packed.h"

/* ---- optimizer steps ---- */
/* BODY updates p[i] (and the state) from the gradient gi; one loop without the L2 term,
   one with it, so the vectorizer sees a plain loop in each */
#define FDNN_OPT_LOOP(BODY)                                                             \
    do {                                                                                \
        if (decay == 0) {                                                               \
            for (ptrdiff_t i = 0; i < n; i++) {                                         \
                const T gi = g[i];                                                      \
                BODY;                                                                   \
            }                                                                           \
        } else {                                                                        \
            for (ptrdiff_t i = 0; i < n; i++) {                                         \
                const T gi = g[i] + decay * p[i];                                       \
                BODY;                                                                   \
            }                                                                           \
        }                                                                               \
    } while (0)

static void KFN(optim)(int op, T *p, const T *g, T *s1, T *s2, ptrdiff_t n, const T *c)
{
    const T lr = c[FDNN_OC_LR], decay = c[FDNN_OC_DECAY], eps = c[FDNN_OC_EPS];
    const T beta1 = c[FDNN_OC_BETA1], omb1 = c[FDNN_OC_OMB1];
    const T beta2 = c[FDNN_OC_BETA2], omb2 = c[FDNN_OC_OMB2], inv_c2 = c[FDNN_OC_INV_C2];
    switch (op) {
    case FDNN_OPT_MOMENTUM:
        FDNN_OPT_LOOP(const T vi = beta1 * s1[i] + omb1 * gi; s1[i] = vi; p[i] = p[i] - lr * vi);
        break;
    case FDNN_OPT_RMSPROP:
        FDNN_OPT_LOOP(const T si = beta1 * s1[i] + omb1 * gi * gi; s1[i] = si;
                      p[i] = p[i] - lr * gi / (FDNN_SQRT(si) + eps));
        break;
    case FDNN_OPT_ADAM:
        FDNN_OPT_LOOP(const T mi = beta1 * s1[i] + omb1 * gi;
                      const T vi = beta2 * s2[i] + omb2 * gi * gi; s1[i] = mi; s2[i] = vi;
                      p[i] = p[i] - lr * mi / (FDNN_SQRT(vi * inv_c2) + eps));
        break;
    default: /* gradient descent is folded into its callers' loops */
        break;
    }
}
#undef FDNN_OPT_LOOP

static void FDNN_CAT(fill_, TS)(fdnn_kernel_table *t)
{
    FDNN_CAT(fdnn_unary_, FDNN_CAT(TS, _t)) *u = t->FDNN_CAT(unary_, TS);
    FDNN_CAT(fdnn_binary_, FDNN_CAT(TS, _t)) *b = t->FDNN_CAT(binary_, TS);
#define FDNN_FILL_U(CODE, name) u[FDNN_##CODE] = KFN(name);
#define FDNN_FILL_BW(CODE, name, deriv) b[FDNN_BW_##CODE] = KFN(bw_##name);
#define FDNN_FILL_B(CODE, name) b[FDNN_##CODE] = KFN(name);
    FDNN_UNARY_OPS(FDNN_FILL_U)
    FDNN_ACTIVATIONS(FDNN_FILL_BW)
    FDNN_OTHER_BINARY_OPS(FDNN_FILL_B)
#undef FDNN_FILL_U
#undef FDNN_FILL_BW
#undef FDNN_FILL_B
    t->FDNN_CAT(softmax_, TS) = KFN(softmax);
    t->FDNN_CAT(softmax_bw_, TS) = KFN(softmax_bw);
    t->FDNN_CAT(bias_act_, TS) = KFN(bias_act);
    t->FDNN_CAT(act_backward_, TS) = KFN(act_backward);
    t->FDNN_CAT(gemm_nn_, TS) = KFN(gemm_nn);
    t->FDNN_CAT(gemm_nt_, TS) = KFN(gemm_nt);
    FDNN_CAT(pk_fill_, TS)(t);
    t->FDNN_CAT(optim_, TS) = KFN(optim);
}

#undef FDNN_DEF_UNARY
#undef FDNN_DEF_BACKWARD
#undef NAN_OR
#undef EXPM1NEG
#undef EXPNEG
#undef KFN
#undef OP
