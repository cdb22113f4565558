"""Export a ``Sequential`` model to ONNX, to run it where fastdnn is not installed.

``export(model)`` returns the serialized ONNX model (``export(model, path)`` writes it):
a graph from the input ``"X"`` of shape ``(N, n_features)``, ``N`` a symbolic batch
dimension, to the output ``"Y"`` of shape ``(N, n_outputs)``, in the model's dtype, that
computes what ``model.predict`` does (to rounding: the sums run in the runtime's order).
Any ONNX runtime runs it, e.g. onnxruntime::

    import fastdnn.onnx, onnxruntime
    session = onnxruntime.InferenceSession(fastdnn.onnx.export(model),
                                           providers=["CPUExecutionProvider"])
    Y = session.run(["Y"], {"X": X.astype(model.dtype)})[0]

Layer by layer (weights are initializers named after their layer, ``dense_0/W``):

- ``Normalizer``: folded into the ``Dense`` after it (``W * inv_std`` and
  ``b - (W * inv_std) @ mean``, computed in float64), with ``inv_std = 1 / sqrt(variance +
  epsilon)`` as the model holds it. Folded, the rounding errors of the product grow with
  ``|x|`` instead of ``|x - mean|``, so by default (``fold_normalizer="auto"``) it is
  folded only when no feature's mean is more than ``FOLD_MAX_MEAN_STDS`` (16) standard
  deviations from 0, and is otherwise written as ``Sub(x, mean)`` then ``Mul(., inv_std)``
  (as it is when nothing or no ``Dense`` follows it);
- ``Dense``: ``Gemm(x, W, b, transB=1)`` on ``W (units, n_in)`` as stored (``Gemm(x, W)``
  for ``use_bias=False``, unless a folded ``Normalizer`` gives it a bias), then its
  activation (below);
- ``Activation``: its activation, on the previous layer's output;
- ``BatchNormalization``: ``BatchNormalization(x, gamma, beta, moving_mean,
  moving_variance, epsilon)`` in inference form on the ``(N, C)`` activations, after the
  previous layer's activation as ``predict`` runs it (``gamma`` of ones without ``scale``,
  ``beta`` of zeros without ``center``). It is not folded into the ``Gemm`` before it:
  the layer stays visible and ``load_onnx`` reads it back, and runtimes fuse it where they
  wish. ``epsilon`` is a float32 attribute: in float64 graphs an epsilon that is not a
  float32 number (``1e-3``) is written as ``float32(epsilon)`` and the difference is added
  to ``moving_variance``, so that ``moving_variance + epsilon`` is the model's to rounding;
- ``LayerNormalization``: ``LayerNormalization(x, gamma, beta, axis=-1, epsilon)`` from
  opset 17; below it, and in float64 graphs whose epsilon is not a float32 number, the
  elementary ``ReduceMean``, ``Sub``, ``Mul``, ``ReduceMean``, ``Add(epsilon)``, ``Sqrt``,
  ``Reciprocal``, ``Mul``, ``Mul(gamma)``, ``Add(beta)``, in fastdnn's order
  (``ReduceMean``'s axes an input from opset 18);
- ``Dropout`` and ``Input``: nothing (inference).

Activations, in float32 graphs:
``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu(alpha)``, ``Softmax(axis=-1)`` over the units
(``Softmax(axis=0)`` for ``Softmax(axis=1)``, over the examples; a ``Reshape``,
``Softmax``, ``Reshape`` for ``axis=None``), nothing for ``linear``; ``Elu(alpha)``;
``Selu(alpha, gamma)`` with fastdnn's constants 1.6732632423543772 and
1.0507009873554805; ``gelu``/``gelu_tanh`` as ``Gelu(approximate="none"/"tanh")`` from
opset 20 and below it as its definition, ``z (1 + erf(z / sqrt 2)) / 2`` (``Div``,
``Erf``, ``Add``, ``Mul``, ``Mul``) or ``z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) / 2``
(``Pow``, ``Mul``, ``Add``, ``Mul``, ``Tanh``, ``Add``, ``Mul``, ``Mul``); ``silu``
(``swish``) as ``Sigmoid`` and ``Mul``; ``Softplus``; ``Softsign``; ``hard_sigmoid`` as
``HardSigmoid(alpha=1/6, beta=0.5)`` (fastdnn's ``clip(z + 3, 0, 6) / 6``); ``Mish`` from
opset 18 and ``Softplus``, ``Tanh``, ``Mul`` below. Float attributes are float32, which
float32 graphs do not notice.

In float64 graphs the same, except where a float32 attribute or onnxruntime (which has no
float64 kernels for ``Elu``, ``Selu``, ``Softplus``, ``Softsign``, ``HardSigmoid`` or
``Mish``, and whose float64 ``Gelu`` is float32-accurate) would cost precision: those are
elementary operators on constants of the graph's dtype. ``leaky_relu`` with an ``alpha``
that is not a float32 number is a ``PRelu`` (``Relu`` for ``alpha=0``); ``elu`` is
``Where(z > 0, z, alpha (Exp(z) - 1))``; ``selu`` ``Where(z > 0, gamma z, gamma alpha
(Exp(z) - 1))``; ``softplus`` ``Relu(z) + Log(1 + Exp(-Abs(z)))``; ``softsign`` ``z / (1 +
Abs(z))``; ``hard_sigmoid`` ``Clip(z + 3, 0, 6) / 6``; ``mish`` that softplus, ``Tanh``,
``Mul``; ``gelu`` and ``gelu_tanh`` their definitions above at every opset.
onnxruntime (1.32) has no float64 ``Erf``, so it does not run a float64 erf ``gelu``
(``gelu_tanh`` runs), which other runtimes do; export such a model with
``dtype="float32"`` for onnxruntime.

The graph is checked with ``onnx.checker.check_model(full_check=True)``. The default opset,
17, is read by onnxruntime 1.16 and later; the file declares the oldest IR version
that holds its opset, so older runtimes read it too. A layer or activation the
exporter does not know (a custom ``Activation``, a subclass that overrides ``forward`` of
a built-in one, a layer of your own) raises ``TypeError`` naming it.

The ``onnx`` package is needed (``pip install 'fastdnn[onnx]'``); ``import fastdnn``
never imports it.

Examples
--------
>>> import numpy as np
>>> import onnx
>>> import fastdnn
>>> from fastdnn.layers import Dense, Dropout, Input
>>> model = fastdnn.Sequential([Input(4), Dense(8, activation="relu"), Dropout(0.1),
...                             Dense(3, activation="softmax")], seed=0)
>>> model.build()
>>> proto = onnx.load_from_string(export(model))
>>> [node.op_type for node in proto.graph.node]
['Gemm', 'Relu', 'Gemm', 'Softmax']
>>> [init.name for init in proto.graph.initializer]
['dense_0/W', 'dense_0/b', 'dense_1/W', 'dense_1/b']
>>> proto.opset_import[0].version, proto.graph.output[0].name
(17, 'Y')
>>> from fastdnn.layers import Activation, BatchNormalization, LayerNormalization
>>> model = fastdnn.Sequential([Input(4), Dense(8), BatchNormalization(), Activation("gelu"),
...                             LayerNormalization(), Dense(1, activation="silu")], seed=0)
>>> model.build()
>>> [node.op_type for node in onnx.load_from_string(export(model, opset=20)).graph.node]
['Gemm', 'BatchNormalization', 'Gelu', 'LayerNormalization', 'Gemm', 'Sigmoid', 'Mul']
"""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, NamedTuple, Union

