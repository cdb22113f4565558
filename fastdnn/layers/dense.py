"""``Dense``: the fully connected layer, ``A = g(W @ A_prev + b)``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _aligned
from .. import activations as _activations
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .._kernels import _dense
from .._kernels import _elementwise as _ew
from .._compiled import ActivationKernel, NotCompilable
from .layer import Layer, _Buffers, _check_units, _f_empty

if TYPE_CHECKING:
    from ..initializers import InitializerLike
    from ..regularizers import RegularizerLike

__all__ = ["Dense"]

# what the dense kernels do around an activation without a kernel: Z = W A_prev + b forward,
# dZ passed through backward
_LINEAR_PASS = ActivationKernel(_ew.LINEAR, _ew.BW_LINEAR, 0.0, False)


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
    use_bias : bool, default True
        ``False``: ``A = g(W @ A_prev)``, a layer without ``b`` (nothing saved,
        trained or exported for it).
    input_shape : tuple of one int, optional
        Keras' spelling of ``input_dim``: ``input_shape=(n,)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(4, activation="tanh", kernel_regularizer=0.1)
    >>> layer.build(3, np.float32, np.random.default_rng(0))
    >>> layer.W.dtype, layer.count_params()
    (dtype('float32'), 16)
    >>> Dense(4, use_bias=False, input_shape=(3,)).input_dim
    3
    """

    trainable_weights_names: tuple[str, ...] = ("W", "b")
    weights_names: tuple[str, ...] = ("W", "b")
    units: int   # set by the constructor (a Layer's units is None until it is built)
    b: np.ndarray | None    # None without a bias (use_bias=False), as db
    db: np.ndarray | None

    @property
    def activation(self) -> _activations.Activation:
        """The activation object; assigning a name, config or object takes effect on the
        next forward pass, in the layer path and in the model's compiled plans alike."""
        return self._activation

    @activation.setter
    def activation(self, value: str | dict[str, Any] | _activations.Activation | None) -> None:
        act = _activations.get(value)
        try:
            kernel = act.compiled_spec()
        except NotCompilable:   # e.g. a subclass with maths of its own: its methods run
            kernel = None
        self._activation, self._kernel = act, kernel

    def __setstate__(self, state: dict[str, Any]) -> None:
        codes = state.pop("_codes", None)      # pickled before the kernel specs had names
        state.setdefault("use_bias", True)     # pickled before layers without a bias
        self.__dict__.update(state)
        if codes is not None:
            self.activation = self._activation

    def __init__(self, units: int,
                 activation: str | dict[str, Any] | _activations.Activation | None = None,
                 kernel_initializer: InitializerLike | None = None,
                 bias_initializer: InitializerLike = "zeros",
                 kernel_regularizer: RegularizerLike = None,
                 input_dim: int | None = None, name: str | None = None, *,
                 use_bias: bool = True, input_shape: tuple[int] | None = None):
        super().__init__(name)
        self.units = _check_units(units, "units")
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"use_bias must be a bool, got {type(use_bias).__name__}")
        self.use_bias = bool(use_bias)
        if not self.use_bias:
            self.trainable_weights_names = self.weights_names = ("W",)
        self.activation = activation
        if kernel_initializer is None:
            kernel_initializer = _initializers.default_for(self.activation.name)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.input_dim = None if input_dim is None else _check_units(input_dim, "input_dim")
        if input_shape is not None:
            self.input_dim = _input_shape_dim(input_shape, self.input_dim)
        self._buffers = _Buffers()
        self._A_prev: np.ndarray | None = None
        self._A: np.ndarray | None = None
        self._Z: np.ndarray | None = None   # kept by a training forward when backward takes Z

    def _build(self, rng: np.random.Generator) -> None:
        units = self.units
        # (building: n_in and dtype are set)
        self.W = _aligned.copy(
            self.kernel_initializer((units, self.n_in), dtype=self.dtype,  # type: ignore[arg-type]
                                    rng=rng),
            self.dtype)
        self.b = self.db = None
        if self.use_bias:
            self.b = _aligned.copy(
                self.bias_initializer((units, 1), dtype=self.dtype,  # type: ignore[arg-type]
                                      rng=rng),
                self.dtype)
            self.db = _aligned.zeros_like(self.b)
        self.dW = _aligned.zeros_like(self.W)
        self._buffers.clear()

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        kernel = self._kernel
        fwd, _, alpha, softmax, on_z = kernel or _LINEAR_PASS
        m = A_prev.shape[1]
        if training:
            buf = self._buffers.get(m)
            A = buf.get("A")
            if A is None:
                A = buf["A"] = _f_empty(self.units, m, self.dtype)
            self._A_prev, self._A = A_prev, A
            if on_z:   # backward takes Z: Z = W A_prev + b kept, then A = g(Z)
                Z = buf.get("Z")
                if Z is None:
                    Z = buf["Z"] = _f_empty(self.units, m, self.dtype)
                _dense.forward_into(A_prev, self.W, self.b, _ew.LINEAR, 0.0, False, Z)
                self._Z = Z
                return _ew.unary(fwd, Z, A, alpha)
        else:
            A = _f_empty(self.units, m, self.dtype)
        _dense.forward_into(A_prev, self.W, self.b, fwd, alpha, softmax, A)
        if kernel is None:      # A holds Z: the activation's own forward
            self._Z = A
            A = np.asfortranarray(self._activation.forward(A), dtype=self.dtype)
            if training:
                self._A = A
        return A

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True, *,
                 fused_output: bool = False,
                 sample_weight: np.ndarray | None = None) -> np.ndarray | None:
        """Gradients from ``dA``; with ``fused_output`` ``dA`` is ``Y`` and ``dZ = A - Y``
        (times ``sample_weight``, one weight per example (column), when given)."""
        kernel = self._kernel
        _, bwd, alpha, softmax, on_z = kernel or _LINEAR_PASS
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
                dA_prev = buf["dA_prev"] = _f_empty(self.n_in,  # type: ignore[arg-type]  # built
                                                    m, self.dtype)
        op = _ew.BW_OUTPUT_SUB if fused_output else bwd
        Z = getattr(self, "_Z", None)   # (layers pickled before it existed have none)
        Z = A if Z is None else Z
        if fused_output and sample_weight is not None:
            # dZ = (A - Y) w, formed here and passed through
            G = buf.get("G")
            if G is None:
                G = buf["G"] = _f_empty(self.units, m, self.dtype)
            np.subtract(A, dA, out=G)
            G *= sample_weight
            dA, op, softmax = G, _ew.BW_LINEAR, False
        elif kernel is None and not fused_output:   # dZ from the activation's own backward
            x = Z if self._activation.backward_input == "z" else A
            dA = np.asfortranarray(self._activation.backward(dA, x), dtype=self.dtype)
        elif on_z and not fused_output:           # dZ = dA * g'(Z)
            A = Z
        _dense.backward_into(dA, A_prev,  # type: ignore[arg-type]  # set with A by forward
                             self.W, A, op, alpha, softmax, dZ, self.dW, self.db, dA_prev)
        return dA_prev

    @property
    def grads(self) -> list[np.ndarray]:
        return [self.dW] if self.db is None else [self.dW, self.db]

    def decays(self, m: int) -> list[float]:
        reg = self.kernel_regularizer
        return [0.0 if reg is None else reg.decay(m)] + [0.0] * self.use_bias

    def regularization_cost(self, m: int) -> float:
        reg = self.kernel_regularizer
        return 0.0 if reg is None else reg.cost(self.W, m)

    def get_config(self) -> dict[str, Any]:
        reg = self.kernel_regularizer
        return {"units": self.units, "activation": self.activation.get_config(),
                "kernel_initializer": _initializers.serialize(self.kernel_initializer),
                "bias_initializer": _initializers.serialize(self.bias_initializer),
                "kernel_regularizer": None if reg is None else reg.get_config(),
                "input_dim": self.input_dim, "name": self.name, "use_bias": self.use_bias}


def _input_shape_dim(input_shape: Any, input_dim: int | None) -> int:
    """The number of features ``input_shape=(n,)`` declares (agreeing with ``input_dim``)."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 1:
        raise ValueError(f"input_shape must be a tuple (n_features,), got {input_shape!r}; "
                         "a Dense layer takes one feature axis")
    n = _check_units(input_shape[0], "input_shape[0]")
    if input_dim is not None and input_dim != n:
        raise ValueError(f"input_dim={input_dim} and input_shape={tuple(input_shape)} "
                         "disagree; pass one of them")
    return n
