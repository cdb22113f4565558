"""``RandomNormal`` and ``RandomUniform``: draws with fixed parameters, whatever the shape."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_real
from .initializer import Initializer

if TYPE_CHECKING:
    from typing import Any

__all__ = ["RandomNormal", "RandomUniform"]


def _uniform(shape: tuple[int, ...], dtype: np.dtype[Any], rng: np.random.Generator,
             low: float, high: float) -> np.ndarray:
    """``U(low, high)`` in ``dtype``, never above ``dtype(high)`` (nor below ``dtype(low)``)."""
    lo, hi = dtype.type(low), dtype.type(high)
    out = rng.random(shape, dtype=dtype)
    out *= hi - lo
    out += lo
    np.minimum(out, hi, out=out)  # rounding of (hi - lo) * u + lo may land one ulp above hi
    return out


class RandomNormal(Initializer):
    """Normal ``N(mean, stddev^2)``; the lecture's ``randn(shape) * 0.01`` by default.

    Parameters
    ----------
    stddev : float, default 0.01
        Standard deviation, finite and ``>= 0``.
    mean : float, default 0.0
    seed : int, optional

    Examples
    --------
    >>> RandomNormal(stddev=0.0, mean=2.0)((1, 2))
    array([[2., 2.]], dtype=float32)
    """

    name = "random_normal"
    _random = True

    def __init__(self, stddev: float = 0.01, mean: float = 0.0, seed: int | None = None):
        super().__init__(seed)
        self.stddev = check_real(stddev, "stddev", 0.0)
        self.mean = check_real(mean, "mean")

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any],
              rng: np.random.Generator) -> np.ndarray:
        out = rng.standard_normal(shape, dtype=dtype)
        out *= dtype.type(self.stddev)
        out += dtype.type(self.mean)
        return out

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "stddev": self.stddev, "mean": self.mean, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform ``U(minval, maxval)`` (values never exceed ``maxval`` in the dtype).

    Parameters
    ----------
    minval, maxval : float, default -0.05, 0.05
        Finite, ``minval <= maxval``.
    seed : int, optional

    Examples
    --------
    >>> W = RandomUniform(0.0, 1.0, seed=0)((100,))
    >>> bool(W.min() >= 0.0 and W.max() <= 1.0)
    True
    """

    name = "random_uniform"
    _random = True

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval = check_real(minval, "minval")
        self.maxval = check_real(maxval, "maxval")
        if self.minval > self.maxval:
            raise ValueError(f"minval must be <= maxval, got minval={self.minval}, "
                             f"maxval={self.maxval}")

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any],
              rng: np.random.Generator) -> np.ndarray:
        return _uniform(shape, dtype, rng, self.minval, self.maxval)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "minval": self.minval, "maxval": self.maxval,
                "seed": self.seed}