import numpy as np

from . import activations as _activations
from ._validation import check_dtype, check_int, is_int
from .layers import (Activation, BatchNormalization, Dense, Dropout, Input,
                     LayerNormalization, Normalizer)

if TYPE_CHECKING:
    from .layers import Layer
    from .models import Sequential

__all__ = ["DEFAULT_OPSET", "FOLD_MAX_MEAN_STDS", "MIN_OPSET", "export", "load_onnx"]

DEFAULT_OPSET = 17   # onnxruntime >= 1.16 reads it
MIN_OPSET = 13       # Softmax over one axis (opset 13's semantics)
_MISH_OPSET = 18         # the first opsets with Mish,
_GELU_OPSET = 20         # Gelu
_LAYER_NORM_OPSET = 17   # and LayerNormalization
_REDUCE_AXES_INPUT_OPSET = 18   # ReduceMean takes its axes as an input from here on

# fastdnn's SELU (the C kernels' constants): gamma z, or gamma alpha (exp(z) - 1) below 0
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_GAMMA = 1.0507009873554804934193349852946
_SELU_SA = 1.7580993408473768599    # gamma alpha

_MISSING = ("fastdnn.onnx.export needs the onnx package, which is not installed: "
            "pip install 'fastdnn[onnx]'")

# the activation classes the exporter writes; a subclass that keeps its parent's forward
# pass is exported as the parent
_KNOWN = (_activations.Sigmoid, _activations.Tanh, _activations.ReLU, _activations.LeakyReLU,
          _activations.Linear, _activations.Softmax, _activations.ELU, _activations.SELU,
          _activations.GELU, _activations.SiLU, _activations.Softplus, _activations.Softsign,
          _activations.HardSigmoid, _activations.Mish)


def _require_onnx() -> Any:
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return onnx


class _Graph:
    """The nodes and initializers of the graph being written."""

    def __init__(self, onnx: Any, dtype: np.dtype, opset: int = DEFAULT_OPSET):
        self.onnx, self.dtype, self.opset = onnx, dtype, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: set[str] = set()

    def constant(self, name: str, value: np.ndarray) -> str:
        return self._add(name, np.ascontiguousarray(value, dtype=self.dtype))

    def int64(self, name: str, value: list[int]) -> str:
        return self._add(name, np.array(value, dtype=np.int64))

    def _add(self, name: str, array: np.ndarray) -> str:
        """The initializer ``name`` (written once: steps may take it twice)."""
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


# ------------------------------------------------------------------ nodes as data
# A layer's or an activation's nodes are written from a list of steps, and load_onnx reads
# them back by matching the same list: what is written and what is read agree by design.

class _W(NamedTuple):
    """A named constant input (an initializer ``prefix/name``) of the graph's dtype."""
    name: str
    value: Any


class _I64(NamedTuple):
    """An int64 constant input (ReduceMean's axes from opset 18)."""
    name: str
    value: tuple[int, ...]


class _Cap(NamedTuple):
    """In a pattern load_onnx matches: any constant input or attribute, kept as ``name``."""
    name: str


