# Matrix products on fastdnn's own engine (csrc/fdnn_gemm_packed.h, csrc/fdnn_gemm_type.h).
#
# The packed engine takes any strides for A and B and a row-major C, so every
# transpose case is a packing order, never a copy; a column-major C is the
# row-major C^T = B^T A^T.
cimport numpy as cnp

from fastdnn._kernels._elementwise cimport (bias_act_f32, bias_act_f64, gemm_f32, gemm_f64,
                                            gemm_nn_f32, gemm_nn_f64, gemm_nt_f32, gemm_nt_f64)

cdef enum:
    # Up to this many multiply-adds the register-blocked direct loops (csrc/fdnn_gemm_type.h)
    # beat packing the operands (its cost, and the threads, pay off above this).
    SMALL_GEMM = 1 << 18

cdef extern from "fdnn_kernels.h":
    enum:
        # rows of C (examples), or columns with a transposed A, that the direct loops
        # stream at any size (csrc/fdnn_kernels.h)
        FDNN_FEW_ROWS
        # how a team cuts C: by the engine's cost model, its rows only, its columns only
        FDNN_SPLIT_COST
        FDNN_SPLIT_ROWS
        FDNN_SPLIT_COLS

cdef extern from *:
    """
    #define FDNN_INT_MAX 2147483647
    """
    Py_ssize_t FDNN_INT_MAX

ctypedef fused blas_real:
    float
    double


cdef inline int _transposed_split(int split) noexcept nogil:
    """The split of C^T that cuts C as `split` does (rows for columns)."""
    if split == FDNN_SPLIT_ROWS:
        return FDNN_SPLIT_COLS
    return FDNN_SPLIT_ROWS if split == FDNN_SPLIT_COLS else split


cdef inline void colmajor_gemm(char ta, char tb, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                               blas_real alpha, const blas_real *A, Py_ssize_t lda,
                               const blas_real *B, Py_ssize_t ldb, blas_real beta, blas_real *C,
                               Py_ssize_t ldc, int act=-1, blas_real act_alpha=0,
                               const blas_real *bias=NULL, int bwd=-1,
                               const blas_real *act_a=NULL, Py_ssize_t ld_act=0,
                               blas_real *db=NULL, blas_real db_scale=0, int opt=-1,
                               blas_real *opt_p=NULL, blas_real *opt_s1=NULL,
                               blas_real *opt_s2=NULL,
                               const blas_real *opt_c=NULL, int share=-1,
                               int of=0, int split=0) noexcept nogil:
    """Column-major C = alpha op(A) op(B) + beta C with BLAS's arguments, on the packed
    engine as the row-major C^T = op(B)^T op(A)^T; then, when act >= 0, C = g(C + bias)
    on each tile (bias[i] for row i of C, or none when NULL); or, when bwd >= 0 (a
    backward op), C = C * g'(act_a) with act_a column-major like C (leading dimension
    ld_act) and db[i] = db_scale * the sum of C's row i (db may be NULL); or, when opt is
    an optimizer other than GD, its step on opt_p (and state opt_s1, opt_s2, column-major
    like C) from each finished tile of C, with the coefficients opt_c (FDNN_OC_*).
    share >= 0: only share `share` of `of` of the product, on the calling thread (no db):
    `of` callers, one share each, make it whole, bit for bit. split: how a team cuts C
    (0 = FDNN_SPLIT_COST, FDNN_SPLIT_ROWS: C's rows only, FDNN_SPLIT_COLS: its columns
    only; the same result)."""
    # C^T's A is op(B)^T: element (j, k) is op(B)[k, j]; its B is op(A)^T: (k, i) is op(A)[i, k]
    cdef Py_ssize_t rs_a = ldb if tb == b'N' else 1, cs_a = 1 if tb == b'N' else ldb
    cdef Py_ssize_t rs_b = lda if ta == b'N' else 1, cs_b = 1 if ta == b'N' else lda
    split = _transposed_split(split)
    if blas_real is float:
        gemm_f32(N, M, K, alpha, B, rs_a, cs_a, A, rs_b, cs_b, beta, C, ldc, act, act_alpha,
                 bias, 0, bwd, act_a, ld_act, db, db_scale, opt, opt_p, opt_s1, opt_s2, opt_c,
                 split, share, of)
    else:
        gemm_f64(N, M, K, alpha, B, rs_a, cs_a, A, rs_b, cs_b, beta, C, ldc, act, act_alpha,
                 bias, 0, bwd, act_a, ld_act, db, db_scale, opt, opt_p, opt_s1, opt_s2, opt_c,
                 split, share, of)


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


