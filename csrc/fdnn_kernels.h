/* Element-wise and softmax kernels: kernel tables, dispatch API (codes: fdnn_codes.h). */
#ifndef FDNN_KERNELS_H
#define FDNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "fdnn_codes.h"

/* The activations with an exponential, a logarithm or erfc: their forward, derivative
   (from z) and backward steps are the costly element-wise kernels (the dispatch's thread
   thresholds; the kernels' prefetching, fdnn_ew_type.h). */
#define FDNN_COSTLY_ACTS(X) X(SIGMOID) X(TANH) X(ELU) X(SELU) X(GELU) X(GELU_TANH) X(SILU) \
    X(SOFTPLUS) X(MISH)
#define FDNN_CASE_FORWARD_(A) case FDNN_##A:
#define FDNN_CASE_D_Z_(A) case FDNN_D_##A##_Z:
#define FDNN_CASE_BW_(A) case FDNN_BW_##A:

static inline int fdnn_unary_costly(int op)
{
    switch (op) {
    FDNN_COSTLY_ACTS(FDNN_CASE_FORWARD_)
    FDNN_COSTLY_ACTS(FDNN_CASE_D_Z_)
        return 1;
    default:
        return 0;
    }
}

static inline int fdnn_bw_costly(int op)
{
    switch (op) {
    FDNN_COSTLY_ACTS(FDNN_CASE_BW_)
        return 1;
    default:
        return 0;
    }
}

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*fdnn_unary_f32_t)(const float *x, float *y, ptrdiff_t n, float alpha);
typedef void (*fdnn_unary_f64_t)(const double *x, double *y, ptrdiff_t n, double alpha);
typedef void (*fdnn_binary_f32_t)(const float *dA, const float *a, float *y, ptrdiff_t n, float alpha);
typedef void (*fdnn_binary_f64_t)(const double *dA, const double *a, double *y, ptrdiff_t n, double alpha);
/* Arrays seen as C-contiguous (outer, n, ld); the reduction runs over n, for the first
   inner <= ld columns (ld == 1: rows). Sums accumulate in double, so a float32 softmax
   over many classes keeps float32 accuracy. */
typedef void (*fdnn_softmax_f32_t)(const float *x, float *y, ptrdiff_t outer, ptrdiff_t n,
                                   ptrdiff_t inner, ptrdiff_t ld);
typedef void (*fdnn_softmax_f64_t)(const double *x, double *y, ptrdiff_t outer, ptrdiff_t n,
                                   ptrdiff_t inner, ptrdiff_t ld);
typedef void (*fdnn_softmax_bw_f32_t)(const float *dA, const float *a, float *y, ptrdiff_t outer,
                                      ptrdiff_t n, ptrdiff_t inner, ptrdiff_t ld);
typedef void (*fdnn_softmax_bw_f64_t)(const double *dA, const double *a, double *y, ptrdiff_t outer,
                                      ptrdiff_t n, ptrdiff_t inner, ptrdiff_t ld);

/* Softmax over a contiguous slice of n rows of p <= FDNN_PERIOD values (an F-ordered (p, m)
   array over its axis 1), reduced over the rows, in passes over segments of rows that the
   dispatch runs on its threads, combining the segments' values (one per column: in, out)
   in between: the maxima (x), y = exp(x - in) and its sums, y *= in; for the backward step
   the sums of dA a (x = a, g = dA) and y = a (dA - in). */
#define FDNN_PERIOD 16
enum { FDNN_SMP_MAX, FDNN_SMP_EXP, FDNN_SMP_SCALE, FDNN_SMP_DOT, FDNN_SMP_BW };
typedef void (*fdnn_softmax_period_f32_t)(int pass, const float *x, const float *g, float *y,
                                          ptrdiff_t n, ptrdiff_t p, const double *in,
                                          double *out);
typedef void (*fdnn_softmax_period_f64_t)(int pass, const double *x, const double *g,
                                          double *y, ptrdiff_t n, ptrdiff_t p,
                                          const double *in, double *out);

/* Dense-layer passes over a contiguous block of `lines` lines of `len` elements. */
typedef void (*fdnn_bias_act_f32_t)(int act, float *Z, ptrdiff_t lines, ptrdiff_t len,
                                    const float *b, int bias_per_line, float alpha);
typedef void (*fdnn_bias_act_f64_t)(int act, double *Z, ptrdiff_t lines, ptrdiff_t len,
                                    const double *b, int bias_per_line, double alpha);
typedef void (*fdnn_act_backward_f32_t)(int op, const float *dA, const float *a, float *dZ,
                                        ptrdiff_t lines, ptrdiff_t len, float *db,
                                        int db_per_line, float scale, float alpha);
typedef void (*fdnn_act_backward_f64_t)(int op, const double *dA, const double *a, double *dZ,
                                        ptrdiff_t lines, ptrdiff_t len, double *db,
                                        int db_per_line, double scale, double alpha);

/* Batch normalization's passes over n features of m examples, feature i of example j at
   [i + j ld] (fdnn_ew_type.h says what each computes). */
#define FDNN_DEF_BN_TYPES(TS, T)                                                        \
    typedef void (*fdnn_bn_stats_##TS##_t)(const T *x, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld, \
                                           double eps, double *mean, double *var,       \
                                           double *inv_std);                            \
    typedef void (*fdnn_bn_apply_##TS##_t)(const T *x, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld, \
                                           const double *mean, const double *inv_std,   \
                                           const T *gamma, const T *beta, T *y);        \
    typedef void (*fdnn_bn_backward_##TS##_t)(const T *dy, const T *x, ptrdiff_t n,     \
                                              ptrdiff_t m, ptrdiff_t ld, const double *mean, \
                                              const double *inv_std, const T *gamma, T *dx, \
                                              T *dgamma, T *dbeta, T *db, double scale, \
                                              double *sdy, double *sdyx);