# an input: "z" (the input of the steps), an int (the output of that earlier step), a
# float (an unnamed scalar constant of the graph's dtype), _W, _I64 or, in patterns, _Cap
_Input = Union[str, int, float, _W, _I64, _Cap]


class _Step(NamedTuple):
    op: str
    inputs: tuple[_Input, ...]
    attrs: dict[str, Any] = {}


def _f32(x: float) -> bool:
    """Whether ``x`` is a float32 number (ONNX float attributes are float32)."""
    return bool(float(np.float32(x)) == x)


def _exact(dtype: np.dtype, x: float) -> bool:
    """Whether a float attribute holds ``x`` to the graph's precision."""
    return np.dtype(dtype) == np.float32 or _f32(x)


def _emit(g: _Graph, steps: list[_Step], prefix: str, z: str) -> str:
    """Write ``steps`` on the tensor ``z``; returns the last step's output."""
    outputs: list[str] = []
    seen: dict[str, int] = {}
    for k, step in enumerate(steps):
        inputs = []
        for j, x in enumerate(step.inputs):
            if isinstance(x, str):
                inputs.append(z)
            elif isinstance(x, int):
                inputs.append(outputs[x])
            elif isinstance(x, _W):
                inputs.append(g.constant(f"{prefix}/{x.name}", x.value))
            elif isinstance(x, _I64):
                inputs.append(g.int64(f"{prefix}/{x.name}", list(x.value)))
            else:
                inputs.append(g.constant(f"{prefix}/c{k}_{j}", np.array(x)))
        n = seen[step.op] = seen.get(step.op, -1) + 1
        name = f"{prefix}/{step.op}" + (f"_{n}" if n else "")
        out = f"{prefix}/A" if k == len(steps) - 1 else f"{prefix}/t{k}"
        outputs.append(g.node(step.op, inputs, out, name, **step.attrs))
    return outputs[-1] if outputs else z


# The float64 forms of the activations below are elementary operators: the ONNX operators'
# float attributes are float32 (Elu's alpha, Selu's, HardSigmoid's), onnxruntime has
# float64 kernels for none of Elu, Selu, Softplus, Softsign, HardSigmoid and Mish, and its
# float64 Gelu(approximate="tanh") is float32-accurate.

def _elu_node(alpha: Any) -> list[_Step]:
    return [_Step("Elu", ("z",), {"alpha": alpha})]


def _elu_nodes(alpha: Any) -> list[_Step]:
    """z above 0, alpha (exp(z) - 1) elsewhere."""
    return [_Step("Exp", ("z",)), _Step("Sub", (0, 1.0)), _Step("Mul", (1, alpha)),
            _Step("Greater", ("z", 0.0)), _Step("Where", (3, "z", 2))]


def _selu_node() -> list[_Step]:
    return [_Step("Selu", ("z",), {"alpha": _SELU_ALPHA, "gamma": _SELU_GAMMA})]


def _selu_nodes() -> list[_Step]:
    """gamma z above 0, gamma alpha (exp(z) - 1) elsewhere."""
    return [_Step("Exp", ("z",)), _Step("Sub", (0, 1.0)), _Step("Mul", (1, _SELU_SA)),
            _Step("Mul", ("z", _SELU_GAMMA)), _Step("Greater", ("z", 0.0)),
            _Step("Where", (4, 3, 2))]


def _gelu_node(approximate: bool) -> list[_Step]:
    return [_Step("Gelu", ("z",), {"approximate": "tanh" if approximate else "none"})]


def _gelu_erf_nodes() -> list[_Step]:
    """z (1 + erf(z / sqrt 2)) / 2, as Gelu's definition."""
    return [_Step("Div", ("z", math.sqrt(2.0))), _Step("Erf", (0,)), _Step("Add", (1, 1.0)),
            _Step("Mul", ("z", 2)), _Step("Mul", (3, 0.5))]


def _gelu_tanh_nodes() -> list[_Step]:
    """z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))) / 2, as Gelu's definition."""
    return [_Step("Pow", ("z", 3.0)), _Step("Mul", (0, 0.044715)), _Step("Add", ("z", 1)),
            _Step("Mul", (2, math.sqrt(2.0 / math.pi))), _Step("Tanh", (3,)),
            _Step("Add", (4, 1.0)), _Step("Mul", ("z", 5)), _Step("Mul", (6, 0.5))]


def _hard_sigmoid_node() -> list[_Step]:
    return [_Step("HardSigmoid", ("z",), {"alpha": 1.0 / 6.0, "beta": 0.5})]


def _hard_sigmoid_nodes() -> list[_Step]:
    """fastdnn's clip(z + 3, 0, 6) / 6."""
    return [_Step("Add", ("z", 3.0)), _Step("Clip", (0, 0.0, 6.0)), _Step("Div", (1, 6.0))]


def _softplus_nodes() -> list[_Step]:
    """max(z, 0) + log(1 + exp(-|z|)), without overflow."""
    return [_Step("Abs", ("z",)), _Step("Neg", (0,)), _Step("Exp", (1,)),
            _Step("Add", (2, 1.0)), _Step("Log", (3,)), _Step("Relu", ("z",)),
            _Step("Add", (5, 4))]


def _softsign_nodes() -> list[_Step]:
    """z / (1 + |z|)."""
    return [_Step("Abs", ("z",)), _Step("Add", (0, 1.0)), _Step("Div", ("z", 1))]


