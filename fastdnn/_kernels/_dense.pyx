# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Fused dense-layer steps: one GEMM plus one pass for bias and activation
forward; one pass for dZ and db, then two GEMMs, backward.

Arrays use the lecture layout: W (n_l, n_prev), b (n_l, 1) or (n_l,),
A_prev (n_prev, m), A (n_l, m); any of them may be C- or F-contiguous.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport fabs, isfinite, log

from fastdnn._kernels._blas cimport _small_gemm, gemm
from fastdnn._kernels._elementwise cimport (act_backward_f32, act_backward_f64, as_float_array,
                                            bias_act_f32, bias_act_f64)

from fastdnn._kernels import _elementwise as _ew

cnp.import_array()

cdef int LINEAR = _ew.LINEAR
cdef int BW_LINEAR = _ew.BW_LINEAR
cdef int BW_OUTPUT_SUB = _ew.BW_OUTPUT_SUB
cdef int SGD_STEP = _ew.SGD_STEP


cdef inline cnp.ndarray _empty2(Py_ssize_t n0, Py_ssize_t n1, int typenum, bint fortran):
    cdef cnp.npy_intp dims[2]
    dims[0] = n0
    dims[1] = n1
    return cnp.PyArray_EMPTY(2, dims, typenum, fortran)


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
    """A = g(Wm @ X + bv) for checked arrays (A contiguous, not overlapping)."""
    cdef Py_ssize_t n_l = cnp.PyArray_DIM(A, 0), m = cnp.PyArray_DIM(A, 1)
    if n_l == 0 or m == 0:
        return 0
    gemm(Wm, X, A, 1.0, 0.0)
    cdef bint rows = _row_major(A)
    cdef Py_ssize_t lines = n_l if rows else m
    cdef Py_ssize_t length = m if rows else n_l
    cdef int code = LINEAR if softmax else act
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
    if m == 0:
        dW.fill(0)
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


cdef tuple _cache_parts(object cache):
    """((A_prev, W, b), A) of one course cache, or ValueError."""
    if not (type(cache) is tuple and len(<tuple>cache) == 2 and type((<tuple>cache)[0]) is tuple
            and len(<tuple>(<tuple>cache)[0]) == 3):
        raise ValueError("caches must be the list returned by L_model_forward: "
                         "((A_prev, W, b), A) per layer")
    cdef tuple lin = (<tuple>cache)[0]
    return lin[0], lin[1], lin[2], (<tuple>cache)[1]


def course_backward(Y, list caches, list ops, list alphas, list softmaxes, tuple keys):
    """fastdnn.course.L_model_backward's loop: the grads dict from the caches, layer L first.

    keys: "dA0".."dA{L-1}", "dW1".."dWL", "db1".."dbL".
    """
    cdef Py_ssize_t L = len(caches), l
    cdef list dAs = [None] * L, dWs = [None] * L, dbs = [None] * L
    cdef object G = Y
    cdef int op
    for l in range(L - 1, -1, -1):
        A_prev, W, b, A = _cache_parts(caches[l])
        op = BW_OUTPUT_SUB if l == L - 1 else ops[l]
        g, X, Wm, bv, Am = _checked_backward(G, A_prev, W, b, A, l + 1,
                                              "Y" if l == L - 1 else "dA")
        dAs[l], dWs[l], dbs[l] = _backward_alloc(g, X, Wm, bv, Am, op, alphas[l],
                                                 softmaxes[l], True)
        G = dAs[l]
    cdef dict grads = {}
    for l in range(L):
        grads[keys[l]] = dAs[l]
    for l in range(L):
        grads[keys[L + l]] = dWs[l]
    for l in range(L):
        grads[keys[2 * L + l]] = dbs[l]
    return grads


def course_forward(X, dict parameters, tuple W_keys, tuple b_keys, list acts, list alphas,
                   list softmaxes):
    """fastdnn.course.L_model_forward's loop: (AL, caches) with caches ((A_prev, W, b), A)."""
    cdef Py_ssize_t L = len(W_keys), l
    cdef list caches = []
    cdef cnp.ndarray Xl, Wm, bv, A
    cdef object prev = X, W, b
    for l in range(L):
        W = parameters[W_keys[l]]
        b = parameters[b_keys[l]]
        Xl, Wm, bv = _checked_layer(prev, W, b, l + 1)
        fortran = cnp.PyArray_IS_F_CONTIGUOUS(Xl) and not cnp.PyArray_IS_C_CONTIGUOUS(Xl)
        A = _empty2(cnp.PyArray_DIM(Wm, 0), cnp.PyArray_DIM(Xl, 1), cnp.PyArray_TYPE(Xl),
                    fortran)
        _forward_into(Xl, Wm, bv, acts[l], alphas[l], softmaxes[l], A)
        caches.append(((prev, W, b), A))
        prev = A
    return prev, caches


