# Kernel entry points other extension modules cimport (shared dispatch state).
cimport numpy as cnp
from libc.stdint cimport int64_t

cpdef cnp.ndarray as_float_array(object x, str name)

cdef void bias_act_f32(int act, float *Z, Py_ssize_t lines, Py_ssize_t len, const float *b,
                       int bias_per_line, float alpha) noexcept nogil
cdef void bias_act_f64(int act, double *Z, Py_ssize_t lines, Py_ssize_t len, const double *b,
                       int bias_per_line, double alpha) noexcept nogil
cdef void act_backward_f32(int op, const float *dA, const float *a, float *dZ, Py_ssize_t lines,
                           Py_ssize_t len, float *db, int db_per_line, float scale,
                           float alpha) noexcept nogil
cdef void act_backward_f64(int op, const double *dA, const double *a, double *dZ,
                           Py_ssize_t lines, Py_ssize_t len, double *db, int db_per_line,
                           double scale, double alpha) noexcept nogil
# batch normalization over the team (csrc/fdnn_kernels.h, fdnn_bn_forward_*, fdnn_bn_backward_*)
cdef void bn_forward_f32(const float *Z, Py_ssize_t n, Py_ssize_t m, bint stats, double eps,
                         double *mean, double *var, double *inv_std, const float *gamma,
                         const float *beta, float *N, int act, float *A,
                         float alpha) noexcept nogil
cdef void bn_forward_f64(const double *Z, Py_ssize_t n, Py_ssize_t m, bint stats, double eps,
                         double *mean, double *var, double *inv_std, const double *gamma,
                         const double *beta, double *N, int act, double *A,
                         double alpha) noexcept nogil
cdef void bn_backward_f32(int op, const float *G, const float *a, float alpha, const float *Z,
                          Py_ssize_t n, Py_ssize_t m, const double *mean,
                          const double *inv_std, const float *gamma, float *dX, float *dgamma,
                          float *dbeta, float *db, double scale, double *work) noexcept nogil
cdef void bn_backward_f64(int op, const double *G, const double *a, double alpha,
                          const double *Z, Py_ssize_t n, Py_ssize_t m, const double *mean,
                          const double *inv_std, const double *gamma, double *dX,
                          double *dgamma, double *dbeta, double *db, double scale,
                          double *work) noexcept nogil
# y = f(x) for the unary op (threaded like the Python entry point)
cdef void unary_f32(int op, const float *x, float *y, Py_ssize_t n, float alpha) noexcept nogil
cdef void unary_f64(int op, const double *x, double *y, Py_ssize_t n,
                    double alpha) noexcept nogil
cdef void binary_f32(int op, const float *dA, const float *a, float *y, Py_ssize_t n,
                     float alpha) noexcept nogil
cdef void binary_f64(int op, const double *dA, const double *a, double *y, Py_ssize_t n,
                     double alpha) noexcept nogil
cdef void gemm_nn_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a,
                      Py_ssize_t rs_a, Py_ssize_t cs_a, const float *b, Py_ssize_t ldb, float *c,
                      Py_ssize_t ldc) noexcept nogil
cdef void gemm_nn_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a,
                      Py_ssize_t rs_a, Py_ssize_t cs_a, const double *b, Py_ssize_t ldb,
                      double *c, Py_ssize_t ldc) noexcept nogil
cdef void gemm_nt_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a,
                      Py_ssize_t lda, const float *b, Py_ssize_t ldb, float *c,
                      Py_ssize_t ldc) noexcept nogil
cdef void gemm_nt_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a,
                      Py_ssize_t lda, const double *b, Py_ssize_t ldb, double *c,
                      Py_ssize_t ldc) noexcept nogil
# the packed product C = alpha A B + beta C (A[i, k] = a[i rs_a + k cs_a], ..., C row-major),
# then C = g(C + bias) when act >= 0, or the backward epilogue C = C * g'(act_a) and
# db = db_scale * C's column sums when bwd >= 0; or, opt > 0 (not GD), the optimizer step
# of opt_p from each tile of C (fdnn_kernels.h, fdnn_gemm_args_*). split: how a team cuts C
# (FDNN_SPLIT_*: 0 by cost, 1 rows, 2 columns). share >= 0: only share `share` of `of` of
# the product, on the calling thread (fdnn_gemm_share_*; no db)
cdef void gemm_f32(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, float alpha, const float *a,
                   Py_ssize_t rs_a, Py_ssize_t cs_a, const float *b, Py_ssize_t rs_b,
                   Py_ssize_t cs_b, float beta, float *c, Py_ssize_t ldc, int act,
                   float act_alpha, const float *bias, int bias_per_row, int bwd,
                   const float *act_a, Py_ssize_t ld_act, float *db,
                   float db_scale, int opt, float *opt_p, float *opt_s1, float *opt_s2,
                   const float *opt_c, int split, int share, int of) noexcept nogil