cdef inline bint _few(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C) noexcept:
    """C has a few rows (B with contiguous rows, or a transposed B), is one column, or has
    a few columns of a transposed A: the direct loops stream the long operand, split across
    the team when it is large, where the packed engine would pad its tiles to mostly zeros."""
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(C)
    cdef Py_ssize_t M = cnp.PyArray_DIM(C, 0), N = cnp.PyArray_DIM(C, 1)
    cdef bint rows_b = cnp.PyArray_STRIDE(B, 1) == s
    # a transposed B with A's rows contiguous: dot products along K (x W^T for a few x)
    cdef bint dots = cnp.PyArray_STRIDE(B, 0) == s and cnp.PyArray_STRIDE(A, 1) == s
    return ((M <= FDNN_FEW_ROWS and (rows_b or dots)) or N == 1
            or (N <= FDNN_FEW_ROWS and rows_b and cnp.PyArray_STRIDE(A, 0) == s))


cdef inline int gemm(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C, double alpha,
                     double beta, bint direct=True, int act=-1, double act_alpha=0,
                     const void *bias=NULL, int shares=0, int split=0) except -1:
    """C = alpha * A @ B + beta * C; A (M, K), B (K, N), C (M, N), each C- or F-contiguous,
    all of one float dtype; C must not overlap A or B. direct=False: the packed engine
    whatever the size. act >= 0: then C = g(C + bias) with bias (M contiguous values of
    C's dtype, one per row, or NULL), on each tile of the packed product. shares > 0: the
    engine's product as that many threads would split it, one share after another on the
    calling thread. split: how a team cuts C (FDNN_SPLIT_*)."""
    cdef Py_ssize_t M = cnp.PyArray_DIM(C, 0), N = cnp.PyArray_DIM(C, 1)
    cdef Py_ssize_t K = cnp.PyArray_DIM(A, 1)
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(C)
    cdef cnp.ndarray first = A, second = B
    cdef Py_ssize_t rs_a, cs_a, rs_b, cs_b, ldc
    cdef bint rows = cnp.PyArray_STRIDE(C, 1) == s or N == 1
    cdef bint f32 = cnp.PyArray_TYPE(C) == cnp.NPY_FLOAT32
    cdef void *pc = cnp.PyArray_DATA(C)
    if M == 0 or N == 0:
        return 0
    if (direct and beta == 0 and shares == 0 and (M * N * K <= SMALL_GEMM or _few(A, B, C))
            and _small_gemm(A, B, C, alpha)):
        if act >= 0:
            with nogil:
                if f32:
                    bias_act_f32(act, <float *>pc, M if rows else N, N if rows else M,
                                 <const float *>bias, rows, <float>act_alpha)
                else:
                    bias_act_f64(act, <double *>pc, M if rows else N, N if rows else M,
                                 <const double *>bias, rows, act_alpha)
        return 0
    if rows:
        rs_a, cs_a = cnp.PyArray_STRIDE(A, 0) // s, cnp.PyArray_STRIDE(A, 1) // s
        rs_b, cs_b = cnp.PyArray_STRIDE(B, 0) // s, cnp.PyArray_STRIDE(B, 1) // s
        ldc = cnp.PyArray_STRIDE(C, 0) // s if M > 1 else N
    else:
        # column-major C: the row-major C^T (N, M) = B^T A^T
        first, second = B, A
        M, N = N, M
        rs_a, cs_a = cnp.PyArray_STRIDE(B, 1) // s, cnp.PyArray_STRIDE(B, 0) // s
        rs_b, cs_b = cnp.PyArray_STRIDE(A, 1) // s, cnp.PyArray_STRIDE(A, 0) // s
        ldc = cnp.PyArray_STRIDE(C, 1) // s
        split = _transposed_split(split)
    cdef void *p1 = cnp.PyArray_DATA(first)
    cdef void *p2 = cnp.PyArray_DATA(second)
    cdef int share
    with nogil:
        for share in range(shares if shares > 0 else 1):
            if f32:
                gemm_f32(M, N, K, <float>alpha, <const float *>p1, rs_a, cs_a,
                         <const float *>p2, rs_b, cs_b, <float>beta, <float *>pc, ldc, act,
                         <float>act_alpha, <const float *>bias, rows, -1, NULL, 0, NULL, 0,
                         -1, NULL, NULL, NULL, NULL, split, share if shares > 0 else -1, shares)
            else:
                gemm_f64(M, N, K, alpha, <const double *>p1, rs_a, cs_a, <const double *>p2,
                         rs_b, cs_b, beta, <double *>pc, ldc, act, act_alpha,
                         <const double *>bias, rows, -1, NULL, 0, NULL, 0, -1, NULL, NULL,
                         NULL, NULL, split, share if shares > 0 else -1, shares)
    return 0
