/* One register tile of the packed product (fdnn_gemm_packed.h): the packing into its
 * panels, its micro-kernel and the blocked loops around it. Included by fdnn_gemm_packed.h
 * once per tile with PK_T (the tile's index in the kernel table), PK_MR and PK_NV
 * defined; its functions are named with the type and the tile (PKT). */

#define PK_NR (PK_NV * PK_VL)
#if PK_NR == PK_MR
#error "pk_pack tells A's panels from B's by their width: a tile's MR and NR must differ"
#endif
#define PKT(name) FDNN_CAT(FDNN_CAT(name##_, TS), FDNN_CAT(_, PK_T))

/* Whole panels of w lines from lines contiguous in x (line i at x + i, its k-th element
   k * kstep further): PK_KSTRIP steps of k at a time across all the panels, so that the
   stored rows are read in order, a few at a time. Panel by panel, each of kc rows was
   fetched again for every panel, from L2 or L3: A's transposed view, 22 % of a 256 x 128
   x 32 float64 product; B's rows, 1-4 % of the products on AMD Zen 2 (512 KiB of L2,
   two threads: float32 1024^3 +3 %, float64 128x256 by 256x1024 +2.6 %). Per k a copy
   of constant size, which the compiler makes a few moves (with w variable, GCC assembled
   each vector from single loads: 23 % of a 256 x 128 x 784 product). */
FDNN_INLINE void PKT(pk_pack_rows)(const int w, ptrdiff_t panels, ptrdiff_t kc, const T *x,
                                   ptrdiff_t kstep, T *restrict p)
{
    for (ptrdiff_t k0 = 0; k0 < kc; k0 += PK_KSTRIP) {
        const ptrdiff_t k1 = kc - k0 < PK_KSTRIP ? kc : k0 + PK_KSTRIP;
        for (ptrdiff_t q = 0; q < panels; q++)
            for (ptrdiff_t k = k0; k < k1; k++)
                memcpy(p + q * kc * w + k * w, x + q * w + k * kstep, (size_t)w * sizeof(T));
    }
}

/* Lines [0, n) of x (line i at x + i * step, its k-th element k * kstep further) ->
   micro-panels of w lines, k-major: p[k * w + r]; lines past n are zero. A's rows make
   panels of PK_MR lines, B's columns panels of PK_NR. */
FDNN_INLINE void PKT(pk_pack)(const int w, ptrdiff_t n, ptrdiff_t kc, const T *x,
                                        ptrdiff_t step, ptrdiff_t kstep, T *restrict p)
{
    if (step == 1 && n >= w) {
        const ptrdiff_t whole = n / w;
        if (w == PK_MR)
            PKT(pk_pack_rows)(PK_MR, whole, kc, x, kstep, p);
        else
            PKT(pk_pack_rows)(PK_NR, whole, kc, x, kstep, p);
        x += whole * w;
        p += whole * kc * w;
        n -= whole * w;
    }
    for (ptrdiff_t i = 0; i < n; i += w) {
        const ptrdiff_t nl = n - i < w ? n - i : w;
        const T *xi = x + i * step;
#ifdef PK_VECTOR
        if (kstep == 1) {
            /* each line contiguous along k: a transpose through registers, then the
               lanes of a last panel past its nl lines zero: of B's panel up to a whole
               vector (the tiles read no further), of A's the whole panel. One by one,
               the 16 columns past 768 of a float32 256x128 by 128x784 NT product cost
               1.7 % of it on one core. */
            FDNN_CAT(transpose_, TS)(nl, kc, xi, step, p, w);
            const ptrdiff_t end = w == PK_NR ? (nl + PK_VL - 1) / PK_VL * PK_VL : w;
            /* lane by lane along k: a loop along the lanes became a memset call per k
               (10x128 by 128x128 float64 4.3 -> 5.8 us) */
            for (ptrdiff_t r = nl; r < end; r++)
                for (ptrdiff_t k = 0; k < kc; k++)
                    p[k * w + r] = 0;
        } else
#endif
        if (nl == w) {
            for (ptrdiff_t k = 0; k < kc; k++)
                for (int r = 0; r < w; r++)
                    p[k * w + r] = xi[r * step + k * kstep];
        } else {
            /* w stores per k of constant count (the zeros in a loop of their own became a
               `rep stos` per k: 18 % of a 7 x 128 x 128 float64 product) */
            for (ptrdiff_t k = 0; k < kc; k++)
                for (int r = 0; r < w; r++)
                    p[k * w + r] = r < nl ? xi[r * step + k * kstep] : (T)0;
        }
        p += kc * w;
    }
}

