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


def clip_range(bint f32):
    """(lo, hi): the cross-entropies read A clipped into [lo, hi] (float32 or float64 A)."""
    cdef double lo, hi
    clip_bounds(f32, True, &lo, &hi)
    return lo, hi