def _mish_nodes(softplus: list[_Step]) -> list[_Step]:
    """z tanh(softplus(z)), on the given softplus steps."""
    k = len(softplus)
    return [*softplus, _Step("Tanh", (k - 1,)), _Step("Mul", ("z", k))]


def _leaky_relu_steps(alpha: float, dtype: np.dtype) -> list[_Step]:
    if alpha == 0.0:                      # fastdnn's leaky_relu with alpha 0 is relu
        return [_Step("Relu", ("z",))]
    if _exact(dtype, alpha):
        return [_Step("LeakyRelu", ("z",), {"alpha": alpha})]
    # LeakyRelu's alpha attribute is a float32: a slope of the graph's dtype keeps it exact
    return [_Step("PRelu", ("z", _W("alpha", np.array([alpha]))))]


def _activation_steps(act: Any, owner: type, dtype: np.dtype, opset: int) -> list[_Step]:
    """The steps computing ``act`` (of the known class ``owner``; not Softmax)."""
    A = _activations
    wide = np.dtype(dtype) == np.float64
    single = {A.Sigmoid: "Sigmoid", A.Tanh: "Tanh", A.ReLU: "Relu"}
    if owner in single:
        return [_Step(single[owner], ("z",))]
    if owner is A.Linear:
        return []
    if owner is A.LeakyReLU:
        return _leaky_relu_steps(float(act.alpha), dtype)
    if owner is A.SiLU:
        return [_Step("Sigmoid", ("z",)), _Step("Mul", ("z", 0))]
    if owner is A.GELU:
        if opset >= _GELU_OPSET and not wide:
            return _gelu_node(bool(act.approximate))
        return _gelu_tanh_nodes() if act.approximate else _gelu_erf_nodes()
    if owner is A.Mish:
        if wide:
            return _mish_nodes(_softplus_nodes())
        return [_Step("Mish", ("z",))] if opset >= _MISH_OPSET else _mish_nodes(
            [_Step("Softplus", ("z",))])
    if wide:
        forms = {A.ELU: lambda: _elu_nodes(_W("alpha", np.array(float(act.alpha)))),
                 A.SELU: _selu_nodes, A.Softplus: _softplus_nodes,
                 A.Softsign: _softsign_nodes, A.HardSigmoid: _hard_sigmoid_nodes}
    else:
        forms = {A.ELU: lambda: _elu_node(float(act.alpha)), A.SELU: _selu_node,
                 A.Softplus: lambda: [_Step("Softplus", ("z",))],
                 A.Softsign: lambda: [_Step("Softsign", ("z",))],
                 A.HardSigmoid: _hard_sigmoid_node}
    return forms[owner]()


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


def _batch_norm_steps(layer: Any, dtype: np.dtype) -> list[_Step]:
    """Inference-mode BatchNormalization on the (N, C) activations, on the moving
    statistics; in float64 an epsilon that is no float32 number moves its difference to
    float32(epsilon) into the variance, so that variance + epsilon stays exact."""
    epsilon = float(layer.epsilon)
    variance = np.asarray(layer.moving_variance, np.float64).ravel()
    if not _exact(dtype, epsilon):
        variance = variance + (epsilon - float(np.float32(epsilon)))
    return [_Step("BatchNormalization",
                  ("z", _W("gamma", layer.gamma.ravel()), _W("beta", layer.beta.ravel()),
                   _W("moving_mean", layer.moving_mean.ravel()),
                   _W("moving_variance", variance)),
                  {"epsilon": epsilon})]


def _layer_norm_nodes(gamma: Any, beta: Any, epsilon: Any, opset: int) -> list[_Step]:
    """LayerNormalization over the last axis as elementary nodes, in fastdnn's order:
    ``gamma ((z - mean) / sqrt(var + epsilon)) + beta``."""
    if opset >= _REDUCE_AXES_INPUT_OPSET:
        def mean(x: _Input) -> _Step:
            return _Step("ReduceMean", (x, _I64("axes", (-1,))), {"keepdims": 1})
    else:
        def mean(x: _Input) -> _Step:
            return _Step("ReduceMean", (x,), {"axes": [-1], "keepdims": 1})
    return [mean("z"), _Step("Sub", ("z", 0)), _Step("Mul", (1, 1)), mean(2),
            _Step("Add", (3, epsilon)), _Step("Sqrt", (4,)), _Step("Reciprocal", (5,)),
            _Step("Mul", (1, 6)), _Step("Mul", (7, gamma)), _Step("Add", (8, beta))]


def _layer_norm_steps(layer: Any, dtype: np.dtype, opset: int) -> list[_Step]:
    """LayerNormalization(axis=-1) from opset 17 when its float32 epsilon attribute holds
    the layer's; else the elementary nodes, epsilon a constant of the graph's dtype."""
    gamma, beta = _W("gamma", layer.gamma.ravel()), _W("beta", layer.beta.ravel())
    epsilon = float(layer.epsilon)
    if opset >= _LAYER_NORM_OPSET and _exact(dtype, epsilon):
        return [_Step("LayerNormalization", ("z", gamma, beta),
                      {"axis": -1, "epsilon": epsilon})]
    return _layer_norm_nodes(gamma, beta, _W("epsilon", np.array(epsilon)), opset)


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


