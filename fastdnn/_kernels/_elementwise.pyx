# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Element-wise activation kernels and softmax: argument checks, output
allocation and the call into the C kernels of ``csrc/`` with the GIL released.

Arrays that are contiguous (C or F order), aligned and laid out alike go
straight to the kernel, in place when ``out`` is the input. Anything else
(strided views, broadcasting, partial overlap with ``out``) is first made
contiguous, which costs a copy but never changes the result.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.string cimport memset

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    object PyArray_NewLikeArray(cnp.ndarray prototype, cnp.NPY_ORDER order,
                                cnp.PyArray_Descr *descr, int subok)

cdef extern from "fdnn_stream.h" nogil:
    size_t fdnn_stream_from()
    void fdnn_set_stream_from(size_t nbytes)
    long fdnn_stream_count()
    void fdnn_stream_relearn()
    size_t fdnn_l2_bytes()

cdef extern from "fdnn_kernels.h" nogil:
    enum:
        FDNN_N_UNARY
        FDNN_N_BINARY
        FDNN_BW_OUTPUT_SUB
    const char *fdnn_code_name(const char *kind, int code)
    int fdnn_store_learned(int binary, int op, int f64)
    int fdnn_optimizer_slots(int code)
    void fdnn_init()
    const char *fdnn_simd_name()
    int fdnn_set_simd(const char *name)
    int fdnn_simd_available(const char *name)
    int fdnn_openmp_enabled()
    int fdnn_get_num_threads()
    void fdnn_set_num_threads(int n)
    int fdnn_get_user_threads()
    int fdnn_team_threads()
    void fdnn_team_note(const double *start, int nt)
    double fdnn_team_clock()
    void fdnn_team_barrier()
    int fdnn_region_threads()
    long fdnn_team_backoffs()
    void fdnn_interrupt_set(int (*fn)(void *) noexcept nogil, void *ctx, double interval)
    void fdnn_interrupt_arm(int armed)
    int fdnn_interrupt_poll()
    int fdnn_interrupted()
    void fdnn_unary_f32(int op, const float *x, float *y, Py_ssize_t n, float alpha)
    void fdnn_unary_f64(int op, const double *x, double *y, Py_ssize_t n, double alpha)
    void fdnn_binary_f32(int op, const float *dA, const float *a, float *y, Py_ssize_t n, float alpha)
    void fdnn_binary_f64(int op, const double *dA, const double *a, double *y, Py_ssize_t n, double alpha)
    int fdnn_softmax_f32(const float *x, float *y, Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner)
    int fdnn_softmax_f64(const double *x, double *y, Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner)
    int fdnn_softmax_bw_f32(const float *dA, const float *a, float *y, Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner)
    int fdnn_softmax_bw_f64(const double *dA, const double *a, double *y, Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner)
    void fdnn_bn_forward_f32(const float *Z, Py_ssize_t n, Py_ssize_t m, int stats, double eps, double *mean, double *var, double *inv_std, const float *gamma, const float *beta, float *N, int act, float *A, float alpha)
    void fdnn_bn_forward_f64(const double *Z, Py_ssize_t n, Py_ssize_t m, int stats, double eps, double *mean, double *var, double *inv_std, const double *gamma, const double *beta, double *N, int act, double *A, double alpha)
    void fdnn_bn_backward_f32(int op, const float *G, const float *a, float alpha, const float *Z, Py_ssize_t n, Py_ssize_t m, const double *mean, const double *inv_std, const float *gamma, float *dX, float *dgamma, float *dbeta, float *db, double scale, double *work)
    void fdnn_bn_backward_f64(int op, const double *G, const double *a, double alpha, const double *Z, Py_ssize_t n, Py_ssize_t m, const double *mean, const double *inv_std, const double *gamma, double *dX, double *dgamma, double *dbeta, double *db, double scale, double *work)
    void fdnn_bias_act_f32(int act, float *Z, Py_ssize_t lines, Py_ssize_t len, const float *b, int bias_per_line, float alpha)
    void fdnn_bias_act_f64(int act, double *Z, Py_ssize_t lines, Py_ssize_t len, const double *b, int bias_per_line, double alpha)
    void fdnn_act_backward_f32(int op, const float *dA, const float *a, float *dZ, Py_ssize_t lines, Py_ssize_t len, float *db, int db_per_line, float scale, float alpha)
    void fdnn_gemm_nn_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a, Py_ssize_t rs_a, Py_ssize_t cs_a, const float *b, Py_ssize_t ldb, float *c, Py_ssize_t ldc)
    void fdnn_gemm_nn_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a, Py_ssize_t rs_a, Py_ssize_t cs_a, const double *b, Py_ssize_t ldb, double *c, Py_ssize_t ldc)
    void fdnn_gemm_nt_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a, Py_ssize_t lda, const float *b, Py_ssize_t ldb, float *c, Py_ssize_t ldc)
    void fdnn_gemm_nt_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a, Py_ssize_t lda, const double *b, Py_ssize_t ldb, double *c, Py_ssize_t ldc)
    void fdnn_act_backward_f64(int op, const double *dA, const double *a, double *dZ, Py_ssize_t lines, Py_ssize_t len, double *db, int db_per_line, double scale, double alpha)
    ctypedef struct fdnn_gemm_args_f32:
        Py_ssize_t M, N, K
        float alpha, beta
        const float *a
        Py_ssize_t rs_a, cs_a
        const float *b
        Py_ssize_t rs_b, cs_b
        float *c
        Py_ssize_t ldc
        int act
        float act_alpha
        const float *bias
        int bias_per_row
        int bwd
        const float *act_a
        Py_ssize_t ld_act
        float *db
        float db_scale
        int opt
        float *opt_p
        float *opt_s1
        float *opt_s2
        const float *opt_c
        int split
    ctypedef struct fdnn_gemm_args_f64:
        Py_ssize_t M, N, K
        double alpha, beta
        const double *a
        Py_ssize_t rs_a, cs_a
        const double *b
        Py_ssize_t rs_b, cs_b
        double *c
        Py_ssize_t ldc
        int act
        double act_alpha
        const double *bias
        int bias_per_row
        int bwd
        const double *act_a
        Py_ssize_t ld_act
        double *db
        double db_scale
        int opt
        double *opt_p
        double *opt_s1
        double *opt_s2
        const double *opt_c
        int split
    void fdnn_gemm_f32(const fdnn_gemm_args_f32 *g)
    void fdnn_gemm_f64(const fdnn_gemm_args_f64 *g)
    void fdnn_gemm_share_f32(const fdnn_gemm_args_f32 *g, int id, int nt)
    void fdnn_gemm_share_f64(const fdnn_gemm_args_f64 *g, int id, int nt)
    int fdnn_gemm_grid_rows_f32(const fdnn_gemm_args_f32 *g, int nt)
    int fdnn_gemm_grid_rows_f64(const fdnn_gemm_args_f64 *g, int nt)
    void fdnn_gemm_tile(int f64, int which, int *rows, int *cols)
    void fdnn_gemm_force_tile(int which)
    int fdnn_gemm_tile_for(int f64, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t rs_b)
    void fdnn_optim_f32(int op, float *p, const float *g, float *s1, float *s2, Py_ssize_t n, const float *c)
    void fdnn_optim_f64(int op, double *p, const double *g, double *s1, double *s2, Py_ssize_t n, const double *c)
    double fdnn_sq_sum_f32(const float *x, Py_ssize_t n)
    double fdnn_sq_sum_f64(const double *x, Py_ssize_t n)
    void fdnn_csr_mm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                         const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const float *W,
                         Py_ssize_t units, float *Z)
    void fdnn_csr_mm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                         const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const double *W,
                         Py_ssize_t units, double *Z)
    void fdnn_csr_mtm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                          const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const float *dZ,
                          Py_ssize_t units, float scale, float *gW, Py_ssize_t n_features)
    void fdnn_csr_mtm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                          const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const double *dZ,
                          Py_ssize_t units, double scale, double *gW, Py_ssize_t n_features)
    void fdnn_csr_optim_f32(int op, const float *c, float *p, float *s1, float *s2, int idx64,
                            const void *indptr, const void *indices, const float *data,
                            const int64_t *rows, Py_ssize_t m, const float *dZ,
                            Py_ssize_t units, float scale, Py_ssize_t n_features,
                            Py_ssize_t *first, float *value)
    void fdnn_csr_optim_f64(int op, const double *c, double *p, double *s1, double *s2,
                            int idx64, const void *indptr, const void *indices,
                            const double *data, const int64_t *rows, Py_ssize_t m,
                            const double *dZ, Py_ssize_t units, double scale,
                            Py_ssize_t n_features, Py_ssize_t *first, double *value)

