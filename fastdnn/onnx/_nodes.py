"""The nodes each activation and normalization layer is written as, per dtype and opset:
the lists of steps export writes and load_onnx reads back."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import activations as _activations
from ._builder import _I64, _W, _Input, _Step

_MISH_OPSET = 18         # the first opsets with Mish,
_GELU_OPSET = 20         # Gelu
_LAYER_NORM_OPSET = 17   # and LayerNormalization
_REDUCE_AXES_INPUT_OPSET = 18   # ReduceMean takes its axes as an input from here on

# fastdnn's SELU (the C kernels' constants): gamma z, or gamma alpha (exp(z) - 1) below 0
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_GAMMA = 1.0507009873554804934193349852946
_SELU_SA = 1.7580993408473768599    # gamma alpha


def _f32(x: float) -> bool:
    """Whether ``x`` is a float32 number (ONNX float attributes are float32)."""
    return bool(float(np.float32(x)) == x)


def _exact(dtype: np.dtype, x: float) -> bool:
    """Whether a float attribute holds ``x`` to the graph's precision."""
    return np.dtype(dtype) == np.float32 or _f32(x)


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
