"""``Activation``: an activation function as a layer of its own, ``A = g(A_prev)``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations as _activations
from .layer import Layer, _Buffers, _f_empty

__all__ = ["Activation"]


class Activation(Layer):
    """``A = g(A_prev)`` (Keras' ``Activation`` layer), e.g. after a normalization:
    ``Dense(64)``, ``BatchNormalization()``, ``Activation("relu")``.

    Parameters
    ----------
    activation : str, dict or fastdnn.activations.Activation
        ``relu``, ``tanh``, ``sigmoid``, ``softmax``, ... (see ``fastdnn.activations``).
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> layer = Activation("relu")
    >>> layer.build(2, np.float64, np.random.default_rng(0))
    >>> layer.forward(np.array([[-1.0], [2.0]])).ravel().tolist()
    [0.0, 2.0]
    """

    def __init__(self, activation: str | dict[str, Any] | _activations.Activation,
                 name: str | None = None):
        super().__init__(name)
        if activation is None:
            raise TypeError("activation must be an activation name, config or object, "
                            "got None")
        self.activation = _activations.get(activation)
        self._buffers = _Buffers()
        self._A: np.ndarray | None = None
        self._Z: np.ndarray | None = None   # g's input, kept for a backward that takes it

    def _build(self, rng: np.random.Generator) -> None:
        self.units = self.n_in
        self._buffers.clear()
        self._A = None

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        n, m = A_prev.shape
        if training:
            buf = self._buffers.get(m)
            out = buf.get("A")
            if out is None:
                out = buf["A"] = _f_empty(n, m, self.dtype)
        else:
            out = _f_empty(n, m, self.dtype)
        Z = np.asfortranarray(A_prev, dtype=self.dtype)
        A = np.asfortranarray(self.activation.forward(Z, out=out), dtype=self.dtype)
        if training:
            self._A = A
            self._Z = Z if self.activation.backward_input == "z" else None
        return A

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True, *,
                 fused_output: bool = False,
                 sample_weight: np.ndarray | None = None) -> np.ndarray | None:
        """``dA_prev = dA * g'``; with ``fused_output`` ``dA`` is ``Y`` and ``dA_prev = A - Y``
        (the gradient of the loss paired with this activation), times ``sample_weight``
        (one weight per example) when given."""
        A = self._A
        if A is None:
            raise RuntimeError(f"{self._label()}: backward needs a forward with training=True")
        if not need_dA_prev:
            return None
        buf = self._buffers.get(A.shape[1])
        out = buf.get("dA_prev")
        if out is None:
            out = buf["dA_prev"] = _f_empty(A.shape[0], A.shape[1], self.dtype)
        if fused_output:
            np.subtract(A, dA, out=out)
            if sample_weight is not None:
                out *= np.asarray(sample_weight, dtype=self.dtype).reshape(1, -1)
            return out
        x = A if self._Z is None else self._Z
        dZ = self.activation.backward(np.asfortranarray(dA, dtype=self.dtype), x, out=out)
        return np.asfortranarray(dZ, dtype=self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"activation": self.activation.get_config(), "name": self.name}