FDNN_DEF_BN_TYPES(f32, float)
FDNN_DEF_BN_TYPES(f64, double)
#undef FDNN_DEF_BN_TYPES

typedef void (*fdnn_gemm_nn_f32_t)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, float alpha,
                                   const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                   const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc);
typedef void (*fdnn_gemm_nn_f64_t)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, double alpha,
                                   const double *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                   const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc);
typedef void (*fdnn_gemm_nt_f32_t)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, float alpha,
                                   const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                   float *c, ptrdiff_t ldc);
typedef void (*fdnn_gemm_nt_f64_t)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, double alpha,
                                   const double *a, ptrdiff_t lda, const double *b,
                                   ptrdiff_t ldb, double *c, ptrdiff_t ldc);

/* The packed product (fdnn_gemm_packed.h): C = alpha op(A) op(B) + beta C with
   A[i, k] = a[i * rs_a + k * cs_a], B[k, j] = b[k * rs_b + j * cs_b], C row-major (row
   stride ldc, not overlapping A or B); beta = 0 does not read C. Then, when act >= 0,
   C = g(C + bias) with the activation act (FDNN_SIGMOID..FDNN_LINEAR) and its alpha,
   bias (may be NULL) indexed by C's row (bias_per_row) or column. Or, when bwd >= 0 (a
   backward op FDNN_BW_SIGMOID..FDNN_BW_LINEAR), the backward epilogue: C = C * g'(act)
   with act[i * ld_act + j] the activation of C's element (i, j), and db (when not NULL)
   = db_scale * the sums of C's columns. And, when opt > FDNN_OPT_GD, each finished tile of
   C (a gradient) is the optimizer step opt (coefficients opt_c, FDNN_OC_*) of the parameters
   opt_p and their state opt_s1, opt_s2, laid out like C (row stride ldc). split: how a
   team cuts C (FDNN_SPLIT_*; 0, by the dispatch's cost model, when zeroed). */
#define FDNN_GEMM_ARGS(T)                                                       \
    struct {                                                                    \
        ptrdiff_t M, N, K;                                                      \
        T alpha, beta;                                                          \
        const T *a;                                                             \
        ptrdiff_t rs_a, cs_a;                                                   \
        const T *b;                                                             \
        ptrdiff_t rs_b, cs_b;                                                   \
        T *c;                                                                   \
        ptrdiff_t ldc;                                                          \
        int act;                                                                \
        T act_alpha;                                                            \
        const T *bias;                                                          \
        int bias_per_row;                                                       \
        int bwd;                                                                \
        const T *act_a;                                                         \
        ptrdiff_t ld_act;                                                       \
        T *db;                                                                  \
        T db_scale;                                                             \
        int opt;                                                                \
        T *opt_p;                                                               \
        T *opt_s1;                                                              \
        T *opt_s2;                                                              \
        const T *opt_c;                                                         \
        int split;                                                              \
    }
/* How the thread grid cuts C (fdnn_gemm_args_*.split): by the dispatch's cost model, or
   C's rows only, or its columns only, for a caller that knows which core holds which
   operand from the products before (the training step keeps each core on the same rows
   of a large W from its update to the next forward, fastdnn/_kernels/_network.pyx).
   Tiled products only (dot products, a narrow C and outer products keep their own cut),
   and only where C has a tile row (column) for each thread; a product with a column sum
   (db) always splits columns. Results are the same bit for bit under every split. */
#define FDNN_SPLIT_COST 0
#define FDNN_SPLIT_ROWS 1
#define FDNN_SPLIT_COLS 2

/* Cost of packing one element, in multiply-adds: packing reads strided and writes
   once, a multiply-add is 1/32 of a cycle on a 16-lane vector with two FMA units. */
#define FDNN_PACK_COST 8

/* Few rows of C and a B whose columns are contiguous (a batch of examples against a
   layer's weights W^T): the engine computes C^T = B^T A^T, reading B in place as the
   broadcast operand instead of packing it, when that saves more than the wider
   padding of C's rows costs (they then fill vector lanes, NR at a time, instead of
   MR rows). K-long panels of A stay in L2 (FDNN_GEMM_SWAP_BYTES). One rule for the
   dispatch's thread grid and the kernels; it depends only on the shapes, strides and
   register tile, so results do not depend on the thread count. Up to FDNN_GEMM_SWAP_M
   rows at any depth; up to FDNN_GEMM_SWAP_LONG_M rows where K has at least
   FDNN_GEMM_SWAP_LONG_K bytes: there each tile's chain over the whole of K outweighs its
   transposed store, and the engine packs the examples instead of W^T (Sapphire
   Rapids-class Xeon, NT, us straight -> swapped, two threads: float32 128x784x256
   185-192 -> 160-169, 128x512x512 233-256 -> 216-228, 256x1024x1024 1818-1956 ->
   1622-1811, 256x784x256 317-352 -> 307-327; float64 128x784x256 361-372 -> 305-327,
   256x784x256 661-692 -> 603-629, 128x256x128 61-65 -> 58; one thread, float32
   128x784x256 345-348 -> 314-321. But float32 K = 256: 128x256x128 32.4 -> 33.8,
   256x256x128 54-60 -> 63-66; from 512 rows even). */
