# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Batch and layer normalization from Python (fastdnn.layers): the passes of _norm.pxd on
checked arrays, without the GIL.

X, Y, dY, dX are F-contiguous (n, m) arrays of one dtype (float32 or float64); gamma, beta
and the moving statistics are contiguous arrays of n values of that dtype; the batch
statistics (mean, var, inv_std) are float64 arrays, of n values for batch normalization
and of m values for layer normalization.
"""
import numpy as np

cimport numpy as cnp

from fastdnn._kernels._norm cimport (bn_backward, bn_forward, bn_inference_scale,
                                     bn_moving_update, ln_backward, ln_forward)

cnp.import_array()


cdef cnp.ndarray _take(object a, str name, int typenum, Py_ssize_t size, bint matrix,
                       bint write):
    """a as an ndarray checked for the kernels: dtype, contiguity, size, writeability."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != typenum or not cnp.PyArray_ISNOTSWAPPED(arr) \
            or not cnp.PyArray_ISALIGNED(arr):
        raise TypeError(f"{name} must be an aligned native "
                        f"{'float32' if typenum == cnp.NPY_FLOAT32 else 'float64'} array, "
                        f"got {(<object>arr).dtype}")
    if matrix and not (cnp.PyArray_NDIM(arr) == 2 and cnp.PyArray_IS_F_CONTIGUOUS(arr)):
        raise ValueError(f"{name} must be an F-contiguous 2-D array")
    if not matrix and not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{name} must be contiguous")
    if cnp.PyArray_SIZE(arr) != size:
        raise ValueError(f"{name} must have {size} values, got shape {(<object>arr).shape}")
    if write and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} must be writeable")
    return arr


cdef inline void *_p(cnp.ndarray a):
    return NULL if a is None else cnp.PyArray_DATA(a)


cdef tuple _dims(object X, str name):
    if not isinstance(X, np.ndarray) or (<cnp.ndarray>X).ndim != 2:
        raise ValueError(f"{name} must be a 2-D numpy array")
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>X)
    if t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64:
        raise TypeError(f"{name} must be float32 or float64, got {X.dtype}")
    return X.shape[0], X.shape[1], t


def batch_norm_train(X, gamma, beta, double epsilon, Y, mean, var, inv_std,
                     moving_mean=None, moving_var=None, double momentum=0.99):
    """Y = gamma (X - mean) inv_std + beta with the batch's statistics per feature, which are
    written to mean, var (biased) and inv_std; with moving_mean and moving_var, those are
    updated as Keras does: moving = momentum moving + (1 - momentum) batch."""
    cdef Py_ssize_t n, m
    cdef int t
    n, m, t = _dims(X, "X")
    if m < 1 or n < 1:
        raise ValueError(f"X must have at least one feature and one example, got {X.shape}")
    cdef cnp.ndarray x = _take(X, "X", t, n * m, True, False)
    cdef cnp.ndarray y = _take(Y, "Y", t, n * m, True, True)
    cdef cnp.ndarray g = _take(gamma, "gamma", t, n, False, False)
    cdef cnp.ndarray b = _take(beta, "beta", t, n, False, False)
    cdef cnp.ndarray mu = _take(mean, "mean", cnp.NPY_FLOAT64, n, False, True)
    cdef cnp.ndarray v = _take(var, "var", cnp.NPY_FLOAT64, n, False, True)
    cdef cnp.ndarray r = _take(inv_std, "inv_std", cnp.NPY_FLOAT64, n, False, True)
    cdef cnp.ndarray mm = None, mv = None
    if moving_mean is not None:
        mm = _take(moving_mean, "moving_mean", t, n, False, True)
        mv = _take(moving_var, "moving_var", t, n, False, True)
    cdef void *p_b = _p(b)
    cdef void *p_g = _p(g)
    cdef void *p_mm = _p(mm)
    cdef void *p_mu = _p(mu)
    cdef void *p_mv = _p(mv)
    cdef void *p_r = _p(r)
    cdef void *p_v = _p(v)
    cdef void *p_x = _p(x)
    cdef void *p_y = _p(y)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            bn_forward(<const float *>p_x, n, m, True, epsilon, <double *>p_mu,
                       <double *>p_v, <double *>p_r, <const float *>p_g, <const float *>p_b,
                       <float *>p_y, -1, NULL, 0)
        else:
            bn_forward(<const double *>p_x, n, m, True, epsilon, <double *>p_mu,
                       <double *>p_v, <double *>p_r, <const double *>p_g,
                       <const double *>p_b, <double *>p_y, -1, NULL, 0)
    if mm is not None:
        with nogil:
            if t == cnp.NPY_FLOAT32:
                bn_moving_update(<float *>p_mm, <float *>p_mv, <const double *>p_mu,
                                 <const double *>p_v, n, momentum)
            else:
                bn_moving_update(<double *>p_mm, <double *>p_mv, <const double *>p_mu,
                                 <const double *>p_v, n, momentum)


