# The losses' sums and gradients: one definition of each formula and its clipping, for every
# compiled caller -- the training loop (_network), the layer path and fastdnn.losses
# (_losses.cost_sum, _losses.gradient) and the course API's unclipped compute_cost
# (_losses.cost_sum with clip=False). fastdnn/reference.py is their readable NumPy twin.
#
# A and Y are (n_y, k) F-ordered: column j (one example) at A + j * n_y. Every loss is a sum
# of per-element terms but categorical cross-entropy from logits, whose terms need their
# column's log-sum-exp.
from libc.math cimport INFINITY, exp, expm1, fabs, isfinite, log, log1p, tanh

cdef extern from "fdnn_codes.h" nogil:
    enum:
        FDNN_LOSS_BCE
        FDNN_LOSS_CCE
        FDNN_LOSS_MSE
        FDNN_LOSS_MAE
        FDNN_LOSS_HUBER
        FDNN_LOSS_LOG_COSH
        FDNN_LOSS_POISSON
        FDNN_LOSS_HINGE
        FDNN_LOSS_SQUARED_HINGE

ctypedef fused a_real:
    float
    double

ctypedef fused y_real:
    float
    double

# Poisson's log(a + POISSON_EPS): Keras' epsilon, so a rate of exactly 0 has a finite cost
cdef extern from *:
    """
    #define FDNN_POISSON_EPS 1e-7
    #define FDNN_LOG2 0.6931471805599453
    """
    double POISSON_EPS "FDNN_POISSON_EPS"
    double LOG2 "FDNN_LOG2"


cdef struct LossArgs:
    int code
    bint logits     # A holds logits (cross-entropies' from_logits, poisson's log_input)
    double param    # huber's delta; the cross-entropies' label smoothing
    double lo, hi   # the cross-entropies read A (probabilities) clipped into [lo, hi]


cdef inline void clip_bounds(bint f32, bint clip, double *lo, double *hi) noexcept nogil:
    """The cross-entropies read A clipped into [lo, hi]: [tiny, 1 - eps/2] of A's dtype
    (the smallest normal and the largest number below 1: log stays finite), or unclipped."""
    if not clip:
        lo[0], hi[0] = -INFINITY, INFINITY
    elif f32:
        lo[0], hi[0] = 1.1754943508222875e-38, 1.0 - 5.960464477539063e-08
    else:
        lo[0], hi[0] = 2.2250738585072014e-308, 1.0 - 1.1102230246251565e-16


cdef inline LossArgs loss_args(int code, bint f32, bint clip, bint logits,
                               double param) noexcept nogil:
    cdef LossArgs f
    f.code, f.logits, f.param = code, logits, param
    clip_bounds(f32, clip, &f.lo, &f.hi)
    return f


cdef inline double smoothed(const LossArgs *f, double y, Py_ssize_t n_y) noexcept nogil:
    """The target the cross-entropies read: y (1 - s) + s / K with s the label smoothing and
    K the classes (2 for binary cross-entropy, n_y for categorical)."""
    if f.param == 0:
        return y
    if f.code == FDNN_LOSS_BCE:
        return y * (1.0 - f.param) + 0.5 * f.param
    return y * (1.0 - f.param) + f.param / n_y


cdef inline double _nan_or(double x, double v) noexcept nogil:
    """v, or x when x is NaN (comparisons are false on NaN: the branches below end here)."""
    return x if x != x else v


cdef inline double softplus(double x) noexcept nogil:
    """log(1 + e^x) without overflow."""
    return (x if x > 0 else 0.0) + log1p(exp(-fabs(x)))


cdef inline double sigmoid(double x) noexcept nogil:
    cdef double e
    if x >= 0:
        return 1.0 / (1.0 + exp(-x))
    e = exp(x)
    return e / (1.0 + e)


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


cdef inline double cce_term(double a, double y, double lo) noexcept nogil:
    """-y log a, a clipped below at lo; 0 for y = 0 (one-hot targets: one log per example)
    unless a is NaN."""
    if y == 0 and a == a:
        return 0.0
    return -y * log(a if not a < lo else lo)


