# The counts that the metrics which are not a per-batch sum of per-example values accumulate
# over mini-batches: one definition for fastdnn.metrics (_kernels/_metrics.pyx) and the
# compiled training loop (_network), which adds them up and lets the metric object finish
# them. A and Y are (n_y, k) F-ordered, column j (one example) at A + j * n_y; a target is
# positive when y > 0.5. fastdnn/reference.py has their NumPy twins.
from libc.math cimport exp

ctypedef fused m_real:
    float
    double


cdef inline void confusion_counts(const m_real *A, const m_real *Y, Py_ssize_t n,
                                  double threshold, double *out,
                                  double weight=1.0) noexcept nogil:
    """out[0] += true positives, out[1] += false positives, out[2] += false negatives at
    a > threshold, over n elements, each counted ``weight`` times. A NaN prediction is
    wrong: a false positive or negative."""
    cdef Py_ssize_t i
    cdef double tp = 0, fp = 0, fn = 0
    cdef bint pos, pred
    for i in range(n):
        pos = Y[i] > 0.5
        if A[i] != A[i]:
            pred = not pos
        else:
            pred = A[i] > threshold
        if pred and pos:
            tp += 1
        elif pred:
            fp += 1
        elif pos:
            fn += 1
    out[0] += weight * tp
    out[1] += weight * fp
    out[2] += weight * fn


cdef inline Py_ssize_t auc_bucket(double a, Py_ssize_t N) noexcept nogil:
    """How many of the N thresholds -1e-7, 1/(N-1), ..., (N-2)/(N-1), 1 + 1e-7 lie below a
    (a > threshold: predicted positive at it)."""
    cdef Py_ssize_t j
    if not a > -1e-7:
        return 0
    if a > 1.0 + 1e-7:
        return N
    j = <Py_ssize_t>(a * (N - 1))        # the interior thresholds i / (N-1) below a: j or so
    if j > N - 2:
        j = N - 2
    while j < N - 2 and a > <double>(j + 1) / (N - 1):
        j += 1
    while j > 0 and not a > <double>j / (N - 1):
        j -= 1
    return 1 + j


cdef inline void auc_counts(const m_real *A, const m_real *Y, Py_ssize_t n, Py_ssize_t N,
                            bint logits, double *out, double weight=1.0) noexcept nogil:
    """out[b] += positives and out[N + 1 + b] += negatives whose prediction lies above b of
    the N thresholds (auc_bucket), out[2N + 2] += NaN predictions, over n elements, each
    counted ``weight`` times; logits: the predictions are sigmoid(A)."""
    cdef Py_ssize_t i
    cdef double a
    for i in range(n):
        a = A[i]
        if logits:
            a = 1.0 / (1.0 + exp(-a)) if a >= 0 else exp(a) / (1.0 + exp(a))
        if a != a:
            out[2 * N + 2] += weight
        elif Y[i] > 0.5:
            out[auc_bucket(a, N)] += weight
        else:
            out[N + 1 + auc_bucket(a, N)] += weight


cdef inline double top_k_hits(const m_real *A, const m_real *Y, Py_ssize_t n_y, Py_ssize_t k,
                              Py_ssize_t top) noexcept nogil:
    """Examples (columns) whose target class, the argmax of y, has fewer than ``top``
    predictions above its own (ties count in its favour); a column holding NaN misses."""
    cdef Py_ssize_t i, j, t, above
    cdef double s = 0
    cdef const m_real *a
    cdef const m_real *y
    cdef bint nan
    for j in range(k):
        a, y = A + j * n_y, Y + j * n_y
        t = 0
        nan = False
        for i in range(n_y):
            if y[i] > y[t]:
                t = i
            if a[i] != a[i]:
                nan = True
        if nan:
            continue
        above = 0
        for i in range(n_y):
            if a[i] > a[t]:
                above += 1
        if above < top:
            s += 1
    return s
