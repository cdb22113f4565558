"""The first layer's products for rows of a scipy.sparse CSR matrix, read in place.
``RowsGradient`` hands an optimizer the gradient of such a layer without forming it
(the step forms it a block of rows at a time, ``fdnn_csr_optim_*``).

``csr_forward`` computes ``Z (m, units) = X[rows] @ W`` and ``csr_grad``
``gW (n_features, units) = scale * X[rows]^T @ dZ``, where ``W`` and ``gW`` hold one row
per input feature (the transposed weights the estimators train on sparse input) and
``rows`` picks the mini-batch's rows of ``X`` from its CSR arrays directly: no batch
matrix is gathered, and nothing is allocated when ``X.data`` has the weights' dtype and
its index arrays one integer type (else they are converted on every call: the estimators
convert ``X`` once per fit). Each example's row costs ``nnz * units`` multiply-adds, each
along a whole contiguous row of ``W`` or ``gW``. The kernels trust ``X``'s arrays (every
index below ``X.shape[1]``; scipy's ``check_format(full_check=True)`` verifies it).

The C kernels (``csrc/fdnn_sparse_type.h``, on the SIMD path chosen at run time) share the
batch's rows out over the threads for the forward product, and the features for the
gradient (each thread zeroes its own rows of ``gW`` and adds the entries that fall in
them, in the order of the rows): both results are the same on any thread count.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t

from fastdnn._kernels._elementwise cimport (csr_mm_f32, csr_mm_f64, csr_mtm_f32, csr_mtm_f64,
                                            csr_optim_f32, csr_optim_f64)

cnp.import_array()


cdef object _check(object X, object rows, object M, str name, Py_ssize_t features,
                   Py_ssize_t units):
    """The CSR arrays of X (their dtype that of M) and rows as int64; raises on a mismatch."""
    if getattr(X, "format", None) != "csr":
        raise TypeError(f"X must be a scipy.sparse CSR matrix, got {type(X).__name__}")
    if not (isinstance(M, np.ndarray) and M.ndim == 2 and M.flags.c_contiguous
            and M.dtype in (np.float32, np.float64)):
        raise TypeError(f"{name} must be a C-contiguous 2-D float32 or float64 array")
    if M.shape[0] != features or M.shape[1] != units:
        raise ValueError(f"{name} has shape {M.shape}, expected ({features}, {units})")
    return _csr_arrays(X, rows, M.dtype)


cdef object _csr_arrays(object X, object rows, object dtype):
    """X's CSR arrays (values in dtype, one integer type) and rows as int64, checked."""
    if getattr(X, "format", None) != "csr":
        raise TypeError(f"X must be a scipy.sparse CSR matrix, got {type(X).__name__}")
    data = np.ascontiguousarray(X.data, dtype=dtype)
    indptr, indices = np.ascontiguousarray(X.indptr), np.ascontiguousarray(X.indices)
    if indptr.dtype != indices.dtype or indptr.dtype not in (np.int32, np.int64):
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= X.shape[0])):
        raise ValueError(f"rows must be 1-D indices into X's {X.shape[0]} rows")
    return indptr, indices, data, rows


def csr_forward(X: object, rows: object, W: np.ndarray, Z: np.ndarray) -> None:
    """``Z[r] = X[rows[r]] @ W`` for CSR ``X`` (n, n_features), ``W`` (n_features, units)
    and ``Z`` (len(rows), units), both C-contiguous of one float dtype.

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[0., 2.], [1., 0.]]))
    >>> Z = np.empty((2, 1)); csr_forward(X, np.array([1, 0]), np.array([[3.], [5.]]), Z)
    >>> Z.ravel().tolist()
    [3.0, 10.0]
    """
    indptr, indices, data, rows = _check(X, rows, W, "W", X.shape[1], W.shape[1])
    if not (isinstance(Z, np.ndarray) and Z.dtype == W.dtype and Z.flags.c_contiguous
            and Z.shape == (rows.shape[0], W.shape[1])):
        raise ValueError(f"Z must be a C-contiguous ({rows.shape[0]}, {W.shape[1]}) array "
                         f"of dtype {W.dtype}")
    _run_forward(indptr, indices, data, rows, W, Z)


