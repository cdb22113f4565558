# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The losses' sums from Python: fastdnn.losses and the course API's compute_cost."""
cimport numpy as cnp

from fastdnn._kernels._loss cimport clip_bounds, loss_sum

cnp.import_array()


cdef double _sum(int loss, cnp.ndarray A, cnp.ndarray Y, bint clip):
    cdef Py_ssize_t n = cnp.PyArray_SIZE(A)
    cdef void *pa = cnp.PyArray_DATA(A)
    cdef void *py = cnp.PyArray_DATA(Y)
    cdef bint a32 = cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32
    cdef bint y32 = cnp.PyArray_TYPE(Y) == cnp.NPY_FLOAT32
    cdef double lo, hi, s
    clip_bounds(a32, clip, &lo, &hi)
    with nogil:
        if a32 and y32:
            s = loss_sum(loss, <const float *>pa, <const float *>py, n, lo, hi, True)
        elif a32:
            s = loss_sum(loss, <const float *>pa, <const double *>py, n, lo, hi, True)
        elif y32:
            s = loss_sum(loss, <const double *>pa, <const float *>py, n, lo, hi, True)
        else:
            s = loss_sum(loss, <const double *>pa, <const double *>py, n, lo, hi, True)
    return s


def cost_sum(int loss, cnp.ndarray A not None, cnp.ndarray Y not None, bint clip=True):
    """The loss (code from fastdnn._compiled.CODES["loss"]) summed over every element of
    A against Y: float32/float64 arrays of one size and one memory order (both C- or
    both F-contiguous). clip=False reads A unclipped (the course's compute_cost)."""
    if cnp.PyArray_SIZE(Y) != cnp.PyArray_SIZE(A) or not (
            (cnp.PyArray_IS_C_CONTIGUOUS(A) and cnp.PyArray_IS_C_CONTIGUOUS(Y))
            or (cnp.PyArray_IS_F_CONTIGUOUS(A) and cnp.PyArray_IS_F_CONTIGUOUS(Y))):
        raise ValueError("A and Y must be arrays of one size and one memory order")
    for arr in (A, Y):
        if cnp.PyArray_TYPE(arr) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64) \
                or not cnp.PyArray_ISNOTSWAPPED(arr) or not cnp.PyArray_ISALIGNED(arr):
            raise TypeError(f"expected aligned native float32 or float64, got {arr.dtype}")
    return _sum(loss, A, Y, clip)


cdef double _weighted(int loss, cnp.ndarray A, cnp.ndarray Y, const double *w, bint clip):
    """sum_j w[j] * (the loss summed over column j), for F-ordered (n, k) A and Y."""
    cdef Py_ssize_t n = cnp.PyArray_DIM(A, 0), k = cnp.PyArray_DIM(A, 1), j
    cdef char *pa = <char *>cnp.PyArray_DATA(A)
    cdef char *py = <char *>cnp.PyArray_DATA(Y)
    cdef Py_ssize_t sa = cnp.PyArray_ITEMSIZE(A) * n, sy = cnp.PyArray_ITEMSIZE(Y) * n
    cdef bint a32 = cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32
    cdef bint y32 = cnp.PyArray_TYPE(Y) == cnp.NPY_FLOAT32
    cdef double lo, hi, s = 0, v
    clip_bounds(a32, clip, &lo, &hi)
    with nogil:
        for j in range(k):
            if a32 and y32:
                v = loss_sum(loss, <const float *>(pa + j * sa), <const float *>(py + j * sy),
                             n, lo, hi, True)
            elif a32:
                v = loss_sum(loss, <const float *>(pa + j * sa), <const double *>(py + j * sy),
                             n, lo, hi, True)
            elif y32:
                v = loss_sum(loss, <const double *>(pa + j * sa), <const float *>(py + j * sy),
                             n, lo, hi, True)
            else:
                v = loss_sum(loss, <const double *>(pa + j * sa),
                             <const double *>(py + j * sy), n, lo, hi, True)
            s += w[j] * v
    return s


def cost_sum_weighted(int loss, cnp.ndarray A not None, cnp.ndarray Y not None,
                      const double[::1] w not None, bint clip=True):
    """sum over examples j of w[j] times the loss (code from fastdnn._compiled.CODES["loss"])
    summed over column j of A against Y: F-contiguous (n, k) float32/float64 arrays of one
    shape (one column per example) and k float64 weights."""
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
    return _weighted(loss, A, Y, &w[0], clip)


def clip_range(bint f32):
    """(lo, hi): the cross-entropies read A clipped into [lo, hi] (float32 or float64 A)."""
    cdef double lo, hi
    clip_bounds(f32, True, &lo, &hi)
    return lo, hi
