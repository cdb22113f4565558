"""The training losses, as scikit-learn's ``neural_network._base`` defines them.

Each function returns the loss *summed* over the examples (weighted by ``w`` when given),
reduced over the outputs as scikit-learn reduces them; the caller divides by the number of
examples (or the sum of the weights). Summed, chunks of a batch add up. ``P`` and ``Y``
are ``(m, n_outputs)``; ``P`` is not modified.

- ``binary_log_loss`` (logistic outputs: binary and multilabel) and ``log_loss`` (softmax):
  probabilities clipped into ``[eps, 1 - eps]`` of their dtype, as scikit-learn clips them;
- ``squared_error``: half the squared error, averaged over the outputs (scikit-learn's
  reported loss; its gradient is that of the sum over the outputs, also as scikit-learn's);
- ``poisson``: half the Poisson deviance with its ``y log y - y`` term (``exp`` output).

For each of them the gradient with respect to the output layer's pre-activation is
``P - Y`` (canonical link), which ``fastdnn.functional.dense_output_backward`` forms fused.

Examples
--------
>>> import numpy as np
>>> P, Y = np.array([[0.5], [0.5]]), np.array([[1.0], [0.0]])
>>> round(LOSSES["binary_log_loss"](Y, P, None) / 2, 6)     # log 2
0.693147
>>> float(LOSSES["squared_error"](np.zeros((2, 2)), np.ones((2, 2)), None))   # 2 x 2 / (2 x 2)
1.0
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import xlogy


# eps of each float dtype (np.finfo is slow to call once per mini-batch)
_EPS = {np.dtype(t): float(np.finfo(t).eps) for t in (np.float16, np.float32, np.float64)}


def _eps(dtype: np.dtype) -> float:
    eps = _EPS.get(dtype)
    return float(np.finfo(dtype).eps) if eps is None else eps


def _weighted(per_entry: np.ndarray, w: np.ndarray | None) -> float:
    """The sum of ``per_entry`` ``(m, n_outputs)`` over its outputs, then over the examples
    weighted by ``w``, in float64."""
    if w is None:
        return float(per_entry.sum(dtype=np.float64))
    if per_entry.ndim == 2:
        per_entry = per_entry.sum(axis=1)
    return float(np.dot(w, per_entry.astype(np.float64, copy=False)))


def _clipped(P: np.ndarray) -> np.ndarray:
    """A copy of ``P`` clipped into ``[eps, 1 - eps]`` of its dtype (scikit-learn's clip)."""
    eps = _eps(P.dtype)
    p = np.maximum(P, eps)
    return np.minimum(p, 1 - eps, out=p)


def binary_log_loss(Y: np.ndarray, P: np.ndarray, w: np.ndarray | None) -> float:
    """``-sum(y log p + (1 - y) log(1 - p))`` over the outputs, summed over examples.

    Examples
    --------
    >>> import numpy as np
    >>> round(binary_log_loss(np.array([[1.0]]), np.array([[0.25]]), None), 6)
    1.386294
    """
    p = _clipped(P)
    q = np.where(Y > 0.5, p, 1 - p)     # targets are 0/1 labels: one log per entry
    return -_weighted(np.log(q, out=q), w)


def log_loss(Y: np.ndarray, P: np.ndarray, w: np.ndarray | None) -> float:
    """``-sum(y log p)`` over the classes (one-hot ``Y``), summed over examples.

    Examples
    --------
    >>> import numpy as np
    >>> round(log_loss(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]), None), 6)
    0.693147
    """
    p = _clipped(P)
    np.log(p, out=p)
    p *= Y                  # xlogy(Y, p): p > 0 after clipping, so 0 log p is 0
    return -_weighted(p, w)


def squared_error(Y: np.ndarray, P: np.ndarray, w: np.ndarray | None) -> float:
    """``sum((y - p)**2) / (2 n_outputs)`` per example, summed over examples.

    Examples
    --------
    >>> import numpy as np
    >>> squared_error(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]), None)
    1.25
    """
    d = P - Y
    np.square(d, out=d)
    return _weighted(d, w) / (2.0 * Y.shape[1])


def poisson(Y: np.ndarray, P: np.ndarray, w: np.ndarray | None) -> float:
    """Half Poisson deviance ``y log(y / p) - y + p`` summed over outputs and examples.

    Examples
    --------
    >>> import numpy as np
    >>> poisson(np.array([[2.0]]), np.array([[2.0]]), None)
    0.0
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        per = xlogy(Y, Y / P) - Y + P
    return _weighted(per, w)


LOSSES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray | None], float]] = {
    "binary_log_loss": binary_log_loss, "log_loss": log_loss,
    "squared_error": squared_error, "poisson": poisson,
}


def loss_name(out_activation: str, regressor_loss: str | None) -> str:
    """The loss trained with an output activation (scikit-learn's pairing).

    Examples
    --------
    >>> loss_name("softmax", None), loss_name("exp", "poisson")
    ('log_loss', 'poisson')
    """
    if out_activation == "logistic":
        return "binary_log_loss"
    if out_activation == "softmax":
        return "log_loss"
    return regressor_loss or "squared_error"
