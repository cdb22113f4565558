/* Small matrix products for one floating type, where a BLAS call costs more
 * than the arithmetic. Included by fdnn_ew_type.h (T, TS, KFN defined) once
 * per type; the including translation unit sets FDNN_VBYTES, the vector width
 * of its instruction set. Row-major C (M, N) with row stride ldc; beta = 0.
 *
 * Register-blocked: each tile of C stays in vector registers for the whole k
 * loop and is stored once. Edge tiles overlap the previous ones instead of
 * running a scalar tail: a column (row) computed twice gets the same value
 * from the same operations in the same order, and C never aliases A or B.
 */

#include <stdlib.h>

#if defined(__GNUC__) || defined(__clang__)

#define VL (FDNN_VBYTES / (int)sizeof(T))
#define V FDNN_CAT(fdnn_vec_, TS)
#define UV FDNN_CAT(fdnn_uvec_, TS)
typedef T V __attribute__((vector_size(FDNN_VBYTES)));
typedef T UV __attribute__((vector_size(FDNN_VBYTES), aligned(sizeof(T)), may_alias));
#define VLOAD(p) (*(const UV *)(p))
#define VSTORE(p, v) (*(UV *)(p) = (v))

/* rows of the C tile (nn) and of the A tile (nt) */
#define NN_MR 6
#define NT_MR 4
/* 4 x 4 with 32 vector registers (16 accumulators, 8 operands): with 4 x 2 the tile
   waits on its loads (6 per 8 multiply-adds) */
#if FDNN_VBYTES >= 64
#define NT_NR 4
#else
#define NT_NR 2
#endif
/* rows of B per tile when A has one row (one example): as many accumulators as the
   4 x 2 tile, so the dot products are not bound by the adds' latency */
#define GEMV_NR 8
/* vectors ahead that a matrix-vector product prefetches each row of B */
#define GEMV_AHEAD 8
/* bytes of B from which a matrix-vector product prefetches its rows */
#define GEMV_PREFETCH_BYTES (256 * 1024)
/* Up to this depth C is written row after row (blocks of NN_MR rows, all their columns),
   deeper in column blocks whose B panel stays in L1. A short product is bound by writing
   C, and sequential lines are what the prefetchers follow: K = 1, 128 x 256, one core,
   float32 7.7 -> 3.3 us, float64 17.6 -> 7.1 (C.fill(1.0): 2.9 and 6.6); K = 2-8 1.2-1.9x;
   K = 16-64 within 5 % either way. */
#define FDNN_SHORT_K 16
/* B^T is packed into a buffer each thread keeps between calls (so a training loop
   allocates nothing per step; it is not freed when the thread ends), grown on demand
   up to this many bytes (K N = 65,536 floats); a larger B^T is malloc'd per call. */
#define FDNN_PACK_KEEP ((size_t)1 << 18)

/* space for n elements: the thread's kept buffer, or (*heap = 1) a fresh block to free */
static T *FDNN_CAT(pack_space_, TS)(size_t n, int *heap)
{
    static __thread T *kept = NULL;
    static __thread size_t capacity = 0;
    *heap = n * sizeof(T) > FDNN_PACK_KEEP;
    if (*heap)
        return (T *)malloc(n * sizeof(T));
    if (n > capacity) {
        T *grown = (T *)realloc(kept, n * sizeof(T));
        if (grown == NULL)
            return NULL;
        kept = grown;
        capacity = n;
    }
    return kept;
}

/* every lane = x (one broadcast instruction) */
FDNN_INLINE V FDNN_CAT(splat_, TS)(T x)
{
    return x - (V){0}; /* x - 0 == x exactly (also -0, NaN): only the broadcast remains */
}

#if FDNN_VBYTES >= 32
/* half vectors: with VL < N - j <= 1.5 VL columns left, a tile of one vector and one half
   vector (the last VL / 2 columns, overlapping the vector's) instead of two overlapping
   vectors (12 columns of multiply-adds for 10 where there were 16): one core, float64,
   100 x 128 by 128 x 10 (a 10-class output layer) 8.6 -> 6.6 us, 200 rows 16.7 -> 13.2 */
#define HVL (VL / 2)
#define HV FDNN_CAT(fdnn_hvec_, TS)
#define UHV FDNN_CAT(fdnn_uhvec_, TS)
typedef T HV __attribute__((vector_size(FDNN_VBYTES / 2)));
typedef T UHV __attribute__((vector_size(FDNN_VBYTES / 2), aligned(sizeof(T)), may_alias));
#endif

/* C[0:mr, 0:nv*VL] = alpha A[0:mr, :] B[:, 0:nv*VL], and with nh = 1 (and vectors of 32
   bytes or more) also C[0:mr, h:h+VL/2] */
FDNN_INLINE void FDNN_CAT(nn_tile_, TS)(const int mr, const int nv, ptrdiff_t K, T alpha,
                                        const T *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                        const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc,
                                        const int nh, ptrdiff_t h)
{
    V acc[NN_MR][2];
#if FDNN_VBYTES >= 32
    HV acch[NN_MR];
#endif
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++)
            acc[r][v] = (V){0};
#if FDNN_VBYTES >= 32
        if (nh)
            acch[r] = (HV){0};
#endif
    }
    for (ptrdiff_t k = 0; k < K; k++) {
        V bv[2];
        for (int v = 0; v < nv; v++)
            bv[v] = VLOAD(b + k * ldb + v * VL);
#if FDNN_VBYTES >= 32
        HV bh = (HV){0};
        if (nh)
            bh = *(const UHV *)(b + k * ldb + h);
#endif
        for (int r = 0; r < mr; r++) {
            const T x = a[r * rs_a + k * cs_a];
            const V ar = FDNN_CAT(splat_, TS)(x);
            for (int v = 0; v < nv; v++)
                acc[r][v] += ar * bv[v];
#if FDNN_VBYTES >= 32
            if (nh)
                acch[r] += (x - (HV){0}) * bh;
#endif
        }
    }
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++)
            VSTORE(c + r * ldc + v * VL, acc[r][v] * alpha);
#if FDNN_VBYTES >= 32
        if (nh)
            *(UHV *)(c + r * ldc + h) = acch[r] * alpha;
#endif
    }
}

/* all row blocks of one column block of width nv*VL starting at column j (and with nh = 1
   the half vector at column j + h) */