def csr_grad(X: object, rows: object, dZ: np.ndarray, scale: float, gW: np.ndarray) -> None:
    """``gW = scale * X[rows]^T @ dZ`` for CSR ``X`` (n, n_features), ``dZ`` (len(rows),
    units) and ``gW`` (n_features, units), both C-contiguous of one float dtype; every
    row of ``gW`` is written.

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[0., 2.], [1., 0.]]))
    >>> gW = np.empty((2, 1)); csr_grad(X, np.array([1, 0]), np.array([[3.], [5.]]), 0.5, gW)
    >>> gW.ravel().tolist()
    [1.5, 5.0]
    """
    indptr, indices, data, rows = _check(X, rows, gW, "gW", X.shape[1], gW.shape[1])
    if not (isinstance(dZ, np.ndarray) and dZ.dtype == gW.dtype and dZ.flags.c_contiguous
            and dZ.shape == (rows.shape[0], gW.shape[1])):
        raise ValueError(f"dZ must be a C-contiguous ({rows.shape[0]}, {gW.shape[1]}) array "
                         f"of dtype {gW.dtype}")
    _run_grad(indptr, indices, data, rows, dZ, scale, gW)


cdef Py_ssize_t _entries(cnp.ndarray indptr, const int64_t *rows, Py_ssize_t m):
    """The stored entries of the m rows (for the kernels' thread count)."""
    cdef Py_ssize_t r, nnz = 0
    cdef const int *p32 = <const int *>cnp.PyArray_DATA(indptr)
    cdef const int64_t *p64 = <const int64_t *>cnp.PyArray_DATA(indptr)
    if cnp.PyArray_TYPE(indptr) == cnp.NPY_INT32:
        for r in range(m):
            nnz += p32[rows[r] + 1] - p32[rows[r]]
    else:
        for r in range(m):
            nnz += p64[rows[r] + 1] - p64[rows[r]]
    return nnz


cdef void _run_forward(cnp.ndarray indptr, cnp.ndarray indices, cnp.ndarray data,
                       cnp.ndarray rows, cnp.ndarray W, cnp.ndarray Z):
    cdef Py_ssize_t m = rows.shape[0], units = W.shape[1], nnz
    cdef int idx64 = cnp.PyArray_TYPE(indptr) == cnp.NPY_INT64
    cdef const void *p = cnp.PyArray_DATA(indptr)
    cdef const void *j = cnp.PyArray_DATA(indices)
    cdef const int64_t *r = <const int64_t *>cnp.PyArray_DATA(rows)
    if m == 0 or units == 0:
        return
    nnz = _entries(indptr, r, m)
    if cnp.PyArray_TYPE(W) == cnp.NPY_FLOAT32:
        with nogil:
            csr_mm_f32(idx64, p, j, <const float *>cnp.PyArray_DATA(data), r, m, nnz,
                       <const float *>cnp.PyArray_DATA(W), units,
                       <float *>cnp.PyArray_DATA(Z))
    else:
        with nogil:
            csr_mm_f64(idx64, p, j, <const double *>cnp.PyArray_DATA(data), r, m, nnz,
                       <const double *>cnp.PyArray_DATA(W), units,
                       <double *>cnp.PyArray_DATA(Z))


cdef void _run_grad(cnp.ndarray indptr, cnp.ndarray indices, cnp.ndarray data,
                    cnp.ndarray rows, cnp.ndarray dZ, double scale, cnp.ndarray gW):
    cdef Py_ssize_t m = rows.shape[0], units = gW.shape[1], n_features = gW.shape[0], nnz
    cdef int idx64 = cnp.PyArray_TYPE(indptr) == cnp.NPY_INT64
    cdef const void *p = cnp.PyArray_DATA(indptr)
    cdef const void *j = cnp.PyArray_DATA(indices)
    cdef const int64_t *r = <const int64_t *>cnp.PyArray_DATA(rows)
    if units == 0 or n_features == 0:
        return
    nnz = _entries(indptr, r, m)
    if cnp.PyArray_TYPE(gW) == cnp.NPY_FLOAT32:
        with nogil:
            csr_mtm_f32(idx64, p, j, <const float *>cnp.PyArray_DATA(data), r, m, nnz,
                        <const float *>cnp.PyArray_DATA(dZ), units, <float>scale,
                        <float *>cnp.PyArray_DATA(gW), n_features)
    else:
        with nogil:
            csr_mtm_f64(idx64, p, j, <const double *>cnp.PyArray_DATA(data), r, m, nnz,
                        <const double *>cnp.PyArray_DATA(dZ), units, scale,
                        <double *>cnp.PyArray_DATA(gW), n_features)


