"""Metrics that accumulate over mini-batches, and their registry ``get("accuracy")``.

A metric reads the lecture layout: output activations ``A`` and prepared
targets ``Y`` (see :meth:`fastdnn.losses.Loss.prepare_targets`), both
``(n_L, m)`` with one column per example. ``update_state(A, Y)`` adds one
batch to running totals kept in float64, ``result()`` reads them and
``reset_state()`` clears them, so a model can report a metric over an epoch
without storing its predictions. Calling the metric, ``metric(A, Y)``, is
stateless: the value on that batch alone.

========================  ===============================================================
name (aliases)            value
========================  ===============================================================
``accuracy`` (``acc``)    one output unit: ``(A > 0.5) == (Y > 0.5)``; several: argmax of
                          each column of ``A`` == argmax of the column of ``Y``
``binary_accuracy``       element-wise ``(A > threshold) == (Y > 0.5)`` (multi-label)
``categorical_accuracy``  argmax over the units, whatever ``n_L``
``mae``                   mean absolute error over all elements
``mse``                   mean squared error over all elements
========================  ===============================================================

.. note::
   The ``mse`` *metric* is the plain mean of ``(a - y)^2`` over all elements,
   like ``sklearn.metrics.mean_squared_error``; the ``mse`` *loss*
   (:class:`fastdnn.losses.MeanSquaredError`) is half the squared error summed
   over the output units.

A prediction column holding NaN never counts as correct; NaN in an error
metric makes it NaN.

Examples
--------
>>> import numpy as np
>>> from fastdnn import metrics
>>> acc = metrics.get("accuracy")
>>> acc.update_state(np.array([[0.9, 0.2]]), np.array([[1.0, 1.0]]))
>>> acc.update_state(np.array([[0.7, 0.1]]), np.array([[1.0, 0.0]]))
>>> acc.result()
0.75
>>> acc(np.array([[0.7, 0.1]]), np.array([[1.0, 0.0]]))
1.0
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ._validation import check_real, check_sample_weight
from . import _registry
from ._compiled import MetricKernel, NotCompilable, check_maths, code

from ._validation import float_array as _float_array, real_array as _real_array

__all__ = ["Metric", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "MeanAbsoluteError", "MeanSquaredError", "get", "names", "serialize"]

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
else:
    ArrayLike = Any


def _check_pair(A: ArrayLike, Y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    A = _float_array(A, "A")
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D (n_L, m), one column per example, got shape {A.shape}")
    Y = _real_array(Y, "Y")
    if Y.shape != A.shape:
        raise ValueError(f"Y has shape {Y.shape} but A has shape {A.shape}: Y must be "
                         "(n_L, m) like A")
    return A, Y


class Metric:
    """Base class: a running mean ``total / count`` over the batches seen.

    Subclasses set ``name`` and implement ``_batch(A, Y) -> (total, count)``.

    Examples
    --------
    >>> m = MeanAbsoluteError()
    >>> m.result()  # nothing seen yet
    nan
    """

    name: str = ""

    def __init__(self) -> None:
        self.total = 0.0
        self.count: float = 0

    def _batch(self, A: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
        raise NotImplementedError

    def _example_values(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The metric of each example (column) alone, shape ``(m,)``: what sample weights
        weigh. This fallback runs ``_batch`` column by column; the built-in metrics
        compute it at once."""
        values = np.empty(A.shape[1])
        for j in range(A.shape[1]):
            total, count = self._batch(A[:, j:j + 1], Y[:, j:j + 1])
            values[j] = total / count if count else math.nan
        return values

    def update_state(self, A: ArrayLike, Y: ArrayLike,
                     sample_weight: ArrayLike | None = None) -> None:
        """Add one batch: ``A`` (n_L, m) float32/float64, ``Y`` of the same shape.

        ``sample_weight`` ``(m,)``: each example's value counts ``w_j`` times, as in
        Keras: the result is ``sum_j w_j v_j / sum_j w_j`` with ``v_j`` the example's
        value (for element-wise metrics, its mean over the output units).

        Examples
        --------
        >>> acc = Accuracy()
        >>> acc.update_state(np.array([[0.9, 0.2, 0.8]]), np.array([[1, 1, 0]]),
        ...                  sample_weight=[2.0, 1.0, 1.0])
        >>> acc.result()
        0.5
        """
        A, Y = _check_pair(A, Y)
        if sample_weight is None:
            total, count = self._batch(A, Y)
            self.total += total
            self.count += count
            return
        w = check_sample_weight(sample_weight, A.shape[1], x_name="A's columns")
        values = _weighed_values(self)(A, Y)
        with np.errstate(invalid="ignore"):
            self.total += float(np.dot(w, values))
        self.count += float(w.sum())

    def result(self) -> float:
        """The metric over every batch since the last reset (NaN before any)."""
        return self.total / self.count if self.count else math.nan

    def reset_state(self) -> None:
        """Forget the batches seen."""
        self.total = 0.0
        self.count = 0

    def __call__(self, A: ArrayLike, Y: ArrayLike) -> float:
        """The metric on this batch alone; the running state is untouched."""
        A, Y = _check_pair(A, Y)
        total, count = self._batch(A, Y)
        return total / count if count else math.nan

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        """What the compiled training loop needs to compute this metric for a network of
        ``n_outputs`` output units (``fastdnn._compiled``); raises ``NotCompilable`` when
        it has no kernel for it.

        Examples
        --------
        >>> MeanAbsoluteError().compiled_spec(3).per_example
        3
        """
        raise NotCompilable(f"{type(self).__name__} has no compiled kernel")

    def get_config(self) -> dict[str, Any]:
        """JSON-able description; ``get(config)`` or ``from_config`` rebuilds the metric."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        """Rebuild a metric (without its state) from :meth:`get_config`.

        Examples
        --------
        >>> BinaryAccuracy.from_config({"name": "binary_accuracy", "threshold": 0.3}).threshold
        0.3
        """
        return _registry.from_config(  # type: ignore[no-any-return]  # an instance of cls
            cls, config, _lookup, "metric")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _weighed_values(metric: Metric) -> Any:
    """``metric._example_values``, unless a subclass changed ``_batch`` below the class
    that defines it: then the per-column fallback, which follows ``_batch``."""
    mro = type(metric).__mro__
    batch_owner = next(c for c in mro if "_batch" in c.__dict__)
    values_owner = next(c for c in mro if "_example_values" in c.__dict__)
    if issubclass(values_owner, batch_owner):
        return metric._example_values
    return lambda A, Y: Metric._example_values(metric, A, Y)


def _binary_hits(A: np.ndarray, Y: np.ndarray, threshold: float) -> np.ndarray:
    """Per element: ``A > threshold`` agrees with ``Y > 0.5`` (NaN in ``A``: wrong)."""
    return ((A > threshold) == (Y > 0.5)) & ~np.isnan(A)  # type: ignore[no-any-return]


def _argmax_hits(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per column: the argmax agrees (a column of ``A`` holding NaN: wrong)."""
    hit = np.argmax(A, axis=0) == np.argmax(Y, axis=0)
    return hit & ~np.isnan(A).any(axis=0)  # type: ignore[no-any-return]


