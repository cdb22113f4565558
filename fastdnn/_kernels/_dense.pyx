# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Fused dense-layer steps: one GEMM plus one pass for bias and activation
forward; one pass for dZ and db, then two GEMMs, backward.

Arrays use the lecture layout: W (n_l, n_prev), b (n_l, 1) or (n_l,),
A_prev (n_prev, m), A (n_l, m); any of them may be C- or F-contiguous.
"""
import numpy as np

cimport numpy as cnp

from fastdnn._kernels._blas cimport gemm
from fastdnn._kernels._elementwise cimport (act_backward_f32, act_backward_f64, as_float_array,
                                            bias_act_f32, bias_act_f64)

from fastdnn._kernels import _elementwise as _ew

cnp.import_array()


cdef inline tuple _shape(cnp.ndarray a):
    return (<object>a).shape


cdef inline bint _direct(cnp.ndarray a):
    return cnp.PyArray_ISALIGNED(a) and (
        cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_IS_F_CONTIGUOUS(a))


cdef inline bint _row_major(cnp.ndarray a):
    """C layout for the kernels' lines (a 2-D array that is both counts as C)."""
    return cnp.PyArray_IS_C_CONTIGUOUS(a)


cdef cnp.ndarray _matrix(object x, str name, str where):
    cdef cnp.ndarray a = as_float_array(x, name)
    if cnp.PyArray_NDIM(a) != 2:
        raise ValueError(f"{where}{name} must be 2-D, got shape {_shape(a)}")
    if not _direct(a):
        a = np.ascontiguousarray(a)
    return a


cdef cnp.ndarray _like_layout(cnp.ndarray a, cnp.ndarray model):
    """a in the memory order of model (copy only if needed)."""
    if _row_major(model):
        return a if (_row_major(a) and cnp.PyArray_ISALIGNED(a)) else np.ascontiguousarray(a)
    return a if (cnp.PyArray_IS_F_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a)) else np.asfortranarray(a)


cdef bint _overlaps(cnp.ndarray a, cnp.ndarray b):
    cdef char *pa = <char *>cnp.PyArray_DATA(a)
    cdef char *pb = <char *>cnp.PyArray_DATA(b)
    return pa < pb + cnp.PyArray_NBYTES(b) and pb < pa + cnp.PyArray_NBYTES(a)


cdef cnp.ndarray _out_matrix(object out, tuple shape, object dtype, str name, str where,
                             bint fortran):
    cdef cnp.ndarray y
    if out is None:
        return np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{where}{name} must be a numpy.ndarray, got {type(out).__name__}")
    y = <cnp.ndarray>out
    if y.dtype != dtype:
        raise TypeError(f"{where}{name} must have dtype {np.dtype(dtype)}, got {y.dtype}")
    if _shape(y) != shape:
        raise ValueError(f"{where}{name} must have shape {shape}, got {_shape(y)}")
    if not _direct(y) or not cnp.PyArray_ISWRITEABLE(y):
        raise ValueError(f"{where}{name} must be a writeable C- or F-contiguous array")
    return y


cdef void _check_dtypes(list arrays, str where) except *:
    cdef cnp.ndarray first = arrays[0][1]
    for name, a in arrays[1:]:
        if (<cnp.ndarray>a).dtype != first.dtype:
            raise TypeError(f"{where}{name} has dtype {a.dtype} but {arrays[0][0]} has "
                            f"{first.dtype}; use one float dtype for a layer")


cdef tuple _check_layer(cnp.ndarray A_prev, cnp.ndarray W, cnp.ndarray b, str where):
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(W, 0), n_prev = cnp.PyArray_DIM(W, 1)
    if cnp.PyArray_DIM(A_prev, 0) != n_prev:
        raise ValueError(
            f"{where}W has shape {_shape(W)} but A_prev has shape {_shape(A_prev)}: "
            f"A_prev needs {n_prev} rows (n_prev), one column per example")
    if not (_shape(b) == (n_l, 1) or _shape(b) == (n_l,)):
        raise ValueError(f"{where}b must have shape ({n_l}, 1) to match W {_shape(W)}, "
                         f"got {_shape(b)}")
    return n_l, n_prev


