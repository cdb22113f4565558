# The optimizer update loops, shared by _optim (one step from Python) and
# _network (the compiled training loop) through `include`.
from libc.math cimport sqrt, sqrtf

ctypedef fused real:
    float
    double


# ------------------------------------------------------------------ kernels
# Flat loops over contiguous arrays with no calls but sqrt: gcc vectorizes
# them (sqrt with -fno-math-errno); aliasing is checked at run time by the
# loop versioning the vectorizer adds.

cdef void _gd(real *p, const real *g, Py_ssize_t n, real lr, real decay) noexcept nogil:
    cdef Py_ssize_t i
    if decay == 0:
        for i in range(n):
            p[i] = p[i] - lr * g[i]
    else:
        for i in range(n):
            p[i] = p[i] - lr * (g[i] + decay * p[i])


cdef void _momentum(real *p, const real *g, real *v, Py_ssize_t n, real lr, real decay,
                    real beta, real one_minus_beta) noexcept nogil:
    cdef Py_ssize_t i
    cdef real vi
    if decay == 0:
        for i in range(n):
            vi = beta * v[i] + one_minus_beta * g[i]
            v[i] = vi
            p[i] = p[i] - lr * vi
    else:
        for i in range(n):
            vi = beta * v[i] + one_minus_beta * (g[i] + decay * p[i])
            v[i] = vi
            p[i] = p[i] - lr * vi


cdef inline real _sqrt(real x) noexcept nogil:
    if real is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef void _rmsprop(real *p, const real *g, real *s, Py_ssize_t n, real lr, real decay,
                   real beta, real one_minus_beta, real eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef real gi, si
    if decay == 0:
        for i in range(n):
            gi = g[i]
            si = beta * s[i] + one_minus_beta * gi * gi
            s[i] = si
            p[i] = p[i] - lr * gi / (_sqrt(si) + eps)
    else:
        for i in range(n):
            gi = g[i] + decay * p[i]
            si = beta * s[i] + one_minus_beta * gi * gi
            s[i] = si
            p[i] = p[i] - lr * gi / (_sqrt(si) + eps)


cdef void _adam(real *p, const real *g, real *m, real *v, Py_ssize_t n, real lr_t, real decay,
                real beta1, real one_minus_beta1, real beta2, real one_minus_beta2,
                real inv_c2, real eps) noexcept nogil:
    """m, v moving averages; p -= lr_t * m / (sqrt(v * inv_c2) + eps) with
    lr_t = lr / (1 - beta1**t) and inv_c2 = 1 / (1 - beta2**t)."""
    cdef Py_ssize_t i
    cdef real gi, mi, vi
    if decay == 0:
        for i in range(n):
            gi = g[i]
            mi = beta1 * m[i] + one_minus_beta1 * gi
            vi = beta2 * v[i] + one_minus_beta2 * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] - lr_t * mi / (_sqrt(vi * inv_c2) + eps)
    else:
        for i in range(n):
            gi = g[i] + decay * p[i]
            mi = beta1 * m[i] + one_minus_beta1 * gi
            vi = beta2 * v[i] + one_minus_beta2 * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] - lr_t * mi / (_sqrt(vi * inv_c2) + eps)