/* The MR x NR tile alpha Ap Bp over kc, with A's panel element (r, k) at
   ap[k * aks + r * ars] (a packed panel: aks = MR, ars = 1; a matrix read in place:
   its own strides) and B's row k at bp + k * bks (a packed panel: bks = NR; B's rows
   read in place: its row stride). With `store`, a full tile goes from the registers to c[0:MR, 0:NR]
   (+ beta c; beta = 0: c is not read, as in BLAS); otherwise it goes to `tile`
   (PK_MR x PK_NR) for the caller to place. */
FDNN_INLINE void PKT(pk_tile)(const int nv, const int mv, ptrdiff_t kc, const T *restrict ap,
                              ptrdiff_t aks, ptrdiff_t ars, const T *restrict bp,
                              ptrdiff_t bks, T *restrict c, ptrdiff_t ldc, int store, T alpha, T beta,
                              T *restrict tile)
{
#ifdef PK_VECTOR
    PK_V acc[PK_MR][PK_NV];
    PK_UNROLL
    for (int r = 0; r < mv; r++)
        PK_UNROLL
        for (int v = 0; v < nv; v++)
            acc[r][v] = (PK_V){0};
    /* rows in threes from a few base pointers, so that a matrix read in place needs
       no register per row (x86 addresses base + index * 1, 2, 4 or 8) */
    const T *base[(PK_MR + 2) / 3];
    PK_UNROLL
    for (int q = 0; q < (mv + 2) / 3; q++)
        base[q] = ap + 3 * q * ars;
    const ptrdiff_t ahead = PK_PREFETCH * bks;
/* one step of k: B's row into registers, MR broadcasts of A, MR x nv multiply-adds; B's
   panel (or its rows read in place) streams from L2: the two lines PK_PREFETCH steps
   ahead are prefetched (+4 % at 384^3) */
#define PK_K_STEP                                                                       \
    {                                                                                   \
        PK_V bv[PK_NV];                                                                 \
        PK_UNROLL                                                                       \
        for (int v = 0; v < nv; v++)                                                    \
            bv[v] = PK_LOAD(bp + v * PK_VL); /* B read in place is not aligned */       \
        PK_PREFETCH_B(bp + ahead);                                                      \
        PK_UNROLL                                                                       \
        for (int r = 0; r < mv; r++) {                                                  \
            const PK_V ar = base[r / 3][(r % 3) * ars] - (PK_V){0};                     \
            PK_UNROLL                                                                   \
            for (int v = 0; v < nv; v++)                                                \
                acc[r][v] += ar * bv[v];                                                \
        }                                                                               \
        PK_UNROLL                                                                       \
        for (int q = 0; q < (mv + 2) / 3; q++)                                          \
            base[q] += aks;                                                             \
        bp += bks;                                                                      \
    }
    /* four steps of k per trip: a quarter of the loop's own instructions, which otherwise
       take ports the FMAs need (one core, GFLOP/s: float64 512^3 74.7-75.7 -> 76.6-78.8,
       384^3 70.6-75.2 -> 74.5-77.6; float32 512^3 144-162 -> 152-166, 128x256 by 256x784
       NT 132-150 -> 139-153); fewer than four steps (K <= 4 products, which write C more
       than they multiply) take a plain loop: through the unrolled one's remainder handling
       they lost 3-5 % */
    if (kc < 4) {
        for (ptrdiff_t k = 0; k < kc; k++)
            PK_K_STEP
    } else {
        PK_UNROLL_K
        for (ptrdiff_t k = 0; k < kc; k++)
            PK_K_STEP
    }
#undef PK_K_STEP
    const PK_V va = alpha - (PK_V){0};
    if (store && beta == 0) {
        PK_UNROLL
        for (int r = 0; r < mv; r++)
            PK_UNROLL
            for (int v = 0; v < nv; v++)
                PK_STORE(c + r * ldc + v * PK_VL, va * acc[r][v]);
        return;
    }
    if (store) {
        const PK_V vb = beta - (PK_V){0};
        PK_UNROLL
        for (int r = 0; r < mv; r++)
            PK_UNROLL
            for (int v = 0; v < nv; v++) {
                T *cp = c + r * ldc + v * PK_VL;
                PK_STORE(cp, va * acc[r][v] + vb * PK_LOAD(cp));
            }
        return;
    }
    PK_UNROLL
    for (int r = 0; r < mv; r++)
        PK_UNROLL
        for (int v = 0; v < nv; v++)
            *(PK_V *)(tile + r * PK_NR + v * PK_VL) = va * acc[r][v];
#else
    T acc[PK_MR][PK_NR] = {{0}};
    (void)nv; (void)mv; (void)c; (void)ldc; (void)store; (void)beta;
    for (ptrdiff_t k = 0; k < kc; k++) {
        PK_UNROLL
        for (int r = 0; r < PK_MR; r++)
            for (int s = 0; s < PK_NR; s++)
                acc[r][s] += ap[k * aks + r * ars] * bp[s];
        bp += bks;
    }
    PK_UNROLL
    for (int r = 0; r < PK_MR; r++)
        for (int s = 0; s < PK_NR; s++)
            tile[r * PK_NR + s] = alpha * acc[r][s];
#endif
}