FDNN_INLINE void FDNN_CAT(nn_cols_, TS)(const int nv, ptrdiff_t M, ptrdiff_t K, T alpha,
                                        const T *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                        const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc,
                                        const int nh, ptrdiff_t h)
{
    if (M >= NN_MR) {
        for (ptrdiff_t i = 0;; i += NN_MR) {
            if (i > M - NN_MR)
                i = M - NN_MR; /* last block overlaps the one before */
            FDNN_CAT(nn_tile_, TS)(NN_MR, nv, K, alpha, a + i * rs_a, rs_a, cs_a, b, ldb,
                                   c + i * ldc, ldc, nh, h);
            if (i == M - NN_MR)
                break;
        }
        return;
    }
    switch (M) {
    case 5: FDNN_CAT(nn_tile_, TS)(5, nv, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, nh, h); break;
    case 4: FDNN_CAT(nn_tile_, TS)(4, nv, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, nh, h); break;
    case 3: FDNN_CAT(nn_tile_, TS)(3, nv, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, nh, h); break;
    case 2: FDNN_CAT(nn_tile_, TS)(2, nv, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, nh, h); break;
    default: FDNN_CAT(nn_tile_, TS)(1, nv, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, nh, h); break;
    }
}

/* all column blocks of one block of mr rows, in the column order of gemm_nn */
FDNN_INLINE void FDNN_CAT(nn_rows_, TS)(const int mr, ptrdiff_t N, ptrdiff_t K, T alpha,
                                        const T *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                        const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc)
{
    ptrdiff_t j = 0;
    for (; j + 2 * VL <= N; j += 2 * VL)
        FDNN_CAT(nn_tile_, TS)(mr, 2, K, alpha, a, rs_a, cs_a, b + j, ldb, c + j, ldc, 0, 0);
    if (N - j > VL && j > 0) {
        j = N - 2 * VL;
        FDNN_CAT(nn_tile_, TS)(mr, 2, K, alpha, a, rs_a, cs_a, b + j, ldb, c + j, ldc, 0, 0);
    } else if (N - j > 0) {
        if (N - j > VL)
            FDNN_CAT(nn_tile_, TS)(mr, 1, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, 0, 0);
        j = N - VL;
        FDNN_CAT(nn_tile_, TS)(mr, 1, K, alpha, a, rs_a, cs_a, b + j, ldb, c + j, ldc, 0, 0);
    }
}

/* Products with a few rows of C (one to FDNN_FEW_ROWS examples, or the few columns of a
   transposed product, run as C^T): B's rows are streamed in order, FDNN_FEW_K at a time,
   into the rows' sums over a chunk of FDNN_FEW_COLS columns kept in L1, then C = alpha
   times the sums. A register tile would walk down B's columns a line per row of B, which
   the prefetchers do not follow: float64 128 x 256 B, one row, 7.1 -> 2.2 us; two rows read
   through a transposed A, 58 -> 4.3 us (the same element order as a tile: a chain of
   multiply-adds over k from 0, then the product with alpha). */
#define FDNN_FEW_K 4
#define FDNN_FEW_COLS (4096 / (int)sizeof(T))
/* from this size of the streamed operand (bytes): smaller, it stays in L1 and the register
   tiles win (float64 4 x 64 x 64: 0.89 against 0.98 us) */
#define FDNN_FEW_FROM 32768

/* s[r][0:n] = A[r, :] B[:, 0:n] for r < mr (row r of s at s + r FDNN_FEW_COLS) */
FDNN_INLINE void FDNN_CAT(few_chunk_, TS)(const int mr, ptrdiff_t n, ptrdiff_t K, const T *a,
                                          ptrdiff_t rs_a, ptrdiff_t cs_a, const T *b,
                                          ptrdiff_t ldb, T *restrict s)
{
    const ptrdiff_t nv = n / VL * VL;
    for (int r = 0; r < mr; r++)
        for (ptrdiff_t j = 0; j < n; j++)
            s[r * FDNN_FEW_COLS + j] = 0;
    ptrdiff_t k = 0;
    for (; k + FDNN_FEW_K <= K; k += FDNN_FEW_K) {
        const T *bk = b + k * ldb;
        T w[FDNN_FEW_ROWS][FDNN_FEW_K];
        for (int r = 0; r < mr; r++)
            for (int u = 0; u < FDNN_FEW_K; u++)
                w[r][u] = a[r * rs_a + (k + u) * cs_a];
        for (ptrdiff_t j = 0; j < nv; j += VL) {
            V x[FDNN_FEW_ROWS];
            for (int r = 0; r < mr; r++)
                x[r] = VLOAD(s + r * FDNN_FEW_COLS + j);
            for (int u = 0; u < FDNN_FEW_K; u++) {
                const V q = VLOAD(bk + u * ldb + j);
                for (int r = 0; r < mr; r++)
                    x[r] += FDNN_CAT(splat_, TS)(w[r][u]) * q;
            }
            for (int r = 0; r < mr; r++)
                VSTORE(s + r * FDNN_FEW_COLS + j, x[r]);
        }
        for (ptrdiff_t j = nv; j < n; j++)
            for (int r = 0; r < mr; r++) {
                T x = s[r * FDNN_FEW_COLS + j];
                for (int u = 0; u < FDNN_FEW_K; u++)
                    x += w[r][u] * bk[u * ldb + j];
                s[r * FDNN_FEW_COLS + j] = x;
            }
    }
    for (; k < K; k++) {
        const T *bk = b + k * ldb;
        for (int r = 0; r < mr; r++) {
            const T w = a[r * rs_a + k * cs_a];
            T *restrict sr = s + r * FDNN_FEW_COLS;
            for (ptrdiff_t j = 0; j < nv; j += VL)
                VSTORE(sr + j, VLOAD(sr + j) + FDNN_CAT(splat_, TS)(w) * VLOAD(bk + j));
            for (ptrdiff_t j = nv; j < n; j++)
                sr[j] += w * bk[j];
        }
    }
}

