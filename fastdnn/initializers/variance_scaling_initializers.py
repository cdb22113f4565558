"""``VarianceScaling`` and its fixed forms: He, Xavier (the lecture's) and Glorot."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .._validation import check_real
from .initializer import Initializer, fan_in_and_fan_out
from .random_initializers import _uniform

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

__all__ = ["VarianceScaling", "HeNormal", "HeUniform", "XavierNormal", "GlorotUniform",
           "GlorotNormal"]


class VarianceScaling(Initializer):
    """Zero-mean random weights with variance ``scale / n``.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` by ``mode``
    (fans from :func:`fan_in_and_fan_out`). ``distribution="normal"`` draws a
    plain (untruncated) normal with standard deviation ``sqrt(scale / n)``;
    ``"uniform"`` draws from ``U(-limit, limit)``, ``limit = sqrt(3 scale / n)``,
    which has the same variance.

    Parameters
    ----------
    scale : float, default 1.0
        Positive.
    mode : {"fan_in", "fan_out", "fan_avg"}, default "fan_in"
    distribution : {"normal", "uniform"}, default "normal"
    seed : int, optional

    Examples
    --------
    >>> import numpy as np
    >>> init = VarianceScaling(2.0, "fan_in", "normal", seed=0)  # = HeNormal(seed=0)
    >>> bool(np.array_equal(init((4, 8)), HeNormal(seed=0)((4, 8))))
    True
    """

    name = "variance_scaling"
    _random = True
    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "normal",
                 seed: int | None = None):
        super().__init__(seed)
        self.scale = check_real(scale, "scale")
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if mode not in self._MODES:
            raise ValueError(f"mode must be one of {', '.join(self._MODES)}; got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {', '.join(self._DISTRIBUTIONS)}; "
                             f"got {distribution!r}")
        self.mode = mode
        self.distribution = distribution

    def _n(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = fan_in_and_fan_out(shape)
        return {"fan_in": fan_in, "fan_out": fan_out,
                "fan_avg": (fan_in + fan_out) / 2}[self.mode]

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any],
              rng: np.random.Generator) -> np.ndarray:
        variance = self.scale / self._n(shape)
        if self.distribution == "normal":
            out = rng.standard_normal(shape, dtype=dtype)
            out *= dtype.type(math.sqrt(variance))
            return out
        return _uniform(shape, dtype, rng, -math.sqrt(3 * variance), math.sqrt(3 * variance))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


class _Named(VarianceScaling):
    """A fixed VarianceScaling whose config is just its name and seed."""

    _ARGS: tuple[float, str, str] | tuple[()] = ()   # scale, mode, distribution

    def __init__(self, seed: int | None = None):
        super().__init__(*self._ARGS, seed=seed)  # type: ignore[misc]  # _ARGS stops before seed

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "seed": self.seed}


class HeNormal(_Named):
    """He normal: ``randn(shape) * sqrt(2 / fan_in)``, the lecture's choice for ReLU.

    Plain (untruncated) normal, as the lecture writes it; ``fan_in = n_prev``.

    Parameters
    ----------
    seed : int, optional

    Examples
    --------
    >>> import numpy as np
    >>> W = HeNormal(seed=0)((256, 512), dtype=np.float64)
    >>> round(float(W.std() * np.sqrt(512 / 2)), 1)
    1.0
    """

    name = "he_normal"
    _ARGS = (2.0, "fan_in", "normal")


class HeUniform(_Named):
    """He uniform: ``U(-sqrt(6 / fan_in), sqrt(6 / fan_in))`` (variance ``2 / fan_in``).

    Examples
    --------
    >>> import numpy as np
    >>> W = HeUniform(seed=0)((3, 6))
    >>> bool(np.abs(W).max() <= 1.0)
    True
    """

    name = "he_uniform"
    _ARGS = (2.0, "fan_in", "uniform")


class XavierNormal(_Named):
    """Xavier normal as the lecture teaches it: ``randn(shape) * sqrt(1 / fan_in)``, for tanh.

    Variance ``1 / n_prev`` (Keras: LeCun normal, untruncated). For the
    ``2 / (fan_in + fan_out)`` variant use :class:`GlorotNormal`.

    Examples
    --------
    >>> import numpy as np
    >>> W = XavierNormal(seed=0)((256, 400), dtype=np.float64)
    >>> round(float(W.std() * np.sqrt(400)), 1)
    1.0
    """

    name = "xavier_normal"
    _ARGS = (1.0, "fan_in", "normal")


class GlorotUniform(_Named):
    """Glorot (Xavier) uniform: ``U(±sqrt(6 / (fan_in + fan_out)))``.

    Examples
    --------
    >>> import numpy as np
    >>> W = GlorotUniform(seed=0)((2, 4))
    >>> bool(np.abs(W).max() <= 1.0)
    True
    """

    name = "glorot_uniform"
    _ARGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Named):
    """Glorot normal: plain normal with std ``sqrt(2 / (fan_in + fan_out))``.

    Examples
    --------
    >>> GlorotNormal(seed=1)((2, 2)).shape
    (2, 2)
    """

    name = "glorot_normal"
    _ARGS = (1.0, "fan_avg", "normal")