#define FDNN_GEMM_SWAP_M 64
#define FDNN_GEMM_SWAP_LONG_M 256
#define FDNN_GEMM_SWAP_LONG_K 2048
#define FDNN_GEMM_SWAP_BYTES (256 * 1024)
/* multiply-adds per k of the product on an mr x nr tile, padding and packing included,
   in the order fdnn_gemm_swapped takes; *swapped says which */
static inline double fdnn_gemm_cost(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, ptrdiff_t rs_b,
                                    size_t tbytes, int mr, int nr, int *swapped)
{
    const double m = (double)M, n = (double)N;
    const double straight = (double)((M + mr - 1) / mr * mr) * (double)((N + nr - 1) / nr * nr)
                            + FDNN_PACK_COST * (m + n);
    *swapped = 0;
    const int long_k = (double)K * (double)tbytes >= FDNN_GEMM_SWAP_LONG_K;
    if (K <= 0 || rs_b != 1 || M > (long_k ? FDNN_GEMM_SWAP_LONG_M : FDNN_GEMM_SWAP_M)
        || (size_t)K * tbytes * (size_t)nr > FDNN_GEMM_SWAP_BYTES)
        return straight;
    const double swapped_cost = (double)((M + nr - 1) / nr * nr) * (double)((N + mr - 1) / mr * mr)
                                + FDNN_PACK_COST * (m + (N % mr != 0 ? mr : 0));
    *swapped = swapped_cost < straight;
    return *swapped ? swapped_cost : straight;
}

static inline int fdnn_gemm_swapped(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, ptrdiff_t rs_b,
                                    size_t tbytes, int mr, int nr)
{
    int swapped;
    (void)fdnn_gemm_cost(M, N, K, rs_b, tbytes, mr, nr, &swapped);
    return swapped;
}

/* Few rows of C with A's rows and B's columns contiguous along k (x W^T for a few
   examples, or dZ A_prev^T for a narrow layer): dot products along K on the direct loops'
   tiles (fdnn_gemm_type.h's gemm_nt), no packing, C's columns split across the team. The
   packed engine would transpose all of B into panels for a few rows' multiply-adds and
   pad C's rows to its tile: one core, AVX-512 (Zen 4), B 256 rows, us packed -> dots:
   float32 10x1024 3.8 -> 2.4 (x 128 rows), 8x512 44 -> 23, 16x512 57 -> 46, 16x256 29 -> 26,
   but 16x128 14.5 -> 16.9; float64 4x128 14.9 -> 7.0, 12x128 20.9 -> 19.7, but 12x64
   10.3 -> 12.4; float32 K = 784: 17-22 rows 86-110 -> 75-91, 23 rows 110 -> 107, 24
   107 -> 115. So: up to FDNN_DOT_ROWS rows, from 64 bytes of K per row of C (counted in
   fours) and at least 256 (4 vectors of K on every path). Shapes and strides only, so
   results do not depend on the thread count. */
#define FDNN_DOT_ROWS 20
/* C's columns per share of the thread grid */
#define FDNN_DOT_SPLIT 8
/* A's rows and B's columns contiguous along k, and at least 256 bytes of it (4 vectors
   of K on every path): what the dot products need */
static inline int fdnn_gemm_along_k(ptrdiff_t K, ptrdiff_t cs_a, ptrdiff_t rs_b, size_t tbytes)
{
    return cs_a == 1 && rs_b == 1 && (double)K * (double)tbytes >= 256;
}

static inline int fdnn_gemm_dots(ptrdiff_t M, ptrdiff_t K, ptrdiff_t cs_a, ptrdiff_t rs_b,
                                 size_t tbytes)
{
    return fdnn_gemm_along_k(K, cs_a, rs_b, tbytes) && M >= 1 && M <= FDNN_DOT_ROWS
           && (double)K * (double)tbytes >= 64.0 * (double)((M + 3) / 4 * 4);
}

/* K = 1: C = alpha a b^T (+ beta C), an outer product (a layer of one input, or the dW of
   a batch of one example), written row after row (fdnn_gemm_packed.h's pk_outer_) in
   shares of FDNN_OUTER_ROWS rows by FDNN_OUTER_COLS columns. */
#define FDNN_OUTER_ROWS 8
#define FDNN_OUTER_COLS 256
static inline int fdnn_gemm_outer(ptrdiff_t K) { return K == 1; }

/* Many rows of a narrow C (fewer columns than the path's gemm_narrow_*: a layer of a
   few units, e.g. a classifier's outputs, for a batch) with A's rows and B's columns
   contiguous along k: the dot products' kernel (pk_dots_) too, C's rows split across the
   team in blocks of FDNN_NARROW_ROWS. */
#define FDNN_NARROW_ROWS 16
static inline int fdnn_gemm_narrow(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, ptrdiff_t cs_a,
                                   ptrdiff_t rs_b, size_t tbytes, int narrow)
{
    return fdnn_gemm_along_k(K, cs_a, rs_b, tbytes) && M > FDNN_DOT_ROWS && N < narrow;
}

/* A's rows contiguous along k: the micro-kernel reads its whole MR-row panels in place
   instead of packing them (+2-10 % on one core; AVX-512, Ice Lake-SP). Rows a multiple of
   4 KiB apart put a panel's lines in the same L1 sets: with 12 rows (8-way L1s of other
   CPUs hold only 8) those are packed; 6 rows read in place gained 2-11 % there too.
   (Columns contiguous along i: fdnn_gemm_at_in_place.) */