def batch_norm_infer(X, gamma, beta, moving_mean, moving_var, double epsilon, Y):
    """Y = gamma (X - moving_mean) / sqrt(moving_var + epsilon) + beta, per feature."""
    cdef Py_ssize_t n, m
    cdef int t
    n, m, t = _dims(X, "X")
    cdef cnp.ndarray x = _take(X, "X", t, n * m, True, False)
    cdef cnp.ndarray y = _take(Y, "Y", t, n * m, True, True)
    cdef cnp.ndarray g = _take(gamma, "gamma", t, n, False, False)
    cdef cnp.ndarray b = _take(beta, "beta", t, n, False, False)
    cdef cnp.ndarray mm = _take(moving_mean, "moving_mean", t, n, False, False)
    cdef cnp.ndarray mv = _take(moving_var, "moving_var", t, n, False, False)
    cdef cnp.ndarray mu = np.empty(n), r = np.empty(n)
    cdef void *p_b = _p(b)
    cdef void *p_g = _p(g)
    cdef void *p_mm = _p(mm)
    cdef void *p_mu = _p(mu)
    cdef void *p_mv = _p(mv)
    cdef void *p_r = _p(r)
    cdef void *p_x = _p(x)
    cdef void *p_y = _p(y)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            bn_inference_scale(<const float *>p_mm, <const float *>p_mv, n, epsilon,
                               <double *>p_mu, <double *>p_r)
            bn_forward(<const float *>p_x, n, m, False, epsilon, <double *>p_mu, NULL,
                       <double *>p_r, <const float *>p_g, <const float *>p_b, <float *>p_y,
                       -1, NULL, 0)
        else:
            bn_inference_scale(<const double *>p_mm, <const double *>p_mv, n, epsilon,
                               <double *>p_mu, <double *>p_r)
            bn_forward(<const double *>p_x, n, m, False, epsilon, <double *>p_mu, NULL,
                       <double *>p_r, <const double *>p_g, <const double *>p_b,
                       <double *>p_y, -1, NULL, 0)


def _backward(bint layer, dY, X, gamma, mean, inv_std, dX, dgamma, dbeta, double scale,
              bias_db=None):
    cdef Py_ssize_t n, m
    cdef int t
    n, m, t = _dims(X, "X")
    cdef cnp.ndarray x = _take(X, "X", t, n * m, True, False)
    cdef cnp.ndarray dy = _take(dY, "dY", t, n * m, True, False)
    cdef cnp.ndarray g = _take(gamma, "gamma", t, n, False, False)
    cdef Py_ssize_t k = m if layer else n
    cdef cnp.ndarray mu = _take(mean, "mean", cnp.NPY_FLOAT64, k, False, False)
    cdef cnp.ndarray r = _take(inv_std, "inv_std", cnp.NPY_FLOAT64, k, False, False)
    cdef cnp.ndarray dg = _take(dgamma, "dgamma", t, n, False, True)
    cdef cnp.ndarray db = _take(dbeta, "dbeta", t, n, False, True)
    cdef cnp.ndarray dx = None if dX is None else _take(dX, "dX", t, n * m, True, True)
    if bias_db is not None and (layer or dx is None):
        raise ValueError("db needs dX, and only batch normalization computes it")
    cdef cnp.ndarray bdb = None if bias_db is None else _take(bias_db, "db", t, n, False, True)
    cdef void *p_bdb = _p(bdb)
    cdef cnp.ndarray work = np.empty(2 * n)
    cdef double *w = <double *>cnp.PyArray_DATA(work)
    cdef void *p_db = _p(db)
    cdef void *p_dx = _p(dx)
    cdef void *p_dg = _p(dg)
    cdef void *p_dy = _p(dy)
    cdef void *p_g = _p(g)
    cdef void *p_mu = _p(mu)
    cdef void *p_r = _p(r)
    cdef void *p_x = _p(x)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            if layer:
                ln_backward(<const float *>p_dy, <const float *>p_x, n, m,
                            <const double *>p_mu, <const double *>p_r,
                            <const float *>p_g, <float *>p_dx, <float *>p_dg,
                            <float *>p_db, scale, w, w + n)
            else:
                bn_backward(-1, <const float *>p_dy, NULL, 0, <const float *>p_x, n, m,
                            <const double *>p_mu, <const double *>p_r,
                            <const float *>p_g, <float *>p_dx, <float *>p_dg,
                            <float *>p_db, <float *>p_bdb, scale, w)
        else:
            if layer:
                ln_backward(<const double *>p_dy, <const double *>p_x, n, m,
                            <const double *>p_mu, <const double *>p_r,
                            <const double *>p_g, <double *>p_dx, <double *>p_dg,
                            <double *>p_db, scale, w, w + n)
            else:
                bn_backward(-1, <const double *>p_dy, NULL, 0, <const double *>p_x, n, m,
                            <const double *>p_mu, <const double *>p_r,
                            <const double *>p_g, <double *>p_dx, <double *>p_dg,
                            <double *>p_db, <double *>p_bdb, scale, w)


