# The normalization layers' passes: one definition of each, for the layer path (_norm.pyx)
# and the training loop (_network.pyx). fastdnn/reference.py is their readable NumPy twin.
# Batch normalization's are C kernels over the thread team (csrc/fdnn_ew_type.h, bn_*),
# layer normalization's are here.
#
# Arrays are F-ordered (n, m): element (i, j), feature i of example j, is X[i + j n].
# Batch normalization normalizes each feature over the m examples (statistics of length n),
# layer normalization each example over its n features (statistics of length m). The
# statistics are summed in double around a shift (the first value), so one pass gives a
# variance without the cancellation of the plain sum of squares; mean and inv_std are kept
# in double. Gradients follow fastdnn's convention: dY is d(sum of the losses)/dY, dX the
# same for X, and dgamma, dbeta are scaled by `scale` (1/m: the mean cost's gradients).
from libc.math cimport sqrt

from fastdnn._kernels._elementwise cimport (bn_backward_f32, bn_backward_f64, bn_forward_f32,
                                            bn_forward_f64)

ctypedef fused n_real:
    float
    double

cdef enum:
    LANES = 8       # independent partial sums of a reduction along a column


cdef inline void bn_forward(const n_real *X, Py_ssize_t n, Py_ssize_t m, bint stats,
                            double epsilon, double *mean, double *var, double *inv_std,
                            const n_real *gamma, const n_real *beta, n_real *Y, int act,
                            n_real *A, double alpha) noexcept nogil:
    """Y = gamma (X - mean) inv_std + beta per feature, with (stats) the batch's mean, var
    (biased) and inv_std = 1/sqrt(var + epsilon) computed and written, or else the given
    mean and inv_std (var unused); then, act >= 0, A = g(Y) (the csrc kernels, threaded)."""
    if n_real is float:
        bn_forward_f32(X, n, m, stats, epsilon, mean, var, inv_std, gamma, beta, Y, act, A,
                       <float>alpha)
    else:
        bn_forward_f64(X, n, m, stats, epsilon, mean, var, inv_std, gamma, beta, Y, act, A,
                       alpha)


cdef inline void bn_moving_update(n_real *moving_mean, n_real *moving_var, const double *mean,
                                  const double *var, Py_ssize_t n,
                                  double momentum) noexcept nogil:
    """Keras' moving averages: moving = momentum moving + (1 - momentum) batch."""
    cdef Py_ssize_t i
    for i in range(n):
        moving_mean[i] = <n_real>(momentum * moving_mean[i] + (1.0 - momentum) * mean[i])
        moving_var[i] = <n_real>(momentum * moving_var[i] + (1.0 - momentum) * var[i])


cdef inline void bn_inference_scale(const n_real *moving_mean, const n_real *moving_var,
                                    Py_ssize_t n, double epsilon, double *mean,
                                    double *inv_std) noexcept nogil:
    """The moving statistics as (mean, inv_std) for bn_forward without stats."""
    cdef Py_ssize_t i
    for i in range(n):
        mean[i] = moving_mean[i]
        inv_std[i] = 1.0 / sqrt(<double>moving_var[i] + epsilon)


cdef inline void bn_backward(int op, const n_real *G, const n_real *a, double alpha,
                             const n_real *X, Py_ssize_t n, Py_ssize_t m, const double *mean,
                             const double *inv_std, const n_real *gamma, n_real *dX,
                             n_real *dgamma, n_real *dbeta, n_real *db, double scale,
                             double *work) noexcept nogil:
    """dY = G * g'(a) (op >= 0, a backward op; into dX) or G (op < 0); dgamma = scale
    sum(dY xh), dbeta = scale sum(dY) over the examples and (dX not NULL) dX = gamma
    inv_std / m (m dY - sum(dY) - xh sum(dY xh)), xh = (X - mean) inv_std, dX == G allowed;
    db (not NULL, with dX) = scale sum(dX), the gradient of a bias before the normalization.
    work: 2 n doubles (the csrc kernels, threaded)."""
    if n_real is float:
        bn_backward_f32(op, G, a, <float>alpha, X, n, m, mean, inv_std, gamma, dX, dgamma,
                        dbeta, db, scale, work)
    else:
        bn_backward_f64(op, G, a, alpha, X, n, m, mean, inv_std, gamma, dX, dgamma, dbeta, db,
                        scale, work)


