# GEMM over scipy.linalg.cython_blas for 2-D arrays in C or F order.
#
# BLAS is column-major. A C-contiguous (r, c) array is a column-major (c, r)
# matrix, its transpose, so any mix of orders becomes transpose flags and
# leading dimensions, never a copy. When C is row-major we compute
# C^T = B^T A^T instead.
cimport numpy as cnp
from scipy.linalg.cython_blas cimport dgemm, sgemm

from fastdnn._kernels._elementwise cimport (blas_dgemm64, blas_sgemm64, gemm_nn_f32, gemm_nn_f64,
                                            gemm_nt_f32, gemm_nt_f64)

cdef enum:
    # Up to this many multiply-adds the register-blocked direct loops (csrc/fdnn_gemm_type.h)
    # beat a BLAS call (its overhead, and its threads, which only pay off above this).
    SMALL_GEMM = 1 << 18

cdef extern from *:
    """
    #define FDNN_INT_MAX 2147483647
    """
    Py_ssize_t FDNN_INT_MAX


# OpenBLAS of the scipy-openblas64 package (ILP64) when fastdnn._runtime loaded it: 10-50 %
# faster than SciPy's build on small products; else scipy.linalg.cython_blas.
ctypedef void (*sgemm64_t)(const char *ta, const char *tb, const long long *m,
                           const long long *n, const long long *k, const float *alpha,
                           const float *a, const long long *lda, const float *b,
                           const long long *ldb, const float *beta, float *c,
                           const long long *ldc) noexcept nogil
ctypedef void (*dgemm64_t)(const char *ta, const char *tb, const long long *m,
                           const long long *n, const long long *k, const double *alpha,
                           const double *a, const long long *lda, const double *b,
                           const long long *ldb, const double *beta, double *c,
                           const long long *ldc) noexcept nogil

ctypedef fused blas_real:
    float
    double


cdef inline void _xgemm(char ta, char tb, int M, int N, int K, blas_real alpha, blas_real *A,
                        int lda, blas_real *B, int ldb, blas_real beta, blas_real *C,
                        int ldc) noexcept nogil:
    """Column-major C = alpha op(A) op(B) + beta C."""
    cdef long long m = M, n = N, k = K, la = lda, lb = ldb, lc = ldc
    cdef sgemm64_t s64
    cdef dgemm64_t d64
    if blas_real is float:
        s64 = <sgemm64_t>blas_sgemm64()
        if s64 != NULL:
            s64(&ta, &tb, &m, &n, &k, &alpha, A, &la, B, &lb, &beta, C, &lc)
        else:
            sgemm(&ta, &tb, &M, &N, &K, &alpha, A, &lda, B, &ldb, &beta, C, &ldc)
    else:
        d64 = <dgemm64_t>blas_dgemm64()
        if d64 != NULL:
            d64(&ta, &tb, &m, &n, &k, &alpha, A, &la, B, &lb, &beta, C, &lc)
        else:
            dgemm(&ta, &tb, &M, &N, &K, &alpha, A, &lda, B, &ldb, &beta, C, &ldc)


cdef inline bint _f_order(cnp.ndarray a) noexcept:
    """Treat a as column-major (ties, e.g. vectors, go to F)."""
    return cnp.PyArray_IS_F_CONTIGUOUS(a)