def _check_threshold(threshold: Any) -> float:
    return check_real(threshold, "threshold")


def _spec(metric: Metric, owner: type, name: str, threshold: float,
          per_example: int) -> MetricKernel:
    check_maths(metric, owner, "metric")
    return MetricKernel(code("metric", name), threshold, per_example)


def _binary_correct(A: np.ndarray, Y: np.ndarray, threshold: float) -> int:
    """Elements where ``A > threshold`` agrees with ``Y > 0.5`` (NaN in ``A``: wrong)."""
    positive = Y > 0.5
    return int(np.count_nonzero((A > threshold) == positive)
               - np.count_nonzero(np.isnan(A) & ~positive))


def _argmax_correct(A: np.ndarray, Y: np.ndarray) -> int:
    """Columns whose argmax agrees (a column of ``A`` holding NaN: wrong)."""
    hit = np.argmax(A, axis=0) == np.argmax(Y, axis=0)
    hit &= ~np.isnan(A).any(axis=0)
    return int(np.count_nonzero(hit))


class BinaryAccuracy(Metric):
    """Fraction of output elements on the right side of ``threshold``.

    For multi-label outputs (sigmoid units with binary cross-entropy) every
    unit of every example counts once.

    Parameters
    ----------
    threshold : float, default 0.5
        A prediction ``a > threshold`` is the positive class; a target is
        positive when ``y > 0.5`` (0/1 labels, or soft labels rounded).

    Examples
    --------
    >>> BinaryAccuracy()(np.array([[0.6, 0.4], [0.2, 0.9]]), np.array([[1, 1], [0, 1]]))
    0.75
    """

    name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5):
        super().__init__()
        self.threshold = _check_threshold(threshold)

    def _batch(self, A: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
        return _binary_correct(A, Y, self.threshold), A.size

    def _example_values(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return _binary_hits(A, Y, self.threshold).mean(axis=0)  # type: ignore[no-any-return]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "threshold": self.threshold}

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, BinaryAccuracy, "binary_accuracy", self.threshold, n_outputs)


class CategoricalAccuracy(Metric):
    """Fraction of examples whose most probable unit is the target class (argmax per column).

    Examples
    --------
    >>> A = np.array([[0.7, 0.2], [0.3, 0.8]]); Y = np.array([[1, 1], [0, 0]])
    >>> CategoricalAccuracy()(A, Y)
    0.5
    """

    name = "categorical_accuracy"

    def _batch(self, A: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
        return _argmax_correct(A, Y), A.shape[1]

    def _example_values(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return _argmax_hits(A, Y).astype(np.float64)

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, CategoricalAccuracy, "categorical_accuracy", 0.0, 1)


class Accuracy(Metric):
    """Classification accuracy, the fraction of examples classified right.

    With one output unit (binary classifier) a prediction is positive when
    ``a > threshold``; with several, the class is the argmax over the units.

    Parameters
    ----------
    threshold : float, default 0.5
        Used with one output unit only.

    Examples
    --------
    >>> Accuracy()(np.array([[0.6, 0.4, 0.5]]), np.array([[1, 1, 0]]))
    0.6666666666666666
    """

    name = "accuracy"

    def __init__(self, threshold: float = 0.5):
        super().__init__()
        self.threshold = _check_threshold(threshold)

    def _batch(self, A: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
        if A.shape[0] == 1:
            return _binary_correct(A, Y, self.threshold), A.shape[1]
        return _argmax_correct(A, Y), A.shape[1]

    def _example_values(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        if A.shape[0] == 1:
            return _binary_hits(A, Y, self.threshold)[0].astype(np.float64)  # type: ignore[no-any-return]
        return _argmax_hits(A, Y).astype(np.float64)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "threshold": self.threshold}

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        if n_outputs == 1:
            return _spec(self, Accuracy, "binary_accuracy", self.threshold, 1)
        return _spec(self, Accuracy, "categorical_accuracy", 0.0, 1)


class MeanAbsoluteError(Metric):
    """Mean of ``|a - y|`` over all elements (``sklearn.metrics.mean_absolute_error``).

    Examples
    --------
    >>> MeanAbsoluteError()(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))
    1.5
    """

    name = "mae"

    def _batch(self, A: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
        with np.errstate(all="ignore"):
            d = A - Y.astype(A.dtype, copy=False)
            np.abs(d, out=d)
            return float(np.sum(d, dtype=np.float64)), A.size

    def _example_values(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.abs(A - Y.astype(A.dtype, copy=False)).mean(  # type: ignore[no-any-return]
                axis=0, dtype=np.float64)

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, MeanAbsoluteError, "mean_absolute_error", 0.0, n_outputs)


class MeanSquaredError(Metric):
    """Mean of ``(a - y)^2`` over all elements (``sklearn.metrics.mean_squared_error``).

    Not halved, unlike the ``mse`` loss.

    Examples
    --------
    >>> MeanSquaredError()(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))
    2.5
    """

    name = "mse"

    def _batch(self, A: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
        with np.errstate(all="ignore"):
            d = A - Y.astype(A.dtype, copy=False)
            np.square(d, out=d)
            return float(np.sum(d, dtype=np.float64)), A.size

    def _example_values(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.square(A - Y.astype(A.dtype, copy=False)).mean(  # type: ignore[no-any-return]
                axis=0, dtype=np.float64)

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, MeanSquaredError, "mean_squared_error", 0.0, n_outputs)


_REGISTRY: dict[str, type[Metric]] = {
    cls.name: cls for cls in (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                              MeanAbsoluteError, MeanSquaredError)
}
_ALIASES = {"acc": "accuracy", "mean_absolute_error": "mae", "mean_squared_error": "mse"}
_CLASS_NAMES = {cls.__name__.lower(): name for name, cls in _REGISTRY.items()}

MetricLike = Union[str, dict[str, Any], Metric, type[Metric]]


def names() -> list[str]:
    """Names ``get`` accepts (besides the aliases ``acc``, ``mean_absolute_error``,
    ``mean_squared_error``).

    Examples
    --------
    >>> names()
    ['accuracy', 'binary_accuracy', 'categorical_accuracy', 'mae', 'mse']
    """
    return sorted(_REGISTRY)


def _lookup(name: Any) -> type[Metric]:
    if not isinstance(name, str):
        raise ValueError(f"metric name must be a string, got {name!r}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    key = _CLASS_NAMES.get(key, key)  # Keras class names: "BinaryAccuracy"
    if key not in _REGISTRY:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(names())} "
                         f"(aliases: {', '.join(sorted(_ALIASES))})")
    return _REGISTRY[key]


def serialize(metric: Metric) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of a metric, without its state; ``get`` reads it.

    Examples
    --------
    >>> serialize(BinaryAccuracy(0.7))
    {'class_name': 'BinaryAccuracy', 'config': {'threshold': 0.7}}
    """
    if not isinstance(metric, Metric):
        raise TypeError(f"metric must be a Metric, got {type(metric).__name__}")
    config = {k: v for k, v in metric.get_config().items() if k != "name"}
    return {"class_name": type(metric).__name__, "config": config}


def get(identifier: MetricLike) -> Metric:
    """Look up a metric by name, config dict, class or instance.

    A name or a class gives a new metric with empty state; an instance is
    returned as is.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones) or bad config.
    TypeError
        Anything else.

    Examples
    --------
    >>> get("acc")
    Accuracy(threshold=0.5)
    >>> get({"name": "mse"}).name
    'mse'
    """
    resolved: Metric | None = _registry.resolve(identifier, Metric, _lookup, "metric")
    if resolved is not None:
        return resolved
    raise TypeError("metric must be a name, a config dict or a Metric, "
                    f"got {type(identifier).__name__}")