def _check_batch_dim(batch_dim: Any) -> str | int:
    if isinstance(batch_dim, str):
        if not batch_dim.isidentifier():
            raise ValueError(f"batch_dim must be a symbolic name (an identifier such as "
                             f"'N') or an int >= 1, got {batch_dim!r}")
        return batch_dim
    if not is_int(batch_dim):
        raise TypeError(f"batch_dim must be a str (symbolic) or an int >= 1 (fixed), got "
                        f"{type(batch_dim).__name__}")
    return check_int(batch_dim, "batch_dim", 1)


def _check_fold(fold_normalizer: Any) -> bool | str:
    if fold_normalizer not in (True, False, "auto") or isinstance(fold_normalizer, (int, float)) \
            and not isinstance(fold_normalizer, bool):
        raise ValueError(f"fold_normalizer must be True, False or 'auto', got "
                         f"{fold_normalizer!r}")
    return fold_normalizer  # type: ignore[no-any-return]


def _options(path: Any, opset: Any, batch_dim: Any) -> tuple[str | None, int, str | int]:
    """The checked path (decoded), opset and batch dimension of an export."""
    onnx = _require_onnx()
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str, a PathLike or None, got "
                            f"{type(path).__name__}")
        path = os.fsdecode(os.fspath(path))
    newest = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset is None else check_int(opset, "opset", MIN_OPSET, newest)
    return path, opset, _check_batch_dim(batch_dim)


def _finish(g: _Graph, name: str, inputs: list[Any], outputs: list[Any], opset: int,
            doc: str, path: str | None) -> bytes | None:
    """The checked ModelProto of g: serialized, or written to path (then None)."""
    from . import __version__

    onnx = g.onnx
    helper = onnx.helper
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="fastdnn",
                              producer_version=__version__, doc_string=doc)
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto, full_check=True)
    data: bytes = proto.SerializeToString()
    if path is None:
        return data
    from .saving import _write_file_atomically

    _write_file_atomically(path, lambda f: f.write(data))
    return None


def export(model: Sequential, path: str | os.PathLike[str] | None = None, *,
           opset: int | None = None,
           batch_dim: str | int = "N", dtype: Any = None,
           fold_normalizer: bool | str = "auto") -> bytes | None:
    """The ONNX model computing ``model.predict``: serialized, or written to ``path``.

    Parameters
    ----------
    model : Sequential
        A built model (fitted, loaded, or ``build`` called).
    path : str or PathLike, optional
        Write the file there (atomically; an existing file is replaced; no suffix is
        added, ``.onnx`` is customary) and return None. Without it, return the bytes.
    opset : int, optional
        The ``ai.onnx`` opset, from 13 to the newest the installed onnx knows; default 17.
        ``Gelu`` (20), ``Mish`` (18) and ``LayerNormalization`` (17) are written as
        their definitions in older opsets (module notes).
    batch_dim : str or int, default "N"
        The first dimension of ``X`` and ``Y``: a symbolic name (any batch size) or a
        fixed number of rows.
    dtype : {"float32", "float64"}, optional
        Of the input, the weights and the output; default the model's. Weights of
        another dtype are cast.
    fold_normalizer : {"auto", True, False}, default "auto"
        Fold a ``Normalizer`` into the ``Dense`` after it: always, never, or when its
        means are within ``FOLD_MAX_MEAN_STDS`` standard deviations of 0 (module notes).

    Returns
    -------
    bytes or None
        The serialized ``onnx.ModelProto``, or None when written to ``path``.

    Raises
    ------
    ImportError
        The onnx package is missing (``pip install 'fastdnn[onnx]'``).
    ValueError
        The model is not built; an argument is out of range.
    TypeError
        Not a ``Sequential``; a layer or an activation without an ONNX equivalent (the
        message names it); an argument of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> import onnx
    >>> from fastdnn import Sequential
    >>> from fastdnn.layers import Dense, Normalizer
    >>> norm = Normalizer()
    >>> norm.adapt(np.array([[0.0, 1.0], [2.0, 3.0]]))
    >>> model = Sequential([norm, Dense(1, activation="sigmoid")], dtype="float64", seed=0)
    >>> model.build(2)
    >>> proto = onnx.load_from_string(export(model, batch_dim="batch"))
    >>> [node.op_type for node in proto.graph.node]
    ['Gemm', 'Sigmoid']
    >>> unfolded = onnx.load_from_string(export(model, fold_normalizer=False))
    >>> [node.op_type for node in unfolded.graph.node]
    ['Sub', 'Mul', 'Gemm', 'Sigmoid']
    >>> proto.graph.input[0].type.tensor_type.shape
    dim {
      dim_param: "batch"
    }
    dim {
      dim_value: 2
    }
    <BLANKLINE>
    >>> export(Sequential([Dense(1)]))
    Traceback (most recent call last):
    ...
    ValueError: the model has no weights yet: build or fit it before exporting it to ONNX
    """
    from .models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a fastdnn Sequential, got {type(model).__name__}")
    path, opset, batch_dim = _options(path, opset, batch_dim)
    dtype = model.dtype if dtype is None else check_dtype(dtype)
    fold = _check_fold(fold_normalizer)
    if not model.built:
        raise ValueError("the model has no weights yet: build or fit it before exporting it "
                         "to ONNX")

    g, last = _graph(_require_onnx(), model, dtype, fold, opset)
    helper = g.onnx.helper
    if last == "X":      # only shape-preserving layers: Y is X
        g.node("Identity", ["X"], "Y", "Identity")
    else:
        g.nodes[-1].output[0] = "Y"
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    return _finish(g, model.name or "fastdnn",
                   [helper.make_tensor_value_info("X", elem, [batch_dim, model.n_features])],
                   [helper.make_tensor_value_info("Y", elem, [batch_dim, model.n_outputs])],
                   opset, "fastdnn Sequential model, exported for inference", path)