static inline int fdnn_gemm_a_in_place(ptrdiff_t rs_a, ptrdiff_t cs_a, size_t tbytes, int mr)
{
    return cs_a == 1 && (mr <= 8 || ((size_t)rs_a * tbytes) % 4096 != 0);
}

/* A's columns contiguous along i (a transposed view, TN), read in place too when its
   panels are read once (C's `cols` columns in one block of B, at most `nb` wide) and
   its k are at most FDNN_AT_STRIDE bytes apart: each k gives the tile its MR elements
   side by side, and a stride the hardware's prefetchers follow (Intel's up to 2 KiB)
   brings them ahead.
   Sapphire Rapids-class Xeon, us, packed -> in place, two threads: float32 256x128 by
   128x32 9.4 -> 7.9, 256x128 by 128x128 24.8 -> 23.2, 256^3 85 -> 83; float64 256x128 by
   128x32 16.0 -> 12.8, 128x1024 by 1024x10 44 -> 32.5. Read again for each block of B it
   lost (float32 256x128 by 128x784 128.5 -> 132, float64 256x128 by 128x1024 340 ->
   350), and 8 KiB apart it ran at half the speed (float32 2048x1024 by 1024x512). */
#define FDNN_AT_STRIDE 2048
static inline int fdnn_gemm_at_in_place(ptrdiff_t cols, ptrdiff_t nb, ptrdiff_t rs_a,
                                        ptrdiff_t cs_a, size_t tbytes)
{
    return rs_a == 1 && cols <= nb && cs_a >= 0 && (size_t)cs_a * tbytes <= FDNN_AT_STRIDE;
}

/* B's rows contiguous and C at most FDNN_B_IN_PLACE_PANELS of the tile's row panels high:
   the micro-kernel reads B's rows in place (a stride per k) instead of packing B, which
   for so few panels costs about as much as the products that read it. One core, AVX-512
   (Sapphire Rapids-class Xeon), K = 128, us packed -> in place: float32 10 x 1024 31.9 ->
   20.0, 12 x 1000 30.6 -> 21.4, 24 x 1000 48.3 -> 41.0, 10 rows by K = 784, N = 256
   48.5 -> 31.8; float64 10 x 1024 72.7 -> 59.9, 24 x 1000 100.5 -> 77.7. Up to 8 panels
   was even or worse (32 x 1024 float32 71 -> 82: rows 4 KiB apart share L1 sets).
   fdnn_gemm_cost still counts B's packing there (the tile and grid choices are as before).
   Rows a multiple of 4 KiB apart are packed as A's are (fdnn_gemm_a_in_place): a panel's
   k rows then share one set of an 8-way L1 (AMD Zen 2, us in place -> packed, one thread:
   float32 10x128 by 128x1024 63 -> 46, 24x128 by 128x1024 127 -> 83, 10x784 by 784x1024
   416 -> 281; float64 10x128 by 128x1024 132 -> 91; two threads 1.3-1.45x). */
#define FDNN_B_IN_PLACE_PANELS 4

/* Elements of y before its first 64-byte line, which an element-wise pass (the
   dispatch's unary and binary passes, softmax's store-only passes along rows) runs apart
   so that its vectors store whole lines (NumPy aligns arrays to 16 bytes): a store that
   straddles two lines cost up to 40 % of a memory-bound pass that stays in the caches
   (Sapphire Rapids-class Xeon, 10^5 elements, in and out 16 bytes past a line, us,
   whole -> split; all on a line: one thread, float32 relu 12.9 -> 9.0 (9.2), leaky_relu
   14.2 -> 9.7 (10.3), sigmoid_backward 16.1 -> 12.4 (11.6), float64 relu 30.1 -> 20.8
   (21.8); two threads, float32 relu 7.4 -> 5.8, sigmoid_backward 9.2 -> 7.1). 0 below
   FDNN_EW_ALIGN_FROM bytes (10^3 elements: even), for y not aligned to its element, or
   when the head would be all of it. A kernel's loop tail gives each element the same bits
   as its vector body, so results do not depend on the split. */
#define FDNN_EW_ALIGN_FROM 4096
/* Elements of `size` bytes from y up to its next multiple of `bytes` (a power of two:
   a vector's width, a cache line); 0 when y is not aligned to its element, which no
   number of elements would align. */
static inline ptrdiff_t fdnn_to_boundary(const void *y, size_t size, size_t bytes)
{
    const uintptr_t at = (uintptr_t)y;
    return at % size != 0 ? 0 : (ptrdiff_t)((bytes - at % bytes) % bytes / size);
}

static inline ptrdiff_t fdnn_to_line(const void *y, size_t size)
{
    return fdnn_to_boundary(y, size, 64);
}

static inline ptrdiff_t fdnn_line_head(const void *y, ptrdiff_t n, size_t size)
{
    if ((size_t)n * size < FDNN_EW_ALIGN_FROM)
        return 0;
    const ptrdiff_t h = fdnn_to_line(y, size);
    return h < n ? h : 0;
}

