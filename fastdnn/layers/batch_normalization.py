"""``BatchNormalization``: each feature normalized over the mini-batch's examples."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import initializers as _initializers
from .._kernels import _norm
from .._validation import check_real
from ._scaled import _Scaled
from .layer import _Buffers, _f_empty

if TYPE_CHECKING:
    from ..initializers import InitializerLike

__all__ = ["BatchNormalization"]


class BatchNormalization(_Scaled):
    """Batch normalization (Keras' ``BatchNormalization``), in the lecture layout.

    In training each feature (row of the ``(n, m)`` activations) is normalized with
    the mean and (biased) variance of the mini-batch's m examples,
    ``Y = gamma (X - mean) / sqrt(var + epsilon) + beta``, and the moving statistics
    follow ``moving = momentum * moving + (1 - momentum) * batch``. At inference
    (``predict``, ``evaluate``) the moving statistics are used instead. ``gamma`` and
    ``beta`` are trained by the model's optimizer like ``Dense``'s ``W`` and ``b``;
    ``moving_mean`` and ``moving_variance`` are not trained, and are saved with the model.

    Parameters
    ----------
    axis : int, default -1
        The features of the ``(m, n_features)`` inputs (the only axis supported).
    momentum : float in [0, 1], default 0.99
        Keras' convention (PyTorch's ``momentum`` is ``1 - momentum``).
    epsilon : float > 0, default 1e-3
    center : bool, default True
        Learn ``beta`` (otherwise it is 0).
    scale : bool, default True
        Learn ``gamma`` (otherwise it is 1).
    beta_initializer, gamma_initializer : str or initializer
        Default ``"zeros"`` and ``"ones"``.
    moving_mean_initializer, moving_variance_initializer : str or initializer
        Default ``"zeros"`` and ``"ones"``.
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> layer = BatchNormalization(momentum=0.9)
    >>> layer.build(2, np.float64, np.random.default_rng(0))
    >>> Y = layer.forward(np.array([[1.0, 3.0], [10.0, 10.0]]), training=True)
    >>> Y.round(3).tolist()
    [[-1.0, 1.0], [0.0, 0.0]]
    >>> layer.moving_mean.ravel().round(6).tolist()
    [0.2, 1.0]
    """

    moving_mean: np.ndarray
    moving_variance: np.ndarray

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer: InitializerLike = "zeros",
                 gamma_initializer: InitializerLike = "ones",
                 moving_mean_initializer: InitializerLike = "zeros",
                 moving_variance_initializer: InitializerLike = "ones",
                 name: str | None = None):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         name)
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)
        self.moving_mean_initializer = _initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = _initializers.get(moving_variance_initializer)
        self.weights_names = self.trainable_weights_names + ("moving_mean", "moving_variance")
        self._buffers = _Buffers()

    def _build(self, rng: np.random.Generator) -> None:
        super()._build(rng)
        self.moving_mean = self._init(self.moving_mean_initializer, rng)
        self.moving_variance = self._init(self.moving_variance_initializer, rng)
        n = self.n_in
        # the last training batch's statistics, in double: (mean, var, inv_std)
        self._stats = (np.zeros(n), np.zeros(n), np.zeros(n))  # type: ignore[arg-type]
        self._buffers.clear()

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        X = self._input(A_prev)
        n, m = X.shape
        if not training:
            Y = _f_empty(n, m, self.dtype)
            _norm.batch_norm_infer(X, self.gamma, self.beta, self.moving_mean,
                                   self.moving_variance, self.epsilon, Y)
            return Y
        buf = self._buffers.get(m)
        out = buf.get("A")
        if out is None:
            out = buf["A"] = _f_empty(n, m, self.dtype)
        mean, var, inv_std = self._stats
        _norm.batch_norm_train(X, self.gamma, self.beta, self.epsilon, out, mean, var, inv_std,
                               self.moving_mean, self.moving_variance, self.momentum)
        self._X = X
        return out

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        X = self._needs_forward()
        n, m = X.shape
        dA_prev = None
        if need_dA_prev:
            buf = self._buffers.get(m)
            dA_prev = buf.get("dA_prev")
            if dA_prev is None:
                dA_prev = buf["dA_prev"] = _f_empty(n, m, self.dtype)
        mean, _, inv_std = self._stats
        _norm.batch_norm_backward(self._input(dA), X, self.gamma, mean, inv_std, dA_prev,
                                  self.dgamma, self.dbeta, 1.0 / m)
        return dA_prev

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        name = config.pop("name")
        config.update(
            momentum=self.momentum,
            moving_mean_initializer=_initializers.serialize(self.moving_mean_initializer),
            moving_variance_initializer=_initializers.serialize(
                self.moving_variance_initializer),
            name=name)
        return config