fdnn_init()



def code_names(str kind):
    """The names of the codes of one kind ("unary", "binary", "activation", "loss",
    "optimizer" or "metric"), in code order, as csrc/fdnn_codes.h lists them."""
    cdef bytes k = kind.encode()
    cdef list names = []
    cdef const char *name = fdnn_code_name(k, 0)
    while name != NULL:
        names.append(name.decode())
        name = fdnn_code_name(k, len(names))
    return names


def optimizer_slots(int code):
    """State arrays the optimizer ``code`` keeps per parameter array (-1: unknown code)."""
    return fdnn_optimizer_slots(code)


# the operation codes as module constants: SIGMOID, D_SIGMOID_Z, BW_SIGMOID, SGD_STEP, ...
globals().update({name.upper(): code for kind in ("unary", "binary")
                  for code, name in enumerate(code_names(kind))})


# ------------------------------------------- entry points for other modules

cdef int kernel_threads() noexcept nogil:
    return fdnn_get_num_threads()


cdef int team_threads() noexcept nogil:
    return fdnn_team_threads()


cdef size_t l2_bytes() noexcept nogil:
    return fdnn_l2_bytes()


cdef void team_note(const double *start, int nt) noexcept nogil:
    fdnn_team_note(start, nt)


cdef double team_clock() noexcept nogil:
    return fdnn_team_clock()


cdef void team_barrier() noexcept nogil:
    fdnn_team_barrier()


cdef int region_threads() noexcept nogil:
    return fdnn_region_threads()


cdef void interrupt_set(int (*fn)(void *) noexcept nogil, void *ctx,
                        double interval) noexcept nogil:
    fdnn_interrupt_set(fn, ctx, interval)


cdef void interrupt_arm(bint armed) noexcept nogil:
    fdnn_interrupt_arm(armed)


cdef bint interrupt_poll() noexcept nogil:
    return fdnn_interrupt_poll() != 0


cdef bint interrupted() noexcept nogil:
    return fdnn_interrupted() != 0


