"""The regression errors: ``MeanAbsoluteError``, ``MeanSquaredError``."""
from __future__ import annotations

import numpy as np

from .._compiled import MetricKernel
from .metric import Metric, _spec

__all__ = ["MeanAbsoluteError", "MeanSquaredError"]


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
