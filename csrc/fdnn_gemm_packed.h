/* The packed matrix product for one floating type: C = alpha op(A) op(B) + beta C,
 * then an optional epilogue g(C + bias) on each tile while it is in L1.
 * Included by fdnn_ew_type.h (T, TS, KFN, OP defined) once per type; the including
 * translation unit sets FDNN_VBYTES, the vector width of its instruction set.
 *
 * C is row-major (row stride ldc); A and B have any strides, so every transpose
 * case is a packing order, never a copy of the operand. Loops, outermost first
 * (GotoBLAS/BLIS order, with C's rows as the broadcast side):
 *   rows of C in blocks of MB  -> A's block (MB x KC) packed, streamed from L3
 *   K in blocks of KC           -> the partial products accumulate in C
 *   columns in blocks of NB     -> B's block (KC x NB) packed, kept in L2
 *   MR rows                     -> A's micro-panel (MR x KC) kept in L1
 *   NR columns                  -> the micro-kernel: an MR x NR tile in registers
 * Each element of C is one chain of multiply-adds over k in the same order whatever
 * the tile, block or thread that computes it, so results do not depend on the
 * thread count or on where the block boundaries fall (bit for bit). */

/* the loops over a tile's rows and vectors unrolled before the compiler decides where its
   accumulators live: unrolled later (GCC's complete unrolling stops at 16 iterations),
   the 24 of a 6 x 4 tile were kept in an array on the stack, stored and reloaded around
   every tile */
#if defined(__GNUC__) || defined(__clang__)
#define PK_PREFETCH_B(p)                                                                \
    {                                                                                   \
        __builtin_prefetch((p), 0, 3);                                                  \
        __builtin_prefetch((const char *)(p) + 64, 0, 3);                               \
    }
#else
#define PK_PREFETCH_B(p) {}
#endif
#if defined(__clang__)
#define PK_UNROLL _Pragma("clang loop unroll(full)")
#define PK_UNROLL_K _Pragma("clang loop unroll_count(4)")
#elif defined(__GNUC__)
#define PK_UNROLL _Pragma("GCC unroll 32")
#define PK_UNROLL_K _Pragma("GCC unroll 4")
#else
#define PK_UNROLL
#define PK_UNROLL_K
#endif
#if defined(__GNUC__) || defined(__clang__)
#define PK_VECTOR 1
#define PK_VL (FDNN_VBYTES / FDNN_TBYTES)
#define PK_V FDNN_CAT(fdnn_pvec_, TS)
typedef T PK_V __attribute__((vector_size(FDNN_VBYTES)));
typedef T FDNN_CAT(fdnn_puvec_, TS) __attribute__((vector_size(FDNN_VBYTES), aligned(sizeof(T)), may_alias));
#define PK_LOAD(p) (*(const FDNN_CAT(fdnn_puvec_, TS) *)(p))
#define PK_STORE(p, v) (*(FDNN_CAT(fdnn_puvec_, TS) *)(p) = (v))
#else
#define PK_VL 1
#endif

/* Cache blocks (elements): A's micro-panel MR x KC in L1 (6 x 384 floats = 9 KiB),
   B's block KC x NB in L2 (384 x 384 floats = 576 KiB; NB a multiple of every tile's
   NR), A's block MB x KC in L3. */
#ifndef PK_KC
#define PK_KC (FDNN_TBYTES == 4 ? 384 : 256)
#endif
#ifndef PK_NB
#define PK_NB (FDNN_TBYTES == 4 ? 384 : 256)
#endif
/* K blocks of up to PK_KC_LONG from PK_LONG_M rows of C (the whole product's, so that the
   blocks, and the results, do not depend on the thread count): C read and written fewer
   times, B's block up to 768 KiB (float32) or 1 MiB, A's micro-panel 12 or 24 KiB.
   Sapphire Rapids-class Xeon (2 MiB of L2), two threads, PK_KC -> PK_KC_LONG: float32
   2048x512 by 512x2048 NT +5.1 %, 1024x512 by 512x2048 NT +4.8 %, 2048x2048 by 2048x512
   NN +2.3 %; float64 the same +4.1, +4.0, +4.2 %, 1024^3 +2.4 %. With fewer rows it lost
   (one thread, float32, 512 x 1024 B: 64 rows -10 %, 128 rows -4 %, 256 rows -1 %; 512
   rows +1.7 % but two threads within 2 %). */
