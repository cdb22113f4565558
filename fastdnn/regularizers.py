"""Weight penalties: L2 regularization as the lecture's hyperparameter λ.

With ``kernel_regularizer=L2(lam)`` a layer adds ``(lam / 2m) * sum(W**2)`` to
the cost of a batch of ``m`` examples and ``(lam / m) * W`` to ``dW``; the
optimizers apply that term inside their one compiled pass over ``W``.

Examples
--------
>>> import numpy as np
>>> reg = get("l2")
>>> reg.lam
0.01
>>> reg.cost(np.ones((2, 2)), m=4)
0.005
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_real

__all__ = ["Regularizer", "L2", "get"]


class Regularizer:
    """Base class: a penalty on a weight matrix."""

    def cost(self, W: np.ndarray, m: int) -> float:
        """Penalty added to the cost of a batch of ``m`` examples."""
        raise NotImplementedError

    def decay(self, m: int) -> float:
        """Coefficient ``c`` of the gradient term ``c * W`` for a batch of ``m``."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """JSON-able description; ``get(config)`` rebuilds the regularizer."""
        raise NotImplementedError


class L2(Regularizer):
    """L2 penalty ``(lam / 2m) * ||W||_F^2``; its gradient is ``(lam / m) * W``.

    Parameters
    ----------
    lam : float, default 0.01
        The regularization strength λ (``>= 0``).

    Examples
    --------
    >>> import numpy as np
    >>> L2(0.5).decay(m=10)
    0.05
    """

    def __init__(self, lam: float = 0.01):
        self.lam = check_real(lam, "lam", 0.0)

    def cost(self, W: np.ndarray, m: int) -> float:
        # in double precision, as the losses and the compiled loop sum: float32 squares
        # summed in float32 overflow (to inf, with a warning) from |W| ~ 1e19
        flat = W.reshape(-1).astype(np.float64, copy=False)
        return self.lam / (2.0 * m) * float(np.dot(flat, flat))

    def decay(self, m: int) -> float:
        return self.lam / m

    def get_config(self) -> dict[str, Any]:
        return {"class_name": "L2", "config": {"lam": self.lam}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, L2) and other.lam == self.lam

    def __repr__(self) -> str:
        return f"L2(lam={self.lam})"


if TYPE_CHECKING:
    from typing import TypeAlias

    # what get (and Dense's kernel_regularizer) accepts
    RegularizerLike: TypeAlias = "Regularizer | str | float | dict[str, Any] | None"


def get(identifier: RegularizerLike) -> Regularizer | None:
    """A regularizer from ``None``, ``"l2"``, a float λ, a config dict or an instance.

    Examples
    --------
    >>> get(0.1)
    L2(lam=0.1)
    >>> get(None) is None
    True
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier.strip().lower() != "l2":
            raise ValueError(f"unknown regularizer {identifier!r}; known: l2")
        return L2()
    if isinstance(identifier, dict):
        if identifier.get("class_name") != "L2":
            raise ValueError(f"unknown regularizer config {identifier!r}; known: L2")
        return L2(**identifier.get("config", {}))
    if isinstance(identifier, (int, float, np.floating)) and not isinstance(identifier, bool):
        return L2(float(identifier))
    raise TypeError("kernel_regularizer must be None, 'l2', a float, a config dict or a "
                    f"Regularizer, got {type(identifier).__name__}")
