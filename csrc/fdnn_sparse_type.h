/* The first layer's products for rows of a CSR matrix, for one floating type (included
 * by fdnn_ew_type.h once per type and instruction set): Z = X[rows] W and
 * gW = scale X[rows]^T dZ, where W and gW hold one contiguous row of `units` values per
 * input feature (the transposed weights the estimators train on sparse input). Every
 * stored entry (j, v) of an example's row is one multiply-add along a whole row of W or
 * gW; X's indices are int32 or int64 (idx64). */

#define FDNN_CSR_AT(p, k) (idx64 ? (ptrdiff_t)((const int64_t *)(p))[k] \
                                 : (ptrdiff_t)((const int32_t *)(p))[k])

/* The rows of W (gW) an example's entries pick are scattered over a matrix larger than L2,
   and no prefetcher can guess the next one: each entry's row is fetched FDNN_CSR_AHEAD
   entries before its turn, across the batch's row boundaries (float64, 200 rows of 25
   entries by 64 units from a 5000-feature W, one core: forward 111 -> 72-74 us, the
   transposed product 113 -> 104-108; 16 entries ahead 93 and 110). */
#define FDNN_CSR_AHEAD 8
#ifndef FDNN_CSR_PREFETCHED
#define FDNN_CSR_PREFETCHED
#if defined(__GNUC__) || defined(__clang__)
#define FDNN_CSR_FETCH(p, bytes, write)                                         \
    do {                                                                        \
        for (size_t b_ = 0; b_ < (bytes); b_ += 64)                             \
            __builtin_prefetch((const char *)(p) + b_, write, 3);               \
    } while (0)
#else
#define FDNN_CSR_FETCH(p, bytes, write) ((void)(p))
#endif
#endif

/* the row of M (rows of `units` values) of the entry FDNN_CSR_AHEAD entries after entry k
   of batch row r (the batch's rows in order): fetched, if there is one and it is a row
   lo..hi-1 (a thread's own rows of gW) */
#define FDNN_CSR_FETCH_AHEAD(M, write, lo, hi)                                  \
    do {                                                                        \
        ptrdiff_t a_ = k + FDNN_CSR_AHEAD;                                      \
        if (a_ >= end && r + 1 < m)                                             \
            a_ = FDNN_CSR_AT(indptr, rows[r + 1]) + (a_ - end);                 \
        if (a_ < end || (r + 1 < m && a_ < FDNN_CSR_AT(indptr, rows[r + 1] + 1))) { \
            const ptrdiff_t j_ = FDNN_CSR_AT(indices, a_);                      \
            if (j_ >= (lo) && j_ < (hi))                                        \
                FDNN_CSR_FETCH((M) + j_ * units, (size_t)units * sizeof(T), write); \
        }                                                                       \
    } while (0)

/* rows Z[0..m) of (m, units): row r the sum over row rows[r]'s entries of v W[j, :], a
   block of FDNN_CSR_UB units at a time in registers (through z in memory, each entry's
   multiply-adds waited on the store of the previous one's: 74 -> 65 us as above, two
   threads 40 -> 31) */
#define FDNN_CSR_UB (256 / (int)sizeof(T))
static void KFN(csr_mm)(int idx64, const void *indptr, const void *indices, const T *data,
                        const int64_t *rows, ptrdiff_t m, const T *W, ptrdiff_t units, T *Z)
{
    for (ptrdiff_t r = 0; r < m; r++) {
        T *restrict z = Z + r * units;
        const ptrdiff_t start = FDNN_CSR_AT(indptr, rows[r]);
        const ptrdiff_t end = FDNN_CSR_AT(indptr, rows[r] + 1);
        ptrdiff_t u0 = 0;
        for (; u0 + FDNN_CSR_UB <= units; u0 += FDNN_CSR_UB) {
            T acc[FDNN_CSR_UB] = {0};
            for (ptrdiff_t k = start; k < end; k++) {
                if (u0 == 0)
                    FDNN_CSR_FETCH_AHEAD(W, 0, 0, PTRDIFF_MAX);
                const T v = data[k];
                const T *restrict w = W + FDNN_CSR_AT(indices, k) * units + u0;
                for (int u = 0; u < FDNN_CSR_UB; u++)
                    acc[u] += v * w[u];
            }
            for (int u = 0; u < FDNN_CSR_UB; u++)
                z[u0 + u] = acc[u];
        }
        if (u0 == units)
            continue;
        for (ptrdiff_t u = u0; u < units; u++)
            z[u] = 0;
        for (ptrdiff_t k = start; k < end; k++) {
            if (u0 == 0)
                FDNN_CSR_FETCH_AHEAD(W, 0, 0, PTRDIFF_MAX);
            const T v = data[k];
            const T *restrict w = W + FDNN_CSR_AT(indices, k) * units;
            FDNN_IVDEP
            for (ptrdiff_t u = u0; u < units; u++)
                z[u] += v * w[u];
        }
    }
}
#undef FDNN_CSR_UB

/* rows j0..j1-1 of gW (n_features, units): zeroed, then scale v dZ[r, :] added for every
   entry (j, v) of the m rows with j0 <= j < j1, in the order of the rows (each row of gW
   is one thread's: the sums do not depend on how the features are shared out) */
static void KFN(csr_mtm)(int idx64, const void *indptr, const void *indices, const T *data,
                         const int64_t *rows, ptrdiff_t m, const T *dZ, ptrdiff_t units,
                         T scale, T *gW, ptrdiff_t j0, ptrdiff_t j1)
{
    memset(gW + j0 * units, 0, (size_t)(j1 - j0) * (size_t)units * sizeof(T));
    for (ptrdiff_t r = 0; r < m; r++) {
        const T *restrict d = dZ + r * units;
        const ptrdiff_t end = FDNN_CSR_AT(indptr, rows[r] + 1);
        for (ptrdiff_t k = FDNN_CSR_AT(indptr, rows[r]); k < end; k++) {
            const ptrdiff_t j = FDNN_CSR_AT(indices, k);
            FDNN_CSR_FETCH_AHEAD(gW, 1, j0, j1);
            if (j < j0 || j >= j1)
                continue;
            const T v = scale * data[k];
            T *restrict g = gW + j * units;
            FDNN_IVDEP
            for (ptrdiff_t u = 0; u < units; u++)
                g[u] += v * d[u];
        }
    }
}

/* g ((j1 - j0) x w, rows of w values) = columns u0..u0+w-1 of rows j0..j1-1 of
   scale X[rows]^T dZ, from the batch's entries grouped by feature (feature j's are
   first[j]..first[j+1]-1: a row of dZ, row[e], and its value, in the order of the batch's
   rows): the multiply-adds of csr_mtm in its order, into a block that stays in L1 */
static void KFN(csr_grouped)(const ptrdiff_t *first, const ptrdiff_t *row, const T *value,
                             const T *dZ, ptrdiff_t units, T scale, ptrdiff_t j0, ptrdiff_t j1,
                             ptrdiff_t u0, ptrdiff_t w, T *g)
{
    memset(g, 0, (size_t)(j1 - j0) * (size_t)w * sizeof(T));
    for (ptrdiff_t j = j0; j < j1; j++) {
        T *restrict out = g + (j - j0) * w;
        for (ptrdiff_t e = first[j]; e < first[j + 1]; e++) {
            const T v = scale * value[e];
            const T *restrict d = dZ + row[e] * units + u0;
            FDNN_IVDEP
            for (ptrdiff_t u = 0; u < w; u++)
                out[u] += v * d[u];
        }
    }
}
#undef FDNN_CSR_AT
#undef FDNN_CSR_FETCH_AHEAD
