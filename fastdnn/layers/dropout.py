"""``Dropout``: inverted dropout in training, the identity at inference."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_real

from .layer import Layer, _Buffers, _f_empty

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Dropout"]


class Dropout(Layer):
    """Inverted dropout: in training, zero each activation with probability ``rate``
    and scale the rest by ``1/(1 - rate)``; the identity at inference.

    Parameters
    ----------
    rate : float in [0, 1)
    seed : int, optional
        Seeds the masks (otherwise the model's ``fit(seed=...)`` generator is used).

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dropout(0.5, seed=0)
    >>> layer.build(4, np.float64, np.random.default_rng(0))
    >>> out = layer.forward(np.ones((4, 1000)), training=True)
    >>> sorted(set(out.ravel().tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None):
        super().__init__(name)
        self.rate = check_real(rate, "rate", 0.0, 1.0, high_open=True)
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._buffers = _Buffers()
        self._mask: np.ndarray | None = None

    def _build(self, rng: np.random.Generator) -> None:
        self.units = self.n_in
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else rng
        self._buffers.clear()

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._mask = None
            return A_prev
        m = A_prev.shape[1]
        buf = self._buffers.get(m)
        if "mask" not in buf:
            # (m, n) C-ordered draws are the F-ordered (n, m) mask
            buf["U"] = np.empty((m, self.n_in), dtype=self.dtype)  # type: ignore[arg-type]
            buf["mask"] = buf["U"].T.copy(order="F")
            buf["A"] = _f_empty(self.n_in, m, self.dtype)  # type: ignore[arg-type]
        U, mask, A = buf["U"], buf["mask"], buf["A"]
        self._rng.random(out=U, dtype=self.dtype)  # type: ignore[union-attr,arg-type]  # built
        keep = 1.0 - self.rate
        np.greater_equal(U.T, self.rate, out=mask, casting="unsafe")
        mask *= self.dtype.type(1.0 / keep)  # type: ignore[union-attr]  # built: dtype is set
        np.multiply(A_prev, mask, out=A)
        self._mask = mask
        return A

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        if self._mask is None or not need_dA_prev:
            return dA if need_dA_prev else None
        buf = self._buffers.get(dA.shape[1])
        out = buf.setdefault("dA_prev", _f_empty(self.n_in,  # type: ignore[arg-type]  # built
                                                 dA.shape[1], self.dtype))
        return np.multiply(dA, self._mask, out=out)  # type: ignore[no-any-return]  # it is out

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed, "name": self.name}