/* pk_tile on nv of the tile's vectors (the others' columns are not wanted; each element
   the same chain over k): the last columns' tile on as many vectors as they fill (N = 784
   on a 64-wide tile: 16 columns, a quarter of the multiply-adds; one core, float32,
   1024 x 256 by 256 x 784 NN 211 -> 222-225 GF/s, 256 x 1024 by 1024 x 784 NT 195 -> 209).
   A's panel is read in place along its rows (aks = 1) or its columns (ars = 1), or packed
   (aks = PK_MR, ars = 1).
   The last rows' panel (packed, zero-padded) on its first mv rows, mv = rows rounded up to
   even, when it fills all the vectors (C of 10 rows on a 6-row tile: 40 multiply-adds per
   k where 48 ran; one core, us: float64 10 x 128 by 128 x 1024 NN 55.5-58.0 -> 48.8-50.2,
   32 x 128 by 128 x 1024 148-151 -> 142-146; float32 10 x 128 by 128 x 1024 27.6 -> 24.7). */
FDNN_INLINE void PKT(pk_tile_nv)(int nv, int mv, ptrdiff_t kc, const T *restrict ap,
                                 ptrdiff_t aks, ptrdiff_t ars, const T *restrict bp,
                                 ptrdiff_t bks, T *restrict c, ptrdiff_t ldc, int store,
                                 T alpha, T beta, T *restrict tile)
{
/* a packed B panel's step a constant: the loop keeps one register fewer (1-5 %) */
#define PK_NV_CASE(n)                                                                   \
    if (aks == 1 && bks == PK_NR)                                                       \
        PKT(pk_tile)(n, PK_MR, kc, ap, 1, ars, bp, PK_NR, c, ldc, store, alpha, beta, tile); \
    else if (aks == PK_MR && ars == 1 && bks == PK_NR)                                  \
        PKT(pk_tile)(n, PK_MR, kc, ap, PK_MR, 1, bp, PK_NR, c, ldc, store, alpha, beta, tile); \
    else if (ars == 1 && bks == PK_NR)                                                  \
        PKT(pk_tile)(n, PK_MR, kc, ap, aks, 1, bp, PK_NR, c, ldc, store, alpha, beta, tile); \
    else if (aks == 1)                                                                  \
        PKT(pk_tile)(n, PK_MR, kc, ap, 1, ars, bp, bks, c, ldc, store, alpha, beta, tile); \
    else                                                                                \
        PKT(pk_tile)(n, PK_MR, kc, ap, aks, ars, bp, bks, c, ldc, store, alpha, beta, tile);
#define PK_MV_CASE(m)                                                                   \
    case m:                                                                             \
        if (bks == PK_NR)                                                               \
            PKT(pk_tile)(PK_NV, m, kc, ap, PK_MR, 1, bp, PK_NR, c, ldc, store, alpha, beta, \
                         tile);                                                         \
        else                                                                            \
            PKT(pk_tile)(PK_NV, m, kc, ap, PK_MR, 1, bp, bks, c, ldc, store, alpha, beta, \
                         tile);                                                         \
        return;
#ifdef PK_VECTOR
    if (mv < PK_MR && nv == PK_NV && aks == PK_MR) {
        switch (mv) {
        PK_MV_CASE(2)
#if PK_MR > 4
        PK_MV_CASE(4)
#endif
#if PK_MR > 6
        PK_MV_CASE(6)
#endif
#if PK_MR > 8
        PK_MV_CASE(8)
#endif
#if PK_MR > 10
        PK_MV_CASE(10)
#endif
        default: break;
        }
    }
#else
    (void)mv;
#endif
#undef PK_MV_CASE
    switch (nv) {
#if PK_NV > 3
    case 3: PK_NV_CASE(3) break;
#endif
#if PK_NV > 2
    case 2: PK_NV_CASE(2) break;
#endif
#if PK_NV > 1
    case 1: PK_NV_CASE(1) break;
#endif
    default: PK_NV_CASE(PK_NV) break;
    }
#undef PK_NV_CASE
}

