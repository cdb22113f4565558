"""``CategoricalCrossentropy``: ``-sum_k y_k log a_k``, fused with a softmax output."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._kernels import _losses
from .._validation import check_bool, check_real
from .loss import (_LOSS_CODES, Loss, _check_pair, _check_unit_interval, _compiled_gradient,
                   _compiled_sum, _spec)

if TYPE_CHECKING:
    from typing import Any

    from .._compiled import LossKernel
    from .loss import ArrayLike

__all__ = ["CategoricalCrossentropy"]

# a one-hot or probability row of y may sum to 1 within this
_ROW_SUM_TOL = 1e-3


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy, fused with a softmax output (``dZ = A - Y``).

    ``L = -sum_k y_k log a_k`` with ``A`` clipped below at ``tiny``.

    Parameters
    ----------
    from_logits : bool, default False
        ``A`` holds logits ``z`` (a linear output), not probabilities:
        ``L = sum_k y_k (logsumexp(z) - z_k)``, finite for any ``z``, with the
        gradient ``softmax(z) - y``.
    label_smoothing : float in [0, 1], default 0
        The loss reads the targets ``y (1 - s) + s / n_L``.

    Targets (:meth:`prepare_targets`): integer class labels of shape ``(m,)``
    (or ``(m, 1)`` when ``n_outputs > 1``) in ``[0, n_outputs)`` -- also float
    labels with integral values -- are turned into one-hot rows; or one-hot /
    probability rows of shape ``(m, n_outputs)`` with values in ``[0, 1]``
    summing to 1 (within 1e-3: ``dZ = A - Y`` needs every row of ``Y`` to sum
    to 1). :class:`SparseCategoricalCrossentropy` takes integer labels only.

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
    >>> logits = CategoricalCrossentropy(from_logits=True)
    >>> round(logits.cost(np.zeros((2, 1)), np.array([[1.0], [0.0]])), 6)
    0.693147
    """

    name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0):
        self.from_logits = check_bool(from_logits, "from_logits")
        self.label_smoothing = check_real(label_smoothing, "label_smoothing", 0.0, 1.0)
        self.fused_activation = "" if self.from_logits else "softmax"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(CategoricalCrossentropy, A, Y, self.from_logits,
                             self.label_smoothing, CategoricalCrossentropy.name)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(CategoricalCrossentropy, A, Y, self.from_logits,
                                  self.label_smoothing, CategoricalCrossentropy.name)

    def _fused_targets(self, Y: np.ndarray) -> np.ndarray:
        if not self.label_smoothing:
            return Y
        return _losses.smoothed(_LOSS_CODES[CategoricalCrossentropy.name],
                                np.asfortranarray(Y), self.label_smoothing)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
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
    def _one_hot(labels: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
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
        return _spec(self, CategoricalCrossentropy, CategoricalCrossentropy.name,
                     self.from_logits, self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}
