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
warnings. Arithmetic runs in the dtype of ``A`` (float32 or float64; sums
accumulate in float64); the gradient has the dtype of ``A``.

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

from typing import Any, Union

import numpy as np

from . import _registry
from ._compiled import CODES, LossKernel, NotCompilable, check_maths, code
from ._kernels import _losses
from ._validation import check_dtype

__all__ = ["Loss", "BinaryCrossentropy", "CategoricalCrossentropy", "MeanSquaredError",
           "binary_crossentropy", "categorical_crossentropy", "mse", "get", "names", "serialize"]

ArrayLike = Any

# a one-hot or probability row of y may sum to 1 within this (categorical cross-entropy)
_ROW_SUM_TOL = 1e-3


# ---------------------------------------------------------------- validation

def _float_array(x: ArrayLike, what: str) -> np.ndarray:
    """``x`` as a float32/float64 array: arrays must already be; lists/scalars are converted."""
    if isinstance(x, np.ndarray):
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{what} must be a float32 or float64 array, got dtype {x.dtype}")
        return x
    arr = np.asarray(x)
    if arr.dtype in (np.float32, np.float64):
        return arr
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    raise TypeError(f"{what} must be a float32 or float64 array, got {type(x).__name__} "
                    f"of dtype {arr.dtype}")


def _real_array(x: ArrayLike, what: str) -> np.ndarray:
    """``x`` as an array of bool, int or float (no object, complex or strings)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold real numbers (bool, int or float), got dtype "
                        f"{arr.dtype}")
    return arr


def _check_pair(A: ArrayLike, Y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(A, Y)`` in the lecture layout, ``Y`` in the dtype of ``A``."""
    A = _float_array(A, "A")
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D (n_L, m), one column per example, got shape {A.shape}")
    Y = _real_array(Y, "Y")
    if Y.shape != A.shape:
        raise ValueError(f"Y has shape {Y.shape} but A has shape {A.shape}: Y must be "
                         "(n_L, m) like A")
    if A.shape[1] == 0:
        raise ValueError(f"A must hold at least one example (m >= 1), got shape {A.shape}")
    return A, Y.astype(A.dtype, copy=False)


def _check_n_outputs(n_outputs: Any) -> int:
    if isinstance(n_outputs, (bool, np.bool_)) or not isinstance(n_outputs, (int, np.integer)):
        raise TypeError(f"n_outputs must be an int, got {type(n_outputs).__name__}")
    if n_outputs < 1:
        raise ValueError(f"n_outputs must be >= 1, got {n_outputs}")
    return int(n_outputs)


