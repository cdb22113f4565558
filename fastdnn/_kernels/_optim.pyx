# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Optimizer updates: one in-place pass over each parameter array, GIL released.

``update`` runs any optimizer by its code (``fastdnn._compiled.CODES``). It
takes the whole list of parameter arrays of a model, checks every array first (so an error leaves parameters and state untouched), then
updates each parameter and its state arrays in one flat loop. The L2 penalty
enters in the same loop: the gradient used is ``g + decay * p`` (the gradient
array is only read). float32 arrays are updated in float32 arithmetic, with
every scalar computed once in double and cast.

The flat loops need ``p``, ``g`` and the state arrays to share one memory
order. State arrays are allocated like the parameters; a gradient in another
order (or strided, misaligned, byte-swapped, or overlapping its parameter) is
first copied into the parameter's order, which costs a copy but never changes
the result.
"""
import numpy as np

cimport numpy as cnp

cnp.import_array()

include "_optim_kernels.pxi"
from fastdnn._kernels._sparse cimport RowsGradient

from fastdnn._kernels import _elementwise as _ew

# state arrays each optimizer keeps per parameter array (csrc/fdnn_codes.h)
cdef list _SLOTS = [_ew.optimizer_slots(code) for code in range(FDNN_N_OPT)]


# ------------------------------------------------------------------- checks

cdef inline tuple _shape(cnp.ndarray a):
    return (<object>a).shape


cdef inline bint _is_float(cnp.ndarray a):
    cdef int t = cnp.PyArray_TYPE(a)
    return t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64


cdef inline bint _same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int k, nd = cnp.PyArray_NDIM(a)
    if cnp.PyArray_NDIM(b) != nd:
        return False
    for k in range(nd):
        if cnp.PyArray_DIM(a, k) != cnp.PyArray_DIM(b, k):
            return False
    return True


cdef inline bint _same_layout(cnp.ndarray a, cnp.ndarray b):
    """True when flat index i names the same element of a and of b."""
    return ((cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_IS_C_CONTIGUOUS(b))
            or (cnp.PyArray_IS_F_CONTIGUOUS(a) and cnp.PyArray_IS_F_CONTIGUOUS(b)))


cdef inline bint _flat_like(cnp.ndarray a, cnp.ndarray p):
    """a can be read by the flat loop of p: aligned, native and laid out like p."""
    return cnp.PyArray_ISALIGNED(a) and cnp.PyArray_ISNOTSWAPPED(a) and _same_layout(a, p)


cdef inline bint _overlaps(cnp.ndarray a, cnp.ndarray b):
    cdef char *pa = <char *>cnp.PyArray_DATA(a)
    cdef char *pb = <char *>cnp.PyArray_DATA(b)
    return pa < pb + cnp.PyArray_NBYTES(b) and pb < pa + cnp.PyArray_NBYTES(a)


cdef inline object _order(cnp.ndarray p):
    return "C" if cnp.PyArray_IS_C_CONTIGUOUS(p) else "F"


cdef double _decay(object decays, Py_ssize_t i) except -1:
    if decays is None:
        return 0.0
    d = decays[i]
    if isinstance(d, bool) or not isinstance(d, (int, float, np.integer, np.floating)):
        raise TypeError(f"decays[{i}] must be a real number >= 0, got {type(d).__name__}")
    cdef double value = d
    if not (value >= 0.0 and value <= 1.7976931348623157e308):
        raise ValueError(f"decays[{i}] must be a finite number >= 0, got {value!r}")
    return value


cdef int _check_param(object po, Py_ssize_t i) except -1:
    if not isinstance(po, np.ndarray):
        raise TypeError(f"params[{i}] must be a numpy.ndarray, got {type(po).__name__}")
    cdef cnp.ndarray p = <cnp.ndarray>po
    if not _is_float(p) or not cnp.PyArray_ISNOTSWAPPED(p):
        raise TypeError(f"params[{i}] must be a float32 or float64 array in native byte "
                        f"order, got dtype {p.dtype}")
    if not (cnp.PyArray_ISALIGNED(p) and cnp.PyArray_ISWRITEABLE(p)
            and (cnp.PyArray_IS_C_CONTIGUOUS(p) or cnp.PyArray_IS_F_CONTIGUOUS(p))):
        raise ValueError(f"params[{i}] must be a writeable, aligned, C- or F-contiguous array "
                         f"(it is updated in place)")
    return 0


def check_params(params):
    """Raise TypeError/ValueError unless every item can be updated in place."""
    cdef Py_ssize_t i
    for i in range(len(params)):
        _check_param(params[i], i)


cdef bint _check(list params, list grads, tuple slots, tuple names, object decays) except -1:
    """Check every array before any update; return True when some gradient must
    be copied or some state array re-laid out before the flat loops."""
    cdef Py_ssize_t n = len(params), i, k
    cdef cnp.ndarray p, g, s
    cdef bint fixes = False
    if len(grads) != n:
        raise ValueError(f"grads must have one array per parameter array: got {len(grads)} "
                         f"grads for {n} params")
    if decays is not None and len(decays) != n:
        raise ValueError(f"decays must have one value per parameter array: got {len(decays)} "
                         f"decays for {n} params")
    for k in range(len(slots)):
        if len(<list>slots[k]) != n:
            raise ValueError(f"the optimizer was built for {len(<list>slots[k])} parameter "
                             f"arrays, got {n}; use a new optimizer for other parameters")
    for i in range(n):
        _check_param(params[i], i)
        p = <cnp.ndarray>params[i]
        go = grads[i]
        if isinstance(go, RowsGradient):
            _check_rows_gradient(<RowsGradient>go, p, i)
        elif not isinstance(go, np.ndarray):
            raise TypeError(f"grads[{i}] must be a numpy.ndarray, got {type(go).__name__}")
        else:
            g = <cnp.ndarray>go
            if cnp.PyArray_TYPE(g) != cnp.PyArray_TYPE(p):
                raise TypeError(f"grads[{i}] has dtype {g.dtype} but params[{i}] has dtype "
                                f"{p.dtype}; they must match")
            if not _same_shape(g, p):
                raise ValueError(f"grads[{i}] has shape {_shape(g)} but params[{i}] has shape "
                                 f"{_shape(p)}; they must match")
            if not _flat_like(g, p) or (cnp.PyArray_DATA(g) != cnp.PyArray_DATA(p)
                                        and _overlaps(g, p)):
                fixes = True
        for k in range(len(slots)):
            s = <cnp.ndarray>(<list>slots[k])[i]
            if cnp.PyArray_TYPE(s) != cnp.PyArray_TYPE(p) or not _same_shape(s, p):
                raise ValueError(
                    f"the optimizer state {names[k]}[{i}] has shape {_shape(s)} and dtype "
                    f"{s.dtype} but params[{i}] has shape {_shape(p)} and dtype {p.dtype}: "
                    f"the optimizer was built for other parameters; use a new optimizer")
            if not _flat_like(s, p):
                fixes = True
        _decay(decays, i)
    return fixes


cdef int _check_rows_gradient(RowsGradient g, cnp.ndarray p, Py_ssize_t i) except -1:
    """A rows gradient fits params[i]: its dtype, and one row of `units` values per
    feature in p's memory ((n_features, units) C-ordered, or its transpose F-ordered)."""
    if g.dtype is None:
        raise ValueError(f"grads[{i}] is a rows gradient that was not set")
    if g.dtype != p.dtype:
        raise TypeError(f"grads[{i}] has dtype {g.dtype} but params[{i}] has dtype "
                        f"{p.dtype}; they must match")
    shape = _shape(p)
    if not ((shape == (g.n_features, g.units) and cnp.PyArray_IS_C_CONTIGUOUS(p))
            or (shape == (g.units, g.n_features) and cnp.PyArray_IS_F_CONTIGUOUS(p))):
        raise ValueError(f"grads[{i}] is the gradient of a C-ordered ({g.n_features}, "
                         f"{g.units}) array (or its transpose) but params[{i}] has shape "
                         f"{shape}")
    return 0


