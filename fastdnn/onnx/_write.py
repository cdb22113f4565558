"""The nodes and initializers of a model's layers, from the input ``"X"`` on."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations as _activations
from ..layers import (Activation, BatchNormalization, Dense, Dropout, Input,
                      LayerNormalization, Normalizer)
from ._builder import DEFAULT_OPSET, _emit, _Graph
from ._nodes import _activation_steps, _batch_norm_steps, _layer_norm_steps

if TYPE_CHECKING:
    from ..layers import Layer

# the activation classes the exporter writes; a subclass that keeps its parent's forward
# pass is exported as the parent
_KNOWN = (_activations.Sigmoid, _activations.Tanh, _activations.ReLU, _activations.LeakyReLU,
          _activations.Linear, _activations.Softmax, _activations.ELU, _activations.SELU,
          _activations.GELU, _activations.SiLU, _activations.Softplus, _activations.Softsign,
          _activations.HardSigmoid, _activations.Mish)


def _softmax(g: _Graph, act: Any, label: str, prefix: str, z: str) -> str:
    a = f"{prefix}/A"
    axis = act.axis
    if axis in (0, -2):                   # over the units: each example's row
        return g.node("Softmax", [z], a, f"{prefix}/Softmax", axis=-1)
    if axis in (1, -1):                   # over the examples: each unit's column
        return g.node("Softmax", [z], a, f"{prefix}/Softmax", axis=0)
    if axis is None:                      # over every element of the batch
        flat = g.node("Reshape", [z, g.int64(f"{prefix}/flat_shape", [1, -1])],
                      f"{prefix}/Z_flat", f"{prefix}/Flatten")
        s = g.node("Softmax", [flat], f"{prefix}/A_flat", f"{prefix}/Softmax", axis=-1)
        shape = g.node("Shape", [z], f"{prefix}/shape", f"{prefix}/Shape")
        return g.node("Reshape", [s, shape], a, f"{prefix}/Unflatten")
    raise ValueError(f"{label}: softmax over axis {axis} of 2-D activations")


def _activation(g: _Graph, act: Any, label: str, prefix: str, z: str) -> str:
    """Write the activation ``act`` on ``z`` (``label`` names its layer in errors)."""
    owner = next((cls for cls in _KNOWN if isinstance(act, cls)), None)
    if owner is None:
        raise TypeError(f"{label}: the activation {type(act).__name__} "
                        f"({act.get_config().get('name')!r}) has no ONNX equivalent; the "
                        "exporter knows " + ", ".join(_activations.names()))
    if type(act).forward is not owner.forward:   # its own maths: no operator computes it
        raise TypeError(f"{label}: {type(act).__name__} overrides {owner.__name__}.forward, "
                        f"so no ONNX operator computes it")
    if owner is _activations.Softmax:
        return _softmax(g, act, label, prefix, z)
    return _emit(g, _activation_steps(act, owner, g.dtype, g.opset), prefix, z)


def _check_layer(layer: Any, known: type[Layer]) -> None:
    """A subclass that computes its own forward pass is not the layer the exporter knows."""
    if type(layer).forward is not known.forward:
        raise TypeError(f"{layer._label()}: {type(layer).__name__} overrides "
                        f"{known.__name__}.forward; the exporter only writes the built-in "
                        f"{known.__name__}'s computation")


# A Normalizer is folded into the Dense after it when no input's |mean| exceeds this many
# standard deviations: folded, the rounding errors grow with |x| rather than |x - mean|
FOLD_MAX_MEAN_STDS = 16.0


def _foldable(layers: list[Any], i: int, fold: bool | str) -> bool:
    """Whether the Normalizer ``layers[i]`` is folded into the next layer, a Dense."""
    after = [layer for layer in layers[i + 1:] if not isinstance(layer, (Input, Dropout))]
    if fold is False or not after or not isinstance(after[0], Dense):
        return False
    _check_layer(after[0], Dense)
    norm = layers[i]
    return fold is True or bool(
        np.all(np.abs(norm.mean * norm._inv_std) <= FOLD_MAX_MEAN_STDS))


_KINDS = ((Normalizer, "normalizer"), (Dense, "dense"),
          (BatchNormalization, "batch_normalization"),
          (LayerNormalization, "layer_normalization"), (Activation, "activation"))


def _kind(layer: Any) -> str:
    """The prefix of a layer's nodes and initializers (``dense`` for ``dense_0/W``)."""
    for cls, kind in _KINDS:
        if isinstance(layer, cls):
            _check_layer(layer, cls)
            return kind
    raise TypeError(f"{layer._label()}: no ONNX export for {type(layer).__name__} layers; "
                    "the exporter knows Activation, BatchNormalization, Dense, Dropout, "
                    "Input, LayerNormalization and Normalizer")


