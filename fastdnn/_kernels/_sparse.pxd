cimport numpy as cnp


cdef class RowsGradient:
    """The first layer's gradient scale X[rows]^T dZ for CSR rows, as an optimizer's
    gradient: its step is applied a block of rows at a time (csr_optim_*), the gradient
    never formed whole."""
    cdef readonly Py_ssize_t n_features, units
    cdef readonly object dtype
    cdef cnp.ndarray _indptr, _indices, _data, _rows, _dZ, _first, _value
    cdef double _scale
    cdef int apply(self, int op, void *p, void *s1, void *s2, const double *c) except -1