/* K = 784 in two blocks of 392 instead of three of 264 (float32; float64 three of 264
   instead of four of 200): AMD Zen 2, two threads, 256x784 by 784x1024 NN float32 +9 %,
   float64 +2 %; the products of other depths unchanged */
#ifndef PK_KC_SLACK
#define PK_KC_SLACK 32
#endif
#ifndef PK_KC_LONG
#define PK_KC_LONG 512
#endif
#ifndef PK_LONG_M
#define PK_LONG_M 1024
#endif
#define PK_MB 1536
/* k steps per strip when A's transposed view is packed */
#ifndef PK_KSTRIP
#define PK_KSTRIP 8
#endif
/* k steps ahead of the micro-kernel that B's panel is prefetched */
#define PK_PREFETCH 8

/* Each thread keeps its packing buffers between calls (a training loop allocates
   nothing per step); they are 64-byte aligned and are not freed when the thread ends. */
static T *FDNN_CAT(pk_space_, TS)(int which, size_t n)
{
    static __thread T *kept[2] = {NULL, NULL};
    static __thread size_t capacity[2] = {0, 0};
    if (n > capacity[which]) {
        void *p = NULL;
#if defined(_MSC_VER) && !defined(__clang__)
        p = _aligned_malloc(n * sizeof(T), 64);
        if (p == NULL)
            return NULL;
        _aligned_free(kept[which]);
#else
        if (posix_memalign(&p, 64, n * sizeof(T)) != 0)
            return NULL;
        free(kept[which]);
#endif
        kept[which] = (T *)p;
        capacity[which] = n;
    }
    return kept[which];
}

static void KFN(optim)(int op, T *p, const T *g, T *s1, T *s2, ptrdiff_t n, const T *c);

/* the optimizer step of the parameters under rows x cols of C (the gradient) */
static void FDNN_CAT(pk_optim_, TS)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, const T *c,
                                    ptrdiff_t i, ptrdiff_t j, ptrdiff_t rows, ptrdiff_t cols)
{
    for (ptrdiff_t r = 0; r < rows; r++) {
        const ptrdiff_t at = (i + r) * g->ldc + j;
        T *s1 = g->opt_s1 == NULL ? NULL : g->opt_s1 + at;
        T *s2 = g->opt_s2 == NULL ? NULL : g->opt_s2 + at;
        KFN(optim)(g->opt, g->opt_p + at, c + r * g->ldc, s1, s2, cols, g->opt_c);
    }
}

/* the epilogue g(c + bias) over rows x cols of C; bias per row (bias[r]) or per column */
#define PK_EPI_CASE(CODE, name, deriv, on)                                          \
    case FDNN_##CODE:                                                           \
        for (ptrdiff_t r = 0; r < rows; r++) {                                  \
            T *cr = c + r * ldc;                                                \
            if (bias == NULL) {                                                 \
                for (ptrdiff_t s = 0; s < cols; s++)                            \
                    cr[s] = OP(name)(cr[s], act_alpha);                         \
            } else if (bias_per_row) {                                          \
                const T br = bias[r];                                           \
                for (ptrdiff_t s = 0; s < cols; s++)                            \
                    cr[s] = OP(name)(cr[s] + br, act_alpha);                    \
            } else {                                                            \
                for (ptrdiff_t s = 0; s < cols; s++)                            \
                    cr[s] = OP(name)(cr[s] + bias[s], act_alpha);               \
            }                                                                   \
        }                                                                       \
        break;
#ifdef PK_VECTOR
/* ReLU or linear after a bias, whole vectors, without the per-element loops' setup per
   row (their alias checks, their remainder) on a tile's few vectors (AMD Zen 2, predict of
   784-256-128-10 at m = 1024, two threads: the epilogue's profile 128 -> 85 us of CPU per
   call; what remains waits on the tile's stores). ReLU as z <= 0 ? 0 : z, NaN kept (its
   lanes compare false). */
