# The optimizer update loops, shared by _optim (one step from Python) and
# _network (the compiled training loop) through `include`.
from libc.math cimport pow, sqrt

from fastdnn._kernels._elementwise cimport optim_f32, optim_f64

ctypedef fused real:
    float
    double


# ------------------------------------------------------------------ kernels
# Flat loops over contiguous arrays. Plain gradient descent is a loop the
# compiler vectorizes here; the others (square roots and divisions) run on the
# C kernels compiled for the CPU's widest vectors (csrc/fdnn_ew_type.h).

cdef void _gd(real *p, const real *g, Py_ssize_t n, real lr, real decay) noexcept nogil:
    cdef Py_ssize_t i
    if decay == 0:
        for i in range(n):
            p[i] = p[i] - lr * g[i]
    else:
        for i in range(n):
            p[i] = p[i] - lr * (g[i] + decay * p[i])


cdef extern from "fdnn_kernels.h" nogil:
    enum:
        FDNN_OPT_GD
        FDNN_OPT_ADAM
        FDNN_OPT_ADAMW
        FDNN_OPT_NADAM
        FDNN_OPT_ADAMAX
        FDNN_OPT_SGD
        FDNN_N_OPT
        FDNN_OC_LR, FDNN_OC_DECAY, FDNN_OC_BETA1, FDNN_OC_OMB1, FDNN_OC_BETA2, FDNN_OC_OMB2
        FDNN_OC_INV_C2, FDNN_OC_EPS, FDNN_OC_KEEP, FDNN_OC_LR_M, FDNN_OC_NESTEROV
        FDNN_OC_GSCALE, FDNN_OC_CLIP, FDNN_N_OC


# An optimizer's hyperparameters, its gradient clipping (0: none) and Nadam's running
# product of its momentum coefficients (mu_product = mu_1 ... mu_{mu_t}).
cdef struct OptHyper:
    int op
    double beta1, beta2, eps, weight_decay, momentum_decay
    bint nesterov
    double clipnorm, global_clipnorm, clipvalue
    long long mu_t
    double mu_product


cdef inline double _nadam_mu(double beta1, double momentum_decay, long long t) noexcept nogil:
    """Nadam's momentum coefficient at step t: beta1 (1 - 0.96^(t momentum_decay) / 2)."""
    return beta1 * (1.0 - 0.5 * pow(0.96, <double>t * momentum_decay))


cdef double _nadam_product(OptHyper *h, long long t) noexcept nogil:
    """mu_1 ... mu_t, multiplied on from the product h holds (from the start when that
    one is past t); h then holds it."""
    if h.mu_t > t:
        h.mu_t, h.mu_product = 0, 1.0
    while h.mu_t < t:
        h.mu_t += 1
        h.mu_product = h.mu_product * _nadam_mu(h.beta1, h.momentum_decay, h.mu_t)
    return h.mu_product


cdef void _step_scalars(OptHyper *h, double lr, long long t, double *c) noexcept nogil:
    """Step t's coefficients (FDNN_OC_*) in double, once per step: bias corrections and
    Nadam's rates. DECAY and GSCALE are per array (_apply)."""
    cdef int op = h.op
    cdef double b1 = h.beta1, b2 = h.beta2, prod, mu, mu_next
    c[FDNN_OC_LR], c[FDNN_OC_DECAY], c[FDNN_OC_EPS] = lr, 0.0, h.eps
    c[FDNN_OC_BETA1], c[FDNN_OC_OMB1] = b1, 1.0 - b1
    c[FDNN_OC_BETA2], c[FDNN_OC_OMB2], c[FDNN_OC_INV_C2] = b2, 1.0 - b2, 1.0
    c[FDNN_OC_KEEP], c[FDNN_OC_LR_M], c[FDNN_OC_NESTEROV] = 1.0, 0.0, 1.0 if h.nesterov else 0.0
    c[FDNN_OC_GSCALE], c[FDNN_OC_CLIP] = 1.0, h.clipvalue
    if op == FDNN_OPT_ADAM or op == FDNN_OPT_ADAMW or op == FDNN_OPT_NADAM:
        c[FDNN_OC_INV_C2] = 1.0 / (1.0 - pow(b2, <double>t))
    if op == FDNN_OPT_ADAM or op == FDNN_OPT_ADAMW or op == FDNN_OPT_ADAMAX:
        c[FDNN_OC_LR] = lr / (1.0 - pow(b1, <double>t))
    if op == FDNN_OPT_ADAMW:
        c[FDNN_OC_KEEP] = 1.0 - lr * h.weight_decay
    if op == FDNN_OPT_NADAM:
        prod = _nadam_product(h, t)
        mu = _nadam_mu(b1, h.momentum_decay, t)
        mu_next = _nadam_mu(b1, h.momentum_decay, t + 1)
        c[FDNN_OC_LR] = lr * (1.0 - mu) / (1.0 - prod)
        c[FDNN_OC_LR_M] = lr * mu_next / (1.0 - prod * mu_next)


cdef double _sq_norm(const real *p, const real *g, Py_ssize_t n, real decay) noexcept nogil:
    """The sum of squares of the gradient the update sees, g + decay p, in double (four
    running sums, so the additions overlap)."""
    cdef Py_ssize_t i, q
    cdef double s[4]
    cdef double x
    s[0] = s[1] = s[2] = s[3] = 0
    if decay == 0:
        for i in range(0, n - n % 4, 4):
            for q in range(4):
                x = g[i + q]
                s[q] += x * x
        for i in range(n - n % 4, n):
            x = g[i]
            s[0] += x * x
    else:
        for i in range(0, n - n % 4, 4):
            for q in range(4):
                x = <real>(g[i + q] + decay * p[i + q])
                s[q] += x * x
        for i in range(n - n % 4, n):
            x = <real>(g[i] + decay * p[i])
            s[0] += x * x
    return (s[0] + s[1]) + (s[2] + s[3])


cdef inline double _clip_scale(double sq, double max_norm) noexcept nogil:
    """The factor of a gradient whose norm is sqrt(sq) under a norm clip: 1 up to
    max_norm, max_norm / norm above (0 for an infinite norm, NaN for a NaN one)."""
    cdef double norm = sqrt(sq)
    return 1.0 if norm <= max_norm else max_norm / norm


cdef inline void _coefficients(const double *base, double decay, double gscale,
                               real *c) noexcept nogil:
    """One array's coefficients (FDNN_OC_*): the step's (base), its L2 decay and its norm
    clip's scale."""
    cdef int k
    for k in range(FDNN_N_OC):
        c[k] = <real>base[k]
    c[FDNN_OC_DECAY] = <real>(gscale * decay)
    c[FDNN_OC_GSCALE] = <real>gscale


cdef void _apply(int op, real *p, const real *g, real *s1, real *s2, Py_ssize_t n,
                 const double *base, double decay, double gscale) noexcept nogil:
    """One array's update with step coefficients base (_step_scalars), its L2 decay and
    its norm clip's scale: the gradient used is clip(gscale (g + decay p))."""
    cdef real c[FDNN_N_OC]
    if op == FDNN_OPT_GD and gscale == 1.0 and not base[FDNN_OC_CLIP] > 0:
        _gd(p, g, n, <real>base[FDNN_OC_LR], <real>decay)
        return
    _coefficients(base, decay, gscale, c)
    if real is float:
        optim_f32(op, p, g, s1, s2, n, c)
    else:
        optim_f64(op, p, g, s1, s2, n, c)
