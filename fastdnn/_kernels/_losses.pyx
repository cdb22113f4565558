# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The losses' sums and gradients from Python: fastdnn.losses and the course API's compute_cost."""
import numpy as np

cimport numpy as cnp

from fastdnn._kernels._loss cimport (FDNN_LOSS_CCE, LossArgs, clip_bounds, loss_args,
                                     loss_gradient, loss_sum, smoothed_targets)

cnp.import_array()


cdef tuple _checked(int loss, cnp.ndarray A, cnp.ndarray Y):
    """(A, Y, n_y, k): arrays of one size and one memory order, native aligned floats; the
    categorical cross-entropy reads (n_y, k) columns, so its 2-D C-ordered pairs are copied
    to F order."""
    if cnp.PyArray_SIZE(Y) != cnp.PyArray_SIZE(A) or not (
            (cnp.PyArray_IS_C_CONTIGUOUS(A) and cnp.PyArray_IS_C_CONTIGUOUS(Y))
            or (cnp.PyArray_IS_F_CONTIGUOUS(A) and cnp.PyArray_IS_F_CONTIGUOUS(Y))):
        raise ValueError("A and Y must be arrays of one size and one memory order")
    for arr in (A, Y):
        if cnp.PyArray_TYPE(arr) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64) \
                or not cnp.PyArray_ISNOTSWAPPED(arr) or not cnp.PyArray_ISALIGNED(arr):
            raise TypeError(f"expected aligned native float32 or float64, got {arr.dtype}")
    if loss != FDNN_LOSS_CCE or cnp.PyArray_NDIM(A) != 2:
        return A, Y, 1, cnp.PyArray_SIZE(A)
    if not cnp.PyArray_IS_F_CONTIGUOUS(A):
        A, Y = np.asfortranarray(A), np.asfortranarray(Y)
    return A, Y, cnp.PyArray_DIM(A, 0), cnp.PyArray_DIM(A, 1)


def cost_sum(int loss, cnp.ndarray A not None, cnp.ndarray Y not None, bint clip=True,
             bint logits=False, double param=0.0):
    """The loss (code from fastdnn._compiled.CODES["loss"]) summed over A against Y:
    float32/float64 arrays of one size and one memory order (both C- or both
    F-contiguous), (n_L, m) when the loss is the categorical cross-entropy. clip=False
    reads A unclipped (the course's compute_cost); logits: A holds logits; param: huber's
    delta or the label smoothing."""
    cdef Py_ssize_t n_y, k
    A, Y, n_y, k = _checked(loss, A, Y)
    cdef void *pa = cnp.PyArray_DATA(A)
    cdef void *py = cnp.PyArray_DATA(Y)
    cdef bint a32 = cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32
    cdef bint y32 = cnp.PyArray_TYPE(Y) == cnp.NPY_FLOAT32
    cdef LossArgs f = loss_args(loss, a32, clip, logits, param)
    cdef double s
    with nogil:
        if a32 and y32:
            s = loss_sum(&f, <const float *>pa, <const float *>py, n_y, k, True)
        elif a32:
            s = loss_sum(&f, <const float *>pa, <const double *>py, n_y, k, True)
        elif y32:
            s = loss_sum(&f, <const double *>pa, <const float *>py, n_y, k, True)
        else:
            s = loss_sum(&f, <const double *>pa, <const double *>py, n_y, k, True)
    return s


def gradient(int loss, cnp.ndarray A not None, cnp.ndarray Y not None, bint logits=False,
             double param=0.0):
    """dL/dA per example (a new array of A's shape, dtype and memory order); A and Y as for
    cost_sum, Y of A's dtype."""
    cdef Py_ssize_t n_y, k
    if cnp.PyArray_TYPE(A) != cnp.PyArray_TYPE(Y):
        raise TypeError(f"Y must have A's dtype {A.dtype}, got {Y.dtype}")
    A, Y, n_y, k = _checked(loss, A, Y)
    cdef cnp.ndarray G = np.empty_like(A)
    cdef void *pa = cnp.PyArray_DATA(A)
    cdef void *py = cnp.PyArray_DATA(Y)
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef bint a32 = cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32
    cdef LossArgs f = loss_args(loss, a32, True, logits, param)
    with nogil:
        if a32:
            loss_gradient(&f, <const float *>pa, <const float *>py, <float *>pg, n_y, k)
        else:
            loss_gradient(&f, <const double *>pa, <const double *>py, <double *>pg, n_y, k)
    return G