/* Depth up to which the stores of C dominate a product: there the packed engine starts
   each share's columns with the few up to a 64-byte line, so that its whole tiles store
   whole lines (fdnn_gemm_tile.h). A store that straddles two lines cost 40 % on one core
   (Sapphire Rapids-class Xeon, C 16 or 32 bytes past a line, us: float32 256x1x784 NT
   22.7-24.4 -> 19.0-19.9, aligned 18.1; float64 50-53 -> 39-44, K = 4 56-60 -> 43-49);
   from K = 8 the multiply-adds hide them (no difference). */
#define FDNN_GEMM_ALIGN_K 4
static inline int fdnn_gemm_b_in_place(ptrdiff_t M, ptrdiff_t rs_b, ptrdiff_t cs_b,
                                       size_t tbytes, int mr)
{
    return cs_b == 1 && M <= (ptrdiff_t)FDNN_B_IN_PLACE_PANELS * mr
           && ((size_t)rs_b * tbytes) % 4096 != 0;
}

/* Rows of C (examples), or columns of a product with a transposed A, up to which the
   direct loops stream the long operand at any size (fdnn_gemm_type.h's gemm_few, split
   over the team by the dispatch): the packed engine pads such a C to whole tiles. */
#define FDNN_FEW_ROWS 4

/* Register tiles per path: tile 0 the fastest per multiply-add, tile 1 one that pads
   narrow products less (a path with one tile gives it twice). */
#define FDNN_GEMM_TILES 2
/* time per multiply-add of tile 1 over tile 0's (AVX-512 float32: 12 x 32 against
   6 x 64, 1.07-1.19 where neither pads more) */
#define FDNN_GEMM_TILE1_COST 1.1

/* The tile a product runs on: the one of least fdnn_gemm_cost (padding and packing
   included), tile 1's weighted by FDNN_GEMM_TILE1_COST.
   It depends only on the shapes and strides, so results do not depend on the thread
   count; and both tiles compute each element of C as the same chain over k (bit for bit
   the same result, except where one runs C^T, fdnn_gemm_swapped, over several K blocks). */
static inline int fdnn_gemm_pick(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, ptrdiff_t rs_b,
                                 size_t tbytes, const int tiles[FDNN_GEMM_TILES][2])
{
    if (tiles[1][0] == tiles[0][0] && tiles[1][1] == tiles[0][1])
        return 0;
    double cost[FDNN_GEMM_TILES];
    for (int t = 0; t < FDNN_GEMM_TILES; t++) {
        int swapped;
        cost[t] = fdnn_gemm_cost(M, N, K, rs_b, tbytes, tiles[t][0], tiles[t][1], &swapped);
    }
    return cost[1] * FDNN_GEMM_TILE1_COST < cost[0] ? 1 : 0;
}

typedef FDNN_GEMM_ARGS(float) fdnn_gemm_args_f32;
typedef FDNN_GEMM_ARGS(double) fdnn_gemm_args_f64;
/* C[i0:i1, j0:j1] on the calling thread */
typedef void (*fdnn_gemm_f32_t)(const fdnn_gemm_args_f32 *g, ptrdiff_t i0, ptrdiff_t i1,
                               ptrdiff_t j0, ptrdiff_t j1);
typedef void (*fdnn_gemm_f64_t)(const fdnn_gemm_args_f64 *g, ptrdiff_t i0, ptrdiff_t i1,
                               ptrdiff_t j0, ptrdiff_t j1);

/* Optimizer steps (fdnn_optim_*): op (FDNN_OPT_*) and the layout of the
   coefficients c. */
enum {
    FDNN_OC_LR = 0,    /* learning rate; Adam's, AdamW's and Adamax's are bias-corrected:
                          lr / (1 - beta1^t); Nadam's is its rate on g */
    FDNN_OC_DECAY,     /* L2: the gradient is g + decay * p */
    FDNN_OC_BETA1,
    FDNN_OC_OMB1,      /* 1 - beta1 */
    FDNN_OC_BETA2,
    FDNN_OC_OMB2,      /* 1 - beta2 */
    FDNN_OC_INV_C2,    /* Adam: 1 / (1 - beta2^t) */
    FDNN_OC_EPS,
    FDNN_OC_KEEP,      /* AdamW: p is first multiplied by 1 - lr * weight_decay */
    FDNN_OC_LR_M,      /* Nadam: the rate on m (FDNN_OC_LR is the rate on g) */
    FDNN_OC_NESTEROV,  /* SGD: nonzero for Nesterov momentum */
    FDNN_OC_GSCALE,    /* the gradient is GSCALE * g + DECAY * p (a norm clip's scale) */
    FDNN_OC_CLIP,      /* > 0: the gradient is clipped to [-CLIP, CLIP] */
    FDNN_N_OC
};
typedef void (*fdnn_optim_f32_t)(int op, float *p, const float *g, float *s1, float *s2,
                                 ptrdiff_t n, const float *c);
typedef void (*fdnn_optim_f64_t)(int op, double *p, const double *g, double *s1, double *s2,
                                 ptrdiff_t n, const double *c);

/* The sum of x[i]^2 over n contiguous values, in double (fdnn_sq_sum_*). */
typedef double (*fdnn_sq_sum_f32_t)(const float *x, ptrdiff_t n);
typedef double (*fdnn_sq_sum_f64_t)(const double *x, ptrdiff_t n);

/* Rows of a CSR matrix (indices int32, or int64 with idx64) by a dense matrix of one
   row per feature, and the transposed product (fdnn_sparse_type.h). */
