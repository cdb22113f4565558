"""``Precision`` and ``Recall``: the confusion counts at one threshold."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._kernels import _metrics
from .._validation import check_real
from .metric import CountsMetric, _spec

if TYPE_CHECKING:
    from .._compiled import MetricKernel

__all__ = ["Precision", "Recall"]


def _ratio(num: float, den: float) -> float:
    """``num / den``, 0 when ``den`` is 0 (Keras' ``divide_no_nan``)."""
    return num / den if den else 0.0


class _Confusion(CountsMetric):
    """Counts ``[true positives, false positives, false negatives]`` of every output element
    at ``a > thresholds``; a target is positive when ``y > 0.5``; a NaN prediction is wrong."""

    def __init__(self, thresholds: float | None = 0.5):
        self.thresholds = 0.5 if thresholds is None else check_real(thresholds, "thresholds")
        super().__init__()

    def _size(self) -> int:
        return 3

    def _counts(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return _metrics.confusion_counts(A, Y, self.thresholds)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "thresholds": self.thresholds}


class Precision(_Confusion):
    """Precision ``TP / (TP + FP)`` over every output element (Keras' ``Precision``): the
    fraction of predicted positives (``a > thresholds``) whose target is positive
    (``y > 0.5``); 0 before any predicted positive.

    Parameters
    ----------
    thresholds : float, default 0.5

    Examples
    --------
    >>> import numpy as np
    >>> Precision()(np.array([[0.9, 0.8, 0.2]]), np.array([[1, 0, 1]]))
    0.5
    """

    name = "precision"

    def _finish(self, counts: np.ndarray) -> float:
        tp, fp, _ = counts
        return _ratio(float(tp), float(tp + fp))

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, Precision, "precision", self.thresholds, n_outputs, 3)


class Recall(_Confusion):
    """Recall ``TP / (TP + FN)`` over every output element (Keras' ``Recall``): the fraction
    of positive targets (``y > 0.5``) predicted positive (``a > thresholds``); 0 before any
    positive target.

    Parameters
    ----------
    thresholds : float, default 0.5

    Examples
    --------
    >>> import numpy as np
    >>> Recall()(np.array([[0.9, 0.8, 0.2]]), np.array([[1, 0, 1]]))
    0.5
    """

    name = "recall"

    def _finish(self, counts: np.ndarray) -> float:
        tp, _, fn = counts
        return _ratio(float(tp), float(tp + fn))

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, Recall, "recall", self.thresholds, n_outputs, 3)