cdef void gemm_f64(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, double alpha, const double *a,
                   Py_ssize_t rs_a, Py_ssize_t cs_a, const double *b, Py_ssize_t rs_b,
                   Py_ssize_t cs_b, double beta, double *c, Py_ssize_t ldc, int act,
                   double act_alpha, const double *bias, int bias_per_row, int bwd,
                   const double *act_a, Py_ssize_t ld_act, double *db,
                   double db_scale, int opt, double *opt_p, double *opt_s1, double *opt_s2,
                   const double *opt_c, int split, int share, int of) noexcept nogil
# one optimizer step in place (op, coefficients: fdnn_kernels.h's FDNN_OPT_*, FDNN_OC_*)
cdef void optim_f32(int op, float *p, const float *g, float *s1, float *s2, Py_ssize_t n,
                    const float *c) noexcept nogil
cdef void optim_f64(int op, double *p, const double *g, double *s1, double *s2, Py_ssize_t n,
                    const double *c) noexcept nogil
# the sum of x[i]^2 over n contiguous values, in double (the same whatever the thread count)
cdef double sq_sum_f32(const float *x, Py_ssize_t n) noexcept nogil
cdef double sq_sum_f64(const double *x, Py_ssize_t n) noexcept nogil
# Z (m, units) = X[rows] W and gW = scale X[rows]^T dZ for CSR arrays (int32 indices, or
# int64 with idx64), W and gW one row per feature (csrc/fdnn_sparse_type.h)
cdef void csr_mm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                     const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const float *W,
                     Py_ssize_t units, float *Z) noexcept nogil
cdef void csr_mm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                     const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const double *W,
                     Py_ssize_t units, double *Z) noexcept nogil
cdef void csr_mtm_f32(int idx64, const void *indptr, const void *indices, const float *data,
                      const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const float *dZ,
                      Py_ssize_t units, float scale, float *gW,
                      Py_ssize_t n_features) noexcept nogil
cdef void csr_mtm_f64(int idx64, const void *indptr, const void *indices, const double *data,
                      const int64_t *rows, Py_ssize_t m, Py_ssize_t nnz, const double *dZ,
                      Py_ssize_t units, double scale, double *gW,
                      Py_ssize_t n_features) noexcept nogil
# the optimizer step op (coefficients c) on p (n_features, units) and its state from the
# gradient scale X[rows]^T dZ, formed a block of rows at a time (first: n_features + 1 +
# nnz, value: nnz, scratch)
cdef void csr_optim_f32(int op, const float *c, float *p, float *s1, float *s2, int idx64,
                        const void *indptr, const void *indices, const float *data,
                        const int64_t *rows, Py_ssize_t m, const float *dZ,
                        Py_ssize_t units, float scale, Py_ssize_t n_features,
                        Py_ssize_t *first, float *value) noexcept nogil
cdef void csr_optim_f64(int op, const double *c, double *p, double *s1, double *s2, int idx64,
                        const void *indptr, const void *indices, const double *data,
                        const int64_t *rows, Py_ssize_t m, const double *dZ,
                        Py_ssize_t units, double scale, Py_ssize_t n_features,
                        Py_ssize_t *first, double *value) noexcept nogil
# softmax in place over each of the m contiguous columns of n values (F-ordered (n, m))
cdef void softmax_columns_f32(float *A, Py_ssize_t n, Py_ssize_t m) noexcept nogil
cdef void softmax_columns_f64(double *A, Py_ssize_t n, Py_ssize_t m) noexcept nogil
# threads the kernels may use (set_num_threads, OMP_NUM_THREADS)
cdef int kernel_threads() noexcept nogil
# threads a short region may use now (1 while the team backs off after late starts in two regions in a row), and
# the report of a region's threads' start times (team_clock(), -1: not started)
cdef int team_threads() noexcept nogil
# a core's level-2 cache, in bytes (csrc/fdnn_stream.c)
cdef size_t l2_bytes() noexcept nogil
cdef void team_note(const double *start, int nt) noexcept nogil
cdef double team_clock() noexcept nogil
# every thread of the enclosing parallel region waits for the others (outside a prange);
# the threads that region got (1 outside one)
cdef void team_barrier() noexcept nogil
cdef int region_threads() noexcept nogil
# the calling thread's interrupt poll (csrc/fdnn_kernels.h, fdnn_interrupt_*): fn(ctx) is
# called at most every `interval` s by interrupt_poll() and, while armed, between the
# pieces long products are cut into; once it returned nonzero, interrupted() is True and
# products return at once until the next interrupt_set (fn NULL: none)
cdef void interrupt_set(int (*fn)(void *) noexcept nogil, void *ctx,
                        double interval) noexcept nogil
cdef void interrupt_arm(bint armed) noexcept nogil
cdef bint interrupt_poll() noexcept nogil
cdef bint interrupted() noexcept nogil
