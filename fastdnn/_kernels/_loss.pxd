# The losses' sums: one definition of each formula and its clipping, for every compiled
# caller -- the training loop (_network), the layer path and fastdnn.losses (_losses.cost_sum)
# and the course API's unclipped compute_cost (_losses.cost_sum with clip=False).
# fastdnn/reference.py is their readable NumPy twin.
from libc.math cimport INFINITY, isfinite, log, log1p, fabs

cdef extern from "fdnn_codes.h" nogil:
    enum:
        FDNN_LOSS_BCE
        FDNN_LOSS_CCE

ctypedef fused a_real:
    float
    double

ctypedef fused y_real:
    float
    double


cdef inline void clip_bounds(bint f32, bint clip, double *lo, double *hi) noexcept nogil:
    """The cross-entropies read A clipped into [lo, hi]: [tiny, 1 - eps/2] of A's dtype
    (the smallest normal and the largest number below 1: log stays finite), or unclipped."""
    if not clip:
        lo[0], hi[0] = -INFINITY, INFINITY
    elif f32:
        lo[0], hi[0] = 1.1754943508222875e-38, 1.0 - 5.960464477539063e-08
    else:
        lo[0], hi[0] = 2.2250738585072014e-308, 1.0 - 1.1102230246251565e-16


cdef inline double bce_term(double a, double y, double lo, double hi) noexcept nogil:
    """y log a + (1 - y) log(1 - a), a clipped into [lo, hi]. Clipped, a 0/1 label needs one
    log (the other term is exactly 0); unclipped, 0 log 0 is NaN, as in NumPy."""
    if a < lo:
        a = lo
    elif a > hi:
        a = hi
    if lo > 0:
        if y == 1:
            return log(a)
        if y == 0:
            return log1p(-a)
    return y * log(a) + (1.0 - y) * log1p(-a)


cdef inline void _neumaier(double v, double *s, double *c) noexcept nogil:
    """s += v, the rounding error kept in c (Neumaier's compensated sum)."""
    cdef double t = s[0] + v
    if fabs(s[0]) >= fabs(v):
        c[0] += (s[0] - t) + v
    else:
        c[0] += (v - t) + s[0]
    s[0] = t


cdef inline double loss_sum(int loss, const a_real *A, const y_real *Y, Py_ssize_t n,
                            double lo, double hi, bint compensated) noexcept nogil:
    """Sum of the per-element loss over n values, in double: binary or categorical
    cross-entropy with A clipped into [lo, hi] (categorical: below only), or the half
    squared error. compensated: the cross-entropies' sum is Neumaier's (as accurate as
    NumPy's pairwise sum on long arrays; the training loop's short batches skip it)."""
    cdef Py_ssize_t i
    cdef double s = 0, c = 0, plain = 0, v, a
    if loss == FDNN_LOSS_BCE:
        for i in range(n):
            v = bce_term(A[i], Y[i], lo, hi)
            plain += v
            if compensated:
                _neumaier(v, &s, &c)
    elif loss == FDNN_LOSS_CCE:
        for i in range(n):
            if Y[i] == 0 and A[i] == A[i]:
                continue        # one-hot targets: one log per example
            a = A[i]
            if a < lo:
                a = lo
            v = Y[i] * log(a)
            plain += v
            if compensated:
                _neumaier(v, &s, &c)
    else:
        for i in range(n):
            v = <double>A[i] - <double>Y[i]
            s += v * v
        return 0.5 * s
    if not compensated or not isfinite(plain):   # no correction beside an infinity
        return -plain
    return -(s + c)
