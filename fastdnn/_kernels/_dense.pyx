# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Fused dense-layer steps: one GEMM plus one pass for bias and activation
forward; one pass for dZ and db, then two GEMMs, backward.

Arrays use the lecture layout: W (n_l, n_prev), b (n_l, 1) or (n_l,),
A_prev (n_prev, m), A (n_l, m); any of them may be C- or F-contiguous.
"""
import numpy as np

cimport numpy as cnp

from fastdnn._kernels._blas cimport (FDNN_SPLIT_COLS, FDNN_SPLIT_COST, FDNN_SPLIT_ROWS,
                                     SMALL_GEMM, _small_gemm, gemm)
from fastdnn._kernels._elementwise cimport (act_backward_f32, act_backward_f64, as_float_array,
                                            bias_act_f32, bias_act_f64)

from fastdnn._kernels import _elementwise as _ew

cnp.import_array()

# multiply-adds up to which products run on the direct loops rather than packed
SMALL_GEMM_MACS = SMALL_GEMM

cdef int LINEAR = _ew.LINEAR
cdef int BW_LINEAR = _ew.BW_LINEAR
cdef int BW_OUTPUT_SUB = _ew.BW_OUTPUT_SUB
# the activations' forward codes (unary ops, not all at the start of that list)
_ACTIVATION_CODES = frozenset(_ew.code_names("unary").index(name)
                              for name in _ew.code_names("activation"))


cdef inline cnp.ndarray _empty_like(cnp.ndarray a):
    return cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a),
                             not cnp.PyArray_IS_C_CONTIGUOUS(a))


cdef inline tuple _shape(cnp.ndarray a):
    return (<object>a).shape


cdef inline bint _direct(cnp.ndarray a):
    return cnp.PyArray_ISALIGNED(a) and (
        cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_IS_F_CONTIGUOUS(a))


cdef inline bint _row_major(cnp.ndarray a):
    """C layout for the kernels' lines (a 2-D array that is both counts as C)."""
    return cnp.PyArray_IS_C_CONTIGUOUS(a)


cdef str _prefix(object layer):
    """Error-message prefix naming the layer (built only when raising)."""
    return "" if layer is None else f"layer {layer}: "


cdef inline bint _ready(object x):
    """An aligned, contiguous, native float32/float64 2-D ndarray: nothing to check or copy."""
    if not cnp.PyArray_CheckExact(x):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int t = cnp.PyArray_TYPE(a)
    return ((t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64) and cnp.PyArray_NDIM(a) == 2
            and cnp.PyArray_ISNOTSWAPPED(a) and _direct(a))


cdef cnp.ndarray _matrix(object x, str name, object layer):
    if _ready(x):
        return <cnp.ndarray>x
    cdef cnp.ndarray a = as_float_array(x, name)
    if cnp.PyArray_NDIM(a) != 2:
        raise ValueError(f"{_prefix(layer)}{name} must be 2-D, got shape {_shape(a)}")
    if not _direct(a):
        a = np.array(a, order="C", copy=True)  # also realigns a misaligned contiguous array
    return a


cdef cnp.ndarray _like_layout(cnp.ndarray a, cnp.ndarray model):
    """a in the memory order of model (copy only if needed)."""
    if _row_major(model):
        return a if (_row_major(a) and cnp.PyArray_ISALIGNED(a)) else np.array(a, order="C", copy=True)
    return (a if (cnp.PyArray_IS_F_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a))
            else np.array(a, order="F", copy=True))


cdef bint _overlaps(cnp.ndarray a, cnp.ndarray b):
    cdef char *pa = <char *>cnp.PyArray_DATA(a)
    cdef char *pb = <char *>cnp.PyArray_DATA(b)
    return pa < pb + cnp.PyArray_NBYTES(b) and pb < pa + cnp.PyArray_NBYTES(a)


cdef cnp.ndarray _out_matrix(object out, tuple shape, object dtype, str name, object layer):
    """The caller's out buffer, checked (dtype, shape, contiguity, writeable)."""
    cdef cnp.ndarray y
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{_prefix(layer)}{name} must be a numpy.ndarray, got {type(out).__name__}")
    y = <cnp.ndarray>out
    if y.dtype != dtype:
        raise TypeError(f"{_prefix(layer)}{name} must have dtype {np.dtype(dtype)}, got {y.dtype}")
    if _shape(y) != shape:
        raise ValueError(f"{_prefix(layer)}{name} must have shape {shape}, got {_shape(y)}")
    if not _direct(y) or not cnp.PyArray_ISWRITEABLE(y):
        raise ValueError(f"{_prefix(layer)}{name} must be a writeable C- or F-contiguous array")
    return y