cdef list _fix(list params, list grads, tuple slots):
    """Copy gradients (and re-lay out state arrays) that the flat loops cannot
    read as they are; return the gradient list to use."""
    cdef Py_ssize_t i, k
    cdef cnp.ndarray p, g
    cdef list out = list(grads)
    for i in range(len(params)):
        p = <cnp.ndarray>params[i]
        if not isinstance(grads[i], RowsGradient):
            g = <cnp.ndarray>grads[i]
            if not _flat_like(g, p) or (cnp.PyArray_DATA(g) != cnp.PyArray_DATA(p)
                                        and _overlaps(g, p)):
                out[i] = np.array(g, dtype=p.dtype, order=_order(p), copy=True)
        for k in range(len(slots)):
            if not _flat_like(<cnp.ndarray>(<list>slots[k])[i], p):
                (<list>slots[k])[i] = np.array((<list>slots[k])[i], dtype=p.dtype,
                                               order=_order(p), copy=True)
    return out


cdef list _checked(list params, list grads, tuple slots, tuple names, object decays):
    if _check(params, grads, slots, names, decays):
        return _fix(params, grads, slots)
    return grads


# ------------------------------------------------------------- entry points

def nadam_mu_product(double beta1, double momentum_decay, long long t, long long known_t=0,
                     double known=1.0):
    """Nadam's product of momentum coefficients mu_1 ... mu_t, multiplied on from
    ``known`` = mu_1 ... mu_known_t (from the start when known_t > t)."""
    if t < 0 or known_t < 0:
        raise ValueError(f"t and known_t must be >= 0, got {t} and {known_t}")
    cdef OptHyper h
    h.beta1, h.momentum_decay, h.mu_t, h.mu_product = beta1, momentum_decay, known_t, known
    return _nadam_product(&h, t)


