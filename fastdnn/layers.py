"""Layers of a :class:`fastdnn.models.Sequential` model.

Layers work in the lecture layout: activations are ``(n_l, m)``, one column per
example, ``W`` is ``(n_l, n_prev)`` and ``b`` is ``(n_l, 1)``. A model feeds
them the transpose of its C-ordered ``(m, n_features)`` batches, an F-ordered
``(n_features, m)`` array, so no copy is made; every activation a layer
produces is F-ordered too. During training a layer keeps its outputs and
gradients in buffers it owns (one set per batch size), so a step allocates
nothing once the first batches have run.

Examples
--------
>>> import numpy as np
>>> layer = Dense(3, activation="relu")
>>> layer.build(2, np.float64, np.random.default_rng(0))
>>> layer.W.shape, layer.b.shape
((3, 2), (3, 1))
>>> layer.forward(np.ones((2, 5))).shape
(3, 5)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import activations as _activations
from . import initializers as _initializers
from . import regularizers as _regularizers
from ._kernels import _dense
from ._kernels import _elementwise as _ew
from .functional import _resolve

__all__ = ["Layer", "Input", "Dense", "Dropout", "Normalizer", "get", "serialize"]


class _Buffers:
    """Arrays keyed by batch size; training alternates between at most two
    sizes (full batches and the last partial one), a few more are kept."""

    __slots__ = ("_store",)
    _KEEP = 4

    def __init__(self):
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
    return np.empty((n, m), dtype=dtype, order="F")


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
    def build(self, n_in: int, dtype: Any, rng: np.random.Generator) -> None:
        """Create the parameters for inputs of width ``n_in``."""
        self.n_in = _check_units(n_in, "n_in")
        self.dtype = np.dtype(dtype)
        if self.units is None:
            self.units = self.n_in
        self.built = True

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

    def get_config(self) -> dict:
        """Constructor arguments, JSON-able (``from_config`` rebuilds the layer)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """A new layer from ``get_config()``'s output."""
        return cls(**config)

    def _label(self) -> str:
        return f"layer {self.name!r}" if self.name else f"{type(self).__name__} layer"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


class Input(Layer):
    """Declares the number of input features of a model (Keras' ``Input``).

    Parameters
    ----------
    shape : int or tuple of one int
        Features per example.

    Examples
    --------
    >>> Input(4).units
    4
    """

    def __init__(self, shape: int | tuple[int], name: str | None = None):
        super().__init__(name)
        if isinstance(shape, tuple):
            if len(shape) != 1:
                raise ValueError(f"shape must be (n_features,), got {shape}")
            shape = shape[0]
        self.units = _check_units(shape, "shape")

    def forward(self, A_prev, training=False):
        return A_prev

    def backward(self, dA, need_dA_prev=True):
        return dA

    def get_config(self) -> dict:
        return {"shape": self.units, "name": self.name}