cdef void softmax_columns_f32(float *A, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    fdnn_softmax_f32(A, A, m, n, 1)   # inner == 1: no workspace, cannot fail


cdef void softmax_columns_f64(double *A, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    fdnn_softmax_f64(A, A, m, n, 1)


cdef void bias_act_f32(int act, float *Z, Py_ssize_t lines, Py_ssize_t len, const float *b,
                       int bias_per_line, float alpha) noexcept nogil:
    fdnn_bias_act_f32(act, Z, lines, len, b, bias_per_line, alpha)


cdef void bias_act_f64(int act, double *Z, Py_ssize_t lines, Py_ssize_t len, const double *b,
                       int bias_per_line, double alpha) noexcept nogil:
    fdnn_bias_act_f64(act, Z, lines, len, b, bias_per_line, alpha)


cdef void unary_f32(int op, const float *x, float *y, Py_ssize_t n, float alpha) noexcept nogil:
    fdnn_unary_f32(op, x, y, n, alpha)


cdef void unary_f64(int op, const double *x, double *y, Py_ssize_t n,
                    double alpha) noexcept nogil:
    fdnn_unary_f64(op, x, y, n, alpha)


cdef void binary_f32(int op, const float *dA, const float *a, float *y, Py_ssize_t n,
                     float alpha) noexcept nogil:
    fdnn_binary_f32(op, dA, a, y, n, alpha)


cdef void binary_f64(int op, const double *dA, const double *a, double *y, Py_ssize_t n,
                     double alpha) noexcept nogil:
    fdnn_binary_f64(op, dA, a, y, n, alpha)


cdef void optim_f32(int op, float *p, const float *g, float *s1, float *s2, Py_ssize_t n,
                    const float *c) noexcept nogil:
    fdnn_optim_f32(op, p, g, s1, s2, n, c)


cdef void optim_f64(int op, double *p, const double *g, double *s1, double *s2, Py_ssize_t n,
                    const double *c) noexcept nogil:
    fdnn_optim_f64(op, p, g, s1, s2, n, c)


cdef double sq_sum_f32(const float *x, Py_ssize_t n) noexcept nogil:
    return fdnn_sq_sum_f32(x, n)


cdef double sq_sum_f64(const double *x, Py_ssize_t n) noexcept nogil:
    return fdnn_sq_sum_f64(x, n)


cdef void csr_mm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                     const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const float *W,
                     Py_ssize_t units, float *Z) noexcept nogil:
    fdnn_csr_mm_f32(idx64, indptr, indices, data, rows, m, nnz, W, units, Z)


cdef void csr_mm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                     const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const double *W,
                     Py_ssize_t units, double *Z) noexcept nogil:
    fdnn_csr_mm_f64(idx64, indptr, indices, data, rows, m, nnz, W, units, Z)


cdef void csr_mtm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                      const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const float *dZ,
                      Py_ssize_t units, float scale, float *gW,
                      Py_ssize_t n_features) noexcept nogil:
    fdnn_csr_mtm_f32(idx64, indptr, indices, data, rows, m, nnz, dZ, units, scale, gW,
                     n_features)


cdef void csr_mtm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                      const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const double *dZ,
                      Py_ssize_t units, double scale, double *gW,
                      Py_ssize_t n_features) noexcept nogil:
    fdnn_csr_mtm_f64(idx64, indptr, indices, data, rows, m, nnz, dZ, units, scale, gW,
                     n_features)


cdef void csr_optim_f32(int op, const float *c, float *p, float *s1, float *s2, int idx64,
                        const void *indptr, const void *indices, const float *data,
                        const int64_t *rows, Py_ssize_t m, const float *dZ,
                        Py_ssize_t units, float scale, Py_ssize_t n_features,
                        Py_ssize_t *first, float *value) noexcept nogil:
    fdnn_csr_optim_f32(op, c, p, s1, s2, idx64, indptr, indices, data, rows, m, dZ, units,
                       scale, n_features, first, value)


cdef void csr_optim_f64(int op, const double *c, double *p, double *s1, double *s2, int idx64,
                        const void *indptr, const void *indices, const double *data,
                        const int64_t *rows, Py_ssize_t m, const double *dZ,
                        Py_ssize_t units, double scale, Py_ssize_t n_features,
                        Py_ssize_t *first, double *value) noexcept nogil:
    fdnn_csr_optim_f64(op, c, p, s1, s2, idx64, indptr, indices, data, rows, m, dZ, units,
                       scale, n_features, first, value)


cdef void gemm_nn_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a,
                      Py_ssize_t rs_a, Py_ssize_t cs_a, const float *b, Py_ssize_t ldb, float *c,
                      Py_ssize_t ldc) noexcept nogil:
    fdnn_gemm_nn_f32(M, N, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc)


cdef void gemm_nn_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a,
                      Py_ssize_t rs_a, Py_ssize_t cs_a, const double *b, Py_ssize_t ldb,
                      double *c, Py_ssize_t ldc) noexcept nogil:
    fdnn_gemm_nn_f64(M, N, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc)


cdef void gemm_nt_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a,
                      Py_ssize_t lda, const float *b, Py_ssize_t ldb, float *c,
                      Py_ssize_t ldc) noexcept nogil:
    fdnn_gemm_nt_f32(M, N, K, alpha, a, lda, b, ldb, c, ldc)


cdef void gemm_nt_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a,
                      Py_ssize_t lda, const double *b, Py_ssize_t ldb, double *c,
                      Py_ssize_t ldc) noexcept nogil:
    fdnn_gemm_nt_f64(M, N, K, alpha, a, lda, b, ldb, c, ldc)


