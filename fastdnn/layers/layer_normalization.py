"""``LayerNormalization``: each example normalized over its features."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._kernels import _norm
from ._scaled import _Scaled
from .layer import _Buffers, _f_empty

if TYPE_CHECKING:
    from ..initializers import InitializerLike

__all__ = ["LayerNormalization"]


class LayerNormalization(_Scaled):
    """Layer normalization (Keras' ``LayerNormalization``), in the lecture layout.

    Each example (column of the ``(n, m)`` activations) is normalized with the mean and
    (biased) variance of its n features, ``Y = gamma (X - mean) / sqrt(var + epsilon) +
    beta``, with one ``gamma`` and ``beta`` per feature; training and inference compute
    the same thing (no moving statistics). ``gamma`` and ``beta`` are trained by the
    model's optimizer.

    Parameters
    ----------
    axis : int, default -1
        The features of the ``(m, n_features)`` inputs (the only axis supported).
    epsilon : float > 0, default 1e-3
    center : bool, default True
        Learn ``beta`` (otherwise it is 0).
    scale : bool, default True
        Learn ``gamma`` (otherwise it is 1).
    beta_initializer, gamma_initializer : str or initializer
        Default ``"zeros"`` and ``"ones"``.
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> layer = LayerNormalization(epsilon=1e-6)
    >>> layer.build(3, np.float64, np.random.default_rng(0))
    >>> layer.forward(np.array([[1.0], [2.0], [3.0]])).ravel().round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: InitializerLike = "zeros",
                 gamma_initializer: InitializerLike = "ones", name: str | None = None):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         name)
        self._buffers = _Buffers()
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    def _build(self, rng: np.random.Generator) -> None:
        super()._build(rng)
        self._stats = None
        self._buffers.clear()

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        X = self._input(A_prev)
        n, m = X.shape
        if not training:
            Y = _f_empty(n, m, self.dtype)
            _norm.layer_norm_forward(X, self.gamma, self.beta, self.epsilon, Y,
                                     np.empty(m), np.empty(m))
            return Y
        buf = self._buffers.get(m)
        out = buf.get("A")
        if out is None:
            out = buf["A"] = _f_empty(n, m, self.dtype)
            buf["mean"], buf["inv_std"] = np.empty(m), np.empty(m)
        _norm.layer_norm_forward(X, self.gamma, self.beta, self.epsilon, out, buf["mean"],
                                 buf["inv_std"])
        self._X, self._stats = X, (buf["mean"], buf["inv_std"])
        return out

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        X = self._needs_forward()
        mean, inv_std = self._stats  # type: ignore[misc]  # set with _X by forward
        n, m = X.shape
        dA_prev = None
        if need_dA_prev:
            buf = self._buffers.get(m)
            dA_prev = buf.get("dA_prev")
            if dA_prev is None:
                dA_prev = buf["dA_prev"] = _f_empty(n, m, self.dtype)
        _norm.layer_norm_backward(self._input(dA), X, self.gamma, mean, inv_std, dA_prev,
                                  self.dgamma, self.dbeta, 1.0 / m)
        return dA_prev