cdef extern from "fdnn_kernels.h" nogil:
    enum:
        FDNN_N_OC


cdef class RowsGradient:
    """The gradient ``scale * X[rows]^T @ dZ`` of a first layer's transposed weights
    (``n_features`` rows of ``units``) for CSR rows, given to an optimizer in place of
    the gradient array: ``fastdnn._kernels._optim.update`` then forms it a block of rows
    at a time in the thread's cache and applies the step to each block (the same values
    as ``csr_grad`` followed by the step, without writing or reading the whole gradient).
    ``set`` points it at a mini-batch; the arrays are read when the step is applied.

    >>> import scipy.sparse as sp
    >>> g = RowsGradient()
    >>> X = sp.csr_matrix(np.array([[0., 2.], [1., 0.]]))
    >>> g.set(X, np.array([1, 0]), np.array([[3.], [5.]]), 0.5)
    >>> (g.n_features, g.units, g.dtype.name)
    (2, 1, 'float64')
    """

    def __init__(self):
        self.n_features = self.units = -1
        self.dtype = None

    def set(self, X: object, rows: object, dZ: np.ndarray, scale: float) -> None:
        """The gradient scale * X[rows]^T dZ: X a CSR matrix (n, n_features), rows the
        batch's indices into it, dZ (len(rows), units) C-contiguous float32/float64 (X's
        values are read in its dtype)."""
        if not (isinstance(dZ, np.ndarray) and dZ.ndim == 2 and dZ.flags.c_contiguous
                and dZ.dtype in (np.float32, np.float64)):
            raise TypeError("dZ must be a C-contiguous 2-D float32 or float64 array")
        indptr, indices, data, rows = _csr_arrays(X, rows, dZ.dtype)
        if dZ.shape[0] != rows.shape[0]:
            raise ValueError(f"dZ has {dZ.shape[0]} rows for {rows.shape[0]} rows of X")
        self._indptr, self._indices, self._data, self._rows = indptr, indices, data, rows
        self._dZ, self._scale = dZ, scale
        self.n_features, self.units, self.dtype = X.shape[1], dZ.shape[1], dZ.dtype

    cdef int apply(self, int op, void *p, void *s1, void *s2, const double *c) except -1:
        """The optimizer step op with coefficients c (FDNN_OC_*, in double) on p's
        n_features * units values and their state s1, s2 (NULL: none)."""
        cdef Py_ssize_t m = self._rows.shape[0], nnz, k
        cdef const int64_t *r = <const int64_t *>cnp.PyArray_DATA(self._rows)
        cdef int idx64 = cnp.PyArray_TYPE(self._indptr) == cnp.NPY_INT64
        cdef const void *ip = cnp.PyArray_DATA(self._indptr)
        cdef const void *ix = cnp.PyArray_DATA(self._indices)
        cdef float cf[FDNN_N_OC]
        if self.dtype is None:
            raise ValueError("the rows gradient was not set")
        nnz = _entries(self._indptr, r, m)
        if self._first is None or self._first.shape[0] < self.n_features + 1 + nnz:
            self._first = np.empty(self.n_features + 1 + nnz + nnz // 2, dtype=np.intp)
        if self._value is None or self._value.shape[0] < nnz or self._value.dtype != self.dtype:
            self._value = np.empty(max(1, nnz + nnz // 2), dtype=self.dtype)
        cdef Py_ssize_t *first = <Py_ssize_t *>cnp.PyArray_DATA(self._first)
        cdef void *value = cnp.PyArray_DATA(self._value)
        cdef void *dZ = cnp.PyArray_DATA(self._dZ)
        cdef const void *data = cnp.PyArray_DATA(self._data)
        cdef Py_ssize_t units = self.units, n_features = self.n_features
        cdef double scale = self._scale
        if self.dtype == np.float32:
            for k in range(FDNN_N_OC):
                cf[k] = <float>c[k]
            with nogil:
                csr_optim_f32(op, cf, <float *>p, <float *>s1, <float *>s2, idx64, ip, ix,
                              <const float *>data, r, m, <const float *>dZ, units,
                              <float>scale, n_features, first, <float *>value)
        else:
            with nogil:
                csr_optim_f64(op, c, <double *>p, <double *>s1, <double *>s2, idx64, ip, ix,
                              <const double *>data, r, m, <const double *>dZ, units,
                              scale, n_features, first, <double *>value)
        return 0