#if FDNN_TBYTES == 4
typedef int FDNN_CAT(fdnn_pmask_, TS) __attribute__((vector_size(FDNN_VBYTES)));
#else
typedef long long FDNN_CAT(fdnn_pmask_, TS) __attribute__((vector_size(FDNN_VBYTES)));
#endif
#define PK_RELU(z) \
    ((PK_V)((FDNN_CAT(fdnn_pmask_, TS))(z) & ~(FDNN_CAT(fdnn_pmask_, TS))((z) <= (PK_V){0})))
static void FDNN_CAT(pk_epilogue_relu_, TS)(int relu, T *c, ptrdiff_t ldc, ptrdiff_t rows,
                                            ptrdiff_t cols, const T *bias, int bias_per_row)
{
    for (ptrdiff_t r = 0; r < rows; r++) {
        T *cr = c + r * ldc;
        const PK_V br = (bias != NULL && bias_per_row ? bias[r] : (T)0) - (PK_V){0};
        for (ptrdiff_t s = 0; s < cols; s += PK_VL) {
            PK_V z = PK_LOAD(cr + s) + br;
            if (bias != NULL && !bias_per_row)
                z += PK_LOAD(bias + s);
            if (relu)
                z = PK_RELU(z);
            PK_STORE(cr + s, z);
        }
    }
}
#endif

static void FDNN_CAT(pk_epilogue_, TS)(int act, T *c, ptrdiff_t ldc, ptrdiff_t rows,
                                       ptrdiff_t cols, const T *bias, int bias_per_row,
                                       T act_alpha)
{
#ifdef PK_VECTOR
    if ((act == FDNN_RELU || act == FDNN_LINEAR) && cols % PK_VL == 0) {
        FDNN_CAT(pk_epilogue_relu_, TS)(act == FDNN_RELU, c, ldc, rows, cols, bias,
                                        bias_per_row);
        return;
    }
#endif
    switch (act) {
        FDNN_ACTIVATIONS(PK_EPI_CASE)
    default:
        break;
    }
}
#undef PK_EPI_CASE

/* the backward epilogue over rows x cols of C: c = c * g'(a), db += c down each column
   (rows in order, so the sums do not depend on the tiling) */
#define PK_BWD_CASE(CODE, name, deriv, on)                                          \
    case FDNN_BW_##CODE:                                                        \
        for (ptrdiff_t r = 0; r < rows; r++) {                                  \
            T *cr = c + r * ldc;                                                \
            const T *ar = a + r * lda;                                          \
            for (ptrdiff_t s = 0; s < cols; s++)                                \
                cr[s] = cr[s] * OP(deriv)(ar[s], act_alpha);                    \
            if (db != NULL)                                                     \
                for (ptrdiff_t s = 0; s < cols; s++)                            \
                    db[s] += cr[s];                                             \
        }                                                                       \
        break;
static void FDNN_CAT(pk_backward_, TS)(int op, T *c, ptrdiff_t ldc, ptrdiff_t rows,
                                       ptrdiff_t cols, const T *a, ptrdiff_t lda, T *db,
                                       T act_alpha)
{
    switch (op) {
        FDNN_ACTIVATIONS(PK_BWD_CASE)
    default:
        break;
    }
}
#undef PK_BWD_CASE

/* The forward epilogues a whole tile applies on its way from the tile buffer to C
   (pk_kernel), instead of pk_finish reading the stored tile back: ReLU or linear after a
   bias (none, per row or per column). The tile's stores go to lines not yet in the cache;
   read back at once, each waited for them (AMD Zen 2, float32 1024 x 784 by 784 x 256,
   C column-major (a layer's forward), us over the bare product, one thread: linear without
   a bias +203 -> +0-10, ReLU and bias +203 -> +46-73; two threads +35 -> +20-30). */
