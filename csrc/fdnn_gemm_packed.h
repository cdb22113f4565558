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

/* Register tile: PK_MR rows x PK_NV vectors of accumulators, as many as the
   instruction set has registers for besides the operands (32 with AVX-512,
   16 with AVX2 and SSE2). */
#if FDNN_VBYTES >= 64
#ifndef PK_MR
#define PK_MR 12
#define PK_NV 2
#endif
#else
#define PK_MR 6
#define PK_NV 2
#endif
#define PK_NR (PK_NV * PK_VL)
/* Cache blocks (elements): A's micro-panel MR x KC in L1 (12 x 384 floats = 18 KiB),
   B's block KC x NB in L2 (384 x 384 floats = 576 KiB), A's block MB x KC in L3. */
#ifndef PK_KC
#define PK_KC (FDNN_TBYTES == 4 ? 384 : 256)
#define PK_NB (FDNN_TBYTES == 4 ? 384 : 256)
#endif
#define PK_MB 1536
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

/* Lines [0, n) of x (line i at x + i * step, its k-th element k * kstep further) ->
   micro-panels of w lines, k-major: p[k * w + r]; lines past n are zero. A's rows make
   panels of PK_MR lines, B's columns panels of PK_NR. */
FDNN_INLINE void FDNN_CAT(pk_pack_, TS)(const int w, ptrdiff_t n, ptrdiff_t kc, const T *x,
                                        ptrdiff_t step, ptrdiff_t kstep, T *restrict p)
{
    for (ptrdiff_t i = 0; i < n; i += w) {
        const ptrdiff_t nl = n - i < w ? n - i : w;
        const T *xi = x + i * step;
#ifdef PK_VECTOR
        if (nl == w && step == 1 && w == PK_NR) {
            /* B's columns contiguous: whole vectors (GCC makes the generic copy below a
               memmove call per k) */
            for (ptrdiff_t k = 0; k < kc; k++)
                for (int v = 0; v < PK_NV; v++)
                    *(PK_V *)(p + k * PK_NR + v * PK_VL) = PK_LOAD(xi + k * kstep + v * PK_VL);
        } else
#endif
        if (nl == w && step == 1) {
            for (ptrdiff_t k = 0; k < kc; k++)
                for (int r = 0; r < w; r++)
                    p[k * w + r] = xi[k * kstep + r];
#ifdef PK_VECTOR
        } else if (nl == w && kstep == 1) {
            /* each line contiguous along k: a transpose through registers */
            FDNN_CAT(transpose_, TS)(w, kc, xi, step, p);
#endif
        } else if (nl == w) {
            for (ptrdiff_t k = 0; k < kc; k++)
                for (int r = 0; r < w; r++)
                    p[k * w + r] = xi[r * step + k * kstep];
        } else {
            for (ptrdiff_t k = 0; k < kc; k++) {
                for (ptrdiff_t r = 0; r < nl; r++)
                    p[k * w + r] = xi[r * step + k * kstep];
                for (ptrdiff_t r = nl; r < w; r++)
                    p[k * w + r] = 0;
            }
        }
        p += kc * w;
    }
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

/* The MR x NR tile alpha Ap Bp over kc, with A's panel element (r, k) at
   ap[k * aks + r * ars] (a packed panel: aks = MR, ars = 1; a matrix read in place:
   its own strides). With `store`, a full tile goes from the registers to c[0:MR, 0:NR]
   (+ beta c; beta = 0: c is not read, as in BLAS); otherwise it goes to `tile`
   (PK_MR x PK_NR) for the caller to place. */
FDNN_INLINE void FDNN_CAT(pk_tile_, TS)(ptrdiff_t kc, const T *restrict ap, ptrdiff_t aks,
                                        ptrdiff_t ars, const T *restrict bp, T *restrict c,
                                        ptrdiff_t ldc, int store, T alpha, T beta,
                                        T *restrict tile)
{
#ifdef PK_VECTOR
    PK_V acc[PK_MR][PK_NV];
    for (int r = 0; r < PK_MR; r++)
        for (int v = 0; v < PK_NV; v++)
            acc[r][v] = (PK_V){0};
    /* rows in threes from a few base pointers, so that a matrix read in place needs
       no register per row (x86 addresses base + index * 1, 2, 4 or 8) */
    const T *base[(PK_MR + 2) / 3];
    for (int q = 0; q < (PK_MR + 2) / 3; q++)
        base[q] = ap + 3 * q * ars;
    for (ptrdiff_t k = 0; k < kc; k++) {
        PK_V bv[PK_NV];
        for (int v = 0; v < PK_NV; v++)
            bv[v] = *(const PK_V *)(bp + v * PK_VL);
#if defined(__GNUC__) || defined(__clang__)
        /* B's panel streams from L2: the two lines PK_PREFETCH steps ahead (+4 % at 384^3) */
        __builtin_prefetch(bp + PK_PREFETCH * PK_NR, 0, 3);
        __builtin_prefetch((const char *)(bp + PK_PREFETCH * PK_NR) + 64, 0, 3);
#endif
        for (int r = 0; r < PK_MR; r++) {
            const PK_V ar = base[r / 3][(r % 3) * ars] - (PK_V){0};
            for (int v = 0; v < PK_NV; v++)
                acc[r][v] += ar * bv[v];
        }
        for (int q = 0; q < (PK_MR + 2) / 3; q++)
            base[q] += aks;
        bp += PK_NR;
    }
    const PK_V va = alpha - (PK_V){0};
    if (store) {
        const PK_V vb = beta - (PK_V){0};
        for (int r = 0; r < PK_MR; r++)
            for (int v = 0; v < PK_NV; v++) {
                T *cp = c + r * ldc + v * PK_VL;
                PK_STORE(cp, beta == 0 ? va * acc[r][v] : va * acc[r][v] + vb * PK_LOAD(cp));
            }
        return;
    }
    for (int r = 0; r < PK_MR; r++)
        for (int v = 0; v < PK_NV; v++)
            *(PK_V *)(tile + r * PK_NR + v * PK_VL) = va * acc[r][v];
#else
    T acc[PK_MR][PK_NR] = {{0}};
    (void)c; (void)ldc; (void)store; (void)beta;
    for (ptrdiff_t k = 0; k < kc; k++) {
        for (int r = 0; r < PK_MR; r++)
            for (int s = 0; s < PK_NR; s++)
                acc[r][s] += ap[k * aks + r * ars] * bp[s];
        bp += PK_NR;
    }
    for (int r = 0; r < PK_MR; r++)
        for (int s = 0; s < PK_NR; s++)
            tile[r * PK_NR + s] = alpha * acc[r][s];
#endif
}

/* c[0:mr, 0:nr] = alpha Ap Bp + beta c over kc, A's panel element (r, k) at
   ap[k * aks + r * ars] (packed: aks = MR, ars = 1; rows read in place: aks = 1) */
static void FDNN_CAT(pk_kernel_, TS)(ptrdiff_t kc, const T *restrict ap, ptrdiff_t aks,
                                     ptrdiff_t ars, const T *restrict bp,
                                     T *restrict c, ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr,
                                     T alpha, T beta, T *restrict tile)
{
#ifdef PK_VECTOR
    const int store = mr == PK_MR && nr == PK_NR;
#else
    const int store = 0;
#endif
    if (aks == 1)
        FDNN_CAT(pk_tile_, TS)(kc, ap, 1, ars, bp, c, ldc, store, alpha, beta, tile);
    else
        FDNN_CAT(pk_tile_, TS)(kc, ap, PK_MR, 1, bp, c, ldc, store, alpha, beta, tile);
    if (store)
        return;
    for (ptrdiff_t r = 0; r < mr; r++)
        for (ptrdiff_t s = 0; s < nr; s++)
            c[r * ldc + s] = beta == 0 ? tile[r * PK_NR + s]
                                       : tile[r * PK_NR + s] + beta * c[r * ldc + s];
}

/* the tile of rows x cols of C^T with A's panel read in place (element (r, k) at
   a[k * aks + r * ars]), placed transposed: c[s * ldc + r] (+ beta c) */
static void FDNN_CAT(pk_kernel_t_, TS)(ptrdiff_t kc, const T *restrict a, ptrdiff_t aks,
                                       ptrdiff_t ars, const T *restrict bp, T *restrict c,
                                       ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t cols, T alpha,
                                       T beta, T *restrict tile)
{
    if (aks == 1)
        FDNN_CAT(pk_tile_, TS)(kc, a, 1, ars, bp, c, ldc, 0, alpha, beta, tile);
    else
        FDNN_CAT(pk_tile_, TS)(kc, a, aks, 1, bp, c, ldc, 0, alpha, beta, tile);
    for (ptrdiff_t s = 0; s < cols; s++) {
        T *cs = c + s * ldc;
        if (beta == 0)
            for (ptrdiff_t r = 0; r < rows; r++)
                cs[r] = tile[r * PK_NR + s];
        else
            for (ptrdiff_t r = 0; r < rows; r++)
                cs[r] = tile[r * PK_NR + s] + beta * cs[r];
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
static void FDNN_CAT(pk_epilogue_, TS)(int act, T *c, ptrdiff_t ldc, ptrdiff_t rows,
                                       ptrdiff_t cols, const T *bias, int bias_per_row,
                                       T act_alpha)
{
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

/* C[i0:i1, j0:j1] as C^T = B^T A^T, for few rows of C (fdnn_gemm_swapped): B, its
   columns contiguous, is read in place as the broadcast operand, so the large operand is
   never packed; A's rows are packed as the panels of C^T's columns, over the whole of K
   (each tile is one chain over k, stored once, transposed). Each tile of C^T covers
   MR of C's columns and NR of its rows. */
static void KFN(gemm_block_t)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i0,
                              ptrdiff_t i1, ptrdiff_t j0, ptrdiff_t j1)
{
    const ptrdiff_t K = g->K;
    /* C's rows per packed block of A: NR multiples whose K-long panels stay in L2 */
    ptrdiff_t ib = (ptrdiff_t)(FDNN_GEMM_SWAP_BYTES / (K * (ptrdiff_t)sizeof(T))) / PK_NR * PK_NR;
    if (ib < PK_NR)
        ib = PK_NR;
    if (ib > i1 - i0)
        ib = i1 - i0;
    const size_t b_size = (size_t)((ib + PK_NR - 1) / PK_NR * PK_NR) * (size_t)K;
    T *edge = FDNN_CAT(pk_space_, TS)(0, (size_t)PK_MR * (size_t)K);
    T *bp = FDNN_CAT(pk_space_, TS)(1, b_size + PK_MR * PK_NR);
    if (edge == NULL || bp == NULL) {
        FDNN_CAT(pk_unpacked_, TS)(g, i0, i1, j0, j1);
        return;
    }
    T *tile = bp + b_size;
    for (ptrdiff_t i = i0; i < i1; i += ib) {
        const ptrdiff_t ic = i1 - i < ib ? i1 - i : ib;
        FDNN_CAT(pk_pack_, TS)(PK_NR, ic, K, g->a + i * g->rs_a, g->rs_a, g->cs_a, bp);
        for (ptrdiff_t j = j0; j < j1; j += PK_MR) {
            const ptrdiff_t mr = j1 - j < PK_MR ? j1 - j : PK_MR;
            /* C^T's A panel: B's columns j.., element (r, k) at b[(j + r) cs_b + k rs_b] */
            const T *a = g->b + j * g->cs_b;
            ptrdiff_t aks = g->rs_b, ars = g->cs_b;
            if (mr < PK_MR) {
                FDNN_CAT(pk_pack_, TS)(PK_MR, mr, K, a, g->cs_b, g->rs_b, edge);
                a = edge;
                aks = PK_MR;
                ars = 1;
            }
            for (ptrdiff_t ii = 0; ii < ic; ii += PK_NR) {
                const ptrdiff_t nr = ic - ii < PK_NR ? ic - ii : PK_NR;
                FDNN_CAT(pk_kernel_t_, TS)(K, a, aks, ars, bp + ii * K,
                                           g->c + (i + ii) * g->ldc + j, g->ldc, mr, nr,
                                           g->alpha, g->beta, tile);
                FDNN_CAT(pk_finish_, TS)(g, i + ii, j, nr, mr);
            }
        }
    }
}

/* C[i0:i1, j0:j1] of the product g describes, on the calling thread. */
static void KFN(gemm_block)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i0, ptrdiff_t i1,
                            ptrdiff_t j0, ptrdiff_t j1)
{
    const ptrdiff_t K = g->K;
    if (fdnn_gemm_swapped(g->M, g->N, K, g->rs_b, sizeof(T), PK_MR, PK_NR)) {
        KFN(gemm_block_t)(g, i0, i1, j0, j1);
        return;
    }
    /* equal K blocks of at most PK_KC (a multiple of 8 when there are several) */
    const ptrdiff_t nkb = K > 0 ? (K + PK_KC - 1) / PK_KC : 1;
    const ptrdiff_t kcb = nkb > 1 ? ((K + nkb - 1) / nkb + 7) / 8 * 8 : (K > 0 ? K : 1);
    const ptrdiff_t mb = i1 - i0 < PK_MB ? i1 - i0 : PK_MB;
    const ptrdiff_t nb = j1 - j0 < PK_NB ? j1 - j0 : PK_NB;
    const size_t b_size = (size_t)((nb + PK_NR - 1) / PK_NR * PK_NR) * (size_t)kcb;
    T *ap = FDNN_CAT(pk_space_, TS)(0, (size_t)((mb + PK_MR - 1) / PK_MR * PK_MR) * (size_t)kcb);
    /* the tile buffer sits after B's block, in the same allocation */
    T *bp = FDNN_CAT(pk_space_, TS)(1, b_size + PK_MR * PK_NR);
    if (ap == NULL || bp == NULL) {
        FDNN_CAT(pk_unpacked_, TS)(g, i0, i1, j0, j1);
        return;
    }
    T *tile = bp + b_size;
    /* A's rows contiguous along k: its whole panels are read in place, not packed (+2-10 %
       on one core); rows a multiple of 4 KiB apart would put a panel's lines in the same
       L1 sets: those are packed. (Columns contiguous along i, read in place, lost 4-25 %.) */
    const int in_place = g->cs_a == 1 && ((size_t)g->rs_a * sizeof(T)) % 4096 != 0;
    for (ptrdiff_t i = i0; i < i1; i += mb) {
        const ptrdiff_t mc = i1 - i < mb ? i1 - i : mb;
        for (ptrdiff_t p = 0; p < K || p == 0; p += kcb) {
            const ptrdiff_t kc = K - p < kcb ? K - p : kcb;
            const T beta = p == 0 ? g->beta : (T)1;
            const int last = p + kc >= K;
            if (!in_place)
                FDNN_CAT(pk_pack_, TS)(PK_MR, mc, kc, g->a + i * g->rs_a + p * g->cs_a, g->rs_a,
                                       g->cs_a, ap);
            else if (mc % PK_MR != 0) /* the last rows' panel, zero-padded */
                FDNN_CAT(pk_pack_, TS)(PK_MR, mc % PK_MR, kc,
                                       g->a + (i + mc / PK_MR * PK_MR) * g->rs_a + p * g->cs_a,
                                       g->rs_a, g->cs_a, ap + mc / PK_MR * PK_MR * kc);
            for (ptrdiff_t j = j0; j < j1; j += nb) {
                const ptrdiff_t nc = j1 - j < nb ? j1 - j : nb;
                FDNN_CAT(pk_pack_, TS)(PK_NR, nc, kc, g->b + p * g->rs_b + j * g->cs_b,
                                       g->cs_b, g->rs_b, bp);
                for (ptrdiff_t ii = 0; ii < mc; ii += PK_MR) {
                    const ptrdiff_t mr = mc - ii < PK_MR ? mc - ii : PK_MR;
                    const int whole = in_place && mr == PK_MR;
                    const T *api = whole ? g->a + (i + ii) * g->rs_a + p : ap + ii * kc;
                    const ptrdiff_t aks = whole ? 1 : PK_MR, ars = whole ? g->rs_a : 1;
                    for (ptrdiff_t jj = 0; jj < nc; jj += PK_NR) {
                        const ptrdiff_t nr = nc - jj < PK_NR ? nc - jj : PK_NR;
                        T *c = g->c + (i + ii) * g->ldc + (j + jj);
                        FDNN_CAT(pk_kernel_, TS)(kc, api, aks, ars, bp + jj * kc, c, g->ldc, mr, nr,
                                                 g->alpha, beta, tile);
                        if (last)
                            FDNN_CAT(pk_finish_, TS)(g, i + ii, j + jj, mr, nr);
                    }
                }
            }
            if (K == 0)
                break;
        }
    }
}

static void FDNN_CAT(pk_fill_, TS)(fdnn_kernel_table *t)
{
    t->FDNN_CAT(gemm_, TS) = KFN(gemm_block);
    t->FDNN_CAT(gemm_tile_, TS)[0] = PK_MR;
    t->FDNN_CAT(gemm_tile_, TS)[1] = PK_NR;
}

#undef PK_VL
#undef PK_VECTOR
#undef PK_V
#undef PK_LOAD
#undef PK_STORE
#undef PK_MR
#undef PK_NV
#undef PK_NR
#undef PK_KC
#undef PK_NB
#undef PK_MB
#undef PK_PREFETCH