/* the rows pk_tile_nv computes for a panel of mr rows on nv vectors: mr rounded up to
   even where a short panel fills every vector, the whole tile otherwise */
FDNN_INLINE int PKT(pk_rows)(ptrdiff_t mr, int nv)
{
    return mr < PK_MR && nv == PK_NV ? (int)(mr + 1) / 2 * 2 : PK_MR;
}

/* c[0:mr, 0:nr] = alpha Ap Bp + beta c over kc, A's panel element (r, k) at
   ap[k * aks + r * ars] (packed: aks = MR, ars = 1; rows read in place: aks = 1; columns
   read in place: ars = 1) */
FDNN_INLINE void PKT(pk_kernel)(ptrdiff_t kc, const T *restrict ap, ptrdiff_t aks,
                                ptrdiff_t ars, const T *restrict bp, ptrdiff_t bks,
                                T *restrict c, ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr,
                                T alpha, T beta, T *restrict tile)
{
    const int nv = (int)((nr + PK_VL - 1) / PK_VL);
    const int mv = PKT(pk_rows)(mr, nv);
#ifdef PK_VECTOR
    /* whole rows of whole vectors straight from the registers */
    const int store = mr == mv && nr == PK_NR;
#else
    const int store = 0;
#endif
    PKT(pk_tile_nv)(nv, mv, kc, ap, aks, ars, bp, bks, c, ldc, store, alpha, beta, tile);
    if (store)
        return;
    for (ptrdiff_t r = 0; r < mr; r++)
        for (ptrdiff_t s = 0; s < nr; s++)
            c[r * ldc + s] = beta == 0 ? tile[r * PK_NR + s]
                                       : tile[r * PK_NR + s] + beta * c[r * ldc + s];
}

#ifdef PK_VECTOR
/* pk_kernel's whole tile (mr rows) with its epilogue `epi` (pk_epi_, for alpha = 1 and
   beta 0 or 1: the sums of the plain store): through the tile buffer, in L1, then
   g(tile (+ c) + bias) to c, which is written once and not read back as pk_finish would
   (bias + i for a bias per row, bias + j per column). In a function of its own: applied
   in pk_kernel's registers, its code slowed the plain tile's loop 1-3 %. */
