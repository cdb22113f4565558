"""``TopKCategoricalAccuracy``: the target class among the ``k`` largest outputs."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._kernels import _metrics
from .._validation import check_int
from .metric import Metric, _spec

if TYPE_CHECKING:
    import numpy as np

    from .._compiled import MetricKernel

__all__ = ["TopKCategoricalAccuracy"]


class TopKCategoricalAccuracy(Metric):
    """Fraction of examples whose target class (the argmax of the column of ``Y``) is among
    the ``k`` largest outputs of its column of ``A`` (Keras' ``TopKCategoricalAccuracy``;
    outputs tied with the target's count in its favour). A column holding NaN misses.

    Parameters
    ----------
    k : int >= 1, default 5

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.5, 0.1], [0.3, 0.2], [0.2, 0.7]]); Y = np.array([[0, 1], [1, 0], [0, 0]])
    >>> TopKCategoricalAccuracy(k=2)(A, Y)   # class 1 is 2nd of column 0; class 0 3rd of column 1
    0.5
    """

    name = "top_k_categorical_accuracy"

    def __init__(self, k: int = 5):
        super().__init__()
        self.k = check_int(k, "k", 1)

    def _batch(self, A: np.ndarray, Y: np.ndarray) -> tuple[float, int]:
        return _metrics.top_k_hits(A, Y, self.k), A.shape[1]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k}

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, TopKCategoricalAccuracy, "top_k_categorical_accuracy", self.k, 1)
