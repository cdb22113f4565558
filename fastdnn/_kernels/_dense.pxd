# The checked dense steps other kernel modules build on (fastdnn._kernels._course).
cimport numpy as cnp


cdef inline cnp.ndarray _empty2(Py_ssize_t n0, Py_ssize_t n1, int typenum, bint fortran):
    cdef cnp.npy_intp dims[2]
    dims[0] = n0
    dims[1] = n1
    return cnp.PyArray_EMPTY(2, dims, typenum, fortran)


cdef int _forward_into(cnp.ndarray X, cnp.ndarray Wm, cnp.ndarray bv, int act, double alpha,
                       bint softmax, cnp.ndarray A) except -1
cdef tuple _checked_layer(object A_prev, object W, object b, object layer)
cdef tuple _backward_alloc(cnp.ndarray G, cnp.ndarray X, cnp.ndarray Wm, object b,
                           cnp.ndarray Am, int op, double alpha, bint softmax,
                           bint need_dA_prev)
cdef tuple _checked_backward(object dA, object A_prev, object W, object b, object A,
                             object layer, str dA_name)
