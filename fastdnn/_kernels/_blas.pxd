# GEMM over scipy.linalg.cython_blas for 2-D arrays in C or F order.
#
# BLAS is column-major. A C-contiguous (r, c) array is a column-major (c, r)
# matrix, its transpose, so any mix of orders becomes transpose flags and
# leading dimensions, never a copy. When C is row-major we compute
# C^T = B^T A^T instead.
cimport numpy as cnp
from scipy.linalg.cython_blas cimport dgemm, sgemm

cdef extern from *:
    """
    #define FDNN_INT_MAX 2147483647
    """
    Py_ssize_t FDNN_INT_MAX


cdef inline bint _f_order(cnp.ndarray a) noexcept:
    """Treat a as column-major (ties, e.g. vectors, go to F)."""
    return cnp.PyArray_IS_F_CONTIGUOUS(a)


cdef inline int gemm(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C, double alpha,
                     double beta) except -1:
    """C = alpha * A @ B + beta * C; A (M, K), B (K, N), C (M, N), each C- or F-contiguous,
    all of one float dtype; C must not overlap A or B."""
    cdef Py_ssize_t M = cnp.PyArray_DIM(C, 0), N = cnp.PyArray_DIM(C, 1)
    cdef Py_ssize_t K = cnp.PyArray_DIM(A, 1)
    cdef cnp.ndarray first, second
    cdef char ta, tb
    cdef int m, n, k, lda, ldb, ldc
    cdef float af = alpha, bf = beta
    if M == 0 or N == 0:
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
            sgemm(&ta, &tb, &m, &n, &k, &af, <float *>p1, &lda, <float *>p2, &ldb, &bf,
                  <float *>pc, &ldc)
    else:
        with nogil:
            dgemm(&ta, &tb, &m, &n, &k, &alpha, <double *>p1, &lda, <double *>p2, &ldb, &beta,
                  <double *>pc, &ldc)
    return 0