class Dense(Layer):
    """Fully connected layer ``A = g(W @ A_prev + b)``.

    Parameters
    ----------
    units : int
        ``n_l``, the number of units.
    activation : str, Activation or None
        ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``softmax`` or
        ``linear`` (the default, as in Keras).
    kernel_initializer : str or initializer, optional
        Default by activation, as the lecture advises: He (``Var = 2/n_prev``)
        for ReLU and leaky ReLU, Xavier (``Var = 1/n_prev``) otherwise.
    bias_initializer : str or initializer, default "zeros"
    kernel_regularizer : None, "l2", float or Regularizer
        L2 penalty ``(λ/2m) Σ W²`` on the cost and ``(λ/m) W`` on ``dW``.
    input_dim : int, optional
        Input features, for a first layer (same as putting ``Input(n)`` first).
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(4, activation="tanh", kernel_regularizer=0.1)
    >>> layer.build(3, np.float32, np.random.default_rng(0))
    >>> layer.W.dtype, layer.count_params()
    (dtype('float32'), 16)
    """

    trainable_weights_names = ("W", "b")
    weights_names = ("W", "b")

    @property
    def activation(self) -> Any:
        """The activation object; assigning a name, config or object takes effect on the
        next forward pass, in the layer path and in the model's compiled plans alike."""
        return self._activation

    @activation.setter
    def activation(self, value: Any) -> None:
        self._activation = _activations.get(value)
        self._kernel = _resolve(self._activation)[1]

    def __init__(self, units: int, activation: Any = None, kernel_initializer: Any = None,
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 input_dim: int | None = None, name: str | None = None):
        super().__init__(name)
        self.units = _check_units(units, "units")
        self.activation = activation
        if kernel_initializer is None:
            kernel_initializer = _initializers.default_for(self.activation.name)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.input_dim = None if input_dim is None else _check_units(input_dim, "input_dim")
        self._buffers = _Buffers()
        self._A_prev: np.ndarray | None = None
        self._A: np.ndarray | None = None

    def build(self, n_in: int, dtype: Any, rng: np.random.Generator) -> None:
        units = self.units
        super().build(n_in, dtype, rng)
        self.units = units
        self.W = np.ascontiguousarray(
            self.kernel_initializer((units, self.n_in), dtype=self.dtype, rng=rng),
            dtype=self.dtype)
        self.b = np.ascontiguousarray(
            self.bias_initializer((units, 1), dtype=self.dtype, rng=rng), dtype=self.dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._buffers.clear()

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        fwd, _, alpha, softmax = self._kernel
        m = A_prev.shape[1]
        if training:
            buf = self._buffers.get(m)
            A = buf.get("A")
            if A is None:
                A = buf["A"] = _f_empty(self.units, m, self.dtype)
            self._A_prev, self._A = A_prev, A
        else:
            A = _f_empty(self.units, m, self.dtype)
        _dense.forward_into(A_prev, self.W, self.b, fwd, alpha, softmax, A)
        return A

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True, *,
                 fused_output: bool = False) -> np.ndarray | None:
        """Gradients from ``dA``; with ``fused_output`` ``dA`` is ``Y`` and ``dZ = A - Y``."""
        _, bwd, alpha, softmax = self._kernel
        A_prev, A = self._A_prev, self._A
        if A is None:
            raise RuntimeError(f"{self._label()}: backward needs a forward with training=True")
        m = A.shape[1]
        buf = self._buffers.get(m)
        dZ = buf.get("dZ")
        if dZ is None:
            dZ = buf["dZ"] = _f_empty(self.units, m, self.dtype)
        dA_prev = None
        if need_dA_prev:
            dA_prev = buf.get("dA_prev")
            if dA_prev is None:
                dA_prev = buf["dA_prev"] = _f_empty(self.n_in, m, self.dtype)
        op = _ew.BW_OUTPUT_SUB if fused_output else bwd
        _dense.backward_into(dA, A_prev, self.W, A, op, alpha, softmax, dZ, self.dW, self.db,
                             dA_prev)
        return dA_prev

    @property
    def grads(self) -> list[np.ndarray]:
        return [self.dW, self.db]

    def decays(self, m: int) -> list[float]:
        reg = self.kernel_regularizer
        return [0.0 if reg is None else reg.decay(m), 0.0]

    def regularization_cost(self, m: int) -> float:
        reg = self.kernel_regularizer
        return 0.0 if reg is None else reg.cost(self.W, m)

    def get_config(self) -> dict:
        reg = self.kernel_regularizer
        return {"units": self.units, "activation": self.activation.get_config(),
                "kernel_initializer": _initializers.serialize(self.kernel_initializer),
                "bias_initializer": _initializers.serialize(self.bias_initializer),
                "kernel_regularizer": None if reg is None else reg.get_config(),
                "input_dim": self.input_dim, "name": self.name}


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
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)):
            raise TypeError(f"rate must be a float in [0, 1), got {type(rate).__name__}")
        if not (0.0 <= rate < 1.0):
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._buffers = _Buffers()
        self._mask: np.ndarray | None = None

    def build(self, n_in: int, dtype: Any, rng: np.random.Generator) -> None:
        super().build(n_in, dtype, rng)
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
            buf["U"] = np.empty((m, self.n_in), dtype=self.dtype)
            buf["mask"] = buf["U"].T.copy(order="F")
            buf["A"] = _f_empty(self.n_in, m, self.dtype)
        U, mask, A = buf["U"], buf["mask"], buf["A"]
        self._rng.random(out=U, dtype=self.dtype)
        keep = 1.0 - self.rate
        np.greater_equal(U.T, self.rate, out=mask, casting="unsafe")
        mask *= self.dtype.type(1.0 / keep)
        np.multiply(A_prev, mask, out=A)
        self._mask = mask
        return A

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        if self._mask is None or not need_dA_prev:
            return dA if need_dA_prev else None
        buf = self._buffers.get(dA.shape[1])
        out = buf.setdefault("dA_prev", _f_empty(self.n_in, dA.shape[1], self.dtype))
        return np.multiply(dA, self._mask, out=out)

    def get_config(self) -> dict:
        return {"rate": self.rate, "seed": self.seed, "name": self.name}


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

    def __init__(self, epsilon: float = 1e-7, name: str | None = None):
        super().__init__(name)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating)):
            raise TypeError(f"epsilon must be a float, got {type(epsilon).__name__}")
        if not (math.isfinite(epsilon) and epsilon >= 0):
            raise ValueError(f"epsilon must be finite and >= 0, got {epsilon}")
        self.epsilon = float(epsilon)
        self._adapted: tuple[np.ndarray, np.ndarray] | None = None
        self._buffers = _Buffers()

    @property
    def adapted(self) -> bool:
        """True once ``adapt`` has run (or weights were loaded)."""
        return self._adapted is not None or self.built

    def adapt(self, X: Any) -> None:
        """Learn per-feature ``μ`` and ``σ²`` from ``X (m, n_features)`` (chunked, memmap-safe)."""
        from .preprocessing import Normalizer as _Stats

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

    def build(self, n_in: int, dtype: Any, rng: np.random.Generator) -> None:
        super().build(n_in, dtype, rng)
        self.units = self.n_in
        if self._adapted is not None:
            mean, var = self._adapted
            if mean.shape[0] != self.n_in:
                raise ValueError(f"{self._label()} was adapted to {mean.shape[0]} features, "
                                 f"the model's input has {self.n_in}")
        elif getattr(self, "mean", None) is not None and self.mean.shape == (self.n_in, 1):
            mean, var = self.mean, self.variance    # rebuilt: keep what adapt learned
        else:
            mean = np.zeros((self.n_in, 1))
            var = np.ones((self.n_in, 1))
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
                A = buf["A"] = _f_empty(self.n_in, m, self.dtype)
        else:
            A = _f_empty(self.n_in, m, self.dtype)
        np.subtract(A_prev, self.mean, out=A)
        np.multiply(A, self._inv_std, out=A)
        return A

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        if not need_dA_prev:
            return None
        buf = self._buffers.get(dA.shape[1])
        out = buf.setdefault("dA_prev", _f_empty(self.n_in, dA.shape[1], self.dtype))
        return np.multiply(dA, self._inv_std, out=out)

    def get_config(self) -> dict:
        return {"epsilon": self.epsilon, "name": self.name}


_REGISTRY: dict[str, type[Layer]] = {c.__name__: c for c in (Input, Dense, Dropout, Normalizer)}


def serialize(layer: Layer) -> dict:
    """``{"class_name": ..., "config": ...}`` of a layer (JSON-able).

    Examples
    --------
    >>> serialize(Dropout(0.2))
    {'class_name': 'Dropout', 'config': {'rate': 0.2, 'seed': None, 'name': None}}
    """
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def get(identifier: Any) -> Layer:
    """A layer from an instance or a ``serialize`` dict.

    Examples
    --------
    >>> get({"class_name": "Dense", "config": {"units": 2}}).units
    2
    """
    if isinstance(identifier, Layer):
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if name not in _REGISTRY:
            raise ValueError(f"unknown layer class {name!r}; known: {', '.join(sorted(_REGISTRY))}")
        config = identifier.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"layer config must be a dict, got {type(config).__name__}")
        try:
            return _REGISTRY[name].from_config(config)
        except TypeError as exc:
            raise ValueError(f"bad config for layer {name}: {exc}") from None
    raise TypeError(f"expected a Layer or a layer config dict, got {type(identifier).__name__}")