def _check_targets(y: ArrayLike, n: int, what: str) -> np.ndarray:
    """Common checks of user targets: real dtype, 1-D or 2-D, non-empty, finite."""
    y = _real_array(y, what)
    if y.ndim not in (1, 2):
        raise ValueError(f"{what} must have shape (m,) or (m, {n}), got shape {y.shape}")
    if y.shape[0] == 0:
        raise ValueError(f"{what} must hold at least one example, got shape {y.shape}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        bad = "NaN" if np.isnan(y).any() else "inf"
        raise ValueError(f"{what} contains {bad}; targets must be finite")
    return y


def _check_unit_interval(y: np.ndarray, what: str, loss: str) -> None:
    lo, hi = y.min(), y.max()
    if lo < 0 or hi > 1:
        raise ValueError(f"{loss} needs targets in [0, 1]; {what} holds values in "
                         f"[{lo}, {hi}]")


def _clip_bounds(dtype: np.dtype) -> tuple[Any, Any]:
    """``tiny`` (smallest normal) and ``1 - eps/2`` (largest number below 1) of ``dtype``:
    the compiled kernels' clipping of ``A`` (one definition, ``_kernels/_loss.pxd``)."""
    lo, hi = _losses.clip_range(dtype == np.float32)
    return dtype.type(lo), dtype.type(hi)


_LOSS_CODES = CODES["loss"]


def _compiled_sum(owner: type, A: np.ndarray, Y: np.ndarray) -> float:
    """The compiled sum of ``owner``'s per-example loss over ``A`` against ``Y``
    (``fastdnn/_kernels/_loss.pxd``: the formulas and clipping the training loop uses)."""
    if Y.dtype not in (np.float32, np.float64):
        Y = Y.astype(A.dtype)
    if not ((A.flags.c_contiguous and Y.flags.c_contiguous)
            or (A.flags.f_contiguous and Y.flags.f_contiguous)):
        A, Y = np.ascontiguousarray(A), np.ascontiguousarray(Y)
    return _losses.cost_sum(_LOSS_CODES[owner.name], A, Y)


# ---------------------------------------------------------------- losses

class Loss:
    """Base class of the losses: ``cost``, ``gradient``, ``prepare_targets``, ``__call__``.

    Subclasses set ``name`` (registry name) and ``fused_activation`` (the output
    activation with which ``dZ = A - Y``) and implement ``_cost_sum``,
    ``gradient`` and ``_prepare``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = get("mse")
    >>> isinstance(loss, Loss), loss.name, loss.fused_activation
    (True, 'mse', 'linear')
    >>> Y = loss.prepare_targets([1.0, 2.0], n_outputs=1, dtype=np.float64).T  # (1, m)
    >>> loss.cost(np.array([[1.0, 4.0]]), Y)  # (0 + 2**2 / 2) / 2
    1.0
    """

    name: str = ""
    fused_activation: str = ""

    def cost(self, A: ArrayLike, Y: ArrayLike) -> float:
        """``J = (1/m) sum_examples L(a, y)`` for ``A``, ``Y`` of shape ``(n_L, m)``.

        Parameters
        ----------
        A : ndarray (n_L, m) of float32 or float64
            Output activations, one column per example.
        Y : array_like (n_L, m)
            Targets (see :meth:`prepare_targets`); cast to the dtype of ``A``.

        Returns
        -------
        float
            NaN if ``A`` or ``Y`` holds NaN (no warning).
        """
        A, Y = _check_pair(A, Y)
        with np.errstate(all="ignore"):
            return self._cost_sum(A, Y) / A.shape[1]

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        """``dA = dL/dA`` per example (not divided by ``m``), shape and dtype of ``A``.

        For an output activation other than ``fused_activation``: the dense
        backward step forms ``dZ = dA * g'`` and divides by ``m`` in ``dW`` and
        ``db``. Cross-entropies use the clipped ``A`` (see the module notes), so
        the result is finite where ``A`` is exactly 0 or 1.
        """
        raise NotImplementedError

    def prepare_targets(self, y: ArrayLike, n_outputs: int, dtype: Any = np.float32
                        ) -> np.ndarray:
        """Targets as a user passes them (``(m,)``, ``(m, 1)``, ``(m, k)``) -> ``(m, n_outputs)``.

        Parameters
        ----------
        y : array_like
            What a Keras / scikit-learn user passes as ``y``; accepted forms
            depend on the loss (see the class docs). NaN or inf is rejected.
        n_outputs : int
            Units of the output layer, ``n_L``.
        dtype : float32 or float64, default float32

        Returns
        -------
        ndarray, shape (m, n_outputs), C-contiguous, of ``dtype``
            Its transpose ``.T`` is the lecture's ``Y`` ``(n_L, m)`` (F-ordered,
            no copy). May share memory with ``y`` when no conversion is needed.

        Raises
        ------
        ValueError
            Shape, range or NaN problems; the message names ``y`` and gives the
            expected and the given shape or values.
        TypeError
            Non-numeric ``y``, or ``dtype`` not float32/float64.
        """
        dt = check_dtype(dtype)
        n = _check_n_outputs(n_outputs)
        y = self._prepare(_check_targets(y, n, "y"), n, "y", dt)
        return np.ascontiguousarray(y, dtype=dt)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike) -> float:
        """The cost in the user layout: ``y_true`` as for :meth:`prepare_targets`,
        ``y_pred`` of shape ``(m,)`` or ``(m, n_outputs)``. Same number as :meth:`cost`."""
        P = _float_array(y_pred, "y_pred")
        if P.ndim == 1:
            P = P.reshape(-1, 1)
        elif P.ndim != 2:
            raise ValueError(f"y_pred must have shape (m,) or (m, n_outputs), got {P.shape}")
        n = P.shape[1]
        Y = np.asarray(self._prepare(_check_targets(y_true, n, "y_true"), n, "y_true", P.dtype),
                       dtype=P.dtype)
        if Y.shape[0] != P.shape[0]:
            raise ValueError(f"y_true has {Y.shape[0]} examples but y_pred has {P.shape[0]} "
                             f"(shape {P.shape})")
        return self.cost(P.T, Y.T)

    def compiled_spec(self) -> LossKernel:
        """What the compiled training loop needs to compute this loss
        (``fastdnn._compiled``); raises ``NotCompilable`` when it has no kernel for it.

        Examples
        --------
        >>> MeanSquaredError().compiled_spec().fused_activation
        'linear'
        """
        raise NotCompilable(f"{type(self).__name__} has no compiled kernel")

    def get_config(self) -> dict:
        """JSON-able description; ``get(config)`` or ``from_config`` rebuilds the loss."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        """Rebuild a loss from :meth:`get_config`.

        Examples
        --------
        >>> MeanSquaredError.from_config({"name": "mse"})
        MeanSquaredError()
        """
        return _registry.from_config(cls, config, _lookup, "loss")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, fused with a sigmoid output (``dZ = A - Y``).

    ``L = -sum_k (y_k log a_k + (1 - y_k) log(1 - a_k))`` over the output units
    (one unit for a binary classifier, several for independent labels), with
    ``A`` clipped into ``[tiny, 1 - eps/2]``.

    Targets (:meth:`prepare_targets`): ``(m,)`` or ``(m, 1)`` 0/1 labels for one
    output unit, ``(m, n_outputs)`` otherwise; values in ``[0, 1]`` (soft labels
    are fine), bool, int or float.

    Examples
    --------
    >>> import numpy as np
    >>> bce = BinaryCrossentropy()
    >>> round(bce.cost(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]])), 6)  # log 2
    0.693147
    >>> bce.gradient(np.array([[0.5]]), np.array([[1.0]]))
    array([[-2.]])
    >>> bce.cost(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]])) < 1e-15
    True
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def _cost_sum(self, A, Y):
        return _compiled_sum(BinaryCrossentropy, A, Y)

    def gradient(self, A, Y):
        A, Y = _check_pair(A, Y)
        lo, hi = _clip_bounds(A.dtype)
        with np.errstate(all="ignore"):
            a = np.clip(A, lo, hi)
            dA = a - Y
            dA /= a * (1 - a)  # -(y/a - (1-y)/(1-a)) with one rounding-friendly division
        return dA

    def _prepare(self, y, n, what, dt):
        if y.ndim == 1:
            if n != 1:
                raise ValueError(
                    f"{what} has shape {y.shape} (one label per example) but the output layer "
                    f"has n_outputs={n} units; binary_crossentropy needs {what} of shape "
                    f"(m, {n})")
            y = y.reshape(-1, 1)
        elif y.shape[1] != n:
            raise ValueError(f"{what} has shape {y.shape}; expected (m, {n}) for an output layer "
                             f"of {n} unit{'s' if n > 1 else ''}")
        _check_unit_interval(y, what, self.name)
        return y

    def compiled_spec(self) -> LossKernel:
        check_maths(self, BinaryCrossentropy, "loss")
        return LossKernel(code("loss", BinaryCrossentropy.name), BinaryCrossentropy.fused_activation)


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy, fused with a softmax output (``dZ = A - Y``).

    ``L = -sum_k y_k log a_k`` with ``A`` clipped below at ``tiny``.

    Targets (:meth:`prepare_targets`): integer class labels of shape ``(m,)``
    (or ``(m, 1)`` when ``n_outputs > 1``) in ``[0, n_outputs)`` -- also float
    labels with integral values -- are turned into one-hot rows; or one-hot /
    probability rows of shape ``(m, n_outputs)`` with values in ``[0, 1]``
    summing to 1 (within 1e-3: ``dZ = A - Y`` needs every row of ``Y`` to sum
    to 1). The registry name ``sparse_categorical_crossentropy`` is this loss.

    Examples
    --------
    >>> import numpy as np
    >>> cce = CategoricalCrossentropy()
    >>> cce.prepare_targets([2, 0], n_outputs=3, dtype=np.float64)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    >>> A = np.array([[0.25, 0.5], [0.25, 0.5], [0.5, 0.0]])
    >>> round(cce([2, 0], A.T), 6)  # (log 2 + log 2) / 2
    0.693147
    """

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def _cost_sum(self, A, Y):
        return _compiled_sum(CategoricalCrossentropy, A, Y)

    def gradient(self, A, Y):
        A, Y = _check_pair(A, Y)
        with np.errstate(all="ignore"):
            return -Y / np.maximum(A, _clip_bounds(A.dtype)[0])

    def _prepare(self, y, n, what, dt):
        if y.ndim == 2 and y.shape[1] == 1 and n > 1:
            y = y[:, 0]
        if y.ndim == 1:
            return self._one_hot(y, n, what, dt)
        if y.shape[1] != n:
            raise ValueError(
                f"{what} has shape {y.shape}; categorical_crossentropy with {n} output units "
                f"needs integer class labels of shape (m,) or one-hot rows of shape (m, {n})")
        _check_unit_interval(y, what, self.name)
        sums = y.sum(axis=1, dtype=np.float64)
        bad = np.flatnonzero(np.abs(sums - 1) > _ROW_SUM_TOL)
        if bad.size:
            raise ValueError(
                f"every row of {what} must sum to 1 (one-hot or class probabilities) for "
                f"categorical_crossentropy; row {bad[0]} sums to {sums[bad[0]]:g}. For integer "
                f"class labels pass {what} of shape (m,); for independent labels use "
                "binary_crossentropy")
        return y

    @staticmethod
    def _one_hot(labels, n, what, dt):
        if labels.dtype.kind == "f" and np.any(labels != np.floor(labels)):
            raise ValueError(f"{what} of shape {labels.shape} holds class labels, which must be "
                             "integers; found non-integral values")
        lo, hi = labels.min(), labels.max()
        if lo < 0 or hi >= n:
            raise ValueError(f"class labels in {what} must be in [0, {n}) for an output layer "
                             f"of {n} units; {what} holds labels from {lo} to {hi}")
        Y = np.zeros((labels.shape[0], n), dtype=dt)
        Y[np.arange(labels.shape[0]), labels.astype(np.intp)] = 1
        return Y

    def compiled_spec(self) -> LossKernel:
        check_maths(self, CategoricalCrossentropy, "loss")
        return LossKernel(code("loss", CategoricalCrossentropy.name), CategoricalCrossentropy.fused_activation)


