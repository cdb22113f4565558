"""Drop-in replacements for the classic NumPy course functions, compiled underneath.

Same names, arguments, return values and dict keys as the functions a
"Deep Neural Networks" course has students write (``parameters["W1"]``,
``grads["dA0"]``, ``caches`` from ``L_model_forward``...), so a notebook can
switch with one import::

    from fastdnn.course import (initialize_parameters_deep, L_model_forward,
                                compute_cost, L_model_backward, update_parameters)

Differences, all in the direction of robustness: the activation cache holds
``A`` instead of ``Z`` (every backward step is taken from it, with the same
results), and ``L_model_backward`` forms the output layer's ``dZ = AL - Y``
directly instead of going through ``dAL = -(Y/AL - (1-Y)/(1-AL))``, which is
the same number but cannot divide by zero when ``AL`` saturates.

Examples
--------
>>> import numpy as np
>>> from fastdnn import course
>>> parameters = course.initialize_parameters_deep([2, 3, 1], seed=1)
>>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); Y = np.array([[1.0, 0.0]])
>>> AL, caches = course.L_model_forward(X, parameters)
>>> grads = course.L_model_backward(AL, Y, caches)
>>> sorted(grads)
['dA0', 'dA1', 'dW1', 'dW2', 'db1', 'db2']
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from . import functional as F
from ._compiled import CODES
from ._kernels import _course, _losses

if TYPE_CHECKING:
    from typing import Any

    # the course's caches: (A_prev, W, b) of a linear step, and with it a layer's A
    _LinearCache = tuple[np.ndarray, np.ndarray, np.ndarray]
    _Cache = tuple[_LinearCache, np.ndarray]

_BCE = CODES["loss"]["binary_crossentropy"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

__all__ = ["initialize_parameters_deep", "linear_forward", "linear_activation_forward",
           "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward",
           "L_model_backward", "update_parameters"]

_ACTIVATIONS = ("sigmoid", "relu", "tanh", "leaky_relu", "linear", "softmax", "elu", "selu",
                "gelu", "gelu_tanh", "silu", "softplus", "softsign", "hard_sigmoid", "mish")


@functools.lru_cache(maxsize=64)
def _keys(L: int) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """("W1".."WL"), ("b1".."bL") and the set of both, built once per depth."""
    Wk = tuple(f"W{l}" for l in range(1, L + 1))
    bk = tuple(f"b{l}" for l in range(1, L + 1))
    return Wk, bk, frozenset(Wk + bk)


@functools.lru_cache(maxsize=64)
def _update_names(L: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """("W1".."WL", "b1".."bL") and their gradients' names ("dW1"..)."""
    Wk, bk, _ = _keys(L)
    return Wk + bk, tuple("d" + n for n in Wk + bk)


@functools.lru_cache(maxsize=64)
def _grad_keys(L: int) -> tuple[str, ...]:
    """"dA0".."dA{L-1}", "dW1".."dWL", "db1".."dbL"."""
    return (tuple(f"dA{l}" for l in range(L)) + tuple(f"dW{l}" for l in range(1, L + 1))
            + tuple(f"db{l}" for l in range(1, L + 1)))


def _n_layers(parameters: dict[str, np.ndarray]) -> int:
    if not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict with keys 'W1', 'b1', ..., "
                        f"got {type(parameters).__name__}")
    L = len(parameters) // 2
    if L == 0 or len(parameters) % 2 or not parameters.keys() >= _keys(L)[2]:
        raise ValueError(f"parameters must hold W1, b1, ..., WL, bL; got keys {sorted(parameters)}")
    return L


def initialize_parameters_deep(layer_dims: list[int], seed: int | None = None
                               ) -> dict[str, np.ndarray]:
    """``W[l] = randn(n_l, n_{l-1}) / sqrt(n_{l-1})``, ``b[l] = zeros((n_l, 1))``.

    Parameters
    ----------
    layer_dims : list of int
        ``[n_x, n_1, ..., n_L]``, e.g. the lecture's ``[2, 3, 5, 4, 2, 1]``.
    seed : int, optional
        Seed of a private ``numpy.random.RandomState``. Without it the global
        ``np.random`` state is used, exactly as the course code does, so
        ``np.random.seed(1)`` beforehand reproduces the course's numbers.

    Returns
    -------
    dict
        ``{"W1": ..., "b1": ..., ..., "WL": ..., "bL": ...}`` in float64.

    Examples
    --------
    >>> p = initialize_parameters_deep([2, 3, 5, 4, 2, 1], seed=3)
    >>> p["W1"].shape, p["b5"].shape
    ((3, 2), (1, 1))
    """
    dims = list(layer_dims)
    if len(dims) < 2 or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1
                            for n in dims):
        raise ValueError(f"layer_dims must list at least two positive ints, got {layer_dims!r}")
    rng = np.random if seed is None else np.random.RandomState(seed)
    parameters: dict[str, np.ndarray] = {}
    for l in range(1, len(dims)):
        parameters[f"W{l}"] = rng.randn(dims[l], dims[l - 1]) / np.sqrt(dims[l - 1])
        parameters[f"b{l}"] = np.zeros((dims[l], 1))
    return parameters


