"""``Normalizer``: the lecture's input normalization, ``(x - μ) / sqrt(σ² + ε)``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_real

from .layer import Layer, _Buffers, _f_empty

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["Normalizer"]


class Normalizer(Layer):
    """The lecture's input normalization as a layer: ``(x - μ) / sqrt(σ² + ε)``.

    ``adapt(X)`` learns ``μ`` and ``σ²`` per feature from training data
    ``X (m, n_features)``; they are saved with the model and applied unchanged
    to everything the model sees later (test data included). Not trained by
    the optimizer.

    Parameters
    ----------
    epsilon : float, default 1e-7
        Added to ``σ²`` so a constant feature maps to 0 instead of dividing by 0.

    Examples
    --------
    >>> import numpy as np
    >>> norm = Normalizer()
    >>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> norm.mean.ravel().tolist(), norm.variance.ravel().tolist()
    ([1.0, 20.0], [1.0, 100.0])
    """

    weights_names = ("mean", "variance")
    mean: np.ndarray
    variance: np.ndarray
    _inv_std: np.ndarray

    def __init__(self, epsilon: float = 1e-7, name: str | None = None):
        super().__init__(name)
        self.epsilon = check_real(epsilon, "epsilon", 0.0)
        self._adapted: tuple[np.ndarray, np.ndarray] | None = None
        self._buffers = _Buffers()

    @property
    def adapted(self) -> bool:
        """True once ``adapt`` has run (or weights were loaded)."""
        return self._adapted is not None or self.built

    def adapt(self, X: ArrayLike) -> None:
        """Learn per-feature ``μ`` and ``σ²`` from ``X (m, n_features)`` (chunked, memmap-safe)."""
        from ..preprocessing import Normalizer as _Stats

        stats = _Stats(epsilon=self.epsilon).fit(X)
        mean = np.asarray(stats.mean_, dtype=np.float64).reshape(-1, 1)
        var = np.asarray(stats.variance_, dtype=np.float64).reshape(-1, 1)
        if self.built:
            if mean.shape[0] != self.n_in:
                raise ValueError(f"{self._label()} was built for {self.n_in} features, "
                                 f"adapt got X with {mean.shape[0]}")
            self.mean[...] = mean
            self.variance[...] = var
            self._weights_changed()
        else:
            self._adapted = (mean, var)
            self.mean, self.variance = mean, var   # cast to the model's dtype by build
            self.units = mean.shape[0]

    def _build(self, rng: np.random.Generator) -> None:
        self.units = self.n_in
        if self._adapted is not None:
            mean, var = self._adapted
            if mean.shape[0] != self.n_in:
                raise ValueError(f"{self._label()} was adapted to {mean.shape[0]} features, "
                                 f"the model's input has {self.n_in}")
        elif getattr(self, "mean", None) is not None and self.mean.shape == (self.n_in, 1):
            mean, var = self.mean, self.variance    # rebuilt: keep what adapt learned
        else:
            mean = np.zeros((self.n_in, 1))  # type: ignore[arg-type]  # built: n_in is set
            var = np.ones((self.n_in, 1))  # type: ignore[arg-type]
        self.mean = mean.astype(self.dtype)
        self.variance = var.astype(self.dtype)
        self._adapted = None
        self._weights_changed()

    def _weights_changed(self) -> None:
        inv_std = (1.0 / np.sqrt(self.variance.astype(np.float64) + self.epsilon)
                   ).astype(self.dtype)
        current = getattr(self, "_inv_std", None)
        if current is not None and current.shape == inv_std.shape and current.dtype == inv_std.dtype:
            current[...] = inv_std    # in place: compiled plans hold this array
        else:
            self._inv_std = inv_std

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        m = A_prev.shape[1]
        if training:
            buf = self._buffers.get(m)
            A = buf.get("A")
            if A is None:
                A = buf["A"] = _f_empty(self.n_in, m,  # type: ignore[arg-type]  # built
                                        self.dtype)
        else:
            A = _f_empty(self.n_in, m, self.dtype)  # type: ignore[arg-type]  # built
        np.subtract(A_prev, self.mean, out=A)
        np.multiply(A, self._inv_std, out=A)
        return A

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        if not need_dA_prev:
            return None
        buf = self._buffers.get(dA.shape[1])
        out = buf.setdefault("dA_prev", _f_empty(self.n_in,  # type: ignore[arg-type]  # built
                                                 dA.shape[1], self.dtype))
        return np.multiply(dA, self._inv_std, out=out)  # type: ignore[no-any-return]  # it is out

    def get_config(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "name": self.name}