class MeanSquaredError(Loss):
    """Half squared error, fused with a linear output (``dZ = A - Y``).

    ``L = (1/2) sum_k (a_k - y_k)^2`` summed over the output units: half the
    usual squared error, the lecture's and scikit-learn ``MLPRegressor``'s
    regression loss (``J`` of one output is half of
    ``sklearn.metrics.mean_squared_error``). Registry names ``"mse"`` and
    ``"mean_squared_error"``.

    Targets (:meth:`prepare_targets`): ``(m,)`` for one output unit, else
    ``(m, n_outputs)``; any finite real values.

    Examples
    --------
    >>> import numpy as np
    >>> MeanSquaredError().cost(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))  # (1 + 9)/2/2
    2.5
    >>> MeanSquaredError().gradient(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]))
    array([[1., 2.]])
    """

    name = "mse"
    fused_activation = "linear"

    def _cost_sum(self, A, Y):
        return _compiled_sum(MeanSquaredError, A, Y)

    def gradient(self, A, Y):
        A, Y = _check_pair(A, Y)
        with np.errstate(all="ignore"):
            return A - Y

    def _prepare(self, y, n, what, dt):
        if y.ndim == 1:
            if n != 1:
                raise ValueError(f"{what} has shape {y.shape} (one value per example) but the "
                                 f"output layer has n_outputs={n} units; expected {what} of "
                                 f"shape (m, {n})")
            return y.reshape(-1, 1)
        if y.shape[1] != n:
            raise ValueError(f"{what} has shape {y.shape}; expected (m, {n}) for an output layer "
                             f"of {n} unit{'s' if n > 1 else ''}")
        return y

    def compiled_spec(self) -> LossKernel:
        check_maths(self, MeanSquaredError, "loss")
        return LossKernel(code("loss", MeanSquaredError.name), MeanSquaredError.fused_activation)


# ---------------------------------------------------------------- functions

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


# ---------------------------------------------------------------- registry

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

LossLike = Union[str, dict, Loss, type[Loss]]


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


def serialize(loss: Loss) -> dict:
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
    resolved = _registry.resolve(identifier, Loss, _lookup, "loss")
    if resolved is not None:
        return resolved
    try:
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
    except TypeError:  # unhashable
        pass
    raise TypeError("loss must be a name, a config dict, a Loss or one of fastdnn.losses' "
                    f"functions, got {type(identifier).__name__}")