/* C = alpha A B for A's mr <= FDNN_FEW_ROWS rows; C[r, j] at c[r * rs_c + j * cs_c] */
static void FDNN_CAT(gemm_few_, TS)(int mr, ptrdiff_t N, ptrdiff_t K, T alpha, const T *a,
                                    ptrdiff_t rs_a, ptrdiff_t cs_a, const T *b, ptrdiff_t ldb,
                                    T *c, ptrdiff_t rs_c, ptrdiff_t cs_c)
{
    T s[FDNN_FEW_ROWS * FDNN_FEW_COLS] __attribute__((aligned(64)));
    for (ptrdiff_t j0 = 0; j0 < N; j0 += FDNN_FEW_COLS) {
        const ptrdiff_t n = N - j0 < FDNN_FEW_COLS ? N - j0 : FDNN_FEW_COLS;
        switch (mr) {
        case 4: FDNN_CAT(few_chunk_, TS)(4, n, K, a, rs_a, cs_a, b + j0, ldb, s); break;
        case 3: FDNN_CAT(few_chunk_, TS)(3, n, K, a, rs_a, cs_a, b + j0, ldb, s); break;
        case 2: FDNN_CAT(few_chunk_, TS)(2, n, K, a, rs_a, cs_a, b + j0, ldb, s); break;
        default: FDNN_CAT(few_chunk_, TS)(1, n, K, a, rs_a, cs_a, b + j0, ldb, s); break;
        }
        for (int r = 0; r < mr; r++) {
            T *cr = c + r * rs_c + j0 * cs_c;
            const T *sr = s + r * FDNN_FEW_COLS;
            if (cs_c == 1)
                for (ptrdiff_t j = 0; j < n; j++)
                    cr[j] = alpha * sr[j];
            else
                for (ptrdiff_t j = 0; j < n; j++)
                    cr[j * cs_c] = alpha * sr[j];
        }
    }
}

/* sum of the lanes of v: halve the vector until 16 bytes are left, then add those */
#define H FDNN_CAT(fdnn_half_, TS)
#define Q FDNN_CAT(fdnn_quarter_, TS)
typedef T H __attribute__((vector_size(FDNN_VBYTES > 16 ? FDNN_VBYTES / 2 : 16)));
typedef T Q __attribute__((vector_size(16)));
FDNN_INLINE T FDNN_CAT(hsum_, TS)(V v)
{
    Q q;
#if FDNN_VBYTES > 16
    H lo, hi;
    memcpy(&lo, &v, sizeof lo);
    memcpy(&hi, (const char *)&v + sizeof lo, sizeof hi);
    lo += hi;
#if FDNN_VBYTES > 32
    Q qlo, qhi;
    memcpy(&qlo, &lo, sizeof qlo);
    memcpy(&qhi, (const char *)&lo + sizeof qlo, sizeof qhi);
    q = qlo + qhi;
#else
    memcpy(&q, &lo, sizeof q);
#endif
#else
    memcpy(&q, &v, sizeof q);
#endif
    T s = q[0];
    for (int l = 1; l < (int)(16 / sizeof(T)); l++)
        s += q[l];
    return s;
}

/* bt (K, N) = b^T for b (N, K) with row stride ldb, in square blocks moved through
   registers: both sides are read and written a vector at a time instead of one element
   at a time. Blocks of one 16-byte vector a side (4 x 4 floats, 2 x 2 doubles), and on
   AVX2 and AVX-512 first of one 32-byte vector (8 x 8 floats, 4 x 4 doubles). */
#define TQ4 FDNN_CAT(fdnn_tq4_, TS)
#define TQ8 FDNN_CAT(fdnn_tq8_, TS)
typedef T TQ4 __attribute__((vector_size(16)));
typedef T TQ8 __attribute__((vector_size(32)));
#if FDNN_TBYTES == 4
typedef int FDNN_CAT(fdnn_tm4_, TS) __attribute__((vector_size(16)));
typedef int FDNN_CAT(fdnn_tm8_, TS) __attribute__((vector_size(32)));
#else
typedef long long FDNN_CAT(fdnn_tm4_, TS) __attribute__((vector_size(16)));
typedef long long FDNN_CAT(fdnn_tm8_, TS) __attribute__((vector_size(32)));
#endif
#if defined(__clang__)
#define SHUF4(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#define SHUF8(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define SHUF4(x, y, ...) __builtin_shuffle(x, y, (FDNN_CAT(fdnn_tm4_, TS)){__VA_ARGS__})
#define SHUF8(x, y, ...) __builtin_shuffle(x, y, (FDNN_CAT(fdnn_tm8_, TS)){__VA_ARGS__})
#endif
#define QL4 (16 / FDNN_TBYTES)
#define QL8 (32 / FDNN_TBYTES)
#if FDNN_TBYTES == 4
#define TRANSPOSE4(r)                                                                   \
    do {                                                                                \
        TQ4 t0 = SHUF4(r[0], r[1], 0, 4, 1, 5), t1 = SHUF4(r[0], r[1], 2, 6, 3, 7);    \
        TQ4 t2 = SHUF4(r[2], r[3], 0, 4, 1, 5), t3 = SHUF4(r[2], r[3], 2, 6, 3, 7);    \
        r[0] = SHUF4(t0, t2, 0, 1, 4, 5);                                               \
        r[1] = SHUF4(t0, t2, 2, 3, 6, 7);                                               \
        r[2] = SHUF4(t1, t3, 0, 1, 4, 5);                                               \
        r[3] = SHUF4(t1, t3, 2, 3, 6, 7);                                               \
    } while (0)
/* three rounds of two-input shuffles: pairs, then quads, then halves */
#define TRANSPOSE8(r)                                                                   \
    do {                                                                                \
        TQ8 t[8], u[8];                                                                 \
        for (int p_ = 0; p_ < 8; p_ += 2) {                                             \
            t[p_] = SHUF8(r[p_], r[p_ + 1], 0, 8, 1, 9, 4, 12, 5, 13);                  \
            t[p_ + 1] = SHUF8(r[p_], r[p_ + 1], 2, 10, 3, 11, 6, 14, 7, 15);            \
        }                                                                               \
        for (int p_ = 0; p_ < 8; p_ += 4)                                               \
            for (int h_ = 0; h_ < 2; h_++) {                                            \
                u[p_ + 2 * h_] = SHUF8(t[p_ + h_], t[p_ + h_ + 2],                      \
                                       0, 1, 8, 9, 4, 5, 12, 13);                       \
                u[p_ + 2 * h_ + 1] = SHUF8(t[p_ + h_], t[p_ + h_ + 2],                  \
                                           2, 3, 10, 11, 6, 7, 14, 15);                 \
            }                                                                           \
        for (int c_ = 0; c_ < 4; c_++) {                                                \
            r[c_] = SHUF8(u[c_], u[c_ + 4], 0, 1, 2, 3, 8, 9, 10, 11);                  \
            r[c_ + 4] = SHUF8(u[c_], u[c_ + 4], 4, 5, 6, 7, 12, 13, 14, 15);            \
        }                                                                               \
    } while (0)
#else
#define TRANSPOSE4(r)                                                                   \
    do {                                                                                \
        TQ4 t0 = SHUF4(r[0], r[1], 0, 2);                                               \
        r[1] = SHUF4(r[0], r[1], 1, 3);                                                 \
        r[0] = t0;                                                                      \
    } while (0)