# ------------------------------------------------------------------ the reverse

def _read_patterns() -> list[tuple[list[_Step], Any]]:
    """Every form of an activation the exporter writes, with its parameters as _Cap, and
    the activation it is read as (a function of the captured values, None: not fastdnn's);
    the longest first, so that a form is not read as the single node it starts with."""
    A = _activations

    def near(value: Any, x: float) -> bool:      # a float32 attribute holding x
        return bool(np.float32(value) == np.float32(x))

    alpha = _Cap("alpha")
    patterns: list[tuple[list[_Step], Any]] = [
        ([_Step("Sigmoid", ("z",))], lambda c: A.Sigmoid()),
        ([_Step("Tanh", ("z",))], lambda c: A.Tanh()),
        ([_Step("Relu", ("z",))], lambda c: A.ReLU()),
        ([_Step("LeakyRelu", ("z",), {"alpha": alpha})],
         lambda c: A.LeakyReLU(float(c["alpha"]))),
        ([_Step("PRelu", ("z", alpha))],
         lambda c: A.LeakyReLU(float(c["alpha"].ravel()[0])) if c["alpha"].size == 1
         else None),
        ([_Step("Softmax", ("z",), {"axis": _Cap("axis")})],
         lambda c: A.Softmax() if c["axis"] in (-1, 1) else None),
        (_elu_node(alpha), lambda c: A.ELU(float(c["alpha"]))),
        (_elu_nodes(alpha), lambda c: A.ELU(float(c["alpha"].ravel()[0]))
         if c["alpha"].size == 1 else None),
        ([_Step("Selu", ("z",), {"alpha": _Cap("alpha"), "gamma": _Cap("gamma")})],
         lambda c: A.SELU() if near(c["alpha"], _SELU_ALPHA) and near(c["gamma"], _SELU_GAMMA)
         else None),
        (_selu_nodes(), lambda c: A.SELU()),
        ([_Step("Gelu", ("z",), {"approximate": _Cap("how")})],
         lambda c: A.GELU(approximate=c["how"] == "tanh") if c["how"] in ("none", "tanh")
         else None),
        (_gelu_erf_nodes(), lambda c: A.GELU()),
        (_gelu_tanh_nodes(), lambda c: A.GELU(approximate=True)),
        ([_Step("Sigmoid", ("z",)), _Step("Mul", ("z", 0))], lambda c: A.SiLU()),
        ([_Step("Softplus", ("z",))], lambda c: A.Softplus()),
        (_softplus_nodes(), lambda c: A.Softplus()),
        ([_Step("Softsign", ("z",))], lambda c: A.Softsign()),
        (_softsign_nodes(), lambda c: A.Softsign()),
        ([_Step("HardSigmoid", ("z",), {"alpha": _Cap("alpha"), "beta": _Cap("beta")})],
         lambda c: A.HardSigmoid() if near(c["alpha"], 1.0 / 6.0) and near(c["beta"], 0.5)
         else None),
        (_hard_sigmoid_nodes(), lambda c: A.HardSigmoid()),
        ([_Step("Mish", ("z",))], lambda c: A.Mish()),
        (_mish_nodes([_Step("Softplus", ("z",))]), lambda c: A.Mish()),
        (_mish_nodes(_softplus_nodes()), lambda c: A.Mish()),
    ]
    return sorted(patterns, key=lambda p: -len(p[0]))