def linear_forward(A: np.ndarray, W: np.ndarray, b: np.ndarray
                   ) -> tuple[np.ndarray, _LinearCache]:
    """``Z = W A + b``; returns ``(Z, (A, W, b))``.

    Examples
    --------
    >>> Z, cache = linear_forward(np.ones((2, 1)), np.ones((1, 2)), np.ones((1, 1)))
    >>> Z
    array([[3.]])
    """
    Z, _ = F.dense_forward(A, W, b, "linear")
    return Z, (A, W, b)


def linear_activation_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                              activation: str) -> tuple[np.ndarray, _Cache]:
    """``A = g(W A_prev + b)`` fused; returns ``(A, (linear_cache, activation_cache))``.

    ``activation`` is "sigmoid" or "relu" as in the course ("tanh", "leaky_relu",
    "linear", "softmax", "elu", "selu", "gelu", "gelu_tanh", "silu", "softplus",
    "softsign", "hard_sigmoid" and "mish" work too). The activation cache is ``A``, or
    ``Z`` as in the course for gelu, gelu_tanh, silu and mish, whose derivative ``A``
    does not determine.

    Examples
    --------
    >>> A, cache = linear_activation_forward(np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1)), "relu")
    >>> A
    array([[2.]])
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {activation!r}")
    A, cache = F.dense_forward(A_prev, W, b, activation)
    return A, ((A_prev, W, b), A if cache.Z is None else cache.Z)


@functools.lru_cache(maxsize=64)
def _codes(L: int) -> tuple[list[int], list[int], list[float], list[bool]]:
    """Kernel codes of the course network: ReLU hidden layers, sigmoid output."""
    relu, sigmoid = F._resolve("relu")[1], F._resolve("sigmoid")[1]
    layers = [relu] * (L - 1) + [sigmoid]
    return ([k.forward for k in layers], [k.backward for k in layers],
            [k.alpha for k in layers], [k.softmax for k in layers])


def L_model_forward(X: np.ndarray, parameters: dict[str, np.ndarray]
                    ) -> tuple[np.ndarray, list[_Cache]]:
    """Forward pass: ReLU for layers 1..L-1, sigmoid for layer L; returns ``(AL, caches)``.

    All layers run in one compiled call.

    Examples
    --------
    >>> p = initialize_parameters_deep([2, 3, 1], seed=0)
    >>> AL, caches = L_model_forward(np.zeros((2, 4)), p)
    >>> AL.shape, len(caches)
    ((1, 4), 2)
    """
    L = _n_layers(parameters)
    Wk, bk, _ = _keys(L)
    fwd, _, alphas, softmaxes = _codes(L)
    return _course.course_forward(X, parameters, Wk, bk, fwd, alphas, softmaxes)


@functools.lru_cache(maxsize=64)
def _cost_dtype(a_dtype: np.dtype[Any], y_dtype: np.dtype[Any]) -> np.dtype[np.floating[Any]]:
    """The dtype compute_cost's NumPy expression gives for these inputs (it varies
    with NumPy's promotion rules, e.g. float32 under NumPy 2 but float64 under 1.x)."""
    a, y = np.full((1, 1), 0.5, a_dtype), np.ones((1, 1), y_dtype)
    cost: np.floating[Any] = (-1 / 1) * np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))
    return cost.dtype


