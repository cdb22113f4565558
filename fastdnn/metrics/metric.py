"""``Metric``, the base class of the metrics, ``CountsMetric`` (metrics kept as counts)
and the checks they share."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _registry
from .._compiled import MetricKernel, NotCompilable, check_maths, code
from .._validation import check_real, check_sample_weight
from .._validation import float_array as _float_array
from .._validation import real_array as _real_array

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
else:
    ArrayLike = Any

__all__ = ["Metric", "CountsMetric"]


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
    >>> from fastdnn.metrics import MeanAbsoluteError
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
        >>> from fastdnn.metrics import Accuracy
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

    def _absorb(self, sums: np.ndarray, count: float) -> None:
        """Add what the compiled training loop accumulated (its ``compiled_spec().slots``
        values): here the numerator ``sums[0]`` of ``count`` values (weighted: their
        weights' sum)."""
        self.total += float(sums[0])
        self.count += count

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
        >>> from fastdnn.metrics import MeanAbsoluteError
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
        >>> from fastdnn.metrics import BinaryAccuracy
        >>> BinaryAccuracy.from_config({"name": "binary_accuracy", "threshold": 0.3}).threshold
        0.3
        """
        from . import _lookup  # the registry imports this module
        return _registry.from_config(  # type: ignore[no-any-return]  # an instance of cls
            cls, config, _lookup, "metric")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class CountsMetric(Metric):
    """Base class of the metrics kept as counts over the batches seen (confusion counts,
    histograms), which ``result()`` turns into the value.

    Subclasses set ``name`` and implement ``_size()`` (how many counts), ``_counts(A, Y)``
    (one batch's, a float64 array) and ``_finish(counts)``. The compiled training loop
    accumulates the same counts (``fastdnn/_kernels/_metric.pxd``) and hands them over
    (``_absorb``).

    Examples
    --------
    >>> from fastdnn.metrics import Precision
    >>> p = Precision()
    >>> p.update_state(np.array([[0.9, 0.8]]), np.array([[1, 0]]))
    >>> p.counts.tolist(), p.result()   # [true positives, false positives, false negatives]
    ([1.0, 1.0, 0.0], 0.5)
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts = np.zeros(self._size())

    def _size(self) -> int:
        raise NotImplementedError

    def _counts(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _finish(self, counts: np.ndarray) -> float:
        raise NotImplementedError

    def update_state(self, A: ArrayLike, Y: ArrayLike,
                     sample_weight: ArrayLike | None = None) -> None:
        """Add one batch: ``A`` (n_L, m) float32/float64, ``Y`` of the same shape;
        ``sample_weight`` ``(m,)``: each example's counts count ``w_j`` times (Keras)."""
        A, Y = _check_pair(A, Y)
        if sample_weight is None:
            self.counts += self._counts(A, Y)
            return
        w = check_sample_weight(sample_weight, A.shape[1], x_name="A's columns")
        for j in np.flatnonzero(w):
            self.counts += w[j] * self._counts(A[:, j:j + 1], Y[:, j:j + 1])

    def result(self) -> float:
        """The metric over every batch since the last reset."""
        return self._finish(self.counts)

    def reset_state(self) -> None:
        """Forget the batches seen."""
        super().reset_state()
        self.counts = np.zeros(self._size())

    def _absorb(self, sums: np.ndarray, count: float) -> None:
        self.counts += sums

    def __call__(self, A: ArrayLike, Y: ArrayLike) -> float:
        """The metric on this batch alone; the running state is untouched."""
        A, Y = _check_pair(A, Y)
        return self._finish(self._counts(A, Y))


def _weighed_values(metric: Metric) -> Any:
    """``metric._example_values``, unless a subclass changed ``_batch`` below the class
    that defines it: then the per-column fallback, which follows ``_batch``."""
    mro = type(metric).__mro__
    batch_owner = next(c for c in mro if "_batch" in c.__dict__)
    values_owner = next(c for c in mro if "_example_values" in c.__dict__)
    if issubclass(values_owner, batch_owner):
        return metric._example_values
    return lambda A, Y: Metric._example_values(metric, A, Y)


def _check_threshold(threshold: Any) -> float:
    return check_real(threshold, "threshold")


def _spec(metric: Metric, owner: type, name: str, threshold: float,
          per_example: int, slots: int = 1, logits: bool = False) -> MetricKernel:
    check_maths(metric, owner, "metric")
    return MetricKernel(code("metric", name), threshold, per_example, slots, logits)
