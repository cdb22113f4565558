"""``BinaryCrossentropy``: ``-sum_k (y log a + (1-y) log(1-a))``, fused with a sigmoid output."""
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

__all__ = ["BinaryCrossentropy"]


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, fused with a sigmoid output (``dZ = A - Y``).

    ``L = -sum_k (y_k log a_k + (1 - y_k) log(1 - a_k))`` over the output units
    (one unit for a binary classifier, several for independent labels), with
    ``A`` clipped into ``[tiny, 1 - eps/2]``.

    Parameters
    ----------
    from_logits : bool, default False
        ``A`` holds logits ``z`` (a linear output), not probabilities:
        ``L = max(z, 0) - z y + log(1 + e^-|z|)``, finite for any ``z``, with the
        gradient ``sigmoid(z) - y``.
    label_smoothing : float in [0, 1], default 0
        The loss reads the targets ``y (1 - s) + s / 2``.

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
    >>> round(BinaryCrossentropy(from_logits=True).cost(np.array([[0.0]]), np.array([[1.0]])), 6)
    0.693147
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0):
        self.from_logits = check_bool(from_logits, "from_logits")
        self.label_smoothing = check_real(label_smoothing, "label_smoothing", 0.0, 1.0)
        self.fused_activation = "" if self.from_logits else "sigmoid"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(BinaryCrossentropy, A, Y, self.from_logits, self.label_smoothing)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(BinaryCrossentropy, A, Y, self.from_logits,
                                  self.label_smoothing)

    def _fused_targets(self, Y: np.ndarray) -> np.ndarray:
        if not self.label_smoothing:
            return Y
        return _losses.smoothed(_LOSS_CODES[self.name], np.asfortranarray(Y),
                                self.label_smoothing)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
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
        return _spec(self, BinaryCrossentropy, BinaryCrossentropy.name, self.from_logits,
                     self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}