cdef int _same_dtype(cnp.ndarray ref, cnp.ndarray a, str name, str ref_name,
                     object layer) except -1:
    if cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(ref):
        raise TypeError(f"{_prefix(layer)}{name} has dtype {a.dtype} but {ref_name} has "
                        f"{ref.dtype}; use one float dtype for a layer")
    return 0


cdef tuple _check_layer(cnp.ndarray A_prev, cnp.ndarray W, cnp.ndarray b, object layer):
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(W, 0), n_prev = cnp.PyArray_DIM(W, 1)
    if cnp.PyArray_DIM(A_prev, 0) != n_prev:
        raise ValueError(
            f"{_prefix(layer)}W has shape {_shape(W)} but A_prev has shape {_shape(A_prev)}: "
            f"A_prev needs {n_prev} rows (n_prev), one column per example")
    if not (_shape(b) == (n_l, 1) or _shape(b) == (n_l,)):
        raise ValueError(f"{_prefix(layer)}b must have shape ({n_l}, 1) to match W {_shape(W)}, "
                         f"got {_shape(b)}")
    return n_l, n_prev


cdef int _forward_into(cnp.ndarray X, cnp.ndarray Wm, cnp.ndarray bv, int act, double alpha,
                       bint softmax, cnp.ndarray A) except -1:
    """A = g(Wm @ X + bv) for checked arrays (A contiguous, not overlapping; bv None: no
    bias)."""
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(A, 0), m = cnp.PyArray_DIM(A, 1)
    if n_l == 0 or m == 0:
        return 0
    gemm(Wm, X, A, 1.0, 0.0, True, LINEAR if softmax else act, alpha,
         NULL if bv is None else cnp.PyArray_DATA(bv))
    if softmax:
        _ew.softmax(A, 0, A)
    return 0


cdef tuple _checked_layer(object A_prev, object W, object b, object layer):
    cdef cnp.ndarray X = _matrix(A_prev, "A_prev", layer)
    cdef cnp.ndarray Wm = _matrix(W, "W", layer)
    cdef cnp.ndarray bv = as_float_array(b, "b")
    _same_dtype(X, Wm, "W", "A_prev", layer)
    _same_dtype(X, bv, "b", "A_prev", layer)
    _check_layer(X, Wm, bv, layer)
    if not (cnp.PyArray_IS_C_CONTIGUOUS(bv) and cnp.PyArray_ISALIGNED(bv)):
        bv = np.array(bv, order="C", copy=True)
    return X, Wm, bv


def forward(A_prev, W, b, int act, double alpha, bint softmax, out=None, layer=None):
    """A = g(W @ A_prev + b): one GEMM, then bias and activation in one pass."""
    cdef cnp.ndarray X, Wm, bv, A
    X, Wm, bv = _checked_layer(A_prev, W, b, layer)
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(Wm, 0), m = cnp.PyArray_DIM(X, 1)
    # F-ordered inputs (X.T of a C-ordered (m, n) batch) give F-ordered outputs
    cdef bint fortran = cnp.PyArray_IS_F_CONTIGUOUS(X) and not cnp.PyArray_IS_C_CONTIGUOUS(X)
    if out is None:
        A = _empty2(n_l, m, cnp.PyArray_TYPE(X), fortran)
    else:
        A = _out_matrix(out, (n_l, m), X.dtype, "out", layer)
    if out is not None and (_overlaps(A, X) or _overlaps(A, Wm) or _overlaps(A, bv)):
        raise ValueError(f"{_prefix(layer)}out must not share memory with A_prev, W or b")
    _forward_into(X, Wm, bv, act, alpha, softmax, A)
    return A


