"""What the normalization layers share: ``gamma``/``beta`` per feature (``center``,
``scale``), their initializers and gradients, ``axis`` and ``epsilon``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import initializers as _initializers
from .._validation import check_bool, check_real
from .layer import Layer

if TYPE_CHECKING:
    from ..initializers import InitializerLike

__all__: list[str] = []


def _check_axis(axis: Any) -> int:
    """Keras' ``axis``: the features, ``-1`` (or ``1``) of the ``(m, n_features)`` inputs."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if int(axis) not in (-1, 1):
        raise ValueError(f"axis must be -1 (the features of the (m, n_features) inputs; "
                         f"1 is the same axis), got {axis}")
    return int(axis)


class _Scaled(Layer):
    """A layer ``Y = gamma * normalized(X) + beta`` with one ``gamma``, ``beta`` per feature.

    ``gamma`` is trainable with ``scale=True`` (else fixed at 1), ``beta`` with
    ``center=True`` (else fixed at 0); both are ``(n, 1)`` arrays, like ``Dense.b``.
    """

    gamma: np.ndarray
    beta: np.ndarray
    dgamma: np.ndarray
    dbeta: np.ndarray

    def __init__(self, axis: int, epsilon: float, center: bool, scale: bool,
                 beta_initializer: InitializerLike, gamma_initializer: InitializerLike,
                 name: str | None):
        super().__init__(name)
        self.axis = _check_axis(axis)
        self.epsilon = check_real(epsilon, "epsilon", 0.0, low_open=True)
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.trainable_weights_names = ("gamma",) * self.scale + ("beta",) * self.center
        self.weights_names = self.trainable_weights_names
        self._X: np.ndarray | None = None   # the input of the last training forward

    def _build(self, rng: np.random.Generator) -> None:
        self.units = self.n_in
        shape, dtype = (self.n_in or 0, 1), np.dtype(self.dtype)   # (building: both set)
        self.gamma = (self._init(self.gamma_initializer, rng) if self.scale
                      else np.ones(shape, dtype=dtype))
        self.beta = (self._init(self.beta_initializer, rng) if self.center
                     else np.zeros(shape, dtype=dtype))
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self._X = None

    def _init(self, initializer: Any, rng: np.random.Generator) -> np.ndarray:
        """A C-contiguous ``(n, 1)`` array of the layer's dtype from ``initializer``."""
        return np.ascontiguousarray(initializer((self.n_in, 1), dtype=self.dtype, rng=rng),
                                    dtype=self.dtype)

    def _input(self, A_prev: np.ndarray) -> np.ndarray:
        """``A_prev`` as the kernels read it: F-contiguous, of the layer's dtype."""
        return np.asfortranarray(A_prev, dtype=self.dtype)

    @property
    def grads(self) -> list[np.ndarray]:
        return [self.dgamma] * self.scale + [self.dbeta] * self.center

    def _needs_forward(self) -> np.ndarray:
        X = self._X
        if X is None:
            raise RuntimeError(f"{self._label()}: backward needs a forward with training=True")
        return X

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": _initializers.serialize(self.beta_initializer),
                "gamma_initializer": _initializers.serialize(self.gamma_initializer),
                "name": self.name}