/* pairs, then halves */
#define TRANSPOSE8(r)                                                                   \
    do {                                                                                \
        TQ8 t0 = SHUF8(r[0], r[1], 0, 4, 2, 6), t1 = SHUF8(r[0], r[1], 1, 5, 3, 7);    \
        TQ8 t2 = SHUF8(r[2], r[3], 0, 4, 2, 6), t3 = SHUF8(r[2], r[3], 1, 5, 3, 7);    \
        r[0] = SHUF8(t0, t2, 0, 1, 4, 5);                                               \
        r[2] = SHUF8(t0, t2, 2, 3, 6, 7);                                               \
        r[1] = SHUF8(t1, t3, 0, 1, 4, 5);                                               \
        r[3] = SHUF8(t1, t3, 2, 3, 6, 7);                                               \
    } while (0)
#endif
#if FDNN_VBYTES >= 64
/* Blocks of one 64-byte vector a side (16 x 16 floats, 8 x 8 doubles): log2(QL) rounds of
   two-input shuffles, round s pairing lines i and i + s (i without bit s): 0.25 shuffles
   per float where the 8 x 8 blocks take 0.375, and half the loads and stores. A float32
   128 x 784 by 784 x 256 product with a transposed B (the training plan's forward of a
   784-256 layer, examples in columns, whose packing transposes W): one core 378-392 ->
   356-368 us, two threads 224-230 -> 202-208. */
#define TQ16 FDNN_CAT(fdnn_tq16_, TS)
#define QL16 (64 / FDNN_TBYTES)
typedef T TQ16 __attribute__((vector_size(64)));
#if FDNN_TBYTES == 4
typedef int FDNN_CAT(fdnn_tm16_, TS) __attribute__((vector_size(64)));
#else
typedef long long FDNN_CAT(fdnn_tm16_, TS) __attribute__((vector_size(64)));
#endif
#if defined(__clang__)
#define SHUF16(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define SHUF16(x, y, ...) __builtin_shuffle(x, y, (FDNN_CAT(fdnn_tm16_, TS)){__VA_ARGS__})
#endif
#define T16_ROUND(r, s, ...)                                                            \
    for (int i_ = 0; i_ < QL16; i_++)                                                   \
        if ((i_ & (s)) == 0) {                                                          \
            const TQ16 a_ = r[i_], b_ = r[i_ + (s)];                                    \
            r[i_] = SHUF16(a_, b_, __VA_ARGS__);                                        \
            r[i_ + (s)] = SHUF16(a_, b_, T16_SECOND_##s);                               \
        }
#if FDNN_TBYTES == 4
#define T16_SECOND_1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#define T16_SECOND_2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define T16_SECOND_4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define T16_SECOND_8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define TRANSPOSE16(r)                                                                  \
    do {                                                                                \
        T16_ROUND(r, 1, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30)      \
        T16_ROUND(r, 2, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29)       \
        T16_ROUND(r, 4, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27)       \
        T16_ROUND(r, 8, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)         \
    } while (0)
#else
#define T16_SECOND_1 1, 9, 3, 11, 5, 13, 7, 15
#define T16_SECOND_2 2, 3, 10, 11, 6, 7, 14, 15
#define T16_SECOND_4 4, 5, 6, 7, 12, 13, 14, 15
#define TRANSPOSE16(r)                                                                  \
    do {                                                                                \
        T16_ROUND(r, 1, 0, 8, 2, 10, 4, 12, 6, 14)                                      \
        T16_ROUND(r, 2, 0, 1, 8, 9, 4, 5, 12, 13)                                       \
        T16_ROUND(r, 4, 0, 1, 2, 3, 8, 9, 10, 11)                                       \
    } while (0)
#endif
#endif
/* lines [j, j + QL) of b into bt, blocks of QL x QL along k, then the tail of k */
#define TRANSPOSE_LINES(QL, VT, TRANSPOSE)                                              \
    do {                                                                                \
        ptrdiff_t k = 0;                                                                \
        for (; k + QL <= K; k += QL) {                                                  \
            VT r[QL];                                                                   \
            for (int i = 0; i < QL; i++)                                                \
                memcpy(&r[i], b + (j + i) * ldb + k, sizeof(VT));                       \
            TRANSPOSE(r);                                                               \
            for (int i = 0; i < QL; i++)                                                \
                memcpy(bt + (k + i) * ldt + j, &r[i], sizeof(VT));                      \
        }                                                                               \
        for (; k < K; k++)                                                              \
            for (int i = 0; i < QL; i++)                                                \
                bt[k * ldt + j + i] = b[(j + i) * ldb + k];                             \
    } while (0)
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noipa)) /* no clone for a constant N, whose dead tail loop gcc warns about */
#elif defined(__clang__)
__attribute__((noinline))
#endif
static void FDNN_CAT(transpose_, TS)(ptrdiff_t N, ptrdiff_t K, const T *restrict b,
                                     ptrdiff_t ldb, T *restrict bt, ptrdiff_t ldt)
{
    ptrdiff_t j = 0;
#if FDNN_VBYTES >= 64
    for (; j + QL16 <= N; j += QL16)
        TRANSPOSE_LINES(QL16, TQ16, TRANSPOSE16);
#endif
#if FDNN_VBYTES >= 32
    for (; j + QL8 <= N; j += QL8)
        TRANSPOSE_LINES(QL8, TQ8, TRANSPOSE8);
#endif
    for (; j + QL4 <= N; j += QL4)
        TRANSPOSE_LINES(QL4, TQ4, TRANSPOSE4);
    for (; j < N; j++)
        for (ptrdiff_t k = 0; k < K; k++)
            bt[k * ldt + j] = b[j * ldb + k];
}
#undef TRANSPOSE_LINES
#undef TRANSPOSE4
#undef TRANSPOSE8
#if FDNN_VBYTES >= 64
#undef TRANSPOSE16
#undef T16_ROUND
#undef T16_SECOND_1
#undef T16_SECOND_2
#undef T16_SECOND_4
#undef T16_SECOND_8
#undef SHUF16
#undef QL16
#undef TQ16
#endif
#undef SHUF4
#undef SHUF8
#undef QL4
#undef QL8
#undef TQ4
#undef TQ8
#undef H
#undef Q

/* The lane sums of a whole nt tile's NT_MR x NT_NR accumulators at once, in their order,
   NT_NA / VL vectors of them: pairs of vectors are halved into one (each accumulator's
   partial sums of lane l and lane l + VL/2 side by side: 2 shuffles and an add for two
   accumulators), down to 16 bytes of partial sums each, which are then transposed across
   the vectors and added in lane order. Each sum takes the same additions in the same
   order as hsum_ (the tiles at the edges), so C does not depend on the tiling; a 4 x 4
   float32 tile on AVX-512 takes 47 vector operations where one hsum_ per accumulator took
   about 140. */