cdef void gemm_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a,
                   Py_ssize_t rs_a, Py_ssize_t cs_a, const float *b, Py_ssize_t rs_b,
                   Py_ssize_t cs_b, float beta, float *c, Py_ssize_t ldc, int act,
                   float act_alpha, const float *bias, int bias_per_row, int bwd,
                   const float *act_a, Py_ssize_t ld_act, float *db,
                   float db_scale, int opt, float *opt_p, float *opt_s1, float *opt_s2,
                   const float *opt_c, int split, int share, int of) noexcept nogil:
    cdef fdnn_gemm_args_f32 g
    g.M, g.N, g.K, g.alpha, g.beta = M, N, K, alpha, beta
    g.a, g.rs_a, g.cs_a, g.b, g.rs_b, g.cs_b, g.c, g.ldc = a, rs_a, cs_a, b, rs_b, cs_b, c, ldc
    g.act, g.act_alpha, g.bias, g.bias_per_row = act, act_alpha, bias, bias_per_row
    g.bwd, g.act_a, g.ld_act, g.db, g.db_scale = bwd, act_a, ld_act, db, db_scale
    g.opt, g.opt_p, g.opt_s1, g.opt_s2, g.opt_c = opt, opt_p, opt_s1, opt_s2, opt_c
    g.split = split
    if share >= 0:
        fdnn_gemm_share_f32(&g, share, of)
    else:
        fdnn_gemm_f32(&g)


cdef void gemm_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a,
                   Py_ssize_t rs_a, Py_ssize_t cs_a, const double *b, Py_ssize_t rs_b,
                   Py_ssize_t cs_b, double beta, double *c, Py_ssize_t ldc, int act,
                   double act_alpha, const double *bias, int bias_per_row, int bwd,
                   const double *act_a, Py_ssize_t ld_act, double *db,
                   double db_scale, int opt, double *opt_p, double *opt_s1, double *opt_s2,
                   const double *opt_c, int split, int share, int of) noexcept nogil:
    cdef fdnn_gemm_args_f64 g
    g.M, g.N, g.K, g.alpha, g.beta = M, N, K, alpha, beta
    g.a, g.rs_a, g.cs_a, g.b, g.rs_b, g.cs_b, g.c, g.ldc = a, rs_a, cs_a, b, rs_b, cs_b, c, ldc
    g.act, g.act_alpha, g.bias, g.bias_per_row = act, act_alpha, bias, bias_per_row
    g.bwd, g.act_a, g.ld_act, g.db, g.db_scale = bwd, act_a, ld_act, db, db_scale
    g.opt, g.opt_p, g.opt_s1, g.opt_s2, g.opt_c = opt, opt_p, opt_s1, opt_s2, opt_c
    g.split = split
    if share >= 0:
        fdnn_gemm_share_f64(&g, share, of)
    else:
        fdnn_gemm_f64(&g)


def gemm_tile(bint f64, int which=0):
    """(rows, columns) of the packed product's register tile ``which`` on the current SIMD
    path: 0 its fastest, 1 the one it takes for products that tile pads less (the same
    as 0 on a path with one tile)."""
    cdef int rows, cols
    fdnn_gemm_tile(f64, which, &rows, &cols)
    return rows, cols


def gemm_tile_for(bint f64, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t rs_b):
    """The register tile (0 or 1) a packed product C (M, N) = A (M, K) B (K, N) runs on,
    B's row stride ``rs_b`` in elements."""
    return fdnn_gemm_tile_for(f64, M, N, K, rs_b)


def gemm_grid_rows(bint f64, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t rs_a,
                   Py_ssize_t cs_a, Py_ssize_t rs_b, Py_ssize_t cs_b, int split, int nt):
    """The threads across C's rows of the grid a team of ``nt`` cuts a packed product
    C (M, N) = A (M, K) B (K, N) into (strides in elements; split: 0 by cost, 1 C's rows,
    2 its columns), for tests."""
    cdef fdnn_gemm_args_f32 g32
    cdef fdnn_gemm_args_f64 g64
    memset(&g32, 0, sizeof(g32))
    memset(&g64, 0, sizeof(g64))
    if f64:
        g64.M, g64.N, g64.K, g64.rs_a, g64.cs_a, g64.rs_b, g64.cs_b = M, N, K, rs_a, cs_a, rs_b, cs_b
        g64.act, g64.bwd, g64.opt, g64.split = -1, -1, -1, split
        return fdnn_gemm_grid_rows_f64(&g64, nt)
    g32.M, g32.N, g32.K, g32.rs_a, g32.cs_a, g32.rs_b, g32.cs_b = M, N, K, rs_a, cs_a, rs_b, cs_b
    g32.act, g32.bwd, g32.opt, g32.split = -1, -1, -1, split
    return fdnn_gemm_grid_rows_f32(&g32, nt)


def force_gemm_tile(int which):
    """Run every packed product on register tile ``which`` (0 or 1), or on the one the
    engine picks by shape (-1, the default); for tests."""
    fdnn_gemm_force_tile(which)


cdef void act_backward_f32(int op, const float *dA, const float *a, float *dZ, Py_ssize_t lines,
                           Py_ssize_t len, float *db, int db_per_line, float scale,
                           float alpha) noexcept nogil:
    fdnn_act_backward_f32(op, dA, a, dZ, lines, len, db, db_per_line, scale, alpha)


cdef void act_backward_f64(int op, const double *dA, const double *a, double *dZ,
                           Py_ssize_t lines, Py_ssize_t len, double *db, int db_per_line,
                           double scale, double alpha) noexcept nogil:
    fdnn_act_backward_f64(op, dA, a, dZ, lines, len, db, db_per_line, scale, alpha)


