"""Loss functions (cost ``J``, its gradient, target preparation) and their registry.

Layout follows the lecture: predictions ``A`` and targets ``Y`` are
``(n_L, m)``, one column per example, in either memory order. The cost is
``J = (1/m) sum over examples of L(a, y)`` and each loss names the output
activation it is *fused* with, the one for which ``dJ/dZ = (A - Y) / m``
exactly, so a model can form ``dZ = A - Y`` without ever dividing by ``A``:

======================================  ====================  ===================
loss (registry names)                   ``fused_activation``  per-example ``L``
======================================  ====================  ===================
``binary_crossentropy``                 ``"sigmoid"``         ``-sum_k (y log a + (1-y) log(1-a))``
``categorical_crossentropy``            ``"softmax"``         ``-sum_k y_k log a_k``
(alias ``sparse_categorical_crossentropy``)
``mse``, ``mean_squared_error``         ``"linear"``          ``(1/2) sum_k (a_k - y_k)^2``
======================================  ====================  ===================

.. note::
   ``mse`` is the *half* squared error summed over the output units, as in the
   lecture and in scikit-learn's ``MLPRegressor.loss_``: it reports half of
   what ``sklearn.metrics.mean_squared_error`` reports for one output. That is
   the form whose gradient with a linear output is exactly ``A - Y``. The
   regression *metric* ``fastdnn.metrics.get("mse")`` is the plain mean.

Cross-entropies never take ``log(0)``: ``A`` is clipped into
``[tiny, 1 - eps/2]`` of its dtype (``tiny`` the smallest normal number,
``1 - eps/2`` the largest number below 1; categorical only clips below). A
saturated correct prediction costs about 0, a saturated wrong one a large
finite number (per unit ``-log(tiny)``: 87.3 in float32, 708.4 in float64;
``-log(eps/2)``: 16.6 / 36.7). Values of ``A`` outside ``[0, 1]`` are clipped
the same way. NaN in ``A`` or ``Y`` propagates (the cost is NaN) without
warnings. The costs are one compiled pass in double precision (compensated sums for
the cross-entropies), the formulas and clipping the compiled training loop uses
(``fastdnn/_kernels/_loss.pxd``); the gradient has the dtype of ``A``.

Examples
--------
>>> import numpy as np
>>> from fastdnn import losses
>>> loss = losses.get("binary_crossentropy")
>>> loss.fused_activation
'sigmoid'
>>> A = np.array([[0.9, 0.2]]); Y = np.array([[1.0, 0.0]])
>>> round(loss.cost(A, Y), 6)
0.164252
>>> loss.prepare_targets([1, 0, 1], n_outputs=1, dtype=np.float32).T
array([[1., 0., 1.]], dtype=float32)
"""
from __future__ import annotations

from typing import Any, Callable, Union

from .. import _registry
from .binary_crossentropy import BinaryCrossentropy
from .categorical_crossentropy import CategoricalCrossentropy
from .loss import ArrayLike, Loss
from .loss import _LOSS_CODES, _clip_bounds, _compiled_sum  # noqa: F401 - fastdnn.losses._* callers
from .mean_squared_error import MeanSquaredError

__all__ = ["Loss", "BinaryCrossentropy", "CategoricalCrossentropy", "MeanSquaredError",
           "binary_crossentropy", "categorical_crossentropy", "mse", "get", "names", "serialize"]


def binary_crossentropy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean binary cross-entropy in the user layout (``y_true`` first, as in Keras).

    Parameters
    ----------
    y_true : array_like, shape (m,) or (m, k)
        0/1 (or soft) labels.
    y_pred : array_like of float, shape (m,) or (m, k)
        Predicted probabilities.

    Examples
    --------
    >>> round(binary_crossentropy([1, 0], [0.5, 0.5]), 6)
    0.693147
    """
    return BinaryCrossentropy()(y_true, y_pred)


def categorical_crossentropy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean categorical cross-entropy in the user layout.

    Parameters
    ----------
    y_true : array_like
        Integer labels ``(m,)`` or one-hot rows ``(m, k)``.
    y_pred : array_like of float, shape (m, k)
        Class probabilities, one row per example.

    Examples
    --------
    >>> round(categorical_crossentropy([0, 1], [[0.5, 0.5], [0.5, 0.5]]), 6)
    0.693147
    """
    return CategoricalCrossentropy()(y_true, y_pred)


def mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Half squared error summed over the outputs, averaged over the examples.

    See :class:`MeanSquaredError`: half of the usual mean squared error.

    Examples
    --------
    >>> mse([0.0, 0.0], [1.0, 3.0])
    2.5
    """
    return MeanSquaredError()(y_true, y_pred)


_REGISTRY: dict[str, type[Loss]] = {
    cls.name: cls for cls in (BinaryCrossentropy, CategoricalCrossentropy, MeanSquaredError)
}
_ALIASES = {"sparse_categorical_crossentropy": "categorical_crossentropy",
            "mean_squared_error": "mse", "log_loss": "binary_crossentropy",
            # Keras class names, lower-cased
            "binarycrossentropy": "binary_crossentropy",
            "categoricalcrossentropy": "categorical_crossentropy",
            "sparsecategoricalcrossentropy": "categorical_crossentropy",
            "meansquarederror": "mse"}
_FUNCTIONS = {binary_crossentropy: BinaryCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy, mse: MeanSquaredError}

LossLike = Union[str, dict[str, Any], Loss, type[Loss],
                 Callable[[ArrayLike, ArrayLike], float]]   # or one of the functions above


def names() -> list[str]:
    """Names ``get`` accepts (besides the aliases in the module notes).

    Examples
    --------
    >>> names()
    ['binary_crossentropy', 'categorical_crossentropy', 'mean_squared_error', 'mse',
     'sparse_categorical_crossentropy']
    """
    return sorted([*_REGISTRY, "sparse_categorical_crossentropy", "mean_squared_error"])


def _lookup(name: Any) -> type[Loss]:
    if not isinstance(name, str):
        raise ValueError(f"loss name must be a string, got {name!r}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(names())}")
    return _REGISTRY[key]


def serialize(loss: Loss) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of a loss (JSON-compatible); ``get`` reads it.

    Examples
    --------
    >>> serialize(get("mse"))
    {'class_name': 'MeanSquaredError', 'config': {}}
    """
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a Loss, got {type(loss).__name__}")
    config = {k: v for k, v in loss.get_config().items() if k != "name"}
    return {"class_name": type(loss).__name__, "config": config}


def get(identifier: LossLike) -> Loss:
    """Look up a loss by name, config dict, class, instance or module function.

    Parameters
    ----------
    identifier : str, dict, Loss, Loss subclass or function
        ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
        ``"sparse_categorical_crossentropy"``, ``"mse"``, ``"mean_squared_error"``
        (case-insensitive; Keras class names such as ``"BinaryCrossentropy"``
        work too); ``{"name": ...}`` from ``get_config()`` or Keras'
        ``{"class_name": ..., "config": {...}}``; a ``Loss`` (returned as is);
        or one of this module's functions (``losses.mse``).

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones) or bad config.
    TypeError
        Anything else.

    Examples
    --------
    >>> get("sparse_categorical_crossentropy").fused_activation
    'softmax'
    >>> get(mse).name
    'mse'
    """
    resolved: Loss | None = _registry.resolve(identifier, Loss, _lookup, "loss")
    if resolved is not None:
        return resolved
    try:
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
    except TypeError:  # unhashable
        pass
    raise TypeError("loss must be a name, a config dict, a Loss or one of fastdnn.losses' "
                    f"functions, got {type(identifier).__name__}")