#if FDNN_VBYTES >= 32
#define NT_NA (NT_MR * NT_NR)
#if defined(__clang__)
#define NT_UNROLL _Pragma("clang loop unroll(full)")
#else
#define NT_UNROLL _Pragma("GCC unroll 16")
#endif
#define NTM FDNN_CAT(fdnn_ntmask_, TS)
#if FDNN_TBYTES == 4
typedef int NTM __attribute__((vector_size(FDNN_VBYTES)));
#else
typedef long long NTM __attribute__((vector_size(FDNN_VBYTES)));
#endif
#if defined(__clang__)
#define NT_SHUF(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define NT_SHUF(x, y, ...) __builtin_shuffle(x, y, (NTM){__VA_ARGS__})
#endif
#if FDNN_VBYTES == 64 && FDNN_TBYTES == 4
#define NT_HALF1_LO 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define NT_HALF1_HI 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define NT_HALF2_LO 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define NT_HALF2_HI 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
#define NT_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define NT_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif FDNN_VBYTES == 64 || (FDNN_VBYTES == 32 && FDNN_TBYTES == 4)
#define NT_HALF1_LO 0, 1, 2, 3, 8, 9, 10, 11
#define NT_HALF1_HI 4, 5, 6, 7, 12, 13, 14, 15
#if FDNN_VBYTES == 64
#define NT_HALF2_LO 0, 1, 4, 5, 8, 9, 12, 13
#define NT_HALF2_HI 2, 3, 6, 7, 10, 11, 14, 15
#endif
#define NT_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define NT_ODD 1, 3, 5, 7, 9, 11, 13, 15
#else
#define NT_HALF1_LO 0, 1, 4, 5
#define NT_HALF1_HI 2, 3, 6, 7
#define NT_EVEN 0, 2, 4, 6
#define NT_ODD 1, 3, 5, 7
#endif
FDNN_INLINE void FDNN_CAT(nt_sums_, TS)(V *x, V *s)
{
    int n = NT_NA;
    NT_UNROLL
    for (int i = 0; i < n / 2; i++)
        x[i] = NT_SHUF(x[2 * i], x[2 * i + 1], NT_HALF1_LO)
               + NT_SHUF(x[2 * i], x[2 * i + 1], NT_HALF1_HI);
    n /= 2;
#ifdef NT_HALF2_LO
    NT_UNROLL
    for (int i = 0; i < n / 2; i++)
        x[i] = NT_SHUF(x[2 * i], x[2 * i + 1], NT_HALF2_LO)
               + NT_SHUF(x[2 * i], x[2 * i + 1], NT_HALF2_HI);
    n /= 2;
#endif
#if FDNN_TBYTES == 4
    /* four partial sums each: lanes 0 and 2, then 1 and 3, of four vectors at a time */
    NT_UNROLL
    for (int i = 0; i < n / 4; i++) {
        const V e01 = NT_SHUF(x[4 * i], x[4 * i + 1], NT_EVEN);
        const V o01 = NT_SHUF(x[4 * i], x[4 * i + 1], NT_ODD);
        const V e23 = NT_SHUF(x[4 * i + 2], x[4 * i + 3], NT_EVEN);
        const V o23 = NT_SHUF(x[4 * i + 2], x[4 * i + 3], NT_ODD);
        s[i] = ((NT_SHUF(e01, e23, NT_EVEN) + NT_SHUF(o01, o23, NT_EVEN))
                + NT_SHUF(e01, e23, NT_ODD)) + NT_SHUF(o01, o23, NT_ODD);
    }
#else
    NT_UNROLL
    for (int i = 0; i < n / 2; i++)
        s[i] = NT_SHUF(x[2 * i], x[2 * i + 1], NT_EVEN) + NT_SHUF(x[2 * i], x[2 * i + 1], NT_ODD);
#endif
}
#undef NT_HALF1_LO
#undef NT_HALF1_HI
#undef NT_HALF2_LO
#undef NT_HALF2_HI
#undef NT_EVEN
#undef NT_ODD
#undef NT_SHUF
#undef NTM
#endif

/* C[0:mr, 0:nr] = alpha A[0:mr, :] B[0:nr, :]^T, dot products along K: the first `head`
   terms (nt_head_) and those past the last whole vector added one by one after the
   vectors' sum */
FDNN_INLINE void FDNN_CAT(nt_tile_, TS)(const int mr, const int nr, ptrdiff_t K, T alpha,
                                        const T *a, ptrdiff_t lda, const T *b, ptrdiff_t ldb,
                                        T *c, ptrdiff_t ldc, const int ahead,
                                        const ptrdiff_t head)
{
    /* mr x nr <= NT_MR x NT_NR = GEMV_NR accumulators; each one's sum runs in the
       same order whatever the tile's shape, so C does not depend on the tiling */
    V acc[NT_MR * NT_NR];
    for (int r = 0; r < mr; r++)
        for (int s = 0; s < nr; s++)
            acc[r * nr + s] = (V){0};
    ptrdiff_t k = head;
    for (; k + VL <= K; k += VL) {
        V av[NT_MR], bv[GEMV_NR];
#if defined(__GNUC__) || defined(__clang__)
        if (ahead) /* B's rows stream from L2: each one's vector GEMV_AHEAD steps ahead */
            for (int s = 0; s < nr; s++)
                __builtin_prefetch(b + s * ldb + k + GEMV_AHEAD * VL, 0, 3);
#endif
        for (int r = 0; r < mr; r++)
            av[r] = VLOAD(a + r * lda + k);
        for (int s = 0; s < nr; s++)
            bv[s] = VLOAD(b + s * ldb + k);
        for (int r = 0; r < mr; r++)
            for (int s = 0; s < nr; s++)
                acc[r * nr + s] += av[r] * bv[s];
    }
#ifdef NT_NA
    if (mr == NT_MR && nr == NT_NR) {
        T sums[NT_NA];
        V sv[NT_NA / VL];
        FDNN_CAT(nt_sums_, TS)(acc, sv);
        /* no tail over K (kept as its own branch: merged with the tail's loop, the
           stores went through the stack, 1024 x 128 x 10 33 -> 39 us) */
        if (k == K && head == 0) {
            for (int q = 0; q < NT_NA / VL; q++)
                sv[q] *= alpha - (V){0};
            memcpy(sums, sv, sizeof sums);
            for (int r = 0; r < mr; r++)
                memcpy(c + r * ldc, sums + r * nr, (size_t)nr * sizeof(T));
            return;
        }
        memcpy(sums, sv, sizeof sums);
        for (int r = 0; r < mr; r++)
            for (int s = 0; s < nr; s++) {
                T t = sums[r * nr + s];
                for (ptrdiff_t q = 0; q < head; q++)
                    t += a[r * lda + q] * b[s * ldb + q];
                for (ptrdiff_t q = k; q < K; q++)
                    t += a[r * lda + q] * b[s * ldb + q];
                c[r * ldc + s] = alpha * t;
            }
        return;
    }
#endif
    for (int r = 0; r < mr; r++)
        for (int s = 0; s < nr; s++) {
            T t = FDNN_CAT(hsum_, TS)(acc[r * nr + s]);
            for (ptrdiff_t q = 0; q < head; q++)
                t += a[r * lda + q] * b[s * ldb + q];
            for (ptrdiff_t q = k; q < K; q++)
                t += a[r * lda + q] * b[s * ldb + q];
            c[r * ldc + s] = alpha * t;
        }
}