def course_update(dict parameters, dict grads, tuple names, tuple grad_names,
                  double learning_rate):
    """fastdnn.course.update_parameters: parameters[k] = parameters[k] - lr * grads["d" + k]
    for every name, all or nothing. Returns the names whose gradient is missing (nothing
    is updated then)."""
    cdef Py_ssize_t i, n = len(names)
    cdef list gs = [grads.get(k) for k in grad_names]
    cdef list missing = [names[i] for i in range(n) if gs[i] is None]
    if missing:
        return missing
    cdef list new = [_ew.binary(SGD_STEP, gs[i], parameters[names[i]], None, learning_rate,
                                "grad", "param") for i in range(n)]
    for i in range(n):
        parameters[names[i]] = new[i]
    return missing


# ------------------------------------------------ workspace entry points (models)
# The model layer owns its buffers and has checked shapes and dtypes once per
# fit; these skip the per-call checks and allocations of forward/backward.

def forward_into(cnp.ndarray X, cnp.ndarray W, cnp.ndarray b, int act, double alpha,
                 bint softmax, cnp.ndarray A):
    """A = g(W @ X + b) into the preallocated, contiguous A (no checks)."""
    _forward_into(X, W, b, act, alpha, softmax, A)


def backward_into(cnp.ndarray G, cnp.ndarray X, cnp.ndarray W, cnp.ndarray A, int op,
                  double alpha, bint softmax, cnp.ndarray dZ, cnp.ndarray dW, cnp.ndarray db,
                  object dA_prev):
    """dZ, dW, db (and dA_prev unless None) of one layer into preallocated arrays.

    G (dA, or Y with op BW_OUTPUT_SUB) must have A's memory order; no checks.
    """
    _backward_into(G, X, W, A, op, alpha, softmax, dZ, dW, db, dA_prev)


def matmul(A, B, double alpha=1.0, bint direct=True):
    """alpha * A @ B for 2-D float arrays of one dtype (tests and benchmarks).

    direct=True uses the register-blocked loops whenever the layouts allow
    them (whatever the size); direct=False always calls BLAS.
    """
    cdef cnp.ndarray a = _matrix(A, "A", None), b = _matrix(B, "B", None)
    _same_dtype(a, b, "B", "A", None)
    if cnp.PyArray_DIM(a, 1) != cnp.PyArray_DIM(b, 0):
        raise ValueError(f"A has shape {_shape(a)} but B has shape {_shape(b)}")
    cdef cnp.ndarray C = _empty2(cnp.PyArray_DIM(a, 0), cnp.PyArray_DIM(b, 1),
                                 cnp.PyArray_TYPE(a), False)
    if not (direct and _small_gemm(a, b, C, alpha)):
        gemm(a, b, C, alpha, 0.0, False)
    return C


ctypedef fused a_real:
    float
    double

ctypedef fused y_real:
    float
    double


cdef double _bce_sum(const a_real *a, const y_real *y, Py_ssize_t n) noexcept nogil:
    """sum(y log a + (1 - y) log(1 - a)) in double, compensated (Neumaier); the
    terms are the course's, so 0 * log(0) is NaN as in NumPy."""
    cdef Py_ssize_t i
    cdef double s = 0, c = 0, plain = 0, v, t, ai, yi
    for i in range(n):
        ai = a[i]
        yi = y[i]
        v = yi * log(ai) + (1.0 - yi) * log(1.0 - ai)
        plain += v
        t = s + v
        if fabs(s) >= fabs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
    return s + c if isfinite(plain) else plain   # the correction is NaN beside an infinity


def bce_sum(cnp.ndarray AL not None, cnp.ndarray Y not None):
    """sum(Y log AL + (1 - Y) log(1 - AL)) of C-contiguous float32/float64 arrays of
    one size, in double (the course API's compute_cost)."""
    cdef Py_ssize_t n = cnp.PyArray_SIZE(AL)
    cdef void *pa = cnp.PyArray_DATA(AL)
    cdef void *py = cnp.PyArray_DATA(Y)
    cdef bint a32 = cnp.PyArray_TYPE(AL) == cnp.NPY_FLOAT32
    cdef bint y32 = cnp.PyArray_TYPE(Y) == cnp.NPY_FLOAT32
    cdef double s
    if cnp.PyArray_SIZE(Y) != n or not (cnp.PyArray_IS_C_CONTIGUOUS(AL)
                                        and cnp.PyArray_IS_C_CONTIGUOUS(Y)):
        raise ValueError("AL and Y must be C-contiguous arrays of one size")
    for arr in (AL, Y):
        if cnp.PyArray_TYPE(arr) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
            raise TypeError(f"expected float32 or float64, got {arr.dtype}")
    with nogil:
        if a32 and y32:
            s = _bce_sum(<const float *>pa, <const float *>py, n)
        elif a32:
            s = _bce_sum(<const float *>pa, <const double *>py, n)
        elif y32:
            s = _bce_sum(<const double *>pa, <const float *>py, n)
        else:
            s = _bce_sum(<const double *>pa, <const double *>py, n)
    return s