static void PKT(pk_kernel_epi)(ptrdiff_t kc, const T *restrict ap, ptrdiff_t aks,
                               ptrdiff_t ars, const T *restrict bp, ptrdiff_t bks,
                               T *restrict c, ptrdiff_t ldc, ptrdiff_t mr, T beta,
                               T *restrict tile, int epi, const T *restrict bias)
{
    PKT(pk_tile_nv)(PK_NV, (int)mr, kc, ap, aks, ars, bp, bks, c, ldc, 0, (T)1, beta, tile);
    for (ptrdiff_t r = 0; r < mr; r++)
        PK_UNROLL
        for (int v = 0; v < PK_NV; v++) {
            T *cp = c + r * ldc + v * PK_VL;
            PK_V z = PK_LOAD(tile + r * PK_NR + v * PK_VL);
            if (beta != 0)
                z += PK_LOAD(cp);
            if (epi & PK_EPI_BIAS_ROW)
                z += bias[r] - (PK_V){0};
            else if (epi & PK_EPI_BIAS_COL)
                z += PK_LOAD(bias + v * PK_VL);
            if (epi & PK_EPI_RELU)
                z = PK_RELU(z);
            PK_STORE(cp, z);
        }
}
#endif

/* C[i:i+mr, j:j+nc] over one K block: a row panel's tiles along its columns, B's packed
   panels at bp or its rows read in place from b_rows (C's column j; NULL: packed), each
   tile finished by pk_finish when `finish`, while it is in L1 */
static void PKT(pk_strip)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t kc,
                          const T *restrict ap, ptrdiff_t aks, ptrdiff_t ars,
                          const T *restrict bp, const T *b_rows, ptrdiff_t i, ptrdiff_t j,
                          ptrdiff_t mr, ptrdiff_t nc, T beta, int finish, T *restrict tile)
{
#ifdef PK_VECTOR
    /* the epilogue on the way to C for whole tiles (pk_kernel_epi; rows as pk_kernel's) */
    const int epi = finish && g->alpha == 1 && (beta == 0 || beta == 1)
                    && mr == PKT(pk_rows)(mr, PK_NV) ? FDNN_CAT(pk_epi_, TS)(g) : 0;
#else
    const int epi = 0;
#endif
    for (ptrdiff_t jj = 0; jj < nc; jj += PK_NR) {
        const ptrdiff_t nr = nc - jj < PK_NR ? nc - jj : PK_NR;
        const int b_row = b_rows != NULL && nr % PK_VL == 0;
        const T *bpj = b_row ? b_rows + jj : bp + jj * kc;
        const ptrdiff_t bks = b_row ? g->rs_b : PK_NR;
        T *cij = g->c + i * g->ldc + (j + jj);
#ifdef PK_VECTOR
        if (epi != 0 && nr == PK_NR && !(epi & PK_EPI_NONE)) {
            PKT(pk_kernel_epi)(kc, ap, aks, ars, bpj, bks, cij, g->ldc, mr, beta, tile, epi,
                               g->bias == NULL ? NULL
                               : g->bias_per_row ? g->bias + i : g->bias + (j + jj));
            continue;
        }
#endif
        PKT(pk_kernel)(kc, ap, aks, ars, bpj, bks, cij, g->ldc, mr, nr, g->alpha, beta, tile);
        if (finish && !(epi & PK_EPI_NONE && nr == PK_NR))
            FDNN_CAT(pk_finish_, TS)(g, i, j + jj, mr, nr);
    }
}

/* the tile of rows x cols of C^T with A's panel read in place (element (r, k) at
   a[k * aks + r * ars]), placed transposed: c[s * ldc + r] (+ beta c). With `epi`, the
   forward epilogue of g goes on the tile first, along its rows of NR of C's rows (on the
   stored rows it ran along MR elements at a time: float32 128x784x256 NT, two threads,
   relu 19 us over the product alone, sigmoid 89); C's element (ci + s, cj + r). */
