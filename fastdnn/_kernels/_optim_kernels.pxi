# The optimizer update loops, shared by _optim (one step from Python) and
# _network (the compiled training loop) through `include`.
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
        FDNN_N_OPT
        FDNN_OC_LR, FDNN_OC_DECAY, FDNN_OC_BETA1, FDNN_OC_OMB1, FDNN_OC_BETA2, FDNN_OC_OMB2
        FDNN_OC_INV_C2, FDNN_OC_EPS, FDNN_N_OC


cdef inline void _coefficients(real *c, real lr, real decay, real beta1, real one_minus_beta1,
                               real beta2, real one_minus_beta2, real inv_c2,
                               real eps) noexcept nogil:
    """The C kernels' coefficient array (FDNN_OC_*)."""
    c[FDNN_OC_LR], c[FDNN_OC_DECAY], c[FDNN_OC_EPS] = lr, decay, eps
    c[FDNN_OC_BETA1], c[FDNN_OC_OMB1] = beta1, one_minus_beta1
    c[FDNN_OC_BETA2], c[FDNN_OC_OMB2], c[FDNN_OC_INV_C2] = beta2, one_minus_beta2, inv_c2


cdef inline void _optim(int op, real *p, const real *g, real *s1, real *s2, Py_ssize_t n,
                        real lr, real decay, real beta1, real one_minus_beta1, real beta2,
                        real one_minus_beta2, real inv_c2, real eps) noexcept nogil:
    cdef real c[FDNN_N_OC]
    _coefficients(c, lr, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, inv_c2, eps)
    if real is float:
        optim_f32(op, p, g, s1, s2, n, c)
    else:
        optim_f64(op, p, g, s1, s2, n, c)
