# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The course API's loops (fastdnn.course): L_model_forward, L_model_backward and
update_parameters over the course's parameters dict and caches, each in one call."""
cimport numpy as cnp

from fastdnn._kernels._dense cimport (_backward_alloc, _checked_backward, _checked_layer,
                                      _empty2, _forward_into)

from fastdnn._kernels import _elementwise as _ew

cnp.import_array()

cdef int BW_OUTPUT_SUB = _ew.BW_OUTPUT_SUB
cdef int SGD_STEP = _ew.SGD_STEP


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