#define PK_EPI_RELU 2
#define PK_EPI_BIAS_ROW 4
#define PK_EPI_BIAS_COL 8
#define PK_EPI_NONE 16 /* linear without a bias: the store is all of it */
static inline int FDNN_CAT(pk_epi_, TS)(const FDNN_CAT(fdnn_gemm_args_, TS) *g)
{
    if (g->opt > FDNN_OPT_GD || g->bwd >= 0 || (g->act != FDNN_RELU && g->act != FDNN_LINEAR))
        return 0;
    if (g->act == FDNN_LINEAR && g->bias == NULL)
        return 1 | PK_EPI_NONE;
    return 1 | (g->act == FDNN_RELU ? PK_EPI_RELU : 0)
           | (g->bias == NULL ? 0 : g->bias_per_row ? PK_EPI_BIAS_ROW : PK_EPI_BIAS_COL);
}

/* what follows the last K block of C[i:i+rows, j:j+cols]: the optimizer step, the
   backward epilogue or the forward one */
static void FDNN_CAT(pk_finish_, TS)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i,
                                     ptrdiff_t j, ptrdiff_t rows, ptrdiff_t cols)
{
    T *c = g->c + i * g->ldc + j;
    if (g->opt > FDNN_OPT_GD)
        FDNN_CAT(pk_optim_, TS)(g, c, i, j, rows, cols);
    else if (g->bwd >= 0)
        FDNN_CAT(pk_backward_, TS)(g->bwd, c, g->ldc, rows, cols, g->act_a + i * g->ld_act + j,
                                   g->ld_act, g->db == NULL ? NULL : g->db + j, g->act_alpha);
    else if (g->act >= 0)
        FDNN_CAT(pk_epilogue_, TS)(g->act, c, g->ldc, rows, cols,
                                   g->bias == NULL ? NULL
                                   : g->bias_per_row ? g->bias + i : g->bias + j,
                                   g->bias_per_row, g->act_alpha);
}

/* C[i0:i1, j0:j1] one element at a time: only when the packing buffers cannot be had */
static void FDNN_CAT(pk_unpacked_, TS)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i0,
                                       ptrdiff_t i1, ptrdiff_t j0, ptrdiff_t j1)
{
    for (ptrdiff_t i = i0; i < i1; i++) {
        T *c = g->c + i * g->ldc;
        for (ptrdiff_t j = j0; j < j1; j++) {
            T s = 0;
            for (ptrdiff_t k = 0; k < g->K; k++)
                s += g->a[i * g->rs_a + k * g->cs_a] * g->b[k * g->rs_b + j * g->cs_b];
            c[j] = g->beta == 0 ? g->alpha * s : g->alpha * s + g->beta * c[j];
        }
        FDNN_CAT(pk_finish_, TS)(g, i, j0, 1, j1 - j0);
    }
}


/* Register tiles, PK_MR rows x PK_NV vectors of accumulators, as many as the instruction
   set has registers for besides the operands (32 with AVX-512, 16 with AVX2 and SSE2).
   Tile 0 is the path's fastest per multiply-add; tile 1, when the path has a second, is
   taken for the shapes it pads less (fdnn_gemm_pick). With AVX-512 (Ice Lake-SP, one
   thread, float32 GFLOP/s, NN / TN / NT): 6 x 64 reads 10 operands per 24 FMAs where
   12 x 32 reads 14, and ran 7-19 % faster wherever neither pads more (128-256-784 at
   144 against 130, 256^3 at 160 against 139, 10-128-128 at 73 against 38); 12 x 32 stays
   for narrow C (N = 32: 127 against 75). float64: 6 x 32 ran 10-40 % faster than
   12 x 16 on every shape measured, N = 32 included, and is its only tile. */
#if FDNN_VBYTES >= 64
#define PK_T 0
#define PK_MR 6
#define PK_NV 4
#include "fdnn_gemm_tile.h"
#if FDNN_TBYTES == 4
#define PK_T 1
#define PK_MR 12
#define PK_NV 2
#include "fdnn_gemm_tile.h"
#define PK_TILES 2
#endif
#else
#define PK_T 0
#define PK_MR 6
#define PK_NV 2
#include "fdnn_gemm_tile.h"
#endif
#ifndef PK_TILES
#define PK_TILES 1
#endif

/* C[i0:i1, j0:j1] as dot products along K (fdnn_gemm_dots), PK_DOT_COLS columns at a time,
   each strip finished while it is in L1 */