#define FDNN_DEF_CSR_TYPES(TS, T)                                                       \
    typedef void (*fdnn_csr_mm_##TS##_t)(int idx64, const void *indptr, const void *indices, \
                                         const T *data, const int64_t *rows, ptrdiff_t m, \
                                         const T *W, ptrdiff_t units, T *Z);            \
    typedef void (*fdnn_csr_mtm_##TS##_t)(int idx64, const void *indptr,                \
                                          const void *indices, const T *data,           \
                                          const int64_t *rows, ptrdiff_t m, const T *dZ, \
                                          ptrdiff_t units, T scale, T *gW, ptrdiff_t j0, \
                                          ptrdiff_t j1);                                \
    typedef void (*fdnn_csr_grouped_##TS##_t)(const ptrdiff_t *first, const ptrdiff_t *row, \
                                              const T *value, const T *dZ, ptrdiff_t units, \
                                              T scale, ptrdiff_t j0, ptrdiff_t j1,       \
                                              ptrdiff_t u0, ptrdiff_t w, T *g);
FDNN_DEF_CSR_TYPES(f32, float)
FDNN_DEF_CSR_TYPES(f64, double)
#undef FDNN_DEF_CSR_TYPES

typedef struct {
    const char *name;
    fdnn_unary_f32_t unary_f32[FDNN_N_UNARY];
    fdnn_unary_f64_t unary_f64[FDNN_N_UNARY];
    fdnn_binary_f32_t binary_f32[FDNN_N_BINARY];
    fdnn_binary_f64_t binary_f64[FDNN_N_BINARY];
    fdnn_softmax_f32_t softmax_f32;
    fdnn_softmax_f64_t softmax_f64;
    fdnn_softmax_bw_f32_t softmax_bw_f32;
    fdnn_softmax_bw_f64_t softmax_bw_f64;
    fdnn_softmax_period_f32_t softmax_period_f32;
    fdnn_softmax_period_f64_t softmax_period_f64;
    fdnn_bias_act_f32_t bias_act_f32;
    fdnn_bias_act_f64_t bias_act_f64;
    fdnn_act_backward_f32_t act_backward_f32;
    fdnn_act_backward_f64_t act_backward_f64;
    fdnn_bn_stats_f32_t bn_stats_f32;
    fdnn_bn_stats_f64_t bn_stats_f64;
    fdnn_bn_apply_f32_t bn_apply_f32;
    fdnn_bn_apply_f64_t bn_apply_f64;
    fdnn_bn_backward_f32_t bn_backward_f32;
    fdnn_bn_backward_f64_t bn_backward_f64;
    fdnn_gemm_nn_f32_t gemm_nn_f32;
    fdnn_gemm_nn_f64_t gemm_nn_f64;
    fdnn_gemm_nt_f32_t gemm_nt_f32;
    fdnn_gemm_nt_f64_t gemm_nt_f64;
    /* the packed product on each register tile (fdnn_gemm_pick), and the tiles' rows and
       columns */
    fdnn_gemm_f32_t gemm_f32[FDNN_GEMM_TILES];
    fdnn_gemm_f64_t gemm_f64[FDNN_GEMM_TILES];
    /* the product as dot products along K (fdnn_gemm_dots) */
    fdnn_gemm_f32_t gemm_dots_f32;
    fdnn_gemm_f64_t gemm_dots_f64;
    /* the product over K = 1, an outer product (fdnn_gemm_outer) */
    fdnn_gemm_f32_t gemm_outer_f32;
    fdnn_gemm_f64_t gemm_outer_f64;
    /* C's columns below which many rows run on gemm_dots_* too (fdnn_gemm_narrow) */
    int gemm_narrow_f32;
    int gemm_narrow_f64;
    int gemm_tile_f32[FDNN_GEMM_TILES][2];
    int gemm_tile_f64[FDNN_GEMM_TILES][2];
    fdnn_optim_f32_t optim_f32;
    fdnn_optim_f64_t optim_f64;
    fdnn_sq_sum_f32_t sq_sum_f32;
    fdnn_sq_sum_f64_t sq_sum_f64;
    fdnn_csr_mm_f32_t csr_mm_f32;
    fdnn_csr_mm_f64_t csr_mm_f64;
    fdnn_csr_mtm_f32_t csr_mtm_f32;
    fdnn_csr_mtm_f64_t csr_mtm_f64;
    fdnn_csr_grouped_f32_t csr_grouped_f32;
    fdnn_csr_grouped_f64_t csr_grouped_f64;
} fdnn_kernel_table;

/* One per instruction set; return 0 when that variant was not compiled. */
int fdnn_fill_table_portable(fdnn_kernel_table *t);
int fdnn_fill_table_avx2(fdnn_kernel_table *t);
int fdnn_fill_table_avx512(fdnn_kernel_table *t);

/* ---- dispatch (fdnn_dispatch.c) ---- */
void fdnn_init(void);
const char *fdnn_simd_name(void);
/* Select "portable", "avx2", "avx512" or "auto"; returns 0 on success, -1 if the
   name is unknown, -2 if this CPU or build cannot run it. */
int fdnn_set_simd(const char *name);
int fdnn_simd_available(const char *name);
int fdnn_openmp_enabled(void);
/* What the unary or binary pass `op` learned about its stores in float64 (f64) or float32:
   0 ordinary, 1 streamed, -1 still trying (fdnn_stream.h) */
