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
``precision``             ``TP / (TP + FP)`` over all elements at ``a > 0.5``
``recall``                ``TP / (TP + FN)`` over all elements at ``a > 0.5``
``auc``                   area under the ROC (or precision-recall) curve, 200 thresholds
``top_k_categorical_      the target class among the ``k = 5`` largest units
accuracy``
========================  ===============================================================

Precision, recall and AUC are kept as counts (confusion counts; a histogram of the
predictions over the AUC's thresholds) that ``result()`` finishes; the compiled
training loop accumulates the same counts (``fastdnn/_kernels/_metric.pxd``).
One module per kind: ``metric`` (the base classes), ``accuracy``, ``errors``,
``precision_recall``, ``auc``, ``top_k``.

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

from typing import Any, Union

from .. import _registry
from .accuracy import Accuracy, BinaryAccuracy, CategoricalAccuracy
from .auc import AUC
from .errors import MeanAbsoluteError, MeanSquaredError
from .metric import CountsMetric, Metric
from .precision_recall import Precision, Recall
from .top_k import TopKCategoricalAccuracy

__all__ = ["Metric", "CountsMetric", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "MeanAbsoluteError", "MeanSquaredError", "Precision", "Recall", "AUC",
           "TopKCategoricalAccuracy", "get", "names", "serialize"]


_REGISTRY: dict[str, type[Metric]] = {
    cls.name: cls for cls in (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                              MeanAbsoluteError, MeanSquaredError, Precision, Recall, AUC,
                              TopKCategoricalAccuracy)
}
_ALIASES = {"acc": "accuracy", "mean_absolute_error": "mae", "mean_squared_error": "mse",
            # the targets are one-hot once prepared, whatever form the labels had
            "sparse_top_k_categorical_accuracy": "top_k_categorical_accuracy"}
_CLASS_NAMES = {cls.__name__.lower(): name for name, cls in _REGISTRY.items()}

MetricLike = Union[str, dict[str, Any], Metric, type[Metric]]


def names() -> list[str]:
    """Names ``get`` accepts (besides the aliases ``acc``, ``mean_absolute_error``,
    ``mean_squared_error``, ``sparse_top_k_categorical_accuracy``).

    Examples
    --------
    >>> names()
    ['accuracy', 'auc', 'binary_accuracy', 'categorical_accuracy', 'mae', 'mse', 'precision',
     'recall', 'top_k_categorical_accuracy']
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
