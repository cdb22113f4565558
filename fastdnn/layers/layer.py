"""``Layer``: the base class of the layers, and the per-batch-size buffers they train in.

Examples
--------
>>> import numpy as np
>>> class Identity(Layer):
...     def forward(self, A_prev, training=False):
...         return A_prev
>>> layer = Identity(name="id")
>>> layer.build(3, np.float32, np.random.default_rng(0))
>>> layer.units, layer.count_params(), layer
(3, 0, Identity(name='id'))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _aligned

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["Layer"]


class _Buffers:
    """Arrays keyed by batch size; training alternates between at most two
    sizes (full batches and the last partial one), a few more are kept."""

    __slots__ = ("_store",)
    _KEEP = 4

    def __init__(self) -> None:
        self._store: dict[int, dict[str, np.ndarray]] = {}

    def get(self, m: int) -> dict[str, np.ndarray]:
        entry = self._store.get(m)
        if entry is None:
            if len(self._store) >= self._KEEP:
                self._store.pop(next(iter(self._store)))
            entry = self._store[m] = {}
        return entry

    def clear(self) -> None:
        self._store.clear()


def _f_empty(n: int, m: int, dtype: Any) -> np.ndarray:
    return _aligned.empty((n, m), dtype, order="F")


def _check_name(name: Any) -> str | None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {type(name).__name__}")
    return name


def _check_units(value: Any, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{arg} must be a positive int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{arg} must be a positive int, got {value}")
    return int(value)


class Layer:
    """Base class of the layers.

    A layer is built once its input width ``n_in`` is known (``build``), then
    maps ``A_prev (n_in, m)`` to ``A (units, m)`` in ``forward`` and, after a
    forward with ``training=True``, maps ``dA (units, m)`` back to
    ``dA_prev (n_in, m)`` in ``backward``, leaving the gradients of its
    trainable parameters in ``grads``.
    """

    trainable_weights_names: tuple[str, ...] = ()
    weights_names: tuple[str, ...] = ()

    def __init__(self, name: str | None = None):
        self.name = _check_name(name)
        self.built = False
        self.n_in: int | None = None
        self.units: int | None = None
        self.dtype: np.dtype | None = None

    # -- construction
    def build(self, n_in: int, dtype: DTypeLike, rng: np.random.Generator) -> None:
        """Create the parameters for inputs of width ``n_in``; ``built`` becomes True only
        once they all exist (another thread may be asking)."""
        self.built = False
        self.n_in = _check_units(n_in, "n_in")
        self.dtype = np.dtype(dtype)
        if self.units is None:
            self.units = self.n_in
        self._build(rng)
        self.built = True

    def _build(self, rng: np.random.Generator) -> None:
        """The subclass's parameters and buffers, once ``n_in`` and ``dtype`` are set."""

    # -- computation
    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        """Output activations for ``A_prev (n_in, m)``."""
        raise NotImplementedError

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        """``dA_prev`` from ``dA``; trainable layers leave ``grads``."""
        raise NotImplementedError

    # -- parameters
    @property
    def params(self) -> list[np.ndarray]:
        """Trainable arrays, updated in place by the optimizer."""
        return [getattr(self, n) for n in self.trainable_weights_names] if self.built else []

    @property
    def grads(self) -> list[np.ndarray]:
        """Gradients of ``params`` from the last ``backward``."""
        return []

    def decays(self, m: int) -> list[float]:
        """L2 gradient coefficients, one per entry of ``params``."""
        return [0.0] * len(self.params)

    def regularization_cost(self, m: int) -> float:
        """Penalty this layer adds to the cost of a batch of ``m`` examples."""
        return 0.0

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every array of the layer (trainable or not), in save order."""
        return [getattr(self, n).copy() for n in self.weights_names] if self.built else []

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Replace the arrays (same shapes; cast to the layer's dtype), in place."""
        if not self.built:
            raise ValueError(f"{self._label()} is not built; build the model before set_weights")
        if len(weights) != len(self.weights_names):
            raise ValueError(f"{self._label()} expects {len(self.weights_names)} weight arrays "
                             f"({', '.join(self.weights_names)}), got {len(weights)}")
        new = []
        for n, w in zip(self.weights_names, weights):
            cur = getattr(self, n)
            w = np.asarray(w)
            if w.shape != cur.shape:
                raise ValueError(f"{self._label()}: {n} must have shape {cur.shape}, "
                                 f"got {w.shape}")
            if w.dtype.kind not in "fiu":
                raise TypeError(f"{self._label()}: {n} must be a real array, got {w.dtype}")
            new.append(w)
        for n, w in zip(self.weights_names, new):
            getattr(self, n)[...] = w  # in place: the optimizer's state stays attached
        self._weights_changed()

    def _weights_changed(self) -> None:
        pass

    def count_params(self) -> int:
        """Number of scalars in the layer's arrays (trainable or not)."""
        return sum(getattr(self, n).size for n in self.weights_names) if self.built else 0

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-able (``from_config`` rebuilds the layer)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        """A new layer from ``get_config()``'s output."""
        return cls(**config)

    def _label(self) -> str:
        return f"layer {self.name!r}" if self.name else f"{type(self).__name__} layer"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"