#define PK_DOT_COLS 64
static void FDNN_CAT(pk_dots_, TS)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i0,
                                   ptrdiff_t i1, ptrdiff_t j0, ptrdiff_t j1)
{
    T strip[FDNN_DOT_ROWS * PK_DOT_COLS];
    /* chosen for the whole product, so that each element of C is the same on any share */
    const int as_nn = FDNN_CAT(nt_as_nn_, TS)(g->M, g->N, g->K);
    const ptrdiff_t head = FDNN_CAT(nt_head_, TS)(g->M, g->N, g->K, g->a, g->rs_a,
                                                   g->b, g->cs_b);
    /* with beta, the rows in blocks that fit the strip (a narrow C has many) */
    const ptrdiff_t block = g->beta == 0 ? i1 - i0 : FDNN_DOT_ROWS;
    for (ptrdiff_t i = i0; i < i1; i += block) {
        const ptrdiff_t rows = i1 - i < block ? i1 - i : block;
        const T *a = g->a + i * g->rs_a;
        for (ptrdiff_t j = j0; j < j1; j += PK_DOT_COLS) {
            const ptrdiff_t cols = j1 - j < PK_DOT_COLS ? j1 - j : PK_DOT_COLS;
            T *c = g->c + i * g->ldc + j;
            if (g->beta == 0) {
                FDNN_CAT(gemm_nt_as_, TS)(as_nn, head, rows, cols, g->K, g->alpha, a, g->rs_a,
                                          g->b + j * g->cs_b, g->cs_b, c, g->ldc);
            } else {
                FDNN_CAT(gemm_nt_as_, TS)(as_nn, head, rows, cols, g->K, g->alpha, a, g->rs_a,
                                          g->b + j * g->cs_b, g->cs_b, strip, PK_DOT_COLS);
                for (ptrdiff_t r = 0; r < rows; r++)
                    for (ptrdiff_t s = 0; s < cols; s++)
                        c[r * g->ldc + s] = strip[r * PK_DOT_COLS + s]
                                            + g->beta * c[r * g->ldc + s];
            }
            FDNN_CAT(pk_finish_, TS)(g, i, j, rows, cols);
        }
    }
}
#undef PK_DOT_COLS

/* C[i0:i1, j0:j1] of a product over K = 1 (fdnn_gemm_outer): each row alpha a_i b swept
   along, in blocks of FDNN_OUTER_ROWS rows by 4 KiB of columns finished while they are in
   L1. The packed tiles wrote 6 or 12 rows 256 bytes at a time: float32 256x1 by 1x784 NT,
   C on a line, us, one / two threads: 16.4-16.8 / 9.9-10.1 -> 15.9-16.5 / 9.3-9.6
   (PyTorch 14.4-15.4 / 8.9-9.6; a store-bound pass, NumPy's fill of the same C 19 us on
   one thread). Without an epilogue or optimizer step to run on the blocks, rows are swept
   whole (float64, C on a line, two threads 16.7-17.1 -> 16.2-16.5 us), and each row is
   stored from its first vector boundary on, as a store across two lines costs two: C 16
   bytes past a line, float64 two threads 21.6-22.3 -> 16.6-17.0 us (PyTorch 19.3-20.6),
   one thread 44-45 -> 33-34 (PyTorch 38); float32 two threads 12.3 -> 9.0-9.5 (PyTorch
   10.9). Each element is alpha (a_i b_j), as the tiles round it. */