cdef inline bint _small_gemm(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C, double alpha) noexcept:
    """C = alpha A B with the direct loops when C has contiguous rows and B has contiguous
    rows (A any strides) or contiguous columns (then A needs contiguous rows)."""
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(C)
    cdef Py_ssize_t M = cnp.PyArray_DIM(C, 0), N = cnp.PyArray_DIM(C, 1)
    cdef Py_ssize_t K = cnp.PyArray_DIM(A, 1)
    cdef Py_ssize_t ldc = cnp.PyArray_STRIDE(C, 0) // s
    cdef Py_ssize_t rs_a = cnp.PyArray_STRIDE(A, 0) // s, cs_a = cnp.PyArray_STRIDE(A, 1) // s
    cdef Py_ssize_t rs_b = cnp.PyArray_STRIDE(B, 0) // s, cs_b = cnp.PyArray_STRIDE(B, 1) // s
    cdef void *pa = cnp.PyArray_DATA(A)
    cdef void *pb = cnp.PyArray_DATA(B)
    cdef void *pc = cnp.PyArray_DATA(C)
    cdef bint f32 = cnp.PyArray_TYPE(C) == cnp.NPY_FLOAT32
    if cnp.PyArray_STRIDE(C, 1) != s and N > 1:
        return False
    if M == 1:
        ldc = N
    if N == 1 and M > 1 and rs_b == 1 and (cs_a == 1 or rs_a == 1):
        # a matrix times a vector, as the row vector C^T = b^T A^T, so that the loops run
        # along A's contiguous axis and across M (the kernels' one-example tiles)
        with nogil:
            if cs_a == 1:
                if f32:
                    gemm_nt_f32(1, M, K, <float>alpha, <const float *>pb, K, <const float *>pa,
                                rs_a, <float *>pc, M)
                else:
                    gemm_nt_f64(1, M, K, alpha, <const double *>pb, K, <const double *>pa,
                                rs_a, <double *>pc, M)
            elif f32:
                gemm_nn_f32(1, M, K, <float>alpha, <const float *>pb, K, 1, <const float *>pa,
                            cs_a, <float *>pc, M)
            else:
                gemm_nn_f64(1, M, K, alpha, <const double *>pb, K, 1, <const double *>pa,
                            cs_a, <double *>pc, M)
        return True
    if cs_b == 1 or N == 1:
        with nogil:
            if f32:
                gemm_nn_f32(M, N, K, <float>alpha, <const float *>pa, rs_a, cs_a,
                            <const float *>pb, rs_b, <float *>pc, ldc)
            else:
                gemm_nn_f64(M, N, K, alpha, <const double *>pa, rs_a, cs_a,
                            <const double *>pb, rs_b, <double *>pc, ldc)
        return True
    if rs_b == 1 and (cs_a == 1 or K == 1):
        with nogil:
            if f32:
                gemm_nt_f32(M, N, K, <float>alpha, <const float *>pa, rs_a, <const float *>pb,
                            cs_b, <float *>pc, ldc)
            else:
                gemm_nt_f64(M, N, K, alpha, <const double *>pa, rs_a, <const double *>pb,
                            cs_b, <double *>pc, ldc)
        return True
    return False


cdef inline int gemm(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C, double alpha,
                     double beta, bint direct=True) except -1:
    """C = alpha * A @ B + beta * C; A (M, K), B (K, N), C (M, N), each C- or F-contiguous,
    all of one float dtype; C must not overlap A or B. direct=False: BLAS whatever the size."""
    cdef Py_ssize_t M = cnp.PyArray_DIM(C, 0), N = cnp.PyArray_DIM(C, 1)
    cdef Py_ssize_t K = cnp.PyArray_DIM(A, 1)
    cdef cnp.ndarray first, second
    cdef char ta, tb
    cdef int m, n, k, lda, ldb, ldc
    cdef float af = alpha, bf = beta
    if M == 0 or N == 0:
        return 0
    if direct and beta == 0 and M * N * K <= SMALL_GEMM and _small_gemm(A, B, C, alpha):
        return 0
    if M >= FDNN_INT_MAX or N >= FDNN_INT_MAX or K >= FDNN_INT_MAX:
        raise ValueError(f"matrix dimensions must be < 2**31 for BLAS, got {M}x{K} @ {K}x{N}")
    if _f_order(C):
        first, second = A, B
        m, n, k = <int>M, <int>N, <int>K
        ta = b'N' if _f_order(A) else b'T'
        lda = <int>M if _f_order(A) else <int>K
        tb = b'N' if _f_order(B) else b'T'
        ldb = <int>K if _f_order(B) else <int>N
        ldc = <int>M
    else:
        first, second = B, A
        m, n, k = <int>N, <int>M, <int>K
        ta = b'N' if not _f_order(B) else b'T'
        lda = <int>N if not _f_order(B) else <int>K
        tb = b'N' if not _f_order(A) else b'T'
        ldb = <int>K if not _f_order(A) else <int>M
        ldc = <int>N
    lda = lda if lda > 1 else 1
    ldb = ldb if ldb > 1 else 1
    ldc = ldc if ldc > 1 else 1
    cdef void *p1 = cnp.PyArray_DATA(first)
    cdef void *p2 = cnp.PyArray_DATA(second)
    cdef void *pc = cnp.PyArray_DATA(C)
    if cnp.PyArray_TYPE(C) == cnp.NPY_FLOAT32:
        with nogil:
            _xgemm(ta, tb, m, n, k, af, <float *>p1, lda, <float *>p2, ldb, bf, <float *>pc, ldc)
    else:
        with nogil:
            _xgemm(ta, tb, m, n, k, alpha, <double *>p1, lda, <double *>p2, ldb, beta,
                   <double *>pc, ldc)
    return 0