cdef int _backward_into(cnp.ndarray G, cnp.ndarray X, cnp.ndarray Wm, cnp.ndarray Am, int op,
                        double alpha, bint softmax, cnp.ndarray dZ, cnp.ndarray dW,
                        cnp.ndarray db, object dA_prev) except -1:
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(Am, 0), m = cnp.PyArray_DIM(Am, 1)
    if softmax and op != BW_OUTPUT_SUB:
        _ew.softmax_backward(G, Am, 0, dZ)
        G = dZ
        op = BW_LINEAR
    cdef bint rows = _row_major(Am)
    cdef Py_ssize_t lines = n_l if rows else m
    cdef Py_ssize_t length = m if rows else n_l
    cdef double scale = 1.0 / m if m > 0 else 0.0
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef void *pa = cnp.PyArray_DATA(Am)
    cdef void *pz = cnp.PyArray_DATA(dZ)
    cdef void *pdb = NULL if db is None else cnp.PyArray_DATA(db)
    if n_l > 0 and m > 0:
        if cnp.PyArray_TYPE(Am) == cnp.NPY_FLOAT32:
            with nogil:
                act_backward_f32(op, <const float *>pg, <const float *>pa, <float *>pz, lines,
                                 length, <float *>pdb, rows, <float>scale, <float>alpha)
        else:
            with nogil:
                act_backward_f64(op, <const double *>pg, <const double *>pa, <double *>pz, lines,
                                 length, <double *>pdb, rows, scale, alpha)
    if m == 0:
        dW.fill(0)
        if db is not None:
            db.fill(0)
    else:
        gemm(dZ, X.T, dW, scale, 0.0)
    if dA_prev is not None:
        gemm(Wm.T, dZ, <cnp.ndarray>dA_prev, 1.0, 0.0)
    return 0


cdef tuple _backward_alloc(cnp.ndarray G, cnp.ndarray X, cnp.ndarray Wm, object b,
                           cnp.ndarray Am, int op, double alpha, bint softmax,
                           bint need_dA_prev):
    cdef int t = cnp.PyArray_TYPE(Am)
    cdef cnp.ndarray dZ = _empty_like(Am)
    # db takes b's shape but A's dtype (the kernel writes A's type into it)
    cdef cnp.ndarray db = (cnp.PyArray_EMPTY(cnp.PyArray_NDIM(<cnp.ndarray>b),
                                             cnp.PyArray_DIMS(<cnp.ndarray>b), t, False)
                           if b is not None else _empty2(cnp.PyArray_DIM(Wm, 0), 1, t, False))
    cdef cnp.ndarray dW = _empty_like(Wm)
    cdef object dA_prev = None
    if need_dA_prev:
        dA_prev = _empty2(cnp.PyArray_DIM(X, 0), cnp.PyArray_DIM(X, 1), t, not _row_major(X))
    _backward_into(G, X, Wm, Am, op, alpha, softmax, dZ, dW, db, dA_prev)
    return dA_prev, dW, db


cdef tuple _checked_backward(object dA, object A_prev, object W, object b, object A,
                             object layer, str dA_name):
    cdef cnp.ndarray X = _matrix(A_prev, "A_prev", layer)
    cdef cnp.ndarray Wm = _matrix(W, "W", layer)
    cdef cnp.ndarray Am = _matrix(A, "A", layer)
    cdef cnp.ndarray G = _matrix(dA, dA_name, layer)
    _same_dtype(Am, G, dA_name, "A", layer)
    _same_dtype(Am, X, "A_prev", "A", layer)
    _same_dtype(Am, Wm, "W", "A", layer)
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(Wm, 0), n_prev = cnp.PyArray_DIM(Wm, 1)
    cdef Py_ssize_t m = cnp.PyArray_DIM(X, 1)
    if cnp.PyArray_DIM(X, 0) != n_prev:
        raise ValueError(f"{_prefix(layer)}W has shape {_shape(Wm)} but A_prev has shape "
                         f"{_shape(X)}")
    if cnp.PyArray_DIM(Am, 0) != n_l or cnp.PyArray_DIM(Am, 1) != m:
        raise ValueError(f"{_prefix(layer)}A has shape {_shape(Am)}, expected {(n_l, m)} from "
                         f"W {_shape(Wm)} and A_prev {_shape(X)}")
    if cnp.PyArray_DIM(G, 0) != n_l or cnp.PyArray_DIM(G, 1) != m:
        raise ValueError(f"{_prefix(layer)}{dA_name} has shape {_shape(G)} but A has shape "
                         f"{_shape(Am)}")
    if b is not None:
        b = as_float_array(b, "b")
        if not (_shape(b) == (n_l, 1) or _shape(b) == (n_l,)):
            raise ValueError(f"{_prefix(layer)}b must have shape ({n_l}, 1), got {_shape(b)}")
    return _like_layout(G, Am), X, Wm, b, Am


def backward(dA, A_prev, W, b, A, int op, double alpha, bint softmax, bint need_dA_prev=True,
             layer=None, str dA_name="dA"):
    """(dA_prev, dW, db) of a dense layer from its cached A_prev, W and activation A.

    op is a BW_* code; BW_OUTPUT_SUB makes dZ = A - Y with Y passed as dA.
    """
    G, X, Wm, bv, Am = _checked_backward(dA, A_prev, W, b, A, layer, dA_name)
    return _backward_alloc(G, X, Wm, bv, Am, op, alpha, softmax, need_dA_prev)