cdef inline double loss_term(const LossArgs *f, double a, double y,
                             Py_ssize_t n_y) noexcept nogil:
    """The loss of one element (every loss but categorical cross-entropy from logits)."""
    cdef double d, u
    cdef int code = f.code
    if code == FDNN_LOSS_BCE:
        y = smoothed(f, y, n_y)
        if f.logits:    # max(z, 0) - z y + log(1 + e^-|z|)
            return softplus(a) - a * y
        return -bce_term(a, y, f.lo, f.hi)
    if code == FDNN_LOSS_CCE:
        return cce_term(a, smoothed(f, y, n_y), f.lo)
    d = a - y
    if code == FDNN_LOSS_MSE:
        return 0.5 * d * d
    if code == FDNN_LOSS_MAE:
        return fabs(d)
    if code == FDNN_LOSS_HUBER:
        u = fabs(d)
        return 0.5 * d * d if u <= f.param else _nan_or(d, f.param * (u - 0.5 * f.param))
    if code == FDNN_LOSS_LOG_COSH:  # log cosh d = |d| + log(1 + e^-2|d|) - log 2
        u = fabs(d)
        return u + log1p(exp(-2.0 * u)) - LOG2
    if code == FDNN_LOSS_POISSON:
        if f.logits:    # e^z - y z, z the log of the rate
            return exp(a) - (y * a if y != 0 else 0.0)
        if y == 0 and a == a:
            return a
        return a - y * log(a + POISSON_EPS)
    # hinges: max(1 - y a, 0) (squared)
    u = 1.0 - y * a
    u = u if u > 0 else _nan_or(u, 0.0)
    return u if code == FDNN_LOSS_HINGE else u * u


cdef inline double loss_gradient_term(const LossArgs *f, double a, double y,
                                      Py_ssize_t n_y) noexcept nogil:
    """dL/da of one element (every loss but categorical cross-entropy from logits)."""
    cdef double d, u
    cdef int code = f.code
    if code == FDNN_LOSS_BCE:
        y = smoothed(f, y, n_y)
        if f.logits:
            return sigmoid(a) - y
        a = f.lo if a < f.lo else (f.hi if a > f.hi else a)
        return (a - y) / (a * (1.0 - a))   # -(y/a - (1-y)/(1-a)) with one division
    if code == FDNN_LOSS_CCE:
        return -smoothed(f, y, n_y) / (a if not a < f.lo else f.lo)
    d = a - y
    if code == FDNN_LOSS_MSE:
        return d
    if code == FDNN_LOSS_MAE:
        return 1.0 if d > 0 else (-1.0 if d < 0 else _nan_or(d, 0.0))
    if code == FDNN_LOSS_HUBER:
        return f.param if d > f.param else (-f.param if d < -f.param else d)
    if code == FDNN_LOSS_LOG_COSH:
        return tanh(d)
    if code == FDNN_LOSS_POISSON:
        if f.logits:
            return exp(a) - y
        return 1.0 - y / (a + POISSON_EPS)
    u = 1.0 - y * a
    if code == FDNN_LOSS_HINGE:
        return -y if u > 0 else _nan_or(u, 0.0)
    return -2.0 * y * u if u > 0 else _nan_or(u, 0.0)


cdef inline void _neumaier(double v, double *s, double *c) noexcept nogil:
    """s += v, the rounding error kept in c (Neumaier's compensated sum)."""
    cdef double t = s[0] + v
    if fabs(s[0]) >= fabs(v):
        c[0] += (s[0] - t) + v
    else:
        c[0] += (v - t) + s[0]
    s[0] = t