/* every row block of A against nr rows of B (nr a constant after inlining): those
   nr rows stay in L1 while A streams past them once */
FDNN_INLINE void FDNN_CAT(nt_cols_, TS)(const int nr, ptrdiff_t M, ptrdiff_t K, T alpha,
                                        const T *a, ptrdiff_t lda, const T *b, ptrdiff_t ldb,
                                        T *c, ptrdiff_t ldc, ptrdiff_t head)
{
    for (ptrdiff_t i = 0; i < M; i += NT_MR) {
        const T *ai = a + i * lda;
        T *ci = c + i * ldc;
        switch (M - i >= NT_MR ? NT_MR : M - i) {
        case NT_MR:
            FDNN_CAT(nt_tile_, TS)(NT_MR, nr, K, alpha, ai, lda, b, ldb, ci, ldc, 0, head);
            break;
        case 3: FDNN_CAT(nt_tile_, TS)(3, nr, K, alpha, ai, lda, b, ldb, ci, ldc, 0, head); break;
        case 2: FDNN_CAT(nt_tile_, TS)(2, nr, K, alpha, ai, lda, b, ldb, ci, ldc, 0, head); break;
        default: FDNN_CAT(nt_tile_, TS)(1, nr, K, alpha, ai, lda, b, ldb, ci, ldc, 0, head); break;
        }
    }
}

#define FDNN_GEMM_VECTOR 1
#endif /* vector extensions */

/* Narrow products (n or kk a compile-time constant after inlining, at most 8):
   the loops over it unroll and its partial sums stay in registers. */
FDNN_INLINE void FDNN_CAT(nn_narrow_, TS)(const int n, ptrdiff_t M, ptrdiff_t K, T alpha,
                                          const T *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                          const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc)
{
    for (ptrdiff_t i = 0; i < M; i++) {
        const T *ai = a + i * rs_a;
        T acc[8] = {0};
        for (ptrdiff_t k = 0; k < K; k++) {
            const T x = ai[k * cs_a];
            const T *bk = b + k * ldb;
            for (int j = 0; j < n; j++)
                acc[j] += x * bk[j];
        }
        for (int j = 0; j < n; j++)
            c[i * ldc + j] = alpha * acc[j];
    }
}

FDNN_INLINE void FDNN_CAT(nt_shortk_, TS)(const int kk, ptrdiff_t M, ptrdiff_t N, T alpha,
                                          const T *a, ptrdiff_t lda, const T *b,
                                          ptrdiff_t ldb, T *c, ptrdiff_t ldc)
{
    for (ptrdiff_t i = 0; i < M; i++) {
        T ai[8];
        for (int k = 0; k < kk; k++)
            ai[k] = a[i * lda + k];
        for (ptrdiff_t j = 0; j < N; j++) {
            T s = 0;
            for (int k = 0; k < kk; k++)
                s += ai[k] * b[j * ldb + k];
            c[i * ldc + j] = alpha * s;
        }
    }
}

#define FDNN_NARROW_CASES(X) X(2) X(3) X(4) X(5) X(6) X(7) X(8)

#ifdef FDNN_GEMM_VECTOR
/* up to FDNN_SHORT_K: blocks of NN_MR rows of C, each written whole before the next */
FDNN_INLINE void FDNN_CAT(nn_short_, TS)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, T alpha,
                                         const T *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                         const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc)
{
    for (ptrdiff_t i = 0;; i += NN_MR) {
        if (i > M - NN_MR)
            i = M - NN_MR; /* last block overlaps the one before */
        FDNN_CAT(nn_rows_, TS)(NN_MR, N, K, alpha, a + i * rs_a, rs_a, cs_a, b, ldb,
                               c + i * ldc, ldc);
        if (i == M - NN_MR)
            break;
    }
}

/* deeper: blocks of 2 VL (or VL) columns of C, each one's B panel kept in L1 */
FDNN_INLINE void FDNN_CAT(nn_wide_, TS)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, T alpha,
                                        const T *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                        const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc)
{
    ptrdiff_t j = 0;
    for (; j + 2 * VL <= N; j += 2 * VL)
        FDNN_CAT(nn_cols_, TS)(2, M, K, alpha, a, rs_a, cs_a, b + j, ldb, c + j, ldc, 0, 0);
#if FDNN_VBYTES >= 32
    if (N - j > VL && N - j <= VL + HVL) {
        FDNN_CAT(nn_cols_, TS)(1, M, K, alpha, a, rs_a, cs_a, b + j, ldb, c + j, ldc, 1,
                               N - j - HVL);
        return;
    }
#endif
    if (N - j > VL && j > 0) {
        j = N - 2 * VL;
        FDNN_CAT(nn_cols_, TS)(2, M, K, alpha, a, rs_a, cs_a, b + j, ldb, c + j, ldc, 0, 0);
    } else if (N - j > 0) {
        if (N - j > VL) /* VL < N < 2 VL: the first VL columns, then the last VL */
            FDNN_CAT(nn_cols_, TS)(1, M, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, 0, 0);
        j = N - VL;
        FDNN_CAT(nn_cols_, TS)(1, M, K, alpha, a, rs_a, cs_a, b + j, ldb, c + j, ldc, 0, 0);
    }
}

/* f over A's strides, a unit one as a constant: with both strides in registers the
   tiles' NN_MR broadcasts of A need NN_MR index registers, which GCC kept in vector
   registers and moved back for every k (one core, float64, a 128-wide layer's 100 and
   200 examples into 10 outputs: 10.1 -> 8.6 us, 19.6 -> 16.7) */
