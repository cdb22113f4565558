"""The accuracies: ``Accuracy``, ``BinaryAccuracy``, ``CategoricalAccuracy``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._compiled import MetricKernel
from .metric import Metric, _check_threshold, _spec

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy"]


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


def _binary_hits(A: np.ndarray, Y: np.ndarray, threshold: float) -> np.ndarray:
    """Per element: ``A > threshold`` agrees with ``Y > 0.5`` (NaN in ``A``: wrong)."""
    return ((A > threshold) == (Y > 0.5)) & ~np.isnan(A)  # type: ignore[no-any-return]


def _argmax_hits(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per column: the argmax agrees (a column of ``A`` holding NaN: wrong)."""
    hit = np.argmax(A, axis=0) == np.argmax(Y, axis=0)
    return hit & ~np.isnan(A).any(axis=0)  # type: ignore[no-any-return]


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