cdef inline double _log_sum_exp(const a_real *z, Py_ssize_t n, double *zmax) noexcept nogil:
    """log sum_i e^(z_i - zmax), zmax = max z (NaN in z: NaN)."""
    cdef Py_ssize_t i
    cdef double s = 0, mx = z[0]
    for i in range(1, n):
        if z[i] > mx or z[i] != z[i]:
            mx = z[i]
            if mx != mx:
                break
    zmax[0] = mx
    if not isfinite(mx):    # NaN, or every logit -inf / some +inf
        return 0.0 if mx == -INFINITY else mx
    for i in range(n):
        s += exp(z[i] - mx)
    return log(s)


cdef inline double loss_sum(const LossArgs *f, const a_real *A, const y_real *Y,
                            Py_ssize_t n_y, Py_ssize_t k, bint compensated) noexcept nogil:
    """Sum of the loss over the k columns of A against Y, in double. compensated: every
    loss but the half squared error is summed with Neumaier's correction (as accurate as
    NumPy's pairwise sum on long arrays; the training loop's short batches skip it)."""
    cdef Py_ssize_t i, j, n = n_y * k
    cdef double s = 0, c = 0, plain = 0, v, lse, zmax, y
    if f.code == FDNN_LOSS_MSE:
        for i in range(n):
            v = <double>A[i] - <double>Y[i]
            s += v * v
        return 0.5 * s
    if f.code == FDNN_LOSS_CCE and f.logits:
        # sum_i y_i (lse - z_i), lse = log sum_i e^z_i: each term >= 0, no exp overflows
        for j in range(k):
            lse = _log_sum_exp(A + j * n_y, n_y, &zmax)
            for i in range(j * n_y, (j + 1) * n_y):
                y = smoothed(f, Y[i], n_y)
                if y == 0 and lse == lse:
                    continue
                v = y * ((zmax - <double>A[i]) + lse)
                plain += v
                if compensated:
                    _neumaier(v, &s, &c)
    elif f.code == FDNN_LOSS_CCE and f.param == 0:
        # without label smoothing: the term inline, not a call per element; the zero terms
        # (all but one per example with one-hot targets) not added, so that the sum does
        # not wait on its own latency for each of them (float32 1024 x 512: 555 -> 389 us)
        for i in range(n):
            if Y[i] == 0 and A[i] == A[i]:
                continue
            v = cce_term(A[i], Y[i], f.lo)
            plain += v
            if compensated:
                _neumaier(v, &s, &c)
    else:
        for i in range(n):
            v = loss_term(f, A[i], Y[i], n_y)
            plain += v
            if compensated:
                _neumaier(v, &s, &c)
    if not compensated or not isfinite(plain):   # no correction beside an infinity
        return plain
    return s + c


cdef inline void loss_gradient(const LossArgs *f, const a_real *A, const y_real *Y, a_real *G,
                               Py_ssize_t n_y, Py_ssize_t k) noexcept nogil:
    """G = dL/dA per example (not divided by k), (n_y, k) F-ordered like A."""
    cdef Py_ssize_t i, j, n = n_y * k
    cdef double lse, zmax, total, y
    if f.code == FDNN_LOSS_CCE and f.logits:
        # softmax(z) sum_i y_i - y: the targets' total is 1 for one-hot or probability rows
        for j in range(k):
            lse = _log_sum_exp(A + j * n_y, n_y, &zmax)
            total = 0
            for i in range(j * n_y, (j + 1) * n_y):
                total += smoothed(f, Y[i], n_y)
            for i in range(j * n_y, (j + 1) * n_y):
                y = smoothed(f, Y[i], n_y)
                G[i] = <a_real>(total * exp((<double>A[i] - zmax) - lse) - y)
        return
    for i in range(n):
        G[i] = <a_real>loss_gradient_term(f, A[i], Y[i], n_y)


cdef inline void smoothed_targets(const LossArgs *f, const y_real *Y, y_real *T,
                                  Py_ssize_t n_y, Py_ssize_t k) noexcept nogil:
    """T = the targets the cross-entropies read (label smoothing applied), for an output
    fused with its loss (dZ = A - T)."""
    cdef Py_ssize_t i
    for i in range(n_y * k):
        T[i] = <y_real>smoothed(f, Y[i], n_y)