#define NN_BY_STRIDES(f)                                                                 \
    do {                                                                                 \
        if (rs_a == 1)                                                                   \
            FDNN_CAT(f, TS)(M, N, K, alpha, a, 1, cs_a, b, ldb, c, ldc);                 \
        else if (cs_a == 1)                                                              \
            FDNN_CAT(f, TS)(M, N, K, alpha, a, rs_a, 1, b, ldb, c, ldc);                 \
        else                                                                             \
            FDNN_CAT(f, TS)(M, N, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc);              \
    } while (0)
#endif

/* C = alpha A B; A[i,k] = a[i*rs_a + k*cs_a], B (K, N) rows of stride ldb. */
static void KFN(gemm_nn)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, T alpha, const T *a,
                         ptrdiff_t rs_a, ptrdiff_t cs_a, const T *b, ptrdiff_t ldb, T *c,
                         ptrdiff_t ldc)
{
#ifdef FDNN_GEMM_VECTOR
    if (N >= VL && M >= NN_MR && K <= FDNN_SHORT_K) {
        NN_BY_STRIDES(nn_short_);
        return;
    }
    if (M <= FDNN_FEW_ROWS && N >= VL && M > 0 && (double)K * ldb * sizeof(T) > FDNN_FEW_FROM) {
        FDNN_CAT(gemm_few_, TS)((int)M, N, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc, 1);
        return;
    }
    if (N < VL && rs_a == 1 && cs_a >= M && M >= VL && (double)K * cs_a * sizeof(T) > FDNN_FEW_FROM) {
        /* a transposed A and a few columns of C: C^T = B^T A^T, A's stored rows streamed */
        for (ptrdiff_t j = 0; j < N; j += FDNN_FEW_ROWS)
            FDNN_CAT(gemm_few_, TS)((int)(N - j < FDNN_FEW_ROWS ? N - j : FDNN_FEW_ROWS), M, K,
                                    alpha, b + j, 1, ldb, a, cs_a, c + j, 1, ldc);
        return;
    }
    if (N >= VL && M > 0) {
        NN_BY_STRIDES(nn_wide_);
        return;
    }
#endif
    switch (N) {
#define FDNN_NN_CASE(n)                                                                 \
    case n:                                                                             \
        FDNN_CAT(nn_narrow_, TS)(n, M, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc);         \
        return;
        FDNN_NARROW_CASES(FDNN_NN_CASE)
#undef FDNN_NN_CASE
    default:
        break;
    }
    if (N < 16) {
        /* one long dot product per element (N = 1 among them) */
        for (ptrdiff_t i = 0; i < M; i++)
            for (ptrdiff_t j = 0; j < N; j++) {
                const T *ai = a + i * rs_a, *bj = b + j;
                T s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* four chains hide the FMA latency */
                ptrdiff_t k = 0;
                for (; k + 4 <= K; k += 4) {
                    s0 += ai[k * cs_a] * bj[k * ldb];
                    s1 += ai[(k + 1) * cs_a] * bj[(k + 1) * ldb];
                    s2 += ai[(k + 2) * cs_a] * bj[(k + 2) * ldb];
                    s3 += ai[(k + 3) * cs_a] * bj[(k + 3) * ldb];
                }
                for (; k < K; k++)
                    s0 += ai[k * cs_a] * bj[k * ldb];
                c[i * ldc + j] = alpha * ((s0 + s1) + (s2 + s3));
            }
        return;
    }
    for (ptrdiff_t i = 0; i < M; i++) {
        T *restrict ci = c + i * ldc;
        for (ptrdiff_t j = 0; j < N; j++)
            ci[j] = 0;
        for (ptrdiff_t k = 0; k < K; k++) {
            const T w = alpha * a[i * rs_a + k * cs_a];
            const T *restrict bk = b + k * ldb;
            for (ptrdiff_t j = 0; j < N; j++)
                ci[j] += w * bk[j];
        }
    }
}

/* Whether gemm_nt runs an M-row product as the nn product of B^T (packed), or as dot
   products along K: B^T packed into (K, N) rows makes it the nn product, whose tiles
   need no horizontal sums and no scalar tail over K. Short K takes this path whatever M
   is, so a layer's outputs for one example do not depend on how many examples come with
   it (batch 4 or 400: same rounding). */
FDNN_INLINE int FDNN_CAT(nt_as_nn_, TS)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K)
{
#ifdef FDNN_GEMM_VECTOR
    return N >= VL && K > 0 && (M >= 4 * NN_MR || K < 4 * VL);
#else
    (void)M; (void)N; (void)K;
    return 0;
#endif
}

/* The terms of each dot product that nt_tile_ adds one by one before its vectors, so that
   the vectors of the rows streamed from L2 or further, the matrix's in a matrix-vector
   product (A's for fewer columns of B than NT_NR, B's for one row of A against more), are
   aligned loads: a load across two cache lines costs two, which made the float64 256 x 784
   by 784 x 1 from L2 1.6x slower when NumPy put A 16 bytes past a line. Only where all
   those rows have the same alignment (a row stride of whole vectors) and are long enough
   (NT_HEAD_FROM bytes) to pay for up to VL - 1 terms one by one; elsewhere the tiles read
   both operands from L1 or L2 and lost to it (float32 1000 x 128 by 128 x 10 NT 33 -> 84
   us). A narrow C takes its head from A whatever its number of rows, so that a row of A
   gets the same sums alone as among others. Chosen for the whole product (M, N, a and b as
   the dispatch sees them, like nt_as_nn_), so that every share of it splits the sums
   alike: results depend on where the arrays start (as with any BLAS that aligns), not on
   the threads. */
#define NT_HEAD_FROM 1024
FDNN_INLINE ptrdiff_t FDNN_CAT(nt_head_, TS)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                                             const T *a, ptrdiff_t lda, const T *b,
                                             ptrdiff_t ldb)
{
#ifdef FDNN_GEMM_VECTOR
    if ((M != 1 && N >= NT_NR) || (double)K * sizeof(T) < NT_HEAD_FROM)
        return 0;
    const int from_a = N < NT_NR;
    /* one row's stride is whatever its array had (0 for x[None, :]): as if contiguous */
    const ptrdiff_t stride = (from_a ? M : N) == 1 ? K : (from_a ? lda : ldb);
    if (((size_t)stride * sizeof(T)) % FDNN_VBYTES != 0)
        return 0;
    return fdnn_to_boundary(from_a ? a : b, sizeof(T), FDNN_VBYTES);
#else
    (void)M; (void)N; (void)K; (void)a; (void)lda; (void)b; (void)ldb;
    return 0;
#endif
}