cdef inline void ln_forward(const n_real *X, Py_ssize_t n, Py_ssize_t m, double epsilon,
                            const n_real *gamma, const n_real *beta, n_real *Y,
                            double *mean, double *inv_std) noexcept nogil:
    """Y = gamma (X - mean) inv_std + beta with the statistics of each example over its n
    features (mean, inv_std: length m): one pass over the column for them, one for Y."""
    cdef Py_ssize_t i, j, q, blk
    cdef const n_real *x
    cdef n_real *y
    cdef double d, s1, s2, k, v
    cdef double p1[LANES]
    cdef double p2[LANES]
    cdef n_real mu, r
    for j in range(m):
        x, y = X + j * n, Y + j * n
        k = x[0]
        for q in range(LANES):
            p1[q] = p2[q] = 0
        for blk in range(n // LANES):   # LANES chains: the sums vectorize
            i = blk * LANES
            for q in range(LANES):
                d = <double>x[i + q] - k
                p1[q] += d
                p2[q] += d * d
        s1 = s2 = 0
        for q in range(LANES):
            s1 += p1[q]
            s2 += p2[q]
        for i in range(n - n % LANES, n):
            d = <double>x[i] - k
            s1 += d
            s2 += d * d
        v = (s2 - s1 * (s1 / n)) / n
        mean[j] = k + s1 / n
        inv_std[j] = 1.0 / sqrt((0.0 if v < 0 else v) + epsilon)
        mu, r = <n_real>mean[j], <n_real>inv_std[j]
        for i in range(n):
            y[i] = gamma[i] * ((x[i] - mu) * r) + beta[i]


cdef inline void ln_backward(const n_real *dY, const n_real *X, Py_ssize_t n, Py_ssize_t m,
                             const double *mean, const double *inv_std, const n_real *gamma,
                             n_real *dX, n_real *dgamma, n_real *dbeta, double scale,
                             double *sdy, double *sdyx) noexcept nogil:
    """Per example: dX = inv_std / n (n g - sum(g) - xh sum(g xh)) with g = gamma dY over its
    features; dgamma = scale sum(dY xh), dbeta = scale sum(dY) over the examples.
    sdy, sdyx: work arrays of n doubles (the parameters' sums)."""
    cdef Py_ssize_t i, j, q, blk
    cdef const n_real *x
    cdef const n_real *dy
    cdef n_real *dx
    cdef n_real xh, g, mu, r
    cdef double a, c
    cdef double pa[LANES]
    cdef double pc[LANES]
    for i in range(n):
        sdy[i] = 0
        sdyx[i] = 0
    for j in range(m):
        x, dy = X + j * n, dY + j * n
        mu, r = <n_real>mean[j], <n_real>inv_std[j]
        for q in range(LANES):
            pa[q] = pc[q] = 0
        for blk in range(n // LANES):   # LANES chains: the sums vectorize
            i = blk * LANES
            for q in range(LANES):
                xh = (x[i + q] - mu) * r
                g = gamma[i + q] * dy[i + q]
                pa[q] += g
                pc[q] += <double>g * <double>xh
        a = c = 0
        for q in range(LANES):
            a += pa[q]
            c += pc[q]
        for i in range(n - n % LANES, n):
            xh = (x[i] - mu) * r
            g = gamma[i] * dy[i]
            a += g
            c += <double>g * <double>xh
        for i in range(n):
            xh = (x[i] - mu) * r
            sdy[i] += dy[i]
            sdyx[i] += <double>dy[i] * <double>xh
        if dX != NULL:
            dx = dX + j * n
            a, c = a / n, c / n
            for i in range(n):
                xh = (x[i] - mu) * r
                dx[i] = r * (gamma[i] * dy[i] - <n_real>a - xh * <n_real>c)
    for i in range(n):
        dgamma[i] = <n_real>(sdyx[i] * scale)
        dbeta[i] = <n_real>(sdy[i] * scale)
