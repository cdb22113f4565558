"""``Constant``, ``Zeros`` and ``Ones``: every element the same value."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_real
from .initializer import Initializer

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Constant", "Zeros", "Ones"]


class Constant(Initializer):
    """Every element equal to ``value``.

    Parameters
    ----------
    value : float, default 0.0
        Finite.

    Examples
    --------
    >>> Constant(0.1)((2, 1), dtype=np.float64)
    array([[0.1],
           [0.1]])
    """

    name = "constant"

    def __init__(self, value: float = 0.0):
        super().__init__()
        self.value = check_real(value, "value")

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any],
              rng: np.random.Generator) -> np.ndarray:
        return np.full(shape, self.value, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


class Zeros(Constant):
    """All zeros: the lecture's ``b = np.zeros((n_l, 1))``.

    Examples
    --------
    >>> Zeros()((2,))
    array([0., 0.], dtype=float32)
    """

    name = "zeros"

    def __init__(self) -> None:
        super().__init__(0.0)

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any],
              rng: np.random.Generator) -> np.ndarray:
        return np.zeros(shape, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class Ones(Constant):
    """All ones.

    Examples
    --------
    >>> Ones()((1, 2), dtype=np.float64)
    array([[1., 1.]])
    """

    name = "ones"

    def __init__(self) -> None:
        super().__init__(1.0)

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any],
              rng: np.random.Generator) -> np.ndarray:
        return np.ones(shape, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}