class _Reader:
    """The nodes of a graph, its constants and dtype, and the matching of step lists."""

    def __init__(self, onnx: Any, graph: Any, dtype: np.dtype):
        from onnx import numpy_helper

        self.onnx, self.dtype = onnx, dtype
        self.nodes = list(graph.node)
        self.consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t)
                                              for t in graph.initializer}

    def const(self, node: Any, name: str) -> np.ndarray:
        if name not in self.consts:
            raise ValueError(f"load_onnx: node {node.name or node.op_type!r} takes {name!r}, "
                             "which is not a constant of the graph")
        return self.consts[name]

    def attrs(self, node: Any) -> dict[str, Any]:
        """The node's attributes, str for strings."""
        values = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}

    def match(self, i: int, z: str, steps: list[_Step]) -> tuple[dict[str, Any], str] | None:
        """The captured values and the last output when the nodes from ``i`` are ``steps``
        on ``z``, else None."""
        caps: dict[str, Any] = {}
        outputs: list[str] = []
        for k, step in enumerate(steps):
            node = self.nodes[i + k] if i + k < len(self.nodes) else None
            if node is None or node.op_type != step.op or len(node.output) != 1 \
                    or len(node.input) != len(step.inputs):
                return None
            for name, want in zip(node.input, step.inputs):
                if not self._input(name, want, z, outputs, caps):
                    return None
            if not self._attributes(node, step.attrs, caps):
                return None
            outputs.append(node.output[0])
        return caps, outputs[-1]

    def _input(self, name: str, want: _Input, z: str, outputs: list[str],
               caps: dict[str, Any]) -> bool:
        if isinstance(want, str):
            return name == z
        if isinstance(want, int):
            return name == outputs[want]
        value = self.consts.get(name)
        if value is None:
            return False
        if isinstance(want, _Cap):
            caps[want.name] = value
            return True
        if isinstance(want, _I64):
            return value.dtype == np.int64 and value.ravel().tolist() == list(want.value)
        expected = np.asarray(want.value if isinstance(want, _W) else want, self.dtype)
        return value.size == expected.size and bool(np.all(value.ravel() == expected.ravel()))

    def _attributes(self, node: Any, want: dict[str, Any], caps: dict[str, Any]) -> bool:
        """Each attribute as ``want`` says (a float as a float32); the others at their
        defaults."""
        schema = self.onnx.defs.get_schema(node.op_type)
        defaults = {k: self.onnx.helper.get_attribute_value(a.default_value)
                    for k, a in schema.attributes.items() if a.default_value.name}
        given = self.attrs(node)
        for key, value in given.items():
            if key not in want and (key not in defaults or defaults[key] != value):
                return False
        for key, expected in want.items():
            value = given.get(key, defaults.get(key))
            if value is None:
                return False
            if isinstance(expected, _Cap):
                caps[expected.name] = value
            elif isinstance(expected, float):
                if not (isinstance(value, float) and np.float32(value) == np.float32(expected)):
                    return False
            elif value != expected:
                return False
        return True

    def activation(self, i: int, z: str) -> tuple[Any, int, str] | None:
        """(the activation, its number of nodes, its output) of the nodes from ``i`` on
        ``z``, or None."""
        for steps, build in _read_patterns():
            found = self.match(i, z, steps)
            if found is not None:
                act = build(found[0])
                if act is not None:
                    return act, len(steps), found[1]
        return None

    def normalization(self, i: int, z: str) -> tuple[Any, list[np.ndarray], int, str] | None:
        """(the layer, its weights, its number of nodes, its output) of a BatchNormalization
        or LayerNormalization from node ``i`` on ``z``, or None."""
        gamma, beta, eps = _Cap("gamma"), _Cap("beta"), _Cap("epsilon")
        batch = [_Step("BatchNormalization",
                       ("z", gamma, beta, _Cap("mean"), _Cap("variance")), {"epsilon": eps})]
        layer = [_Step("LayerNormalization", ("z", gamma, beta), {"axis": -1, "epsilon": eps})]
        for steps in (batch, layer, _layer_norm_nodes(gamma, beta, eps, MIN_OPSET),
                      _layer_norm_nodes(gamma, beta, eps, _REDUCE_AXES_INPUT_OPSET)):
            found = self.match(i, z, steps)
            if found is None:
                continue
            c, out = found
            epsilon = float(np.asarray(c["epsilon"]).ravel()[0])
            weights = [c["gamma"], c["beta"]]
            if steps is batch:
                norm: Any = BatchNormalization(epsilon=epsilon)
                weights += [c["mean"], c["variance"]]
            else:
                norm = LayerNormalization(epsilon=epsilon)
            return norm, [w.reshape(-1, 1) for w in weights], len(steps), out
        return None