cdef void bn_forward_f32(const float *Z, Py_ssize_t n, Py_ssize_t m, bint stats, double eps,
                         double *mean, double *var, double *inv_std, const float *gamma,
                         const float *beta, float *N, int act, float *A,
                         float alpha) noexcept nogil:
    fdnn_bn_forward_f32(Z, n, m, stats, eps, mean, var, inv_std, gamma, beta, N, act, A, alpha)


cdef void bn_forward_f64(const double *Z, Py_ssize_t n, Py_ssize_t m, bint stats, double eps,
                         double *mean, double *var, double *inv_std, const double *gamma,
                         const double *beta, double *N, int act, double *A,
                         double alpha) noexcept nogil:
    fdnn_bn_forward_f64(Z, n, m, stats, eps, mean, var, inv_std, gamma, beta, N, act, A, alpha)


cdef void bn_backward_f32(int op, const float *G, const float *a, float alpha, const float *Z,
                          Py_ssize_t n, Py_ssize_t m, const double *mean,
                          const double *inv_std, const float *gamma, float *dX, float *dgamma,
                          float *dbeta, float *db, double scale, double *work) noexcept nogil:
    fdnn_bn_backward_f32(op, G, a, alpha, Z, n, m, mean, inv_std, gamma, dX, dgamma, dbeta, db,
                         scale, work)


cdef void bn_backward_f64(int op, const double *G, const double *a, double alpha,
                          const double *Z, Py_ssize_t n, Py_ssize_t m, const double *mean,
                          const double *inv_std, const double *gamma, double *dX,
                          double *dgamma, double *dbeta, double *db, double scale,
                          double *work) noexcept nogil:
    fdnn_bn_backward_f64(op, G, a, alpha, Z, n, m, mean, inv_std, gamma, dX, dgamma, dbeta, db,
                         scale, work)


# ------------------------------------------------------------------ checks

cdef inline cnp.ndarray _new_like(cnp.ndarray a, cnp.NPY_ORDER order, void *descr, int subok):
    return <cnp.ndarray>PyArray_NewLikeArray(a, order, NULL, 0)


cdef inline tuple _shape(cnp.ndarray a):
    return (<object>a).shape


cdef inline bint _is_float(cnp.ndarray a):
    cdef int t = cnp.PyArray_TYPE(a)
    return t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64