#define PK_OUTER_COLS (4096 / (ptrdiff_t)sizeof(T))
static void FDNN_CAT(pk_outer_, TS)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i0,
                                    ptrdiff_t i1, ptrdiff_t j0, ptrdiff_t j1)
{
    const T alpha = g->alpha, beta = g->beta;
    const ptrdiff_t cs = g->cs_b;
    const int finish = g->opt > FDNN_OPT_GD || g->bwd >= 0 || g->act >= 0;
    const ptrdiff_t width = finish ? PK_OUTER_COLS : j1 - j0;
    for (ptrdiff_t i = i0; i < i1; i += FDNN_OUTER_ROWS) {
        const ptrdiff_t rows = i1 - i < FDNN_OUTER_ROWS ? i1 - i : FDNN_OUTER_ROWS;
        for (ptrdiff_t jb = j0; jb < j1; jb += width) {
            const ptrdiff_t n = j1 - jb < width ? j1 - jb : width;
            const T *b = g->b + jb * cs;
            for (ptrdiff_t r = i; r < i + rows; r++) {
                const T a = g->a[r * g->rs_a];
                T *c = g->c + r * g->ldc + jb;
                if (beta == 0 && cs == 1) {
                    /* up to the first vector boundary of C's row: stores across two
                       cache lines cost two */
                    ptrdiff_t h = fdnn_to_boundary(c, sizeof(T), FDNN_VBYTES);
                    h = h < n ? h : n;
                    for (ptrdiff_t j = 0; j < h; j++)
                        c[j] = alpha * (a * b[j]);
                    FDNN_IVDEP
                    for (ptrdiff_t j = h; j < n; j++)
                        c[j] = alpha * (a * b[j]);
                } else if (beta == 0) {
                    for (ptrdiff_t j = 0; j < n; j++)
                        c[j] = alpha * (a * b[j * cs]);
                } else {
                    for (ptrdiff_t j = 0; j < n; j++)
                        c[j] = alpha * (a * b[j * cs]) + beta * c[j];
                }
            }
            FDNN_CAT(pk_finish_, TS)(g, i, jb, rows, n);
        }
    }
}
#undef PK_OUTER_COLS

/* C narrower than this many columns (fdnn_gemm_narrow) runs on pk_dots_, its rows split
   over the team: the packed tiles pad C's rows to NR columns, where the direct loops take
   dot products along K (N < VL) or pack B^T to exactly N columns with a half-vector tile.
   One core, Zen 4, 1024 rows, K = 64, 128 and 784, packed / direct time: AVX-512 float32
   N = 2-8 3.0-7.9, 10-16 1.8-2.7, 24 1.26-1.35, 32 1.03-1.04; float64 N = 2-8 3.4-6.8,
   10-16 2.1-2.4, 24 1.30-1.38, 32 1.01-1.03. AVX2 float32 N = 2-8 1.35-5.3 but 10-12
   0.72-0.79; float64 N = 2 1.9-2.6, 4 1.45-1.63 but 6 0.54-0.60: there only below a
   vector. */
#if FDNN_VBYTES >= 64
#define PK_NARROW 32
#else
#define PK_NARROW PK_VL
#endif

static void FDNN_CAT(pk_fill_, TS)(fdnn_kernel_table *t)
{
    t->FDNN_CAT(gemm_dots_, TS) = FDNN_CAT(pk_dots_, TS);
    t->FDNN_CAT(gemm_outer_, TS) = FDNN_CAT(pk_outer_, TS);
    t->FDNN_CAT(gemm_narrow_, TS) = PK_NARROW;
    FDNN_CAT(FDNN_CAT(pk_fill_, TS), _0)(t);
#if PK_TILES == 1
    t->FDNN_CAT(gemm_, TS)[1] = t->FDNN_CAT(gemm_, TS)[0];
    t->FDNN_CAT(gemm_tile_, TS)[1][0] = t->FDNN_CAT(gemm_tile_, TS)[0][0];
    t->FDNN_CAT(gemm_tile_, TS)[1][1] = t->FDNN_CAT(gemm_tile_, TS)[0][1];
#else
    FDNN_CAT(FDNN_CAT(pk_fill_, TS), _1)(t);
#endif
}

#undef PK_NARROW
#undef PK_TILES
#undef PK_VL
#undef PK_VECTOR
#undef PK_UNROLL
#undef PK_UNROLL_K
#undef PK_PREFETCH_B
#undef PK_V
#undef PK_LOAD
#undef PK_STORE
#undef PK_RELU
#undef PK_EPI_RELU
#undef PK_EPI_BIAS_ROW
#undef PK_EPI_BIAS_COL
#undef PK_EPI_NONE
#undef PK_MB
#undef PK_PREFETCH
/* (PK_KC, PK_NB, PK_KC_LONG, PK_LONG_M and PK_KSTRIP stay: the same for both types, so
   that one set on the command line, e.g. by bench/engine_ab.py, holds for both) */