def _read_graph(onnx: Any, source: Any) -> Any:
    if isinstance(source, (bytes, bytearray)):
        return onnx.load_from_string(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return onnx.load(os.fsdecode(os.fspath(source)))
    if isinstance(source, onnx.ModelProto):
        return source
    raise TypeError(f"source must be a path, the bytes of an ONNX model or an "
                    f"onnx.ModelProto, got {type(source).__name__}")


def load_onnx(source: str | os.PathLike[str] | bytes | Any) -> Sequential:
    """A ``Sequential`` from an ONNX graph of the shape ``export`` writes.

    The graph must be, from its one input to its one output: an optional ``Sub`` and
    ``Mul`` by constant rows (a ``Normalizer``), then layers: a ``Gemm`` (``transB=1``,
    ``alpha = beta = 1``, constant weights) and the activation after it, if any (a
    ``Dense``); a ``BatchNormalization`` in inference form or a ``LayerNormalization``
    over the last axis, as one node or as the nodes ``export`` writes for it; an
    activation on its own (an ``Activation`` layer). An activation is any form ``export``
    writes, in either dtype and at any opset: the single nodes (``Sigmoid``, ``Tanh``,
    ``Relu``, ``LeakyRelu``, ``PRelu`` with one slope, ``Softmax`` over the last axis,
    ``Elu``, ``Selu`` and ``HardSigmoid`` with fastdnn's constants, ``Gelu``,
    ``Softplus``, ``Softsign``, ``Mish``) and the node sequences above, matched node for
    node with their constants (``Sigmoid`` then ``Mul`` by its input is ``silu``). Anything
    else raises ``ValueError`` naming the node. The model's dtype is the graph's.

    What comes back computes what was exported, though not always as the same layers:
    an activation right after a ``Gemm`` becomes the ``Dense``'s (a ``Dense`` and an
    ``Activation`` come back as one ``Dense``), a folded ``Normalizer`` is in the
    ``Dense``'s weights, a ``linear`` ``Activation`` is gone, normalization layers come back
    with ``center`` and ``scale`` (``beta`` of zeros, ``gamma`` of ones), and an
    ``epsilon`` or ``alpha`` read from a float32 attribute is that float32 number.

    Parameters
    ----------
    source : path, bytes or onnx.ModelProto

    Returns
    -------
    Sequential
        Built, with the graph's weights; compile it to train it further.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn import Sequential
    >>> from fastdnn.layers import Dense
    >>> model = Sequential([Dense(3, activation="tanh"), Dense(2, activation="softmax")],
    ...                    seed=0)
    >>> model.build(4)
    >>> again = load_onnx(export(model))
    >>> X = np.ones((2, 4), np.float32)
    >>> bool(np.allclose(again.predict(X), model.predict(X)))
    True
    """
    onnx = _require_onnx()
    from .models import Sequential

    graph = _read_graph(onnx, source).graph
    x, dtype, n_features = _graph_input(onnx, graph)
    r = _Reader(onnx, graph, dtype)
    layers: list[Any] = []
    weights: list[np.ndarray] = []
    i = 0
    if len(r.nodes) >= 2 and r.nodes[0].op_type == "Sub" and r.nodes[1].op_type == "Mul" \
            and r.nodes[0].input[0] == x and r.nodes[1].input[0] == r.nodes[0].output[0]:
        norm, mean, variance = _read_normalizer(r)
        layers.append(norm)
        weights += [mean, variance]
        x, i = r.nodes[1].output[0], 2
    while i < len(r.nodes):
        layer, arrays, count, x = _read_layer(r, i, x)
        layers.append(layer)
        weights += arrays
        i += count
    if x != graph.output[0].name:
        raise ValueError(f"load_onnx: the graph's output {graph.output[0].name!r} is not "
                         "the last layer's")
    if not layers:
        raise ValueError("load_onnx: the graph has no layer")
    if n_features is None and weights:      # the first layer's inputs
        n_features = weights[0].shape[1] if isinstance(layers[0], Dense) else len(weights[0])
    if n_features is None:
        raise ValueError("load_onnx: the graph's input has no fixed number of features and "
                         "its first layer does not give it")
    model = Sequential(layers, dtype=dtype)
    model.build(n_features)
    model.set_weights([w.astype(dtype) for w in weights])
    return model


def _graph_input(onnx: Any, graph: Any) -> tuple[str, np.dtype, int | None]:
    """The graph's input: its name, dtype and number of features (None if symbolic)."""
    inits = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ValueError("load_onnx reads graphs with one input and one output, got "
                         f"{len(inputs)} and {len(graph.output)}")
    elem = inputs[0].type.tensor_type.elem_type
    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"load_onnx reads float32 or float64 graphs, got {dtype}")
    dims = inputs[0].type.tensor_type.shape.dim
    n_features = dims[1].dim_value if len(dims) == 2 and dims[1].dim_value > 0 else None
    return inputs[0].name, dtype, n_features


def _read_normalizer(r: _Reader) -> tuple[Normalizer, np.ndarray, np.ndarray]:
    """The Normalizer of the graph's first two nodes, ``Sub(x, mean)``, ``Mul(., inv_std)``,
    with its mean and variance."""
    sub, mul = r.nodes[0], r.nodes[1]
    mean = r.const(sub, sub.input[1]).astype(np.float64).reshape(-1, 1)
    inv_std = r.const(mul, mul.input[1]).astype(np.float64).reshape(-1, 1)
    return Normalizer(epsilon=0.0), mean, 1.0 / (inv_std * inv_std)


def _read_gemm(r: _Reader, node: Any, x: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``W`` and ``b`` (None without one) of a ``Gemm(x, W, b, transB=1)``."""
    a = r.attrs(node)
    if node.input[0] != x or len(node.input) not in (2, 3) \
            or a.get("transB", 0) != 1 or a.get("transA", 0) != 0 \
            or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
        raise ValueError(f"load_onnx reads the graphs fastdnn.onnx.export writes: "
                         f"expected a Gemm(transB=1) of {x!r}, got node {node.name!r}")
    W = r.const(node, node.input[1])
    use_bias = len(node.input) == 3 and node.input[2] != ""   # C is optional
    return W, r.const(node, node.input[2]).reshape(-1, 1) if use_bias else None


def _read_layer(r: _Reader, i: int, x: str) -> tuple[Any, list[np.ndarray], int, str]:
    """(the layer, its weights, its number of nodes, its output) from node ``i`` on ``x``:
    a Gemm and the activation after it (a Dense), a normalization, or an activation (an
    Activation layer)."""
    node = r.nodes[i]
    if node.op_type == "Gemm":
        W, b = _read_gemm(r, node, x)
        found = r.activation(i + 1, node.output[0])
        act, count, out = ("linear", 0, node.output[0]) if found is None else found
        dense = Dense(W.shape[0], activation=act, use_bias=b is not None)
        return dense, [W] if b is None else [W, b], count + 1, out
    norm = r.normalization(i, x)
    if norm is not None:
        return norm
    found = r.activation(i, x)
    if found is None:
        raise ValueError(f"load_onnx reads the graphs fastdnn.onnx.export writes: no fastdnn "
                         f"layer or activation computes {node.op_type} node {node.name!r} "
                         f"on {x!r}")
    act, count, out = found
    return Activation(act), [], count, out