def smoothed(int loss, cnp.ndarray Y not None, double param):
    """The targets a cross-entropy with label smoothing ``param`` reads (a new array like Y,
    which is (n_L, m) F-ordered or one row)."""
    cdef cnp.ndarray T = np.empty_like(Y)
    cdef Py_ssize_t n_y = cnp.PyArray_DIM(Y, 0) if cnp.PyArray_NDIM(Y) == 2 else 1
    cdef LossArgs f = loss_args(loss, False, True, False, param)
    if not cnp.PyArray_IS_F_CONTIGUOUS(Y) or cnp.PyArray_TYPE(Y) not in (
            cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise TypeError("Y must be an F-contiguous float32 or float64 array")
    if cnp.PyArray_TYPE(Y) == cnp.NPY_FLOAT32:
        smoothed_targets(&f, <const float *>cnp.PyArray_DATA(Y), <float *>cnp.PyArray_DATA(T),
                         n_y, cnp.PyArray_SIZE(Y) // max(n_y, 1))
    else:
        smoothed_targets(&f, <const double *>cnp.PyArray_DATA(Y),
                         <double *>cnp.PyArray_DATA(T), n_y, cnp.PyArray_SIZE(Y) // max(n_y, 1))
    return T


cdef double _weighted(const LossArgs *f, cnp.ndarray A, cnp.ndarray Y, const double *w):
    """sum_j w[j] * (the loss summed over column j), for F-ordered (n, k) A and Y."""
    cdef Py_ssize_t n = cnp.PyArray_DIM(A, 0), k = cnp.PyArray_DIM(A, 1), j
    cdef char *pa = <char *>cnp.PyArray_DATA(A)
    cdef char *py = <char *>cnp.PyArray_DATA(Y)
    cdef Py_ssize_t sa = cnp.PyArray_ITEMSIZE(A) * n, sy = cnp.PyArray_ITEMSIZE(Y) * n
    cdef bint a32 = cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32
    cdef bint y32 = cnp.PyArray_TYPE(Y) == cnp.NPY_FLOAT32
    cdef double s = 0, v
    with nogil:
        for j in range(k):
            if a32 and y32:
                v = loss_sum(f, <const float *>(pa + j * sa), <const float *>(py + j * sy),
                             n, 1, True)
            elif a32:
                v = loss_sum(f, <const float *>(pa + j * sa), <const double *>(py + j * sy),
                             n, 1, True)
            elif y32:
                v = loss_sum(f, <const double *>(pa + j * sa), <const float *>(py + j * sy),
                             n, 1, True)
            else:
                v = loss_sum(f, <const double *>(pa + j * sa),
                             <const double *>(py + j * sy), n, 1, True)
            s += w[j] * v
    return s


def cost_sum_weighted(int loss, cnp.ndarray A not None, cnp.ndarray Y not None,
                      const double[::1] w not None, bint clip=True, bint logits=False,
                      double param=0.0):
    """sum over examples j of w[j] times the loss (code from fastdnn._compiled.CODES["loss"])
    summed over column j of A against Y: F-contiguous (n, k) float32/float64 arrays of one
    shape (one column per example) and k float64 weights; clip, logits and param as for
    cost_sum."""
    if cnp.PyArray_NDIM(A) != 2 or (<object>A).shape != (<object>Y).shape \
            or not (cnp.PyArray_IS_F_CONTIGUOUS(A) and cnp.PyArray_IS_F_CONTIGUOUS(Y)):
        raise ValueError("A and Y must be F-contiguous 2-D arrays of one shape")
    if w.shape[0] != cnp.PyArray_DIM(A, 1):
        raise ValueError(f"w must hold one weight per column of A ({cnp.PyArray_DIM(A, 1)}), "
                         f"got {w.shape[0]}")
    for arr in (A, Y):
        if cnp.PyArray_TYPE(arr) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64) \
                or not cnp.PyArray_ISNOTSWAPPED(arr) or not cnp.PyArray_ISALIGNED(arr):
            raise TypeError(f"expected aligned native float32 or float64, got {arr.dtype}")
    if w.shape[0] == 0:
        return 0.0
    cdef LossArgs f = loss_args(loss, cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32, clip, logits,
                                param)
    return _weighted(&f, A, Y, &w[0])


def clip_range(bint f32):
    """(lo, hi): the cross-entropies read A clipped into [lo, hi] (float32 or float64 A)."""
    cdef double lo, hi
    clip_bounds(f32, True, &lo, &hi)
    return lo, hi