int fdnn_store_learned(int binary, int op, int f64);
int fdnn_get_num_threads(void);
void fdnn_set_num_threads(int n); /* n <= 0: follow OMP_NUM_THREADS / threadpoolctl */
int fdnn_get_user_threads(void);  /* the count set, 0 when following the defaults */
/* Interrupts, per calling thread: fn(ctx) (nonzero: stop) is called on the calling thread
   at most every `interval` seconds by fdnn_interrupt_poll(), and, while armed, between
   the pieces (about FDNN_POLL_GEMM multiply-adds each) that long products are then cut
   into. Once it returned nonzero, fdnn_interrupted() is 1 and every product on this
   thread returns at once, its result undefined, until fdnn_interrupt_set is called
   again. Products that apply an optimizer's step are never cut. fn NULL: no polling. */
void fdnn_interrupt_set(int (*fn)(void *), void *ctx, double interval);
void fdnn_interrupt_arm(int armed);
int fdnn_interrupt_poll(void);
int fdnn_interrupted(void);
/* Threads a short parallel region may use now: 1 while the team is backing off (its
   threads started late in two regions in a row, e.g. held off by another library's
   spinning workers; fdnn_dispatch.c says how late), else fdnn_get_num_threads(). A region
   reports its threads' start times (fdnn_team_clock(); -1 for a thread it did not get)
   with fdnn_team_note. */
int fdnn_team_threads(void);
void fdnn_team_note(const double *start, int nt);
double fdnn_team_clock(void);
/* Every thread of the enclosing parallel region waits here for the others (an OpenMP
   barrier; nothing outside a region or without OpenMP). Called by all of the region's
   threads, outside any worksharing loop. fdnn_region_threads: the threads the enclosing
   region got (1 outside one), which may be fewer than it asked for. */
void fdnn_team_barrier(void);
int fdnn_region_threads(void);
/* how many times the team has backed off since the library was loaded */
long fdnn_team_backoffs(void);

void fdnn_unary_f32(int op, const float *x, float *y, ptrdiff_t n, float alpha);
void fdnn_unary_f64(int op, const double *x, double *y, ptrdiff_t n, double alpha);
void fdnn_binary_f32(int op, const float *dA, const float *a, float *y, ptrdiff_t n, float alpha);
void fdnn_binary_f64(int op, const double *dA, const double *a, double *y, ptrdiff_t n, double alpha);
/* Return -1 if the workspace could not be allocated, else 0. */
int fdnn_softmax_f32(const float *x, float *y, ptrdiff_t outer, ptrdiff_t n, ptrdiff_t inner);
int fdnn_softmax_f64(const double *x, double *y, ptrdiff_t outer, ptrdiff_t n, ptrdiff_t inner);
int fdnn_softmax_bw_f32(const float *dA, const float *a, float *y, ptrdiff_t outer, ptrdiff_t n,
                        ptrdiff_t inner);
int fdnn_softmax_bw_f64(const double *dA, const double *a, double *y, ptrdiff_t outer, ptrdiff_t n,
                        ptrdiff_t inner);

/* Z = g(Z + b) in place (act: FDNN_SIGMOID..FDNN_LINEAR; b NULL: Z = g(Z)). */
void fdnn_bias_act_f32(int act, float *Z, ptrdiff_t lines, ptrdiff_t len, const float *b,
                       int bias_per_line, float alpha);
void fdnn_bias_act_f64(int act, double *Z, ptrdiff_t lines, ptrdiff_t len, const double *b,
                       int bias_per_line, double alpha);
/* dZ = dA * g'(a) (op: FDNN_BW_*), db = scale * sum over examples if db != NULL. */
void fdnn_act_backward_f32(int op, const float *dA, const float *a, float *dZ, ptrdiff_t lines,
                           ptrdiff_t len, float *db, int db_per_line, float scale, float alpha);
void fdnn_act_backward_f64(int op, const double *dA, const double *a, double *dZ,
                           ptrdiff_t lines, ptrdiff_t len, double *db, int db_per_line,
                           double scale, double alpha);

/* Batch normalization of n features over m examples, F-ordered (feature i of example j at
   [i + j n]), over the thread team (each thread takes whole features: nothing to combine).
   Forward: with stats, mean, var (biased) and inv_std = 1/sqrt(var + eps) of each feature
   are computed from Z (else mean and inv_std are given, var unused); N = gamma (Z - mean)
   inv_std + beta; then, when act >= 0 (FDNN_SIGMOID..FDNN_LINEAR), A = g(N). N == Z and
   A == N are allowed.
   Backward: dN = G * g'(a) when op >= 0 (FDNN_BW_*; written to dX, which must be given),
   else dN = G (op >= 0 without dX: nothing is done); dgamma = scale sum(dN xh) and dbeta = scale sum(dN) over the examples, xh
   the normalized Z; when dX is given, dX = d(loss)/dZ (dX == G allowed) and, when db is,
   db = scale sum(dX) (the bias before the normalization). work: 2 n doubles. */
void fdnn_bn_forward_f32(const float *Z, ptrdiff_t n, ptrdiff_t m, int stats, double eps,
                         double *mean, double *var, double *inv_std, const float *gamma,
                         const float *beta, float *N, int act, float *A, float alpha);
void fdnn_bn_forward_f64(const double *Z, ptrdiff_t n, ptrdiff_t m, int stats, double eps,
                         double *mean, double *var, double *inv_std, const double *gamma,
                         const double *beta, double *N, int act, double *A, double alpha);
void fdnn_bn_backward_f32(int op, const float *G, const float *a, float alpha, const float *Z,
                          ptrdiff_t n, ptrdiff_t m, const double *mean, const double *inv_std,
                          const float *gamma, float *dX, float *dgamma, float *dbeta,
                          float *db, double scale, double *work);