static void PKT(pk_kernel_t)(ptrdiff_t kc, const T *restrict a, ptrdiff_t aks,
                                       ptrdiff_t ars, const T *restrict bp, T *restrict c,
                                       ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t cols, T alpha,
                                       T beta, T *restrict tile, int epi,
                                       const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t ci,
                                       ptrdiff_t cj)
{
    const int nv = (int)((cols + PK_VL - 1) / PK_VL);
    PKT(pk_tile_nv)(nv, PKT(pk_rows)(rows, nv), kc, a, aks, ars, bp, PK_NR, c, ldc, 0, alpha,
                    beta, tile);
    if (epi)
        /* a bias per row of C runs along the tile's rows, one per column along its columns */
        FDNN_CAT(pk_epilogue_, TS)(g->act, tile, PK_NR, rows, cols,
                                   g->bias == NULL ? NULL
                                   : g->bias_per_row ? g->bias + ci : g->bias + cj,
                                   !g->bias_per_row, g->act_alpha);
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

/* C[i0:i1, j0:j1] as C^T = B^T A^T, for few rows of C (fdnn_gemm_swapped): B, its
   columns contiguous, is read in place as the broadcast operand, so the large operand is
   never packed; A's rows are packed as the panels of C^T's columns, over the whole of K
   (each tile is one chain over k, stored once, transposed). Each tile of C^T covers
   MR of C's columns and NR of its rows. */
static void PKT(gemm_block_t)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i0,
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
    /* the forward epilogue on the tiles (beta = 0: nothing is added after it) */
    const int epi = g->act >= 0 && g->bwd < 0 && g->opt <= FDNN_OPT_GD && g->beta == 0;
    for (ptrdiff_t i = i0; i < i1; i += ib) {
        const ptrdiff_t ic = i1 - i < ib ? i1 - i : ib;
        PKT(pk_pack)(PK_NR, ic, K, g->a + i * g->rs_a, g->rs_a, g->cs_a, bp);
        for (ptrdiff_t j = j0; j < j1; j += PK_MR) {
            const ptrdiff_t mr = j1 - j < PK_MR ? j1 - j : PK_MR;
            /* C^T's A panel: B's columns j.., element (r, k) at b[(j + r) cs_b + k rs_b] */
            const T *a = g->b + j * g->cs_b;
            ptrdiff_t aks = g->rs_b, ars = g->cs_b;
            if (mr < PK_MR) {
                PKT(pk_pack)(PK_MR, mr, K, a, g->cs_b, g->rs_b, edge);
                a = edge;
                aks = PK_MR;
                ars = 1;
            }
            for (ptrdiff_t ii = 0; ii < ic; ii += PK_NR) {
                const ptrdiff_t nr = ic - ii < PK_NR ? ic - ii : PK_NR;
                PKT(pk_kernel_t)(K, a, aks, ars, bp + ii * K,
                                           g->c + (i + ii) * g->ldc + j, g->ldc, mr, nr,
                                           g->alpha, g->beta, tile, epi, g, i + ii, j);
                if (!epi)
                    FDNN_CAT(pk_finish_, TS)(g, i + ii, j, nr, mr);
            }
        }
    }
}