cdef double _array_sq_norm(cnp.ndarray p, cnp.ndarray g, double d):
    cdef Py_ssize_t n = cnp.PyArray_SIZE(p)
    cdef void *pp = cnp.PyArray_DATA(p)
    cdef const void *pg = cnp.PyArray_DATA(g)
    cdef double s
    if cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT32:
        with nogil:
            s = _sq_norm(<const float *>pp, <const float *>pg, n, <float>d)
    else:
        with nogil:
            s = _sq_norm(<const double *>pp, <const double *>pg, n, d)
    return s


cdef int _check_clip(double value, str name) except -1:
    if not (value >= 0.0 and value <= 1.7976931348623157e308):
        raise ValueError(f"{name} must be a finite number >= 0 (0: none), got {value!r}")
    return 0


def update(int op, list params, list grads, tuple slots, tuple slot_names, object decays,
           double learning_rate, double beta1=0.0, double beta2=0.0, double epsilon=0.0,
           long long t=1, *, double weight_decay=0.0, double momentum_decay=0.0,
           bint nesterov=False, double mu_product=1.0, double clipnorm=0.0,
           double global_clipnorm=0.0, double clipvalue=0.0):
    """One step of the optimizer ``op`` (``fastdnn._compiled.CODES["optimizer"]``) on every
    parameter array, in place, with its state ``slots`` (a tuple of lists of arrays named
    ``slot_names``: none for gd, (v,) for momentum, (s,) for rmsprop, (m, v) for adam, ...);
    ``t`` (>= 1) is the step number, for the bias corrections; ``weight_decay`` is AdamW's,
    ``momentum_decay`` and ``mu_product`` (mu_1 ... mu_t, ``nadam_mu_product``) Nadam's,
    ``nesterov`` SGD's. The gradient used is ``g + decay * p`` scaled to a norm of at most
    ``clipnorm`` (each array) or ``global_clipnorm`` (all arrays together), then clipped to
    ``[-clipvalue, clipvalue]``; 0 for none."""
    if not 0 <= op < FDNN_N_OPT:
        raise ValueError(f"op must be an optimizer code in [0, {FDNN_N_OPT}), got {op}")
    if len(slots) != _SLOTS[op] or len(slot_names) != len(slots):
        raise ValueError(f"optimizer {op} keeps {_SLOTS[op]} state arrays per parameter "
                         f"array; got {len(slots)} slots named {slot_names!r}")
    _check_clip(clipnorm, "clipnorm")
    _check_clip(global_clipnorm, "global_clipnorm")
    _check_clip(clipvalue, "clipvalue")
    grads = _checked(params, grads, slots, slot_names, decays)
    cdef OptHyper h
    h.op, h.beta1, h.beta2, h.eps = op, beta1, beta2, epsilon
    h.weight_decay, h.momentum_decay, h.nesterov = weight_decay, momentum_decay, nesterov
    h.clipnorm, h.global_clipnorm, h.clipvalue = clipnorm, global_clipnorm, clipvalue
    h.mu_t, h.mu_product = t, mu_product
    cdef double base[FDNN_N_OC]
    _step_scalars(&h, learning_rate, t, base)   # once per step, in double
    cdef Py_ssize_t i, n
    cdef cnp.ndarray p, g
    cdef double d, gscale = 1.0, sq = 0.0
    cdef void *pp
    cdef void *s1
    cdef void *s2
    cdef const void *pg
    cdef double c[FDNN_N_OC]
    if clipnorm > 0 or global_clipnorm > 0:
        for i in range(len(grads)):
            if isinstance(grads[i], RowsGradient):
                raise ValueError(f"grads[{i}] is a rows gradient: the step cannot clip its "
                                 f"norm (clipnorm, global_clipnorm)")
    if global_clipnorm > 0:   # the norm over every array before any update
        for i in range(len(params)):
            sq += _array_sq_norm(<cnp.ndarray>params[i], <cnp.ndarray>grads[i],
                                 _decay(decays, i))
        gscale = _clip_scale(sq, global_clipnorm)
    for i in range(len(params)):
        if isinstance(grads[i], RowsGradient):
            p = <cnp.ndarray>params[i]
            _coefficients(base, _decay(decays, i), 1.0, c)
            (<RowsGradient>grads[i]).apply(
                op, cnp.PyArray_DATA(p),
                cnp.PyArray_DATA(<cnp.ndarray>(<list>slots[0])[i]) if len(slots) > 0 else NULL,
                cnp.PyArray_DATA(<cnp.ndarray>(<list>slots[1])[i]) if len(slots) > 1 else NULL,
                c)
            continue
        p, g = <cnp.ndarray>params[i], <cnp.ndarray>grads[i]
        d = _decay(decays, i)
        if clipnorm > 0:
            gscale = _clip_scale(_array_sq_norm(p, g, d), clipnorm)
        n = cnp.PyArray_SIZE(p)
        pp, pg = cnp.PyArray_DATA(p), cnp.PyArray_DATA(g)
        s1 = cnp.PyArray_DATA(<cnp.ndarray>(<list>slots[0])[i]) if len(slots) > 0 else NULL
        s2 = cnp.PyArray_DATA(<cnp.ndarray>(<list>slots[1])[i]) if len(slots) > 1 else s1
        if cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT32:
            with nogil:
                _apply(op, <float *>pp, <const float *>pg, <float *>s1, <float *>s2, n, base, d,
                       gscale)
        else:
            with nogil:
                _apply(op, <double *>pp, <const double *>pg, <double *>s1, <double *>s2, n,
                       base, d, gscale)