def compute_cost(AL: np.ndarray, Y: np.ndarray) -> np.floating[Any]:
    """Cross-entropy ``-(1/m) sum(Y log AL + (1 - Y) log(1 - AL))``, a 0-d value like the course.

    One compiled pass summed in double for float arrays; the value has the dtype
    the NumPy expression would have, and ``0 log 0`` gives NaN as it does there.

    Examples
    --------
    >>> round(float(compute_cost(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))), 6)
    0.693147
    """
    AL = np.asarray(AL)
    Y = np.asarray(Y)
    if AL.shape != Y.shape and AL.size != Y.size:
        raise ValueError(f"AL has shape {AL.shape} but Y has shape {Y.shape}")
    m = Y.shape[1] if Y.ndim == 2 else Y.size
    if AL.dtype in _FLOATS and Y.dtype.kind in "bif" and AL.size == Y.size > 0:
        # one compiled pass, in double (unsigned Y stays with NumPy, whose 1 - Y wraps
        # around for labels above 1)
        Yf = Y if Y.dtype in _FLOATS else Y.astype(np.float64)
        loss = -_losses.cost_sum(_BCE, np.ascontiguousarray(AL), np.ascontiguousarray(Yf),
                                 clip=False)
        return _cost_dtype(AL.dtype, Y.dtype).type((-1 / m) * loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = (-1 / m) * np.sum(Y.reshape(AL.shape) * np.log(AL)
                                 + (1 - Y.reshape(AL.shape)) * np.log(1 - AL))
    return np.squeeze(cost)  # type: ignore[no-any-return]  # a NumPy float scalar


def _backward_op(activation: str) -> str:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {activation!r}")
    return activation


def linear_backward(dZ: np.ndarray, cache: _LinearCache
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dW = (1/m) dZ A_prev^T``, ``db = (1/m) sum(dZ)``, ``dA_prev = W^T dZ``.

    Examples
    --------
    >>> dA_prev, dW, db = linear_backward(np.ones((1, 2)), (np.ones((2, 2)), np.ones((1, 2)), np.zeros((1, 1))))
    >>> dW, db
    (array([[1., 1.]]), array([[1.]]))
    """
    A_prev, W, b = cache
    # linear: dZ * 1, the identity's derivative read from nothing (dZ fills the slot)
    # need_dA_prev is True: dA_prev is an array, not None
    return F.dense_backward(dZ, F.DenseCache(  # type: ignore[return-value]
        A_prev, W, b, dZ, "linear"))


def linear_activation_backward(dA: np.ndarray, cache: _Cache, activation: str
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dZ = dA * g'`` then :func:`linear_backward`, fused; returns ``(dA_prev, dW, db)``.

    Examples
    --------
    >>> A, cache = linear_activation_forward(np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1)), "relu")
    >>> linear_activation_backward(np.ones((1, 1)), cache, "relu")[1]
    array([[1., 1.]])
    """
    (A_prev, W, b), A = cache   # A, or Z for an activation whose backward takes Z
    # need_dA_prev is True: dA_prev is an array, not None
    return F.dense_backward(dA, F.DenseCache(  # type: ignore[return-value]
        A_prev, W, b, A, _backward_op(activation), A))


def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: list[_Cache]
                     ) -> dict[str, np.ndarray]:
    """Gradients of the whole network; keys ``"dA0".."dA{L-1}"``, ``"dW1"..``, ``"db1"..``.

    Examples
    --------
    >>> p = initialize_parameters_deep([2, 3, 1], seed=0)
    >>> AL, caches = L_model_forward(np.ones((2, 4)), p)
    >>> L_model_backward(AL, np.ones((1, 4)), caches)["dW1"].shape
    (3, 2)
    """
    L = len(caches)
    if L == 0:
        raise ValueError("caches is empty: pass the caches returned by L_model_forward")
    if not (type(Y) is np.ndarray and type(AL) is np.ndarray and Y.shape == AL.shape
            and Y.dtype == AL.dtype):
        Y = np.asarray(Y)
        if Y.size != np.size(AL):
            raise ValueError(f"Y has shape {Y.shape} but AL has shape {np.shape(AL)}")
        Y = Y.reshape(np.shape(AL)).astype(np.result_type(AL), copy=False)
    if type(caches) is not list:
        try:
            caches = list(caches)
        except TypeError:
            raise ValueError("caches must be the list returned by L_model_forward") from None
    _, bwd, alphas, softmaxes = _codes(L)
    return _course.course_backward(Y, caches, bwd, alphas, softmaxes, _grad_keys(L))


def update_parameters(parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray],
                      learning_rate: float) -> dict[str, np.ndarray]:
    """``W[l] = W[l] - learning_rate * dW[l]`` (and b), one pass each; returns ``parameters``.

    Like the course, new arrays replace the old ones in the dict (arrays you
    kept from before the update are not modified).

    Examples
    --------
    >>> p = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}
    >>> update_parameters(p, {"dW1": np.ones((1, 1)), "db1": np.ones((1, 1))}, 0.1)["W1"]
    array([[0.9]])
    """
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating)):
        raise TypeError(f"learning_rate must be a real number, got {type(learning_rate).__name__}")
    names, grad_names = _update_names(_n_layers(parameters))
    if not isinstance(grads, dict):
        if not isinstance(grads, Mapping):
            raise TypeError(f"grads must be the dict returned by L_model_backward, "
                            f"got {type(grads).__name__}")
        grads = dict(grads)
    missing = _course.course_update(parameters, grads, names, grad_names, float(learning_rate))
    if missing:
        raise ValueError(f"grads has no {', '.join('d' + n for n in missing)}; "
                         f"keys: {sorted(grads)}")
    return parameters