def batch_norm_backward(dY, X, gamma, mean, inv_std, dX, dgamma, dbeta, double scale,
                        db=None):
    """dgamma = scale sum(dY xh), dbeta = scale sum(dY) over the examples and, unless dX is
    None, dX = gamma inv_std / m (m dY - sum(dY) - xh sum(dY xh)), for the statistics
    (mean, inv_std of n values) of the forward pass; dY is d(sum of the losses)/dY. With db
    (n values; needs dX), db = scale sum(dX): the gradient of a bias before the
    normalization, as the compiled loop forms it."""
    _backward(False, dY, X, gamma, mean, inv_std, dX, dgamma, dbeta, scale, db)


def layer_norm_forward(X, gamma, beta, double epsilon, Y, mean, inv_std):
    """Y = gamma (X - mean) inv_std + beta with each example's statistics over its
    features, written to mean and inv_std (m values each)."""
    cdef Py_ssize_t n, m
    cdef int t
    n, m, t = _dims(X, "X")
    if n < 1:
        raise ValueError(f"X must have at least one feature, got {X.shape}")
    cdef cnp.ndarray x = _take(X, "X", t, n * m, True, False)
    cdef cnp.ndarray y = _take(Y, "Y", t, n * m, True, True)
    cdef cnp.ndarray g = _take(gamma, "gamma", t, n, False, False)
    cdef cnp.ndarray b = _take(beta, "beta", t, n, False, False)
    cdef cnp.ndarray mu = _take(mean, "mean", cnp.NPY_FLOAT64, m, False, True)
    cdef cnp.ndarray r = _take(inv_std, "inv_std", cnp.NPY_FLOAT64, m, False, True)
    cdef void *p_b = _p(b)
    cdef void *p_g = _p(g)
    cdef void *p_mu = _p(mu)
    cdef void *p_r = _p(r)
    cdef void *p_x = _p(x)
    cdef void *p_y = _p(y)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            ln_forward(<const float *>p_x, n, m, epsilon, <const float *>p_g,
                       <const float *>p_b, <float *>p_y, <double *>p_mu,
                       <double *>p_r)
        else:
            ln_forward(<const double *>p_x, n, m, epsilon, <const double *>p_g,
                       <const double *>p_b, <double *>p_y, <double *>p_mu,
                       <double *>p_r)


def layer_norm_backward(dY, X, gamma, mean, inv_std, dX, dgamma, dbeta, double scale):
    """Per example, dX = inv_std / n (n g - sum(g) - xh sum(g xh)) with g = gamma dY (unless
    dX is None); dgamma = scale sum(dY xh), dbeta = scale sum(dY) over the examples."""
    _backward(True, dY, X, gamma, mean, inv_std, dX, dgamma, dbeta, scale)
