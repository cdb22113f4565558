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
``sparse_categorical_crossentropy``     ``"softmax"``         the same, integer labels
``mse``, ``mean_squared_error``         ``"linear"``          ``(1/2) sum_k (a_k - y_k)^2``
``mae``, ``mean_absolute_error``                              ``sum_k |a_k - y_k|``
``huber`` (``delta``)                                         ``sum_k huber(a_k - y_k)``
``log_cosh``, ``logcosh``                                     ``sum_k log cosh(a_k - y_k)``
``poisson``                                                   ``sum_k (a_k - y_k log(a_k + 1e-7))``
``hinge``                                                     ``sum_k max(1 - y_k a_k, 0)``
``squared_hinge``                                             ``sum_k max(1 - y_k a_k, 0)^2``
======================================  ====================  ===================

Every loss sums its terms over the output units and averages over the examples
(Keras averages over the units instead: the same number for one output unit).
A loss without a fused activation trains any output activation but the softmax
through its gradient ``dL/dA`` (:meth:`Loss.gradient`). The cross-entropies take
``from_logits=True`` (``A`` holds logits, a linear output: the cost and the
gradient ``sigmoid(z) - y`` / ``softmax(z) - y`` are formed without ``log(0)``
or overflow) and ``label_smoothing``; ``poisson`` takes ``log_input=True``
(``A`` is the log of the rate: ``e^z - y z``).

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
(``fastdnn/_kernels/_loss.pxd``); the gradient, from the same file, has the dtype of ``A``.

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
from .hinge import Hinge
from .huber import Huber
from .log_cosh import LogCosh
from .loss import ArrayLike, Loss
from .loss import _LOSS_CODES, _clip_bounds, _compiled_sum  # noqa: F401 - fastdnn.losses._* callers
from .mean_absolute_error import MeanAbsoluteError
from .mean_squared_error import MeanSquaredError
from .poisson import Poisson
from .sparse_categorical_crossentropy import SparseCategoricalCrossentropy
from .squared_hinge import SquaredHinge

__all__ = ["Loss", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "LogCosh", "Poisson", "Hinge", "SquaredHinge",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "mse", "mae", "huber", "log_cosh", "poisson", "hinge", "squared_hinge",
           "get", "names", "serialize"]


def binary_crossentropy(y_true: ArrayLike, y_pred: ArrayLike, from_logits: bool = False,
                        label_smoothing: float = 0.0) -> float:
    """Mean binary cross-entropy in the user layout (``y_true`` first, as in Keras).

    Parameters
    ----------
    y_true : array_like, shape (m,) or (m, k)
        0/1 (or soft) labels.
    y_pred : array_like of float, shape (m,) or (m, k)
        Predicted probabilities (logits with ``from_logits=True``).
    from_logits, label_smoothing
        See :class:`BinaryCrossentropy`.

    Examples
    --------
    >>> round(binary_crossentropy([1, 0], [0.5, 0.5]), 6)
    0.693147
    """
    return BinaryCrossentropy(from_logits, label_smoothing)(y_true, y_pred)


def categorical_crossentropy(y_true: ArrayLike, y_pred: ArrayLike, from_logits: bool = False,
                             label_smoothing: float = 0.0) -> float:
    """Mean categorical cross-entropy in the user layout.

    Parameters
    ----------
    y_true : array_like
        Integer labels ``(m,)`` or one-hot rows ``(m, k)``.
    y_pred : array_like of float, shape (m, k)
        Class probabilities, one row per example (logits with ``from_logits=True``).
    from_logits, label_smoothing
        See :class:`CategoricalCrossentropy`.

    Examples
    --------
    >>> round(categorical_crossentropy([0, 1], [[0.5, 0.5], [0.5, 0.5]]), 6)
    0.693147
    """
    return CategoricalCrossentropy(from_logits, label_smoothing)(y_true, y_pred)


def sparse_categorical_crossentropy(y_true: ArrayLike, y_pred: ArrayLike,
                                    from_logits: bool = False) -> float:
    """Mean categorical cross-entropy of integer labels ``y_true`` ``(m,)``.

    Examples
    --------
    >>> round(sparse_categorical_crossentropy([0, 1], [[0.0, 0.0], [0.0, 0.0]],
    ...                                       from_logits=True), 6)
    0.693147
    """
    return SparseCategoricalCrossentropy(from_logits)(y_true, y_pred)


def mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Half squared error summed over the outputs, averaged over the examples.

    See :class:`MeanSquaredError`: half of the usual mean squared error.

    Examples
    --------
    >>> mse([0.0, 0.0], [1.0, 3.0])
    2.5
    """
    return MeanSquaredError()(y_true, y_pred)


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Absolute error summed over the outputs, averaged over the examples.

    Examples
    --------
    >>> mae([0.0, 0.0], [1.0, -3.0])
    2.0
    """
    return MeanAbsoluteError()(y_true, y_pred)


def huber(y_true: ArrayLike, y_pred: ArrayLike, delta: float = 1.0) -> float:
    """Huber loss summed over the outputs, averaged over the examples (see :class:`Huber`).

    Examples
    --------
    >>> huber([0.0, 0.0], [0.5, 3.0])
    1.3125
    """
    return Huber(delta)(y_true, y_pred)


def log_cosh(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``log cosh`` of the error summed over the outputs, averaged over the examples.

    Examples
    --------
    >>> round(log_cosh([0.0], [1.0]), 6)
    0.433781
    """
    return LogCosh()(y_true, y_pred)


def poisson(y_true: ArrayLike, y_pred: ArrayLike, log_input: bool = False) -> float:
    """Poisson loss of counts ``y_true`` under rates ``y_pred`` (see :class:`Poisson`).

    Examples
    --------
    >>> round(poisson([1.0], [2.0]), 6)
    1.306853
    """
    return Poisson(log_input)(y_true, y_pred)


def hinge(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Hinge loss of -1/1 (or 0/1) labels (see :class:`Hinge`).

    Examples
    --------
    >>> hinge([1, 0], [0.5, -2.0])
    0.25
    """
    return Hinge()(y_true, y_pred)


def squared_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Squared hinge loss of -1/1 (or 0/1) labels (see :class:`SquaredHinge`).

    Examples
    --------
    >>> squared_hinge([1, 0], [0.5, -2.0])
    0.125
    """
    return SquaredHinge()(y_true, y_pred)


_REGISTRY: dict[str, type[Loss]] = {
    cls.name: cls for cls in (BinaryCrossentropy, CategoricalCrossentropy,
                              SparseCategoricalCrossentropy, MeanSquaredError,
                              MeanAbsoluteError, Huber, LogCosh, Poisson, Hinge, SquaredHinge)
}
_ALIASES = {"mean_squared_error": "mse", "log_loss": "binary_crossentropy",
            "mean_absolute_error": "mae", "logcosh": "log_cosh", "huber_loss": "huber",
            # Keras class names, lower-cased
            "binarycrossentropy": "binary_crossentropy",
            "categoricalcrossentropy": "categorical_crossentropy",
            "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
            "meansquarederror": "mse", "meanabsoluteerror": "mae",
            "squaredhinge": "squared_hinge"}
_FUNCTIONS: dict[Callable[..., float], type[Loss]] = {
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mse: MeanSquaredError, mae: MeanAbsoluteError, huber: Huber, log_cosh: LogCosh,
    poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge}

LossLike = Union[str, dict[str, Any], Loss, type[Loss],
                 Callable[[ArrayLike, ArrayLike], float]]   # or one of the functions above


def names() -> list[str]:
    """Names ``get`` accepts (besides the aliases in the module notes).

    Examples
    --------
    >>> names()
    ['binary_crossentropy', 'categorical_crossentropy', 'hinge', 'huber', 'log_cosh', 'mae',
     'mean_absolute_error', 'mean_squared_error', 'mse', 'poisson',
     'sparse_categorical_crossentropy', 'squared_hinge']
    """
    return sorted([*_REGISTRY, "mean_squared_error", "mean_absolute_error"])


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
        ``"sparse_categorical_crossentropy"``, ``"mse"``, ``"mean_squared_error"``,
        ``"mae"``, ``"huber"``, ``"log_cosh"``, ``"poisson"``, ``"hinge"``,
        ``"squared_hinge"`` (case-insensitive; Keras class names such as ``"BinaryCrossentropy"``
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
