"""``Input``: declares the number of features a model takes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .layer import Layer, _check_units

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

__all__ = ["Input"]


class Input(Layer):
    """Declares the number of input features of a model (Keras' ``Input``).

    Parameters
    ----------
    shape : int or tuple of one int
        Features per example.

    Examples
    --------
    >>> Input(4).units
    4
    """

    def __init__(self, shape: int | tuple[int], name: str | None = None):
        super().__init__(name)
        if isinstance(shape, tuple):
            if len(shape) != 1:
                raise ValueError(f"shape must be (n_features,), got {shape}")
            shape = shape[0]
        self.units = _check_units(shape, "shape")

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        return A_prev

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        return dA

    def get_config(self) -> dict[str, Any]:
        return {"shape": self.units, "name": self.name}