cpdef cnp.ndarray as_float_array(object x, str name):
    """Return ``x`` as a native-endian float32/float64 ndarray, or raise TypeError.

    ndarrays and NumPy scalars must already be float32 or float64. Python
    scalars, lists and tuples are converted like NumPy converts them, with
    integers and booleans becoming float64.
    """
    cdef cnp.ndarray arr
    if cnp.PyArray_CheckExact(x):
        arr = <cnp.ndarray>x
    elif isinstance(x, (float, int, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
    else:
        arr = np.asarray(x)
    if not _is_float(arr):
        raise TypeError(
            f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    if not cnp.PyArray_ISNOTSWAPPED(arr):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


cdef inline bint _direct(cnp.ndarray a):
    """True when the kernel can read ``a`` as one flat aligned block."""
    return cnp.PyArray_ISALIGNED(a) and (
        cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_IS_F_CONTIGUOUS(a))


cdef inline bint _same_layout(cnp.ndarray a, cnp.ndarray b):
    """True when flat index i names the same element of a and of b."""
    return ((cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_IS_C_CONTIGUOUS(b))
            or (cnp.PyArray_IS_F_CONTIGUOUS(a) and cnp.PyArray_IS_F_CONTIGUOUS(b)))


cdef inline bint _overlap(cnp.ndarray a, cnp.ndarray b, bint allow_identical):
    """Whether two contiguous arrays share memory (same start allowed if asked)."""
    cdef char *pa = <char *>cnp.PyArray_DATA(a)
    cdef char *pb = <char *>cnp.PyArray_DATA(b)
    if allow_identical and pa == pb:
        return False
    return pa < pb + cnp.PyArray_NBYTES(b) and pb < pa + cnp.PyArray_NBYTES(a)


cdef cnp.ndarray _check_out(object out, tuple shape, object dtype):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    cdef cnp.ndarray y = <cnp.ndarray>out
    if y.dtype != dtype:
        raise TypeError(f"out must have dtype {np.dtype(dtype)}, got {y.dtype}")
    if _shape(y) != shape:
        raise ValueError(f"out must have shape {shape}, got {_shape(y)}")
    if not cnp.PyArray_ISWRITEABLE(y):
        raise ValueError("out must be writeable, got a read-only array")
    return y


cdef inline object _result(cnp.ndarray y, object out):
    """NumPy's convention: a 0-d result without ``out`` comes back as a scalar."""
    if out is None and cnp.PyArray_NDIM(y) == 0:
        return y[()]
    return y


cdef inline cnp.ndarray _contiguous(cnp.ndarray a):
    return a if _direct(a) else np.array(a, order="C", copy=True)


# ------------------------------------------------------------- kernel calls

cdef void _call_unary(int op, cnp.ndarray x, cnp.ndarray y, double alpha) noexcept:
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
        with nogil:
            fdnn_unary_f32(op, <const float *>px, <float *>py, n, <float>alpha)
    else:
        with nogil:
            fdnn_unary_f64(op, <const double *>px, <double *>py, n, alpha)


cdef void _call_binary(int op, cnp.ndarray g, cnp.ndarray x, cnp.ndarray y, double alpha) noexcept:
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
        with nogil:
            fdnn_binary_f32(op, <const float *>pg, <const float *>px, <float *>py, n, <float>alpha)
    else:
        with nogil:
            fdnn_binary_f64(op, <const double *>pg, <const double *>px, <double *>py, n, alpha)


cdef inline bint _fits(cnp.ndarray src, cnp.ndarray y):
    """Whether a kernel may write straight from the direct array src into y."""
    return _direct(y) and _same_layout(src, y) and not _overlap(src, y, False)


def unary(int op, z, out=None, double alpha=0.0, str name="z"):
    """y = f(z) element-wise for kernel ``op``; see fastdnn.functional."""
    if not 0 <= op < FDNN_N_UNARY:
        raise ValueError(f"unknown element-wise kernel {op}")
    cdef cnp.ndarray y, xs, tmp, x
    if out is not None and _plain_one(z) and _plain_like(out, <cnp.ndarray>z, True) and (
            out is z or not _overlap(<cnp.ndarray>z, <cnp.ndarray>out, True)):
        # a preallocated out= of the input's kind: nothing to convert or check further
        if cnp.PyArray_SIZE(<cnp.ndarray>z) > 0:
            _call_unary(op, <cnp.ndarray>z, <cnp.ndarray>out, alpha)
        return out
    x = as_float_array(z, name)
    if out is None:
        # a permuted (neither C nor F) input gets a C result: the kernel writes it directly
        y = (_new_like(x, cnp.NPY_KEEPORDER, NULL, 0) if _direct(x)
             else _new_like(x, cnp.NPY_CORDER, NULL, 0))
    else:
        y = _check_out(out, _shape(x), x.dtype)
    if cnp.PyArray_SIZE(x) == 0:
        return _result(y, out)
    if _direct(x) and _direct(y) and _same_layout(x, y) and not _overlap(x, y, True):
        _call_unary(op, x, y, alpha)
        return _result(y, out)
    xs = _contiguous(x)
    if _fits(xs, y):
        _call_unary(op, xs, y, alpha)
    else:
        tmp = _new_like(xs, cnp.NPY_KEEPORDER, NULL, 0)
        _call_unary(op, xs, tmp, alpha)
        np.copyto(y, tmp)
    return _result(y, out)


cdef tuple _broadcast(cnp.ndarray g, cnp.ndarray x, str gname, str xname):
    if _shape(g) == _shape(x):
        return _shape(x)
    try:
        return np.broadcast_shapes(_shape(g), _shape(x))
    except ValueError:
        raise ValueError(
            f"{gname} with shape {_shape(g)} and {xname} with shape {_shape(x)} "
            "cannot be broadcast together") from None


cdef tuple _promote(cnp.ndarray g, cnp.ndarray x, object g_obj, object x_obj):
    """Mixed float32/float64 arrays compute in float64, as NumPy would; a Python
    scalar takes the dtype of the other operand (NumPy's weak scalars)."""
    if cnp.PyArray_TYPE(g) == cnp.PyArray_TYPE(x):
        return g, x
    if type(g_obj) in (float, int, bool):
        return g.astype(x.dtype), x
    if type(x_obj) in (float, int, bool):
        return g, x.astype(g.dtype)
    return g.astype(np.float64), x.astype(np.float64)


cdef cnp.ndarray _materialize(cnp.ndarray a, tuple shape):
    if _shape(a) != shape:
        a = np.broadcast_to(a, shape)
    return _contiguous(a)


cdef inline bint _plain_like(object obj, cnp.ndarray x, bint writeable):
    """obj: an exact ndarray with x's native float type, shape and contiguous layout (an
    aligned, direct array), writeable if asked: one that can go straight to a kernel."""
    if not cnp.PyArray_CheckExact(obj):
        return False
    cdef cnp.ndarray y = <cnp.ndarray>obj
    cdef int d, nd = cnp.PyArray_NDIM(x)
    if not (cnp.PyArray_TYPE(y) == cnp.PyArray_TYPE(x) and cnp.PyArray_NDIM(y) == nd
            and cnp.PyArray_ISNOTSWAPPED(y) and _direct(y) and _same_layout(y, x)
            and (not writeable or cnp.PyArray_ISWRITEABLE(y))):
        return False
    for d in range(nd):
        if cnp.PyArray_DIM(y, d) != cnp.PyArray_DIM(x, d):
            return False
    return True


cdef inline bint _plain_one(object z):
    """z: an exact, aligned, contiguous native float32/float64 ndarray."""
    if not cnp.PyArray_CheckExact(z):
        return False
    cdef cnp.ndarray x = <cnp.ndarray>z
    cdef int t = cnp.PyArray_TYPE(x)
    return (t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64) and cnp.PyArray_ISNOTSWAPPED(x) \
        and _direct(x)


cdef inline bint _plain_pair(object dA, object a, object out):
    """dA and a: exact ndarrays of one native float dtype, one shape and one contiguous
    layout, with out None or such an array too (writeable, the same as dA or a or apart
    from both): the case of every training step and of a preallocated out=, with nothing
    to convert, broadcast or check further."""
    if not (_plain_one(a) and _plain_like(dA, <cnp.ndarray>a, False)):
        return False
    if out is None:
        return True
    cdef cnp.ndarray g = <cnp.ndarray>dA, x = <cnp.ndarray>a
    if out is a:
        return cnp.PyArray_ISWRITEABLE(x) and not _overlap(g, x, True)
    return (_plain_like(out, x, True) and not _overlap(g, x, True)
            and not _overlap(<cnp.ndarray>out, g, True)
            and not _overlap(<cnp.ndarray>out, x, True))


def binary(int op, dA, a, out=None, double alpha=0.0, str gname="dA", str xname="a"):
    """y = dA * f'(a) element-wise with NumPy broadcasting; see fastdnn.functional."""
    if not 0 <= op < FDNN_N_BINARY or op == FDNN_BW_OUTPUT_SUB:
        raise ValueError(f"unknown element-wise kernel {op}")
    cdef cnp.ndarray y
    if _plain_pair(dA, a, out):
        y = <cnp.ndarray>out if out is not None else _new_like(<cnp.ndarray>a,
                                                               cnp.NPY_KEEPORDER, NULL, 0)
        if cnp.PyArray_SIZE(y) > 0:
            _call_binary(op, <cnp.ndarray>dA, <cnp.ndarray>a, y, alpha)
        return _result(y, out)
    cdef cnp.ndarray g = as_float_array(dA, gname)
    cdef cnp.ndarray x = as_float_array(a, xname)
    cdef cnp.ndarray gs, xs, tmp
    g, x = _promote(g, x, dA, a)
    cdef tuple shape = _broadcast(g, x, gname, xname)
    if out is None:
        if _shape(x) == shape and _direct(x):
            y = _new_like(x, cnp.NPY_KEEPORDER, NULL, 0)
        else:
            y = np.empty(shape, dtype=x.dtype)
    else:
        y = _check_out(out, shape, x.dtype)
    if cnp.PyArray_SIZE(y) == 0:
        return _result(y, out)
    if (_shape(g) == shape and _shape(x) == shape and _direct(g) and _direct(x) and _direct(y)
            and _same_layout(g, y) and _same_layout(x, y)
            and not _overlap(g, y, True) and not _overlap(x, y, True)):
        _call_binary(op, g, x, y, alpha)
        return _result(y, out)
    gs = _materialize(g, shape)
    xs = _materialize(x, shape)
    if not _same_layout(gs, xs):
        gs = np.ascontiguousarray(gs)
        xs = np.ascontiguousarray(xs)
    if _fits(xs, y) and _same_layout(gs, y) and not _overlap(gs, y, False):
        _call_binary(op, gs, xs, y, alpha)
    else:
        tmp = _new_like(xs, cnp.NPY_KEEPORDER, NULL, 0)
        _call_binary(op, gs, xs, tmp, alpha)
        np.copyto(y, tmp)
    return _result(y, out)


# ------------------------------------------------------------------ softmax

cdef tuple _axis_blocks(tuple shape, object axis, bint c_order):
    """(outer, n, inner) of a C- or F-contiguous array reduced over ``axis``."""
    cdef Py_ssize_t ndim = len(shape), ax, outer = 1, inner = 1, i
    if axis is None:
        return 1, int(np.prod(shape, dtype=np.intp)), 1
    ax = axis
    if not c_order:
        ax = ndim - 1 - ax
        shape = shape[::-1]
    for i in range(ax):
        outer *= shape[i]
    for i in range(ax + 1, ndim):
        inner *= shape[i]
    return outer, shape[ax], inner


cdef object _normalize_axis(object axis, int ndim):
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int or None, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(int(axis), ndim, "axis")
    return int(axis) % ndim


cdef int _call_softmax(cnp.ndarray g, cnp.ndarray x, cnp.ndarray y, tuple blocks) except -1:
    cdef Py_ssize_t outer = blocks[0], n = blocks[1], inner = blocks[2]
    cdef void *pg = cnp.PyArray_DATA(g) if g is not None else NULL
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int rc
    cdef bint f32 = cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32
    with nogil:
        if pg == NULL and f32:
            rc = fdnn_softmax_f32(<const float *>px, <float *>py, outer, n, inner)
        elif pg == NULL:
            rc = fdnn_softmax_f64(<const double *>px, <double *>py, outer, n, inner)
        elif f32:
            rc = fdnn_softmax_bw_f32(<const float *>pg, <const float *>px, <float *>py, outer, n, inner)
        else:
            rc = fdnn_softmax_bw_f64(<const double *>pg, <const double *>px, <double *>py, outer, n, inner)
    if rc != 0:
        raise MemoryError("softmax: could not allocate its workspace")
    return 0


cdef object _softmax_common(cnp.ndarray g, cnp.ndarray x, object axis, object out):
    """softmax(x) when g is None, else its backward a * (g - sum(g * a))."""
    cdef cnp.ndarray y, tmp
    axis = _normalize_axis(axis, cnp.PyArray_NDIM(x))
    if out is None:
        y = _new_like(x, cnp.NPY_KEEPORDER, NULL, 0)
    else:
        y = _check_out(out, _shape(x), x.dtype)
    if cnp.PyArray_SIZE(y) == 0:
        return _result(y, out)
    if g is not None and not _same_layout(g, x):
        g = np.ascontiguousarray(g)
        x = np.ascontiguousarray(x)
    cdef bint c_order = cnp.PyArray_IS_C_CONTIGUOUS(x)
    cdef tuple blocks = _axis_blocks(_shape(x), axis, c_order)
    # the kernels read every element of a slice before writing it: in place is fine
    if (_direct(y) and _same_layout(x, y) and not _overlap(x, y, True)
            and (g is None or not _overlap(g, y, True))):
        _call_softmax(g, x, y, blocks)
    else:
        tmp = _new_like(x, cnp.NPY_KEEPORDER, NULL, 0)
        _call_softmax(g, x, tmp, blocks)
        np.copyto(y, tmp)
    return _result(y, out)


def sum_of_squares(x):
    """sum(x**2) in double of a contiguous (C or F) float32/float64 ndarray of any shape:
    the same whatever the thread count (blocks summed apart, added in order)."""
    if not (isinstance(x, np.ndarray) and (x.dtype == np.float32 or x.dtype == np.float64)
            and x.dtype.isnative and (x.flags.c_contiguous or x.flags.f_contiguous)):
        raise TypeError("x must be a contiguous native float32 or float64 ndarray")
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(a)
    cdef void *p = cnp.PyArray_DATA(a)
    cdef double s
    if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32:
        with nogil:
            s = fdnn_sq_sum_f32(<const float *>p, n)
    else:
        with nogil:
            s = fdnn_sq_sum_f64(<const double *>p, n)
    return s


def softmax(z, axis=0, out=None):
    """Numerically stable softmax along ``axis``; see fastdnn.functional."""
    if (type(axis) is int and out is not None and _plain_one(z)
            and 0 <= <int>axis < cnp.PyArray_NDIM(<cnp.ndarray>z)
            and _plain_like(out, <cnp.ndarray>z, True)
            and (out is z or not _overlap(<cnp.ndarray>z, <cnp.ndarray>out, True))):
        # a preallocated out= of the input's kind (the kernels read a slice before
        # writing it: out may be z)
        if cnp.PyArray_SIZE(<cnp.ndarray>z) > 0:
            _call_softmax(None, <cnp.ndarray>z, <cnp.ndarray>out, _axis_blocks(
                _shape(<cnp.ndarray>z), axis, cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>z)))
        return out
    cdef cnp.ndarray x = as_float_array(z, "z")
    if not _direct(x):
        x = _contiguous(x)
    return _softmax_common(None, x, axis, out)


def softmax_backward(dA, a, axis=0, out=None):
    """dZ = a * (dA - sum(dA * a, axis)); see fastdnn.functional."""
    cdef cnp.ndarray x
    if type(axis) is int and out is not None and _plain_pair(dA, a, out):
        x = <cnp.ndarray>a
        if 0 <= <int>axis < cnp.PyArray_NDIM(x):
            if cnp.PyArray_SIZE(x) > 0:
                _call_softmax(<cnp.ndarray>dA, x, <cnp.ndarray>out, _axis_blocks(
                    _shape(x), axis, cnp.PyArray_IS_C_CONTIGUOUS(x)))
            return out
    cdef cnp.ndarray g = as_float_array(dA, "dA")
    x = as_float_array(a, "a")
    g, x = _promote(g, x, dA, a)
    cdef tuple shape = _broadcast(g, x, "dA", "a")
    g = _materialize(g, shape)
    x = _materialize(x, shape)
    return _softmax_common(g, x, axis, out)


# ------------------------------------------------------------ configuration

def simd_path():
    """Name of the kernel variant in use: 'avx512', 'avx2' or 'portable'."""
    return fdnn_simd_name().decode()


def simd_available(str name):
    """Whether this build and CPU can run the kernel variant ``name``."""
    return bool(fdnn_simd_available(name.encode()))


def set_simd_path(str name):
    """Switch the kernel variant ('auto', 'portable', 'avx2', 'avx512')."""
    cdef int rc = fdnn_set_simd(name.encode())
    if rc == -1:
        raise ValueError(
            f"simd path must be one of 'auto', 'portable', 'avx2', 'avx512', got {name!r}")
    if rc == -2:
        raise ValueError(f"simd path {name!r} is not supported by this CPU or build")


def stream_from():
    """Output bytes from which element-wise passes write past the caches (0: never)."""
    return fdnn_stream_from()


def stream_count():
    """Element-wise calls that have streamed their output since the library was loaded."""
    return fdnn_stream_count()


def set_stream_from(Py_ssize_t nbytes):
    """Set that size (tests force small ones); 0 goes back to the last-level cache's size."""
    if nbytes < 0:
        raise ValueError(f"nbytes must be >= 0, got {nbytes}")
    fdnn_set_stream_from(<size_t>nbytes)


def store_learned(str kind, int op, dtype):
    """What the ``kind`` ('unary' or 'binary') pass ``op`` in ``dtype`` learned from its
    first large calls: 'stored' (ordinary stores were faster), 'streamed', or None while
    it is still timing both."""
    if kind not in ("unary", "binary"):
        raise ValueError(f"kind must be 'unary' or 'binary', got {kind!r}")
    if not 0 <= op < (FDNN_N_UNARY if kind == "unary" else FDNN_N_BINARY):
        raise ValueError(f"op must be a {kind} op code, got {op}")
    cdef int way = fdnn_store_learned(kind == "binary", op, np.dtype(dtype) == np.float64)
    return None if way < 0 else ("stored", "streamed")[way]


def stream_relearn():
    """Forget what every pass learned about its stores: the next large calls time both
    ways again."""
    fdnn_stream_relearn()


def openmp_enabled():
    """Whether the kernels were compiled with OpenMP."""
    return bool(fdnn_openmp_enabled())


def get_num_threads():
    """Threads the kernels use for large arrays."""
    return fdnn_get_num_threads()


def get_user_threads():
    """The count set by set_num_threads, 0 when following the defaults."""
    return fdnn_get_user_threads()


def team_backoffs():
    """How many times the thread team has backed off since the library was loaded: run
    short passes on the calling thread alone for 0.25-20 ms because its threads started
    late twice in a row."""
    return fdnn_team_backoffs()


def set_num_threads(int n):
    """Fix the thread count (n >= 1), or follow OMP_NUM_THREADS/threadpoolctl (n = 0)."""
    fdnn_set_num_threads(n)