def forward(A_prev, W, b, int act, double alpha, bint softmax, out=None, str where=""):
    """A = g(W @ A_prev + b): one GEMM, then bias and activation in one pass."""
    cdef cnp.ndarray X = _matrix(A_prev, "A_prev", where)
    cdef cnp.ndarray Wm = _matrix(W, "W", where)
    cdef cnp.ndarray bv = as_float_array(b, "b")
    _check_dtypes([("A_prev", X), ("W", Wm), ("b", bv)], where)
    n_l, n_prev = _check_layer(X, Wm, bv, where)
    if not (cnp.PyArray_IS_C_CONTIGUOUS(bv) and cnp.PyArray_ISALIGNED(bv)):
        bv = np.ascontiguousarray(bv)
    cdef Py_ssize_t m = cnp.PyArray_DIM(X, 1)
    # F-ordered inputs (X.T of a C-ordered (m, n) batch) give F-ordered outputs
    cdef bint fortran = cnp.PyArray_IS_F_CONTIGUOUS(X) and not cnp.PyArray_IS_C_CONTIGUOUS(X)
    cdef cnp.ndarray A = _out_matrix(out, (n_l, m), X.dtype, "out", where, fortran)
    if _overlaps(A, X) or _overlaps(A, Wm) or _overlaps(A, bv):
        raise ValueError(f"{where}out must not share memory with A_prev, W or b")
    if n_l == 0 or m == 0:
        return A
    gemm(Wm, X, A, 1.0, 0.0)
    cdef bint rows = _row_major(A)
    cdef Py_ssize_t lines = n_l if rows else m
    cdef Py_ssize_t length = m if rows else n_l
    cdef int code = _ew.LINEAR if softmax else act
    cdef void *pz = cnp.PyArray_DATA(A)
    cdef void *pb = cnp.PyArray_DATA(bv)
    if cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32:
        with nogil:
            bias_act_f32(code, <float *>pz, lines, length, <const float *>pb, rows, <float>alpha)
    else:
        with nogil:
            bias_act_f64(code, <double *>pz, lines, length, <const double *>pb, rows, alpha)
    if softmax:
        _ew.softmax(A, 0, A)
    return A


def backward(dA, A_prev, W, b, A, int op, double alpha, bint softmax, bint need_dA_prev=True,
             str where="", str dA_name="dA"):
    """(dA_prev, dW, db) of a dense layer from its cached A_prev, W and activation A.

    op is a BW_* code; BW_OUTPUT_SUB makes dZ = A - Y with Y passed as dA.
    """
    cdef cnp.ndarray X = _matrix(A_prev, "A_prev", where)
    cdef cnp.ndarray Wm = _matrix(W, "W", where)
    cdef cnp.ndarray Am = _matrix(A, "A", where)
    cdef cnp.ndarray G = _matrix(dA, dA_name, where)
    _check_dtypes([("A", Am), (dA_name, G), ("A_prev", X), ("W", Wm)], where)
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(Wm, 0), n_prev = cnp.PyArray_DIM(Wm, 1)
    cdef Py_ssize_t m = cnp.PyArray_DIM(X, 1)
    if cnp.PyArray_DIM(X, 0) != n_prev:
        raise ValueError(f"{where}W has shape {_shape(Wm)} but A_prev has shape {_shape(X)}")
    if _shape(Am) != (n_l, m):
        raise ValueError(f"{where}A has shape {_shape(Am)}, expected {(n_l, m)} from W "
                         f"{_shape(Wm)} and A_prev {_shape(X)}")
    if _shape(G) != (n_l, m):
        raise ValueError(f"{where}{dA_name} has shape {_shape(G)} but A has shape {_shape(Am)}")
    G = _like_layout(G, Am)
    cdef cnp.ndarray dZ = np.empty_like(Am)
    cdef cnp.ndarray db = np.zeros((n_l, 1) if b is None else np.shape(b), dtype=Am.dtype)
    cdef cnp.ndarray dW = np.empty_like(Wm)
    cdef object dA_prev = None
    if softmax and op != _ew.BW_OUTPUT_SUB:
        _ew.softmax_backward(G, Am, 0, dZ)
        G = dZ
        op = _ew.BW_LINEAR
    cdef bint rows = _row_major(Am)
    cdef Py_ssize_t lines = n_l if rows else m
    cdef Py_ssize_t length = m if rows else n_l
    cdef double scale = 1.0 / m if m > 0 else 0.0
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef void *pa = cnp.PyArray_DATA(Am)
    cdef void *pz = cnp.PyArray_DATA(dZ)
    cdef void *pdb = cnp.PyArray_DATA(db)
    if n_l > 0 and m > 0:
        if cnp.PyArray_TYPE(Am) == cnp.NPY_FLOAT32:
            with nogil:
                act_backward_f32(op, <const float *>pg, <const float *>pa, <float *>pz, lines,
                                 length, <float *>pdb, rows, <float>scale, <float>alpha)
        else:
            with nogil:
                act_backward_f64(op, <const double *>pg, <const double *>pa, <double *>pz, lines,
                                 length, <double *>pdb, rows, scale, alpha)
    gemm(dZ, X.T, dW, scale, 0.0)
    if m == 0:
        dW.fill(0)
    if need_dA_prev:
        dA_prev = np.empty((n_prev, m), dtype=Am.dtype,
                           order="C" if _row_major(X) else "F")
        gemm(Wm.T, dZ, dA_prev, 1.0, 0.0)
    return dA_prev, dW, db