# ------------------------------------------------ workspace entry points (models)
# The model layer owns its buffers and has checked shapes and dtypes once per
# fit; these skip the per-call checks and allocations of forward/backward.

def forward_into(cnp.ndarray X, cnp.ndarray W, cnp.ndarray b, int act, double alpha,
                 bint softmax, cnp.ndarray A):
    """A = g(W @ X + b) into the preallocated, contiguous A (no checks; b None: no bias)."""
    _forward_into(X, W, b, act, alpha, softmax, A)


def backward_into(cnp.ndarray G, cnp.ndarray X, cnp.ndarray W, cnp.ndarray A, int op,
                  double alpha, bint softmax, cnp.ndarray dZ, cnp.ndarray dW, cnp.ndarray db,
                  object dA_prev):
    """dZ, dW, db (and dA_prev unless None) of one layer into preallocated arrays.

    G (dA, or Y with op BW_OUTPUT_SUB) must have A's memory order; no checks. db None:
    a layer without a bias (no column sums formed).
    """
    _backward_into(G, X, W, A, op, alpha, softmax, dZ, dW, db, dA_prev)


# matmul's split: how the packed engine's threads cut C
_SPLITS = {"cost": FDNN_SPLIT_COST, "rows": FDNN_SPLIT_ROWS, "columns": FDNN_SPLIT_COLS}


def matmul(A, B, double alpha=1.0, bint direct=True, out=None, double beta=0.0,
           int act=-1, double act_alpha=0.0, bias=None, int shares=0, split="cost"):
    """alpha * A @ B + beta * out for 2-D float arrays of one dtype (tests and benchmarks),
    then g(C + bias) when act >= 0 (an activation code; bias: M values, one per row of C,
    or None).

    direct=True uses the register-blocked loops whenever the layouts allow
    them (whatever the size); direct=False always packs (csrc/fdnn_gemm_packed.h).
    out: a writeable C- or F-contiguous (M, N) array of the dtype, not overlapping
    A or B, written and returned (default: a new C-ordered array; beta needs out).
    shares > 0 (packed engine): the product cut as that many threads would cut it, the
    shares made one after another on the calling thread, whatever the team's size.
    split (packed engine): how the threads cut C, "cost" (the engine's choice), "rows"
    or "columns"; the result is the same bit for bit.
    """
    cdef cnp.ndarray a = _matrix(A, "A", None), b = _matrix(B, "B", None)
    cdef cnp.ndarray bv = None
    _same_dtype(a, b, "B", "A", None)
    if cnp.PyArray_DIM(a, 1) != cnp.PyArray_DIM(b, 0):
        raise ValueError(f"A has shape {_shape(a)} but B has shape {_shape(b)}")
    cdef cnp.ndarray C
    if out is None:
        if beta != 0:
            raise ValueError("beta != 0 needs out")
        C = _empty2(cnp.PyArray_DIM(a, 0), cnp.PyArray_DIM(b, 1), cnp.PyArray_TYPE(a), False)
    else:
        C = _out_matrix(out, (cnp.PyArray_DIM(a, 0), cnp.PyArray_DIM(b, 1)), a.dtype, "out",
                        None)
        if _overlaps(C, a) or _overlaps(C, b):
            raise ValueError("out must not overlap A or B")
    if act >= 0 and act not in _ACTIVATION_CODES:
        raise ValueError(f"act must be an activation code or -1, got {act}")
    if act >= 0 and bias is not None:
        bv = np.ascontiguousarray(bias, dtype=a.dtype).reshape(-1)
        if cnp.PyArray_DIM(bv, 0) != cnp.PyArray_DIM(a, 0):
            raise ValueError(f"bias must have {cnp.PyArray_DIM(a, 0)} values, got {bv.size}")
    if shares < 0:
        raise ValueError(f"shares must be >= 0, got {shares}")
    if shares > 0 and direct:
        raise ValueError("shares needs direct=False (the packed engine)")
    if not isinstance(split, str):
        raise TypeError(f"split must be a str, got {type(split).__name__}")
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, _SPLITS))}, got {split!r}")
    if split != "cost" and direct:
        raise ValueError("split needs direct=False (the packed engine)")
    if not (direct and beta == 0 and act < 0 and _small_gemm(a, b, C, alpha)):
        gemm(a, b, C, alpha, beta, direct, act, act_alpha,
             cnp.PyArray_DATA(bv) if bv is not None else NULL, shares, _SPLITS[split])
    return C