/* C[i0:i1, j0:j1] of the product g describes, on the calling thread. */
static void PKT(gemm_block)(const FDNN_CAT(fdnn_gemm_args_, TS) *g, ptrdiff_t i0, ptrdiff_t i1,
                            ptrdiff_t j0, ptrdiff_t j1)
{
    const ptrdiff_t K = g->K;
    if (fdnn_gemm_swapped(g->M, g->N, K, g->rs_b, sizeof(T), PK_MR, PK_NR)) {
        PKT(gemm_block_t)(g, i0, i1, j0, j1);
        return;
    }
    /* equal K blocks of at most PK_KC, or PK_KC_LONG from PK_LONG_M rows, either up to
       1/PK_KC_SLACK longer where that makes one block fewer (a multiple of 8 when there
       are several) */
    const ptrdiff_t kc_base = g->M >= PK_LONG_M ? PK_KC_LONG : PK_KC;
    const ptrdiff_t kc_max = kc_base + kc_base / PK_KC_SLACK;
    const ptrdiff_t nkb = K > 0 ? (K + kc_max - 1) / kc_max : 1;
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
    /* A's whole panels read in place, not packed (fdnn_gemm_a_in_place,
       fdnn_gemm_at_in_place) */
    const int in_place = fdnn_gemm_a_in_place(g->rs_a, g->cs_a, sizeof(T), PK_MR)
                         || fdnn_gemm_at_in_place(j1 - j0, PK_NB, g->rs_a, g->cs_a, sizeof(T));
    /* B's rows read in place, not packed (fdnn_gemm_b_in_place) but for a last panel
       narrower than whole vectors */
#ifdef PK_VECTOR
    const int b_in_place = fdnn_gemm_b_in_place(g->M, g->rs_b, g->cs_b, sizeof(T), PK_MR);
#else
    const int b_in_place = 0; /* the scalar tile reads all NR columns */
#endif
    /* the optimizer's step runs once per MR x NB strip, not per tile: a call per tile row
       of NR elements cost more than the whole step in a separate pass (AVX2, NR = 16) */
    const int strip = g->opt > FDNN_OPT_GD;
    const int epilogue = g->bwd >= 0 || g->act >= 0;
    /* C's first columns up to a line boundary as a block of their own where the stores
       dominate, so that every whole tile stores whole lines (rows a multiple of a line
       apart; NumPy aligns to 16 bytes) */
    ptrdiff_t peel = 0;
    if (K <= FDNN_GEMM_ALIGN_K && ((size_t)g->ldc * sizeof(T)) % 64 == 0) {
        peel = fdnn_to_line(g->c + i0 * g->ldc + j0, sizeof(T));
        if (peel > j1 - j0)
            peel = j1 - j0;
    }
    for (ptrdiff_t i = i0; i < i1; i += mb) {
        const ptrdiff_t mc = i1 - i < mb ? i1 - i : mb;
        for (ptrdiff_t p = 0; p < K || p == 0; p += kcb) {
            const ptrdiff_t kc = K - p < kcb ? K - p : kcb;
            const T beta = p == 0 ? g->beta : (T)1;
            const int last = p + kc >= K;
            if (!in_place)
                PKT(pk_pack)(PK_MR, mc, kc, g->a + i * g->rs_a + p * g->cs_a, g->rs_a,
                                       g->cs_a, ap);
            else if (mc % PK_MR != 0) /* the last rows' panel, zero-padded */
                PKT(pk_pack)(PK_MR, mc % PK_MR, kc,
                                       g->a + (i + mc / PK_MR * PK_MR) * g->rs_a + p * g->cs_a,
                                       g->rs_a, g->cs_a, ap + mc / PK_MR * PK_MR * kc);
            for (ptrdiff_t j = j0, nc; j < j1; j += nc) {
                nc = j == j0 && peel > 0 ? peel : (j1 - j < nb ? j1 - j : nb);
                /* the last panel's first column (nc when the columns fill whole panels) */
                const ptrdiff_t tail = nc / PK_NR * PK_NR;
                if (!b_in_place)
                    PKT(pk_pack)(PK_NR, nc, kc, g->b + p * g->rs_b + j * g->cs_b,
                                 g->cs_b, g->rs_b, bp);
                else if ((nc - tail) % PK_VL != 0)
                    PKT(pk_pack)(PK_NR, nc - tail, kc, g->b + p * g->rs_b + (j + tail) * g->cs_b,
                                 g->cs_b, g->rs_b, bp + tail * kc);
                for (ptrdiff_t ii = 0; ii < mc; ii += PK_MR) {
                    const ptrdiff_t mr = mc - ii < PK_MR ? mc - ii : PK_MR;
                    const int whole = in_place && mr == PK_MR;
                    const T *api = whole ? g->a + (i + ii) * g->rs_a + p * g->cs_a : ap + ii * kc;
                    const ptrdiff_t aks = whole ? g->cs_a : PK_MR, ars = whole ? g->rs_a : 1;
                    PKT(pk_strip)(g, kc, api, aks, ars, bp,
                                  b_in_place ? g->b + p * g->rs_b + j : NULL, i + ii, j, mr,
                                  nc, beta, last && !strip && epilogue, tile);
                    if (last && strip)
                        FDNN_CAT(pk_finish_, TS)(g, i + ii, j, mr, nc);
                }
            }
            if (K == 0)
                break;
        }
    }
}

static void PKT(pk_fill)(fdnn_kernel_table *t)
{
    t->FDNN_CAT(gemm_, TS)[PK_T] = PKT(gemm_block);
    t->FDNN_CAT(gemm_tile_, TS)[PK_T][0] = PK_MR;
    t->FDNN_CAT(gemm_tile_, TS)[PK_T][1] = PK_NR;
}

#undef PKT
#undef PK_T
#undef PK_MR
#undef PK_NV
#undef PK_NR