def _normalizer(g: _Graph, layer: Any, prefix: str, x: str) -> str:
    mean = g.constant(f"{prefix}/mean", layer.mean.ravel())
    inv_std = g.constant(f"{prefix}/inv_std", layer._inv_std.ravel())
    centred = g.node("Sub", [x, mean], f"{prefix}/centred", f"{prefix}/Sub")
    return g.node("Mul", [centred, inv_std], f"{prefix}/A", f"{prefix}/Mul")


def _dense(g: _Graph, layer: Any, prefix: str, x: str,
           folded: tuple[np.ndarray, np.ndarray] | None) -> str:
    """Gemm and the activation; ``folded``: the (mean, inv_std) of a Normalizer before."""
    W_ = layer.W
    b_ = None if layer.b is None else layer.b.ravel()
    if folded is not None:
        # W ((x - mean) * inv_std) + b = (W * inv_std) x + (b - (W * inv_std) mean)
        mu, inv_sigma = folded
        W_ = np.asarray(W_, np.float64) * inv_sigma
        b_ = (0.0 if b_ is None else np.asarray(b_, np.float64)) - W_ @ mu
    inputs = [x, g.constant(f"{prefix}/W", W_)]
    if b_ is not None:   # a layer without a bias: Gemm without its C input
        inputs.append(g.constant(f"{prefix}/b", b_))
    z = g.node("Gemm", inputs, f"{prefix}/Z", f"{prefix}/Gemm", transB=1)
    return _activation(g, layer.activation, f"{layer._label()} ({prefix})", prefix, z)


def _graph(onnx: Any, model: Any, dtype: np.dtype, fold: bool | str = "auto",
           opset: int = DEFAULT_OPSET) -> tuple[_Graph, str]:
    """The nodes and initializers from ``"X"``; returns the graph and its last tensor."""
    g = _Graph(onnx, dtype, opset)
    x = "X"
    counts: dict[str, int] = {}
    folded: tuple[np.ndarray, np.ndarray] | None = None
    layers = list(model.layers)
    for i, layer in enumerate(layers):
        if isinstance(layer, (Input, Dropout)):   # nothing at inference
            _check_layer(layer, Input if isinstance(layer, Input) else Dropout)
            continue
        kind = _kind(layer)
        if kind == "normalizer" and _foldable(layers, i, fold):
            folded = (np.asarray(layer.mean, np.float64).ravel(),
                      np.asarray(layer._inv_std, np.float64).ravel())
            continue
        prefix = f"{kind}_{counts.setdefault(kind, 0)}"
        counts[kind] += 1
        if kind == "normalizer":
            x = _normalizer(g, layer, prefix, x)
        elif kind == "dense":
            x, folded = _dense(g, layer, prefix, x, folded), None
        elif kind == "batch_normalization":
            x = _emit(g, _batch_norm_steps(layer, dtype), prefix, x)
        elif kind == "layer_normalization":
            x = _emit(g, _layer_norm_steps(layer, dtype, opset), prefix, x)
        else:
            x = _activation(g, layer.activation, f"{layer._label()} ({prefix})", prefix, x)
    return g, x