/* gemm_nt with the choices of nt_as_nn_ (as_nn) and nt_head_ (head) made for a whole
   product of which these are some rows or columns: each element of C is then the same
   whatever rows or columns come with it. */
static void FDNN_CAT(gemm_nt_as_, TS)(int as_nn, ptrdiff_t head, ptrdiff_t M, ptrdiff_t N,
                                      ptrdiff_t K, T alpha, const T *a, ptrdiff_t lda,
                                      const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc)
{
#ifdef FDNN_GEMM_VECTOR
    if (as_nn) {
        int heap;
        T *bt = FDNN_CAT(pack_space_, TS)((size_t)K * (size_t)N, &heap);
        if (bt != NULL) {
            FDNN_CAT(transpose_, TS)(N, K, b, ldb, bt, N);
            KFN(gemm_nn)(M, N, K, alpha, a, lda, 1, bt, N, c, ldc);
            if (heap)
                free(bt);
            return;
        }
    }
    if (K >= VL && N > 0 && M > 0) {
        if (M == 1 && N >= GEMV_NR) {
            /* B in L2 or further: prefetched (float32 256 x 784 on one core 9.9-10.2 ->
               8.6-9.7 us, float64 20.7-21.4 -> 17.6-19.9); in L1 it only costs */
            const int far = (double)N * (double)K * sizeof(T) >= GEMV_PREFETCH_BYTES;
            for (ptrdiff_t j = 0;; j += GEMV_NR) {
                if (j > N - GEMV_NR)
                    j = N - GEMV_NR; /* last block overlaps the one before */
                if (far)
                    FDNN_CAT(nt_tile_, TS)(1, GEMV_NR, K, alpha, a, lda, b + j * ldb, ldb,
                                           c + j, ldc, 1, head);
                else
                    FDNN_CAT(nt_tile_, TS)(1, GEMV_NR, K, alpha, a, lda, b + j * ldb, ldb,
                                           c + j, ldc, 0, head);
                if (j == N - GEMV_NR)
                    break;
            }
            return;
        }
        if (N < NT_NR && M >= GEMV_NR) {
            /* A x for a few columns x of B: the matrix-vector product above with A and B's
               roles swapped (the same sums, as multiplication commutes), GEMV_NR rows of A
               per tile. (Prefetching A's rows made no difference here: float64 256 x 784
               and 2048 x 2048, one and two threads.) */
            for (ptrdiff_t j = 0; j < N; j++)
                for (ptrdiff_t i = 0;; i += GEMV_NR) {
                    T t[GEMV_NR];
                    if (i > M - GEMV_NR)
                        i = M - GEMV_NR; /* last block overlaps the one before */
                    FDNN_CAT(nt_tile_, TS)(1, GEMV_NR, K, alpha, b + j * ldb, ldb, a + i * lda,
                                           lda, t, GEMV_NR, 0, head);
                    for (int s = 0; s < GEMV_NR; s++)
                        c[(i + s) * ldc + j] = t[s];
                    if (i == M - GEMV_NR)
                        break;
                }
            return;
        }
        if (N < NT_NR) {   /* a row of B at a time */
            for (ptrdiff_t j = 0; j < N; j++)
                FDNN_CAT(nt_cols_, TS)(1, M, K, alpha, a, lda, b + j * ldb, ldb, c + j, ldc,
                                       head);
            return;
        }
        for (ptrdiff_t j = 0;; j += NT_NR) {
            if (j > N - NT_NR)
                j = N - NT_NR; /* last block overlaps the one before */
            FDNN_CAT(nt_cols_, TS)(NT_NR, M, K, alpha, a, lda, b + j * ldb, ldb, c + j, ldc,
                                   head);
            if (j == N - NT_NR)
                break;
        }
        return;
    }
#endif
    switch (K) {
#define FDNN_NT_CASE(kk)                                                                \
    case kk:                                                                            \
        FDNN_CAT(nt_shortk_, TS)(kk, M, N, alpha, a, lda, b, ldb, c, ldc);               \
        return;
        FDNN_NARROW_CASES(FDNN_NT_CASE)
#undef FDNN_NT_CASE
    default:
        break;
    }
    if (K < 16) {
        /* dot products too short for the vector accumulators */
        for (ptrdiff_t i = 0; i < M; i++)
            for (ptrdiff_t j = 0; j < N; j++) {
                T s = 0;
                for (ptrdiff_t k = 0; k < K; k++)
                    s += a[i * lda + k] * b[j * ldb + k];
                c[i * ldc + j] = alpha * s;
            }
        return;
    }
    for (ptrdiff_t i = 0; i < M; i++)
        for (ptrdiff_t j = 0; j < N; j++) {
            const T *restrict ai = a + i * lda, *restrict bj = b + j * ldb;
            T acc[16] = {0}; /* partial sums the compiler vectorizes */
            ptrdiff_t k = 0;
            for (; k + 16 <= K; k += 16)
                for (int l = 0; l < 16; l++)
                    acc[l] += ai[k + l] * bj[k + l];
            T s = 0;
            for (; k < K; k++)
                s += ai[k] * bj[k];
            for (int l = 0; l < 16; l++)
                s += acc[l];
            c[i * ldc + j] = alpha * s;
        }
}

/* C = alpha A B^T; A (M, K) rows of stride lda, B (N, K) rows of stride ldb. */
static void KFN(gemm_nt)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, T alpha, const T *a,
                         ptrdiff_t lda, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc)
{
    FDNN_CAT(gemm_nt_as_, TS)(FDNN_CAT(nt_as_nn_, TS)(M, N, K),
                              FDNN_CAT(nt_head_, TS)(M, N, K, a, lda, b, ldb), M, N, K, alpha,
                              a, lda, b, ldb, c, ldc);
}

#ifdef FDNN_GEMM_VECTOR
#undef FDNN_GEMM_VECTOR
#undef NT_NA
#undef NT_UNROLL
#undef VL
#undef V
#undef UV
#undef VLOAD
#undef VSTORE
#undef NN_BY_STRIDES
#undef HVL
#undef HV
#undef UHV
#undef NN_MR
#undef NT_MR
#undef NT_NR
#undef GEMV_NR
#undef GEMV_AHEAD
#undef GEMV_PREFETCH_BYTES
#undef FDNN_SHORT_K
#undef FDNN_PACK_KEEP
#undef FDNN_FEW_K
#undef FDNN_FEW_COLS
#undef FDNN_FEW_FROM
#endif
#undef FDNN_NARROW_CASES
#undef NT_HEAD_FROM
