# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The metrics' counts from Python (fastdnn.metrics): the kernels the compiled loop runs."""
import numpy as np

cimport numpy as cnp

from fastdnn._kernels._metric cimport auc_counts as _auc_counts
from fastdnn._kernels._metric cimport confusion_counts as _confusion_counts
from fastdnn._kernels._metric cimport top_k_hits as _top_k_hits

cnp.import_array()


cdef tuple _pair(object A, object Y):
    """A as an F-ordered float32/float64 (n_y, k) array (1-D: one row), Y alike in A's dtype."""
    A = np.asarray(A)
    if A.dtype not in (np.float32, np.float64):
        A = A.astype(np.float64)
    if A.ndim == 1:
        A = A.reshape(1, -1)
    A = np.asfortranarray(A)
    Y = np.asfortranarray(np.asarray(Y, dtype=A.dtype).reshape(A.shape))
    return A, Y


def confusion_counts(object A, object Y, double threshold):
    """[true positives, false positives, false negatives] at A > threshold (float64 (3,))."""
    A, Y = _pair(A, Y)
    out = np.zeros(3)
    cdef double[::1] o = out
    cdef Py_ssize_t n = A.size
    if A.dtype == np.float32:
        _confusion_counts(<const float *>cnp.PyArray_DATA(A), <const float *>cnp.PyArray_DATA(Y),
                          n, threshold, &o[0])
    else:
        _confusion_counts(<const double *>cnp.PyArray_DATA(A),
                          <const double *>cnp.PyArray_DATA(Y), n, threshold, &o[0])
    return out


def auc_counts(object A, object Y, Py_ssize_t num_thresholds, bint logits=False):
    """Positives and negatives by how many of the thresholds lie below their prediction
    (sigmoid(A) with logits), then the NaN predictions: float64 (2 num_thresholds + 3,)."""
    A, Y = _pair(A, Y)
    out = np.zeros(2 * num_thresholds + 3)
    cdef double[::1] o = out
    cdef Py_ssize_t n = A.size
    if A.dtype == np.float32:
        _auc_counts(<const float *>cnp.PyArray_DATA(A), <const float *>cnp.PyArray_DATA(Y), n,
                    num_thresholds, logits, &o[0])
    else:
        _auc_counts(<const double *>cnp.PyArray_DATA(A), <const double *>cnp.PyArray_DATA(Y),
                    n, num_thresholds, logits, &o[0])
    return out


def top_k_hits(object A, object Y, Py_ssize_t k):
    """Columns whose target class (argmax of Y) is among the k largest of A's column."""
    A, Y = _pair(A, Y)
    cdef Py_ssize_t n_y = A.shape[0], m = A.shape[1]
    if A.dtype == np.float32:
        return _top_k_hits(<const float *>cnp.PyArray_DATA(A), <const float *>cnp.PyArray_DATA(Y),
                           n_y, m, k)
    return _top_k_hits(<const double *>cnp.PyArray_DATA(A), <const double *>cnp.PyArray_DATA(Y),
                       n_y, m, k)