void fdnn_bn_backward_f64(int op, const double *G, const double *a, double alpha,
                          const double *Z, ptrdiff_t n, ptrdiff_t m, const double *mean,
                          const double *inv_std, const double *gamma, double *dX,
                          double *dgamma, double *dbeta, double *db, double scale,
                          double *work);

/* Small row-major products (beta = 0), for sizes where a BLAS call is mostly overhead. */
void fdnn_gemm_nn_f32(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, float alpha, const float *a,
                      ptrdiff_t rs_a, ptrdiff_t cs_a, const float *b, ptrdiff_t ldb, float *c,
                      ptrdiff_t ldc);
void fdnn_gemm_nn_f64(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, double alpha, const double *a,
                      ptrdiff_t rs_a, ptrdiff_t cs_a, const double *b, ptrdiff_t ldb, double *c,
                      ptrdiff_t ldc);
void fdnn_gemm_nt_f32(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, float alpha, const float *a,
                      ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc);
void fdnn_gemm_nt_f64(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, double alpha, const double *a,
                      ptrdiff_t lda, const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc);

/* The packed product over the thread team. */
void fdnn_gemm_f32(const fdnn_gemm_args_f32 *g);
void fdnn_gemm_f64(const fdnn_gemm_args_f64 *g);
/* share id of nt of the product on the calling thread (no db): nt callers, one share each,
   make the whole product, bit for bit as fdnn_gemm_* does */
void fdnn_gemm_share_f32(const fdnn_gemm_args_f32 *g, int id, int nt);
void fdnn_gemm_share_f64(const fdnn_gemm_args_f64 *g, int id, int nt);
/* threads across C's rows of the grid a team of nt would cut g's product into (tests) */
int fdnn_gemm_grid_rows_f32(const fdnn_gemm_args_f32 *g, int nt);
int fdnn_gemm_grid_rows_f64(const fdnn_gemm_args_f64 *g, int nt);
/* rows and columns of register tile `which` (fdnn_gemm_pick) on the current path */
void fdnn_gemm_tile(int f64, int which, int *rows, int *cols);
/* the tile a product of these shapes runs on (fdnn_gemm_pick, or the forced one) */
int fdnn_gemm_tile_for(int f64, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, ptrdiff_t rs_b);
/* run every product on tile `which`, or on fdnn_gemm_pick's (-1); for tests */
void fdnn_gemm_force_tile(int which);

/* Z (m, units) = X[rows] W and gW (n_features, units) = scale X[rows]^T dZ for the CSR
   arrays of X (nnz: the rows' entries, for the thread count); every row of gW written. */
void fdnn_csr_mm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                     const int64_t *rows, ptrdiff_t m, ptrdiff_t nnz, const float *W,
                     ptrdiff_t units, float *Z);
void fdnn_csr_mm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                     const int64_t *rows, ptrdiff_t m, ptrdiff_t nnz, const double *W,
                     ptrdiff_t units, double *Z);
void fdnn_csr_mtm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                      const int64_t *rows, ptrdiff_t m, ptrdiff_t nnz, const float *dZ,
                      ptrdiff_t units, float scale, float *gW, ptrdiff_t n_features);
void fdnn_csr_mtm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                      const int64_t *rows, ptrdiff_t m, ptrdiff_t nnz, const double *dZ,
                      ptrdiff_t units, double scale, double *gW, ptrdiff_t n_features);
/* The optimizer step op (coefficients c) on p (n_features, units) and its state from the
   gradient scale X[rows]^T dZ, never formed whole: a block of rows at a time in the
   thread's cache, from the batch's entries grouped by feature (a counting sort into
   `first`, n_features + 1 + nnz values, and `value`, nnz); each row's sum as csr_mtm makes
   it, then the update as fdnn_optim_* makes it (s1, s2 NULL when the optimizer keeps
   fewer state arrays). Split over the team by blocks of rows. */
void fdnn_csr_optim_f32(int op, const float *c, float *p, float *s1, float *s2, int idx64,
                        const void *indptr, const void *indices, const float *data,
                        const int64_t *rows, ptrdiff_t m, const float *dZ,
                        ptrdiff_t units, float scale, ptrdiff_t n_features, ptrdiff_t *first,
                        float *value);
void fdnn_csr_optim_f64(int op, const double *c, double *p, double *s1, double *s2, int idx64,
                        const void *indptr, const void *indices, const double *data,
                        const int64_t *rows, ptrdiff_t m, const double *dZ,
                        ptrdiff_t units, double scale, ptrdiff_t n_features, ptrdiff_t *first,
                        double *value);
/* One optimizer step in place over n contiguous parameters, split over the team when
   long (from a thread of a parallel region: on that thread). */
void fdnn_optim_f32(int op, float *p, const float *g, float *s1, float *s2, ptrdiff_t n,
                    const float *c);
void fdnn_optim_f64(int op, double *p, const double *g, double *s1, double *s2, ptrdiff_t n,
                    const double *c);
/* The sum of x[i]^2 over n contiguous values, in double: blocks of FDNN_SQ_BLOCK values
   summed apart (split over the team when long) and their sums added in order, so the
   result does not depend on the thread count. NaN and infinities propagate. */
double fdnn_sq_sum_f32(const float *x, ptrdiff_t n);
double fdnn_sq_sum_f64(const double *x, ptrdiff_t n);

#ifdef __cplusplus
}
#endif
#endif
